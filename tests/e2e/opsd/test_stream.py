"""GET /api/heartbeat/stream (issue 10): heartbeat poll results as server-sent events, read
with a reader that follows the SSE standard (sse.py); one poll per watched host at a time;
a reader that stops reading is dropped while the worker stays responsive; SIGTERM ends the
streams."""
import concurrent.futures
import datetime
import json
import signal
import socket
import threading
import time

from conftest import EVENTS_PATH, HEARTBEAT_PATH, heartbeat_doc, station, wait_db_ready
from promtext import scrape
from sse import SSEReader, Stream
from rawhttp import wait_until

EVENT_LINE = '{"timestamp":"2026-01-01T11:30:00Z","user":"labuser","event":"session-started"}'


def files(doc=None, events=True):
    f = {HEARTBEAT_PATH: json.dumps(doc or heartbeat_doc())}
    if events:
        f[EVENTS_PATH] = EVENT_LINE + "\r\n"
    return {"files": f}


class Reader:
    """A stream reader in a thread: collects (type, data) events as they arrive."""

    def __init__(self, w, query=""):
        self.stream = Stream(w.port, "/api/heartbeat/stream" + query)
        self.status = self.stream.status
        self.headers = self.stream.headers
        self.events = []
        self.ended = False
        self.cond = threading.Condition()
        if self.status == 200:
            self.sse = SSEReader(self.stream.body())
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _run(self):
        while True:
            ev = self.sse.next_event()
            if ev is None:
                break
            try:
                data = json.loads(ev.data)
            except ValueError:
                data = {"not JSON": ev.data}  # fails the test's checks, visibly
            with self.cond:
                self.events.append((ev.type, data))
                self.cond.notify_all()
        with self.cond:
            self.ended = True
            self.cond.notify_all()

    def wait(self, n, timeout=60):
        with self.cond:
            self.cond.wait_for(lambda: len(self.events) >= n or self.ended, timeout)
            assert len(self.events) >= n, "got %d of %d events: %r" % (len(self.events), n,
                                                                       self.events[-3:])
            return list(self.events)

    def wait_end(self, timeout=60):
        with self.cond:
            assert self.cond.wait_for(lambda: self.ended, timeout), "the stream did not end"

    def close(self):
        self.stream.close()


def test_stream_polls_the_hosts_it_watches(make_worker, winrm, db):
    winrm.set_script(files())
    hosts = [station(winrm.port), station(winrm.port, name="lab-ws-02", labs=["2"])]
    w = make_worker(hosts, env=dict(db.env, OPS_HEARTBEAT_SSE_INTERVAL_SECONDS="0.3"))
    wait_db_ready(w)  # the tables are there (MariaDB: after /health already answers)
    r = w.get("/api/heartbeat/stream?host=nope")
    assert r.status_code == 404 and r.json() == {"error": "host 'nope' not found in config"}

    one = Reader(w, "?host=LAB-WS-01")
    assert one.status == 200
    assert one.headers["content-type"] == "text/event-stream"
    assert one.headers["cache-control"] == "no-cache"
    assert one.headers["transfer-encoding"] == "chunked"
    every = Reader(w, "?host=&include_events=false")
    try:
        evs = one.wait(3)
        for kind, data in evs:
            assert kind == "heartbeat"
            assert data["host"] == "lab-ws-01" and data["ok"] is True
            assert data["heartbeat"] == heartbeat_doc()
            assert data["last_event"] == json.loads(EVENT_LINE)
            assert isinstance(data["duration_ms"], int) and data["duration_ms"] >= 0
            t = datetime.datetime.fromisoformat(data["time"])
            assert t.utcoffset() == datetime.timedelta(0)
        # the stream without a host gets every host's results, without the events
        evs = every.wait(6)
        assert {d["host"] for _, d in evs} == {"lab-ws-01", "lab-ws-02"}
        assert all(k == "heartbeat" and d["last_event"] is None for k, d in evs)
        # the stream's own polls are not stored
        assert db.query("SELECT COUNT(*) FROM lab_host_heartbeat") == [("0",)]
        m = scrape(w)
        assert m.value("ops_worker_heartbeat_stream_readers") == 2
        assert m.value("ops_worker_heartbeat_polls_total", result="ok") >= 3
    finally:
        one.close()
        every.close()


def test_every_poll_is_published(make_worker, winrm):
    """Without polls of its own (interval 0) the stream carries the other polls' results:
    one event per poll, `error` for a poll that failed, only to readers of that host."""
    winrm.set_script(files())
    hosts = [station(winrm.port), station(winrm.port, name="lab-ws-02", labs=["2"])]
    w = make_worker(hosts, env={"OPS_DB": "none", "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS": "0"})
    one = Reader(w, "?host=lab-ws-01")
    two = Reader(w, "?host=lab-ws-02&include_events=no")
    try:
        r = w.post("/api/heartbeat/poll", {"host": "lab-ws-01"})
        assert r.status_code == 200
        kind, data = one.wait(1)[0]
        assert kind == "heartbeat" and data["heartbeat"] == r.json()["heartbeat"]
        assert data["last_event"] == r.json()["last_event"] == json.loads(EVENT_LINE)
        winrm.set_script({"files": {}})
        r = w.post("/api/heartbeat/poll", {"host": "lab-ws-01"})
        assert r.status_code == 500
        kind, data = one.wait(2)[1]
        assert kind == "error"
        assert data == {"host": "lab-ws-01", "ok": False, "error": "WinRM read failed",
                        "duration_ms": data["duration_ms"], "time": data["time"]}
        winrm.set_script(files(heartbeat_doc(ready=False)))
        assert w.post("/api/heartbeat/poll", {"host": "LAB-WS-02"}).status_code == 200
        kind, data = two.wait(1)[0]
        assert kind == "heartbeat" and data["host"] == "lab-ws-02"
        assert data["heartbeat"]["summary"]["ready"] is False
        assert data["last_event"] is None  # include_events=no
        assert len(one.events) == 2 and len(two.events) == 1
    finally:
        one.close()
        two.close()


def test_one_poll_per_host_at_a_time(make_worker, winrm):
    """Three readers of one host and a 0.1 s interval: polls of the host never overlap (each
    takes 1.5 s on the station), so results come at least 1.5 s apart."""
    doc = json.dumps(heartbeat_doc())
    winrm.set_script({"commands": [{"ps_regex": r".*heartbeat\.json.*", "stdout": doc,
                                    "delay": 1.5}]})
    w = make_worker([station(winrm.port)], env={"OPS_DB": "none",
                                                "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS": "0.1"})
    readers = [Reader(w, "?host=lab-ws-01&include_events=0") for _ in range(3)]
    try:
        evs = [r.wait(3, timeout=90) for r in readers]
        times = sorted({datetime.datetime.fromisoformat(d["time"]) for e in evs for _, d in e})
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
        assert len(times) >= 3 and min(gaps) >= 1.4, gaps
        # the readers share the polls: one's results are the others'
        seen = {d["time"] for _, d in readers[0].wait(6, timeout=90)}
        for e in evs[1:]:
            assert {d["time"] for _, d in e[:3]} <= seen
    finally:
        for r in readers:
            r.close()


def test_polls_take_turns(make_worker, winrm):
    """A reader of every host with ten hosts: the stream runs at most four polls at a time
    (the API keeps its share of the WinRM workers) and every host gets its turn."""
    doc = json.dumps(heartbeat_doc())
    winrm.set_script({"commands": [{"ps_regex": r".*heartbeat\.json.*", "stdout": doc,
                                    "delay": 0.5}]})
    hosts = [station(winrm.port, name="ws-%02d" % i, labs=[str(i)]) for i in range(10)]
    w = make_worker(hosts, env={"OPS_DB": "none", "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS": "0.1"})
    r = Reader(w, "?include_events=false")
    try:
        wait_until(lambda: {d["host"] for _, d in r.events} == {h["name"] for h in hosts}, 120,
                   "an event of every host")
        # each poll's span, from its start (time - duration) to its end
        spans = []
        for _, d in list(r.events):
            end = datetime.datetime.fromisoformat(d["time"]).timestamp()
            spans.append((end - d["duration_ms"] / 1000.0, end))
        most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
        assert 1 <= most <= 4, most
    finally:
        r.close()


def slow_reader(port):
    """A stream reader that never reads: a tiny receive buffer, the request sent, nothing
    read."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /api/heartbeat/stream?host=lab-ws-01 HTTP/1.1\r\nHost: x\r\n\r\n")
    return s


def test_a_reader_that_stops_reading_is_dropped(make_worker, winrm):
    # ~60 KiB per event (below the 64 KiB event limit): the 256 KiB per-reader buffer and
    # the socket buffers fill after some dozens of polls
    doc = heartbeat_doc()
    doc["padding"] = "x" * 60000
    winrm.set_script(files(doc))
    w = make_worker([station(winrm.port)], env={"OPS_DB": "none",
                                                "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS": "0"})
    slow = slow_reader(w.port)
    fast = Reader(w, "?host=lab-ws-01")
    polls = 0

    def poll(_):
        return w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}).status_code

    try:
        deadline = time.monotonic() + 300
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            while time.monotonic() < deadline:
                assert list(pool.map(poll, range(4))) == [200] * 4
                polls += 4
                # the worker answers others throughout
                assert w.get("/health", timeout=30).status_code == 200
                if "does not read its stream" in w.log():
                    break
        assert "does not read its stream" in w.log(), "never dropped after %d polls" % polls
        # the fast reader got every event, before and after the drop
        assert polls >= 4
        for _ in range(4):
            assert poll(0) == 200
        polls += 4
        evs = fast.wait(polls, timeout=120)
        assert len(evs) == polls and all(d["ok"] and len(d["heartbeat"]["padding"]) == 60000
                                         for _, d in evs)
        m = scrape(w)
        assert m.value("ops_worker_heartbeat_stream_closed_total", reason="too_slow") == 1
        assert m.value("ops_worker_heartbeat_stream_readers") == 1
        # the dropped reader finds its stream cut: what was in flight, then the end
        slow.settimeout(60)
        got = b""
        while True:
            try:
                chunk = slow.recv(1 << 20)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
        assert got.startswith(b"HTTP/1.1 200")
        assert got.count(b"event: heartbeat") < polls  # never everything: it was cut off
        # a reader that goes away is noticed at the next event
        fast.close()
        assert poll(0) == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and \
                scrape(w).value("ops_worker_heartbeat_stream_readers") != 0:
            assert poll(0) == 200
        m = scrape(w)
        assert m.value("ops_worker_heartbeat_stream_readers") == 0
        assert m.value("ops_worker_heartbeat_stream_closed_total", reason="client_gone") == 1
    finally:
        slow.close()
        fast.close()


def test_too_many_readers(make_worker):
    w = make_worker(env={"OPS_DB": "none"})
    socks = []
    try:
        for _ in range(64):
            s = socket.create_connection(("127.0.0.1", w.port), timeout=30)
            s.sendall(b"GET /api/heartbeat/stream HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            socks.append(s)
        r = w.get("/api/heartbeat/stream")
        assert r.status_code == 503 and r.json() == {"error": "Too many heartbeat stream readers"}
        assert scrape(w).value("ops_worker_heartbeat_stream_readers") == 64
    finally:
        for s in socks:
            s.close()


def test_sigterm_ends_the_streams(make_worker, winrm):
    winrm.set_script(files())
    w = make_worker([station(winrm.port)], env={"OPS_DB": "none",
                                                "OPS_HEARTBEAT_SSE_INTERVAL_SECONDS": "0.2"})
    r = Reader(w)
    r.wait(1)
    w.proc.send_signal(signal.SIGTERM)
    r.wait_end(timeout=90)
    # 1 would mean the 60 s shutdown grace ran out waiting for the open stream
    assert w.proc.wait(timeout=90) == 0
    r.close()
