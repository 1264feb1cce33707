"""Connection exhaustion: a flood of idle connections from one address and slowloris
clients trickling bytes never lock other clients out. The hostile side uses another
loopback address (127.0.0.2) as its source, so the per-address limit applies to it and not
to the client that must still be served (127.0.0.1)."""
import socket
import time

import pytest
import requests

from labd_harness import Server
from rawhttp import count_closed, open_idle, wait_until

FLOOD = 2000


def refused_lines(d):
    return [line for line in d.log().splitlines() if "Refused a connection from 127.0.0.2" in line]


def test_flood_from_one_address_does_not_lock_others_out(daemon):
    before = len(refused_lines(daemon))
    t0 = time.monotonic()
    socks = open_idle(daemon.port, FLOOD, "127.0.0.2")
    try:
        # the daemon refuses what is over the per-address limit (closes it at once) ...
        wait_until(lambda: count_closed(socks) > 0, 60, "refused connections")
        # ... and serves another client meanwhile, with all of the flood still connected
        r = requests.get(daemon.url + daemon.health, timeout=30)
        assert r.status_code == daemon.health_status
        held = FLOOD - count_closed(socks)
        assert 0 < held < FLOOD
        # one warning names the address; repeats are rate-limited, not one line per refusal
        lines = refused_lines(daemon)[before:]
        assert 1 <= len(lines) <= 2 + (time.monotonic() - t0) / 10, lines
        assert "connections open from that address, the limit is" in lines[0]
    finally:
        for s in socks:
            s.close()
    r = requests.get(daemon.url + daemon.health, timeout=30)
    assert r.status_code == daemon.health_status


@pytest.fixture
def quick_server(tmp_path):
    s = Server(tmp_path / "srv", args=["--request-timeout", "2",
                                       "--max-connections-per-address", "64"])
    s.start()
    yield s
    s.stop()


def trickle(port, first, rest, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(first)
        socks.append(s)
    return socks, rest


def test_slowloris_is_cut_at_the_request_deadline(quick_server):
    """Clients trickling a header byte (or a body byte) every half second are closed once
    the request deadline (2 s here) passes; others are served throughout."""
    srv = quick_server
    header, hrest = trickle(srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: abcdefghij", 20)
    body, brest = trickle(srv.port, b"POST /session HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
                          b"x" * 100, 20)
    closed = set()
    start = time.monotonic()
    i = 0
    try:
        while len(closed) < 40 and time.monotonic() - start < 60:
            for k, s in enumerate(header + body):
                if k in closed:
                    continue
                data = (hrest if k < 20 else brest)[i % 10:i % 10 + 1]
                try:
                    s.sendall(data)
                    s.settimeout(0.001)
                    if s.recv(1, socket.MSG_PEEK) == b"":
                        closed.add(k)
                except (BrokenPipeError, ConnectionResetError):
                    closed.add(k)
                except socket.timeout:
                    pass
            assert srv.get("/healthz", timeout=30).status_code == 204
            i += 1
            time.sleep(0.5)
        assert len(closed) == 40, "still open after 60 s: %d" % (40 - len(closed))
        # the deadline, not the trickle, ended them: each client had sent a byte since
        assert "no complete request within 2 s" in srv.log()
    finally:
        for s in header + body:
            s.close()


def test_idle_keep_alive_connections_end_at_the_deadline(quick_server):
    srv = quick_server
    s = socket.socket()
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(30)
    assert s.recv(4096).startswith(b"HTTP/1.1 204")
    assert s.recv(4096) == b""  # closed by the server once idle for the request deadline
    s.close()


def test_per_address_limit_option(tmp_path):
    srv = Server(tmp_path / "srv", args=["--max-connections-per-address", "64"]).start()
    socks = open_idle(srv.port, 100, "127.0.0.2")
    try:
        wait_until(lambda: count_closed(socks) >= 36, 30, "36 refused connections")
        time.sleep(0.5)
        assert count_closed(socks) == 36
        assert srv.get("/healthz", timeout=30).status_code == 204
        assert "the limit is 64" in srv.log()
    finally:
        for s in socks:
            s.close()
        srv.stop()
