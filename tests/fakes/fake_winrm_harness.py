"""Start and drive tests/fakes/fake_winrm.py from tests (pytest-independent helpers)."""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_winrm.py")
PYTHON = "/usr/bin/python3"  # Debian's interpreter: python3-gssapi lives there

USER = "labuser"
DOMAIN = "WORKGROUP"
# Distinctive so a leak into any output or log is easy to spot.
PASSWORD = "Pa55-w0rd-x7Q!kz"


def write_users(directory, users=((DOMAIN, USER, PASSWORD),)):
    """A DOMAIN:USER:PASSWORD file in the format gssntlmssp(8) reads via NTLM_USER_FILE."""
    path = os.path.join(directory, "ntlm-users")
    with open(path, "w") as f:
        for dom, user, pwd in users:
            f.write("%s:%s:%s\n" % (dom, user, pwd))
    os.chmod(path, 0o600)
    return path


def make_tls_cert(directory, name="fake-winrm"):
    """A self-signed certificate for 127.0.0.1/localhost made with the openssl CLI."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return cert, key


def legacy_openssl_conf(directory):
    """OpenSSL config enabling the legacy provider (MD4) for python-ntlm-auth (pywinrm)."""
    path = os.path.join(directory, "openssl-legacy.cnf")
    with open(path, "w") as f:
        f.write("openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"
                "[provider_sect]\ndefault = default_sect\nlegacy = legacy_sect\n"
                "[default_sect]\nactivate = 1\n[legacy_sect]\nactivate = 1\n")
    return path


class FakeWinRM:
    """One fake endpoint process with its script file and JSONL request log."""

    def __init__(self, directory, auth="basic", tls=None, shell_id_shape="both",
                 allow_unencrypted=False, users=None, script=None):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.script_path = os.path.join(directory, "script.json")
        self.log_path = os.path.join(directory, "requests.jsonl")
        self.port_path = os.path.join(directory, "port")
        self.users = users or write_users(directory)
        self.tls = tls
        self.set_script(script or {})
        args = [PYTHON, FAKE, "--auth", auth, "--users", self.users,
                "--script", self.script_path, "--log", self.log_path,
                "--port-file", self.port_path, "--shell-id-shape", shell_id_shape,
                "--max-lifetime", "900"]
        if tls:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if allow_unencrypted:
            args.append("--allow-unencrypted")
        self.stderr_path = os.path.join(directory, "fake.stderr")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     start_new_session=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.port_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fake WinRM did not start: " + self.read_stderr())
            time.sleep(0.05)
        with open(self.port_path) as f:
            self.port = int(f.read().strip())
        self.scheme = "https" if tls else "http"
        self.url = "%s://127.0.0.1:%d/wsman" % (self.scheme, self.port)

    def set_script(self, script):
        """Replace the command table; the fake reloads it (and resets inject counters)."""
        tmp = self.script_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(script, f)
        os.rename(tmp, self.script_path)

    def mark(self):
        """The number of requests that have arrived so far, for entries(since=...)."""
        try:
            with open(self.log_path + ".seq") as f:
                return int(f.read())
        except FileNotFoundError:
            return 0

    def entries(self, since=0):
        """Logged requests that arrived after mark `since`, in arrival order.

        The fake logs a request when it answers it, so the file's order is completion
        order: a request the client gave up on may be logged after later ones, even after
        a later test's mark. Arrival numbers put both right."""
        try:
            with open(self.log_path) as f:
                lines = f.readlines()
        except FileNotFoundError:
            return []
        entries = [json.loads(line) for line in lines if line.strip()]
        return sorted((e for e in entries if e["seq"] > since), key=lambda e: e["seq"])

    def actions(self, since=0):
        """SOAP actions in order (handshake legs and refused requests left out)."""
        return [e["action"] for e in self.entries(since)
                if e.get("action") and e.get("action") != "auth"]

    def read_stderr(self):
        if not self.stderr.closed:
            self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.stderr.close()


def run_pywinrm(url, transport, code, env_extra=None, ca_file=None, timeout=60):
    """Run pywinrm (Debian python3-winrm) in a subprocess; `code` uses `session`.
    pywinrm 0.3 ignores server_cert_validation='ignore' (requests' env merge turns
    verification back on), so https needs the CA file."""
    prog = ("import json, sys, winrm\n"
            "session = winrm.Session(%r, auth=(%r, %r), transport=%r, ca_trust_path=%r)\n"
            % (url, USER, PASSWORD, transport, ca_file) + code)
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([PYTHON, "-c", prog], capture_output=True, text=True, env=env,
                          timeout=timeout)
