"""Fake WinRM: Negotiate/NTLM through GSSAPI (gss-ntlmssp) and MS-WSMV message sealing."""

import base64
import binascii
import re
import struct

from fake_winrm_soap import (BOUNDARY, BOUNDARY_END, CRYPT_PROTOCOL)


class NtlmSession:
    """NTLM on one connection (mixed into the HTTP handler): the GSSAPI acceptor steps and
    MS-WSMV sealing. The handler keeps self.gss_ctx and self.ntlm_user per connection."""

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
