"""labctl and libremotelab against the real neops-remote-lab with netlab-sim."""
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import Labctl, check_sanitizer, session_id_from, wait_for, TOPOLOGY

# labctl's documented exit codes
EXIT_SERVER, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_TIMEOUT, EXIT_ACQUIRE, EXIT_NOSESSION, EXIT_LOCAL = 1, 2, 3, 4, 5, 6, 7


def new_session(labctl):
    out = labctl.json("session", "new")
    return out["session_id"], out["position"]


def assert_queue_empty(labctl):
    """A new session is at once active at position 0 only when no one else is queued."""
    sid, pos = new_session(labctl)
    labctl("session", "end", sid, check=0)
    assert pos == 0, "a session was left behind in the queue"


# --- server health and errors ---------------------------------------------------------------

def test_server_health(labctl, server):
    p = labctl("server", "health", check=0)
    assert server.url in p.stdout
    out = labctl.json("server", "health")
    assert out["healthy"] is True and out["url"] == server.url


def test_unreachable_server_exit_code(tmp_path):
    lc = Labctl(None, tmp_path)
    p = lc("server", "health", "--request-timeout", "2")
    assert p.returncode == EXIT_UNREACHABLE, p.stderr
    assert "GET /healthz" in p.stderr
    # a refused POST /session is ridden out like a restart; 1 s instead of the default 30
    # keeps the suite short (test_restart.py covers the ride-out and its bound)
    p = lc("session", "new", "--request-timeout", "2", "--restart-wait", "1")
    assert p.returncode == EXIT_UNREACHABLE, p.stderr
    assert "POST /session" in p.stderr and "gave up" in p.stderr


def test_usage_errors(labctl, topo):
    assert labctl("bogus").returncode == EXIT_USAGE
    assert labctl("session", "status").returncode == EXIT_USAGE  # no session id anywhere
    assert labctl("run", "--topology", str(topo)).returncode == EXIT_USAGE  # no COMMAND
    assert labctl("lab", "up", "--topology", str(topo), "--session", "x", "--every", "3").returncode == EXIT_USAGE
    p = labctl("run", "--topology", str(topo), "--extra", "../etc/passwd", "--", "true")
    assert p.returncode == EXIT_USAGE and "relative" in p.stderr
    p = labctl("run", "--topology", str(topo), "--extra", "/etc/hostname", "--", "true")
    assert p.returncode == EXIT_USAGE
    p = labctl("run", "--topology", "/nonexistent/topo.yml", "--", "true")
    assert p.returncode == EXIT_LOCAL and "/nonexistent/topo.yml" in p.stderr
    h = labctl("--help", check=0)
    assert "Exit status" in h.stdout and "REMOTE_LAB_DEVICES_FILE" in h.stdout


def test_server_errors_surface_with_detail(labctl, server, tmp_path, topo):
    # 404 from an unknown session, with the server's detail
    p = labctl("session", "status", "no-such-session")
    assert p.returncode == EXIT_NOSESSION
    assert "HTTP 404: Session not found" in p.stderr

    sid, pos = new_session(labctl)
    assert pos == 0
    env = {"REMOTE_LAB_SESSION": sid}
    # 404 "No lab running"
    p = labctl("lab", "devices", env=env)
    assert p.returncode == EXIT_SERVER and "HTTP 404: No lab running" in p.stderr
    # 400 for a topology that is not .yml/.yaml
    bad = tmp_path / "topo.txt"
    bad.write_text(TOPOLOGY)
    p = labctl("lab", "up", "--topology", str(bad), env=env)
    assert p.returncode == EXIT_ACQUIRE
    assert "POST /lab: HTTP 400: Topology must be a .yml or .yaml file" in p.stderr
    # 409 on a destroy without force while the lab is in use
    labctl("lab", "up", "--topology", str(topo), env=env, check=0)
    p = labctl("lab", "destroy", "--no-force", env=env)
    assert p.returncode == EXIT_SERVER and "DELETE /lab: HTTP 409: Lab still in use" in p.stderr
    # a second session is WAITING: 423 from the active-session gate
    sid2, pos2 = new_session(labctl)
    assert pos2 == 1
    p = labctl("lab", "status", env={"REMOTE_LAB_SESSION": sid2})
    assert p.returncode == EXIT_SERVER and "GET /lab: HTTP 423: Session is not active" in p.stderr
    labctl("session", "end", sid2, check=0)
    labctl("session", "end", sid, check=0)


def test_netlab_failure_is_a_500_and_cleans_up(labctl, server, topo):
    server.netlab(fail="start")
    p = labctl("run", "--topology", str(topo), "--poll-interval", "0.2", "--", "true", timeout=120)
    assert p.returncode == EXIT_ACQUIRE, p.stderr
    assert "POST /lab: HTTP 500" in p.stderr
    assert "session ended" in p.stderr
    server.netlab()
    assert_queue_empty(labctl)


# --- single-step commands -------------------------------------------------------------------

def test_session_and_lab_commands(labctl, server, tmp_path, topo):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "r1.cfg").write_text("hostname r1\n")
    sid = labctl("session", "new", check=0).stdout.strip()
    assert len(sid) >= 8
    st = labctl.json("session", "status", sid)
    assert st == {"session_id": sid, "status": "active", "position": 0}
    p = labctl("session", "status", "--session", sid, check=0)
    assert "active" in p.stdout
    labctl("session", "heartbeat", sid, check=0)

    # the second session waits; position 1
    sid2 = labctl("session", "new", check=0).stdout.strip()
    st2 = labctl.json("session", "status", env={"REMOTE_LAB_SESSION": sid2})
    assert st2["status"] == "waiting" and st2["position"] == 1

    env = {"REMOTE_LAB_SESSION": sid}
    devfile = tmp_path / "devices.json"
    up = labctl.json("lab", "up", "--topology", str(topo), "--extra", "configs/r1.cfg",
                     "--devices-file", str(devfile), env=env)
    assert up["device_count"] == len(up["devices"]) >= 1
    assert json.loads(devfile.read_text()) == up["devices"]
    names = [d["name"] for d in up["devices"]]

    status = labctl.json("lab", "status", env=env)
    assert status["running"] is True and status["ref_count"] == 1
    assert [d["name"] for d in status["devices"]] == names
    devs = labctl.json("lab", "devices", env=env)
    assert [d["name"] for d in devs] == names
    text = labctl("lab", "devices", env=env, check=0).stdout
    assert "NAME" in text and all(n in text for n in names)

    labctl("lab", "release", env=env, check=0)
    assert labctl.json("lab", "status", env=env)["ref_count"] == 0
    labctl("lab", "destroy", "--no-force", env=env, check=0)  # idle: allowed
    assert labctl.json("lab", "status", env=env)["running"] is False

    labctl("session", "end", sid, check=0)
    # promotion: the second session is active now
    assert labctl.json("session", "status", sid2)["status"] == "active"
    p = labctl("session", "end", sid)
    assert p.returncode == EXIT_NOSESSION and "Session not found" in p.stderr
    labctl("session", "end", sid2, check=0)


# --- labctl run -----------------------------------------------------------------------------

def test_run_exports_lab_and_passes_exit_status(labctl, server, tmp_path, topo):
    out = tmp_path / "child-env.json"
    script = (
        "import json, os, sys\n"
        "e = {k: v for k, v in os.environ.items() if k.startswith('REMOTE_LAB_')}\n"
        "e['devices'] = json.load(open(os.environ['REMOTE_LAB_DEVICES_FILE']))\n"
        f"json.dump(e, open({str(out)!r}, 'w'))\n"
        "sys.exit(7)\n")
    p = labctl("run", "--topology", str(topo), "--poll-interval", "0.2", "--",
               "/usr/bin/python3", "-c", script, timeout=120)
    assert p.returncode == 7, p.stderr
    e = json.loads(out.read_text())
    assert int(e["REMOTE_LAB_DEVICE_COUNT"]) == len(e["devices"]) >= 1
    assert e["REMOTE_LAB_URL"] == server.url
    assert e["REMOTE_LAB_SESSION_ID"] == session_id_from(p.stderr)
    assert not os.path.exists(e["REMOTE_LAB_DEVICES_FILE"]), "temp devices file left behind"
    assert "session ended" in p.stderr
    assert_queue_empty(labctl)
    # the lab was started once and torn down when the session ended
    subs = server.netlab_subcommands()
    assert subs.count("up") == 1, subs
    assert subs[-1] == "down" or "down" in subs[subs.index("up"):], subs


def test_run_command_not_found(labctl, server, topo):
    p = labctl("run", "--topology", str(topo), "--poll-interval", "0.2", "--", "/nonexistent/cmd", timeout=120)
    assert p.returncode == 127, p.stderr
    assert_queue_empty(labctl)


def test_run_fifo_concurrent(labctl, server, tmp_path, topo):
    """Several concurrent `labctl run`: exactly one lab user at a time, FIFO, each finishes."""
    n = 4
    events = tmp_path / "events.log"
    holder = tmp_path / "holder"
    script = (
        "import os, sys, time\n"
        f"ev = open({str(events)!r}, 'a', buffering=1)\n"
        "me = sys.argv[1]\n"
        "try:\n"
        f"    fd = os.open({str(holder)!r}, os.O_CREAT | os.O_EXCL | os.O_WRONLY)\n"
        "except FileExistsError:\n"
        "    ev.write(f'OVERLAP {me}\\n'); sys.exit(9)\n"
        "ev.write(f'start {me}\\n'); time.sleep(0.8); ev.write(f'end {me}\\n')\n"
        f"os.close(fd); os.unlink({str(holder)!r})\n")
    # a holder keeps every run queued until all are in line: otherwise the first run could
    # finish before the last one is seen queued, and the count below would never be reached
    holder, _ = new_session(labctl)
    procs = []
    for i in range(n):
        procs.append(labctl.popen("run", "--topology", str(topo), "--poll-interval", "0.2", "--",
                                  "/usr/bin/python3", "-c", script, str(i)))
        # wait until this one is queued before starting the next: the start order is the queue order
        wait_for(lambda: server_has_sessions(labctl, i + 2), what=f"session {i} queued")
    labctl("session", "end", holder, check=0)
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        check_sanitizer(err)
        results.append((p.returncode, err))
    for i, (rc, err) in enumerate(results):
        assert rc == 0, f"run {i} exited {rc}:\n{err}"
    lines = events.read_text().split()
    assert "OVERLAP" not in lines, events.read_text()
    starts = [int(lines[k + 1]) for k in range(0, len(lines), 2) if lines[k] == "start"]
    assert starts == list(range(n)), f"not FIFO: {events.read_text()}"
    # strictly alternating start/end: one user at a time
    seq = events.read_text().splitlines()
    for k in range(0, len(seq), 2):
        assert seq[k].startswith("start") and seq[k + 1] == "end" + seq[k][5:], seq
    assert_queue_empty(labctl)


def server_has_sessions(labctl, k):
    """True once k sessions exist (a probe session's position tells how many are ahead)."""
    sid, pos = new_session(labctl)
    labctl("session", "end", sid, check=0)
    return pos >= k


def run_until_ready(labctl, tmp_path, topo, extra_args=(), cmd_tail="exec sleep 120", prelude=""):
    """Start `labctl run` and wait until COMMAND runs; `prelude` runs before COMMAND says it
    is ready (e.g. a trap that must be in place before the test signals)."""
    ready = tmp_path / "ready"
    envfile = tmp_path / "env"
    cmd = f"{prelude}env | grep ^REMOTE_LAB_ > {envfile}; touch {ready}; {cmd_tail}"
    p = labctl.popen("run", "--topology", str(topo), "--poll-interval", "0.2", *extra_args, "--", "sh", "-c", cmd)
    wait_for(ready.exists, timeout=60, what="COMMAND to start")
    env = dict(line.split("=", 1) for line in envfile.read_text().splitlines())
    return p, env


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_killed_releases_and_ends_session(labctl, server, tmp_path, topo, sig):
    p, env = run_until_ready(labctl, tmp_path, topo)
    sid = env["REMOTE_LAB_SESSION_ID"]
    assert labctl.json("session", "status", sid)["status"] == "active"
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    check_sanitizer(err)
    assert p.returncode == 128 + sig, err  # COMMAND (sleep) died of the forwarded signal
    assert "session ended" in err
    r = labctl("session", "status", sid)
    assert r.returncode == EXIT_NOSESSION, r.stderr
    assert_queue_empty(labctl)
    assert server.netlab_subcommands()[-1] == "down"
    # released (refcount to 0) before the session was ended
    log = server.stderr()
    assert "became idle" in log, log
    assert log.index("became idle") < log.index(f"Session {sid[:8]} removed (client-end")


def test_run_sigterm_while_waiting_leaves_queue(labctl, server, tmp_path, topo):
    holder, _ = new_session(labctl)
    p = labctl.popen("run", "--topology", str(topo), "--poll-interval", "0.2", "--", "true")
    wait_for(lambda: server_has_sessions(labctl, 2), what="run to queue")
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "session ended" in err
    # only the holder is left: a probe lands at position 1
    sid, pos = new_session(labctl)
    assert pos == 1
    labctl("session", "end", sid, check=0)
    labctl("session", "end", holder, check=0)


def test_run_second_signal_kills_stubborn_command(labctl, server, tmp_path, topo):
    p, env = run_until_ready(labctl, tmp_path, topo, prelude="trap '' TERM; ",
                             cmd_tail="while :; do sleep 0.1; done")
    p.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    assert p.poll() is None, "labctl must wait for COMMAND after the first signal"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGKILL, err
    assert labctl("session", "status", env["REMOTE_LAB_SESSION_ID"]).returncode == EXIT_NOSESSION
    assert_queue_empty(labctl)


# --- heartbeats -----------------------------------------------------------------------------

# COMMAND for the heartbeat tests: wait, then fail (exit 6) if the server dropped the session
STILL_ALIVE = "sleep {delay}; exec {labctl} session status \"$REMOTE_LAB_SESSION_ID\""

def test_heartbeat_keeps_active_session_alive(make_server, tmp_path, topo):
    server = make_server("--active-session-timeout", "2")
    labctl = Labctl(server, tmp_path)
    # control: a session that says nothing is reaped after the shortened timeout
    sid, _ = new_session(labctl)
    # (probe with new sessions: polling the idle one's status would keep it alive)
    wait_for(lambda: not server_has_sessions(labctl, 1), timeout=60, step=0.5,
             what="an idle session to be reaped")
    assert labctl("session", "status", sid).returncode == EXIT_NOSESSION
    # labctl run heartbeats every 0.5 s while COMMAND outlives the stale window plus a sweep
    # (2 s + 3 s); COMMAND then asks the server whether its session still exists
    p = labctl("run", "--topology", str(topo), "--heartbeat-period", "0.5", "--poll-interval", "0.2",
               "--", "sh", "-c", STILL_ALIVE.format(labctl=labctl.exe, delay=8), timeout=120)
    assert p.returncode == 0, p.stderr
    assert "warning" not in p.stderr, p.stderr  # heartbeats, release and session end all worked
    assert "session ended" in p.stderr


def test_heartbeat_during_long_acquire(make_server, tmp_path, topo):
    # `netlab up` takes 6 s, longer than the 2 s stale window plus a 3 s sweep
    server = make_server("--active-session-timeout", "2", "--log-level", "DEBUG")
    server.netlab(up_delay=6)
    labctl = Labctl(server, tmp_path)
    p = labctl("run", "--topology", str(topo), "--heartbeat-period", "0.5", "--poll-interval", "0.2",
               "--", "sh", "-c", STILL_ALIVE.format(labctl=labctl.exe, delay=0), timeout=120)
    assert p.returncode == 0, p.stderr
    assert "warning" not in p.stderr, p.stderr
    # the server saw heartbeats while `netlab up` ran (this server also keeps a session with
    # an acquire in flight from going stale, so survival alone would not show it)
    log = server.stderr()
    start = log.index("Starting lab acquisition")
    end = log.index("Lab topo.yml started")
    assert log[start:end].count("Heartbeat for session") >= 3, log[start:end]


def test_heartbeat_while_waiting(make_server, tmp_path, topo):
    # polls every 10 s would not keep a waiting session alive for a 2 s window; heartbeats do
    server = make_server("--waiting-session-timeout", "2")
    labctl = Labctl(server, tmp_path)
    holder = labctl("session", "new", check=0).stdout.strip()
    hb = labctl.popen("session", "heartbeat", holder, "--every", "0.5")
    try:
        p = labctl.popen("run", "--topology", str(topo), "--heartbeat-period", "0.5", "--poll-interval", "10",
                         "--", "true")
        time.sleep(5)
        assert p.poll() is None
        hb.send_signal(signal.SIGTERM)
        hb.communicate(timeout=30)
        assert hb.returncode == 0
        labctl("session", "end", holder, check=0)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert "warning" not in err, err
    finally:
        if hb.poll() is None:
            hb.kill()
            hb.communicate()


# --- 423 retry ------------------------------------------------------------------------------

def test_423_retry_resends_full_topology(labctl, server, tmp_path, topo):
    sid, _ = new_session(labctl)
    env = {"REMOTE_LAB_SESSION": sid}
    labctl("lab", "up", "--topology", str(topo), env=env, check=0)  # ref 1

    # a different, large topology: busy (423) until the first lab is released
    big = tmp_path / "big.yml"
    body = TOPOLOGY.replace("name: e2e", "name: big") + "".join(f"# padding line {i:06d} {'x' * 60}\n" for i in range(4000))
    big.write_text(body)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "r2.cfg").write_text("hostname r2\n" * 100)
    p = labctl.popen("lab", "up", "--topology", str(big), "--extra", "configs/r2.cfg", "--json", env=env)
    lines = []
    t = threading.Thread(target=lambda: lines.extend(p.stderr))
    t.start()
    wait_for(lambda: sum("HTTP 423: Lab currently busy; retrying" in l for l in lines) >= 2, timeout=60,
             what="two 423 retries")
    labctl("lab", "release", env=env, check=0)
    out = p.stdout.read()
    p.wait(timeout=60)
    t.join()
    assert p.returncode == 0, "".join(lines)
    assert json.loads(out)["device_count"] >= 1
    status = labctl.json("lab", "status", env=env)
    stored = Path(status["topology"])
    assert stored.name == "big.yml"
    assert stored.read_text() == body, "the retried upload did not carry the full topology"
    extra = stored.parent / "configs" / "r2.cfg"
    assert extra.read_text() == "hostname r2\n" * 100
    labctl("session", "end", sid, check=0)


def test_acquire_gives_up_after_deadline(labctl, server, tmp_path, topo):
    sid, _ = new_session(labctl)
    sid2, _ = new_session(labctl)
    p = labctl("lab", "up", "--topology", str(topo), "--acquire-timeout", "3",
               env={"REMOTE_LAB_SESSION": sid2}, timeout=60)
    assert p.returncode == EXIT_ACQUIRE, p.stderr
    assert "HTTP 423: Session is not active (gave up after" in p.stderr
    labctl("session", "end", sid2, check=0)
    labctl("session", "end", sid, check=0)


def test_wait_timeout(labctl, server, topo):
    holder, _ = new_session(labctl)
    p = labctl("run", "--topology", str(topo), "--wait-timeout", "1.5", "--poll-interval", "0.2", "--", "true",
               timeout=60)
    assert p.returncode == EXIT_TIMEOUT, p.stderr
    assert "not active after" in p.stderr
    sid, pos = new_session(labctl)
    assert pos == 1  # the timed-out run left the queue
    labctl("session", "end", sid, check=0)
    labctl("session", "end", holder, check=0)
