"""CLI, /health, error contract, hosts.json loading, reload, quarantine, access control."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import requests

from conftest import (EVENTS_PATH, EXE, HEARTBEAT_PATH, MAC, PASSWORD, WORKER, Db,
                      check_sanitizers, seed_reservation, station)

# The original's four tables (mysql/002-labstation-ops.sql), columns in order.
ORIGINAL_COLUMNS = {
    "lab_hosts": ["id", "name", "address", "mac", "mode", "last_seen", "created_at",
                  "updated_at"],
    "lab_host_heartbeat": ["id", "host_id", "timestamp_utc", "ready", "local_mode",
                           "local_session", "last_forced_logoff_ts", "last_forced_logoff_user",
                           "last_power_action_ts", "last_power_action_mode", "raw_json",
                           "created_at"],
    "lab_host_events": ["id", "host_id", "kind", "timestamp_utc", "payload", "created_at"],
    "reservation_operations": ["id", "reservation_id", "lab_id", "host", "action", "status",
                               "success", "response_code", "duration_ms", "payload", "message",
                               "created_at"],
}


def test_help_and_version():
    r = subprocess.run([WORKER, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert "OPS_PORT" in r.stdout and "MYSQL_DSN" in r.stdout
    for var, default in (("OPS_BIND", "0.0.0.0"), ("OPS_PORT", "8081"),
                         ("OPS_WINRM_READ_TIMEOUT", "30"), ("OPS_WINRM_OPERATION_TIMEOUT", "20"),
                         ("OPS_POLL_ENABLED", "false"), ("OPS_POLL_INTERVAL", "60"),
                         ("OPS_RESERVATION_AUTOMATION", "false"),
                         ("OPS_RESERVATION_SCAN_INTERVAL", "30"),
                         ("OPS_RESERVATION_START_LEAD", "120"), ("OPS_RESERVATION_END_DELAY", "60"),
                         ("OPS_RESERVATION_LOOKBACK", "21600"),
                         ("OPS_RESERVATION_RETRY_COOLDOWN", "60"),
                         ("OPS_RESERVATION_MAX_BATCH", "200"), ("OPS_TIMELINE_MAX_OPS", "500"),
                         ("OPS_TIMELINE_DEFAULT_LIMIT", "100"),
                         ("OPS_TIMELINE_PHASE_LOOKBACK", "500"), ("OPS_LOG_LEVEL", "INFO")):
        assert "%s [%s]" % (var, default) in r.stdout, var  # the original's defaults
    r = subprocess.run([WORKER, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("ops-worker ")
    r = subprocess.run([WORKER, "--bogus"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2


# Runs inside `unshare -n` (`-rn` when not root): a private network namespace, so port
# 8081 is surely free.
NETNS_PROBE = r"""
import subprocess, sys, time, urllib.error, urllib.request
worker, stderr_path = sys.argv[1], sys.argv[2]
for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", "10.1.2.3/32", "dev", "lo"],
            ["ip", "addr", "add", "172.16.5.5/32", "dev", "lo"]):
    subprocess.run(cmd, check=True)
env = {"PATH": "/usr/bin:/bin", "OPS_DB": "none", "OPS_CONFIG": "/nonexistent/hosts.json",
       "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0"}
with open(stderr_path, "w") as err:
    p = subprocess.Popen([worker], env=env, stdout=subprocess.DEVNULL, stderr=err)

def status(addr):
    try:
        return urllib.request.urlopen("http://%s:8081/health" % addr, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code

try:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen("http://127.0.0.1:8081/health", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    print(status("127.0.0.1"), status("172.16.5.5"), status("10.1.2.3"))
finally:
    p.terminate()
    print(p.wait(timeout=60))
"""


def test_default_bind_port_and_networks(tmp_path):
    """Without OPS_BIND, OPS_PORT and OPS_ALLOWED_NETWORKS: 0.0.0.0:8081, loopback and
    172.16.0.0/12 clients allowed, any other client 403 (requests to the namespace's own
    addresses come from those addresses)."""
    probe = tmp_path / "probe.py"
    probe.write_text(NETNS_PROBE)
    stderr_path = tmp_path / "ops-worker.stderr"
    # As root a plain network namespace will do (and works in a chroot, where the kernel
    # refuses user namespaces); otherwise map ourselves to root in a user namespace.
    flags = "-n" if os.geteuid() == 0 else "-rn"
    r = subprocess.run(["unshare", flags, "--", sys.executable, str(probe), WORKER,
                        str(stderr_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["200", "200", "403", "0"], (r.stdout, stderr_path.read_text())
    check_sanitizers(stderr_path.read_text(), "ops-worker")


def test_bad_configuration_exits_2(tmp_path):
    for env in ({"OPS_PORT": "http"}, {"OPS_POLL_INTERVAL": "abc"},
                {"OPS_WINRM_READ_TIMEOUT": "5", "OPS_WINRM_OPERATION_TIMEOUT": "20"},
                {"OPS_ALLOWED_NETWORKS": "10.0.0.0/33"}, {"OPS_DB": "oracle"},
                {"OPS_LOG_LEVEL": "LOUD"}, {"OPS_RESERVATION_LOOKBACK": "6h"},
                {"OPS_REACH_METHOD": "tcp:0"}, {"OPS_DB": "mysql"}):
        r = subprocess.run([WORKER], env=dict(env, PATH="/usr/bin:/bin",
                                                 OPS_STATE_DIR=str(tmp_path)),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (env, r.stderr)
        assert "ops-worker:" in r.stderr


def test_health_and_error_contract(make_worker, winrm):
    w = make_worker([station(winrm.port), station(winrm.port, name="lab-ws-02")])
    r = w.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["hosts_loaded"] == 2 and body["db"] is True
    assert body["db_backend"] == "sqlite"
    r = requests.head(w.url("/health"), timeout=10)
    assert r.status_code == 200
    r = w.get("/nope")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}
    assert r.headers["Content-Type"] == "application/json"
    r = w.post("/health")
    assert r.status_code == 405 and r.json() == {"error": "Method Not Allowed"}
    assert "GET" in r.headers["Allow"]
    r = w.get("/api/wol")
    assert r.status_code == 405 and "error" in r.json()
    # malformed JSON is read as {} (the original's force/silent parsing) ...
    r = w.post("/api/winrm", data="{nope", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json() == {"error": "host and command are required"}
    # ... valid JSON that is not an object is a 400 of its own
    r = w.post("/api/winrm", data="[1,2]")
    assert r.status_code == 400 and r.json()["error"].startswith("invalid JSON body")
    # malformed numbers: 400 JSON (the original crashed with an HTML 500)
    r = w.post("/api/wol", {"mac": MAC, "attempts": "abc", "broadcast": "127.0.0.1"})
    assert r.status_code == 400 and "attempts" in r.json()["error"]
    r = w.post("/api/wol", {"mac": MAC, "port": 70000, "broadcast": "127.0.0.1"})
    assert r.status_code == 400 and "port" in r.json()["error"]
    # body limit
    r = w.post("/api/winrm", data="x" * 70000)
    assert r.status_code == 413 and "error" in r.json()


def test_hosts_defaults_env_refs_and_case_insensitive(make_worker, winrm, tmp_path):
    hosts = [{"name": "Lab-WS-01", "address": "127.0.0.1", "winrm_user": "env:WINRM_USER_LAB",
              "winrm_pass": "env:WINRM_PASS_LAB", "winrm_port": winrm.port,
              "winrm_transport": "basic", "labs": [" Lab-A ", 7, ""]},
             {"name": "no-address", "winrm_user": "u", "winrm_pass": "p"},
             {"address": "10.0.0.9", "winrm_user": "u", "winrm_pass": "p"}]
    w = make_worker(hosts)
    assert w.get("/health").json()["hosts_loaded"] == 1  # entries without name/address skipped
    winrm.set_script({"commands": [{"regex": r".*LabStation\.exe status", "stdout": "ok"}]})
    r = w.post("/api/winrm", {"host": "LAB-WS-01", "command": "status"})
    assert r.status_code == 200, r.text
    assert r.json()["stdout"] == "ok"
    # The default executable is used, with the command as the first argument.
    cmd = [e for e in winrm.entries() if e.get("action") == "Command"][-1]
    assert "C:\\LabStation\\LabStation.exe" in json.dumps(cmd) or "LabStation.exe" in str(cmd)


def test_default_sqlite_and_host_defaults_in_the_timeline(make_worker, winrm):
    """No database settings: SQLite in the state directory, WAL, the tables there before any
    request. The timeline's host.config shows every hosts.json default without the
    credentials, and a lab listed by two hosts maps to the first one not quarantined."""
    hosts = [{"name": "Lab-WS-01", "address": "10.9.8.7", "winrm_user": "u", "winrm_pass": "p",
              "labs": [" LAB-7 ", 8]},
             {"name": "lab-ws-02", "address": "10.9.8.6", "winrm_user": "u", "winrm_pass": "p",
              "labs": ["lab-7"]}]
    w = make_worker(hosts)
    path = os.path.join(w.state, "ops-worker.db")
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()
    assert set(ORIGINAL_COLUMNS) | {"lab_reservations", "ops_reservation_claims"} <= tables
    db = Db("sqlite", {}, sqlite_path=path)
    seed_reservation(db, "0xh1", lab="Lab-7")
    t = w.get("/api/reservations/timeline?reservationId=0xh1").json()
    assert t["host"] == {"name": "Lab-WS-01", "labId": "Lab-7", "config": {
        "name": "Lab-WS-01", "address": "10.9.8.7", "mac": None, "winrm_transport": "ntlm",
        "winrm_port": 5985, "labstation_exe": EXE, "heartbeat_path": HEARTBEAT_PATH,
        "events_path": EVENTS_PATH, "labs": ["lab-7", "8"], "quarantined": False,
        "ping_target": "10.9.8.7", "broadcast": "255.255.255.255", "wol_port": 9,
        "wake_attempts": 3}}
    assert w.post("/api/hosts/quarantine", {"host": "lab-ws-01"}).status_code == 200
    t = w.get("/api/reservations/timeline?reservationId=0xh1").json()
    assert t["host"]["name"] == "lab-ws-02"


def test_schema_created_at_startup(make_worker, db):
    """Both backends create the original tables (and ours) at startup, with no request
    touching the database; MariaDB through the mysql+pymysql:// DSN form."""
    if db.kind == "mysql":
        assert db.env["MYSQL_DSN"].startswith("mysql+pymysql://")
    make_worker(env=db.env)
    for table, columns in ORIGINAL_COLUMNS.items():
        if db.kind == "sqlite":
            sql = "SELECT name FROM pragma_table_info('%s') ORDER BY cid" % table
        else:
            sql = ("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                   "DATABASE() AND table_name = '%s' ORDER BY ordinal_position" % table)
        db.wait_for(sql, lambda rows, want=columns: [r[0] for r in rows] == want, timeout=30)
    # created after the tables above (with MariaDB at the first connection, one statement
    # at a time, while the worker already answers): wait for them too
    for table in ("lab_reservations", "ops_reservation_claims"):
        db.wait_for("SELECT COUNT(*) FROM %s" % table, lambda rows: rows == [("0",)], timeout=30)


def test_missing_credentials_abort_startup(make_worker, tmp_path):
    w = make_worker([{"name": "a", "address": "127.0.0.1", "winrm_user": "env:NOT_SET_ANYWHERE",
                      "winrm_pass": "x"}], start=False)
    w.allow_failure = True
    w.start(wait=False)
    rc = w.proc.wait(timeout=30)
    assert rc != 0
    log = w.log()
    assert "NOT_SET_ANYWHERE" in log  # the warning names the variable
    assert "Missing WinRM credentials for host a" in log


def test_missing_hosts_file_is_empty(make_worker, tmp_path):
    w = make_worker(start=False)
    w.env["OPS_CONFIG"] = str(tmp_path / "does-not-exist.json")
    w.start()
    assert w.get("/health").json()["hosts_loaded"] == 0
    assert "not found" in w.log()


def test_reload_swaps_and_keeps_old_on_error(make_worker, winrm):
    w = make_worker([station(winrm.port)])
    assert w.post("/api/hosts/quarantine", {"host": "lab-ws-01"}).status_code == 200
    assert w.get("/health").json()["hosts_loaded"] == 0
    w.write_hosts([station(winrm.port), station(winrm.port, name="lab-ws-02"),
                   station(winrm.port, name="lab-ws-03", quarantined=True)])
    r = w.post("/api/hosts/reload")
    assert r.status_code == 200 and r.json() == {"reloaded": True, "hosts": 3}
    # quarantine goes back to the file's values
    assert w.get("/health").json()["hosts_loaded"] == 2
    w.write_hosts(None, text="{broken")
    r = w.post("/api/hosts/reload")
    assert r.status_code == 500 and "error" in r.json()
    w.write_hosts([{"name": "x", "address": "127.0.0.1", "winrm_user": "u"}])
    r = w.post("/api/hosts/reload")
    assert r.status_code == 500
    assert r.json() == {"error": "Missing WinRM credentials for host x"}
    assert w.get("/health").json()["hosts_loaded"] == 2  # old registry still active


def test_sighup_reloads_and_read_errors_stay_generic(make_worker, winrm):
    w = make_worker([station(winrm.port)])
    w.write_hosts([station(winrm.port), station(winrm.port, name="lab-ws-02")])
    w.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and w.get("/health").json()["hosts_loaded"] != 2:
        time.sleep(0.05)
    assert w.get("/health").json()["hosts_loaded"] == 2
    # an unreadable hosts file: our words, neither the path nor libc's text
    os.remove(w.hosts_path)
    os.mkdir(w.hosts_path)
    r = w.post("/api/hosts/reload")
    assert r.status_code == 500
    assert r.json() == {"error": "cannot read hosts file: not a regular file"}
    assert "hosts reload from %s failed" % w.hosts_path in w.log()  # the log names it
    assert w.get("/health").json()["hosts_loaded"] == 2
    os.rmdir(w.hosts_path)
    w.write_hosts([station(winrm.port)])


def test_quarantine(make_worker, winrm):
    w = make_worker([station(winrm.port)])
    r = w.post("/api/hosts/quarantine", {})
    assert r.status_code == 400 and r.json() == {"error": "host is required"}
    r = w.post("/api/hosts/quarantine", {"host": "nope"})
    assert r.status_code == 404 and r.json() == {"error": "host nope not found"}
    # not JSON content type: read as {} like the original (no force=True here)
    r = w.post("/api/hosts/quarantine", data=json.dumps({"host": "lab-ws-01"}),
               headers={"Content-Type": "text/plain"})
    assert r.status_code == 400
    r = w.post("/api/hosts/quarantine", {"name": "LAB-WS-01"})
    assert r.status_code == 200 and r.json() == {"host": "LAB-WS-01", "quarantined": True}
    assert w.get("/health").json()["hosts_loaded"] == 0
    # still addressable by name
    winrm.set_script({"default": {"stdout": "fine"}})
    assert w.post("/api/winrm", {"host": "lab-ws-01", "command": "status"}).status_code == 200
    r = w.post("/api/hosts/quarantine", {"host": "lab-ws-01", "quarantined": "off"})
    assert r.json() == {"host": "lab-ws-01", "quarantined": False}
    assert w.get("/health").json()["hosts_loaded"] == 1


def test_token_and_networks(make_worker, winrm):
    w = make_worker([station(winrm.port)], env={"LAB_MANAGER_TOKEN": "s3cret-token"})
    assert w.get("/health").status_code == 200
    r = w.post("/api/hosts/reload")
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    r = w.get("/nope")
    assert r.status_code == 401  # checked before routing
    r = w.post("/api/hosts/reload", headers={"X-Lab-Manager-Token": "wrong"})
    assert r.status_code == 401
    r = w.post("/api/hosts/reload", headers={"X-Lab-Manager-Token": "s3cret-token"})
    assert r.status_code == 200
    r = w.post("/api/hosts/reload", cookies={"lab_manager_token": "s3cret-token"})
    assert r.status_code == 200
    w2 = make_worker([station(winrm.port)], env={"LAB_MANAGER_TOKEN": "t",
                                                 "OPS_ALLOWED_NETWORKS": "10.0.0.0/8, 192.168.0.0/16"})
    # loopback is outside the list: 403 everywhere, /health included (the UI's probe)
    assert w2.get("/health").status_code == 403
    r = w2.post("/api/hosts/reload", headers={"X-Lab-Manager-Token": "t"})
    assert r.status_code == 403 and r.json() == {"error": "Forbidden"}
    # a bad token from outside gets 401 first, as behind OpenResty
    assert w2.post("/api/hosts/reload").status_code == 401
    w3 = make_worker([station(winrm.port)], env={"OPS_ALLOWED_NETWORKS": "127.0.0.1/32"})
    assert w3.post("/api/hosts/reload").status_code == 200


def test_password_never_leaks(make_worker, winrm):
    w = make_worker([station(winrm.port, labs=["9"])])
    winrm.set_script({"default": {"stdout": "x"}})
    bodies = [w.post("/api/winrm", {"host": "lab-ws-01", "command": "status"}).text,
              w.post("/api/winrm", {"host": "lab-ws-01", "command": "status",
                                    "password": "bad"}).text,
              w.post("/api/hosts/reload").text, w.get("/health").text]
    for b in bodies:
        assert PASSWORD not in b
    assert PASSWORD not in w.log()
