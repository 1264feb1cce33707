"""The page's routes over plain HTTP: GET /ui and its files (the bytes of src/labd/ui, with
their content types, an ETag and no-cache, 304 on a match), GET / for a browser that asks for
HTML, and the original's 404 for every other request to /."""
import re
import socket

import pytest

from conftest import REPO, Server

UI = REPO / "src" / "labd" / "ui"
BROWSER_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                  "image/webp,image/apng,*/*;q=0.8")
NOT_FOUND = b'{"detail":"Not Found"}'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for these read-only checks."""
    s = Server(tmp_path_factory.mktemp("routes")).start(timeout=60)
    yield s
    s.stop()


def raw(server, request):
    """Send request bytes, return the whole answer (the server closes with Connection: close)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def without_date(answer):
    return re.sub(rb"\r\nDate: [^\r]*", b"", answer)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/*",
                                    "application/json, text/html", "text/html;q=0",
                                    "text/html;q=0.5, application/json",
                                    "text/html;q=bogus"])
def test_root_is_still_404_for_everything_but_a_browser(server, accept):
    header = f"Accept: {accept}\r\n" if accept else ""
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        body = "Content-Length: 0\r\n" if method in ("POST", "PUT", "PATCH") else ""
        got = raw(server, f"{method} / HTTP/1.1\r\nHost: x\r\n{header}{body}"
                          "Connection: close\r\n\r\n".encode())
        # byte for byte what an unknown path gets (the router's 404), as before /ui existed
        ref = raw(server, f"{method} /no-such-path HTTP/1.1\r\nHost: x\r\n{header}{body}"
                          "Connection: close\r\n\r\n".encode())
        assert without_date(got) == without_date(ref), method
        assert got.startswith(b"HTTP/1.1 404 ") and got.endswith(b"\r\n\r\n" + NOT_FOUND)
    r = server.request("HEAD", "/", headers={"Accept": accept} if accept else {})
    assert r.status_code == 404


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "text/html", "application/xhtml+xml",
                                    "application/json;q=0.5, text/html",
                                    "text/html, application/json"])
def test_root_serves_the_page_to_a_browser(server, accept):
    r = server.get("/", headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Vary"] == "Accept"
    assert r.content == (UI / "index.html").read_bytes()
    assert server.request("HEAD", "/", headers={"Accept": accept}).status_code == 200


@pytest.mark.parametrize("path,name,ctype", [
    ("/ui", "index.html", "text/html; charset=utf-8"),
    ("/ui/app.js", "app.js", "text/javascript; charset=utf-8"),
    ("/ui/app.css", "app.css", "text/css; charset=utf-8"),
])
def test_the_files_are_served_as_built_in(server, path, name, ctype):
    r = server.get(path)
    assert r.status_code == 200
    assert r.content == (UI / name).read_bytes()
    assert r.headers["Content-Type"] == ctype
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{16}"', etag)
    for inm in (etag, "W/" + etag, f'"nope", {etag}', "*"):
        again = server.get(path, headers={"If-None-Match": inm})
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert server.get(path, headers={"If-None-Match": '"0000000000000000"'}).status_code == 200
    if name == "index.html":
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_other_paths_under_ui(server):
    for path in ("/ui/nope.js", "/ui/index.html", "/ui/", "/ui/app.js/x"):
        r = server.get(path)
        assert r.status_code == 404 and r.content == NOT_FOUND, path
    r = server.post("/ui")
    assert r.status_code == 405


def test_the_page_never_writes_html():
    """Everything from the server is rendered as text: no HTML sinks in the page's code."""
    code = (UI / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in code, sink
    page = (UI / "index.html").read_text()
    # no external resources: only relative links to the page's own files
    assert not re.search(r'(src|href)="(https?:)?//', page)
