"""Every unsafe upload name gets a 400 JSON answer from neops-remote-lab and nothing is
written: no upload directory is left behind, no file appears outside the server's TMPDIR."""
import os

import pytest

from labd_harness import TOPOLOGY
from rawhttp import assert_json_error, exchange

UNSAFE_EXTRA = [
    b"../escape.txt", b"../../escape.txt", b"/tmp/abs.txt", b"a/../../escape.txt", b".",
    b"..", b"a//b.txt", b"./a.txt", b"a/./b.txt", b"a\x01b.txt", b"a\tb.txt", b"a\x1bb.txt",
    b"a\x7fb.txt", b"x" * 256, b"/".join([b"d"] * 17) + b"/f.txt", (b"d" * 200 + b"/") * 6 + b"f",
    b"clab.yml", b"netlab.lock", b"host_vars/r1.yml", b"a\x00b.txt", b"\x00", b"\x00/../x",
]
UNSAFE_TOPOLOGY = [b"../topo.yml", b"/abs/topo.yml", b"sub/topo.yml", b"to\x00po.yml",
                   b"topo\x00.yml", b"\x01topo.yml", b"topo.txt"]


def multipart(parts, boundary=b"HOSTILEBOUNDARY"):
    out = b""
    for name, filename, data in parts:
        out += b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\""
        if filename is not None:
            out += b"; filename=\"" + filename + b"\""
        out += b"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    return out + b"--" + boundary + b"--\r\n", b"multipart/form-data; boundary=" + boundary


def post_lab(server, session, parts):
    body, ctype = multipart(parts)
    head = (b"POST /lab HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Session-ID: "
            + session.encode() + b"\r\nContent-Type: " + ctype
            + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
    data, _ = exchange(server.port, head + body)
    return data


def leftovers(server):
    return sorted(p for p in os.listdir(server.tmp) if p.startswith("remote_netlab_upload_"))


def no_escape(server):
    for p in (server.root / "escape.txt", server.root.parent / "escape.txt",
              server.tmp.parent / "escape.txt", server.root / "topo.yml"):
        assert not p.exists(), p


@pytest.fixture(scope="module")
def session(labd_server):
    return labd_server.new_session()


@pytest.mark.parametrize("name", UNSAFE_EXTRA, ids=lambda n: repr(n)[:40])
def test_unsafe_extra_file_name(labd_server, session, name):
    data = post_lab(labd_server, session, [(b"topology", b"topology.yml", TOPOLOGY),
                                           (b"extra_files", name, b"payload")])
    r = assert_json_error(data, 400, "detail")
    assert "name" in r.json()["detail"]
    # the rejected upload is removed once the answer is out
    labd_server.wait_for(lambda: leftovers(labd_server) == [], 10, "upload directory removed")
    no_escape(labd_server)


@pytest.mark.parametrize("name", UNSAFE_TOPOLOGY, ids=lambda n: repr(n)[:40])
def test_unsafe_topology_name(labd_server, session, name):
    data = post_lab(labd_server, session, [(b"topology", name, TOPOLOGY)])
    assert_json_error(data, 400, "detail")
    labd_server.wait_for(lambda: leftovers(labd_server) == [], 10, "upload directory removed")
    no_escape(labd_server)


def test_nul_in_the_field_name(labd_server, session):
    data = post_lab(labd_server, session, [(b"topo\x00logy", b"topology.yml", TOPOLOGY)])
    assert_json_error(data, 400, "detail")
    labd_server.wait_for(lambda: leftovers(labd_server) == [], 10, "upload directory removed")


def test_duplicate_and_clashing_names(labd_server, session):
    for parts in ([(b"topology", b"topology.yml", TOPOLOGY), (b"extra_files", b"a.txt", b"1"),
                   (b"extra_files", b"a.txt", b"2")],
                  [(b"topology", b"topology.yml", TOPOLOGY),
                   (b"extra_files", b"topology.yml", b"x")],
                  [(b"topology", b"topology.yml", TOPOLOGY), (b"extra_files", b"a", b"1"),
                   (b"extra_files", b"a/b", b"2")]):
        data = post_lab(labd_server, session, parts)
        assert_json_error(data, 400, "detail")
    labd_server.wait_for(lambda: leftovers(labd_server) == [], 10, "upload directory removed")
    no_escape(labd_server)


@pytest.mark.parametrize("name", [b"a\nb.txt", b"a\rb.txt"], ids=repr)
def test_names_the_form_cannot_carry(labd_server, session, name):
    """A raw CR or LF ends the part's header line: the form is malformed (422, the
    original's answer for a part without a file name); nothing is written either way."""
    data = post_lab(labd_server, session, [(b"topology", b"topology.yml", TOPOLOGY),
                                           (b"extra_files", name, b"payload")])
    r = assert_json_error(data, 422, "detail")
    assert isinstance(r.json()["detail"], list)
    labd_server.wait_for(lambda: leftovers(labd_server) == [], 10, "upload directory removed")
    no_escape(labd_server)
