"""kill -9 of neops-remote-lab in each interesting state: the next start needs no manual step,
leaves no orphan process or directory, and the host is clean (issue 9, items 4 and 5)."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from labd_harness import OTHER_TOPOLOGY, netlab_sim


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def crash(s):
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait(30)
    s._log.close()


def registry(s):
    r = subprocess.run([str(s.bin / "netlab"), "status", "--all", "--format", "json"],
                       env=dict(s.env, FAKE_NETLAB_LOG=""), capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    data = json.loads(r.stdout)
    return {} if "warning" in data else data


def leftovers(s):
    return sorted(p.name for p in s.tmp.iterdir()
                  if p.name.startswith(("netlab_topo_", "remote_netlab_upload_")))


def restart(s):
    s.start()
    s.wait_log("Startup cleanup (completed|encountered)", 60)
    s.wait_for(lambda: not leftovers(s), 30, "leftover directories removed")


@pytest.fixture
def grandchild_netlab(make_server, tmp_path):
    """A server whose `netlab up` leaves a grandchild in its process group, like
    `sudo containerlab` does (it never gets the parent-death signal)."""
    s = make_server(netlab=False, start=False)
    pidfile = tmp_path / "grandchild.pid"
    (s.bin / "netlab").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = up ]; then sh -c \'echo $$ > {pidfile}; exec sleep 600\' & fi\n'
        f'exec {netlab_sim()} "$@"\n')
    (s.bin / "netlab").chmod(0o755)
    s.pidfile = pidfile
    return s


def test_crash_during_netlab_up_leaves_no_orphan(grandchild_netlab):
    s = grandchild_netlab
    s.start()
    sid = s.new_session()
    s.knobs(hang=["up"])
    def acquire():
        try:
            s.acquire(sid, timeout=120)
        except OSError:  # the server is killed under this request
            pass

    t = threading.Thread(target=acquire)
    t.daemon = True
    t.start()
    s.wait_for(lambda: s.pidfile.exists() and s.pidfile.read_text().strip() and
               [e for e in s.netlab_starts() if e["argv"][0] == "up"], 30, "netlab up")
    up = [e for e in s.netlab_starts() if e["argv"][0] == "up"][0]
    grandchild = int(s.pidfile.read_text())
    crash(s)
    # netlab itself dies with the server (parent-death signal) ...
    s.wait_for(lambda: not pid_alive(up["pid"]), 30, "netlab up to die with the server")
    # ... its grandchild does not, until the next start ends its process group
    assert pid_alive(grandchild)
    s.knobs()
    restart(s)
    s.wait_for(lambda: not pid_alive(grandchild), 30, "the leftover group to be ended")
    log = s.log()
    assert f"Ending leftover netlab process group {up['pgid']} of a previous instance" in log
    assert log.index("Ending leftover netlab process group") < \
        log.index("Tearing down default lab instance (reason: server-startup)")
    assert registry(s) == {}
    assert leftovers(s) == []
    # and the host serves as before
    assert s.acquire(s.new_session()).status_code in (200, 423)


@pytest.mark.parametrize("state", ["held", "idle", "just-started"])
def test_crash_in_each_state_then_a_clean_start(make_server, state):
    s = make_server(args=["--idle-lab-keep", "300"] if state == "idle" else [])
    if state == "just-started":
        s.wait_log("Remote Lab Manager startup complete")
    else:
        sid = s.new_session()
        assert s.acquire(sid).status_code == 200
        if state == "idle":
            s.delete(f"/session/{sid}")
            assert s.get("/labs").json()["labs"][0]["idle"] is True
        assert registry(s) != {}
    crash(s)
    restart(s)
    # the previous instance's lab is torn down, its directories are gone, nothing is held
    assert registry(s) == {}
    assert s.get("/sessions").json()["sessions"] == []
    assert s.acquire(s.new_session()).status_code == 200


def test_crash_with_labs_in_slots(make_server):
    s = make_server(args=["--lab-slots", "2"])
    a, b = s.new_session(), s.new_session()
    s.acquire(a)
    s.acquire(b, topology=OTHER_TOPOLOGY)
    assert sorted(registry(s)) == ["1", "2"]
    crash(s)
    restart(s)
    assert registry(s) == {}
    downs = [c for c in s.netlab_calls() if c[:3] == ["down", "--cleanup", "--force"]]
    assert sorted(c[-1] for c in downs) == ["1", "2"]


def test_a_restart_removes_only_the_previous_instances_directories(make_server):
    s = make_server()
    sid = s.new_session()
    s.acquire(sid)
    crash(s)
    # a directory that is not the server's is never touched
    mine = s.tmp / "unrelated"
    mine.mkdir()
    restart(s)
    assert mine.exists()
    assert leftovers(s) == []
    # the lab's netlab directory and its upload directory (logged once both are gone:
    # the test may see them gone a moment before the line is written)
    s.wait_log("Removed 2 directories a previous instance left behind", 30)
