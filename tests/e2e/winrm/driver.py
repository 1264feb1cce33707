"""Run the test-only winrm_driver (the C WinRM client) and check what it printed."""

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fakes"))

import fake_winrm_harness as fw  # noqa: E402

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "UndefinedBehaviorSanitizer")


def driver_path():
    if os.environ.get("RL_BUILD_DIR"):
        path = os.path.join(os.environ["RL_BUILD_DIR"], "tests", "bin", "winrm_driver")
    elif os.environ.get("RL_BIN_DIR"):
        path = os.path.join(os.environ["RL_BIN_DIR"], "..", "tests", "bin", "winrm_driver")
    else:
        pytest.fail("RL_BUILD_DIR is not set (run through ctest)")
    if not os.access(path, os.X_OK):
        pytest.fail("winrm_driver not built: %s" % path)
    return path


class Result:
    def __init__(self, proc, elapsed):
        self.proc = proc
        self.elapsed = elapsed
        self.lines = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
        self.json = self.lines[0] if self.lines else {}

    def __getitem__(self, key):
        return self.json[key]

    def get(self, key, default=None):
        return self.json.get(key, default)

    @property
    def stdout(self):
        import base64
        return base64.b64decode(self.json["stdout_b64"])

    @property
    def stderr(self):
        import base64
        return base64.b64decode(self.json["stderr_b64"])


def run_driver(*args, password=fw.PASSWORD, timeout=120):
    """Run winrm_driver; fail on sanitizer reports or on the password showing up anywhere."""
    env = dict(os.environ)
    env.update({
        "WINRM_PASSWORD": password,
        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:strict_string_checks=1:"
                        "detect_stack_use_after_return=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    })
    start = time.monotonic()
    proc = subprocess.run([driver_path()] + [str(a) for a in args], capture_output=True,
                          text=True, env=env, timeout=timeout)
    res = Result(proc, time.monotonic() - start)
    for marker in SANITIZER_MARKERS:
        assert marker not in proc.stderr, proc.stderr
    assert password not in proc.stdout and password not in proc.stderr
    assert res.lines, "no result line; stderr: " + proc.stderr
    assert proc.returncode == (0 if all(l["rc"] == 0 for l in res.lines) else 1)
    return res


