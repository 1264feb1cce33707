"""Fake WinRM: the station behind the listener: users, the script (command table, files,
injections), cmd shells and commands, and the WS-Management actions on them."""

import base64
import binascii
import hmac
import json
import os
import re
import threading
import time
import uuid
from xml.sax.saxutils import escape

from fake_winrm_soap import (Fault, NS, PS_QUOTES, Request, STATE_DONE, STATE_RUNNING, URI_CMD,
                             envelope, fault_envelope)


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


class StationActions:
    """The WS-Management side of the handler: dispatch, injected faults, and the cmd shell
    actions (mixed into the HTTP handler, which provides self.state)."""

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
