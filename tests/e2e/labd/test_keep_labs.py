"""--keep-labs: the queue and the running labs survive a restart (SIGTERM or kill -9); a state
file that cannot be used is moved aside and the server starts clean."""
import json
import os
import signal
import threading
import time

import pytest
import requests

from labd_harness import OTHER_TOPOLOGY, free_port

KEEP = ["--keep-labs"]


def ups(s):
    return [c for c in s.netlab_calls() if c[0] == "up"]


def state_file(s):
    return s.tmp / "neops_remote_lab_state.json"


def restart(s, sig=signal.SIGTERM):
    if sig == signal.SIGKILL:
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait(30)
        s._log.close()
    else:
        assert s.stop(sig) == 0
    s.start()
    s.wait_log("Startup cleanup completed|Startup cleanup encountered|Sparing the default", 60)
    return s


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_held_lab_and_the_queue_survive_a_restart(make_server, sig):
    s = make_server(args=KEEP)
    a, b = s.new_session(), s.new_session()
    c = s.post("/session", json={"priority": 5, "label": "urgent"}).json()["session_id"]
    devices = s.acquire(a).json()["devices"]
    handles = [x["handle"] for x in s.get("/sessions").json()["sessions"]]
    assert oct(state_file(s).stat().st_mode & 0o777) == "0o600"
    restart(s, sig)
    if sig == signal.SIGTERM:
        assert "Kept 1 labs and 3 sessions for the next start" in open(s.stderr_path).read()
    s.wait_log("Re-adopted lab topology.yml in slot 0", 60)
    # the same sessions, states, positions and handles; the same lab, no second `netlab up`
    assert s.get(f"/session/{a}").json() == {"status": "active", "position": 0}
    assert s.get(f"/session/{c}").json() == {"status": "waiting", "position": 1}
    assert s.get(f"/session/{b}").json() == {"status": "waiting", "position": 2}
    assert [x["handle"] for x in s.get("/sessions").json()["sessions"]] == handles
    assert s.get("/sessions").json()["sessions"][1]["label"] == "urgent"
    assert s.get("/lab/devices", session=a).json() == devices
    assert s.get("/lab", session=a).json()["ref_count"] == 1
    assert len(ups(s)) == 1
    # checked with netlab itself, and the start-up cleanup spared it
    assert ["status", "--all", "--format", "json"] in s.netlab_calls()
    assert ["down", "--instance", "default", "--cleanup"] not in s.netlab_calls()[2:]
    # and it carries on: reuse attaches, the end tears down and promotes
    assert s.acquire(a).json()["reused"] is True
    assert s.delete(f"/session/{a}").status_code == 204
    assert ["down", "--cleanup"] in s.netlab_calls()
    assert s.get(f"/session/{c}").json()["status"] == "active"


def test_slots_are_re_adopted(make_server):
    s = make_server(args=KEEP + ["--lab-slots", "2", "--idle-lab-keep", "300"])
    a, b = s.new_session(), s.new_session()
    s.acquire(a)
    s.acquire(b, topology=OTHER_TOPOLOGY)
    s.delete(f"/session/{b}")  # b's lab idles
    before = s.get("/labs").json()["labs"]
    restart(s)
    s.wait_for(lambda: "Re-adopted lab" in s.log() and s.log().count("Re-adopted lab") == 2,
               60, "both labs re-adopted")
    after = s.get("/labs").json()["labs"]
    assert [(l["slot"], l["instance"], l["hash"], l["holder"], l["idle"]) for l in after] == \
        [(l["slot"], l["instance"], l["hash"], l["holder"], l["idle"]) for l in before]
    assert len(ups(s)) == 2
    # the idle one is still warm
    c = s.new_session()
    assert s.acquire(c, topology=OTHER_TOPOLOGY).json()["reused"] is True


def test_a_restart_during_netlab_up_cleans_that_lab(make_server):
    s = make_server(args=KEEP)
    a = s.new_session()
    s.knobs(hang=["up"])
    out = {}
    t = threading.Thread(target=lambda: out.update(r=s.acquire(a)))
    t.start()
    s.wait_for(lambda: ups(s), 30, "netlab up")
    assert s.stop() == 0
    t.join(30)
    # the acquire got a clear answer, the interrupted start was cleaned up
    assert out["r"].status_code == 503
    assert ["down", "--cleanup", "--force"] in s.netlab_calls()
    s.knobs()
    s.start()
    s.wait_log("Startup cleanup", 60)
    assert s.get(f"/session/{a}").json() == {"status": "active", "position": 0}
    assert s.get("/lab", session=a).json()["running"] is False
    s.wait_for(lambda: not list(s.tmp.glob("netlab_topo_*")), 30, "leftovers removed")
    assert s.acquire(a).status_code == 200


def test_a_lab_that_went_down_meanwhile_is_dropped(make_server):
    s = make_server(args=KEEP)
    a = s.new_session()
    s.acquire(a)
    assert s.stop() == 0
    work = [e for e in s.netlab_starts() if e["argv"][0] == "up"][0]["cwd"]
    # someone tore it down while the server was away
    import subprocess
    subprocess.run([str(s.bin / "netlab"), "down", "--cleanup"], cwd=work, env=s.env,
                   check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    s.start()
    s.wait_log("Dropping the kept lab topology.yml", 60)
    assert s.get(f"/session/{a}").json()["status"] == "active"
    assert s.get("/lab", session=a).json()["running"] is False
    assert not os.path.exists(work)
    assert not list(s.tmp.glob("remote_netlab_upload_*"))


@pytest.mark.parametrize("content,why", [
    (b"{not json", "is not valid JSON"),
    (json.dumps({"format": "neops-remote-lab-state", "version": 99}).encode(),
     "has another format version"),
    (None, "names labs that are not ours"),
])
def test_an_unusable_state_file_is_moved_aside(make_server, content, why):
    s = make_server(args=KEEP)
    a = s.new_session()
    s.acquire(a)
    assert s.stop() == 0
    path = state_file(s)
    if content is None:
        st = json.loads(path.read_text())
        st["labs"][0]["workdir"] = "/etc"
        content = json.dumps(st).encode()
    path.write_bytes(content)
    s.start()
    s.wait_log("Startup cleanup", 60)
    assert f"State file {path} {why}; moved aside to" in s.log()
    assert list(s.tmp.glob("neops_remote_lab_state.json.bad-*"))
    # a clean start: no sessions, no labs, our leftovers cleaned up (right after the
    # "Startup cleanup" line, which is written before they are removed)
    assert s.get("/sessions").json()["sessions"] == []
    assert s.get(f"/session/{a}").status_code == 404
    s.wait_for(lambda: not list(s.tmp.glob("netlab_topo_*")), 30, "leftovers removed")


def test_without_keep_labs_labs_go_down_and_a_state_file_is_ignored(make_server):
    s = make_server(args=KEEP)
    s.acquire(s.new_session())
    assert s.stop() == 0
    s.args = []
    s.start()
    s.wait_log("Startup cleanup", 60)
    assert "is there but --keep-labs is off" in s.log()
    assert s.get("/sessions").json()["sessions"] == []
    s.stop()
    assert not state_file(s).exists()


def test_kill_during_netlab_up_leaves_no_orphan_and_keeps_the_session(make_server):
    """kill -9 while `netlab up` runs: the child dies with the server, the next start ends its
    process group (if any is left) and cleans that lab; the session is kept, without a lab,
    and its next acquire works."""
    s = make_server(args=KEEP)
    a = s.new_session()
    s.knobs(hang=["up"])
    out = {}

    def acquire():
        try:
            out["r"] = s.acquire(a)
        except Exception as e:  # noqa: BLE001 - the connection dies with the server
            out["e"] = e
    t = threading.Thread(target=acquire)
    t.start()
    s.wait_for(lambda: ups(s), 30, "netlab up")
    up_pid = [e for e in s.netlab_starts() if e["argv"][0] == "up"][0]["pid"]
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait(30)
    s._log.close()
    t.join(60)
    assert "e" in out  # the client saw the connection end, not an answer
    s.knobs()
    s.start()
    s.wait_log("Startup cleanup", 60)
    s.wait_for(lambda: not os.path.exists(f"/proc/{up_pid}"), 30, "netlab up gone")
    assert s.get(f"/session/{a}").json() == {"status": "active", "position": 0}
    assert s.get("/lab", session=a).json()["running"] is False
    s.wait_for(lambda: not list(s.tmp.glob("netlab_topo_*")), 30, "leftovers removed")
    r = s.acquire(a)
    assert r.status_code == 200 and r.json()["reused"] is False


def test_a_client_polling_through_a_restart_stays_active(make_server):
    """A client polls its session all through a restart on the same port: every answer it
    gets says ACTIVE at position 0 (it gets none while the server is away), never 404 or
    WAITING; afterwards the same devices, and no second `netlab up`."""
    s = make_server(start=False, args=KEEP)
    s.fixed_port = free_port()
    s.start()
    a = s.new_session()
    devices = s.acquire(a).json()["devices"]
    answers, stop = [], threading.Event()

    def poll():
        http = requests.Session()
        while not stop.is_set():
            try:
                r = http.get(f"{s.url}/session/{a}", timeout=5)
                answers.append((r.status_code, r.json()))
            except requests.RequestException:
                answers.append(None)
                time.sleep(0.01)
    t = threading.Thread(target=poll)
    t.start()
    try:
        s.wait_for(lambda: len(answers) > 5, 30, "answers before the restart")
        restart(s)
        n = len(answers)
        s.wait_for(lambda: len([x for x in answers[n:] if x is not None]) > 5, 30,
                   "answers after the restart")
        s.wait_log("Re-adopted lab topology.yml in slot 0", 60)
    finally:
        stop.set()
        t.join(30)
    active = (200, {"status": "active", "position": 0})
    assert [x for x in answers if x is not None and x != active] == []
    assert s.get("/lab/devices", session=a).json() == devices
    assert len(ups(s)) == 1
