"""Connection limits as settings (issue 9 item 3): OPS_MAX_CONNECTIONS,
OPS_MAX_CONNECTIONS_PER_ADDRESS, OPS_REQUEST_TIMEOUT and OPS_IDLE_CONNECTION_TIMEOUT reach
the HTTP layer, bad values stop the worker with a clear message. The flood comes from
127.0.0.2 (inside the default OPS_ALLOWED_NETWORKS), the client that must still be served
uses 127.0.0.1."""
import os
import socket
import subprocess
import time

from conftest import WORKER
from promtext import scrape
from rawhttp import count_closed, open_idle, wait_until


def refused_lines(w, address="127.0.0.2"):
    return [line for line in w.log().splitlines()
            if "Refused a connection from %s" % address in line]


def test_per_address_limit_is_enforced_and_logged_rate_limited(make_worker):
    # (a request deadline far away: the 8 idle connections stay until the test ends them)
    w = make_worker(env={"OPS_MAX_CONNECTIONS_PER_ADDRESS": "8", "OPS_REQUEST_TIMEOUT": "900",
                         "OPS_IDLE_CONNECTION_TIMEOUT": "900"})
    assert "connections: at most 512, 8 per address; a request within 900 s, idle 900 s" \
        in w.log()
    t0 = time.monotonic()
    socks = open_idle(w.port, 30, "127.0.0.2")
    try:
        wait_until(lambda: count_closed(socks) >= 22, 60, "22 refused connections")
        # the 8 allowed stay open
        time.sleep(0.5)
        assert count_closed(socks) == 22
        # another address is served meanwhile
        assert w.get("/health", timeout=30).status_code == 200
        lines = refused_lines(w)
        # 22 refusals, but the warning is rate-limited (one line per 10 s at most)
        assert 1 <= len(lines) <= 1 + (time.monotonic() - t0) / 10, lines
        assert ("Refused a connection from 127.0.0.2: 8 connections open from that address, "
                "the limit is 8") in lines[0]
        # and counted, each one
        m = scrape(w)
        assert m.value("ops_worker_http_connections_closed_total", reason="address_limit") == 22
        assert m.value("ops_worker_http_connections") >= 8
    finally:
        for s in socks:
            s.close()
    # once they are gone the address may connect again
    wait_until(lambda: w.get("/health", timeout=30).status_code == 200, 30, "health")
    s = socket.create_connection(("127.0.0.1", w.port), timeout=30)
    s.close()


def test_total_limit_is_enforced(make_worker):
    w = make_worker(env={"OPS_MAX_CONNECTIONS": "8", "OPS_MAX_CONNECTIONS_PER_ADDRESS": "8",
                         "OPS_REQUEST_TIMEOUT": "900", "OPS_IDLE_CONNECTION_TIMEOUT": "900"})
    socks = open_idle(w.port, 12, "127.0.0.2")
    try:
        wait_until(lambda: count_closed(socks) >= 4, 60, "4 refused connections")
        time.sleep(0.5)
        # 8 open in all: the flood's, plus at most the harness's readiness probe if the
        # worker has not seen it close yet
        assert 4 <= count_closed(socks) <= 5
        w.wait_log("Connection limit reached (latest from 127.0.0.2): 8 connections open, "
                   "the limit is 8")
    finally:
        for s in socks:
            s.close()


def test_request_timeout_cuts_a_slow_request(make_worker):
    """A client that trickles its header is closed at OPS_REQUEST_TIMEOUT, though it sends a
    byte every half second; others are served meanwhile."""
    w = make_worker(env={"OPS_REQUEST_TIMEOUT": "2"})
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", w.port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    closed = False
    try:
        for i in range(120):
            try:
                s.sendall(b"X-Slow-%d: y\r\n" % i)
                s.settimeout(0.001)
                if s.recv(1, socket.MSG_PEEK) == b"":
                    closed = True
                    break
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            except socket.timeout:
                pass
            assert w.get("/health", timeout=30).status_code == 200
            time.sleep(0.5)
        assert closed, "still open after %.0f s" % (time.monotonic() - start)
        assert time.monotonic() - start >= 1.5
        w.wait_log("Closed a connection from 127.0.0.2: no complete request within 2 s")
        assert scrape(w).value("ops_worker_http_connections_closed_total",
                               reason="request_deadline") >= 1
    finally:
        s.close()


def test_idle_timeout_caps_the_request_deadline(make_worker):
    """OPS_IDLE_CONNECTION_TIMEOUT=1 alone: the request deadline follows it down, and an
    idle keep-alive connection is closed after its answer."""
    w = make_worker(env={"OPS_IDLE_CONNECTION_TIMEOUT": "1"})
    assert "a request within 1 s, idle 1 s" in w.log()
    s = socket.create_connection(("127.0.0.1", w.port), timeout=30)
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        assert s.recv(4096) == b""  # closed by the worker
    finally:
        s.close()


def run_worker(tmp_path, env):
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPS_BIND": "127.0.0.1",
            "OPS_PORT": "0", "OPS_CONFIG": str(tmp_path / "none.json"),
            "OPS_STATE_DIR": str(tmp_path), "OPS_DB": "none"}
    base.update(env)
    return subprocess.run([WORKER], env=base, capture_output=True, text=True, timeout=60)


def test_bad_connection_settings_stop_the_worker(tmp_path):
    cases = [
        ({"OPS_MAX_CONNECTIONS": "3"}, "OPS_MAX_CONNECTIONS must be an integer between 4 and"),
        ({"OPS_MAX_CONNECTIONS": "lots"}, "OPS_MAX_CONNECTIONS must be an integer"),
        ({"OPS_MAX_CONNECTIONS": "16", "OPS_MAX_CONNECTIONS_PER_ADDRESS": "17"},
         "OPS_MAX_CONNECTIONS_PER_ADDRESS (17) must not exceed OPS_MAX_CONNECTIONS (16)"),
        ({"OPS_REQUEST_TIMEOUT": "0"}, "OPS_REQUEST_TIMEOUT must be an integer between 1 and"),
        ({"OPS_REQUEST_TIMEOUT": "400"},
         "OPS_REQUEST_TIMEOUT (400) must not exceed OPS_IDLE_CONNECTION_TIMEOUT (300)"),
        ({"OPS_IDLE_CONNECTION_TIMEOUT": "-5"}, "OPS_IDLE_CONNECTION_TIMEOUT must be an integer"),
    ]
    for env, message in cases:
        r = run_worker(tmp_path, env)
        assert r.returncode == 2, (env, r.returncode, r.stderr)
        assert message in r.stderr, (env, r.stderr)


def test_help_lists_the_settings():
    r = subprocess.run([WORKER, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for name in ("OPS_MAX_CONNECTIONS [512]", "OPS_MAX_CONNECTIONS_PER_ADDRESS [a quarter",
                 "OPS_REQUEST_TIMEOUT [60]", "OPS_IDLE_CONNECTION_TIMEOUT [300]"):
        assert name in r.stdout, r.stdout
