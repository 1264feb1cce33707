#!/bin/bash
# The long fuzzing run (docs/reliability.md): every libFuzzer target for SECONDS (default 600)
# on the committed corpus plus the build tree's, two targets at a time, then one line per
# target: executions, edges covered, features, corpus size, crashes. CI runs each target for
# 20 s (ctest -L fuzz); this is the run to do before a release or after a parser changes.
#   fuzz/run-long.sh [SECONDS] [BUILD_DIR]     (BUILD_DIR: a clang tree with -DRL_FUZZ=ON,
#                                               default build-clang)
# Exit status 1 when any target found a crash (the input is kept as BUILD_DIR/fuzz/<target>-*).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-600}
BUILD=$(cd "${2:-$SRC/build-clang}" && pwd)
PAR=${FUZZ_JOBS:-2}
OUT="$BUILD/fuzz/long"
mkdir -p "$OUT"

mapfile -t targets < <(cd "$BUILD/fuzz" && ls fuzz_* 2>/dev/null | grep -v -- '-' | sort)
if [ ${#targets[@]} -eq 0 ]; then
	echo "run-long.sh: no fuzz targets in $BUILD/fuzz (configure with CC=clang -DRL_FUZZ=ON)" >&2
	exit 2
fi

corpus_of() { # fuzz_labd_router -> labd_router
	echo "${1#fuzz_}"
}

run_one() {
	local t=$1 dict=()
	[ -f "$SRC/fuzz/$t.dict" ] && dict=(-dict="$SRC/fuzz/$t.dict")
	mkdir -p "$BUILD/fuzz/corpus-$t"
	"$BUILD/fuzz/$t" -max_total_time="$SECS" -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$BUILD/fuzz/$t-" "$BUILD/fuzz/corpus-$t" \
		"$SRC/fuzz/corpus/$(corpus_of "$t")" >"$OUT/$t.log" 2>&1
	echo $? >"$OUT/$t.rc"
}

echo "run-long.sh: ${#targets[@]} targets x ${SECS} s, $PAR at a time; logs in $OUT"
running=0
for t in "${targets[@]}"; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$PAR" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

fail=0
printf '%-24s %12s %8s %8s %8s %8s %s\n' target execs cov edges% ft corpus result
for t in "${targets[@]}"; do
	log="$OUT/$t.log"
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
	# edges covered out of the instrumented ones (the target's own code and what it links)
	total=$(sed -n 's/.*Loaded 1 modules *(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -1)
	pct=?
	[ -n "$cov" ] && [ -n "$total" ] && pct=$(awk -v c="$cov" -v t="$total" 'BEGIN { printf "%.1f", 100 * c / t }')
	result=ok
	if [ "$(cat "$OUT/$t.rc")" != 0 ] || grep -q '^==[0-9]*==ERROR' "$log"; then
		result="CRASH (see $log)"
		fail=1
	fi
	printf '%-24s %12s %8s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "$pct" "${ft:-?}" \
		"${corp:-?}" "$result"
done
exit $fail
