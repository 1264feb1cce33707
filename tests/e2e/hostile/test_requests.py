"""Hostile requests against both daemons: each gets one well-framed 4xx with a JSON body (or
a closed connection where the protocol leaves nothing to answer), and the daemon keeps
serving others. Error bodies: neops-remote-lab {"detail": ...}, ops-worker {"error": ...}."""
import json

import pytest
import requests

from rawhttp import assert_json_error, exchange, parse_one


def healthy(d):
    r = requests.get(d.url + d.health, timeout=30)
    assert r.status_code == d.health_status
    return True


def post(d, headers, body=b""):
    head = "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n" % (d.body_path,
                                                                        headers)
    return head.encode() + body


@pytest.mark.parametrize("value,status", [("abc", 400), ("-1", 400), ("1 2", 400),
                                          ("5 ", 400), ("", 400), ("0x10", 400),
                                          ("99999999999999999999999", 413)])
def test_bad_content_length(daemon, value, status):
    data, _ = exchange(daemon.port, post(daemon, "Content-Length: %s\r\n" % value, b"{}"))
    r = assert_json_error(data, status, daemon.key)
    assert "Content-Length" in r.json()[daemon.key]
    assert healthy(daemon)


def test_conflicting_content_lengths(daemon):
    data, _ = exchange(daemon.port, post(daemon, "Content-Length: 2\r\nContent-Length: 40\r\n",
                                         b"{}"))
    assert_json_error(data, 400, daemon.key)


def test_oversized_request_line(daemon):
    line = b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    data, _ = exchange(daemon.port, line)
    assert_json_error(data, 414, daemon.key)
    assert healthy(daemon)


@pytest.mark.parametrize("shape", ["one huge value", "many fields"])
def test_oversized_header(daemon, shape):
    if shape == "one huge value":
        fields = "X-Big: " + "v" * 200000 + "\r\n"
    else:
        fields = "".join("X-F%d: %s\r\n" % (i, "v" * 40) for i in range(3000))
    data, _ = exchange(daemon.port, ("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
                                     % (daemon.health, fields)).encode())
    assert_json_error(data, 431, daemon.key)
    assert healthy(daemon)


def test_large_header_value_below_the_limit(daemon):
    """8 KiB in one field is not hostile: served normally."""
    r = requests.get(daemon.url + daemon.health, headers={"X-Big": "v" * 8192}, timeout=30)
    assert r.status_code == daemon.health_status


@pytest.mark.parametrize("request_line", [b"GARBAGE", b"GET /", b"GET / HTTP/2.0",
                                          b"GET / HTTP/9.9", b"GET / HTTX/1.1"])
def test_malformed_request_line(daemon, request_line):
    data, _ = exchange(daemon.port, request_line + b"\r\nHost: x\r\n\r\n")
    r = parse_one(data)
    assert r.status in (400, 505)
    assert r.header("content-type") == "application/json" and daemon.key in r.json()


def test_header_line_without_colon(daemon):
    data, _ = exchange(daemon.port, b"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n")
    assert_json_error(data, 400, daemon.key)


def test_huge_declared_body(daemon):
    data, _ = exchange(daemon.port, post(daemon, "Content-Type: application/json\r\n"
                                                 "Content-Length: 1000000000000\r\n", b"{"))
    assert_json_error(data, 413, daemon.key)
    assert healthy(daemon)


def test_huge_chunked_body_closes(daemon):
    """A chunked body past the route's limit cannot be answered mid-body: the connection is
    closed, nothing else."""
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    data, _ = exchange(daemon.port, post(daemon, "Transfer-Encoding: chunked\r\n"
                                                 "Content-Type: application/json\r\n",
                                         chunk * 40 + b"0\r\n\r\n"))
    assert b"HTTP/1.1 2" not in data
    assert healthy(daemon)


def test_malformed_chunked_body(daemon):
    """libmicrohttpd answers a broken chunk itself: a 400 (its HTML body is documented in
    docs/operations.md); one response, well framed."""
    data, _ = exchange(daemon.port, post(daemon, "Transfer-Encoding: chunked\r\n",
                                         b"zz\r\nxx\r\n0\r\n\r\n"))
    r = parse_one(data)
    assert r.status == 400
    assert healthy(daemon)


@pytest.mark.parametrize("value", [b"a\x01b", b"\x7f", b"a\x00b", b"a\rb", b"\x1b[31m",
                                   b"\xff\xfe", b"\xc3\x28"])
def test_control_bytes_and_invalid_utf8_in_headers(daemon, value):
    """Answered (4xx JSON, or the route's normal answer) or closed; never a 5xx."""
    data, _ = exchange(daemon.port, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Session-ID: " + value
                       + b"\r\nX-Other: " + value + b"\r\n\r\n")
    if data:
        r = parse_one(data)
        assert 400 <= r.status < 500
        assert r.header("content-type") == "application/json" and daemon.key in r.json()
    assert healthy(daemon)


def test_invalid_utf8_in_path(daemon):
    data, _ = exchange(daemon.port, b"GET /\xff\xfe%FF%C3%28 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert_json_error(data, 404, daemon.key)


def test_deep_and_invalid_json(daemon):
    for body in (b"[" * 30000 + b"]" * 30000, b'{"a":' * 10000 + b"1" + b"}" * 10000,
                 b'{"host": "\xff\xfe", "command": "x"}', b"\xef\xbb\xbf{\x00}"):
        r = requests.post(daemon.url + daemon.body_path, data=body,
                          headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code < 500, (body[:40], r.status_code, r.text)
        if r.status_code >= 400:
            assert r.headers["Content-Type"] == "application/json" and daemon.key in r.json()
    assert healthy(daemon)


def test_keeps_serving_on_the_same_connection_after_good_requests(daemon):
    """Keep-alive is unaffected by the screen (only a connection's first request is
    screened)."""
    with requests.Session() as s:
        for _ in range(5):
            assert s.get(daemon.url + daemon.health, timeout=30).status_code == \
                daemon.health_status


def test_no_sanitizer_report_so_far(daemon):
    text = daemon.log()
    for mark in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert mark not in text
    json.dumps(text[-100:])  # the log is text
