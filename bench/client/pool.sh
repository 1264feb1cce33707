#!/bin/bash
# Bench: 30 `labctl run` jobs over a pool of 3 lab hosts vs the same 30 jobs pinned to one host.
# Reports the makespan of each (GNU /usr/bin/time) and their ratio; no timing code of our own.
#
#   bench/client/pool.sh [BUILD_DIR]      (default: build)
#
# Needs the server side of the pool (GET /host, contracts.md issue 11): it cannot run against
# a server without it. Each host is a real neops-remote-lab with netlab-sim as `netlab`
# (`up` 2 s, `down` 0.5 s: a 10:1 scale model of FRR containers); every job holds its lab 1 s.
# Figures go in docs/performance.md as the ratio measured in one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
BIN=$PWD/$BUILD/bin
JOBS=${JOBS:-30}
HOLD=${HOLD:-1}
[ -x "$BIN/neops-remote-lab" ] && [ -x "$BIN/labctl" ] && [ -x "$BIN/netlab-sim" ] ||
	{ echo "pool.sh: build first (cmake --build $BUILD)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "pool.sh: needs GNU time (apt-get install time)" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/topo.yml" <<'TOPO'
name: bench
defaults.device: frr
nodes: [r1, r2]
links: [r1-r2]
TOPO

# start_host N: a server with its own TMPDIR/HOME and netlab-sim; sets HOST_URL. Called in
# this shell (not in a command substitution), so that its pid reaches PIDS and cleanup.
start_host() {
	local d=$WORK/host$1 port
	mkdir -p "$d/tmp" "$d/home" "$d/bin"
	ln -s "$BIN/netlab-sim" "$d/bin/netlab"
	echo '{"up_delay": 2, "down_delay": 0.5}' > "$d/knobs.json"
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	PATH="$d/bin:/usr/bin:/bin" HOME=$d/home TMPDIR=$d/tmp FAKE_NETLAB_CONFIG=$d/knobs.json \
		FAKE_NETLAB_LOG=$d/netlab.jsonl \
		"$BIN/neops-remote-lab" --host 127.0.0.1 --port "$port" --log-level WARNING \
		> "$d/server.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 200); do
		/usr/bin/python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/host', timeout=1)" \
			2>/dev/null && { HOST_URL="http://127.0.0.1:$port"; return; }
		sleep 0.05
	done
	echo "pool.sh: host $1 did not start (does it have GET /host?)" >&2
	cat "$d/server.log" >&2
	exit 1
}

start_host 1; U1=$HOST_URL
start_host 2; U2=$HOST_URL
start_host 3; U3=$HOST_URL

# batch URLS: JOBS concurrent runs against REMOTE_LAB_URLS=URLS; fails if any job fails
batch() {
	local i pids=() rc=0
	for i in $(seq "$JOBS"); do
		REMOTE_LAB_URLS=$1 "$BIN/labctl" --quiet run --topology "$WORK/topo.yml" \
			--poll-interval 0.5 --wait-timeout 3600 -- sleep "$HOLD" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	return $rc
}
export -f batch
export BIN WORK JOBS HOLD

measure() { # measure NAME URLS -> seconds; fails when a job failed
	/usr/bin/time -f %e -o "$WORK/$1.time" bash -c "batch '$2'" >&2 ||
		{ echo "pool.sh: a job of the $1 batch failed (its error is above)" >&2; return 1; }
	cat "$WORK/$1.time"
}

ups() { # ups N: how many `netlab up` host N has run so far
	/usr/bin/python3 -c 'import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        e = json.loads(line)
        n += e.get("event") == "start" and (e.get("argv") or [""])[0] == "up"
except FileNotFoundError:
    pass
print(n)' "$WORK/host$1/netlab.jsonl"
}

pinned=$(measure pinned "$U1")
before=$(ups 1)
pool=$(measure pool "$U1,$U2,$U3")
echo "jobs: $JOBS, hold ${HOLD}s, netlab-sim up 2s/down 0.5s, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "makespan pinned to one host: ${pinned}s"
echo "makespan over 3 hosts:       ${pool}s (labs brought up per host: $(($(ups 1) - before))/$(ups 2)/$(ups 3))"
/usr/bin/python3 -c "print(f'ratio pinned/pool: {$pinned/$pool:.2f}x')"
