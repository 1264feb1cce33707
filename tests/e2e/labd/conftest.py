"""Fixtures for the neops-remote-lab e2e suite (see ../lib/labd_harness.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from labd_harness import servers  # noqa: E402


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(args=[...], env={...}, start=True) -> Server; all are stopped
    (SIGTERM, sanitizer check) at teardown."""
    with servers(tmp_path) as make:
        yield make


@pytest.fixture
def server(make_server):
    return make_server()
