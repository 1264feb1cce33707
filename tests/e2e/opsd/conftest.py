"""Harness for the ops-worker e2e tests: the real daemon on loopback, the fake WinRM
endpoint, a UDP listener for magic packets, SQLite or a real MariaDB started here."""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("RL_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", "..", ".."))
BIN = os.environ.get("RL_BIN_DIR") or os.path.join(SRC, "build", "bin")
WORKER = os.path.join(BIN, "ops-worker")
sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e", "lib"))  # rawhttp, promtext

from fake_winrm_harness import DOMAIN, PASSWORD, USER, FakeWinRM  # noqa: E402

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                   "ERROR: UndefinedBehaviorSanitizer")
EXE = "C:\\LabStation\\LabStation.exe"
HEARTBEAT_PATH = "C:\\LabStation\\labstation\\data\\telemetry\\heartbeat.json"
EVENTS_PATH = "C:\\LabStation\\labstation\\data\\telemetry\\session-guard-events.jsonl"
MAC = "00:11:22:33:44:55"


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_sanitizers(text, what):
    for mark in SANITIZER_MARKS:
        assert mark not in text, "%s: sanitizer report in stderr:\n%s" % (what, text[-6000:])


# ---- magic packets ------------------------------------------------------------------------

class UdpListener:
    """Collects datagrams sent to 127.0.0.1:<port> (the only WoL destination tests use)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.packets.append((data, addr))

    def wait(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.packets) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.packets

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def udp():
    listener = UdpListener()
    yield listener
    listener.stop()


def magic_packet(mac=MAC):
    raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    return b"\xff" * 6 + raw * 16


# ---- MariaDB --------------------------------------------------------------------------------

class MariaDB:
    """A throwaway mariadbd on 127.0.0.1 in its own datadir (no grant tables unless asked:
    then root has no password and other users get what tests grant them)."""

    def __init__(self, base, grants=False):
        self.base = base
        self.grants = grants
        self.datadir = os.path.join(base, "data")
        self.socket = os.path.join(base, "mysqld.sock")
        self.port = free_port()
        self.proc = None
        self.log_path = os.path.join(base, "mariadbd.log")

    def install(self):
        os.makedirs(self.datadir, exist_ok=True)
        with open(os.path.join(self.base, "install.log"), "w") as log:
            subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + self.datadir,
                            "--auth-root-authentication-method=normal", "--skip-test-db",
                            # no DNS or /etc/hosts needed: the tests use 127.0.0.1 only
                            # (--force is the script's switch for "host name does not resolve")
                            "--skip-name-resolve", "--force", "--user=root"],
                           check=True, stdout=log, stderr=subprocess.STDOUT, timeout=180)

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--datadir=" + self.datadir, "--socket=" + self.socket,
             "--port=%d" % self.port, "--bind-address=127.0.0.1", "--user=root",
             "--skip-log-bin", "--innodb-buffer-pool-size=32M",
             "--innodb-log-file-size=16M", "--pid-file=" + os.path.join(self.base, "pid"),
             "--log-error=" + self.log_path, "--skip-name-resolve"]
            + ([] if self.grants else ["--skip-grant-tables"]),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            r = subprocess.run(self._cli() + ["-e", "SELECT 1"], capture_output=True, timeout=30)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("mariadbd did not start:\n" + self.read_log()[-4000:])

    def read_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()

    def _cli(self, database=None):
        args = ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(self.port), "-u", "root",
                "--batch", "--raw", "--skip-column-names", "--connect-timeout=5"]
        if database:
            args.append("--database=" + database)
        return args

    def sql(self, statement, database=None):
        r = subprocess.run(self._cli(database) + ["-e", statement], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("mariadb: %s\n%s" % (statement, r.stderr))
        rows = []
        for line in r.stdout.splitlines():
            rows.append(tuple(None if c == "NULL" else c for c in line.split("\t")))
        return rows

    def dsn(self, database, scheme="mysql+pymysql"):
        return "%s://root:@127.0.0.1:%d/%s" % (scheme, self.port, database)


def start_mariadb(base, grants=False):
    os.makedirs(base, exist_ok=True)
    db = MariaDB(base, grants)
    db.install()
    db.start()
    return db


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("mariadb"))
    try:
        db = start_mariadb(base)
    except Exception as e:  # noqa: BLE001 — a MariaDB run must fail, never skip
        pytest.fail("cannot start mariadbd: %s" % e)
    yield db
    db.stop()


_db_counter = [0]


class Db:
    """What tests use to look at (and seed) the database the worker writes."""

    def __init__(self, kind, env, sqlite_path=None, server=None, name=None):
        self.kind = kind
        self.env = env
        self.sqlite_path = sqlite_path
        self.server = server
        self.name = name

    def query(self, statement):
        if self.kind == "sqlite":
            con = sqlite3.connect(self.sqlite_path, timeout=30)
            try:
                rows = con.execute(statement).fetchall()
                con.commit()
            finally:
                con.close()
            return [tuple(None if v is None else str(v) for v in row) for row in rows]
        return self.server.sql(statement, self.name)

    def execute(self, statement):
        self.query(statement)

    def wait_for(self, statement, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        rows = None
        while time.monotonic() < deadline:
            try:
                rows = self.query(statement)
                if predicate(rows):
                    return rows
            except (sqlite3.OperationalError, RuntimeError):
                pass
            time.sleep(0.1)
        raise AssertionError("timed out waiting on %r, last rows %r" % (statement, rows))


def make_db(kind, tmp_path, request):
    if kind == "sqlite":
        path = str(tmp_path / "ops.db")
        return Db("sqlite", {"OPS_SQLITE_PATH": path, "OPS_DB": "sqlite"}, sqlite_path=path)
    server = request.getfixturevalue("mariadb_server")
    _db_counter[0] += 1
    name = "ops_%d_%d" % (os.getpid(), _db_counter[0])
    server.sql("CREATE DATABASE %s CHARACTER SET utf8mb4" % name)
    return Db("mysql", {"MYSQL_DSN": server.dsn(name)}, server=server, name=name)


@pytest.fixture(params=["sqlite", "mariadb"])
def db(request, tmp_path):
    return make_db(request.param, tmp_path, request)


# ---- fake WinRM ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    f = FakeWinRM(str(tmp_path_factory.mktemp("fake-winrm")), auth="basic")
    yield f
    f.stop()


@pytest.fixture
def winrm(fake):
    fake.set_script({})
    return fake


def heartbeat_doc(ready=True, local_mode=True, local_session=False, ts="2026-01-01T12:00:00Z"):
    return {
        "timestamp": ts, "host": "LAB-WS-01", "version": "1.4.0",
        "summary": {"state": "ready" if ready else "needs-action", "ready": ready, "issues": []},
        "operations": {
            "lastForcedLogoff": {"timestamp": "2026-01-01T11:00:00Z", "user": "labuser"},
            "lastPowerAction": {"timestamp": "2026-01-01T10:00:00+01:00", "mode": "shutdown"},
        },
        "status": {"schemaVersion": "1.0.0", "localModeEnabled": local_mode,
                   "localSessionActive": local_session},
    }


def station(fake_port, name="lab-ws-01", labs=("1",), udp_port=9, **extra):
    h = {
        "name": name, "address": "127.0.0.1", "mac": MAC,
        "winrm_user": "env:WINRM_USER_LAB", "winrm_pass": "env:WINRM_PASS_LAB",
        "winrm_transport": "basic", "winrm_port": fake_port, "labs": list(labs),
        "broadcast": "127.0.0.1", "wol_port": udp_port, "ping_target": "127.0.0.1",
    }
    h.update(extra)
    return h


# ---- the worker ----------------------------------------------------------------------------------

class Worker:
    def __init__(self, tmp, hosts=None, env=None, hosts_text=None):
        self.tmp = tmp
        os.makedirs(tmp, exist_ok=True)
        self.state = os.path.join(tmp, "state")
        os.makedirs(self.state, exist_ok=True)
        self.hosts_path = os.path.join(tmp, "hosts.json")
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.stderr_path = os.path.join(tmp, "ops-worker.stderr")
        self.proc = None
        self.allow_failure = False
        self.write_hosts(hosts if hosts is not None else [], hosts_text)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OPS_BIND": "127.0.0.1", "OPS_PORT": str(self.port), "OPS_CONFIG": self.hosts_path,
            "OPS_STATE_DIR": self.state, "OPS_LOG_LEVEL": "DEBUG",
            "WINRM_USER_LAB": USER, "WINRM_PASS_LAB": PASSWORD,
            "OPS_WINRM_READ_TIMEOUT": "10", "OPS_WINRM_OPERATION_TIMEOUT": "5",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:strict_string_checks=1",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        }
        self.env.update(env or {})

    def write_hosts(self, hosts, text=None):
        tmp = self.hosts_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text if text is not None else json.dumps({"hosts": hosts}))
        os.rename(tmp, self.hosts_path)

    def start(self, wait=True):
        self.stderr = open(self.stderr_path, "a")
        self.proc = subprocess.Popen([WORKER], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, start_new_session=True)
        if not wait:
            return self
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ops-worker exited with %s:\n%s"
                                   % (self.proc.returncode, self.log()))
            try:
                requests.get(self.base + "/health", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("ops-worker did not answer:\n" + self.log())

    def log(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            time.sleep(0.05)
        raise AssertionError("%r not in the log:\n%s" % (text, self.log()[-4000:]))

    def url(self, path):
        return self.base + path

    def get(self, path, **kw):
        kw.setdefault("timeout", 60)
        return requests.get(self.url(path), **kw)

    def post(self, path, body=None, **kw):
        kw.setdefault("timeout", 120)
        if body is not None and "data" not in kw:
            kw["json"] = body
        return requests.post(self.url(path), **kw)

    def stop(self, check=True):
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                rc = self.proc.wait(timeout=10)
                if check:
                    raise AssertionError("ops-worker did not stop on SIGTERM:\n" + self.log())
        self.stderr.close()
        self.proc = None
        if check:
            check_sanitizers(self.log(), "ops-worker")
        return rc


@pytest.fixture
def make_worker(tmp_path):
    workers = []

    def _make(hosts=None, env=None, hosts_text=None, start=True, name=None):
        w = Worker(str(tmp_path / (name or "w%d" % len(workers))), hosts, env, hosts_text)
        workers.append(w)
        if start:
            w.start()
        return w

    yield _make
    errors = []
    for w in workers:
        try:
            rc = w.stop()
            if rc not in (0, None) and not w.allow_failure:
                errors.append("ops-worker exited %s:\n%s" % (rc, w.log()[-3000:]))
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors))


def no_secret(text):
    assert PASSWORD not in text


def wait_db_ready(w, timeout=30):
    """Until the worker reports a working database connection (the schema is then there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if w.get("/health").json()["db_connected"]:
            return
        w.get("/api/reservations/timeline?reservationId=warmup")
        time.sleep(0.1)
    raise AssertionError("database never connected:\n" + w.log()[-3000:])


def db_time(offset_s=0.0):
    """UTC wall clock as stored in DATETIME/TIMESTAMP columns."""
    import datetime
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def seed_reservation(db, rid, lab="lab-1", status="CONFIRMED", start=None, end=None):
    db.execute("INSERT INTO lab_reservations (transaction_hash, user_id, wallet_address, lab_id, "
               "start_time, end_time, status, created_at, updated_at) VALUES ('%s', 1, '0xw', "
               "'%s', '%s', '%s', '%s', '2025-12-31 00:00:00', '2025-12-31 00:00:00')"
               % (rid, lab, start or "2026-01-01 12:00:00", end or "2026-01-01 13:00:00", status))
