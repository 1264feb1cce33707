"""Admin actions (--admin-token-file): refused without the token, carried out with it, logged
with who asked; off by default."""
import pytest

TOKEN = "adm-7c1f0e2b9d"


@pytest.fixture
def admin(make_server, tmp_path):
    f = tmp_path / "admin-token"
    f.write_text(TOKEN + "\n")
    f.chmod(0o600)
    return make_server(args=["--admin-token-file", str(f), "--lab-slots", "2"])


def auth(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


def test_off_by_default(server):
    sid = server.new_session()
    handle = server.get("/sessions").json()["sessions"][0]["handle"]
    assert server.post("/admin/drain", headers=auth()).status_code == 404
    assert server.delete(f"/admin/sessions/{handle}", headers=auth()).status_code == 404
    assert server.get(f"/session/{sid}").json()["status"] == "active"


@pytest.mark.parametrize("headers", [{}, auth("wrong"), {"Authorization": "Basic eDp5"},
                                     {"Authorization": f"Bearer {TOKEN}x"}])
def test_refused_without_the_token(admin, headers):
    for method, path in (("POST", "/admin/drain"), ("POST", "/admin/undrain"),
                         ("DELETE", "/admin/sessions/s-aaaaaaaa"), ("DELETE", "/admin/labs/0")):
        r = admin.request(method, path, headers=dict(headers))
        assert r.status_code == 401, (method, path, r.text)
        assert r.json() == {"detail": "Not authenticated"}
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert admin.get("/host").json()["draining"] is False
    assert "refused" in admin.log() and TOKEN not in admin.log()


def test_drain_and_undrain(admin):
    a = admin.new_session()
    assert admin.post("/admin/drain", headers=auth()).status_code == 204
    assert admin.get("/healthz").status_code == 204
    assert admin.get("/debug/health").json()["draining"] is True
    assert admin.get("/host").json()["draining"] is True
    # no new promotions, though a slot is free; the running session goes on
    b = admin.new_session()
    assert admin.get(f"/session/{b}").json() == {"status": "waiting", "position": 1}
    assert admin.acquire(a).status_code == 200
    assert admin.post("/session", json={"wait": False}).status_code == 409
    assert admin.post("/admin/undrain", headers=auth()).status_code == 204
    assert admin.get(f"/session/{b}").json()["status"] == "active"
    assert "draining" not in admin.get("/debug/health").json()
    log = admin.log()
    assert "Admin drain by 127.0.0.1" in log and "Admin undrain by 127.0.0.1" in log


def test_end_a_session_by_handle(admin):
    a = admin.new_session()
    admin.acquire(a)
    handle = admin.get("/sessions").json()["sessions"][0]["handle"]
    assert admin.delete(f"/admin/sessions/{handle}", headers=auth()).status_code == 204
    assert admin.get(f"/session/{a}").json() == {"detail": "Session not found", "reason": "admin"}
    assert ["down", "--cleanup", "-i", "1"] in admin.netlab_calls()
    assert admin.delete(f"/admin/sessions/{handle}", headers=auth()).status_code == 404
    assert f"Admin end of session {a[:8]} ({handle}, active) by 127.0.0.1" in admin.log()


def test_force_destroy_a_lab(admin):
    a = admin.new_session()
    admin.acquire(a)
    assert admin.delete("/admin/labs/1", headers=auth()).status_code == 404  # empty slot
    assert admin.delete("/admin/labs/x", headers=auth()).status_code == 404
    assert admin.delete("/admin/labs/0", headers=auth()).status_code == 202
    assert admin.get("/labs").json()["labs"] == []
    # the session is untouched, only its lab is gone
    assert admin.get(f"/session/{a}").json()["status"] == "active"
    assert admin.get("/lab/devices", session=a).status_code == 404
    assert "Admin force-destroy of slot 0" in admin.log()
    assert admin.acquire(a).status_code == 200


def test_bad_token_file(make_server, tmp_path):
    f = tmp_path / "empty"
    f.write_text("\n")
    s = make_server(args=["--admin-token-file", str(f)], start=False)
    s.spawn()
    assert s.proc.wait(30) == 1
    assert "--admin-token-file: the token file" in s.log() and "is empty" in s.log()
    s.proc = None
