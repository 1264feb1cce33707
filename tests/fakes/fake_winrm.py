#!/usr/bin/python3
"""Fake WinRM (WS-Management) endpoint for tests and demos.

A strict, scriptable stand-in for a Windows host's WinRM listener: POST /wsman only,
Basic and/or Negotiate(NTLM via GSSAPI + gss-ntlmssp) authentication, MS-WSMV message
encryption (required for NTLM over plain HTTP, like AllowUnencrypted=false), optional TLS,
cmd shells with a scripted command table, and a JSONL request log.

Loopback only. See docs/internals/fake-winrm.md for the CLI and the script format.
This file is the HTTP listener and the CLI; the station (fake_winrm_station.py), NTLM
(fake_winrm_ntlm.py) and SOAP (fake_winrm_soap.py) live beside it.
"""

import argparse
import base64
import binascii
import http.server
import ipaddress
import os
import re
import signal
import socket
import ssl
import sys
import threading

from fake_winrm_ntlm import NtlmSession
from fake_winrm_soap import (CRYPT_CONTENT_TYPE, CRYPT_PROTOCOL, MAX_BODY, NTLM_OID,
                             SOAP_CONTENT_TYPE)
from fake_winrm_station import (State, StationActions, check_basic)


class Handler(NtlmSession, StationActions, http.server.BaseHTTPRequestHandler):
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
