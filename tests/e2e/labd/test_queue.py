"""Queue controls (issue 8): priorities, max_wait, try-lock, --max-session-hold, the
remembered reason of an ended session, GET /sessions with public handles only."""
import json
import time

import pytest

from labd_harness import TOPOLOGY


def create(server, **body):
    r = server.post("/session", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_no_body_is_the_original_answer(server):
    r = server.post("/session")
    assert r.status_code == 201 and list(r.json()) == ["session_id", "position"]
    # a body that is not JSON is ignored, as the original ignored bodies
    r = server.post("/session", data=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 201 and list(r.json()) == ["session_id", "position"]


def test_json_body_returns_a_handle(server):
    body = create(server)
    assert list(body) == ["session_id", "position", "handle"]
    assert body["handle"].startswith("s-") and len(body["handle"]) == 10
    assert body["handle"] not in body["session_id"]


def test_priority_order_fifo_within_a_priority(server):
    holder = create(server)
    low = create(server, priority=-1, label="low")
    mid1 = create(server, label="mid1")
    high = create(server, priority=5, label="high")
    mid2 = create(server, label="mid2")
    pos = {k: server.get(f"/session/{v['session_id']}").json()["position"]
           for k, v in (("low", low), ("mid1", mid1), ("high", high), ("mid2", mid2))}
    assert pos == {"high": 1, "mid1": 2, "mid2": 3, "low": 4}
    listed = server.get("/sessions").json()["sessions"]
    assert [s["label"] for s in listed] == [None, "high", "mid1", "mid2", "low"]
    assert [s["position"] for s in listed] == [0, 1, 2, 3, 4]
    assert server.delete(f"/session/{holder['session_id']}").status_code == 204
    assert server.get(f"/session/{high['session_id']}").json()["status"] == "active"
    assert server.get(f"/session/{mid1['session_id']}").json() == {"status": "waiting",
                                                                   "position": 1}


def test_max_wait_ends_a_waiting_session_with_a_reason(server):
    holder = create(server)
    w = create(server, max_wait=0.5)
    sid = w["session_id"]
    server.wait_for(lambda: server.get(f"/session/{sid}").status_code == 404, 20, "max_wait")
    r = server.get(f"/session/{sid}")
    assert r.json() == {"detail": "Session not found", "reason": "max_wait"}
    # every route that takes a session id says the same
    hb = server.post("/session/heartbeat", session=sid)
    assert hb.status_code == 404 and hb.json()["reason"] == "max_wait"
    assert server.get("/lab", session=sid).json()["reason"] == "max_wait"
    # the holder is untouched
    assert server.get(f"/session/{holder['session_id']}").json()["status"] == "active"
    # a never-known id keeps the original's body exactly
    assert server.get("/session/nope").json() == {"detail": "Session not found"}


def test_deleted_and_reaped_reasons(make_server):
    s = make_server(args=["--waiting-session-timeout", "0.5"])
    a = create(s)
    b = create(s)
    assert s.delete(f"/session/{a['session_id']}").status_code == 204
    assert s.get(f"/session/{a['session_id']}").json()["reason"] == "deleted"
    # b is ACTIVE now (300 s timeout); c waits and is never polled (polling is a keep-alive;
    # listing is not), so it is reaped after 0.5 s
    c = create(s)
    s.wait_for(lambda: c["handle"] not in
               [x["handle"] for x in s.get("/sessions").json()["sessions"]], 20, "reaping")
    assert s.get(f"/session/{c['session_id']}").json() == {"detail": "Session not found",
                                                            "reason": "reaped"}
    assert s.get(f"/session/{b['session_id']}").json()["status"] == "active"


def test_try_lock(make_server):
    s = make_server(args=["--lab-slots", "2"])
    a = create(s, wait=False)
    assert s.get(f"/session/{a['session_id']}").json()["status"] == "active"
    b = create(s, wait=False)
    assert s.get(f"/session/{b['session_id']}").json()["status"] == "active"
    before = s.get("/sessions").json()["sessions"]
    r = s.post("/session", json={"wait": False, "label": "try"})
    assert r.status_code == 409
    assert r.json() == {"detail": "No lab slot is free"}
    assert [x["handle"] for x in s.get("/sessions").json()["sessions"]] == \
        [x["handle"] for x in before]
    # with a waiter queued, try-lock is refused even when a slot frees up for the waiter
    w = create(s)
    s.delete(f"/session/{a['session_id']}")
    assert s.get(f"/session/{w['session_id']}").json()["status"] == "active"
    assert s.post("/session", json={"wait": False}).status_code == 409


def test_max_session_hold_ends_an_active_session_even_with_heartbeats(make_server):
    s = make_server(args=["--max-session-hold", "1"])
    a = create(s)
    sid = a["session_id"]
    w = create(s)
    assert s.acquire(sid).status_code == 200
    deadline = time.monotonic() + 30
    while s.post("/session/heartbeat", session=sid).status_code == 204:
        assert time.monotonic() < deadline, "the hold limit never ended the session"
        time.sleep(0.1)
    assert s.get(f"/session/{sid}").json() == {"detail": "Session not found",
                                                "reason": "max_hold"}
    s.wait_for(lambda: ["down", "--cleanup"] in s.netlab_calls(), 30, "the lab's teardown")
    s.wait_for(lambda: s.get(f"/session/{w['session_id']}").json().get("status") == "active",
               30, "the next session's promotion")


@pytest.mark.parametrize("body,loc,kind", [
    ({"priority": "high"}, ["body", "priority"], "int_type"),
    ({"priority": 1001}, ["body", "priority"], "less_than_equal"),
    ({"priority": -1001}, ["body", "priority"], "greater_than_equal"),
    ({"priority": True}, ["body", "priority"], "int_type"),
    ({"label": 5}, ["body", "label"], "string_type"),
    ({"label": "x" * 129}, ["body", "label"], "string_too_long"),
    ({"max_wait": 0}, ["body", "max_wait"], "greater_than"),
    ({"max_wait": "soon"}, ["body", "max_wait"], "float_type"),
    ({"max_wait": 1e12}, ["body", "max_wait"], "less_than_equal"),
    ({"wait": "no"}, ["body", "wait"], "bool_type"),
    ([1, 2], ["body"], "model_attributes_type"),
])
def test_bad_controls_are_422_and_create_nothing(server, body, loc, kind):
    r = server.post("/session", json=body)
    assert r.status_code == 422, r.text
    items = r.json()["detail"]
    assert [i["type"] for i in items] == [kind] and items[0]["loc"] == loc
    assert server.get("/sessions").json()["sessions"] == []


def test_bad_json_is_422(server):
    r = server.post("/session", data=b'{"priority": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"
    r = server.post("/session", data=b"x" * 20000, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert server.get("/sessions").json()["sessions"] == []


def test_lists_never_show_a_session_id(make_server):
    s = make_server(args=["--lab-slots", "2"])
    ids = [create(s, label=f"job-{i}")["session_id"] for i in range(3)]
    s.acquire(ids[0])
    listing = s.get("/sessions").json()
    text = json.dumps(listing) + s.get("/labs").text + s.get("/host").text
    for sid in ids:
        assert sid not in text and sid[:8] not in text
    first = listing["sessions"][0]
    assert set(first) == {"handle", "state", "position", "priority", "label", "age",
                          "last_seen_age", "slot", "lab_hash", "estimated_wait"}
    assert first["slot"] == 0 and len(first["lab_hash"]) == 64
    assert [x["state"] for x in listing["sessions"]] == ["active", "active", "waiting"]
    # session ids stay out of the log above DEBUG
    for sid in ids:
        assert sid not in s.log()


def test_estimated_wait_from_observed_holds(server):
    a = create(server)
    server.delete(f"/session/{a['session_id']}")  # one observed hold
    b = create(server)
    c = create(server)
    listed = server.get("/sessions").json()["sessions"]
    assert listed[0]["estimated_wait"] is None  # ACTIVE
    assert isinstance(listed[1]["estimated_wait"], float)
    host = server.get("/host").json()
    assert host["free_slots"] == 0 and host["waiting"] == 1 and host["queue_length"] == 2
    assert isinstance(host["estimated_wait"], float)
    assert b and c
