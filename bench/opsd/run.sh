#!/bin/sh
# ops-worker benchmarks (loopback only): wrk on GET /health, wrk on POST /api/winrm against
# the fake WinRM endpoint (Basic over http), and the idle RSS.
# Usage: bench/opsd/run.sh [bin dir]   (use a build without sanitizers, e.g. RelWithDebInfo)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BIN=${1:-${RL_BIN_DIR:-$SRC/build/bin}}
DUR=${BENCH_DURATION:-10s}
OUT=${BENCH_OUT:-$SRC/bench/results}
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'kill $WPID $FPID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# the fake WinRM endpoint
printf 'WORKGROUP:labuser:bench-pass\n' > "$TMP/users"
printf '{"default": {"stdout": "ok\\r\\n", "exit_code": 0}}' > "$TMP/script.json"
/usr/bin/python3 "$SRC/tests/fakes/fake_winrm.py" --auth basic --users "$TMP/users" \
	--script "$TMP/script.json" --port-file "$TMP/fport" --max-lifetime 600 >/dev/null 2>&1 &
FPID=$!
while [ ! -s "$TMP/fport" ]; do sleep 0.05; done
FPORT=$(cat "$TMP/fport")

PORT=$(free_port)
cat > "$TMP/hosts.json" <<JSON
{"hosts":[{"name":"bench-ws","address":"127.0.0.1","winrm_user":"labuser","winrm_pass":"bench-pass",
 "winrm_transport":"basic","winrm_port":$FPORT,"labs":["1"]}]}
JSON
OPS_BIND=127.0.0.1 OPS_PORT=$PORT OPS_CONFIG="$TMP/hosts.json" OPS_STATE_DIR="$TMP" \
	OPS_LOG_LEVEL=WARNING "$BIN/ops-worker" 2>"$TMP/worker.log" &
WPID=$!
i=0
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || { cat "$TMP/worker.log"; exit 1; }; sleep 0.05
done
sleep 1
RSS_IDLE=$(awk '/VmRSS/ {print $2}' /proc/$WPID/status)

echo "== GET /health (wrk -t2 -c50 -d$DUR)"
wrk -t2 -c50 -d"$DUR" "http://127.0.0.1:$PORT/health" | tee "$OUT/opsd-health.txt"
echo "== POST /api/winrm round-trip via the fake (wrk -t2 -c8 -d$DUR)"
wrk -t2 -c8 -d"$DUR" -s "$HERE/winrm.lua" "http://127.0.0.1:$PORT/api/winrm" | tee "$OUT/opsd-winrm.txt"
RSS_AFTER=$(awk '/VmRSS/ {print $2}' /proc/$WPID/status)
echo "== RSS: idle ${RSS_IDLE} kB, after the runs ${RSS_AFTER} kB" | tee "$OUT/opsd-rss.txt"
