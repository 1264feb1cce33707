"""What operators watch: GET /metrics through a real Prometheus parser, GET /events as a
server-sent event stream (bounded: a slow reader is dropped, not the server's memory), and
GET /netlab-ops."""
import json
import socket
import threading
import time

import pytest
import requests

from labd_harness import TOPOLOGY
from promtext import scrape


def test_metrics_move_with_what_happens(server):
    a = server.new_session()
    b = server.new_session()
    m = scrape(server)
    assert m.value("remote_lab_sessions", state="active") == 1
    assert m.value("remote_lab_sessions", state="waiting") == 1
    assert m.value("remote_lab_slots_configured") == 1
    assert server.acquire(a).status_code == 200
    assert server.acquire(a).json()["reused"] is True
    server.post("/lab/release", session=a)
    server.post("/lab/release", session=a)
    server.delete(f"/session/{a}")
    server.get("/no/such/route")
    m = scrape(server)
    assert m.value("remote_lab_lab_operations_total", kind="start", result="ok") == 1
    assert m.value("remote_lab_lab_operations_total", kind="stop", result="ok") == 1
    assert m.value("remote_lab_lab_operation_seconds_count", kind="start") == 1
    assert m.value("remote_lab_lab_reuse_total") == 1
    assert m.value("remote_lab_netlab_commands_total", command="up", result="ok") == 1
    assert m.value("remote_lab_netlab_commands_total", command="inspect", result="ok") == 1
    # a and then b were promoted
    assert m.value("remote_lab_queue_wait_seconds_count") == 2
    assert m.value("remote_lab_http_requests_total", route="POST /lab", code="200") == 2
    assert m.value("remote_lab_http_requests_total", route="POST /session", code="201") == 2
    assert m.value("remote_lab_http_requests_total", route="unmatched", code="404") == 1
    assert m.value("remote_lab_sessions", state="active") == 1
    assert m.value("remote_lab_slots", state="empty") == 1
    assert m.value("remote_lab_info", version=server.get("/host").json()["version"]) == 1
    # no session id anywhere
    text = server.get("/metrics").text
    assert a not in text and b not in text


def test_failed_lab_operations_are_counted(server):
    sid = server.new_session()
    server.knobs(fail="start")
    assert server.acquire(sid).status_code == 500
    m = scrape(server)
    assert m.value("remote_lab_lab_operations_total", kind="start", result="failed") == 1
    assert m.value("remote_lab_netlab_commands_total", command="up", result="failed") == 1


class SSEReader:
    """A server-sent events reader as the HTML spec describes (fields, blank-line dispatch,
    comments, multi-line data), on a raw socket so the test controls how fast it reads."""

    def __init__(self, server, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        lines = [f"GET /events HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
                 "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"text/event-stream" in head and b"chunked" in head.lower()
        self.text = ""

    def _until(self, sep):
        while sep not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "stream closed"
            self.buf += chunk
        out, self.buf = self.buf.split(sep, 1)
        return out

    def _more_text(self):
        size = int(self._until(b"\r\n"), 16)
        assert size > 0, "the stream ended"
        data = self._until(b"\r\n") if len(self.buf) < size + 2 else None
        if data is None:
            data, self.buf = self.buf[:size], self.buf[size + 2:]
        self.text += data.decode()

    def event(self):
        """The next dispatched event: (id, type, data as JSON)."""
        ev_id, ev_type, data = None, "message", []
        while True:
            while "\n" not in self.text:
                self._more_text()
            line, self.text = self.text.split("\n", 1)
            if line == "":
                if data:
                    return ev_id, ev_type, json.loads("\n".join(data))
                ev_type = "message"
                continue
            if line.startswith(":"):
                continue
            field, _, val = line.partition(":")
            val = val[1:] if val.startswith(" ") else val
            if field == "data":
                data.append(val)
            elif field == "event":
                ev_type = val
            elif field == "id":
                ev_id = val

    def close(self):
        self.sock.close()


def test_events_stream_what_happens(server):
    r = SSEReader(server)
    try:
        sid = server.new_session()
        handle = server.get("/sessions").json()["sessions"][0]["handle"]
        server.acquire(sid)
        server.post("/lab/release", session=sid)
        server.delete(f"/session/{sid}")
        seen = []
        while not seen or seen[-1][1] != "lab.down":
            seen.append(r.event())
        kinds = [k for _, k, _ in seen]
        assert kinds == ["session.created", "session.promoted", "lab.starting", "lab.up",
                         "lab.released", "session.ended", "lab.down"]
        data = {k: d for _, k, d in seen}
        assert data["session.created"]["handle"] == handle
        assert data["lab.up"]["holder"] == handle and data["lab.up"]["devices"] == 2
        assert data["session.ended"]["reason"] == "deleted"
        ids = [int(i) for i, _, _ in seen]
        assert ids == sorted(ids)
        assert all(sid not in json.dumps(d) for d in data.values())
    finally:
        r.close()
    # Last-Event-ID replays what a reconnecting reader missed
    r2 = SSEReader(server, {"Last-Event-ID": str(ids[3])})
    try:
        assert [r2.event()[1] for _ in range(3)] == ["lab.released", "session.ended", "lab.down"]
    finally:
        r2.close()


def test_a_slow_reader_is_dropped_and_the_server_stays_responsive(server):
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    # Produce far more events (~300 bytes each) than fit in the reader's bounded buffer
    # (64 KiB) and the socket buffers, without ever reading.
    big = "x" * 120
    http = requests.Session()
    for i in range(1500):
        http.post(server.url + "/session", json={"label": f"{big}{i}"[:128]}, timeout=30)
        if i % 100 == 99 and "fell 64 KiB behind" in server.log():
            break
    server.wait_log("An event stream reader fell 64 KiB behind; disconnected it", 60)
    assert server.get("/healthz").status_code == 204
    m = scrape(server)
    assert m.value("remote_lab_event_readers") == 0
    slow.close()


def test_netlab_ops_lists_recent_commands_with_failures(server):
    sid = server.new_session()
    server.knobs(fail="start")
    server.acquire(sid)
    ops = server.get("/netlab-ops").json()["operations"]
    up = [o for o in ops if o["command"].startswith("netlab up")][-1]
    assert up["ok"] is False and up["result"] == "exit code 1" and up["stderr_tail"]
    assert up["duration"] >= 0 and up["cwd"]
