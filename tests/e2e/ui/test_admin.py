"""Admin buttons on the status page: absent without the admin token, present and working
with it (drain/undrain, end a session by handle, force-destroy a slot's lab); the token only
ever travels in an Authorization header."""
import pytest

from conftest import new_session, row, token_server

TOKEN = "adm-4f0c9e7b1d2a"


def auth():
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def shared_admin_server(tmp_path_factory):
    s = token_server(tmp_path_factory.mktemp("admin"), "--admin-token-file", TOKEN)
    yield s
    s.stop()


@pytest.fixture
def admin_server(shared_admin_server):
    """One server for the module (a start costs seconds on a loaded box), left as found
    after every test: serving, no session, no lab."""
    s = shared_admin_server
    yield s
    assert s.post("/admin/undrain", headers=auth()).status_code == 204
    for session in s.get("/sessions").json()["sessions"]:
        assert s.delete(f"/admin/sessions/{session['handle']}", headers=auth()).status_code == 204
    assert s.get("/sessions").json()["sessions"] == []
    assert s.get("/labs").json()["labs"] == []


def test_no_admin_buttons_without_the_token(admin_server, page):
    a, ha = new_session(admin_server, label="holder")
    assert admin_server.acquire(a).status_code == 200
    page.goto(admin_server.url + "/ui")
    page.wait(row("sessions", "handle", ha))
    page.wait(row("labs", "slot", 0) + '[data-state="up"]')
    assert page.count("button[data-admin]") == 0
    assert page.count("#admin-bar > *") == 0
    # and none after an update either
    _, hb = new_session(admin_server)
    page.wait(row("sessions", "handle", hb))
    assert page.count("button[data-admin]") == 0


def test_admin_actions_with_the_token(admin_server, page):
    server = admin_server
    a, ha = new_session(server, label="holder")
    assert server.acquire(a).status_code == 200
    b, hb = new_session(server, label="queued")
    page.goto(server.url + "/ui#admin=" + TOKEN)
    page.wait(row("sessions", "handle", hb))
    # the fragment is taken and dropped from the address bar
    assert page.url() == server.url + "/ui"
    assert page.count(row("sessions", "handle", ha) + ' button[data-admin="End"]') == 1
    assert page.count(row("labs", "slot", 0) + ' button[data-admin="Destroy"]') == 1

    # drain: the page shows the mode; undrain: back
    page.click("#drain")
    page.wait('#mode[data-mode="draining"]')
    page.wait("#undrain")
    assert server.get("/host").json()["draining"] is True
    page.click("#undrain")
    page.wait('#mode[data-mode="serving"]')
    page.wait("#drain")
    assert server.get("/host").json()["draining"] is False

    # end a session by its handle (after a confirmation)
    page.click(row("sessions", "handle", hb) + ' button[data-admin="End"]')
    page.wait(row("sessions", "handle", hb), state="detached")
    assert server.get(f"/session/{b}").json() == {"detail": "Session not found",
                                                    "reason": "admin"}

    # force-destroy slot 0's lab; its holder keeps the session
    page.click(row("labs", "slot", 0) + ' button[data-admin="Destroy"]')
    page.wait(row("labs", "slot", 0), state="detached")
    assert server.get("/labs").json()["labs"] == []
    assert server.get(f"/session/{a}").json()["status"] == "active"

    log = page.log()
    assert len(log["dialogs"]) == 2 and hb in log["dialogs"][0] and "slot 0" in log["dialogs"][1]
    admin = [r for r in log["requests"] if "/admin/" in r["url"]]
    assert [(r["method"], r["url"][len(server.url):]) for r in admin] == [
        ("POST", "/admin/drain"), ("POST", "/admin/undrain"),
        ("DELETE", f"/admin/sessions/{hb}"), ("DELETE", "/admin/labs/0")]
    assert all(r["headers"]["authorization"] == "Bearer " + TOKEN for r in admin)
    # never in a URL, a cookie or a read request
    assert not any(TOKEN in r["url"] for r in log["requests"])
    assert all("authorization" not in r["headers"] for r in log["requests"]
               if "/admin/" not in r["url"])
    assert page.eval("() => document.cookie") == ""
    assert TOKEN not in page.content()
    text = server.log()
    assert "Admin drain by 127.0.0.1 (Mozilla/" in text and TOKEN not in text


def test_a_refused_admin_token_hides_the_buttons(admin_server, page):
    _, h = new_session(admin_server)
    page.goto(admin_server.url + "/ui")
    page.wait(row("sessions", "handle", h))
    page.click("#operator summary")
    page.fill("#admin-token", "not-the-token")
    page.click('#admin-form button[type="submit"]')
    page.click("#drain")
    page.wait("#message.error", text="refused the admin token")
    assert page.count("button[data-admin]") == 0
    assert admin_server.get("/host").json()["draining"] is False
    assert page.eval("() => sessionStorage.length") == 0


def test_admin_actions_off_on_the_server(server, page):
    _, h = new_session(server)
    page.goto(server.url + "/ui#admin=" + TOKEN)
    page.click("#drain")
    page.wait("#message.error", text="Admin actions are off")
    assert page.count("button[data-admin]") == 0
    assert server.get("/host").json()["draining"] is False
    page.wait(row("sessions", "handle", h))
