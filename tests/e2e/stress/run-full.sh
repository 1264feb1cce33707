#!/bin/sh
# The full stress proof (docs/reliability.md): more clients, more rounds, more slots than the
# small form CI runs. Usage: tests/e2e/stress/run-full.sh [build dir]   (default build-asan)
# Tunables: STRESS_CLIENTS (1000), STRESS_ROUNDS (3), STRESS_SLOTS (4), STRESS_DEATH_RATE
# (0.15), STRESS_SEED (the time). The seed is printed: rerun a failure with the same one.
# On 2 cores the defaults run well over an hour (1,000 Python client threads); 500 clients x
# 1 round take about 5 minutes.
set -eu
SRC=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=$(cd "${1:-$SRC/build-asan}" && pwd)
export RL_BIN_DIR="$BUILD/bin" RL_BUILD_DIR="$BUILD" RL_SOURCE_DIR="$SRC"
export STRESS_CLIENTS="${STRESS_CLIENTS:-1000}" STRESS_ROUNDS="${STRESS_ROUNDS:-3}"
export STRESS_SLOTS="${STRESS_SLOTS:-4}"
ulimit -n 65536 2>/dev/null || true
exec /usr/bin/python3 -m pytest -q -s -p no:cacheprovider "$SRC/tests/e2e/stress"
