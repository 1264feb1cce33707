#!/usr/bin/python3
"""A simulated CI day against one neops-remote-lab: JOBS jobs over TOPOLOGIES topologies,
arriving in BURSTS bursts, each job holding its lab HOLD seconds (a 10:1 scale model of FRR
containers when netlab-sim's `up` takes 2 s and `down` 0.5 s).

Each job does what a CI job does with the Python client: create a session, poll until it is
ACTIVE, POST /lab (reuse=true), hold, release, end the session. Prints one JSON line:
makespan, jobs per hour, p50/p99 queue wait (creation -> ACTIVE) and per-job latency.

Usage: ciday.py URL [--jobs 40] [--topologies 4] [--bursts 4] [--burst-gap 3] [--hold 1]
"""
import argparse
import json
import threading
import time

import requests

TOPO = ("provider: clab\ndefaults.device: frr\nnodes: [r1, r2]\nlinks: [r1-r2]\n"
        "# topology {n}\n")


def job(url, topo_index, hold, out, i):
    s = requests.Session()
    t0 = time.monotonic()
    sid = s.post(url + "/session", timeout=600).json()["session_id"]
    while s.get(f"{url}/session/{sid}", timeout=600).json()["status"] != "active":
        time.sleep(0.05)
    t_active = time.monotonic()
    files = {"topology": (f"topo{topo_index}.yml", TOPO.format(n=topo_index).encode(),
                          "application/x-yaml")}
    r = s.post(url + "/lab", headers={"X-Session-ID": sid}, files=files,
               data={"reuse": "true"}, timeout=600)
    if r.status_code != 200:
        out[i] = {"error": r.status_code}
        s.delete(f"{url}/session/{sid}", timeout=600)
        return
    time.sleep(hold)
    s.post(url + "/lab/release", headers={"X-Session-ID": sid}, timeout=600)
    s.delete(f"{url}/session/{sid}", timeout=600)
    out[i] = {"wait": t_active - t0, "total": time.monotonic() - t0,
              "reused": r.json()["reused"]}


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--jobs", type=int, default=40)
    ap.add_argument("--topologies", type=int, default=4)
    ap.add_argument("--bursts", type=int, default=4)
    ap.add_argument("--burst-gap", type=float, default=3.0)
    ap.add_argument("--hold", type=float, default=1.0)
    a = ap.parse_args()
    out = [None] * a.jobs
    threads = []
    per_burst = a.jobs // a.bursts
    t0 = time.monotonic()
    for i in range(a.jobs):
        burst = min(i // per_burst, a.bursts - 1)
        delay = t0 + burst * a.burst_gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=job, args=(a.url, i % a.topologies, a.hold, out, i))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    makespan = time.monotonic() - t0
    ok = [o for o in out if o and "wait" in o]
    waits = [o["wait"] for o in ok]
    print(json.dumps({
        "jobs": a.jobs, "ok": len(ok), "makespan": round(makespan, 2),
        "jobs_per_hour": round(len(ok) / makespan * 3600),
        "wait_p50": round(pct(waits, 50), 2), "wait_p99": round(pct(waits, 99), 2),
        "reused": sum(1 for o in ok if o["reused"]),
    }))


if __name__ == "__main__":
    main()
