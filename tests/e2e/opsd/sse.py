"""A server-sent events reader that follows the HTML standard's "event stream
interpretation" (lines ended by CRLF, LF or CR; comments; field parsing with one optional
space; data lines joined with LF; dispatch on a blank line; a BOM skipped), over an
iterator of byte chunks such as requests' iter_content(None)."""
import codecs
import socket


class Event:
    def __init__(self, type, data, last_id):
        self.type = type
        self.data = data
        self.id = last_id

    def __repr__(self):
        return "Event(%r, %r)" % (self.type, self.data[:200])


class SSEReader:
    def __init__(self, chunks):
        self.chunks = iter(chunks)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.first = True
        self.comments = []
        self.last_id = ""
        self.retry = None
        self._event = ""
        self._data = []

    def _line(self):
        """The next line without its end, or None at the end of the stream."""
        while True:
            for i, c in enumerate(self.text):
                if c == "\n" or (c == "\r" and i + 1 < len(self.text)):
                    line = self.text[:i]
                    skip = 2 if c == "\r" and self.text[i + 1] == "\n" else 1
                    self.text = self.text[i + skip:]
                    return line
            chunk = next(self.chunks, None)
            if chunk is None:
                if self.text.endswith("\r"):  # a CR at the very end ends a line
                    line, self.text = self.text[:-1], ""
                    return line
                return None
            self.text += self.decoder.decode(chunk)
            if self.first and self.text:
                self.first = False
                if self.text.startswith("\ufeff"):
                    self.text = self.text[1:]

    def next_event(self):
        """The next dispatched event, or None when the stream ends."""
        while True:
            line = self._line()
            if line is None:
                return None  # an incomplete event at the end is discarded
            if line == "":
                if not self._data:
                    self._event = ""
                    continue
                ev = Event(self._event or "message", "\n".join(self._data), self.last_id)
                self._event, self._data = "", []
                return ev
            if line.startswith(":"):
                self.comments.append(line[1:])
                continue
            field, colon, value = line.partition(":")
            if colon and value.startswith(" "):
                value = value[1:]
            if field == "event":
                self._event = value
            elif field == "data":
                self._data.append(value)
            elif field == "id" and "\0" not in value:
                self.last_id = value
            elif field == "retry" and value.isdigit():
                self.retry = int(value)


class Stream:
    """GET path on 127.0.0.1:port over a plain socket (so that another thread can cut it at
    any time): the status, the headers, and the body de-chunked as an iterator of bytes."""

    def __init__(self, port, path, timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream"
                          b"\r\n\r\n" % path.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def body(self):
        """The body's bytes as they come (chunked, or up to Content-Length)."""
        try:
            if self.headers.get("transfer-encoding") == "chunked":
                while True:
                    size = int(self._line().split(b";")[0], 16)
                    if size == 0:
                        return
                    while len(self.buf) < size + 2:
                        self._fill()
                    data, self.buf = self.buf[:size], self.buf[size + 2:]
                    yield data
            else:
                n = int(self.headers.get("content-length", "0"))
                while len(self.buf) < n:
                    self._fill()
                yield self.buf[:n]
        except (EOFError, OSError):
            return  # cut by the server or by close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
