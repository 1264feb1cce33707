"""Crash proofs (issue 9, "Crash"): ops-worker killed with SIGKILL mid-flow (a reservation
start while its wake waits / while prepare-session runs on the station), mid-scheduler-step
(in the wake, in prepare-session, with the step's rows still in the spool), and with journal
rows that have not reached the database. Each time, on SQLite and on MariaDB, the next start
(same state directory and database) needs no manual step, leaves no orphan (no process of
the dead worker, no claim that blocks the step: the restarted worker with the same
OPS_WORKER_ID takes its claims over at once), and loses no journal row (the crash-safe spool;
rows that were written are not written twice)."""
import json
import os
import sqlite3
import threading
import time

import pytest
import requests

from conftest import (HEARTBEAT_PATH, db_time, free_port, heartbeat_doc, seed_reservation,
                      station, wait_db_ready)
from tcpcut import TcpCut
from rawhttp import wait_until

PREPARE = r".*LabStation\.exe prepare-session --guard-grace=90"


def script(prepare_delay=0):
    return {"commands": [{"regex": PREPARE, "stdout": "prepared", "delay": prepare_delay},
                         {"regex": r".*LabStation\.exe release-session.*", "stdout": "ok"}],
            "files": {HEARTBEAT_PATH: json.dumps(heartbeat_doc())}}


def actions(db, rid):
    return [r[0] for r in db.query("SELECT action FROM reservation_operations WHERE "
                                   "reservation_id = '%s' ORDER BY id" % rid)]


def spool(w):
    try:
        with open(os.path.join(w.state, "journal-spool.jsonl")) as f:
            return [json.loads(line)["action"] for line in f if line.strip()]
    except FileNotFoundError:
        return []


def prepares(winrm, mark):
    """prepare-session Commands the station received since mark."""
    return [e for e in winrm.entries(mark)
            if e.get("action") == "Command" and "prepare-session" in e.get("command", "")]


def in_phase(phase, udp, winrm, mark):
    """Wait until the flow is in phase ("wake": a magic packet went out; otherwise
    prepare-session runs on the station); the journal rows written by then."""
    if phase == "wake":
        wait_until(lambda: udp.packets, 60, "a magic packet")
        return []
    wait_until(lambda: prepares(winrm, mark), 60, "prepare-session on the station")
    return ["wake"]


def kill9(w):
    """SIGKILL the worker and check that nothing of it is left: it has no children, so its
    process group (it leads one) must be empty."""
    w.proc.kill()
    w.proc.wait(timeout=30)
    w.allow_failure = True
    with pytest.raises(ProcessLookupError):
        os.killpg(w.proc.pid, 0)


def restart(make_worker, w, name, **env):
    """A new worker on the dead one's state directory, database and hosts.json."""
    w2 = make_worker(env=dict(w.env, **env), start=False, name=name)
    w2.env["OPS_PORT"] = str(w2.port)
    w2.env["OPS_STATE_DIR"] = w.state
    w2.env["OPS_CONFIG"] = w.hosts_path
    w2.start()
    return w2


class Blocker:
    """Makes the database refuse writes for a while: SQLite, an exclusive lock held by the
    test (inserts time out, busy); MariaDB, a network cut between worker and server (the
    worker's DSN goes through a relay)."""

    def __init__(self, db):
        self.db = db
        self.env = {}
        self.con = None
        self.relay = None
        if db.kind == "mysql":
            self.relay = TcpCut(db.server.port)
            self.env = {"MYSQL_DSN": "mysql://root:@127.0.0.1:%d/%s" % (self.relay.port,
                                                                        db.name)}

    def block(self):
        if self.relay:
            self.relay.cut()
        else:
            self.con = sqlite3.connect(self.db.sqlite_path, timeout=30, isolation_level=None)
            self.con.execute("BEGIN EXCLUSIVE")

    def unblock(self):
        if self.relay:
            self.relay.restore()
        elif self.con is not None:
            self.con.execute("ROLLBACK")
            self.con.close()
            self.con = None

    def close(self):
        self.unblock()
        if self.relay:
            self.relay.stop()


@pytest.fixture
def blocker(db):
    b = Blocker(db)
    yield b
    b.close()


def post_in_background(w, path, body):
    """A request whose answer the test does not wait for (the worker dies under it)."""
    result = {}

    def run():
        try:
            result["r"] = requests.post(w.url(path), json=body, timeout=120)
        except requests.RequestException as e:
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


# ---- an API reservation start ---------------------------------------------------------------

@pytest.mark.parametrize("phase", ["wake", "prepare"])
def test_kill_mid_api_start(make_worker, winrm, udp, db, phase):
    """Killed while POST /api/reservations/start waits for the host to answer (wake) or
    while prepare-session runs on the station: the journal keeps what was recorded (the
    wake row, once), the restart sends nothing on its own, and the same start then runs
    through."""
    closed = free_port()
    winrm.set_script(script(prepare_delay=60))
    reach = "tcp:%d" % (closed if phase == "wake" else winrm.port)
    w = make_worker([station(winrm.port, udp_port=udp.port)],
                    env=dict(db.env, OPS_REACH_METHOD=reach))
    wait_db_ready(w)
    mark = winrm.mark()
    t, result = post_in_background(w, "/api/reservations/start", {
        "reservationId": "0xa1", "host": "lab-ws-01", "labId": "1",
        "wakeOptions": {"ping_timeout": 1, "attempts": 100}})
    expected = in_phase(phase, udp, winrm, mark)
    wait_until(lambda: actions(db, "0xa1") == expected, 60, "the rows before the kill")
    kill9(w)
    t.join(timeout=60)
    assert "r" not in result  # the caller got no answer: the worker died under it
    winrm.set_script(script())  # the station answers at once from now on
    w2 = restart(make_worker, w, "again", OPS_REACH_METHOD="tcp:%d" % winrm.port)
    assert w2.get("/health").status_code == 200
    wait_db_ready(w2)
    # a row the dead worker had not yet dropped from its spool is flushed (and found already
    # written) in the background
    wait_until(lambda: spool(w2) == [] and w2.get("/health").json()["journal_spooled"] == 0,
               60, "an empty spool")
    assert actions(db, "0xa1") == expected  # nothing lost, nothing written twice
    assert len(prepares(winrm, mark)) == (1 if phase == "prepare" else 0)  # no resend
    r = w2.post("/api/reservations/start", {"reservationId": "0xa1", "host": "lab-ws-01",
                                            "labId": "1", "wakeOptions": {"ping_timeout": 0.2}})
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    assert actions(db, "0xa1") == expected + ["wake", "prepare"]


# ---- a scheduler step -------------------------------------------------------------------------

AUTOMATION = {
    "OPS_RESERVATION_AUTOMATION": "yes",
    "OPS_RESERVATION_SCAN_INTERVAL": "0.3",
    "OPS_RESERVATION_RETRY_COOLDOWN": "1",
    "OPS_RESERVATION_WAKE_TIMEOUT": "0.5",
    "OPS_JOURNAL_SPOOL_RETRY": "0.3",
    "OPS_WORKER_ID": "station-a",
}


@pytest.mark.parametrize("phase", ["wake", "prepare", "summary"])
def test_kill_mid_scheduler_step(make_worker, winrm, udp, db, blocker, phase):
    """Killed inside a claimed start step — while the wake waits, while prepare-session runs,
    or with the step's prepare and summary rows still in the spool (the database refusing
    writes): the worker restarted with the same OPS_WORKER_ID takes its claim over at once
    (the default claim TTL would hold it for minutes), the spooled rows reach the database
    once, and the step completes (a step whose status change was lost runs again after the
    cooldown, like a failed one)."""
    closed = free_port()
    winrm.set_script(script(prepare_delay=60 if phase == "prepare" else 2))
    env = dict(db.env, **AUTOMATION)
    env.update(blocker.env)
    env["OPS_REACH_METHOD"] = "tcp:%d" % (closed if phase == "wake" else winrm.port)
    w = make_worker([station(winrm.port, udp_port=udp.port, labs=["lab-1"], wake_attempts=50)],
                    env=env)
    wait_db_ready(w)
    mark = winrm.mark()
    seed_reservation(db, "0xs1", start=db_time(5), end=db_time(3600))
    before = in_phase(phase, udp, winrm, mark)
    if phase == "summary":
        blocker.block()
        wait_until(lambda: spool(w) == ["prepare", "scheduler:start"], 90,
                   "the step's rows in the spool")
        before = ["wake", "prepare", "scheduler:start"]
    claim = db.query("SELECT owner, attempts, claimed_until FROM ops_reservation_claims")
    assert claim[0][:2] == ("station-a", "1")
    assert claim[0][2] > db_time(300)  # held for minutes: only the take-over frees it soon
    kill9(w)
    spooled = spool(w)
    blocker.unblock()

    winrm.set_script(script())  # the station answers at once from now on
    w2 = restart(make_worker, w, "again", OPS_REACH_METHOD="tcp:%d" % winrm.port)
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '0xs1'",
                lambda rows: rows[0][0] == "ACTIVE", timeout=90)
    w2.wait_log("took over 1 claim(s) of an earlier run of worker station-a")
    # every row of the dead run is there once, then the new run's
    assert actions(db, "0xs1") == before + ["wake", "prepare", "scheduler:start"]
    if phase == "summary":
        assert spooled == ["prepare", "scheduler:start"]
        w2.wait_log("journal row 0xs1/scheduler:start from the spool written")
    # no claim left behind, the attempt counted
    assert db.query("SELECT owner, attempts FROM ops_reservation_claims") == [("station-a", "2")]
    wait_until(lambda: db.query("SELECT COUNT(*) FROM ops_reservation_claims WHERE "
                                "claimed_until > '%s'" % db_time(1)) == [("0",)], 60,
               "the claim released")
    wait_until(lambda: spool(w2) == [], 60, "an empty spool")


# ---- journal rows that had not reached the database ---------------------------------------------

def test_kill_with_rows_in_the_spool(make_worker, winrm, udp, db, blocker):
    """Rows recorded while the database refuses writes are in the spool file when the
    worker dies; the next start writes each of them once."""
    winrm.set_script(script())
    env = dict(db.env, OPS_JOURNAL_SPOOL_RETRY="0.3")
    env.update(blocker.env)
    w = make_worker([station(winrm.port, udp_port=udp.port)], env=env)
    wait_db_ready(w)
    r = w.post("/api/reservations/end", {"reservationId": "0xj0", "host": "lab-ws-01"})
    assert r.status_code == 200
    db.wait_for("SELECT COUNT(*) FROM reservation_operations", lambda rows: rows[0][0] == "1")
    wait_until(lambda: spool(w) == [], 60, "the row out of the spool")
    blocker.block()
    for rid in ("0xj1", "0xj2"):
        r = w.post("/api/reservations/end", {"reservationId": rid, "host": "lab-ws-01"})
        assert r.status_code == 200 and r.json()["success"] is True
    assert spool(w) == ["release", "release"]
    kill9(w)
    blocker.unblock()
    w2 = restart(make_worker, w, "again")
    db.wait_for("SELECT reservation_id, action FROM reservation_operations ORDER BY id",
                lambda rows: rows == [("0xj0", "release"), ("0xj1", "release"),
                                      ("0xj2", "release")], timeout=60)
    wait_until(lambda: spool(w2) == [], 60, "an empty spool")
    assert w2.get("/health").json()["journal_spooled"] == 0
    time.sleep(1)  # several flush intervals: still once each
    assert len(db.query("SELECT id FROM reservation_operations")) == 3
