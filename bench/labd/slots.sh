#!/bin/sh
# Lab slots and the hand-off (issue 8), loopback only, netlab-sim as netlab:
#  1. a simulated CI day (bench/labd/ciday.py: 40 jobs, 4 topologies, bursts, 1 s holds;
#     netlab-sim `up` 2 s, `down` 0.5 s) with --lab-slots 1 --idle-lab-keep 0 (the
#     original's behaviour) and with --lab-slots 4 --idle-lab-keep 300, in the same run:
#     makespan, jobs per hour, p50/p99 queue wait, and the number of `netlab up`s;
#  2. the hand-off (session -> lab with reuse -> release -> end, same topology) with default
#     options: netlab calls per hand-off and hyperfine's time for 5 hand-offs, next to a
#     baseline server binary when one is given (e.g. the previous release, built from git);
#  3. a restart while a job holds a lab, with and without --keep-labs (bench/labd/restart.py):
#     time from SIGTERM until the job uses its lab again, and the netlab calls it cost.
# Usage: bench/labd/slots.sh [build dir] [baseline neops-remote-lab binary]
# Needs hyperfine (Debian package). Results: bench/results/slots-*.txt
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
BASELINE=${2:-}
OUT=${BENCH_OUT:-$SRC/bench/results}
mkdir -p "$OUT"
RESULT=$OUT/slots-$(date +%Y%m%d-%H%M%S).txt
TMP=$(mktemp -d)
SPID=
trap 'kill $SPID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"' EXIT
command -v hyperfine >/dev/null || { echo "slots.sh: hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
cmake --build "$BUILD" --target neops-remote-lab netlab-sim >/dev/null
export PATH="$BUILD/netlab-sim-path:$PATH"
say() { echo "$*" | tee -a "$RESULT"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start BIN NAME KNOBS ARGS...: a server in a fresh world; sets SPID, URL, WORLD
start() {
	bin=$1 name=$2 knobs=$3; shift 3
	WORLD=$TMP/$name
	mkdir -p "$WORLD/tmp" "$WORLD/home"
	echo "$knobs" > "$WORLD/knobs.json"
	port=$(free_port)
	URL=http://127.0.0.1:$port
	TMPDIR=$WORLD/tmp HOME=$WORLD/home FAKE_NETLAB_CONFIG=$WORLD/knobs.json \
		FAKE_NETLAB_LOG=$WORLD/netlab.jsonl \
		"$bin" --host 127.0.0.1 --port "$port" --log-level WARNING "$@" 2>"$WORLD/server.log" &
	SPID=$!
	i=0
	until curl -sf "$URL/healthz" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 300 ] || { echo "server $name did not start" >&2; exit 1; }
		sleep 0.1
	done
	# wait for the start-up cleanup: nothing of it must count below
	until grep -q '"argv":\["down","--instance","default"' "$WORLD/netlab.jsonl" 2>/dev/null &&
	      [ "$(grep -c '"event":"exit"' "$WORLD/netlab.jsonl")" -ge 2 ]; do sleep 0.1; done
}
stop() { kill "$SPID"; wait "$SPID" || true; SPID=; }
count() { # count WORLD ARGV0: netlab invocations with that subcommand
	grep -c "\"event\":\"start\",\"argv\":\[\"$2\"" "$1/netlab.jsonl" || true
}

say "# lab slots bench, $(date -u +%FT%TZ)"
say "# $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $("$BUILD/bin/neops-remote-lab" --version)"
KNOBS='{"up_delay": 2.0, "down_delay": 0.5}'
for cfg in "1 0" "4 300"; do
	set -- $cfg
	start "$BUILD/bin/neops-remote-lab" "slots$1" "$KNOBS" --lab-slots "$1" --idle-lab-keep "$2"
	res=$(/usr/bin/python3 "$HERE/ciday.py" "$URL")
	ups=$(count "$WORLD" up)
	say "CI day --lab-slots $1 --idle-lab-keep $2: $res ups=$ups"
	stop
done

# 2. The hand-off with default options.
start "$BUILD/bin/neops-remote-lab" handoff '{}'
before=$(grep -c '"event":"start"' "$WORLD/netlab.jsonl")
/usr/bin/python3 "$HERE/handoff.py" "$URL" 1
after=$(grep -c '"event":"start"' "$WORLD/netlab.jsonl")
say "hand-off: $((after - before)) netlab calls"
hyperfine -N --warmup 1 --runs 10 --export-json "$TMP/new.json" \
	"/usr/bin/python3 $HERE/handoff.py $URL 5" >/dev/null 2>&1
stop
NEW=$(/usr/bin/python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$TMP/new.json")
say "hand-off x5: median $NEW s"
if [ -n "$BASELINE" ]; then
	start "$BASELINE" baseline '{}'
	before=$(grep -c '"event":"start"' "$WORLD/netlab.jsonl")
	/usr/bin/python3 "$HERE/handoff.py" "$URL" 1
	after=$(grep -c '"event":"start"' "$WORLD/netlab.jsonl")
	say "baseline hand-off: $((after - before)) netlab calls"
	hyperfine -N --warmup 1 --runs 10 --export-json "$TMP/old.json" \
		"/usr/bin/python3 $HERE/handoff.py $URL 5" >/dev/null 2>&1
	stop
	OLD=$(/usr/bin/python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$TMP/old.json")
	say "baseline hand-off x5: median $OLD s; speed-up $(/usr/bin/python3 -c "print('%.2f' % ($OLD / $NEW))")x"
fi

# 3. A restart while a job holds a lab.
/usr/bin/python3 "$HERE/restart.py" "$BUILD/bin/neops-remote-lab" "$TMP" 5 | while read -r line; do
	say "restart: $line"
done
say "results: $RESULT"
