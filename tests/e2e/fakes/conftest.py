"""Fixtures for checking the fake WinRM endpoint with independent clients."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fakes"))

import fake_winrm_harness as fw  # noqa: E402


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return fw.make_tls_cert(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """Basic and NTLM accepted, plain http."""
    f = fw.FakeWinRM(str(tmp_path_factory.mktemp("fake")), auth="basic,ntlm")
    yield f
    f.stop()
    assert "Traceback" not in f.read_stderr()


@pytest.fixture(scope="module")
def fake_tls(tmp_path_factory, tls):
    f = fw.FakeWinRM(str(tmp_path_factory.mktemp("fake-tls")), auth="basic,ntlm", tls=tls)
    yield f
    f.stop()
    assert "Traceback" not in f.read_stderr()


@pytest.fixture(scope="module")
def openssl_legacy(tmp_path_factory):
    return fw.legacy_openssl_conf(str(tmp_path_factory.mktemp("ossl")))
