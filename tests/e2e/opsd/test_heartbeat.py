"""POST /api/heartbeat/poll and the poller: reading over WinRM, persisting to SQLite or
MariaDB (the original's tables and mapping), and surviving a database outage."""

import json
import os
import re
import time

from conftest import (EVENTS_PATH, HEARTBEAT_PATH, SRC, free_port, heartbeat_doc,
                      start_mariadb, station, wait_db_ready)
from rawhttp import wait_until


def script(hb=None, events=None):
    files = {}
    if hb is not None:
        files[HEARTBEAT_PATH] = hb if isinstance(hb, str) else json.dumps(hb)
    if events is not None:
        files[EVENTS_PATH] = events
    return {"files": files}


EVENTS = ('{"timestamp":"2026-01-01T11:00:00Z","user":"a","event":"guard"}\r\n'
          '{"timestamp":"2026-01-01T11:30:00.250000+02:00","user":"labuser",'
          '"event":"session-started"}\r\n\r\n')


def test_poll_validation(make_worker, winrm):
    w = make_worker([station(winrm.port)], env={"OPS_DB": "none"})
    r = w.post("/api/heartbeat/poll", {})
    assert r.status_code == 400 and r.json() == {"error": "host is required"}
    r = w.post("/api/heartbeat/poll", {"host": "x"})
    assert r.status_code == 404 and r.json() == {"error": "host 'x' not found in config"}
    winrm.set_script(script())  # no file: the remote Get-Content fails
    r = w.post("/api/heartbeat/poll", {"host": "lab-ws-01"})
    assert r.status_code == 500 and r.json() == {"error": "WinRM read failed"}
    winrm.set_script(script(hb="{not json"))
    r = w.post("/api/heartbeat/poll", {"host": "lab-ws-01"})
    assert r.status_code == 500 and r.json() == {"error": "heartbeat.json is not valid JSON"}
    # the timeline needs a database
    r = w.get("/api/reservations/timeline?reservationId=x")
    assert r.status_code == 500 and r.json() == {"error": "Database not configured"}
    assert w.get("/health").json()["db"] is False


def test_poll_persists(make_worker, winrm, db):
    w = make_worker([station(winrm.port)], env=db.env)
    winrm.set_script(script(heartbeat_doc(), EVENTS))
    r = w.post("/api/heartbeat/poll", {"host": "LAB-WS-01"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["host"] == "LAB-WS-01"
    assert body["heartbeat"]["summary"]["ready"] is True
    assert body["heartbeat"]["status"]["localModeEnabled"] is True
    assert body["last_event"]["event"] == "session-started"
    assert body["duration_ms"] >= 0
    hosts = db.query("SELECT id, name, address, mac, last_seen, mode FROM lab_hosts")
    assert len(hosts) == 1
    hid, name, address, mac, last_seen, mode = hosts[0]
    assert (name, address, mac, mode) == ("lab-ws-01", "127.0.0.1", "00:11:22:33:44:55", "pure")
    assert last_seen.startswith("2026-01-01 12:00:00")  # the heartbeat's own time, UTC
    hb = db.query("SELECT host_id, timestamp_utc, ready, local_mode, local_session, "
                  "last_forced_logoff_ts, last_forced_logoff_user, last_power_action_ts, "
                  "last_power_action_mode, raw_json FROM lab_host_heartbeat")
    assert len(hb) == 1
    row = hb[0]
    assert row[0] == hid and row[1].startswith("2026-01-01 12:00:00")
    assert (row[2], row[3], row[4]) == ("1", "1", "0")
    assert row[5].startswith("2026-01-01 11:00:00") and row[6] == "labuser"
    assert row[7].startswith("2026-01-01 09:00:00")  # +01:00 converted to UTC
    assert row[8] == "shutdown"
    assert json.loads(row[9])["timestamp"] == "2026-01-01T12:00:00Z"
    ev = db.query("SELECT host_id, kind, timestamp_utc, payload FROM lab_host_events")
    assert len(ev) == 1 and ev[0][1] == "session-guard"
    assert ev[0][2].startswith("2026-01-01 09:30:00")
    assert json.loads(ev[0][3])["event"] == "session-started"
    # a second poll updates lab_hosts and inserts again (no de-duplication)
    winrm.set_script(script(heartbeat_doc(ready=False, ts="2026-01-02T00:00:00Z"), EVENTS))
    assert w.post("/api/heartbeat/poll", {"host": "lab-ws-01",
                                          "include_events": False}).status_code == 200
    assert db.query("SELECT COUNT(*) FROM lab_hosts") == [("1",)]
    assert db.query("SELECT COUNT(*) FROM lab_host_heartbeat") == [("2",)]
    assert db.query("SELECT COUNT(*) FROM lab_host_events") == [("1",)]
    assert db.query("SELECT last_seen FROM lab_hosts")[0][0].startswith("2026-01-02 00:00:00")


def test_events_are_optional(make_worker, winrm, db):
    w = make_worker([station(winrm.port)], env=db.env)
    winrm.set_script(script(heartbeat_doc()))  # heartbeat but no events file
    r = w.post("/api/heartbeat/poll", {"host": "lab-ws-01"})
    assert r.status_code == 200 and r.json()["last_event"] is None
    mark = winrm.mark()
    r = w.post("/api/heartbeat/poll", {"host": "lab-ws-01", "include_events": 0})
    assert r.status_code == 200
    # one read only (heartbeat), so one Command
    assert winrm.actions(mark).count("Command") == 1
    # a timestamp-less heartbeat falls back to now
    doc = heartbeat_doc()
    del doc["timestamp"]
    winrm.set_script(script(doc))
    assert w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}).status_code == 200
    assert db.query("SELECT COUNT(*) FROM lab_host_heartbeat") == [("3",)]


def test_poller_polls_active_hosts(make_worker, winrm, db):
    hosts = [station(winrm.port), station(winrm.port, name="lab-ws-02"),
             station(winrm.port, name="lab-ws-03", quarantined=True)]
    winrm.set_script(script(heartbeat_doc(), EVENTS))
    w = make_worker(hosts, env=dict(db.env, OPS_POLL_ENABLED="TRUE", OPS_POLL_INTERVAL="0.5"))
    db.wait_for("SELECT name FROM lab_hosts ORDER BY name",
                lambda rows: [r[0] for r in rows] == ["lab-ws-01", "lab-ws-02"])
    db.wait_for("SELECT COUNT(*) FROM lab_host_heartbeat", lambda rows: int(rows[0][0]) >= 4)
    assert db.query("SELECT COUNT(*) FROM lab_hosts WHERE name = 'lab-ws-03'") == [("0",)]
    # quarantine at runtime removes a host from the poll; a run in flight may still poll it,
    # so count from the end of the next run on
    w.post("/api/hosts/quarantine", {"host": "lab-ws-02"})
    k = w.log().count("heartbeat poll finished")
    wait_until(lambda: w.log().count("heartbeat poll finished") > k, 30,
               "the poll run in flight to end")
    n = int(db.query("SELECT COUNT(*) FROM lab_host_heartbeat h JOIN lab_hosts l "
                     "ON l.id = h.host_id WHERE l.name = 'lab-ws-02'")[0][0])
    time.sleep(1.2)
    assert int(db.query("SELECT COUNT(*) FROM lab_host_heartbeat h JOIN lab_hosts l "
                        "ON l.id = h.host_id WHERE l.name = 'lab-ws-02'")[0][0]) == n


def test_poller_off_unless_exactly_true(make_worker, winrm, db):
    winrm.set_script(script(heartbeat_doc()))
    w = make_worker([station(winrm.port)], env=dict(db.env, OPS_POLL_ENABLED="1",
                                                    OPS_POLL_INTERVAL="0.2"))
    wait_db_ready(w)  # the tables are there (MariaDB: after /health already answers)
    time.sleep(0.8)
    assert db.query("SELECT COUNT(*) FROM lab_host_heartbeat") == [("0",)]


def test_poller_first_run_at_startup(make_worker, winrm):
    winrm.set_script(script(heartbeat_doc(), EVENTS))
    mark = winrm.mark()
    w = make_worker([station(winrm.port), station(winrm.port, name="lab-ws-02")],
                    env={"OPS_DB": "none", "OPS_POLL_ENABLED": "true", "OPS_POLL_INTERVAL": "60"})
    w.wait_log("heartbeat poll finished")
    n = winrm.actions(mark).count("Command")
    assert n == 4  # heartbeat and events of both hosts, long before the first interval
    time.sleep(1.0)
    assert winrm.actions(mark).count("Command") == n


def test_poller_runs_never_overlap(make_worker, winrm):
    """A run slower than the interval delays the next one instead of overlapping it."""
    winrm.set_script({"commands": [{"ps_regex": r".*heartbeat\.json.*", "delay": 0.6,
                                    "stdout": json.dumps(heartbeat_doc())}]})
    w = make_worker([station(winrm.port)],
                    env={"OPS_DB": "none", "OPS_POLL_ENABLED": "true", "OPS_POLL_INTERVAL": "0.1"})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and w.log().count("heartbeat poll finished") < 3:
        time.sleep(0.1)
    lines = [l for l in w.log().splitlines()
             if "host(s) starting" in l or "heartbeat poll finished" in l]
    kinds = ["finished" if "finished" in l else "started" for l in lines]
    assert kinds.count("finished") >= 3 and kinds[0] == "started"
    assert all(a != b for a, b in zip(kinds, kinds[1:])), kinds  # started, finished, ...
    spans = [float(re.search(r"finished after ([0-9.]+)s", l).group(1))
             for l in lines if "finished" in l]
    assert min(spans) >= 0.5  # each run outlasted several intervals


def test_database_down_at_startup_and_dsn_secret(make_worker, winrm):
    """A MariaDB that is not there at startup is not fatal; the DSN password never shows."""
    dsn = "mysql+pymysql://ops:dsn-s3cret%%40x@127.0.0.1:%d/ops" % free_port()
    w = make_worker([station(winrm.port)], env={"MYSQL_DSN": dsn})
    r = w.get("/api/reservations/timeline?reservationId=x")
    assert r.status_code == 503 and r.json() == {"error": "Database unavailable"}
    winrm.set_script(script(heartbeat_doc()))
    assert w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}).status_code == 200
    health = w.get("/health").json()
    assert health["db"] is True and health["db_backend"] == "mysql"
    assert health["db_connected"] is False and health["db_errors"] >= 1
    w.wait_log("database (mysql) unavailable")
    log = w.log()
    assert "dsn-s3cret" not in log and "%40x" not in log


def test_database_outage_and_reconnect(make_worker, winrm, tmp_path):
    server = start_mariadb(str(tmp_path / "mariadb"))
    try:
        server.sql("CREATE DATABASE ops")
        w = make_worker([station(winrm.port)], env={"MYSQL_DSN": server.dsn("ops")})
        winrm.set_script(script(heartbeat_doc()))
        assert w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}).status_code == 200
        assert w.get("/health").json()["db_connected"] is True
        server.kill()
        # requests still answer; persistence errors are counted
        r = w.post("/api/heartbeat/poll", {"host": "lab-ws-01"})
        assert r.status_code == 200 and r.json()["heartbeat"]["summary"]["ready"] is True
        health = w.get("/health").json()
        assert health["status"] == "ok" and health["db_errors"] >= 1
        assert health["db_connected"] is False
        server.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            w.post("/api/heartbeat/poll", {"host": "lab-ws-01"})
            if int(server.sql("SELECT COUNT(*) FROM lab_host_heartbeat", "ops")[0][0]) >= 2:
                break
            time.sleep(0.5)
        assert int(server.sql("SELECT COUNT(*) FROM lab_host_heartbeat", "ops")[0][0]) >= 2
        assert w.get("/health").json()["db_connected"] is True
    finally:
        server.stop()


def test_mysql_dsn_forms_and_existing_schema(make_worker, winrm, mariadb_server):
    """mysql:// works too; tables created by the original's DDL are used as they are."""
    mariadb_server.sql("CREATE DATABASE legacy")
    mariadb_server.sql(
        "CREATE TABLE lab_hosts (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(128) NOT "
        "NULL, address VARCHAR(255) NOT NULL, mac VARCHAR(32) NULL, mode ENUM('pure','hybrid') "
        "DEFAULT 'pure', last_seen DATETIME NULL, created_at DATETIME DEFAULT CURRENT_TIMESTAMP,"
        " updated_at DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, UNIQUE KEY "
        "uk_lab_hosts_name (name)) ENGINE=InnoDB", "legacy")
    mariadb_server.sql("INSERT INTO lab_hosts (name, address) VALUES ('lab-ws-01', 'old')",
                       "legacy")
    w = make_worker([station(winrm.port)],
                    env={"MYSQL_DSN": mariadb_server.dsn("legacy", scheme="mysql")})
    winrm.set_script(script(heartbeat_doc()))
    assert w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}).status_code == 200
    assert mariadb_server.sql("SELECT id, address FROM lab_hosts", "legacy") == [("1", "127.0.0.1")]
    assert mariadb_server.sql("SELECT COUNT(*) FROM lab_host_heartbeat", "legacy") == [("1",)]


def test_dml_only_database_user(make_worker, winrm, tmp_path):
    """A gateway whose database user may only SELECT/INSERT/UPDATE/DELETE (an administrator
    created the tables from the shipped DDL): the worker uses the tables that are there."""
    server = start_mariadb(str(tmp_path / "mariadb"), grants=True)
    try:
        server.sql("CREATE DATABASE ops")
        with open(os.path.join(SRC, "src", "opsd", "sql", "mysql.sql")) as f:
            server.sql(f.read(), "ops")
        server.sql("CREATE USER 'dml'@'%' IDENTIFIED BY 'dml-pw'")
        server.sql("GRANT SELECT, INSERT, UPDATE, DELETE ON ops.* TO 'dml'@'%'")
        w = make_worker([station(winrm.port)], env={
            "MYSQL_DSN": "mysql+pymysql://dml:dml-pw@127.0.0.1:%d/ops" % server.port})
        winrm.set_script(script(heartbeat_doc()))
        assert w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}).status_code == 200
        assert server.sql("SELECT COUNT(*) FROM lab_host_heartbeat", "ops") == [("1",)]
        assert w.get("/health").json()["db_connected"] is True
        w.wait_log("cannot create tables")
        assert "dml-pw" not in w.log()
    finally:
        server.stop()
