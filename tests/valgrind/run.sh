#!/bin/bash
# The valgrind proof (docs/reliability.md, "Valgrind"): each daemon under valgrind memcheck
# through a scenario, plus the common module's spawn/log/metrics unit tests, with no
# errors and no leaks beyond the suppressed third-party ones (tests/valgrind/*.supp).
#
#   tests/valgrind/run.sh [--only labd|opsd|unit]...
#
# Builds (or reuses) build-valgrind, a build without sanitizers ($RL_VALGRIND_BUILD to use
# another tree configured with -DRL_SANITIZE=OFF). Slow (several minutes): not part of
# ./dev.sh test. Exit status 0 only when every scenario passed and every valgrind log says
# "ERROR SUMMARY: 0 errors"; the logs stay in <build>/valgrind/.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${RL_VALGRIND_BUILD:-build-valgrind}
command -v valgrind >/dev/null || { echo "run.sh: valgrind is not installed" >&2; exit 2; }
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRL_SANITIZE=OFF
fi
if ! grep -q '^RL_SANITIZE:BOOL=OFF$' "$build/CMakeCache.txt"; then
	echo "run.sh: $build is a sanitizer build; valgrind needs -DRL_SANITIZE=OFF" >&2
	exit 2
fi
cmake --build "$build" -j2 --target neops-remote-lab ops-worker netlab-sim \
	test_common_spawn test_common_log test_common_metrics
supp=()
for f in tests/valgrind/*.supp; do
	[ -e "$f" ] && supp+=(--supp "$f")
done
exec /usr/bin/python3 tests/valgrind/scenario.py --build "$build" --out "$build/valgrind" \
	"${supp[@]}" "$@"
