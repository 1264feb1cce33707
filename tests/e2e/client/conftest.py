"""e2e fixtures for libremotelab / labctl: a real neops-remote-lab on a loopback port.

The server comes from the shared harness (tests/e2e/lib/labd_harness.py): netlab-sim as
`netlab`, TMPDIR/HOME in a scratch dir, its stderr checked for sanitizer reports at teardown.
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from labd_harness import SANITIZER_MARKERS, Server as LabServer, server_binary  # noqa: E402



def _env_path(name):
    v = os.environ.get(name)
    if not v:
        pytest.fail(f"{name} is not set (run through ctest, or export it)")
    return Path(v)


BIN_DIR = None
BUILD_DIR = None


def bin_dir():
    return _env_path("RL_BIN_DIR")


def build_dir():
    return _env_path("RL_BUILD_DIR")


def source_dir():
    return _env_path("RL_SOURCE_DIR")


class Server(LabServer):
    """The shared lab-manager harness, in this suite's vocabulary."""

    fixed_port = None  # a restart must come back on the port the clients use

    def spawn(self, extra_args=()):
        if self.fixed_port is None:
            return super().spawn(extra_args)
        self._log = open(self.stderr_path, "ab")
        self._log_start = self._log.tell()
        cmd = [str(server_binary()), "--host", "127.0.0.1", "--port", str(self.fixed_port),
               *self.args, *extra_args]
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log)
        return self.proc

    def start(self, timeout=15):
        if self.fixed_port is None:
            return super().start(timeout)
        # the port is known before the server listens: wait until /healthz answers there
        self.spawn()
        self.port = self.fixed_port
        self.url = f"http://127.0.0.1:{self.port}"

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return self.get("/healthz", timeout=2).status_code == 204
            except requests.RequestException:
                return False

        self.wait_for(up, timeout, "the server to answer /healthz")
        return self

    def netlab(self, **knobs):
        """Set netlab-sim knobs (re-read on every call), e.g. up_delay=5, fail='start'."""
        self.knobs(**knobs)

    def netlab_subcommands(self):
        """The netlab subcommand of every invocation, e.g. ['version', 'down', 'up', ...]."""
        return [argv[0] if argv else "" for argv in self.netlab_calls()]

    def stderr(self):
        return self.log()


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(*args, env=None, port=None):
        s = Server(tmp_path / f"server{len(servers)}", args=args, env=env)
        s.fixed_port = port
        servers.append(s)
        return s.start()

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Labctl:
    """Runs build/bin/labctl against one server; checks its own stderr for sanitizer reports."""

    def __init__(self, srv, tmp_path):
        self.srv = srv
        self.exe = str(bin_dir() / "labctl")
        self.cwd = tmp_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REMOTE_LAB_")}
        self.env["REMOTE_LAB_URL"] = srv.url if srv else "http://127.0.0.1:9"
        self.env["TMPDIR"] = str(tmp_path)

    def _env(self, extra):
        e = dict(self.env)
        e.update(extra or {})
        return e

    def __call__(self, *args, env=None, timeout=60, check=None, cwd=None):
        p = subprocess.run([self.exe, *args], env=self._env(env), cwd=cwd or self.cwd,
                           capture_output=True, text=True, timeout=timeout)
        check_sanitizer(p.stderr)
        if check is not None:
            assert p.returncode == check, f"labctl {' '.join(args)} -> {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
        return p

    def json(self, *args, **kw):
        p = self(*args, "--json", check=0, **kw)
        return json.loads(p.stdout)

    def pool(self, servers):
        """Point this labctl at a pool of servers through REMOTE_LAB_URLS."""
        self.env.pop("REMOTE_LAB_URL", None)
        self.env["REMOTE_LAB_URLS"] = ",".join(s.url for s in servers)
        return self

    def popen(self, *args, env=None, cwd=None, **kw):
        return subprocess.Popen([self.exe, *args], env=self._env(env), cwd=cwd or self.cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def check_sanitizer(text):
    for m in SANITIZER_MARKERS:
        if m in (text or ""):
            pytest.fail(f"sanitizer report from a client process:\n{text[-6000:]}")


@pytest.fixture
def labctl(server, tmp_path):
    return Labctl(server, tmp_path)


def wait_for(pred, timeout=30, step=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


SESSION_RE = re.compile(r"session ([0-9a-fA-F-]{8,}) created")


def session_id_from(stderr_text):
    m = SESSION_RE.search(stderr_text)
    return m.group(1) if m else None


TOPOLOGY = """\
# e2e topology for labctl
name: e2e
defaults.device: frr
nodes: [r1, r2]
links: [r1-r2]
"""


@pytest.fixture
def topo(tmp_path):
    p = tmp_path / "topo.yml"
    p.write_text(TOPOLOGY)
    return p
