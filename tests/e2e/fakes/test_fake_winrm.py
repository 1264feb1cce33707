"""Checks of the fake WinRM endpoint itself, with an independent client (Debian python3-winrm)
and raw HTTP, so the C client's e2e tests rest on a fake that behaves like Windows."""

import base64
import http.client
import json
import ssl
import uuid
import xml.etree.ElementTree as ET

import gssapi
import pytest

import fake_winrm_harness as fw

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
COMMAND = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
URI_CMD = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
SCRIPT = {
    "commands": [
        {"match": "ipconfig /all", "stdout": "Windows IP Configuration\r\n\r\n   Host Name : LAB-07\r\n"},
        {"match": "chunky", "stdout_b64": base64.b64encode(b"caf\xe9 \x00\xff\r\n" * 50).decode(),
         "stderr": "warning\r\n", "exit_code": 2, "chunks": 3, "timeouts": 1,
         "streams_per_response": 2},
    ],
    "files": {"C:\\LabStation\\heartbeat.json": '{"ok": true, "name": "Ñandú €"}'},
}


def envelope(action, message_id=None, shell=None, body="", drop=()):
    """A request envelope as pywinrm writes it; `drop` omits named header elements."""
    mid = message_id or "uuid:" + str(uuid.uuid4()).upper()
    parts = {
        "To": "<a:To>http://127.0.0.1/wsman</a:To>",
        "ReplyTo": '<a:ReplyTo><a:Address s:mustUnderstand="true">'
                   "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
                   "</a:Address></a:ReplyTo>",
        "MaxEnvelopeSize": '<w:MaxEnvelopeSize s:mustUnderstand="true">153600</w:MaxEnvelopeSize>',
        "MessageID": "<a:MessageID>%s</a:MessageID>" % mid,
        "OperationTimeout": "<w:OperationTimeout>PT20S</w:OperationTimeout>",
        "ResourceURI": '<w:ResourceURI s:mustUnderstand="true">%s</w:ResourceURI>' % URI_CMD,
        "Action": '<a:Action s:mustUnderstand="true">%s</a:Action>' % action,
    }
    if shell:
        parts["Selector"] = ('<w:SelectorSet><w:Selector Name="ShellId">%s</w:Selector>'
                             "</w:SelectorSet>" % shell)
    header = "".join(v for k, v in parts.items() if k not in drop)
    xml = ('<s:Envelope xmlns:s="{s}" xmlns:a="{a}" xmlns:w="{w}" xmlns:rsp="{rsp}">'
           "<s:Header>{h}</s:Header><s:Body>{b}</s:Body></s:Envelope>").format(
               h=header, b=body, **NS)
    return xml.encode(), mid


def basic_headers(password=fw.PASSWORD):
    cred = base64.b64encode(("%s:%s" % (fw.USER, password)).encode()).decode()
    return {"Authorization": "Basic " + cred,
            "Content-Type": "application/soap+xml;charset=UTF-8"}


def post(fake, body, headers=None, method="POST", path="/wsman"):
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=20)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def fault_of(data):
    root = ET.fromstring(data)
    return (root.findtext(".//s:Subcode/s:Value", namespaces=NS),
            root.find(".//f:WSManFault", NS).get("Code"),
            root.findtext("s:Header/a:RelatesTo", namespaces=NS))


# ---- independent client: pywinrm -------------------------------------------------------------

RUN_CMDS = ("r = session.run_cmd('ipconfig', ['/all'])\n"
            "c = session.run_cmd('chunky')\n"
            "print(json.dumps([r.status_code, r.std_out.decode('latin-1'), r.std_err.decode(),"
            " c.status_code, c.std_out.decode('latin-1'), c.std_err.decode()]))\n")


def check_run_cmds(proc):
    assert proc.returncode == 0, proc.stderr
    code, out, err, ccode, cout, cerr = json.loads(proc.stdout)
    assert (code, err) == (0, "")
    assert out == "Windows IP Configuration\r\n\r\n   Host Name : LAB-07\r\n"
    assert ccode == 2
    assert cout.encode("latin-1") == b"caf\xe9 \x00\xff\r\n" * 50
    assert cerr == "warning\r\n"


def soap_entries(fake, since):
    return [e for e in fake.entries(since) if e.get("action") not in (None, "auth")]


def test_pywinrm_basic(fake):
    fake.set_script(SCRIPT)
    mark = fake.mark()
    check_run_cmds(fw.run_pywinrm(fake.url, "basic", RUN_CMDS))
    entries = soap_entries(fake, mark)
    acts = [e["action"] for e in entries]
    assert acts[:3] == ["Create", "Command", "Receive"]
    assert acts[-2:] == ["Signal", "Delete"]
    # chunky: one TimedOut fault, then 4 output pieces (3 stdout chunks + stderr).
    assert sum(1 for e in entries if e.get("fault") == "w:TimedOut") == 1
    assert all(e["auth"] == "basic" and not e["encrypted"] for e in entries)
    assert {e["command"] for e in entries if e["action"] == "Command"} == {"ipconfig /all", "chunky"}


def test_pywinrm_ntlm_message_encryption(fake, openssl_legacy):
    fake.set_script(SCRIPT)
    mark = fake.mark()
    # python-ntlm-auth needs MD4, which OpenSSL 3 keeps in the legacy provider.
    check_run_cmds(fw.run_pywinrm(fake.url, "ntlm", RUN_CMDS,
                                  env_extra={"OPENSSL_CONF": openssl_legacy}))
    entries = fake.entries(mark)
    soap = soap_entries(fake, mark)
    assert any(e.get("action") == "auth" and e["status"] == 200 for e in entries)
    assert soap and all(e["encrypted"] and e["auth"] == "negotiate" and e["user"] == fw.USER
                        for e in soap)
    assert [e["action"] for e in soap][-2:] == ["Signal", "Delete"]


def test_pywinrm_powershell_reads_fake_files(fake):
    """-encodedcommand is decoded and Get-Content served from the fake file system. (Debian's
    pywinrm 0.3 run_ps crashes on any stderr under Python 3, so the command is sent with
    run_cmd exactly as run_ps would, and pywinrm's own CLIXML cleaner is applied.)"""
    fake.set_script(SCRIPT)
    code = ("import base64\n"
            "def ps(script):\n"
            "    b64 = base64.b64encode(script.encode('utf_16_le')).decode('ascii')\n"
            "    return session.run_cmd('powershell -encodedcommand ' + b64)\n"
            "r = ps(\"Get-Content -LiteralPath 'C:\\\\LabStation\\\\heartbeat.json' -Raw -Encoding UTF8\")\n"
            "m = ps(\"Get-Content -LiteralPath 'C:\\\\it''s missing.txt' -Raw -Encoding UTF8\")\n"
            "print(json.dumps([r.status_code, r.std_out.decode('cp437'), m.status_code,"
            " m.std_err.decode(), session._clean_error_msg(m.std_err.decode())]))\n")
    mark = fake.mark()
    proc = fw.run_pywinrm(fake.url, "basic", code)
    assert proc.returncode == 0, proc.stderr
    code, out, mcode, raw, clean = json.loads(proc.stdout)
    # Codepage 437 (pywinrm's default) has Ñ and ú but no €: replaced like a console would.
    assert (code, out) == (0, '{"ok": true, "name": "Ñandú ?"}\r\n')
    assert mcode == 1
    assert raw.startswith("#< CLIXML\r\n<Objs ")
    assert clean.startswith("Get-Content : Cannot find path 'C:\\it's missing.txt' because it "
                            "does not exist.\nAt line:1 char:1")
    scripts = [e.get("script") for e in fake.entries(mark) if e.get("action") == "Command"]
    assert scripts[0] == "Get-Content -LiteralPath 'C:\\LabStation\\heartbeat.json' -Raw -Encoding UTF8"


def test_pywinrm_over_https(fake_tls, tls, openssl_legacy):
    fake_tls.set_script(SCRIPT)
    for transport in ("ssl", "ntlm"):
        mark = fake_tls.mark()
        check_run_cmds(fw.run_pywinrm(fake_tls.url, transport, RUN_CMDS, ca_file=tls[0],
                                      env_extra={"OPENSSL_CONF": openssl_legacy}))
        soap = soap_entries(fake_tls, mark)
        assert soap and all(e["tls"] and not e["encrypted"] for e in soap)
        assert {e["auth"] for e in soap} == {"basic" if transport == "ssl" else "negotiate"}


# ---- strictness, with raw HTTP -----------------------------------------------------------------

def test_only_post_wsman(fake):
    resp, _ = post(fake, None, method="GET")
    assert resp.status == 405
    resp, _ = post(fake, b"x", basic_headers(), path="/other")
    assert resp.status == 404


def test_unauthenticated_gets_windows_challenges(fake):
    body, _ = envelope(CREATE)
    resp, data = post(fake, body, {"Content-Type": "application/soap+xml;charset=UTF-8"})
    assert resp.status == 401 and data == b""
    assert resp.headers.get_all("WWW-Authenticate") == ["Negotiate", "Kerberos",
                                                        'Basic realm="WSMAN"']
    assert resp.headers["Server"] == "Microsoft-HTTPAPI/2.0"
    resp, _ = post(fake, body, basic_headers("wrong"))
    assert resp.status == 401


def test_request_validation(fake):
    hdrs = basic_headers()
    body, _ = envelope(CREATE)
    resp, _ = post(fake, body, dict(hdrs, **{"Content-Type": "text/xml"}))
    assert resp.status == 415

    resp, data = post(fake, b"<s:Envelope><broken", hdrs)
    assert resp.status == 500
    assert fault_of(data) == ("w:SchemaValidationError", "2150858817", None)

    for missing in ("OperationTimeout", "MaxEnvelopeSize", "MessageID", "Action", "ReplyTo"):
        body, mid = envelope(CREATE, drop=(missing,))
        resp, data = post(fake, body, hdrs)
        assert resp.status == 500, missing
        sub, code, rel = fault_of(data)
        assert sub == "w:SchemaValidationError"
        assert rel == (None if missing == "MessageID" else mid)
        assert missing in ET.fromstring(data).findtext(".//s:Reason/s:Text", namespaces=NS)

    body, mid = envelope("http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate")
    resp, data = post(fake, body, hdrs)
    assert (resp.status, fault_of(data)[0], fault_of(data)[2]) == (500, "a:ActionNotSupported", mid)

    body, _ = envelope(CREATE, drop=("ResourceURI",))
    resp, data = post(fake, body, hdrs)
    assert fault_of(data)[0] == "w:DestinationUnreachable"

    for action in (COMMAND, "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"):
        body, _ = envelope(action, shell="NO-SUCH-SHELL",
                           body="<rsp:CommandLine><rsp:Command>x</rsp:Command></rsp:CommandLine>")
        resp, data = post(fake, body, hdrs)
        assert resp.status == 500
        assert fault_of(data)[:2] == ("w:InvalidSelectors", "2150858843")


def test_create_reply_shape(fake):
    body, mid = envelope(CREATE, body="<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
                                      "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                                      "</rsp:Shell>")
    resp, data = post(fake, body, basic_headers())
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/soap+xml;charset=UTF-8"
    root = ET.fromstring(data)
    assert root.findtext("s:Header/a:RelatesTo", namespaces=NS) == mid
    assert root.findtext("s:Header/a:Action", namespaces=NS) == CREATE + "Response"
    assert root.findtext("s:Header/a:MessageID", namespaces=NS) not in (None, mid)
    sel = root.findtext(".//x:ResourceCreated//w:Selector[@Name='ShellId']", namespaces=NS)
    assert sel and sel == root.findtext(".//rsp:Shell/rsp:ShellId", namespaces=NS)
    # Clean up the shell again.
    body, _ = envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", shell=sel)
    assert post(fake, body, basic_headers())[0].status == 200


def test_ntlm_refuses_unencrypted_soap(fake):
    """AllowUnencrypted=false: after a good NTLM handshake a plain body is refused."""
    ntlm = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
    name = gssapi.Name(fw.USER, name_type=gssapi.NameType.user)
    creds = gssapi.raw.acquire_cred_with_password(name, fw.PASSWORD.encode(), usage="initiate",
                                                  mechs=[ntlm]).creds
    ctx = gssapi.SecurityContext(
        name=gssapi.Name("HTTP@127.0.0.1", name_type=gssapi.NameType.hostbased_service),
        creds=creds, mech=ntlm, usage="initiate")
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=20)
    ct = {"Content-Type": "application/soap+xml;charset=UTF-8"}
    token = ctx.step()
    conn.request("POST", "/wsman", body=b"",
                 headers=dict(ct, Authorization="Negotiate " + base64.b64encode(token).decode()))
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 401
    challenge = resp.headers["WWW-Authenticate"].split(" ", 1)[1]
    token = ctx.step(base64.b64decode(challenge))
    conn.request("POST", "/wsman", body=b"",
                 headers=dict(ct, Authorization="Negotiate " + base64.b64encode(token).decode()))
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200
    mark = fake.mark()
    body, _ = envelope(CREATE)
    conn.request("POST", "/wsman", body=body, headers=ct)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 401
    assert "AllowUnencrypted=false" in fake.entries(mark)[-1]["note"]


def test_injected_close_and_password_never_logged(fake):
    fake.set_script({"inject": [{"action": "Create", "type": "close"}]})
    body, _ = envelope(CREATE)
    with pytest.raises(http.client.RemoteDisconnected):
        post(fake, body, basic_headers())
    fake.set_script({})
    with open(fake.log_path) as f:
        log = f.read()
    assert log and fw.PASSWORD not in log


def test_tls_listener_presents_the_certificate(fake_tls, tls):
    ctx = ssl.create_default_context(cafile=tls[0])
    conn = http.client.HTTPSConnection("127.0.0.1", fake_tls.port, context=ctx, timeout=20)
    conn.request("GET", "/wsman")
    assert conn.getresponse().status == 405
    conn.close()
