"""Fixtures: the C WinRM client (through the test-only winrm_driver) against fake_winrm.py."""

import os
import socket
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fakes"))

import fake_winrm_harness as fw  # noqa: E402


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    return fw.make_tls_cert(str(tmp_path_factory.mktemp("tls")))


def _fake(tmp_path_factory, name, **kw):
    f = fw.FakeWinRM(str(tmp_path_factory.mktemp(name)), **kw)
    yield f
    f.stop()
    assert "Traceback" not in f.read_stderr()
    with open(f.log_path) as log:
        assert fw.PASSWORD not in log.read()


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """Basic and NTLM on plain http (NTLM then requires message encryption)."""
    yield from _fake(tmp_path_factory, "fake", auth="basic,ntlm")


@pytest.fixture(scope="module")
def fake_tls(tmp_path_factory, tls):
    yield from _fake(tmp_path_factory, "fake-tls", auth="basic,ntlm", tls=tls)


@pytest.fixture
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
