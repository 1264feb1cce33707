#!/usr/bin/python3
"""Fake WinRM (WS-Management) endpoint for tests and demos.

A strict, scriptable stand-in for a Windows host's WinRM listener: POST /wsman only,
Basic and/or Negotiate(NTLM via GSSAPI + gss-ntlmssp) authentication, MS-WSMV message
encryption (required for NTLM over plain HTTP, like AllowUnencrypted=false), optional TLS,
cmd shells with a scripted command table, and a JSONL request log.

Loopback only. See docs/internals/fake-winrm.md for the CLI and the script format.
"""

import argparse
import base64
import binascii
import hmac
import http.server
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
ANONYMOUS = NS["a"] + "/role/anonymous"
URI_CMD = NS["rsp"] + "/cmd"
ACTIONS = {
    NS["x"] + "/Create": "Create",
    NS["rsp"] + "/Command": "Command",
    NS["rsp"] + "/Receive": "Receive",
    NS["rsp"] + "/Signal": "Signal",
    NS["x"] + "/Delete": "Delete",
}
STATE_RUNNING = NS["rsp"] + "/CommandState/Running"
STATE_DONE = NS["rsp"] + "/CommandState/Done"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
NTLM_OID = "1.3.6.1.4.1.311.2.2.10"
BOUNDARY = b"--Encrypted Boundary\r\n"
BOUNDARY_END = b"--Encrypted Boundary--\r\n"
CRYPT_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CRYPT_CONTENT_TYPE = ('multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"'
                      % CRYPT_PROTOCOL)
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
MAX_BODY = 8 * 1024 * 1024
PS_QUOTES = "'\u2018\u2019\u201a\u201b"

# Faults as Windows reports them: (code, subcode, WSManFault code, message)
FAULTS = {
    "TimedOut": ("s:Receiver", "w:TimedOut", 2150858793,
                 "The WS-Management service cannot complete the operation within the time "
                 "specified in OperationTimeout."),
    "InvalidSelectors": ("s:Sender", "w:InvalidSelectors", 2150858843,
                         "The request for the Windows Remote Shell with ShellId {shell} failed "
                         "because the shell was not found on the server. Possible causes are: "
                         "the specified ShellId is incorrect or the shell no longer exists on "
                         "the server. Provide the correct ShellId or create a new shell and "
                         "retry the operation."),
    "ActionNotSupported": ("s:Sender", "a:ActionNotSupported", 2150858792,
                           "The WS-Management service does not support the specified action."),
    "SchemaValidationError": ("s:Sender", "w:SchemaValidationError", 2150858817,
                              "The SOAP XML in the message does not match the corresponding "
                              "XML schema definition. {detail}"),
    "DestinationUnreachable": ("s:Sender", "w:DestinationUnreachable", 2150858770,
                               "The WS-Management service cannot process the request because "
                               "the resource URI is not valid: {detail}"),
    "InvalidCommandId": ("s:Sender", "w:InvalidSelectors", 2150858843,
                         "The request for the Windows Remote Shell failed because the "
                         "CommandId {detail} is not valid."),
}


class Fault(Exception):
    """A SOAP fault to answer with HTTP 500."""

    def __init__(self, kind, detail="", shell="", subcode=None, code=None, reason=None,
                 soap_code=None):
        tmpl = FAULTS.get(kind, FAULTS["SchemaValidationError"])
        self.soap_code = soap_code or tmpl[0]
        self.subcode = subcode or tmpl[1]
        self.wsman_code = code if code is not None else tmpl[2]
        self.reason = reason or tmpl[3].format(shell=shell, detail=detail).strip()
        super().__init__(self.reason)


# ---- script -------------------------------------------------------------------------------

class Script:
    """The command table, fake file system and injection rules (reloaded when the file changes)."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.data = {}
        self.inject_fired = {}
        self.counters = {}
        self.reload()

    def reload(self):
        """Re-read the file when it changed; injection counters start over."""
        if not self.path:
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self.stamp:
            return
        with open(self.path, encoding="utf-8") as f:
            self.data = json.load(f)
        self.stamp = stamp
        self.inject_fired = {}
        self.counters = {}

    def commands(self):
        return self.data.get("commands", [])

    def files(self):
        return self.data.get("files", {})

    def default(self):
        return self.data.get("default")

    def inject(self):
        return self.data.get("inject", [])


def entry_bytes(entry, key, codepage):
    """stdout/stderr of a script entry as bytes in the shell codepage."""
    if key + "_b64" in entry:
        return base64.b64decode(entry[key + "_b64"])
    text = entry.get(key, "")
    return encode_console(text, codepage)


def encode_console(text, codepage):
    if codepage == 65001:
        return text.encode("utf-8")
    try:
        return text.encode("cp%d" % codepage, errors="replace")
    except LookupError:
        return text.encode("utf-8")


def decode_powershell(cmdline):
    """The script of 'powershell -encodedcommand <b64>', or None."""
    m = re.fullmatch(r"powershell(?:\.exe)?\s+-(?:encodedcommand|enc|e|ec)\s+([A-Za-z0-9+/=]+)\s*",
                     cmdline, re.IGNORECASE)
    if not m:
        return None
    try:
        return base64.b64decode(m.group(1), validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
        return None


GET_CONTENT = re.compile(
    r"Get-Content -LiteralPath [%s]((?:[^%s]|[%s]{2})*)[%s] -Raw -Encoding UTF8"
    % (PS_QUOTES, PS_QUOTES, PS_QUOTES, PS_QUOTES))


def clixml_error(lines):
    """A PowerShell error record serialised the way powershell.exe writes it to stderr."""
    parts = "".join('<S S="Error">%s_x000D__x000A_</S>' % escape(l) for l in lines)
    return ('#< CLIXML\r\n<Objs Version="1.1.0.1" '
            'xmlns="http://schemas.microsoft.com/powershell/2004/04">%s</Objs>' % parts)


def resolve_command(script, cmdline, codepage):
    """Find what a command line does: dict with stdout/stderr bytes, exit code and timing."""
    ps = decode_powershell(cmdline)
    for entry in script.commands():
        hit = False
        if "match" in entry and entry["match"] == cmdline:
            hit = True
        elif "regex" in entry and re.fullmatch(entry["regex"], cmdline, re.DOTALL):
            hit = True
        elif ps is not None and "ps" in entry and entry["ps"] == ps:
            hit = True
        elif ps is not None and "ps_regex" in entry and re.fullmatch(entry["ps_regex"], ps,
                                                                      re.DOTALL):
            hit = True
        if hit:
            return dict(entry, stdout=entry_bytes(entry, "stdout", codepage),
                        stderr=entry_bytes(entry, "stderr", codepage))
    if ps is not None:
        m = GET_CONTENT.fullmatch(ps.strip())
        if m:
            path = re.sub(r"([%s])([%s])" % (PS_QUOTES, PS_QUOTES), r"\1", m.group(1))
            files = script.files()
            found = None
            for name, content in files.items():
                if name.lower() == path.lower():
                    found = content
                    break
            if found is not None:
                return {"stdout": encode_console(found + "\r\n", codepage), "stderr": b"",
                        "exit_code": 0}
            msg = clixml_error([
                "Get-Content : Cannot find path '%s' because it does not exist." % path,
                "At line:1 char:1",
                "+ Get-Content -LiteralPath '%s' -Raw -Encoding UTF8" % path,
                "    + CategoryInfo          : ObjectNotFound: (%s:String) [Get-Content], "
                "ItemNotFoundException" % path,
            ])
            return {"stdout": b"", "stderr": msg.encode("utf-8"), "exit_code": 1}
    default = script.default()
    if default is not None:
        return dict(default, stdout=entry_bytes(default, "stdout", codepage),
                    stderr=entry_bytes(default, "stderr", codepage))
    word = cmdline.split(" ", 1)[0]
    text = ("'%s' is not recognized as an internal or external command,\r\n"
            "operable program or batch file.\r\n" % word)
    return {"stdout": b"", "stderr": encode_console(text, codepage), "exit_code": 1}


class Command:
    """A running scripted command: its output pieces and progress."""

    def __init__(self, shell, line, spec, max_raw):
        self.id = str(uuid.uuid4()).upper()
        self.shell = shell
        self.line = line
        self.started = time.monotonic()
        self.delay = float(spec.get("delay", 0))
        self.timeouts = int(spec.get("timeouts", 0))
        self.exit_code = int(spec.get("exit_code", 0))
        self.fault = spec.get("fault_after_chunks")
        self.per_response = max(1, int(spec.get("streams_per_response", 1)))
        self.done = False
        self.signalled = False
        chunks = max(1, int(spec.get("chunks", 1)))
        self.pieces = []  # list of (stream name, bytes) — one piece per Receive response
        out, err = spec["stdout"], spec["stderr"]
        if out:
            size = max(1, -(-len(out) // chunks))
            for i in range(0, len(out), size):
                self.pieces.extend(split_max(("stdout", out[i:i + size]), max_raw))
        if err:
            self.pieces.extend(split_max(("stderr", err), max_raw))
        self.sent = 0


def split_max(piece, max_raw):
    name, data = piece
    return [(name, data[i:i + max_raw]) for i in range(0, len(data), max_raw)] or [piece]


class Shell:
    def __init__(self, codepage, owner):
        self.id = str(uuid.uuid4()).upper()
        self.codepage = codepage
        self.owner = owner
        self.commands = {}


class State:
    """Everything shared between connections."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.script = Script(args.script)
        self.shells = {}
        self.log_lock = threading.Lock()
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
        self.users = load_users(args.users) if args.users else []
        self.conn_seq = 0
        # Requests are numbered as they arrive; the log is written when each is answered,
        # so an answer a client gave up on (a timed-out Receive) lands after requests that
        # arrived later. "seq" keeps the arrival order, and <log>.seq the count so far, so
        # tests can order the log as the client sent it and mark a point in it.
        self.req_seq = 0
        self.seq_path = args.log + ".seq" if args.log else None

    def log(self, rec):
        if not self.log_file:
            return
        rec["t"] = round(time.time(), 3)
        with self.log_lock:
            self.log_file.write(json.dumps(rec, sort_keys=True) + "\n")
            self.log_file.flush()

    def next_conn(self):
        with self.lock:
            self.conn_seq += 1
            return self.conn_seq

    def arrived(self):
        """Number the request that just arrived; publish the count for the harness."""
        with self.lock:
            self.req_seq += 1
            seq = self.req_seq
            if self.seq_path:
                tmp = self.seq_path + ".tmp"
                with open(tmp, "w") as f:
                    f.write("%d\n" % seq)
                os.rename(tmp, self.seq_path)
            return seq


def load_users(path):
    """DOMAIN:USER:PASSWORD lines (the Heimdal format gssntlmssp(8) reads)."""
    users = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split(":", 2)
            if len(parts) == 3:
                users.append(tuple(parts))
    return users


def check_basic(users, user, password):
    domain, _, name = user.rpartition("\\")
    for dom, usr, pwd in users:
        if usr.lower() == name.lower() and (not domain or domain == "." or
                                            domain.lower() == dom.lower()):
            if hmac.compare_digest(pwd.encode(), password.encode()):
                return True
    return False


# ---- SOAP -----------------------------------------------------------------------------------

def envelope(action, relates_to, body):
    return ('<s:Envelope xml:lang="en-US" xmlns:s="{s}" xmlns:a="{a}" xmlns:x="{x}" '
            'xmlns:w="{w}" xmlns:rsp="{rsp}" xmlns:p="{p}">'
            "<s:Header><a:Action>{action}</a:Action>"
            "<a:MessageID>uuid:{mid}</a:MessageID>"
            "<a:To>{anon}</a:To>"
            "{rel}</s:Header><s:Body>{body}</s:Body></s:Envelope>").format(
                action=escape(action), mid=str(uuid.uuid4()).upper(), anon=ANONYMOUS,
                rel=("<a:RelatesTo>%s</a:RelatesTo>" % escape(relates_to)) if relates_to else "",
                body=body, **NS).encode("utf-8")


def fault_envelope(fault, relates_to):
    body = ('<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{sub}</s:Value>'
            '</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{reason}</s:Text>'
            '</s:Reason><s:Detail><f:WSManFault xmlns:f="{f}" Code="{wcode}" '
            'Machine="fake-winrm"><f:Message>{reason}</f:Message></f:WSManFault></s:Detail>'
            '</s:Fault>').format(code=escape(fault.soap_code), sub=escape(fault.subcode),
                                 reason=escape(fault.reason), f=NS["f"],
                                 wcode=int(fault.wsman_code))
    return envelope(FAULT_ACTION, relates_to, body)


def parse_duration(text):
    m = re.fullmatch(r"PT(\d+(?:\.\d+)?)S", (text or "").strip())
    return float(m.group(1)) if m else None


class Request:
    """A validated WS-Man request."""

    def __init__(self, raw):
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as e:
            raise Fault("SchemaValidationError", detail="Malformed XML: %s" % e)
        if root.tag != "{%s}Envelope" % NS["s"]:
            raise Fault("SchemaValidationError", detail="The root element is not s:Envelope.")
        self.header = root.find("s:Header", NS)
        self.body = root.find("s:Body", NS)
        if self.header is None or self.body is None:
            raise Fault("SchemaValidationError", detail="s:Header and s:Body are required.")
        self.message_id = self.text("a:MessageID")
        if not self.message_id or not re.fullmatch(r"uuid:[0-9A-Fa-f-]{36}", self.message_id):
            self.message_id = None
            raise Fault("SchemaValidationError", detail="a:MessageID is missing or invalid.")
        try:
            self.validate()
        except Fault as f:
            f.relates_to = self.message_id
            raise

    def validate(self):
        self.action_uri = self.text("a:Action")
        if not self.action_uri:
            raise Fault("SchemaValidationError", detail="a:Action is missing.")
        self.action = ACTIONS.get(self.action_uri)
        if not self.text("a:To"):
            raise Fault("SchemaValidationError", detail="a:To is missing.")
        if self.text("a:ReplyTo/a:Address") != ANONYMOUS:
            raise Fault("SchemaValidationError", detail="a:ReplyTo/a:Address must be anonymous.")
        max_env = self.text("w:MaxEnvelopeSize")
        if not max_env or not max_env.isdigit() or int(max_env) < 8192:
            raise Fault("SchemaValidationError", detail="w:MaxEnvelopeSize is missing or invalid.")
        self.max_envelope = int(max_env)
        self.operation_timeout = parse_duration(self.text("w:OperationTimeout"))
        if self.operation_timeout is None:
            raise Fault("SchemaValidationError",
                        detail="w:OperationTimeout is missing or invalid.")
        if self.text("w:ResourceURI") != URI_CMD:
            raise Fault("DestinationUnreachable", detail=str(self.text("w:ResourceURI")))
        self.selectors = {s.get("Name"): (s.text or "").strip()
                          for s in self.header.findall("w:SelectorSet/w:Selector", NS)}
        self.options = {o.get("Name"): (o.text or "").strip()
                        for o in self.header.findall("w:OptionSet/w:Option", NS)}

    def text(self, path):
        el = self.header.find(path, NS)
        return el.text.strip() if el is not None and el.text else None


# ---- HTTP -----------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 120

    def version_string(self):
        return self.server_version

    # connection state
    def setup(self):
        self.state = self.server.state
        self.conn = self.state.next_conn()
        self.gss_ctx = None
        self.ntlm_user = None          # set once the connection is NTLM-authenticated
        self.tls = self.server.ssl_ctx is not None
        # Headers and body go out in separate writes; without NODELAY every response
        # would wait for the client's delayed ACK (~40 ms).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            self.request.settimeout(30)
            self.request = self.server.ssl_ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, fmt, *args):  # keep stderr quiet; the JSONL log is the record
        pass

    def do_GET(self):
        self.seq = self.state.arrived()
        self.simple(405 if self.path == "/wsman" else 404, extra=[("Allow", "POST")])

    do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def simple(self, status, extra=(), body=b"", ctype=None, rec=None):
        self.drain()
        # Log first: a client that reads the request log after getting this answer must
        # find the entry there.
        log = {"seq": self.seq, "conn": self.conn, "method": self.command, "path": self.path, "status": status,
               "tls": self.tls}
        log.update(rec or {})
        self.state.log(log)
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def drain(self):
        if getattr(self, "_drained", False):
            return
        self._drained = True
        n = int(self.headers.get("Content-Length") or 0)
        if 0 < n <= MAX_BODY:
            self.rfile.read(n)

    def unauthorized(self, rec, token=None):
        args = self.state.args
        hdrs = [("WWW-Authenticate", "Negotiate" + (" " + token if token else ""))]
        if not token:
            hdrs.append(("WWW-Authenticate", "Kerberos"))
            if "basic" in args.auth:
                hdrs.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        self.simple(401, extra=hdrs, rec=rec)

    def do_POST(self):
        self.seq = self.state.arrived()
        self._drained = False
        rec = {"auth": None, "encrypted": False}
        if self.path != "/wsman":
            return self.simple(404, rec=rec)
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            return self.simple(411, rec=rec)
        if int(length) > MAX_BODY:
            self.close_connection = True
            self._drained = True
            return self.simple(413, rec=rec)
        raw = self.rfile.read(int(length))
        self._drained = True
        args = self.state.args

        # -- authentication
        authz = self.headers.get("Authorization", "")
        scheme, _, cred = authz.partition(" ")
        scheme = scheme.lower()
        authed_user = None
        if scheme == "basic" and "basic" in args.auth:
            rec["auth"] = "basic"
            try:
                user, _, pwd = base64.b64decode(cred.strip()).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, pwd = "", None
            rec["user"] = user
            if pwd is None or not check_basic(self.state.users, user, pwd):
                rec["note"] = "bad basic credentials"
                return self.unauthorized(rec)
            authed_user = user
        elif scheme == "negotiate" and "ntlm" in args.auth:
            rec["auth"] = "negotiate"
            done, token, note = self.negotiate(cred.strip())
            if not done:
                rec["action"] = "auth"
                if note:
                    rec["note"] = note
                return self.unauthorized(rec, token=token)
            authed_user = self.ntlm_user
            rec["user"] = authed_user
        elif self.ntlm_user is not None:
            rec["auth"] = "negotiate"
            rec["user"] = authed_user = self.ntlm_user
        elif "none" in args.auth:
            authed_user = ""
        else:
            rec["note"] = "no credentials"
            return self.unauthorized(rec)

        if not raw:
            # The empty POST that finishes a handshake (pywinrm does one before encrypting).
            rec["action"] = "auth"
            return self.simple(200, rec=rec)

        # -- body: encrypted or plain
        ctype = self.headers.get("Content-Type", "")
        encrypted = False
        if ctype.lower().startswith("multipart/encrypted"):
            if ('protocol="%s"' % CRYPT_PROTOCOL).lower() not in ctype.lower():
                rec["note"] = "unsupported encryption protocol"
                return self.simple(415, rec=rec)
            if self.gss_ctx is None or self.ntlm_user is None:
                rec["note"] = "encrypted body without an NTLM session"
                return self.unauthorized(rec)
            try:
                raw = self.unseal(raw)
            except Exception as e:  # noqa: BLE001 — any failure is a bad message
                rec["note"] = "cannot decrypt: %s" % e
                return self.simple(400, rec=rec)
            encrypted = True
            rec["encrypted"] = True
        else:
            if not re.match(r"application/soap\+xml\s*;\s*charset=utf-8\s*$", ctype, re.I):
                rec["note"] = "bad Content-Type %r" % ctype
                return self.simple(415, rec=rec)
            if (self.ntlm_user is not None and not self.tls and not args.allow_unencrypted):
                # AllowUnencrypted=false: a plain SOAP body over http is refused.
                rec["note"] = "unencrypted message refused (AllowUnencrypted=false)"
                self.ntlm_user = None
                self.gss_ctx = None
                return self.unauthorized(rec)

        status, reply = self.dispatch(raw, authed_user, rec)
        if status is None:  # injected connection close
            self.close_connection = True
            self.state.log(dict(rec, seq=self.seq, conn=self.conn, method="POST", path=self.path,
                                status=None, tls=self.tls))
            return
        if status == 401:
            self.ntlm_user = None
            self.gss_ctx = None
            return self.unauthorized(rec)
        if reply and encrypted:
            body, ct = self.seal(reply), CRYPT_CONTENT_TYPE
        elif reply:
            body, ct = reply, SOAP_CONTENT_TYPE
        else:
            body, ct = b"", None
        self.simple(status, body=body, ctype=ct, rec=rec)

    # -- NTLM

    def negotiate(self, token_b64):
        """One acceptor step. Returns (complete, token to send back, note)."""
        import gssapi  # only needed in ntlm mode
        try:
            token = base64.b64decode(token_b64, validate=True)
        except binascii.Error:
            return False, None, "bad Negotiate token"
        if token.startswith(b"NTLMSSP\x00\x01\x00\x00\x00") or self.gss_ctx is None:
            self.gss_ctx = gssapi.SecurityContext(creds=self.server.gss_creds, usage="accept")
            self.ntlm_user = None
        try:
            out = self.gss_ctx.step(token)
        except gssapi.exceptions.GSSError as e:
            self.gss_ctx = None
            self.ntlm_user = None
            return False, None, "NTLM rejected: %s" % str(e).splitlines()[0][:200]
        if self.gss_ctx.complete:
            self.ntlm_user = str(self.gss_ctx.initiator_name).rstrip("\x00")
            return True, None, None
        return False, base64.b64encode(out).decode("ascii") if out else None, None

    def unseal(self, raw):
        if not raw.startswith(BOUNDARY):
            raise ValueError("no boundary")
        head, sep, rest = raw[len(BOUNDARY):].partition(BOUNDARY)
        if not sep:
            raise ValueError("no second boundary")
        if CRYPT_PROTOCOL.encode() not in head:
            raise ValueError("wrong part type")
        m = re.search(rb"Length=(\d+)", head)
        if not m:
            raise ValueError("no Length")
        length = int(m.group(1))
        part2 = b"\tContent-Type: application/octet-stream\r\n"
        if not rest.startswith(part2):
            raise ValueError("no octet-stream part")
        payload = rest[len(part2):]
        if not payload.endswith(BOUNDARY_END):
            raise ValueError("no end boundary")
        payload = payload[:-len(BOUNDARY_END)]
        if len(payload) < 4:
            raise ValueError("short payload")
        sig_len = struct.unpack("<I", payload[:4])[0]
        if sig_len != 16 or len(payload) < 4 + sig_len + 1:
            raise ValueError("bad signature length")
        sig, sealed = payload[4:4 + sig_len], payload[4 + sig_len:]
        plain = self.gss_ctx.unwrap(sig + sealed).message
        if len(plain) != length:
            raise ValueError("length mismatch")
        return plain

    def seal(self, plain):
        token = self.gss_ctx.wrap(plain, True).message
        if token[:4] == b"\x01\x00\x00\x00":
            sig, sealed = token[:16], token[16:]
        else:  # an old gss-ntlmssp that appends the signature
            sig, sealed = token[-16:], token[:-16]
        return (BOUNDARY +
                ("\tContent-Type: %s\r\n\tOriginalContent: type=application/soap+xml;"
                 "charset=UTF-8;Length=%d\r\n" % (CRYPT_PROTOCOL, len(plain))).encode() +
                BOUNDARY + b"\tContent-Type: application/octet-stream\r\n" +
                struct.pack("<I", len(sig)) + sig + sealed + BOUNDARY_END)

    # -- WS-Man

    def dispatch(self, raw, user, rec):
        state = self.state
        req = None
        try:
            req = Request(raw)
            rec["action"] = req.action or req.action_uri
            rec["message_id"] = req.message_id
            rec["max_envelope"] = req.max_envelope
            rec["operation_timeout"] = req.operation_timeout
            rec["shell"] = req.selectors.get("ShellId")
            injected = self.injection(req, rec)
            if injected is not None:
                return injected
            if req.action is None:
                raise Fault("ActionNotSupported")
            handler = getattr(self, "act_" + req.action)
            return 200, handler(req, user, rec)
        except Fault as f:
            rec["fault"] = f.subcode
            relates = req.message_id if req else getattr(f, "relates_to", None)
            return 500, fault_envelope(f, relates)

    def injection(self, req, rec):
        """Apply the script's inject rules for this action; None if nothing fires."""
        st = self.state
        with st.lock:
            st.script.reload()
            name = req.action or "?"
            counters = st.script.counters
            counters[name] = count = counters.get(name, 0) + 1
            rule = None
            for i, r in enumerate(st.script.inject()):
                if r.get("action", "*") not in ("*", name):
                    continue
                nth = int(r.get("nth", 1))
                times = int(r.get("times", 1))
                fired = st.script.inject_fired.get(i, 0)
                if count >= nth and (times < 0 or fired < times):
                    st.script.inject_fired[i] = fired + 1
                    rule = r
                    break
        if rule is None:
            return None
        kind = rule.get("type")
        rec["inject"] = kind
        if kind == "delay":
            time.sleep(float(rule.get("seconds", 1)))
            return None
        if kind == "close":
            return None, None
        if kind == "http401":
            return 401, None
        if kind == "http500":
            return 500, b""
        if kind == "fault":
            raise Fault(rule.get("kind", "SchemaValidationError"), subcode=rule.get("subcode"),
                        code=rule.get("code"), reason=rule.get("reason"),
                        soap_code=rule.get("soap_code"))
        if kind == "garbage":
            return 200, rule.get("body", "<not-xml").encode("utf-8")
        if kind == "relates_to_mismatch":
            handler = getattr(self, "act_" + (req.action or "Create"))
            reply = handler(req, "", rec)
            return 200, reply.replace(req.message_id.encode(),
                                      ("uuid:" + str(uuid.uuid4()).upper()).encode())
        raise Fault("SchemaValidationError", detail="unknown inject type %r" % kind)

    def shell_of(self, req):
        sid = req.selectors.get("ShellId")
        if not sid:
            raise Fault("InvalidSelectors", shell="(none)")
        with self.state.lock:
            shell = self.state.shells.get(sid)
        if shell is None:
            raise Fault("InvalidSelectors", shell=sid)
        return shell

    def act_Create(self, req, user, rec):
        shell_el = req.body.find("rsp:Shell", NS)
        if shell_el is None or shell_el.find("rsp:InputStreams", NS) is None or \
                shell_el.find("rsp:OutputStreams", NS) is None:
            raise Fault("SchemaValidationError", detail="rsp:Shell with streams is required.")
        cp = req.options.get("WINRS_CODEPAGE", "437")
        if not cp.isdigit():
            raise Fault("SchemaValidationError", detail="WINRS_CODEPAGE must be a number.")
        shell = Shell(int(cp), user)
        with self.state.lock:
            self.state.shells[shell.id] = shell
        rec["shell"] = shell.id
        rec["codepage"] = shell.codepage
        host = self.headers.get("Host", "127.0.0.1")
        shape = self.state.args.shell_id_shape
        body = ""
        if shape in ("both", "selector"):
            body += ("<x:ResourceCreated><a:Address>http://%s/wsman</a:Address>"
                     "<a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI><w:SelectorSet>"
                     '<w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet>'
                     "</a:ReferenceParameters></x:ResourceCreated>"
                     % (escape(host), URI_CMD, shell.id))
        if shape in ("both", "shell"):
            body += ("<rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s"
                     "</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner><rsp:ClientIP>127.0.0.1"
                     "</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
                     "<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout "
                     "stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
                     "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>"
                     % (shell.id, URI_CMD, escape(user or "")))
        return envelope(req.action_uri + "Response", req.message_id, body)

    def act_Command(self, req, user, rec):
        shell = self.shell_of(req)
        line_el = req.body.find("rsp:CommandLine", NS)
        cmd_el = line_el.find("rsp:Command", NS) if line_el is not None else None
        if cmd_el is None or not (cmd_el.text or "").strip():
            raise Fault("SchemaValidationError", detail="rsp:CommandLine/rsp:Command is required.")
        parts = [cmd_el.text] + [a.text or "" for a in line_el.findall("rsp:Arguments", NS)]
        line = " ".join(parts)
        rec["command"] = line
        ps = decode_powershell(line)
        if ps is not None:
            rec["script"] = ps
        with self.state.lock:
            self.state.script.reload()
            spec = resolve_command(self.state.script, line, shell.codepage)
        max_raw = max(1024, (req.max_envelope - 4096) * 3 // 4)
        cmd = Command(shell, line, spec, max_raw)
        with self.state.lock:
            shell.commands[cmd.id] = cmd
        rec["command_id"] = cmd.id
        return envelope(req.action_uri + "Response", req.message_id,
                        "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId>"
                        "</rsp:CommandResponse>" % cmd.id)

    def command_of(self, shell, cid):
        with self.state.lock:
            cmd = shell.commands.get(cid or "")
        if cmd is None:
            raise Fault("InvalidCommandId", detail=cid or "(none)")
        return cmd

    def act_Receive(self, req, user, rec):
        shell = self.shell_of(req)
        ds = req.body.find("rsp:Receive/rsp:DesiredStream", NS)
        if ds is None:
            raise Fault("SchemaValidationError", detail="rsp:Receive/rsp:DesiredStream required.")
        cmd = self.command_of(shell, ds.get("CommandId"))
        rec["command_id"] = cmd.id
        if cmd.timeouts > 0:
            cmd.timeouts -= 1
            raise Fault("TimedOut")
        remaining = cmd.delay - (time.monotonic() - cmd.started)
        if remaining > 0:
            time.sleep(min(remaining, req.operation_timeout))
            if cmd.delay - (time.monotonic() - cmd.started) > 0:
                raise Fault("TimedOut")
        if cmd.fault and cmd.sent == int(cmd.fault.get("after", 1)) and not cmd.fault.get("_fired"):
            cmd.fault["_fired"] = True
            raise Fault(cmd.fault.get("kind", "SchemaValidationError"),
                        subcode=cmd.fault.get("subcode", "w:InternalError"),
                        code=cmd.fault.get("code", 2150858770),
                        reason=cmd.fault.get("reason", "The command failed on the server."),
                        soap_code=cmd.fault.get("soap_code", "s:Receiver"))
        streams = ""
        last = cmd.sent >= len(cmd.pieces) - 1
        if cmd.sent < len(cmd.pieces):
            name, data = cmd.pieces[cmd.sent]
            cmd.sent += 1
            k = min(cmd.per_response, max(1, len(data)))
            step = -(-len(data) // k) if data else 1
            for i in range(0, max(1, len(data)), step):
                streams += ('<rsp:Stream Name="%s" CommandId="%s">%s</rsp:Stream>'
                            % (name, cmd.id, base64.b64encode(data[i:i + step]).decode()))
        if last:
            cmd.done = True
            streams += ('<rsp:Stream Name="stdout" CommandId="%s" End="true"></rsp:Stream>'
                        '<rsp:Stream Name="stderr" CommandId="%s" End="true"></rsp:Stream>'
                        '<rsp:CommandState CommandId="%s" State="%s"><rsp:ExitCode>%d'
                        "</rsp:ExitCode></rsp:CommandState>"
                        % (cmd.id, cmd.id, cmd.id, STATE_DONE, cmd.exit_code))
            rec["exit_code"] = cmd.exit_code
        else:
            streams += '<rsp:CommandState CommandId="%s" State="%s"/>' % (cmd.id, STATE_RUNNING)
        return envelope(req.action_uri + "Response", req.message_id,
                        '<rsp:ReceiveResponse>%s</rsp:ReceiveResponse>' % streams)

    def act_Signal(self, req, user, rec):
        shell = self.shell_of(req)
        sig = req.body.find("rsp:Signal", NS)
        if sig is None or sig.find("rsp:Code", NS) is None:
            raise Fault("SchemaValidationError", detail="rsp:Signal/rsp:Code is required.")
        cmd = self.command_of(shell, sig.get("CommandId"))
        rec["command_id"] = cmd.id
        rec["signal"] = (sig.find("rsp:Code", NS).text or "").rsplit("/", 1)[-1]
        cmd.signalled = True
        return envelope(req.action_uri + "Response", req.message_id, "<rsp:SignalResponse/>")

    def act_Delete(self, req, user, rec):
        shell = self.shell_of(req)
        with self.state.lock:
            self.state.shells.pop(shell.id, None)
        return envelope(req.action_uri + "Response", req.message_id, "")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # TLS handshake failures and resets are expected in tests


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    ap.add_argument("--port", type=int, default=0, help="0: ephemeral")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--auth", default="basic",
                    help="comma list of basic, ntlm, none (default basic)")
    ap.add_argument("--users", default=os.environ.get("NTLM_USER_FILE"),
                    help="DOMAIN:USER:PASSWORD file (default $NTLM_USER_FILE)")
    ap.add_argument("--allow-unencrypted", action="store_true",
                    help="accept plain SOAP on NTLM sessions over http (AllowUnencrypted=true)")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--script", help="JSON command table (reloaded when it changes)")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--shell-id-shape", choices=("both", "selector", "shell"), default="both")
    ap.add_argument("--max-lifetime", type=float, default=900.0,
                    help="exit after this many seconds (safety net for tests)")
    args = ap.parse_args(argv)
    args.auth = {a.strip() for a in args.auth.split(",") if a.strip()}
    if not args.auth <= {"basic", "ntlm", "none"} or not args.auth:
        ap.error("--auth takes basic, ntlm and/or none")
    if not ipaddress.ip_address(args.host).is_loopback:
        ap.error("the fake only listens on loopback addresses")
    if ({"basic", "ntlm"} & args.auth) and not args.users:
        ap.error("--users (or $NTLM_USER_FILE) is required for basic/ntlm")
    if args.users:
        os.environ["NTLM_USER_FILE"] = os.path.abspath(args.users)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    Server.address_family = family
    httpd = Server((args.host, args.port), Handler)
    httpd.state = State(args)
    httpd.ssl_ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        httpd.ssl_ctx = ctx
    httpd.gss_creds = None
    if "ntlm" in args.auth:
        import gssapi
        httpd.gss_creds = gssapi.Credentials(
            usage="accept", mechs=[gssapi.OID.from_int_seq(NTLM_OID)])

    port = httpd.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("PORT %d" % port, flush=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    timer = threading.Timer(args.max_lifetime, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
