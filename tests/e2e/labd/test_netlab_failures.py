"""netlab failures, deadlines and output caps (difference 5): JSON errors, cleanup, and the
server stays ready for the next acquire."""
import os
import time
from pathlib import Path

from labd_harness import TOPOLOGY

EMPTY_LAB = {"running": False, "topology": None, "ref_count": 0, "devices": [],
             "netlab_status": None}


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def up_event(server):
    return [e for e in server.netlab_starts() if e["argv"][0] == "up"][-1]


def test_up_failure_json_error_cleanup_and_recovery(server):
    sid = server.new_session()
    server.knobs(fail="start")
    r = server.acquire(sid)
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["detail"].startswith("`netlab up topology.yml` failed with exit code 1")
    assert body["netlab"]["command"] == "netlab up topology.yml"
    assert body["netlab"]["exit_code"] == 1 and body["netlab"]["timed_out"] is False
    assert body["netlab"]["stderr_tail"].strip()
    last = body["netlab"]["stderr_tail"].strip().splitlines()[-1]
    assert body["detail"].endswith(last)
    # netlab's lock and registry entry from the failed up are cleaned, then the directory.
    work = Path(up_event(server)["cwd"])
    assert server.netlab_calls()[-1] == ["down", "--cleanup", "--force"]
    assert server.netlab_starts()[-1]["cwd"] == str(work)
    assert not work.exists()
    assert server.get("/lab", session=sid).json() == EMPTY_LAB
    assert server.get(f"/session/{sid}").json()["status"] == "active"
    server.knobs()
    r = server.acquire(sid)
    assert r.status_code == 200 and r.json()["reused"] is False


def test_create_failure(server):
    sid = server.new_session()
    server.knobs(fail="create")
    r = server.acquire(sid)
    assert r.status_code == 500
    assert "failed with exit code 1" in r.json()["detail"]
    server.knobs()
    assert server.acquire(sid).status_code == 200


def test_inspect_failure_tears_the_half_started_lab_down(server):
    sid = server.new_session()
    server.knobs(fail="inspect")
    r = server.acquire(sid)
    assert r.status_code == 500
    assert "netlab inspect" in r.json()["detail"]
    assert server.netlab_calls()[-1] == ["down", "--cleanup", "--force"]
    server.knobs()
    assert server.acquire(sid).status_code == 200


def test_up_deadline_kills_the_process_group(make_server):
    # The deadline applies to the later, real `up` too: leave it room on a busy machine.
    s = make_server(args=["--netlab-up-timeout", "4"])
    sid = s.new_session()
    s.knobs(hang="up")
    t0 = time.monotonic()
    r = s.acquire(sid)
    elapsed = time.monotonic() - t0
    assert r.status_code == 500
    assert r.json()["netlab"]["timed_out"] is True
    assert "timed out" in r.json()["detail"]
    assert 3.9 < elapsed < 40
    up_pid = [e for e in s.netlab_starts() if e["argv"][0] == "up"][-1]["pid"]
    assert not pid_alive(up_pid)
    exits = {e["pid"]: e for e in s.netlab_events() if e["event"] == "exit"}
    assert exits[up_pid]["rc"] == 1  # SIGINT first: netlab reports the interruption
    s.knobs()
    assert s.acquire(sid).status_code == 200


def test_stderr_flood_is_capped(server):
    sid = server.new_session()
    server.knobs(fail="start", stderr_bytes=30_000_000)
    r = server.acquire(sid)
    assert r.status_code == 500
    assert len(r.json()["netlab"]["stderr_tail"]) <= 2048
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    hwm_kb = int([l for l in status.splitlines() if l.startswith("VmHWM")][0].split()[1])
    assert hwm_kb < 400_000, f"peak RSS {hwm_kb} kB: output was not capped"
    server.knobs()
    assert server.acquire(sid).status_code == 200


def test_stdout_flood_on_success_is_capped(server):
    sid = server.new_session()
    server.knobs(stdout_bytes=30_000_000)
    r = server.acquire(sid)
    assert r.status_code == 200
    assert "wrote more than" in server.log()


def test_failed_teardown_is_retried_with_force(server):
    sid = server.new_session()
    server.acquire(sid)
    work = Path(up_event(server)["cwd"])
    server.knobs(fail="down")  # netlab down fails; with --force it still cleans up
    r = server.delete("/lab", session=sid)
    assert r.status_code == 202
    assert server.netlab_calls()[-2:] == [["down", "--cleanup"], ["down", "--cleanup", "--force"]]
    assert "retrying with --force" in server.log()
    assert not work.exists()
    server.knobs()
    assert server.acquire(sid).status_code == 200


def test_teardown_failure_resets_state_and_recovers(make_server):
    # The deadline applies to the later, real teardowns too: leave them room on a busy machine.
    s = make_server(args=["--netlab-down-timeout", "3"])
    sid = s.new_session()
    s.acquire(sid)
    work = Path(up_event(s)["cwd"])
    s.knobs(hang="down")
    r = s.delete("/lab", session=sid)
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    assert "netlab down --cleanup" in r.json()["detail"]
    assert r.json()["netlab"]["timed_out"] is True
    assert s.get("/lab", session=sid).json() == EMPTY_LAB
    # netlab still has the instance registered there: the directory is kept for it...
    assert work.exists()
    s.knobs()
    # ...and the next start's default-instance teardown cleans it, then the lab starts.
    assert s.acquire(sid).status_code == 200
    assert not work.exists()
    assert "Removing orphaned netlab directory" in s.log()


def test_promotion_even_when_teardown_fails(make_server):
    # Deliberate difference 1: the original skipped promotion here and stalled the queue.
    # The deadline applies to the later sanity teardown too: leave it room on a busy machine.
    server = make_server(args=["--netlab-down-timeout", "3"])
    a, b = server.new_session(), server.new_session()
    server.acquire(a)
    server.knobs(hang="down")  # down and the forced retry both time out
    assert server.delete(f"/session/{a}").status_code == 204
    assert "Error during lab cleanup for session" in server.log()
    assert server.get(f"/session/{b}").json() == {"status": "active", "position": 0}
    server.knobs()
    assert server.acquire(b).status_code == 200


def test_other_requests_served_while_teardown_hangs(make_server):
    s = make_server(args=["--netlab-down-timeout", "2"])
    a, b = s.new_session(), s.new_session()
    s.acquire(a)
    s.knobs(hang="down")
    import threading

    out = {}
    t = threading.Thread(target=lambda: out.update(r=s.delete(f"/session/{a}")))
    t.start()
    s.wait_for(lambda: s.netlab_calls()[-1] == ["down", "--cleanup"], 10)
    assert s.get("/healthz").status_code == 204
    assert s.get(f"/session/{b}").json()["status"] == "waiting"
    t.join(30)
    assert out["r"].status_code == 204
    assert s.get(f"/session/{b}").json()["status"] == "active"
