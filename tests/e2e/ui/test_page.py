"""The status page in headless Chromium against the real server: it shows what the server
holds and follows it live through GET /events, without a reload; it never shows a session
id; client text is rendered as text."""
import os
import re
import shutil

import requests

from conftest import artifact_dir, new_session, row
from labd_harness import free_port

TOPOLOGY = b"provider: clab\ndefaults.device: frr\nnodes: [r1, r2, r3]\nlinks: [r1-r2, r2-r3]\n"
DURATION = re.compile(r"^\d+(\.\d)? s$|^\d+ min \d\d s$|^\d+ h \d\d min$")


def keep_screenshot(page, name):
    """The artifact in the build tree; RL_UI_SCREENSHOT=PATH also writes it there (that is
    how docs/status-page.png is made, see docs/operations.md)."""
    path = artifact_dir() / name
    page.screenshot(path)
    assert path.stat().st_size > 10_000
    extra = os.environ.get("RL_UI_SCREENSHOT")
    if extra and name == "status-page.png":
        shutil.copyfile(path, extra)
    return path


def test_page_follows_the_server_live(server, page):
    a, ha = new_session(server, label="ci: frr-evpn nightly #4711")
    page.goto(server.url + "/ui")
    page.wait(row("sessions", "handle", ha) + '[data-state="active"]')
    page.wait('#conn[data-state="live"]')
    page.eval("() => { window.sameDocument = 'yes'; }")

    # a session that waits: it appears, with its position and label
    b, hb = new_session(server, label="alice: ospf area design")
    page.wait(row("sessions", "handle", hb) + '[data-state="waiting"]')
    assert page.texts(row("sessions", "handle", hb) + " td.label") == ["alice: ospf area design"]
    assert page.texts(row("sessions", "handle", hb) + " td:nth-child(3)") == ["1"]

    # the holder ends: the waiting one is promoted
    assert server.delete(f"/session/{a}").status_code == 204
    page.wait(row("sessions", "handle", ha), state="detached")
    page.wait(row("sessions", "handle", hb) + '[data-state="active"]')

    # its lab comes up: slot, topology, holder, devices with their management addresses
    assert server.acquire(b, topology=TOPOLOGY, name="evpn-fabric.yml").status_code == 200
    lab = row("labs", "slot", 0)
    page.wait(lab + '[data-state="up"]')
    for name, addr in (("r1", "192.168.121.101"), ("r2", "192.168.121.102"),
                       ("r3", "192.168.121.103")):
        page.wait(f'{lab} li[data-device="{name}"]', text=addr)
    view = server.get("/labs").json()["labs"][0]
    assert page.texts(lab + " td.handle") == [hb]
    assert page.texts(lab + " td:nth-child(3)") == ["evpn-fabric.yml"]
    assert page.texts(lab + " td.hash") == [view["hash"][:12]]
    assert page.eval("(s) => document.querySelector(s).title", lab + " td.hash") == view["hash"]
    assert page.texts(row("sessions", "handle", hb) + " td:nth-child(8)")[0].startswith("slot 0")

    # one hold was observed: a session queued now gets an estimated wait
    c, hc = new_session(server, label="bob: bgp-ls debugging", priority=10)
    page.wait(row("sessions", "handle", hc) + '[data-state="waiting"]')
    wait_cell = page.texts(row("sessions", "handle", hc) + " td:nth-child(9)")[0]
    assert DURATION.match(wait_cell), wait_cell
    d, hd = new_session(server)
    page.wait(row("sessions", "handle", hd))

    # the last netlab operations, newest first, with durations and results
    page.wait("#ops tbody tr", text="netlab up evpn-fabric.yml")
    ops = page.texts("#ops tbody tr td.cmd code")
    assert ops[0].startswith("netlab inspect") and ops[1] == "netlab up evpn-fabric.yml"
    up = '#ops tbody tr:has-text("netlab up evpn-fabric.yml")'
    assert page.texts(up + " .badge") == ["ok"]
    assert DURATION.match(page.texts(up + " td:nth-child(3)")[0])

    # the server: version, mode, slots
    host = server.get("/host").json()
    assert page.texts("#version") == [host["version"]]
    assert page.texts("#host-name") == [host["name"]]
    assert page.eval("() => document.getElementById('mode').dataset.mode") == "serving"
    assert page.texts("#slots") == ["1 (0 free)"]

    # all of it live: the same document, one load, one event stream, no polling
    assert page.eval("() => window.sameDocument") == "yes"
    log = page.log()
    assert log["navigations"] == 1
    assert [r["url"] for r in log["requests"] if r["url"].endswith("/events")] == \
        [server.url + "/events"]
    # session ids are credentials: none reaches the page (DOM, attributes, storage, requests)
    html = page.content()
    storage = page.eval("() => JSON.stringify(Object.assign({}, sessionStorage))")
    for sid in (a, b, c, d):
        assert sid not in html and sid[:8] not in html and sid not in storage
        assert not any(sid in r["url"] for r in log["requests"])
    assert all(h in html for h in (hb, hc, hd))
    keep_screenshot(page, "status-page.png")


def test_labels_are_rendered_as_text(server, page):
    label = ('<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
             '<b>bold</b> &amp; "quoted" \'single\'')
    _, h = new_session(server, label=label)
    page.goto(server.url + "/ui")
    page.wait(row("sessions", "handle", h))
    assert page.texts(row("sessions", "handle", h) + " td.label") == [label]
    assert page.count("img") == 0 and page.count("b") == 0 and page.count("script") == 1
    assert page.eval("() => window.pwned === undefined")
    # and one that arrives while the page is open
    _, h2 = new_session(server, label=label)
    page.wait(row("sessions", "handle", h2))
    assert page.count("img") == 0 and page.eval("() => window.pwned === undefined")


def test_a_failed_operation_shows_the_tail_of_netlabs_output(server, page):
    page.goto(server.url + "/ui")
    page.wait('#conn[data-state="live"]')
    sid, _ = new_session(server)
    server.knobs(fail="start")
    assert server.acquire(sid).status_code == 500
    failed = [o for o in server.get("/netlab-ops").json()["operations"]
              if o["command"] == "netlab up topology.yml"]
    assert len(failed) == 1 and failed[0]["ok"] is False and failed[0]["stderr_tail"]
    up = '#ops tbody tr[data-ok="false"]:has-text("netlab up topology.yml")'
    page.wait(up)
    assert page.texts(up + " .badge") == ["failed"]
    assert page.texts(up + " td:nth-child(4) .sub") == [" " + failed[0]["result"]]
    page.click(up + " details.tail summary")
    page.wait(up + " details.tail pre")
    assert page.texts(up + " details.tail pre") == [failed[0]["stderr_tail"]]
    # what the operator opened stays open when the next event redraws the tables
    _, h = new_session(server)
    page.wait(row("sessions", "handle", h))
    assert page.count(up + " details.tail[open]") == 1
    keep_screenshot(page, "status-page-failure.png")


def test_the_page_reconnects_after_a_restart(make_server, page):
    server = make_server(start=False)
    server.fixed_port = free_port()
    server.start(timeout=60)
    page.goto(server.url + "/ui")
    page.wait('#conn[data-state="live"]')
    server.stop()
    page.wait('#conn[data-state="offline"]')
    server.http = requests.Session()
    server.start(timeout=60)
    # the page connects again by itself and reads what the new process holds
    _, h = new_session(server, label="after the restart")
    page.wait(row("sessions", "handle", h))
    page.wait('#conn[data-state="live"]')
    log = page.log()
    assert log["navigations"] == 1
    assert len([r for r in log["requests"] if r["url"].endswith("/events")]) >= 2
