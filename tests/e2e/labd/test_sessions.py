"""Sessions and the FIFO queue (spec §2.2, §2.3, §3), against the real server."""
import re
import uuid

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_first_session_is_active(server):
    r = server.post("/session")
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert list(body) == ["session_id", "position"]
    assert UUID4.match(body["session_id"])
    assert body["position"] == 0
    r = server.get(f"/session/{body['session_id']}")
    assert r.status_code == 200
    assert r.json() == {"status": "active", "position": 0}


def test_fifo_positions_and_promotion(server):
    ids = [server.new_session() for _ in range(4)]
    for pos, sid in enumerate(ids):
        assert server.get(f"/session/{sid}").json() == {
            "status": "active" if pos == 0 else "waiting", "position": pos}
    # Removing a WAITING session in the middle shifts later positions, promotes nobody.
    assert server.delete(f"/session/{ids[2]}").status_code == 204
    assert server.get(f"/session/{ids[3]}").json() == {"status": "waiting", "position": 2}
    assert server.get(f"/session/{ids[1]}").json() == {"status": "waiting", "position": 1}
    # Ending the ACTIVE session promotes the next in line.
    assert server.delete(f"/session/{ids[0]}").status_code == 204
    assert server.get(f"/session/{ids[1]}").json() == {"status": "active", "position": 0}
    assert server.get(f"/session/{ids[3]}").json() == {"status": "waiting", "position": 1}
    assert "promoted to ACTIVE" in server.log()


def test_create_returns_position_at_creation(server):
    positions = [server.post("/session").json()["position"] for _ in range(3)]
    assert positions == [0, 1, 2]


def test_many_sessions_positions_stay_exact(server):
    ids = [server.new_session() for _ in range(300)]
    for i in range(0, 300, 3):  # remove every third waiting session (not the head)
        if i:
            assert server.delete(f"/session/{ids[i]}").status_code == 204
    remaining = [sid for i, sid in enumerate(ids) if i == 0 or i % 3]
    for pos, sid in list(enumerate(remaining))[::17]:
        assert server.get(f"/session/{sid}").json()["position"] == pos


def test_unknown_session_404(server):
    r = server.get("/session/not-a-real-id")
    assert r.status_code == 404
    assert r.json() == {"detail": "Session not found"}
    assert server.delete(f"/session/{uuid.uuid4()}").status_code == 404
    assert server.delete(f"/session/{uuid.uuid4()}").json() == {"detail": "Session not found"}


def test_get_session_heartbeat_quirk(server):
    # GET /session/heartbeat matches GET /session/{id}, like the original.
    r = server.get("/session/heartbeat")
    assert r.status_code == 404
    assert r.json() == {"detail": "Session not found"}


def test_heartbeat(server):
    a, b = server.new_session(), server.new_session()
    assert server.post("/session/heartbeat", session=a).status_code == 204
    assert server.post("/session/heartbeat", session=b).status_code == 204  # WAITING may too
    r = server.post("/session/heartbeat", session="nope")
    assert r.status_code == 404 and r.json() == {"detail": "Session not found"}
    r = server.post("/session/heartbeat", session="")
    assert r.status_code == 404
    r = server.post("/session/heartbeat")
    assert r.status_code == 422
    assert r.json() == {"detail": [{"type": "missing", "loc": ["header", "X-Session-ID"],
                                    "msg": "Field required", "input": None}]}
    # The header name is case-insensitive.
    r = server.post("/session/heartbeat", headers={"x-session-id": a})
    assert r.status_code == 204


def test_active_session(server):
    r = server.get("/active-session")
    assert r.status_code == 404 and r.json() == {"detail": "No active session"}
    a, b = server.new_session(), server.new_session()
    r = server.get("/active-session")
    assert r.status_code == 200
    assert r.json() == {"status": "active", "position": 0, "session_id": a}
    assert list(r.json()) == ["status", "position", "session_id"]
    server.delete(f"/session/{a}")
    assert server.get("/active-session").json()["session_id"] == b


def test_health_endpoints(server):
    r = server.get("/healthz")
    assert r.status_code == 204 and r.content == b""
    assert "content-length" not in {k.lower() for k in r.headers} or r.headers["content-length"] == "0"
    server.new_session()
    server.new_session()
    h = server.get("/debug/health").json()
    assert list(h) == ["status", "timestamp", "uptime", "sessions", "queue_length"]
    assert h["status"] == "ok" and h["sessions"] == 2 and h["queue_length"] == 2
    assert isinstance(h["timestamp"], float) and isinstance(h["uptime"], float)
    assert h["uptime"] >= 0


def test_max_sessions_limit(make_server):
    s = make_server(args=["--max-sessions", "3"])
    for _ in range(3):
        s.new_session()
    r = s.post("/session")
    assert r.status_code == 429
    assert r.json() == {"detail": "Too many sessions queued"}
    assert s.get("/debug/health").json()["sessions"] == 3
