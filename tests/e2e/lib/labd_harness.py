"""Start the real neops-remote-lab binary on a loopback port, with netlab-sim as `netlab`.

Each server gets its own scratch directory: TMPDIR (lock files, metadata, uploads, netlab
work directories), HOME (netlab-sim's registry), a bin/ with `netlab` -> netlab-sim, a knob
file (FAKE_NETLAB_CONFIG) that tests rewrite while the server runs, and the simulator's
JSONL log of every invocation (FAKE_NETLAB_LOG). The server's stderr goes to a file that is
checked for sanitizer reports when the server stops.
"""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")
REPO = Path(__file__).resolve().parents[3]  # tests/e2e/lib/ -> repository


def bin_dir():
    return Path(os.environ.get("RL_BIN_DIR") or REPO / "build" / "bin")


def server_binary():
    return bin_dir() / "neops-remote-lab"


def netlab_sim():
    return bin_dir() / "netlab-sim"


class Server:
    """One neops-remote-lab process and its scratch world."""

    def __init__(self, root, args=(), env=None, netlab=True):
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.home = self.root / "home"
        self.bin = self.root / "bin"
        for d in (self.tmp, self.home, self.bin):
            d.mkdir(parents=True, exist_ok=True)
        if netlab:
            link = self.bin / "netlab"
            if not link.exists():
                link.symlink_to(netlab_sim())
        self.knob_file = self.root / "knobs.json"
        self.knob_file.write_text("{}")
        self.netlab_log = self.root / "netlab.jsonl"
        self.stderr_path = self.root / "server.log"
        self.args = list(args)
        self.env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "LANG": "C.UTF-8",
            "FAKE_NETLAB_CONFIG": str(self.knob_file),
            "FAKE_NETLAB_LOG": str(self.netlab_log),
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        }
        if env:
            self.env.update(env)
        self.proc = None
        self.port = None
        self.url = None
        self.fixed_port = None   # set (e.g. to free_port()) to keep one port across restarts
        self.http = requests.Session()

    # --- process ---

    def spawn(self, extra_args=()):
        """Start the process without waiting for readiness."""
        self._log = open(self.stderr_path, "ab")
        self._log_start = self._log.tell()
        cmd = [str(server_binary()), "--host", "127.0.0.1", "--port", str(self.fixed_port or 0),
               *self.args,
               *extra_args]
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log)
        return self.proc

    def start(self, timeout=15):
        """Spawn and wait until /healthz answers. With --port 0 the bound port is read from
        the instance metadata, which the server rewrites once it listens; with a fixed port
        the metadata names it before the server listens, so only /healthz tells."""
        self.spawn()
        if self.fixed_port:
            self.port, self.url = self.fixed_port, f"http://127.0.0.1:{self.fixed_port}"

            def healthy():
                try:
                    return self.get("/healthz", timeout=5).status_code == 204
                except requests.ConnectionError:
                    assert self.proc.poll() is None, self.log()
                    return False
            self.wait_for(healthy, timeout, "the server to listen")
            return self
        meta = self.tmp / "neops_remote_lab_server.meta.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = json.loads(meta.read_text())
            except (FileNotFoundError, ValueError):
                m = {}
            if m.get("pid") == self.proc.pid and m.get("port"):
                self.port = int(m["port"])
                self.url = f"http://127.0.0.1:{self.port}"
                break
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.02)
        else:
            raise AssertionError(f"server did not start:\n{self.log()}")
        self.wait_for(lambda: self.get("/healthz").status_code == 204, timeout)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop the server and return its exit code; sanitizer reports fail the test."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"server did not stop within {timeout}s:\n{self.log()}")
        self._log.close()
        self.http.close()
        self.check_sanitizers()
        return self.proc.returncode

    def check_sanitizers(self):
        text = self.log()
        for marker in SANITIZER_MARKERS:
            assert marker not in text, f"sanitizer report in server stderr:\n{text}"

    def log(self):
        """This server's stderr since it was spawned."""
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(getattr(self, "_log_start", 0))
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10):
        return self.wait_for(lambda: re.search(pattern, self.log()), timeout,
                             f"log line /{pattern}/")

    @staticmethod
    def wait_for(cond, timeout=10, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    # --- netlab-sim ---

    def knobs(self, **knobs):
        """Change netlab-sim's behaviour for its next invocations."""
        self.knob_file.write_text(json.dumps(knobs))

    def netlab_events(self):
        if not self.netlab_log.exists():
            return []
        return [json.loads(line) for line in self.netlab_log.read_text().splitlines() if line]

    def netlab_calls(self):
        """argv lists (without 'netlab') of every netlab invocation, in order."""
        return [e["argv"] for e in self.netlab_events() if e["event"] == "start"]

    def netlab_starts(self):
        return [e for e in self.netlab_events() if e["event"] == "start"]

    # --- HTTP ---

    def request(self, method, path, session=None, **kw):
        headers = kw.pop("headers", {})
        if session is not None:
            headers["X-Session-ID"] = session
        kw.setdefault("timeout", 30)
        return self.http.request(method, self.url + path, headers=headers, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def new_session(self):
        r = self.post("/session")
        assert r.status_code == 201, r.text
        return r.json()["session_id"]

    def acquire(self, session, topology=None, name="topology.yml", reuse=True, extra=(),
                **kw):
        """POST /lab; extra is a list of (filename, bytes)."""
        if topology is None:
            topology = TOPOLOGY
        files = [("topology", (name, topology, "application/x-yaml"))]
        files += [("extra_files", (fn, data, "application/octet-stream")) for fn, data in extra]
        data = {} if reuse is None else {"reuse": str(reuse).lower() if isinstance(reuse, bool)
                                         else reuse}
        return self.post("/lab", session=session, files=files, data=data, **kw)


# The one `netlab inspect` that returns every node's `--node` data (src/labd/netlab.c).
INSPECT_ALL = ["inspect", "-q", "--format", "json",
               'type(nodes)({n: dict(__import__("netsim.outputs.common", '
               'fromlist=["adjust_inventory_host"]).adjust_inventory_host(node=nodes[n], '
               'defaults=defaults, group_vars=True), _netlab_version=_netlab_version) '
               'for n in nodes})']

TOPOLOGY = b"provider: clab\ndefaults.device: frr\nnodes: [r1, r2]\nlinks: [r1-r2]\n"
OTHER_TOPOLOGY = b"provider: clab\ndefaults.device: frr\nnodes: [a, b, c]\n"


def free_port():
    """A loopback TCP port that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def servers(tmp_path, start_timeout=15):
    """For a pytest fixture: yields make(args=[...], env={...}, start=True, name=None,
    netlab=True) -> Server, each in its own directory below tmp_path; every server made is
    stopped (SIGTERM, sanitizer check) at the end."""
    made = []

    def make(args=(), env=None, start=True, name=None, netlab=True):
        s = Server(tmp_path / (name or f"srv{len(made)}"), args=args, env=env, netlab=netlab)
        made.append(s)
        if start:
            s.start(timeout=start_timeout)
        return s

    try:
        yield make
    finally:
        for s in made:
            if s.proc is not None:
                s.stop(timeout=120)
