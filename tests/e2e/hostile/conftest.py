"""Fixtures for the hostile-input suite: both daemons, started with the existing harnesses
(tests/e2e/lib/labd_harness.py, and ops-worker's Worker from tests/e2e/opsd/conftest.py,
loaded under its own module name), behind one small interface."""
import importlib.util
import sys
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(E2E / "lib"))

from labd_harness import Server  # noqa: E402
from rawhttp import raise_nofile  # noqa: E402


def _opsd_harness():
    spec = importlib.util.spec_from_file_location("opsd_harness", E2E / "opsd" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Daemon:
    """What a hostile test needs of a daemon."""

    def __init__(self, name, port, key, health, health_status, body_path, log, root):
        self.name = name
        self.port = port
        self.key = key                # the error body's key: {"detail": ...} / {"error": ...}
        self.health = health
        self.health_status = health_status
        self.body_path = body_path    # a POST route that reads a (JSON) body
        self.log = log
        self.root = Path(root)        # everything the daemon may write is below this
        self.url = "http://127.0.0.1:%d" % port


def labd_daemon(s):
    return Daemon("neops-remote-lab", s.port, "detail", "/healthz", 204, "/session", s.log, s.root)


@pytest.fixture(scope="session", autouse=True)
def _fd_limit():
    raise_nofile(8192)


@pytest.fixture(scope="module")
def labd_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("labd"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def opsd_worker(tmp_path_factory):
    w = _opsd_harness().Worker(str(tmp_path_factory.mktemp("opsd")), hosts=[])
    w.start()
    yield w
    rc = w.stop()
    assert rc == 0, w.log()[-3000:]


@pytest.fixture(scope="module", params=["labd", "opsd"])
def daemon(request):
    if request.param == "labd":
        return labd_daemon(request.getfixturevalue("labd_server"))
    w = request.getfixturevalue("opsd_worker")
    return Daemon("ops-worker", w.port, "error", "/health", 200, "/api/winrm", w.log, w.tmp)
