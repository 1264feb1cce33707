#!/bin/sh
# neops-remote-lab benchmarks (loopback only, netlab-sim as netlab):
#   startup (exec -> first /healthz) vs `netlab version` alone, polling and heartbeat
#   throughput with 64 connections next to a bare libmicrohttpd responder, RSS idle and with
#   10,000 waiting sessions, and 50 sequential full client cycles with labctl.
# Usage: bench/labd/run.sh [build dir]   (a build without sanitizers; default: build)
# Needs wrk, hyperfine and curl (Debian packages). Results: bench/results/labd-*.txt
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$SRC/build}
BIN=$BUILD/bin
DUR=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-64}
OUT=${BENCH_OUT:-$SRC/bench/results}
mkdir -p "$OUT"
RESULT=$OUT/labd-$(date +%Y%m%d-%H%M%S).txt
TMP=$(mktemp -d)
SPID= BPID=
trap 'kill $SPID $BPID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
for tool in wrk hyperfine curl; do
	command -v $tool >/dev/null || { echo "run.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
cmake --build "$BUILD" --target neops-remote-lab labctl netlab-sim bare_mhd >/dev/null
export PATH="$BUILD/netlab-sim-path:$PATH" TMPDIR="$TMP" HOME="$TMP"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# "RSS N kB (PSS N kB, private N kB)": RSS counts every resident page of the shared libraries
# too (libc, gnutls via libmicrohttpd, libsystemd ...), PSS splits those among their users,
# private is what this process alone holds.
rss_kb() {
	awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {u+=$2}
	     END {printf "RSS %d kB (PSS %d kB, private %d kB)", r, p, u}' /proc/$1/smaps_rollup
}
say() { echo "$*" | tee -a "$RESULT"; }
wrk_line() { # label, wrk args...: prints "label: N req/s, p50 X, p99 Y"
	label=$1; shift
	wrk -t2 -c"$CONNS" -d"$DUR" --latency "$@" > "$TMP/wrk.txt"
	rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.txt")
	p50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk.txt")
	p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.txt")
	errs=$(grep -E "Non-2xx|Socket errors" "$TMP/wrk.txt" | tr '\n' ' ' || true)
	say "$label: $rps req/s, p50 $p50, p99 $p99 $errs"
	echo "$rps"
}

say "# neops-remote-lab bench, $(date -u +%FT%TZ)"
say "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem/ {print $2}') GiB"
say "# $("$BIN/neops-remote-lab" --version), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $CONNS connections, $DUR per run"

# 1. Start-up: exec -> first 204 on /healthz, next to `netlab version` alone.
PORT=$(free_port)
set -- $(/usr/bin/python3 "$HERE/startup.py" "$BIN/neops-remote-lab" "$PORT" 15)
say "startup exec->/healthz: median $1 ms (min $2, max $3)"
hyperfine -N --warmup 3 --runs 20 --export-json "$TMP/hf.json" "$BIN/netlab-sim version" >/dev/null 2>&1
NV=$(/usr/bin/python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$TMP/hf.json")
say "netlab version alone: median $NV ms"

# 2. Throughput: the server vs the bare responder, same machine, same wrk.
PORT=$(free_port)
"$BIN/neops-remote-lab" --host 127.0.0.1 --port "$PORT" --log-level WARNING 2>"$TMP/server.log" &
SPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; do sleep 0.02; done
sleep 0.5
say "idle: $(rss_kb $SPID)"
curl -sf -XPOST "http://127.0.0.1:$PORT/session" >/dev/null   # the ACTIVE one
export SESSION_ID=$(curl -sf -XPOST "http://127.0.0.1:$PORT/session" | sed 's/.*"session_id":"\([^"]*\)".*/\1/')
BPORT=$(free_port)
"$BUILD/bench/bare_mhd" "$BPORT" &
BPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$BPORT/"; do sleep 0.02; done
BARE=$(wrk_line "bare libmicrohttpd responder" "http://127.0.0.1:$BPORT/session/x" | tail -1)
POLL=$(wrk_line "GET /session/{id} (poll)" -s "$HERE/poll.lua" "http://127.0.0.1:$PORT" | tail -1)
HB=$(wrk_line "POST /session/heartbeat" -s "$HERE/heartbeat.lua" "http://127.0.0.1:$PORT" | tail -1)
say "poll/bare = $(echo "$POLL $BARE" | awk '{printf "%.2f", $1/$2}'), heartbeat/bare = $(echo "$HB $BARE" | awk '{printf "%.2f", $1/$2}')"
kill $BPID; wait $BPID 2>/dev/null || true; BPID=

# 3. Memory with 10,000 waiting sessions (and polling the last one in the queue).
export SESSION_ID=$(/usr/bin/python3 "$HERE/sessions.py" "$PORT" 10000)
say "with 10,002 sessions (10,001 waiting): $(rss_kb $SPID)"
wrk_line "GET /session/{id} of position 10,001" -s "$HERE/poll.lua" "http://127.0.0.1:$PORT" >/dev/null
kill $SPID; wait $SPID 2>/dev/null || true; SPID=

# 4. 50 sequential full client cycles: session, queue, acquire, command, release, end.
PORT=$(free_port)
"$BIN/neops-remote-lab" --host 127.0.0.1 --port "$PORT" --log-level WARNING 2>"$TMP/server.log" &
SPID=$!
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; do sleep 0.02; done
cat > "$TMP/lab.yml" <<'YML'
provider: clab
defaults.device: frr
nodes: [r1, r2]
links: [r1-r2]
YML
start=$(date +%s.%N)
i=0
while [ $i -lt 50 ]; do
	"$BIN/labctl" --url "http://127.0.0.1:$PORT" --quiet run --topology "$TMP/lab.yml" -- true
	i=$((i + 1))
done
end=$(date +%s.%N)
say "50 full client cycles: $(echo "$start $end" | awk '{printf "%.1f s total, %.0f ms per cycle", $2-$1, ($2-$1)*20}') (netlab-sim up/inspect/down included)"
say "after the cycles: $(rss_kb $SPID); lab directories left: $(ls "$TMP" | grep -c netlab_topo || true)"
echo "results: $RESULT"
