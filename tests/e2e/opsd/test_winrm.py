"""POST /api/winrm: validation order, the allow-list, exit codes, output, transports
(Basic over http/https, NTLM with MS-WSMV encryption over http) and errors."""

import base64
import os

import pytest

from conftest import PASSWORD, USER, FakeWinRM, free_port, station
from fake_winrm_harness import make_tls_cert


def test_validation_order(make_worker, winrm):
    w = make_worker([station(winrm.port)])
    r = w.post("/api/winrm", {"command": "status"})
    assert r.status_code == 400 and r.json() == {"error": "host and command are required"}
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": ""})
    assert r.json() == {"error": "host and command are required"}
    # allow-list before host existence
    r = w.post("/api/winrm", {"host": "unknown", "command": "format-disk"})
    assert r.status_code == 400 and r.json() == {"error": "command 'format-disk' not allowed"}
    r = w.post("/api/winrm", {"host": "unknown", "command": "status"})
    assert r.status_code == 404 and r.json() == {"error": "host 'unknown' not found in config"}
    # case-sensitive allow-list match
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "STATUS"})
    assert r.status_code == 400
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "args": "--x"})
    assert r.status_code == 400 and r.json() == {"error": "args must be a list"}
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "args": ["a & calc"]})
    assert r.status_code == 400 and "not allowed" in r.json()["error"]
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "port": "x"})
    assert r.status_code == 400 and "port" in r.json()["error"]
    assert winrm.actions() == []  # nothing reached the station


def test_default_allow_list(make_worker, winrm):
    w = make_worker([station(winrm.port)])
    for cmd in ("prepare-session", "release-session", "power", "session", "energy",
                "status-json", "recovery", "account", "service", "wol", "status"):
        r = w.post("/api/winrm", {"host": "unknown", "command": cmd})
        assert r.status_code == 404, cmd  # allowed: the host check comes next
    for cmd in ("shutdown", "cmd", "Status", "status "):
        r = w.post("/api/winrm", {"host": "unknown", "command": cmd})
        assert r.status_code == 400 and r.json() == {"error": "command '%s' not allowed" % cmd}


def test_custom_allow_list(make_worker, winrm):
    w = make_worker([station(winrm.port)], env={"OPS_ALLOWED_COMMANDS": " status , ,hello"})
    winrm.set_script({"default": {"stdout": "hi"}})
    assert w.post("/api/winrm", {"host": "lab-ws-01", "command": "hello"}).status_code == 200
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "power"})
    assert r.status_code == 400 and r.json() == {"error": "command 'power' not allowed"}


def test_exit_codes_output_and_protocol(make_worker, winrm):
    w = make_worker([station(winrm.port)])
    out = "Zeile 1 \u00e4\u00f6\u00fc\r\nline 2\r\n" * 40
    winrm.set_script({"commands": [
        {"regex": r".*LabStation\.exe prepare-session --guard-grace=90", "stdout": out,
         "stderr": "warn\r\n", "exit_code": 0, "chunks": 4, "timeouts": 1},
        {"regex": r".*LabStation\.exe status-json", "stdout": "{}", "exit_code": 1},
        {"regex": r".*LabStation\.exe power shutdown --delay=60", "stderr": "denied",
         "exit_code": 3},
        {"regex": r".*LabStation\.exe session bytes", "stdout_b64":
         base64.b64encode(b"ok\xff\xfeend").decode()},
    ]})
    mark = winrm.mark()
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "prepare-session",
                              "args": ["--guard-grace=90"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["exit_code"] == 0
    # codepage 437 output decoded as UTF-8 with invalid bytes dropped, like the original
    assert body["stdout"].startswith("Zeile 1 ") and body["stdout"].count("line 2") == 40
    assert body["stderr"] == "warn\r\n" and body["duration_ms"] >= 0
    actions = winrm.actions(mark)
    assert actions[0:2] == ["Create", "Command"] and actions[-2:] == ["Signal", "Delete"]
    assert actions.count("Receive") >= 4  # several chunks and one TimedOut fault
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status-json"})
    assert r.status_code == 200 and r.json()["exit_code"] == 1
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "power",
                              "args": ["shutdown", "--delay=60"]})
    assert r.status_code == 200 and r.json()["exit_code"] == 3 and r.json()["stderr"] == "denied"
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "session", "args": ["bytes"]})
    assert r.json()["stdout"] == "okend"


def test_errors_are_generic_and_secret_free(make_worker, winrm):
    closed = free_port()
    w = make_worker([station(winrm.port), station(closed, name="down"),
                     station(winrm.port, name="kerb", winrm_transport="kerberos")])
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "password": "wrong"})
    assert r.status_code == 500 and r.json() == {"error": "WinRM authentication failed"}
    r = w.post("/api/winrm", {"host": "down", "command": "status"})
    assert r.status_code == 500 and r.json() == {"error": "WinRM connection refused"}
    r = w.post("/api/winrm", {"host": "kerb", "command": "status"})
    assert r.status_code == 500 and r.json() == {"error": "WinRM transport is not supported"}
    # request user/password override the host's
    winrm.set_script({"default": {"stdout": "ok"}})
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "user": USER,
                              "password": PASSWORD})
    assert r.status_code == 200
    log = w.log()
    assert PASSWORD not in log and "wrong" not in log.replace("went wrong", "")
    assert "WinRM authentication failed" in log or "401" in log


def test_command_dropped_is_not_resent(make_worker, winrm):
    """The connection drops after the station received Command: 500 JSON that says so, and
    the station saw Command once (never a silent resend that would run LabStation.exe
    twice); the shell is still deleted."""
    w = make_worker([station(winrm.port)])
    winrm.set_script({"default": {"stdout": "ok"},
                      "inject": [{"action": "Command", "type": "close"}]})
    mark = winrm.mark()
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status"})
    assert r.status_code == 500
    assert r.json() == {"error": "WinRM connection closed after the command was sent; it was "
                                 "not sent again (it may have run)"}
    acts = winrm.actions(mark)
    assert acts.count("Command") == 1, acts
    assert acts == ["Create", "Command", "Delete"], acts


@pytest.fixture(scope="module")
def fake_ntlm(tmp_path_factory):
    f = FakeWinRM(str(tmp_path_factory.mktemp("fake-ntlm")), auth="ntlm")
    yield f
    f.stop()


def test_ntlm_with_message_encryption(make_worker, fake_ntlm):
    fake_ntlm.set_script({"commands": [{"regex": r".*LabStation\.exe status", "stdout": "sealed"}]})
    w = make_worker([station(fake_ntlm.port, winrm_transport="ntlm",
                             winrm_user="env:WINRM_USER_NTLM")],
                    env={"WINRM_USER_NTLM": "WORKGROUP\\" + USER})
    mark = fake_ntlm.mark()
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status"})
    assert r.status_code == 200, r.text + w.log()[-2000:]
    assert r.json()["stdout"] == "sealed"
    soap = [e for e in fake_ntlm.entries(mark) if e.get("action") not in (None, "auth")]
    assert soap and all(e.get("encrypted") for e in soap)
    # the transport is never silently downgraded: basic is refused by an NTLM-only host
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "transport": "basic"})
    assert r.status_code == 500


@pytest.fixture(scope="module")
def fake_tls(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("fake-tls"))
    cert = make_tls_cert(d)
    f = FakeWinRM(os.path.join(d, "fake"), auth="basic", tls=cert)
    yield f, cert
    f.stop()


def test_basic_over_https(make_worker, fake_tls):
    fake, cert = fake_tls
    fake.set_script({"default": {"stdout": "tls"}})
    w = make_worker([station(fake.port)], env={"OPS_WINRM_CA_FILE": cert[0]})
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "use_ssl": True})
    assert r.status_code == 200 and r.json()["stdout"] == "tls"
    # the ssl transport means Basic over https
    w2 = make_worker([station(fake.port, winrm_transport="ssl")], env={"OPS_WINRM_CA_FILE": cert[0]})
    assert w2.post("/api/winrm", {"host": "lab-ws-01", "command": "status"}).status_code == 200
    # without the CA the certificate is not trusted
    w3 = make_worker([station(fake.port)])
    r = w3.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "use_ssl": True})
    assert r.status_code == 500 and r.json() == {"error": "WinRM protocol or TLS error"}
