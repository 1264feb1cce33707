"""Raw HTTP/1.1 over sockets for the hostile-input tests: send exact bytes (from a chosen
loopback source address), read the answer, and check that it is one well-framed response."""
import errno
import json
import resource
import socket
import time


def raise_nofile(want):
    """Raise this process's open-files limit to at least `want` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect(port, src="127.0.0.1", timeout=30):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def read_to_close(s, timeout=30):
    """Everything the server sends until it closes; (data, reset?)."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data, True
        except socket.timeout:
            raise AssertionError("server neither answered nor closed within %ss (got %r)"
                                 % (timeout, data[:200]))
        if not chunk:
            return data, False
        data += chunk


def exchange(port, data, src="127.0.0.1", timeout=30):
    """Send raw bytes (the server may close before all are taken) and read to the close
    (requests that the server answers normally must ask for "Connection: close")."""
    s = connect(port, src, timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_to_close(s, timeout)
    finally:
        s.close()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def parse_one(data):
    """Parse data as exactly one response with a Content-Length or chunked body and nothing
    after it: the framing a client relies on."""
    assert data.startswith(b"HTTP/1.1 "), "not an HTTP/1.1 response: %r" % data[:200]
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, "no end of header: %r" % data[:300]
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode().strip().lower()] = value.decode(errors="replace").strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        body, extra = rest[:n], rest[n:]
        assert len(body) == n, "body shorter than Content-Length: %r" % data[:400]
    elif headers.get("transfer-encoding") == "chunked":
        body, extra = b"", rest
        while True:
            size_line, _, extra = extra.partition(b"\r\n")
            size = int(size_line, 16)
            body += extra[:size]
            extra = extra[size + 2:]
            if size == 0:
                break
    else:
        body, extra = rest, b""
    assert extra == b"", "bytes after the response (two responses in one?): %r" % data[:600]
    assert b"HTTP/1.1 " not in body, "a second status line inside the body: %r" % data[:600]
    return Response(status, headers, body)


def assert_json_error(data, status, key, reset=False):
    """One well-framed `status` answer with a JSON error body {key: ...}."""
    r = parse_one(data)
    assert r.status == status, "expected %d, got %r" % (status, data[:400])
    assert r.header("content-type") == "application/json", data[:400]
    body = r.json()
    assert isinstance(body, dict) and key in body, body
    return r


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def open_idle(port, n, src):
    """n connections from src that send nothing; the ones the server refuses (closes at
    once) are counted by the caller with count_closed()."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        assert err in (0, errno.EINPROGRESS), errno.errorcode.get(err, err)
        socks.append(s)
    return socks


def count_closed(socks):
    n = 0
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                n += 1
        except BlockingIOError:
            pass
        except (ConnectionResetError, OSError):
            n += 1
    return n
