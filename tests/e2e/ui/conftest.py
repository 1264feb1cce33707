"""Fixtures for the status page suite: the real neops-remote-lab (../lib/labd_harness.py) and
Debian's chromium driven by playwright-core (driver.js, one process for the whole run).

playwright-core comes from npm: `npm ci` installs package-lock.json's exact version into the
build tree (<build>/tests/e2e/ui/node_modules) when it is missing or the lock file changed.
The browser is /usr/bin/chromium (Debian's package); playwright's own browser downloads are
never used. Every wait is a condition with a generous deadline, never a sleep.
"""
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

from labd_harness import REPO, Server, servers  # noqa: E402,F401 (the tests import Server from here)

WAIT = 30.0  # s: deadline of one wait in the page (a loaded 2-core box is slow, never wrong)
CHROMIUM = "/usr/bin/chromium"


def build_dir():
    return Path(os.environ.get("RL_BUILD_DIR") or REPO / "build")


def artifact_dir():
    d = build_dir() / "tests" / "e2e" / "ui"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def node_modules():
    """playwright-core, installed reproducibly (npm ci from the lock file) into the build
    tree; again only when the lock file changed."""
    dest = artifact_dir() / "npm"
    lock = (HERE / "package-lock.json").read_bytes()
    stamp = dest / "node_modules" / ".installed-lock.json"
    if not stamp.exists() or stamp.read_bytes() != lock:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HERE / name, dest / name)
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                           cwd=dest, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"npm ci failed:\n{r.stdout}\n{r.stderr}"
        stamp.write_bytes(lock)
    return dest / "node_modules"


class Browser:
    """driver.js over a pipe: call(op, **args) returns the op's value or raises
    AssertionError with playwright's message (which names the selector and the deadline)."""

    def __init__(self, node_modules, workdir):
        assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (Debian package chromium)"
        assert shutil.which("node"), "node is missing (Debian package nodejs)"
        workdir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = workdir / "driver.log"
        self._stderr = open(self.stderr_path, "wb")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(workdir),
            "TMPDIR": str(workdir),  # playwright's fresh --user-data-dir for each launch
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "UI_NODE_MODULES": str(node_modules),
            "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
        }
        self.proc = subprocess.Popen(["node", str(HERE / "driver.js")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, env=env,
                                     cwd=workdir)
        self._answers = queue.Queue()
        self._id = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.version = self.call("launch", executable=CHROMIUM, timeout=120_000)

    def _read(self):
        for line in self.proc.stdout:
            self._answers.put(json.loads(line))
        self._answers.put(None)

    def call(self, op, **args):
        self._id += 1
        args.setdefault("timeout", WAIT * 1000)
        self.proc.stdin.write((json.dumps({"id": self._id, "op": op, **args}) + "\n").encode())
        self.proc.stdin.flush()
        try:
            # the driver's own deadlines come first; this one only catches a stuck driver
            answer = self._answers.get(timeout=args["timeout"] / 1000 + 60)
        except queue.Empty:
            raise AssertionError(f"browser driver did not answer {op}") from None
        if answer is None:
            raise AssertionError(f"browser driver exited:\n{self.stderr_path.read_text()}")
        assert answer["id"] == self._id, answer
        if not answer["ok"]:
            raise AssertionError(f"{op} {args}: {answer['error']}")
        return answer.get("value")

    def close(self):
        try:
            self.call("close")
        finally:
            self.proc.stdin.close()
            self.proc.wait(60)
            self._stderr.close()


class Page:
    """The page of a fresh browser context (its own sessionStorage, no cookies)."""

    def __init__(self, browser):
        self.b = browser
        self.b.call("newPage")

    def goto(self, url):
        return self.b.call("goto", url=url)

    def url(self):
        return self.b.call("url")

    def wait(self, selector, text=None, state="visible"):
        """Until an element matching selector (and containing text) reaches state
        (visible, attached, hidden, detached)."""
        args = {"selector": selector, "state": state}
        if text is not None:
            args["text"] = text
        return self.b.call("waitFor", **args)

    def wait_until(self, fn, arg=None):
        """Until the page function fn (JS source) returns a truthy value; returns it."""
        return self.b.call("waitForFunction", fn=fn, arg=arg)

    def eval(self, fn, arg=None):
        return self.b.call("evaluate", fn=fn, arg=arg)

    def texts(self, selector, text=None):
        args = {"selector": selector}
        if text is not None:
            args["text"] = text
        return self.b.call("texts", **args)

    def count(self, selector):
        return self.b.call("count", selector=selector)

    def click(self, selector, text=None):
        args = {"selector": selector}
        if text is not None:
            args["text"] = text
        return self.b.call("click", **args)

    def fill(self, selector, value):
        return self.b.call("fill", selector=selector, value=value)

    def content(self):
        return self.b.call("content")

    def screenshot(self, path):
        return self.b.call("screenshot", path=str(path))

    def log(self):
        """{requests: [{method, url, headers}], errors, dialogs, navigations}"""
        return self.b.call("log")


@pytest.fixture(scope="session")
def browser(node_modules, tmp_path_factory):
    b = Browser(node_modules, tmp_path_factory.mktemp("browser"))
    yield b
    b.close()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    # No script error and no Content-Security-Policy violation ("Refused to ...") on any page
    # of the suite. Chromium also reports every failed fetch as a console error; those are
    # the tests' own doing (401 before a token, a stopped server) and are left out.
    errors = [e for e in p.log()["errors"] if "Failed to load resource" not in e]
    assert errors == []


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(args=[...]) -> a started Server; all are stopped (SIGTERM,
    sanitizer check) at teardown."""
    with servers(tmp_path, start_timeout=60) as make:
        yield make


@pytest.fixture
def server(make_server):
    return make_server()


def token_server(root, option, token):
    """A started Server whose token `option` (--token-file, --admin-token-file) names a
    0600 file holding `token`; the caller stops it (module fixtures share one)."""
    f = root / "token"
    f.write_text(token + "\n")
    f.chmod(0o600)
    return Server(root / "srv", args=[option, str(f)]).start(timeout=60)


def new_session(server, label=None, priority=None):
    """POST /session with a JSON body (so the answer names the handle): (id, handle)."""
    body = {}
    if label is not None:
        body["label"] = label
    if priority is not None:
        body["priority"] = priority
    r = server.post("/session", json=body)
    assert r.status_code == 201, r.text
    return r.json()["session_id"], r.json()["handle"]


def row(table, key, value):
    return f'#{table} tbody tr[data-{key}="{value}"]'
