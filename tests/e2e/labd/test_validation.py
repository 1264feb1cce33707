"""Validation errors, booleans, unknown paths and methods, HEAD (spec §2, difference 6)."""
import pytest

from labd_harness import TOPOLOGY

BOOL_ERR = "Input should be a valid boolean, unable to interpret input"


@pytest.mark.parametrize("value,expect", [
    ("true", True), ("1", True), ("yes", True), ("On", True), ("t", True), ("Y", True),
    ("false", False), ("0", False), ("NO", False), ("off", False), ("f", False), ("n", False),
])
def test_reuse_boolean_parsing(server, value, expect):
    sid = server.new_session()
    assert server.acquire(sid).status_code == 200
    r = server.acquire(sid, reuse=value)
    # reuse=true attaches (200 reused); reuse=false on a held lab is busy (423).
    assert r.status_code == (200 if expect else 423), r.text


@pytest.mark.parametrize("value", ["maybe", "", "2", "truthy"])
def test_reuse_invalid_422(server, value):
    sid = server.new_session()
    r = server.acquire(sid, reuse=value)
    assert r.status_code == 422
    assert r.json() == {"detail": [{"type": "bool_parsing", "loc": ["body", "reuse"],
                                    "msg": BOOL_ERR, "input": value}]}


def test_missing_topology_422(server):
    sid = server.new_session()
    r = server.post("/lab", session=sid, data={"reuse": "true"})
    assert r.status_code == 422
    assert r.json() == {"detail": [{"type": "missing", "loc": ["body", "topology"],
                                    "msg": "Field required", "input": None}]}


def test_topology_as_plain_field_422(server):
    sid = server.new_session()
    r = server.post("/lab", session=sid, data={"topology": "nodes: [r1]"})
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["type"] == "value_error" and item["loc"] == ["body", "topology"]


def test_missing_header_collects_body_errors(server):
    r = server.post("/lab", files=[("topology", ("t.yml", TOPOLOGY))], data={"reuse": "x"})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["header", "X-Session-ID"], ["body", "reuse"]]
    r = server.delete("/lab?force=sometimes")
    assert [e["loc"] for e in r.json()["detail"]] == [["header", "X-Session-ID"], ["query", "force"]]
    assert r.json()["detail"][1] == {"type": "bool_parsing", "loc": ["query", "force"],
                                     "msg": BOOL_ERR, "input": "sometimes"}


def test_session_check_comes_before_body_validation(server):
    a, b = server.new_session(), server.new_session()
    r = server.post("/lab", session=b, data={"reuse": "x"})  # WAITING + bad body
    assert r.status_code == 423
    r = server.delete("/lab?force=bad", session="unknown")
    assert r.status_code == 404
    r = server.delete("/lab?force=bad", session=a)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "force"]


def test_unknown_path_and_method(server):
    r = server.get("/nope")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    assert r.headers["content-type"] == "application/json"
    r = server.request("PUT", "/session")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["allow"] == "POST"
    r = server.request("PATCH", "/lab")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, POST, DELETE"


def test_head_on_get_routes(server):
    # Deliberate difference 6: HEAD is answered on GET routes (the original gave 405).
    sid = server.new_session()
    r = server.request("HEAD", "/healthz")
    assert r.status_code == 204
    r = server.request("HEAD", f"/session/{sid}")
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["content-length"]) == len(server.get(f"/session/{sid}").content)
    r = server.request("HEAD", "/debug/health")
    assert r.status_code == 200
    r = server.request("HEAD", "/session")  # POST-only route
    assert r.status_code == 405


def test_oversized_json_body_on_bodyless_route_413(server):
    r = server.post("/session", data=b"x" * (128 * 1024))
    assert r.status_code == 413
    assert r.json() == {"detail": "Request body too large"}
    assert server.get("/debug/health").json()["sessions"] == 0


def test_long_ids_and_garbage(server):
    r = server.get("/session/" + "a" * 5000)
    assert r.status_code == 404
    r = server.get("/session/%00%ff")
    assert r.status_code == 404
    r = server.post("/session/heartbeat", headers={"X-Session-ID": "x" * 4000})
    assert r.status_code == 404
    assert server.get("/healthz").status_code == 204
