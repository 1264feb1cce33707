"""End-to-end tests of the C WinRM client (rl_winrm, via winrm_driver) against the fake."""

import base64
import time

import pytest

import fake_winrm_harness as fw
from driver import run_driver

CHUNKY = b"".join(b"line %04d caf\xe9 \xff\x00\r\n" % i for i in range(400))


def target(fake, transport="basic", *extra, url=None):
    return ["--url", url or fake.url, "--transport", transport, "--user", fw.USER] + list(extra)


def soap(fake, mark):
    """Logged SOAP requests since mark (auth legs and refused requests excluded)."""
    return [e for e in fake.entries(mark) if e.get("action") not in (None, "auth")]


def wait_for_actions(fake, mark, tail, timeout=10):
    """The log's SOAP actions once they end with `tail` (cleanup may lag behind)."""
    deadline = time.monotonic() + timeout
    while True:
        acts = fake.actions(mark)
        if acts[-len(tail):] == list(tail) or time.monotonic() > deadline:
            return acts
        time.sleep(0.1)


def assert_flow(acts, receives_at_least=1):
    assert acts[:2] == ["Create", "Command"], acts
    assert acts[-2:] == ["Signal", "Delete"], acts
    assert set(acts[2:-2]) == {"Receive"} and len(acts) - 4 >= receives_at_least, acts


# ---- transports --------------------------------------------------------------------------------

def test_basic_over_http(fake):
    fake.set_script({"commands": [{"match": "C:\\LabStation\\LabStation.exe prepare-session "
                                            "--guard-grace=90 --user=lab&1",
                                   "stdout": "prepared\r\n"}]})
    mark = fake.mark()
    r = run_driver(*target(fake, "basic"), "--cmd", "C:\\LabStation\\LabStation.exe",
                   "prepare-session", "--guard-grace=90", "--user=lab&1")
    assert r["rc"] == 0 and r["exit_code"] == 0
    assert r.stdout == b"prepared\r\n" and r.stderr == b""
    assert r["cleanup_status"] == 0 and r["duration_ms"] >= 0
    entries = soap(fake, mark)
    assert_flow([e["action"] for e in entries])
    assert all(e["auth"] == "basic" and not e["encrypted"] and not e["tls"] for e in entries)
    assert all(e["max_envelope"] == 153600 and e["operation_timeout"] == 20.0 for e in entries)
    assert entries[0]["codepage"] == 437
    assert entries[-1]["status"] == 200 and entries[-2]["signal"] == "terminate"
    # Connection reuse: one TCP connection for the whole command.
    assert len({e["conn"] for e in entries}) == 1


@pytest.mark.parametrize("transport", ["plaintext", "basic"])
def test_plaintext_alias(fake, transport):
    fake.set_script({"commands": [{"match": "hostname", "stdout": "LAB-07\r\n"}]})
    r = run_driver(*target(fake, transport), "--cmd", "hostname")
    assert r["rc"] == 0 and r.stdout == b"LAB-07\r\n"


def test_ssl_with_ca_file(fake_tls, tls):
    fake_tls.set_script({"commands": [{"match": "hostname", "stdout": "LAB-07\r\n"}]})
    mark = fake_tls.mark()
    r = run_driver(*target(fake_tls, "ssl", "--ca-file", tls[0]), "--cmd", "hostname")
    assert r["rc"] == 0 and r.stdout == b"LAB-07\r\n"
    entries = soap(fake_tls, mark)
    assert_flow([e["action"] for e in entries])
    assert all(e["tls"] and e["auth"] == "basic" and not e["encrypted"] for e in entries)
    # scheme/host/port form, https chosen by the ssl transport
    r = run_driver("--host", "127.0.0.1", "--port", fake_tls.port, "--transport", "ssl",
                   "--user", fw.USER, "--ca-file", tls[0], "--cmd", "hostname")
    assert r["rc"] == 0
    # basic with an https endpoint is Basic over TLS too
    r = run_driver(*target(fake_tls, "basic", "--ca-file", tls[0]), "--cmd", "hostname")
    assert r["rc"] == 0


def test_ssl_verification_failure(fake_tls):
    fake_tls.set_script({"commands": [{"match": "hostname", "stdout": "LAB-07\r\n"}]})
    mark = fake_tls.mark()
    r = run_driver(*target(fake_tls, "ssl"), "--cmd", "hostname")
    assert r["rc"] != 0 and r["errno"] == "EPROTO"
    assert "certificate" in r["error"] and fake_tls.url in r["error"]
    assert soap(fake_tls, mark) == []  # nothing reached the endpoint
    # verify off: works without the CA
    r = run_driver(*target(fake_tls, "ssl", "--insecure"), "--cmd", "hostname")
    assert r["rc"] == 0


def test_ssl_never_downgrades(fake):
    mark = fake.mark()
    r = run_driver(*target(fake, "ssl"), "--cmd", "hostname")
    assert (r["errno"], r["error"]) == ("EINVAL", "WinRM transport 'ssl' requires an https endpoint")
    assert fake.entries(mark) == []


def test_ntlm_over_http_encrypts_every_message(fake):
    fake.set_script({"commands": [{"match": "whoami", "stdout": "lab-07\\labuser\r\n",
                                   "chunks": 1}]})
    mark = fake.mark()
    r = run_driver(*target(fake, "ntlm"), "--cmd", "whoami")
    assert r["rc"] == 0 and r.stdout == b"lab-07\\labuser\r\n"
    entries = fake.entries(mark)
    legs = [e for e in entries if e.get("action") == "auth"]
    assert [e["status"] for e in legs] == [401, 200]  # Negotiate type1 -> challenge, type3 -> ok
    body = soap(fake, mark)
    assert_flow([e["action"] for e in body])
    assert all(e["encrypted"] and e["auth"] == "negotiate" and e["user"] == fw.USER
               and e["status"] == 200 for e in body)
    assert len({e["conn"] for e in entries}) == 1


def test_ntlm_domain_user_forms(fake):
    fake.set_script({"commands": [{"match": "whoami", "stdout": "x\r\n"}]})
    for user in ("WORKGROUP\\labuser", "labuser@WORKGROUP"):
        r = run_driver("--url", fake.url, "--transport", "ntlm", "--user", user, "--cmd", "whoami")
        assert r["rc"] == 0, r.json


def test_ntlm_over_https(fake_tls, tls):
    fake_tls.set_script({"commands": [{"match": "whoami", "stdout": "lab\\labuser\r\n"}]})
    mark = fake_tls.mark()
    r = run_driver(*target(fake_tls, "ntlm", "--ca-file", tls[0]), "--cmd", "whoami")
    assert r["rc"] == 0 and r.stdout == b"lab\\labuser\r\n"
    body = soap(fake_tls, mark)
    assert_flow([e["action"] for e in body])
    assert all(e["tls"] and not e["encrypted"] and e["auth"] == "negotiate" for e in body)


@pytest.mark.parametrize("transport", ["kerberos", "credssp", "certificate", "digest"])
def test_unsupported_transports(fake, transport):
    mark = fake.mark()
    r = run_driver(*target(fake, transport), "--cmd", "hostname")
    assert r["errno"] == "EOPNOTSUPP"
    assert r["error"] == "WinRM transport '%s' is not supported" % transport
    assert fake.entries(mark) == []  # no silent fallback: nothing was sent


# ---- output -------------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_output_in_chunks_with_binary_bytes(fake, transport):
    err = b"warn \xe9\r\nsecond line\r\n"
    fake.set_script({"commands": [{"match": "dump", "stdout_b64": base64.b64encode(CHUNKY).decode(),
                                   "stderr_b64": base64.b64encode(err).decode(), "exit_code": 1,
                                   "chunks": 5, "streams_per_response": 3}]})
    mark = fake.mark()
    r = run_driver(*target(fake, transport), "--cmd", "dump")
    assert r["rc"] == 0 and r["exit_code"] == 1
    assert r.stdout == CHUNKY and r.stderr == err
    assert_flow(fake.actions(mark), receives_at_least=6)


def test_codepage(fake):
    fake.set_script({"commands": [{"match": "echo", "stdout": "h\u00e9llo \u20ac\r\n"}]})
    mark = fake.mark()
    r = run_driver(*target(fake), "--cmd", "echo")
    assert r.stdout == b"h\x82llo ?\r\n"  # cp437: no euro sign
    r = run_driver(*target(fake, "basic", "--codepage", "65001"), "--cmd", "echo")
    assert r.stdout == "h\u00e9llo \u20ac\r\n".encode()
    creates = [e["codepage"] for e in soap(fake, mark) if e["action"] == "Create"]
    assert creates == [437, 65001]


@pytest.mark.parametrize("code", [0, 1, 2, 3, -1073741819, 4294967295])
def test_exit_codes(fake, code):
    fake.set_script({"commands": [{"match": "exit", "exit_code": code}]})
    r = run_driver(*target(fake), "--cmd", "exit")
    assert r["rc"] == 0 and r["exit_code"] == code


def test_output_cap(fake):
    big = b"x" * (3 * 1024 * 1024)
    fake.set_script({"commands": [{"match": "big", "stdout_b64": base64.b64encode(big).decode()}]})
    mark = fake.mark()
    r = run_driver(*target(fake, "basic", "--max-output", 1024 * 1024), "--cmd", "big")
    assert r["errno"] == "E2BIG"
    assert r["error"] == "WinRM command output exceeds the limit of 1048576 bytes"
    acts = fake.actions(mark)
    assert acts[-2:] == ["Signal", "Delete"]
    assert acts.count("Receive") < 3 * 1024 * 1024 // (100 * 1024)  # stopped early
    # The same output fits a larger cap.
    r = run_driver(*target(fake, "basic", "--max-output", 4 * 1024 * 1024), "--cmd", "big")
    assert r["rc"] == 0 and r.stdout == big


# ---- the Receive loop ----------------------------------------------------------------------------

def test_timed_out_faults_are_retried(fake):
    fake.set_script({"commands": [{"match": "slowish", "stdout": "done\r\n", "timeouts": 3}]})
    mark = fake.mark()
    r = run_driver(*target(fake, "ntlm"), "--cmd", "slowish")
    assert r["rc"] == 0 and r.stdout == b"done\r\n"
    entries = soap(fake, mark)
    assert [e.get("fault") for e in entries if e["action"] == "Receive"] == \
        ["w:TimedOut"] * 3 + [None]
    assert_flow([e["action"] for e in entries], receives_at_least=4)


def test_operation_timeout_elapses_server_side(fake):
    """A command running longer than OperationTimeout: the fake answers w:TimedOut like
    Windows, and the client keeps asking until Done."""
    fake.set_script({"commands": [{"match": "long", "stdout": "ok\r\n", "delay": 2.5}]})
    mark = fake.mark()
    r = run_driver(*target(fake, "basic", "--op-timeout", 1000, "--read-timeout", 3000),
                   "--cmd", "long")
    assert r["rc"] == 0 and r.stdout == b"ok\r\n" and r["duration_ms"] >= 2400
    entries = soap(fake, mark)
    assert entries[0]["operation_timeout"] == 1.0
    assert sum(1 for e in entries if e.get("fault") == "w:TimedOut") >= 2


def test_soap_fault_mid_command_still_cleans_up(fake):
    fake.set_script({"commands": [{"match": "crash", "stdout": "a" * 10 + "b" * 10, "chunks": 2,
                                   "fault_after_chunks": {"after": 1, "subcode": "w:InternalError",
                                                          "code": 2150858770,
                                                          "reason": "The shell died."}}]})
    mark = fake.mark()
    r = run_driver(*target(fake, "ntlm"), "--cmd", "crash")
    assert r["errno"] == "EREMOTEIO"
    assert r["error"] == ("WinRM Receive failed: SOAP fault w:InternalError (WSManFault "
                          "2150858770): The shell died.")
    entries = soap(fake, mark)
    acts = [e["action"] for e in entries]
    assert acts == ["Create", "Command", "Receive", "Receive", "Signal", "Delete"]
    assert entries[3]["fault"] == "w:InternalError"
    assert all(e["status"] == 200 for e in entries[-2:])
    shell = entries[0]["shell"]
    assert entries[-1]["shell"] == shell and entries[-2]["command_id"] == entries[1]["command_id"]


def test_fault_on_command_deletes_shell_without_signal(fake):
    fake.set_script({"inject": [{"action": "Command", "type": "fault", "subcode": "w:QuotaLimit",
                                 "code": 2150859173, "reason": "too many"}]})
    mark = fake.mark()
    r = run_driver(*target(fake), "--cmd", "anything")
    assert r["errno"] == "EREMOTEIO" and "w:QuotaLimit" in r["error"] and "too many" in r["error"]
    assert fake.actions(mark) == ["Create", "Command", "Delete"]


def test_http_500_without_fault_body(fake):
    fake.set_script({"inject": [{"action": "Command", "type": "http500"}]})
    mark = fake.mark()
    r = run_driver(*target(fake), "--cmd", "anything")
    assert r["errno"] == "EREMOTEIO" and "HTTP 500" in r["error"]
    assert fake.actions(mark) == ["Create", "Command", "Delete"]


def test_relates_to_mismatch_is_rejected(fake):
    fake.set_script({"commands": [{"match": "x", "stdout": "y"}],
                     "inject": [{"action": "Receive", "type": "relates_to_mismatch"}]})
    mark = fake.mark()
    r = run_driver(*target(fake), "--cmd", "x")
    assert r["errno"] == "EPROTO" and "RelatesTo" in r["error"]
    assert fake.actions(mark)[-2:] == ["Signal", "Delete"]


def test_garbage_response(fake):
    fake.set_script({"inject": [{"action": "Create", "type": "garbage", "body": "<html>oops"}]})
    r = run_driver(*target(fake), "--cmd", "x")
    assert r["errno"] == "EPROTO" and "malformed XML" in r["error"]


@pytest.mark.parametrize("shape", ["selector", "shell"])
def test_shell_id_shapes(tmp_path_factory, shape):
    f = fw.FakeWinRM(str(tmp_path_factory.mktemp("shape-" + shape)), auth="basic",
                     shell_id_shape=shape,
                     script={"commands": [{"match": "hostname", "stdout": "LAB\r\n"}]})
    try:
        r = run_driver(*target(f), "--cmd", "hostname")
        assert r["rc"] == 0 and r.stdout == b"LAB\r\n"
        assert_flow(f.actions())
    finally:
        f.stop()


# ---- authentication and connection failures -------------------------------------------------------

@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_wrong_password(fake, transport):
    mark = fake.mark()
    r = run_driver(*target(fake, transport), "--cmd", "hostname", password="not-the-password")
    assert r["errno"] == "EACCES"
    assert r["error"] == "WinRM authentication failed (HTTP 401)"
    assert soap(fake, mark) == []


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_401_mid_session(fake, transport):
    fake.set_script({"commands": [{"match": "x", "stdout": "12345678", "chunks": 4}],
                     "inject": [{"action": "Receive", "nth": 2, "type": "http401"}]})
    mark = fake.mark()
    r = run_driver(*target(fake, transport), "--cmd", "x")
    assert r["errno"] == "EACCES" and r["error"] == "WinRM authentication failed (HTTP 401)"
    entries = [e for e in fake.entries(mark) if e.get("action") not in (None, "auth")
               or e.get("inject")]
    acts = [e.get("action") for e in entries]
    assert acts[-2:] == ["Signal", "Delete"], acts
    # The cleanup still got through (NTLM re-authenticates first).
    assert [e["status"] for e in entries[-2:]] == [200, 200]


def test_connection_refused(free_port):
    r = run_driver("--host", "127.0.0.1", "--port", free_port, "--transport", "basic",
                   "--user", fw.USER, "--cmd", "hostname")
    assert r["errno"] == "ECONNREFUSED"
    assert "127.0.0.1:%d" % free_port in r["error"]


def test_read_timeout_against_slow_endpoint(fake):
    fake.set_script({"commands": [{"match": "x", "stdout": "y"}],
                     "inject": [{"action": "Receive", "type": "delay", "seconds": 6}]})
    mark = fake.mark()
    r = run_driver(*target(fake, "basic", "--read-timeout", 1500, "--op-timeout", 1000),
                   "--cmd", "x")
    assert r["errno"] == "ETIMEDOUT" and "timed out" in r["error"].lower()
    assert r.elapsed < 5.5  # 1.5 s read timeout + two short cleanup requests
    acts = wait_for_actions(fake, mark, ["Signal", "Delete"])
    assert "Signal" in acts and "Delete" in acts


def test_overall_deadline(fake):
    fake.set_script({"commands": [{"match": "hang", "stdout": "never", "delay": 60}]})
    mark = fake.mark()
    # The 2 s total deadline governs the command; the read timeout only bounds each cleanup
    # request (Signal, Delete, with a fresh NTLM handshake), so leave those room on a busy CI.
    r = run_driver(*target(fake, "ntlm", "--op-timeout", 500, "--read-timeout", 4000,
                           "--total-timeout", 2000), "--cmd", "hang")
    assert r["errno"] == "ETIMEDOUT"
    assert r["error"] == "WinRM command did not finish within 2000 ms"
    assert 1.9 < r.elapsed < 6
    # The Receive cut off by the deadline is answered (and logged) after the cleanup; the
    # harness orders the log by arrival, so the last requests sent must be Signal, Delete.
    assert wait_for_actions(fake, mark, ["Signal", "Delete"])[-2:] == ["Signal", "Delete"]


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_connection_closed_once_is_survived(fake, transport):
    """libcurl retries a request on a fresh connection when a reused one dies; with NTLM
    the client notices the new connection (401) and authenticates again."""
    fake.set_script({"commands": [{"match": "x", "stdout": "abc", "chunks": 3}],
                     "inject": [{"action": "Receive", "nth": 2, "type": "close"}]})
    mark = fake.mark()
    r = run_driver(*target(fake, transport), "--cmd", "x")
    assert r["rc"] == 0 and r.stdout == b"abc"
    entries = fake.entries(mark)
    conns = {e["conn"] for e in entries}
    # At least the dropped connection and its replacement (libcurl may open one more when
    # it finds a pooled connection dead, depending on timing).
    assert len(conns) >= 2
    if transport == "ntlm":
        # ...and every connection that carried requests was authenticated on its own.
        authed = {e["conn"] for e in entries if e.get("action") == "auth" and e["status"] == 200}
        assert authed == {e["conn"] for e in entries if e.get("action") not in (None, "auth")}


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_command_sent_at_most_once(fake, transport):
    """The connection drops after the station received Command: libcurl would resend it on
    a new connection (its retry of requests on a reused connection), running LabStation.exe
    twice. The call fails instead, Command arrived exactly once, and the shell is deleted."""
    fake.set_script({"commands": [{"match": "x", "stdout": "abc"}],
                     "inject": [{"action": "Command", "type": "close"}]})
    mark = fake.mark()
    r = run_driver(*target(fake, transport), "--cmd", "x")
    assert r["rc"] < 0, r.json
    assert r["errno"] == "ECONNABORTED"
    assert "Command" in r["error"] and "not sent again" in r["error"]
    acts = wait_for_actions(fake, mark, ["Delete"])
    assert acts.count("Command") == 1, acts
    assert acts == ["Create", "Command", "Delete"], acts


def test_receive_may_be_retried(fake):
    """Receive is safe to repeat: a drop during Receive is survived by a resend."""
    fake.set_script({"commands": [{"match": "x", "stdout": "abc"}],
                     "inject": [{"action": "Receive", "type": "close"}]})
    mark = fake.mark()
    r = run_driver(*target(fake), "--cmd", "x")
    assert r["rc"] == 0 and r.stdout == b"abc"
    acts = fake.actions(mark)
    assert acts.count("Command") == 1 and acts.count("Receive") >= 2, acts


def test_connection_closed_for_good(fake):
    fake.set_script({"commands": [{"match": "x", "stdout": "abc", "chunks": 3}],
                     "inject": [{"action": "Receive", "type": "close", "times": -1}]})
    mark = fake.mark()
    r = run_driver(*target(fake), "--cmd", "x")
    assert r["errno"] == "ECONNRESET"
    assert fake.actions(mark)[-2:] == ["Signal", "Delete"]


# ---- PowerShell ---------------------------------------------------------------------------------

def test_powershell_encoded_command_and_clixml(fake):
    script = "Write-Error 'caf\u00e9 \u201cquoted\u201d'; exit 3"
    clixml = ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/'
              'powershell/2004/04"><S S="Error">caf\u00e9 broke_x000D__x000A_</S><S S="Error">'
              '    + CategoryInfo : x_x000D__x000A_</S></Objs>')
    fake.set_script({"commands": [{"ps_regex": "Write-Error .*", "stderr": clixml,
                                   "exit_code": 3}]})
    mark = fake.mark()
    r = run_driver(*target(fake, "ntlm", "--codepage", "65001"), "--ps", script)
    assert r["rc"] == 0 and r["exit_code"] == 3
    assert r.stderr == "caf\u00e9 broke\n    + CategoryInfo : x".encode()
    cmd = [e for e in soap(fake, mark) if e["action"] == "Command"][0]
    assert cmd["script"] == script  # UTF-16LE round trip, non-ASCII included
    assert cmd["command"].startswith("powershell -encodedcommand ")


def test_read_file(fake):
    content = '{"hostname": "LAB-07", "user": "Jos\u00e9", "ok": true}'
    fake.set_script({"files": {"C:\\LabStation\\heartbeat.json": content,
                               "C:\\Lab's Data\\it's.txt": "quoted"}})
    mark = fake.mark()
    r = run_driver(*target(fake, "ntlm"), "--read-file", "C:\\LabStation\\heartbeat.json")
    assert r["rc"] == 0
    assert base64.b64decode(r["content_b64"]) == (content + "\r\n").encode()
    assert [e["codepage"] for e in soap(fake, mark) if e["action"] == "Create"] == [65001]
    r = run_driver(*target(fake), "--read-file", "C:\\Lab's Data\\it's.txt")
    assert base64.b64decode(r["content_b64"]) == b"quoted\r\n"
    r = run_driver(*target(fake), "--read-file", "C:\\nope\\missing.json")
    assert r["errno"] == "EREMOTEIO"
    assert r["error"].startswith("WinRM read failed (1): Get-Content : Cannot find path "
                                 "'C:\\nope\\missing.json' because it does not exist.")


# ---- threads ------------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_concurrent_calls(fake, transport):
    fake.set_script({"commands": [{"match": "par", "stdout_b64": base64.b64encode(CHUNKY).decode(),
                                   "chunks": 4}]})
    mark = fake.mark()
    r = run_driver(*target(fake, transport), "--threads", 8, "--cmd", "par")
    assert len(r.lines) == 8
    assert all(l["rc"] == 0 and base64.b64decode(l["stdout_b64"]) == CHUNKY for l in r.lines)
    entries = soap(fake, mark)
    assert len({e["shell"] for e in entries if e["action"] == "Create"}) == 8
    assert sum(1 for e in entries if e["action"] == "Delete" and e["status"] == 200) == 8
