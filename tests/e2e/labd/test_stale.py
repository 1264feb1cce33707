"""Stale-session sweeping with shortened timeouts (spec §3.4; differences 1 and 2)."""
import threading
import time

FAST = ["--active-session-timeout", "1", "--waiting-session-timeout", "2"]


def test_waiting_session_reaped(make_server):
    s = make_server(args=FAST)
    a = s.new_session()
    b = s.new_session()
    # a keeps itself alive by polling; b stays silent.
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert s.get(f"/session/{a}").status_code == 200
        time.sleep(0.2)
    assert s.get(f"/session/{b}").status_code == 404
    assert "Removing stale session" in s.log()
    assert s.get(f"/session/{a}").json()["status"] == "active"


def test_heartbeat_keeps_waiting_session_alive(make_server):
    s = make_server(args=FAST)
    a = s.new_session()
    b = s.new_session()
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert s.post("/session/heartbeat", session=a).status_code == 204
        assert s.post("/session/heartbeat", session=b).status_code == 204
        time.sleep(0.3)
    assert s.get(f"/session/{b}").json() == {"status": "waiting", "position": 1}


def test_stale_active_session_loses_its_lab_and_next_is_promoted(make_server):
    s = make_server(args=FAST)
    a = s.new_session()
    assert s.acquire(a).status_code == 200
    b = s.new_session()
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        st = s.get(f"/session/{b}")  # b polls, a is silent
        if st.json()["status"] == "active":
            break
        time.sleep(0.2)
    assert st.json() == {"status": "active", "position": 0}
    assert s.get(f"/session/{a}").status_code == 404
    assert ["down", "--cleanup"] in s.netlab_calls()
    assert "Cleaning up lab for stale active session" in s.log()
    assert s.get("/lab", session=b).json()["running"] is False


def test_promotion_after_failed_teardown_of_stale_session(make_server):
    s = make_server(args=FAST + ["--netlab-down-timeout", "0.5"])
    a = s.new_session()
    s.acquire(a)
    b = s.new_session()
    s.knobs(hang="down")
    s.wait_for(lambda: s.get(f"/session/{b}").json()["status"] == "active", 8,
               "promotion of the next session")
    assert "Error during lab cleanup for session" in s.log()


def test_session_with_running_lab_operation_is_not_reaped(make_server):
    # Deliberate difference 2: a long `netlab up` no longer gets its session reaped.
    s = make_server(args=FAST)
    a = s.new_session()
    s.knobs(up_delay=3.5)
    out = {}
    t = threading.Thread(target=lambda: out.update(r=s.acquire(a)))
    t.start()
    t.join(30)
    assert out["r"].status_code == 200
    assert s.get(f"/session/{a}").json()["status"] == "active"
    assert "Removing stale session" not in s.log()
    assert s.get("/lab", session=a).json()["running"] is True
    # Once idle and silent, it is reaped as usual.
    s.wait_for(lambda: s.get("/debug/health").json()["sessions"] == 0, 8, "reaping")


def test_active_session_polling_lab_status_stays(make_server):
    s = make_server(args=FAST)
    a = s.new_session()
    s.acquire(a)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert s.get("/lab/devices", session=a).status_code == 200
        time.sleep(0.3)
    assert s.get(f"/session/{a}").status_code == 200
