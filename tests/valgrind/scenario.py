#!/usr/bin/python3
"""Drive both daemons, each under valgrind memcheck, through a scenario; then read the
valgrind logs. Started by tests/valgrind/run.sh (see docs/reliability.md, "Valgrind").

The daemons are the e2e harnesses' (tests/e2e/lib/labd_harness.py, tests/e2e/opsd/
conftest.py): RL_BIN_DIR points them at a directory whose `neops-remote-lab` and
`ops-worker` are two-line wrappers that exec valgrind on the real binaries (exec keeps the
pid, which the harness checks), so nothing in the harness changes for valgrind."""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--build", required=True, help="a build tree configured with -DRL_SANITIZE=OFF")
ap.add_argument("--out", required=True, help="where valgrind's logs go")
ap.add_argument("--supp", action="append", default=[], help="suppression files")
ap.add_argument("--only", choices=("labd", "opsd", "unit"), action="append")
args = ap.parse_args()

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(args.build)
OUT = os.path.abspath(args.out)
os.makedirs(OUT, exist_ok=True)
for old in glob.glob(os.path.join(OUT, "*.log")):
    os.unlink(old)

VALGRIND = ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible",
            "--errors-for-leak-kinds=definite,indirect,possible", "--track-origins=yes",
            "--num-callers=40", "--child-silent-after-fork=yes", "-v"]
VALGRIND += ["--suppressions=" + os.path.abspath(s) for s in args.supp]

# Scratch space (removed when everything passed): a bin directory of wrappers, plus
# netlab-sim for the lab manager's harness, and each scenario's directories.
SCRATCH = tempfile.mkdtemp(prefix="rl-valgrind-")
WRAP = os.path.join(SCRATCH, "bin")
os.mkdir(WRAP)
for name in ("neops-remote-lab", "ops-worker"):
    path = os.path.join(WRAP, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec %s --log-file=%s/%s.%%p.log %s/bin/%s \"$@\"\n"
                % (" ".join(VALGRIND), OUT, name, BUILD, name))
    os.chmod(path, 0o755)
os.symlink(os.path.join(BUILD, "bin", "netlab-sim"), os.path.join(WRAP, "netlab-sim"))
os.environ["RL_BIN_DIR"] = WRAP
os.environ["RL_SOURCE_DIR"] = SRC
sys.path.insert(0, os.path.join(SRC, "tests", "e2e", "lib"))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e", "opsd"))

steps = []


def step(what, response, expect):
    steps.append("%s -> %d" % (what, response.status_code))
    assert response.status_code == expect, "%s: %d %s" % (what, response.status_code, response.text)
    return response


def labd_scenario():
    from labd_harness import Server  # noqa: E402

    root = os.path.join(SCRATCH, "labd")
    s = Server(root)
    try:
        labd_steps(s)
    finally:
        if s.proc is not None and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def labd_steps(s):
    s.start(timeout=180)
    step("GET /healthz", s.get("/healthz"), 204)
    sid = s.new_session()
    steps.append("POST /session -> 201")
    step("POST /session/heartbeat", s.post("/session/heartbeat", session=sid), 204)
    step("GET /session/{id}", s.get("/session/" + sid), 200)
    step("POST /lab (bad name)", s.acquire(sid, name="topology.txt"), 400)
    step("POST /lab", s.acquire(sid, extra=[("extra.cfg", b"x" * 5000)]), 200)
    step("GET /lab", s.get("/lab", session=sid), 200)
    step("GET /lab/devices", s.get("/lab/devices", session=sid), 200)
    step("POST /lab/release", s.post("/lab/release", session=sid), 204)
    step("POST /lab (reuse)", s.acquire(sid), 200)
    step("DELETE /lab", s.delete("/lab", session=sid), 202)
    s.wait_for(lambda: s.get("/lab", session=sid).json()["running"] is False, 120,
               "the lab torn down")
    step("DELETE /session/{id}", s.delete("/session/" + sid), 204)
    sid = s.new_session()
    step("POST /lab (second session)", s.acquire(sid), 200)
    step("GET /debug/health", s.get("/debug/health"), 200)
    # SIGTERM with a lab up: the shutdown path tears it down (netlab down) and exits 0.
    rc = s.stop(signal.SIGTERM, timeout=300)
    steps.append("SIGTERM -> exit %s" % rc)
    assert rc == 0, "neops-remote-lab exited %s:\n%s" % (rc, s.log()[-4000:])
    calls = [c[0] for c in s.netlab_calls()]
    assert "up" in calls and "down" in calls, calls


def opsd_scenario():
    from conftest import (EVENTS_PATH, HEARTBEAT_PATH, MAC, Db, FakeWinRM, UdpListener, Worker,
                          USER, heartbeat_doc, seed_reservation, station)

    root = os.path.join(SCRATCH, "opsd")
    fake = FakeWinRM(os.path.join(root, "fake-winrm"), auth="basic")
    ntlm = FakeWinRM(os.path.join(root, "fake-ntlm"), auth="ntlm")
    udp = UdpListener()
    try:
        ntlm.set_script({"default": {"stdout": "sealed"}})
        fake.set_script({"default": {"stdout": "ok\r\n"},
                         "files": {HEARTBEAT_PATH: json.dumps(heartbeat_doc()),
                                   EVENTS_PATH: '{"timestamp":"2026-01-01T11:00:00Z",'
                                                '"user":"a","event":"guard"}\r\n'}})
        db = Db("sqlite", {"OPS_DB": "sqlite", "OPS_SQLITE_PATH": os.path.join(root, "ops.db")},
                sqlite_path=os.path.join(root, "ops.db"))
        hosts = [station(fake.port, udp_port=udp.port),
                 station(ntlm.port, name="lab-ws-02", labs=("2",), mac="00:11:22:33:44:66",
                         winrm_transport="ntlm", winrm_user="env:WINRM_USER_NTLM")]
        w = Worker(os.path.join(root, "worker"), hosts,
                   env=dict(db.env, WINRM_USER_NTLM="WORKGROUP\\" + USER))
        try:
            opsd_steps(w, udp, MAC, lambda: seed_reservation(db, "r-1"))
        finally:
            if w.proc is not None and w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
    finally:
        udp.stop()
        fake.stop()
        ntlm.stop()


def opsd_steps(w, udp, MAC, seed):
    w.start()
    step("GET /health", w.get("/health"), 200)
    r = step("POST /api/winrm status", w.post("/api/winrm", {"host": "lab-ws-01",
                                                             "command": "status"}), 200)
    assert r.json()["exit_code"] == 0 and r.json()["stdout"] == "ok\r\n", r.text
    for _ in range(3):  # a one-off leak stays one; a per-call leak would show 3 blocks
        r = step("POST /api/winrm status (NTLM, sealed)",
                 w.post("/api/winrm", {"host": "lab-ws-02", "command": "status"}), 200)
        assert r.json()["stdout"] == "sealed", r.text
    step("POST /api/winrm (not allowed)", w.post("/api/winrm", {"host": "lab-ws-01",
                                                                "command": "format"}), 400)
    step("POST /api/heartbeat/poll", w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}),
         200)
    step("POST /api/reservations/start",
         w.post("/api/reservations/start", {"reservationId": "r-1", "host": "lab-ws-01",
                                            "wakeOptions": {"ping_timeout": 0.5,
                                                            "attempts": 2}}), 200)
    seed()  # the reservation row the timeline shows (the worker created the tables)
    r = step("GET /api/reservations/timeline",
             w.get("/api/reservations/timeline?reservationId=r-1"), 200)
    assert "r-1" in r.text, r.text
    step("POST /api/wol", w.post("/api/wol", {"mac": MAC, "broadcast": "127.0.0.1",
                                              "port": udp.port}), 200)
    assert len(udp.wait(1)) >= 1
    assert w.get("/health").json()["db_connected"] is True
    rc = w.stop(check=True)
    steps.append("SIGTERM -> exit %s" % rc)
    assert rc == 0, "ops-worker exited %s:\n%s" % (rc, w.log()[-4000:])


def unit_tests():
    """The common module's own tests under valgrind: spawn without pidfds for real."""
    import subprocess

    for name in ("test_common_spawn", "test_common_log", "test_common_metrics"):
        r = subprocess.run(VALGRIND + ["--log-file=%s/%s.%%p.log" % (OUT, name),
                                       os.path.join(BUILD, "tests", "unit", name)],
                           capture_output=True, text=True, timeout=1800)
        steps.append("%s -> exit %d" % (name, r.returncode))
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def read_logs(prefix):
    """Error count, leaks and used suppressions from every valgrind log of a program."""
    errors, used, files = 0, {}, 0
    for path in sorted(glob.glob(os.path.join(OUT, prefix + ".*.log"))):
        text = open(path, errors="replace").read()
        m = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
        if not m:
            continue  # a forked child that exec'd (or was killed) before valgrind summed up
        files += 1
        errors += int(m[-1])
        for n, name in re.findall(r"used_suppression:\s+(\d+) (\S+)", text):
            used[name] = used.get(name, 0) + int(n)
    return files, errors, used


failed = False
for what, fn, prefixes in (("labd", labd_scenario, ["neops-remote-lab"]),
                           ("opsd", opsd_scenario, ["ops-worker"]),
                           ("unit", unit_tests, ["test_common_spawn", "test_common_log",
                                                 "test_common_metrics"])):
    if args.only and what not in args.only:
        continue
    steps.clear()
    t0 = time.monotonic()
    try:
        fn()
        ok = True
    except Exception as e:  # noqa: BLE001 — report and go on with the next scenario
        print("valgrind %s: FAILED: %s" % (what, e))
        ok = False
    print("valgrind %s: %s in %.0f s" % (what, "; ".join(steps), time.monotonic() - t0))
    for prefix in prefixes:
        files, errors, used = read_logs(prefix)
        print("  %s: %d valgrind log(s), %d errors, suppressions used: %s"
              % (prefix, files, errors,
                 ", ".join("%s x%d" % kv for kv in sorted(used.items())) or "none"))
        ok = ok and files > 0 and errors == 0
    failed = failed or not ok
print("valgrind: logs in %s" % OUT)
if failed:
    print("valgrind: the scenarios' files are kept in %s" % SCRATCH)
else:
    shutil.rmtree(SCRATCH, ignore_errors=True)
print("valgrind: %s" % ("FAILED" if failed else "no errors"))
sys.exit(1 if failed else 0)
