"""The status page on a server with --token-file: it asks for the access token, then reads
the views and the event stream with it (fetch() with an Authorization header: EventSource
cannot send one), keeping it in the tab only.

The page's own files (/ui, /ui/*) hold no data and open without the token (a browser cannot
add a header to a navigation); everything the page reads it must authorise itself."""
import pytest
import requests

from conftest import row, token_server

ACCESS = "acc-93b1e6f0c2d4"


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    """One server for the module: the tests only add sessions and look for their own."""
    s = token_server(tmp_path_factory.mktemp("locked"), "--token-file", ACCESS)
    yield s
    s.stop()


def auth():
    return {"Authorization": f"Bearer {ACCESS}"}


def test_the_page_files_open_without_the_token_and_nothing_else_does(locked):
    for path in ("/ui", "/ui/app.js", "/ui/app.css"):
        assert requests.get(locked.url + path, timeout=30).status_code == 200, path
    for path in ("/sessions", "/labs", "/host", "/events", "/netlab-ops", "/metrics", "/uix"):
        assert requests.get(locked.url + path, timeout=30).status_code == 401, path
    r = requests.get(locked.url + "/", headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code == 401


def test_the_page_asks_for_the_access_token(locked, page):
    r = locked.post("/session", json={"label": "first"}, headers=auth())
    assert r.status_code == 201
    page.goto(locked.url + "/ui")
    page.wait('#conn[data-state="unauthorized"]')
    page.wait("#access-token")
    assert page.count("#sessions tbody tr") == 0
    page.fill("#access-token", ACCESS)
    page.click('#access-form button[type="submit"]')
    page.wait('#conn[data-state="live"]')
    page.wait(row("sessions", "handle", r.json()["handle"]))
    page.wait("#access", state="hidden")
    # the stream carries the header: a session created now shows up
    r = locked.post("/session", json={"label": "second"}, headers=auth())
    page.wait(row("sessions", "handle", r.json()["handle"]))
    reads = [r for r in page.log()["requests"]
             if r["url"].split("/")[-1] in ("events", "sessions", "labs", "host", "netlab-ops")]
    authorised = [r for r in reads if r["headers"].get("authorization") == "Bearer " + ACCESS]
    assert {r["url"].split("/")[-1] for r in authorised} == {"events", "sessions", "labs",
                                                             "host", "netlab-ops"}
    assert not any(ACCESS in r["url"] for r in page.log()["requests"])
    assert page.eval("() => document.cookie") == ""
    assert ACCESS not in page.content()


def test_the_access_token_in_the_fragment(locked, page):
    r = locked.post("/session", json={}, headers=auth())
    page.goto(locked.url + "/ui#token=" + ACCESS)
    page.wait('#conn[data-state="live"]')
    page.wait(row("sessions", "handle", r.json()["handle"]))
    assert page.url() == locked.url + "/ui"


def test_a_wrong_access_token_is_refused(locked, page):
    page.goto(locked.url + "/ui#token=wrong")
    page.wait('#conn[data-state="unauthorized"]')
    page.wait("#message.error", text="refused the access token")
