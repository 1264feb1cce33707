"""Reservation automation: candidates, dispatch, journal, status transitions, retries,
the local spool during a database outage, and two workers on one MariaDB."""

import json
import os
import re
import signal
import time

import pytest

from conftest import (HEARTBEAT_PATH, db_time, heartbeat_doc, make_db, seed_reservation,
                      start_mariadb, station, wait_db_ready)
from rawhttp import wait_until

PREPARE = r".*LabStation\.exe prepare-session --guard-grace=90"
RELEASE = r".*LabStation\.exe release-session --reboot"

FAST = {
    "OPS_RESERVATION_AUTOMATION": "yes",
    "OPS_RESERVATION_SCAN_INTERVAL": "0.3",
    "OPS_RESERVATION_RETRY_COOLDOWN": "1",
    "OPS_RESERVATION_END_DELAY": "0",
    "OPS_RESERVATION_WAKE_TIMEOUT": "0.2",
    "OPS_JOURNAL_SPOOL_RETRY": "0.3",
}


def script(prepare_exit=0, release_exit=0, prepare_delay=0):
    return {"commands": [
        {"regex": PREPARE, "stdout": "prepared", "exit_code": prepare_exit,
         "delay": prepare_delay},
        {"regex": RELEASE, "stdout": "released", "exit_code": release_exit},
    ], "files": {HEARTBEAT_PATH: json.dumps(heartbeat_doc())}}


def actions(db, rid):
    return [r[0] for r in db.query("SELECT action FROM reservation_operations WHERE "
                                   "reservation_id = '%s' ORDER BY created_at, id" % rid)]


def status(db, rid):
    return db.query("SELECT status FROM lab_reservations WHERE transaction_hash = '%s'" % rid)[0][0]


def start_worker(make_worker, winrm, udp, db, env=None, name=None, hosts=None):
    e = dict(FAST)
    e.update(db.env)
    e.update(env or {})
    w = make_worker(hosts or [station(winrm.port, udp_port=udp.port, labs=["lab-1"])], env=e,
                    name=name)
    wait_db_ready(w)
    return w


def test_start_then_end(make_worker, winrm, udp, db):
    winrm.set_script(script())
    w = start_worker(make_worker, winrm, udp, db)
    seed_reservation(db, "0xr1", lab="LAB-1", start=db_time(30), end=db_time(4))
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '0xr1'",
                lambda rows: rows[0][0] == "ACTIVE")
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '0xr1'",
                lambda rows: rows[0][0] == "COMPLETED", timeout=20)
    assert actions(db, "0xr1") == ["wake", "prepare", "scheduler:start", "release",
                                   "scheduler:end"]
    rows = db.query("SELECT action, status, success, response_code, host, lab_id, payload, "
                    "message FROM reservation_operations WHERE reservation_id = '0xr1' AND "
                    "action LIKE 'scheduler:%' ORDER BY id")
    for row in rows:
        assert row[1:6] == ("completed", "1", "200", "lab-ws-01", "LAB-1") and row[7] is None
        payload = json.loads(row[6])
        assert payload["status_code"] == 200 and payload["attempt"] == 1
        assert payload["response"]["success"] is True
    wake, prepare = json.loads(rows[0][6])["response"]["steps"]
    assert [wake["action"], prepare["action"]] == ["wake", "prepare"]
    # the API flow's defaults: the host's wake settings, OPS_RESERVATION_WAKE_TIMEOUT, 90 s grace
    assert wake["details"] == {"mac": "00:11:22:33:44:55", "pingTarget": "127.0.0.1",
                               "attemptsRequested": 3, "attemptsUsed": 1, "waitSeconds": 0.2,
                               "port": udp.port, "broadcast": "127.0.0.1"}
    assert prepare["details"]["args"] == ["--guard-grace=90"]
    release = json.loads(rows[1][6])["response"]["steps"]
    assert [s["action"] for s in release] == ["release"]  # never a power step
    assert release[0]["details"]["args"] == ["--reboot"]
    assert db.query("SELECT updated_at FROM lab_reservations")[0][0] > "2025-12-31 00:00:00"
    t = w.get("/api/reservations/timeline?reservationId=0xr1").json()
    assert t["reservation"]["status"] == "COMPLETED"
    assert t["phases"]["wake"]["action"] == "scheduler:start"  # written after wake and prepare
    assert t["phases"]["schedulerEnd"]["action"] == "scheduler:end"
    assert t["schedulerAttempts"] == {"start": 1, "end": 1}
    # done: nothing more happens
    time.sleep(1.5)
    assert len(actions(db, "0xr1")) == 5


def test_unmapped_lab_and_quarantine(make_worker, winrm, udp, db):
    winrm.set_script(script())
    mark = winrm.mark()
    w = start_worker(make_worker, winrm, udp, db)
    w.post("/api/hosts/quarantine", {"host": "lab-ws-01"})
    seed_reservation(db, "0xr2", lab="lab-1", start=db_time(10), end=db_time(3600))
    seed_reservation(db, "0xr3", lab="lab-404", start=db_time(10), end=db_time(3600))
    db.wait_for("SELECT COUNT(*) FROM reservation_operations WHERE action = 'scheduler:start'",
                lambda rows: int(rows[0][0]) >= 4, timeout=20)  # retried after the cooldown
    rows = db.query("SELECT reservation_id, host, status, success, response_code, payload, "
                    "message FROM reservation_operations ORDER BY id")
    assert {r[0] for r in rows} == {"0xr2", "0xr3"}
    for r in rows:
        assert r[1:5] == ("unmapped", "failed", "0", None) and r[5] is None
        assert r[6] == "No host mapping for lab %s" % ("lab-1" if r[0] == "0xr2" else "lab-404")
    assert status(db, "0xr2") == "CONFIRMED"
    assert winrm.actions(mark) == []


def test_failures_retry_with_cooldown_and_cap(make_worker, winrm, udp, db):
    winrm.set_script(script(prepare_exit=1))
    w = start_worker(make_worker, winrm, udp, db, env={"OPS_RESERVATION_MAX_ATTEMPTS": "3",
                                                        "OPS_RESERVATION_RETRY_COOLDOWN": "2"})
    seed_reservation(db, "0xr4", start=db_time(5), end=db_time(3600))
    db.wait_for("SELECT COUNT(*) FROM reservation_operations WHERE action = 'scheduler:start'",
                lambda rows: rows[0][0] == "3", timeout=30)
    time.sleep(3)  # past another cooldown: the cap holds
    rows = db.query("SELECT payload, response_code, message, created_at FROM "
                    "reservation_operations WHERE action = 'scheduler:start' ORDER BY id")
    assert len(rows) == 3
    assert [json.loads(r[0])["attempt"] for r in rows] == [1, 2, 3]
    assert all(r[1] == "502" and r[2] == "Reservation start failed" for r in rows)
    # the cooldown spaces the attempts (created_at has one-second resolution)
    stamps = [time.mktime(time.strptime(r[3][:19], "%Y-%m-%d %H:%M:%S")) for r in rows]
    assert stamps[1] - stamps[0] >= 1 and stamps[2] - stamps[1] >= 1
    assert actions(db, "0xr4").count("prepare") == 3  # every attempt journals its steps
    assert status(db, "0xr4") == "CONFIRMED"
    t = w.get("/api/reservations/timeline?reservationId=0xr4").json()
    assert t["schedulerAttempts"]["start"] == 3


def test_candidate_windows(make_worker, winrm, udp, db):
    winrm.set_script(script())
    start_worker(make_worker, winrm, udp, db, env={"OPS_RESERVATION_LOOKBACK": "60",
                                                    "OPS_RESERVATION_START_LEAD": "30",
                                                    "OPS_RESERVATION_END_DELAY": "20"})
    seed_reservation(db, "old", start=db_time(-120), end=db_time(-90))      # before lookback
    seed_reservation(db, "early", start=db_time(90), end=db_time(3600))     # beyond the lead
    seed_reservation(db, "pending", status="PENDING", start=db_time(5), end=db_time(3600))
    seed_reservation(db, "cancelled", status="CANCELLED", start=db_time(5), end=db_time(-25))
    seed_reservation(db, "end-not-yet", status="ACTIVE", start=db_time(-50), end=db_time(-5))
    seed_reservation(db, "end-due", status="ACTIVE", start=db_time(-50), end=db_time(-25))
    seed_reservation(db, "late-start", start=db_time(-50), end=db_time(3600))  # catch-up
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = 'end-due'",
                lambda rows: rows[0][0] == "COMPLETED")
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = 'late-start'",
                lambda rows: rows[0][0] == "ACTIVE")
    time.sleep(1.0)
    touched = {r[0] for r in db.query("SELECT DISTINCT reservation_id FROM reservation_operations")}
    assert touched == {"end-due", "late-start"}
    assert status(db, "end-not-yet") == "ACTIVE" and status(db, "early") == "CONFIRMED"


def create_schema(make_worker, db):
    """Let a worker without automation create the tables, so rows can be seeded before the
    scheduler's first scan."""
    w = make_worker(env=db.env, name="schema")
    wait_db_ready(w)
    w.stop()


def test_default_windows(make_worker, winrm, udp, db):
    """Only OPS_RESERVATION_AUTOMATION set: a start is due 120 s ahead, an end 60 s after,
    both within the last 6 h; the first scan runs at startup."""
    winrm.set_script(script())
    create_schema(make_worker, db)
    seed_reservation(db, "lead-in", start=db_time(100), end=db_time(3600))
    seed_reservation(db, "lead-out", start=db_time(200), end=db_time(3600))
    seed_reservation(db, "lookback-in", start=db_time(-5 * 3600), end=db_time(3600))
    seed_reservation(db, "lookback-out", start=db_time(-7 * 3600), end=db_time(3600))
    seed_reservation(db, "delay-in", status="ACTIVE", start=db_time(-7200), end=db_time(-90))
    seed_reservation(db, "delay-out", status="ACTIVE", start=db_time(-7200), end=db_time(-30))
    seed_reservation(db, "end-lookback-out", status="ACTIVE", start=db_time(-9 * 3600),
                     end=db_time(-7 * 3600))
    w = make_worker([station(winrm.port, udp_port=udp.port, labs=["lab-1"])],
                    env=dict(db.env, OPS_RESERVATION_AUTOMATION="true",
                             OPS_RESERVATION_WAKE_TIMEOUT="0.2"), name="defaults")
    for rid, want in (("lead-in", "ACTIVE"), ("lookback-in", "ACTIVE"),
                      ("delay-in", "COMPLETED")):
        db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '%s'" % rid,
                    lambda rows, want=want: rows[0][0] == want, timeout=30)
    w.wait_log("reservation scan finished")
    touched = {r[0] for r in db.query("SELECT DISTINCT reservation_id FROM reservation_operations")}
    assert touched == {"lead-in", "lookback-in", "delay-in"}


def test_max_batch_limits_each_query(make_worker, winrm, udp, db):
    winrm.set_script(script())
    create_schema(make_worker, db)
    seed_reservation(db, "0xb1", start=db_time(10), end=db_time(3600))
    seed_reservation(db, "0xb2", start=db_time(20), end=db_time(3600))
    w = start_worker(make_worker, winrm, udp, db, name="batch",
                     env={"OPS_RESERVATION_MAX_BATCH": "1", "OPS_RESERVATION_SCAN_INTERVAL": "60"})
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '0xb1'",
                lambda rows: rows[0][0] == "ACTIVE")
    w.wait_log("reservation scan finished")
    assert status(db, "0xb2") == "CONFIRMED" and actions(db, "0xb2") == []


def test_status_change_is_guarded(make_worker, winrm, udp, db):
    """The transition is UPDATE ... WHERE status = <status at claim time>: a reservation
    cancelled while its start runs stays CANCELLED."""
    winrm.set_script(script(prepare_delay=2))
    w = start_worker(make_worker, winrm, udp, db)
    seed_reservation(db, "0xg1", start=db_time(5), end=db_time(3600))
    db.wait_for("SELECT COUNT(*) FROM reservation_operations WHERE reservation_id = '0xg1' "
                "AND action = 'wake'", lambda rows: rows[0][0] == "1")
    db.execute("UPDATE lab_reservations SET status = 'CANCELLED' WHERE transaction_hash = '0xg1'")
    db.wait_for("SELECT success FROM reservation_operations WHERE reservation_id = '0xg1' "
                "AND action = 'scheduler:start'", lambda rows: rows == [("1",)], timeout=20)
    w.wait_log("reservation 0xg1 was no longer CONFIRMED, status left alone")
    assert status(db, "0xg1") == "CANCELLED"


def test_scans_never_overlap(make_worker, winrm, udp, tmp_path, request):
    """A scan that dispatches a slow start runs over many intervals; the next one waits."""
    db = make_db("sqlite", tmp_path, request)
    winrm.set_script(script(prepare_delay=1.5))
    w = start_worker(make_worker, winrm, udp, db, env={"OPS_RESERVATION_SCAN_INTERVAL": "0.1"})
    seed_reservation(db, "0xo1", start=db_time(5), end=db_time(3600))
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '0xo1'",
                lambda rows: rows[0][0] == "ACTIVE")
    # the scan that dispatched the start ends after the status write (the claim's release)
    wait_until(lambda: any(float(x) >= 1.5 for x in
                           re.findall(r"reservation scan finished after ([0-9.]+)s", w.log())),
               30, "the slow scan to finish")
    lines = [l for l in w.log().splitlines() if "reservation scan started" in l or
             "reservation scan finished" in l]
    kinds = ["finished" if "finished" in l else "started" for l in lines]
    assert kinds[0] == "started"
    assert all(a != b for a, b in zip(kinds, kinds[1:])), kinds  # started, finished, ...
    spans = [float(re.search(r"finished after ([0-9.]+)s", l).group(1))
             for l in lines if "finished" in l]
    assert max(spans) >= 1.5


def kill_mid_prepare(make_worker, winrm, udp, db, env, rid, name):
    """Start a worker, let it claim the start of reservation rid, and kill -9 it while
    prepare-session still runs on the station; the station then answers at once."""
    winrm.set_script(script(prepare_delay=30))
    w = start_worker(make_worker, winrm, udp, db, env=env, name=name)
    seed_reservation(db, rid, start=db_time(5), end=db_time(3600))
    db.wait_for("SELECT COUNT(*) FROM reservation_operations WHERE action = 'wake'",
                lambda rows: rows[0][0] == "1")
    w.proc.send_signal(signal.SIGKILL)
    w.proc.wait(timeout=10)
    w.allow_failure = True
    winrm.set_script(script())


def test_claim_of_a_dead_worker_expires(make_worker, winrm, udp, tmp_path, request):
    """A worker killed mid-step keeps its claim until OPS_RESERVATION_CLAIM_TTL has passed;
    then another worker runs the step."""
    db = make_db("sqlite", tmp_path, request)
    env = {"OPS_RESERVATION_CLAIM_TTL": "4", "OPS_RESERVATION_SCAN_INTERVAL": "0.2"}
    kill_mid_prepare(make_worker, winrm, udp, db, dict(env, OPS_WORKER_ID="a"), "0xk1", "a")
    killed = time.monotonic()
    b = start_worker(make_worker, winrm, udp, db, env=dict(env, OPS_WORKER_ID="b"), name="b")
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '0xk1'",
                lambda rows: rows[0][0] == "ACTIVE", timeout=30)
    assert time.monotonic() - killed >= 3.0  # not before a's claim ran out
    assert actions(db, "0xk1") == ["wake", "wake", "prepare", "scheduler:start"]
    assert db.query("SELECT owner, attempts FROM ops_reservation_claims") == [("b", "2")]
    assert "reservation 0xk1: scheduler start on lab-ws-01 (attempt 2)" in b.log()


def test_automation_needs_a_database(make_worker, winrm, udp):
    w = make_worker([station(winrm.port)], env=dict(FAST, OPS_DB="none"))
    w.wait_log("no database: disabled")


def test_spool_keeps_rows_during_outage(make_worker, winrm, udp, tmp_path):
    server = start_mariadb(str(tmp_path / "mariadb"))
    try:
        server.sql("CREATE DATABASE ops")
        from conftest import Db
        db = Db("mysql", {"MYSQL_DSN": server.dsn("ops")}, server=server, name="ops")
        winrm.set_script(script(prepare_delay=2.5))
        w = start_worker(make_worker, winrm, udp, db, env={"OPS_RESERVATION_RETRY_COOLDOWN": "60"})
        seed_reservation(db, "0xs1", start=db_time(5), end=db_time(3600))
        db.wait_for("SELECT COUNT(*) FROM reservation_operations WHERE action = 'wake'",
                    lambda rows: rows[0][0] == "1")
        server.kill()  # prepare is still running on the station
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and w.get("/health").json()["journal_spooled"] < 2:
            time.sleep(0.1)
        health = w.get("/health").json()
        assert health["journal_spooled"] >= 2 and health["db_connected"] is False
        with open(os.path.join(w.state, "journal-spool.jsonl")) as f:
            spooled = [json.loads(line)["action"] for line in f if line.strip()]
        assert spooled == ["prepare", "scheduler:start"]
        server.start()
        db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '0xs1'",
                    lambda rows: rows[0][0] == "ACTIVE", timeout=30)
        assert actions(db, "0xs1") == ["wake", "prepare", "scheduler:start"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and w.get("/health").json()["journal_spooled"]:
            time.sleep(0.1)
        assert w.get("/health").json()["journal_spooled"] == 0
        # the spool survives a crash: rows written while the database is down, the worker
        # killed, the database back, a new worker writes them
        server.kill()
        w.post("/api/reservations/end", {"reservationId": "0xs1", "host": "lab-ws-01"})
        assert w.get("/health").json()["journal_spooled"] == 1
        w.proc.send_signal(signal.SIGKILL)
        w.proc.wait(timeout=10)
        w.allow_failure = True
        server.start()
        w2 = make_worker([station(winrm.port, udp_port=udp.port, labs=["lab-1"])],
                         env=dict(w.env, OPS_PORT=str(w.port + 0), OPS_RESERVATION_AUTOMATION="0"),
                         start=False, name="again")
        w2.env["OPS_STATE_DIR"] = w.state
        w2.env["OPS_PORT"] = str(w2.port)
        w2.start()
        db.wait_for("SELECT COUNT(*) FROM reservation_operations WHERE action = 'release'",
                    lambda rows: rows[0][0] == "1", timeout=30)
        assert actions(db, "0xs1") == ["wake", "prepare", "scheduler:start", "release"]
    finally:
        server.stop()


def test_database_down_from_the_start_and_the_spool_cap(make_worker, winrm, tmp_path):
    """Rows recorded while the database has never been reachable wait in the spool (the
    flush is retried, not taken for done) and arrive once it is up; beyond
    OPS_JOURNAL_SPOOL_MAX the oldest is dropped with an error in the log."""
    server = start_mariadb(str(tmp_path / "mariadb"))
    try:
        server.sql("CREATE DATABASE ops")
        server.kill()
        from conftest import Db
        db = Db("mysql", {"MYSQL_DSN": server.dsn("ops")}, server=server, name="ops")
        w = make_worker([station(winrm.port)],
                        env=dict(db.env, OPS_JOURNAL_SPOOL_MAX="2", OPS_JOURNAL_SPOOL_RETRY="0.3"))
        winrm.set_script(script())
        for i in range(3):
            r = w.post("/api/reservations/end", {"reservationId": "0xc%d" % i,
                                                 "host": "lab-ws-01"})
            assert r.status_code == 200, r.text
        time.sleep(1.0)  # several flush retries against the absent database
        assert w.get("/health").json()["journal_spooled"] == 2
        w.wait_log("journal spool full (2 rows): dropping row 0xc0/release")
        with open(os.path.join(w.state, "journal-spool.jsonl")) as f:
            assert [json.loads(line)["reservation_id"] for line in f] == ["0xc1", "0xc2"]
        server.start()
        db.wait_for("SELECT reservation_id FROM reservation_operations ORDER BY id",
                    lambda rows: rows == [("0xc1",), ("0xc2",)], timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and w.get("/health").json()["journal_spooled"]:
            time.sleep(0.1)
        assert w.get("/health").json()["journal_spooled"] == 0
    finally:
        server.stop()


def test_two_workers_one_database(make_worker, winrm, udp, request, tmp_path):
    db = make_db("mariadb", tmp_path, request)
    winrm.set_script(script(prepare_delay=0.5))
    mark = winrm.mark()
    hosts = [station(winrm.port, udp_port=udp.port, labs=["lab-1", "lab-2", "lab-3"])]
    env = {"OPS_RESERVATION_SCAN_INTERVAL": "0.1", "OPS_RESERVATION_RETRY_COOLDOWN": "1"}
    a = start_worker(make_worker, winrm, udp, db, env=dict(env, OPS_WORKER_ID="worker-a"),
                     name="a", hosts=hosts)
    b = start_worker(make_worker, winrm, udp, db, env=dict(env, OPS_WORKER_ID="worker-b"),
                     name="b", hosts=hosts)
    ids = ["0xd%d" % i for i in range(6)]
    for i, rid in enumerate(ids):
        seed_reservation(db, rid, lab="lab-%d" % (i % 3 + 1), start=db_time(5), end=db_time(6))
    for rid in ids:
        db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '%s'" % rid,
                    lambda rows: rows[0][0] == "COMPLETED", timeout=60)
    time.sleep(1.5)
    for rid in ids:
        assert actions(db, rid) == ["wake", "prepare", "scheduler:start", "release",
                                    "scheduler:end"], rid
    commands = [e["command"] for e in winrm.entries(mark) if e.get("action") == "Command"]
    assert sum("prepare-session" in c for c in commands) == 6
    assert sum("release-session" in c for c in commands) == 6
    owners = {r[0] for r in db.query("SELECT owner FROM ops_reservation_claims")}
    assert owners <= {"worker-a", "worker-b"}
    assert "reservation scan" in a.log() and "reservation scan" in b.log()
