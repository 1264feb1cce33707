"""e2e fixtures for libremotelab / labctl: a real neops-remote-lab on a loopback port.

Self-contained on purpose (does not import the shared harness in tests/e2e/labd/).
The server runs with PATH=<build>/netlab-sim-path:$PATH and TMPDIR/HOME in a scratch dir;
its stderr is checked for sanitizer reports at teardown.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, headers=None, timeout=10):
    """(status, body bytes) of one request; never raises for HTTP errors."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Server:
    def __init__(self, root, args=(), env=None):
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.home = self.root / "home"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        self.netlab_log = self.root / "netlab-log.jsonl"
        self.netlab_config = self.root / "netlab-config.json"
        self.netlab_config.write_text("{}")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr_path = self.root / "server.stderr"
        self.stdout_path = self.root / "server.stdout"
        sim_path = Path(os.environ.get("RL_NETLAB_SIM_PATH") or build_dir() / "netlab-sim-path")
        if not (sim_path / "netlab").exists():
            pytest.fail(f"netlab simulator missing: {sim_path}/netlab (build target netlab-sim)")
        self.env = dict(os.environ)
        self.env.update({
            "PATH": f"{sim_path}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "TMPDIR": str(self.tmp),
            "HOME": str(self.home),
            "FAKE_NETLAB_LOG": str(self.netlab_log),
            "FAKE_NETLAB_CONFIG": str(self.netlab_config),
        })
        for k in ("REMOTE_LAB_URL", "REMOTE_LAB_SESSION"):
            self.env.pop(k, None)
        self.env.update(env or {})
        exe = os.environ.get("RL_LABD_BIN") or str(bin_dir() / "neops-remote-lab")
        if not os.access(exe, os.X_OK):
            pytest.fail(f"server binary missing: {exe}")
        self.argv = [exe, "--host", "127.0.0.1", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.root,
            stdout=open(self.stdout_path, "wb"), stderr=open(self.stderr_path, "wb"))
        self._wait_healthy()

    def _wait_healthy(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.stderr()}")
            try:
                st, _ = http("GET", self.url + "/healthz", timeout=2)
                if st == 204:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"server did not answer /healthz within {timeout}s:\n{self.stderr()}")

    def netlab(self, **knobs):
        """Set netlab-sim knobs (re-read on every call), e.g. up_delay=5, fail='start'."""
        self.netlab_config.write_text(json.dumps(knobs))

    def netlab_calls(self):
        if not self.netlab_log.exists():
            return []
        out = []
        for line in self.netlab_log.read_text().splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
        return out

    def netlab_subcommands(self):
        """The netlab subcommand of every logged invocation, e.g. ['down', 'up', 'inspect', ...]."""
        res = []
        for c in self.netlab_calls():
            if c.get("event") != "start":
                continue
            argv = c.get("argv") or []
            args = argv[1:] if argv and os.path.basename(str(argv[0])) in ("netlab", "netlab-sim") else argv
            res.append(args[0] if args else "")
        return res

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def session_count(self):
        """Sessions the server tracks, from /debug/health when available."""
        st, body = http("GET", self.url + "/debug/health")
        if st != 200:
            return None
        return json.loads(body)["sessions"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.stderr()
        for m in SANITIZER_MARKERS:
            if m in err:
                pytest.fail(f"sanitizer report in server stderr:\n{err[-6000:]}")


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(*args, env=None):
        s = Server(tmp_path / f"server{len(servers)}", args, env)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


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
