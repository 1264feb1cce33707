"""Access control from the client side: bearer tokens and verified TLS."""
import json
import os
import subprocess
import time

import pytest
import requests

from conftest import Labctl, Server, check_sanitizer

TOKEN = "e2e-t0ken-5c1d9f"


def test_token(make_server, tmp_path, topo):
    tf = tmp_path / "server-token"
    tf.write_text(TOKEN + "\n")
    tf.chmod(0o600)
    server = make_server("--token-file", str(tf))
    lc = Labctl(server, tmp_path)
    p = lc("session", "new")
    assert p.returncode == 1, p.stderr
    assert "HTTP 401: Not authenticated" in p.stderr and "REMOTE_LAB_TOKEN" in p.stderr
    p = lc("session", "new", env={"REMOTE_LAB_TOKEN": "wrong-token"})
    assert p.returncode == 1 and "refused the token" in p.stderr
    assert "wrong-token" not in p.stderr + p.stdout
    p = lc("run", "--topology", str(topo), "--poll-interval", "0.2", "--", "true",
           env={"REMOTE_LAB_TOKEN": TOKEN}, timeout=120)
    assert p.returncode == 0, p.stderr
    ct = tmp_path / "client-token"
    ct.write_text(TOKEN + "\n")
    p = lc("--token-file", str(ct), "run", "--topology", str(topo), "--poll-interval", "0.2", "--", "true",
           timeout=120)
    assert p.returncode == 0, p.stderr
    assert TOKEN not in p.stderr + p.stdout
    assert lc("server", "health").returncode == 0  # /healthz needs no token


def make_cert(tmp_path):
    """A private CA and a server certificate for 127.0.0.1 (openssl CLI)."""
    ca_key, ca, key, csr, crt, ext = (tmp_path / n for n in
                                       ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "ext.cnf"))
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=e2e private CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(crt), "-days", "2", "-extfile", str(ext))
    return ca, crt, key


def test_tls_verified(tmp_path, topo):
    ca, crt, key = make_cert(tmp_path)
    s = Server(tmp_path / "tls", args=("--tls-cert", str(crt), "--tls-key", str(key)))
    s.spawn()
    meta = s.tmp / "neops_remote_lab_server.meta.json"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                m = json.loads(meta.read_text())
                if m.get("pid") == s.proc.pid and m.get("port"):
                    break
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.05)
        url = f"https://127.0.0.1:{m['port']}"
        lc = Labctl(None, tmp_path)
        lc.env["REMOTE_LAB_URL"] = url
        p = lc("server", "health", "--restart-wait", "0")
        assert p.returncode == 3, p.stderr  # not trusted: the system store lacks our CA
        assert "certificate" in p.stderr and "REMOTE_LAB_CA_FILE" in p.stderr
        assert lc("--cacert", str(ca), "server", "health").returncode == 0
        p = lc("run", "--topology", str(topo), "--poll-interval", "0.2", "--", "true",
               env={"REMOTE_LAB_CA_FILE": str(ca)}, timeout=120)
        assert p.returncode == 0, p.stderr
        # plain http to the TLS port fails clearly, never silently
        lc.env["REMOTE_LAB_URL"] = url.replace("https", "http")
        assert lc("server", "health", "--restart-wait", "0").returncode == 3
    finally:
        s.stop()
