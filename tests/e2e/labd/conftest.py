"""Fixtures for the neops-remote-lab e2e suite (see ../lib/labd_harness.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from labd_harness import Server  # noqa: E402


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(args=[...], env={...}, start=True) -> Server; all are stopped
    (SIGTERM, sanitizer check) at teardown."""
    servers = []

    def make(args=(), env=None, start=True, name=None, netlab=True):
        root = tmp_path / (name or f"srv{len(servers)}")
        s = Server(root, args=args, env=env, netlab=netlab)
        servers.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in servers:
        if s.proc is not None:
            s.stop()


@pytest.fixture
def server(make_server):
    return make_server()
