"""Access control (--token-file / REMOTE_LAB_TOKEN_FILE) and TLS (--tls-cert/--tls-key)."""
import os
import re
import subprocess

import pytest
import requests

from labd_harness import server_binary

TOKEN = "t0k3n-Very-Secret_42"


@pytest.fixture
def token_file(tmp_path):
    p = tmp_path / "token"
    p.write_text(TOKEN + "\n")
    p.chmod(0o600)
    return p


def check_token_required(s):
    # /healthz stays open (load balancers, the Python client's health check)
    assert s.get("/healthz").status_code == 204
    for method, path in (("POST", "/session"), ("GET", "/active-session"), ("GET", "/lab"),
                         ("GET", "/debug/health"), ("GET", "/nope"),
                         ("GET", "/session/abcdef-secret-id")):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                        {"Authorization": "Basic " + TOKEN}):
            r = s.request(method, path, headers=dict(headers))
            assert r.status_code == 401, (method, path, headers, r.text)
            assert r.json() == {"detail": "Not authenticated"}
            assert r.headers["WWW-Authenticate"] == "Bearer"
    auth = {"Authorization": "Bearer " + TOKEN}
    r = s.post("/session", headers=dict(auth))
    assert r.status_code == 201
    sid = r.json()["session_id"]
    r = s.get("/session/" + sid, headers=dict(auth))
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert TOKEN not in s.log()
    assert "abcdef-secret-id" not in s.log()
    assert "Rejected a request without a valid token from 127.0.0.1" in s.log()


def test_token_file_option(make_server, token_file):
    s = make_server(args=["--token-file", str(token_file)])
    check_token_required(s)


def test_token_file_environment(make_server, token_file):
    s = make_server(env={"REMOTE_LAB_TOKEN_FILE": str(token_file)})
    check_token_required(s)


def test_off_by_default(server):
    r = server.post("/session")
    assert r.status_code == 201
    assert "WWW-Authenticate" not in r.headers


@pytest.mark.parametrize("content", [None, "", "  \n", "two words\n"])
def test_bad_token_file_stops_the_start(make_server, tmp_path, content):
    p = tmp_path / "token"
    if content is not None:
        p.write_text(content)
    s = make_server(args=["--token-file", str(p)], start=False)
    proc = s.spawn()
    assert proc.wait(30) == 1
    s.stop()
    assert "token" in s.log() and "two" not in s.log()


def test_world_readable_token_file_warns(make_server, token_file):
    token_file.chmod(0o644)
    s = make_server(args=["--token-file", str(token_file)])
    assert "can be read by other users" in s.log()


@pytest.fixture
def tls_files(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True, timeout=120)
    return cert, key


def test_tls(make_server, tls_files, token_file):
    cert, key = tls_files
    s = make_server(args=["--tls-cert", str(cert), "--tls-key", str(key), "--token-file",
                          str(token_file)], start=False)
    s.spawn()
    s.wait_log(r"Listening on https://127\.0\.0\.1:\d+", timeout=30)
    port = int(re.search(r"Listening on https://127\.0\.0\.1:(\d+)", s.log()).group(1))
    url = "https://127.0.0.1:%d" % port
    r = requests.get(url + "/healthz", verify=str(cert), timeout=30)
    assert r.status_code == 204
    r = requests.post(url + "/session", verify=str(cert), timeout=30,
                      headers={"Authorization": "Bearer " + TOKEN})
    assert r.status_code == 201
    r = requests.post(url + "/session", verify=str(cert), timeout=30)
    assert r.status_code == 401
    # not verified: refused by the client; plain HTTP on the TLS port gets no answer
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url + "/healthz", timeout=30)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://127.0.0.1:%d/healthz" % port, timeout=30)
    assert s.stop() == 0


def test_tls_needs_both_files(tmp_path):
    r = subprocess.run([str(server_binary()), "--tls-cert", "x.pem"], capture_output=True,
                       text=True, timeout=30, env={"PATH": os.environ.get("PATH", "")})
    assert r.returncode == 2
    assert "--tls-key" in r.stderr


def test_help_names_the_new_options():
    r = subprocess.run([str(server_binary()), "--help"], capture_output=True, text=True,
                       timeout=30)
    for opt in ("--max-connections-per-address N", "--request-timeout S", "--token-file FILE",
                "--tls-cert FILE", "--tls-key FILE", "(default: 4096",
                "The Python 1.x client cannot send"):
        assert opt in r.stdout, opt
