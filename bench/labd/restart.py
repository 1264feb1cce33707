#!/usr/bin/python3
"""What a restart costs a job that holds a lab (issue 13), with and without --keep-labs.

A job holds a lab (session ACTIVE, `netlab up` done); the server gets SIGTERM and is started
again. Measured from the SIGTERM until the job can use its lab again:
  --keep-labs: the same session is ACTIVE again and GET /lab/devices answers (the lab was
               re-adopted, no netlab up);
  without:     the session is gone: the job creates a new one and POSTs its topology again
               (one more netlab up), as a CI job that retries would.
Also counts the netlab calls each restart cost. netlab-sim must be `netlab` on PATH; it runs
with `up` taking 2 s and `down` 0.5 s, as in bench/labd/slots.sh.
Usage: restart.py BINARY WORLD_DIR RUNS     prints one line per mode: median min max (s), calls
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

import requests

TOPO = b"provider: clab\ndefaults.device: frr\nnodes: [r1, r2]\nlinks: [r1-r2]\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def netlab_starts(world):
    try:
        with open(os.path.join(world, "netlab.jsonl")) as f:
            return sum(1 for line in f if '"event":"start"' in line)
    except FileNotFoundError:
        return 0


class Server:
    def __init__(self, binary, world, keep):
        self.binary, self.world, self.keep = binary, world, keep
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        args = [self.binary, "--host", "127.0.0.1", "--port", str(self.port),
                "--log-level", "WARNING"] + (["--keep-labs"] if self.keep else [])
        env = dict(os.environ, TMPDIR=os.path.join(self.world, "tmp"),
                   HOME=os.path.join(self.world, "home"),
                   FAKE_NETLAB_LOG=os.path.join(self.world, "netlab.jsonl"))
        with open(os.path.join(self.world, "server.log"), "ab") as log:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 204:
                    return
            except requests.RequestException:
                time.sleep(0.005)
        raise RuntimeError("server did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)


def acquire(http, url):
    sid = http.post(url + "/session").json()["session_id"]
    r = http.post(url + "/lab", headers={"X-Session-ID": sid}, data={"reuse": "true"},
                  files={"topology": ("topology.yml", TOPO, "application/x-yaml")})
    assert r.status_code == 200, r.text
    return sid


def one(binary, world, keep):
    for d in ("tmp", "home"):
        os.makedirs(os.path.join(world, d), exist_ok=True)
    srv = Server(binary, world, keep)
    srv.start()
    http = requests.Session()
    sid = acquire(http, srv.url)
    calls0 = netlab_starts(world)
    t0 = time.perf_counter()
    srv.stop()
    srv.start()
    # the job carries on: with --keep-labs the same session and lab; without, from scratch
    while True:
        r = http.get(f"{srv.url}/session/{sid}")
        if r.status_code == 200 and r.json()["status"] == "active":
            d = http.get(srv.url + "/lab/devices", headers={"X-Session-ID": sid})
            if d.status_code == 200:
                break
        elif r.status_code == 404:
            sid = acquire(http, srv.url)
            break
        time.sleep(0.005)
    took = time.perf_counter() - t0
    calls = netlab_starts(world) - calls0
    http.post(srv.url + "/lab/release", headers={"X-Session-ID": sid})
    http.delete(f"{srv.url}/session/{sid}")
    srv.stop()
    return took, calls


def main():
    binary, world, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    knobs = os.path.join(world, "knobs.json")
    with open(knobs, "w") as f:
        json.dump({"up_delay": 2.0, "down_delay": 0.5}, f)
    os.environ["FAKE_NETLAB_CONFIG"] = knobs
    for keep in (True, False):
        times, calls = [], []
        for i in range(runs):
            w = os.path.join(world, f"{'keep' if keep else 'nokeep'}-{i}")
            os.makedirs(w, exist_ok=True)
            t, c = one(binary, w, keep)
            times.append(t)
            calls.append(c)
        print(json.dumps({"mode": "--keep-labs" if keep else "default",
                          "median": round(statistics.median(times), 3),
                          "min": round(min(times), 3), "max": round(max(times), 3),
                          "netlab_calls": statistics.median(calls)}))


if __name__ == "__main__":
    main()
