"""POST /api/reservations/start|end, the journal rows they write, and the timeline."""

import json

import pytest

from conftest import (EVENTS_PATH, HEARTBEAT_PATH, MAC, PASSWORD, free_port, heartbeat_doc,
                      seed_reservation, station, wait_db_ready)

PREPARE = r".*LabStation\.exe prepare-session --guard-grace=90"
RELEASE = r".*LabStation\.exe release-session --reboot"


def ok_script(prepare_exit=0, release_exit=0, power_exit=0):
    return {"commands": [
        {"regex": PREPARE, "stdout": "  prepared \r\n", "exit_code": prepare_exit},
        {"regex": r".*LabStation\.exe prepare-session .*", "stdout": "custom", "exit_code": 0},
        {"regex": RELEASE, "stdout": "released", "stderr": " note ", "exit_code": release_exit},
        {"regex": r".*LabStation\.exe power .*", "stdout": "power", "exit_code": power_exit},
    ], "files": {HEARTBEAT_PATH: json.dumps(heartbeat_doc()),
                 EVENTS_PATH: '{"timestamp":"2026-01-01T11:00:00Z","event":"session-started"}'}}


def ops(db, rid):
    return db.query("SELECT action, status, success, response_code, duration_ms, payload, "
                    "message, host, lab_id FROM reservation_operations WHERE reservation_id = '%s' "
                    "ORDER BY id" % rid)


def worker(make_worker, winrm, udp, db, **env):
    e = dict(db.env)
    e.update(env)
    w = make_worker([station(winrm.port, udp_port=udp.port, labs=["lab-1"])], env=e)
    wait_db_ready(w)
    return w


def test_start_validation(make_worker, winrm, udp, db):
    w = worker(make_worker, winrm, udp, db)
    r = w.post("/api/reservations/start", {"host": "lab-ws-01"})
    assert r.status_code == 400 and r.json() == {"error": "reservationId and host are required"}
    r = w.post("/api/reservations/start", {"reservationId": "", "reservation_id": "r1"})
    assert r.status_code == 400 and r.json() == {"error": "reservationId and host are required"}
    r = w.post("/api/reservations/start", {"reservationId": "r1", "host": "nope"})
    assert r.status_code == 404 and r.json() == {"error": "host 'nope' not found"}
    r = w.post("/api/reservations/start", {"reservationId": "r1", "host": "lab-ws-01",
                                           "guardGrace": "soon"})
    assert r.status_code == 400 and "guardGrace" in r.json()["error"]
    r = w.post("/api/reservations/start", {"reservationId": "r1", "host": "lab-ws-01",
                                           "wakeOptions": "fast"})
    assert r.status_code == 400
    r = w.post("/api/reservations/end", {"reservationId": "r1", "host": "lab-ws-01",
                                         "powerAction": "shutdown"})
    assert r.status_code == 400 and r.json() == {"error": "powerAction must be an object"}
    r = w.post("/api/reservations/start", {"reservationId": "x" * 129, "host": "lab-ws-01"})
    assert r.status_code == 400
    assert ops(db, "r1") == []


def test_start_wake_and_prepare(make_worker, winrm, udp, db):
    winrm.set_script(ok_script())
    w = worker(make_worker, winrm, udp, db)
    r = w.post("/api/reservations/start", {"reservation_id": "0xabc", "hostName": "LAB-WS-01",
                                           "lab_id": "lab-1",
                                           "wakeOptions": {"ping_timeout": 0.2, "attempts": 2}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["reservationId"] == "0xabc"
    assert body["host"] == "LAB-WS-01" and body["labId"] == "lab-1"
    wake, prep = body["steps"]
    assert wake["action"] == "wake" and wake["success"] is True and wake["status"] == "completed"
    assert wake["message"] == "Host reachable"
    assert wake["details"] == {"mac": MAC, "pingTarget": "127.0.0.1", "attemptsRequested": 2,
                               "attemptsUsed": 1, "waitSeconds": 0.2, "port": udp.port,
                               "broadcast": "127.0.0.1"}
    assert prep["action"] == "prepare" and prep["message"] == "Exit code 0"
    assert prep["details"]["stdout"] == "prepared" and prep["details"]["exitCode"] == 0
    assert prep["details"]["args"] == ["--guard-grace=90"]
    assert udp.wait(1) and udp.packets[0][0][:6] == b"\xff" * 6
    rows = ops(db, "0xabc")
    assert [r[0] for r in rows] == ["wake", "prepare"]
    assert rows[0][1:4] == ("completed", "1", "200") and rows[0][7] == "lab-ws-01"
    assert rows[0][8] == "lab-1" and rows[0][6] == "Host reachable"
    assert json.loads(rows[0][5])["attemptsUsed"] == 1
    assert rows[1][1:4] == ("completed", "1", "0")
    payload = json.loads(rows[1][5])
    assert set(payload) == {"exitCode", "stdout", "stderr", "args", "durationMs"}


def test_start_failures(make_worker, winrm, udp, db):
    winrm.set_script(ok_script(prepare_exit=1))
    closed = free_port()
    w = worker(make_worker, winrm, udp, db, OPS_REACH_METHOD="tcp:%d" % closed)
    # wake fails -> 502, no prepare
    r = w.post("/api/reservations/start", {"reservationId": "r-wake", "host": "lab-ws-01",
                                           "wakeOptions": {"ping_timeout": 0.1, "attempts": 2}})
    assert r.status_code == 502
    body = r.json()
    assert body["success"] is False and [s["action"] for s in body["steps"]] == ["wake"]
    assert body["steps"][0]["message"] == "Host did not respond to ping"
    assert body["steps"][0]["details"]["attemptsUsed"] == 2
    assert ops(db, "r-wake")[0][1:4] == ("failed", "0", "504")
    # no wake; exit code 1 counts as failure
    r = w.post("/api/reservations/start", {"reservationId": "r-prep", "host": "lab-ws-01",
                                           "wake": "no"})
    assert r.status_code == 502
    steps = r.json()["steps"]
    assert [s["action"] for s in steps] == ["prepare"] and steps[0]["message"] == "Exit code 1"
    assert ops(db, "r-prep")[0][1:4] == ("failed", "0", "1")
    # missing MAC: a wake step with empty details and no response code
    w.write_hosts([station(winrm.port, mac=None, labs=["lab-1"])])
    assert w.post("/api/hosts/reload").status_code == 200
    r = w.post("/api/reservations/start", {"reservationId": "r-mac", "host": "lab-ws-01"})
    assert r.status_code == 502
    assert r.json()["steps"] == [{"action": "wake", "success": False, "status": "failed",
                                  "message": "MAC address not configured", "details": {}}]
    # ...and its journal row has no payload (NULL, as the original writes it), no code and
    # no duration, on both backends
    assert ops(db, "r-mac") == [("wake", "failed", "0", None, None, None,
                                 "MAC address not configured", "lab-ws-01", None)]


def test_start_custom_args(make_worker, winrm, udp, db):
    winrm.set_script(ok_script())
    w = worker(make_worker, winrm, udp, db)
    mark = winrm.mark()
    r = w.post("/api/reservations/start", {"reservationId": "r2", "host": "lab-ws-01",
                                           "wake": False, "guardGrace": 30})
    assert r.status_code == 200
    assert r.json()["steps"][0]["details"]["args"] == ["--guard-grace=30"]
    r = w.post("/api/reservations/start", {"reservationId": "r2", "host": "lab-ws-01",
                                           "wake": False, "prepareArgs": "--no-guard",
                                           "guardGrace": 5})
    assert r.json()["steps"][0]["details"]["args"] == ["--no-guard"]
    lines = [e["command"] for e in winrm.entries(mark) if e.get("action") == "Command"]
    assert lines[0].endswith("prepare-session --guard-grace=30")
    assert lines[1].endswith("prepare-session --no-guard")


def test_end_release_and_power(make_worker, winrm, udp, db):
    winrm.set_script(ok_script())
    w = worker(make_worker, winrm, udp, db)
    r = w.post("/api/reservations/end", {"reservationId": "r3", "host": "lab-ws-01",
                                         "labId": "lab-1",
                                         "powerAction": {"mode": "hibernate", "args": "--delay=5"}})
    assert r.status_code == 200, r.text
    steps = r.json()["steps"]
    assert [s["action"] for s in steps] == ["release", "power:hibernate"]
    assert steps[0]["details"]["stderr"] == "note"
    assert steps[1]["details"]["args"] == ["hibernate", "--delay=5"]
    rows = ops(db, "r3")
    assert [r[0] for r in rows] == ["release", "power:hibernate"]
    assert rows[0][1:4] == ("completed", "1", "0") and rows[1][1:4] == ("completed", "1", "0")
    power = json.loads(rows[1][5])
    assert set(power) == {"exitCode", "stdout", "stderr", "args", "durationMs"}
    assert power["args"] == ["hibernate", "--delay=5"] and rows[1][6] == "Exit code 0"
    # default mode is shutdown; {} is falsy: no power step
    r = w.post("/api/reservations/end", {"reservationId": "r4", "host": "lab-ws-01",
                                         "powerAction": {"args": []}})
    assert [s["action"] for s in r.json()["steps"]] == ["release", "power:shutdown"]
    r = w.post("/api/reservations/end", {"reservationId": "r5", "host": "lab-ws-01",
                                         "powerAction": {}})
    assert [s["action"] for s in r.json()["steps"]] == ["release"]
    # a failed release skips the power step
    winrm.set_script(ok_script(release_exit=2))
    r = w.post("/api/reservations/end", {"reservationId": "r6", "host": "lab-ws-01",
                                         "powerAction": {"mode": "shutdown"}})
    assert r.status_code == 502 and [s["action"] for s in r.json()["steps"]] == ["release"]
    assert ops(db, "r6")[0][:4] == ("release", "failed", "0", "2")


def test_timeline(make_worker, winrm, udp, db):
    winrm.set_script(ok_script())
    w = worker(make_worker, winrm, udp, db)
    wait_db_ready(w)
    r = w.get("/api/reservations/timeline")
    assert r.status_code == 400 and r.json() == {"error": "reservationId is required"}
    r = w.get("/api/reservations/timeline?reservationId=missing")
    assert r.status_code == 404 and r.json() == {"error": "Reservation not found"}
    seed_reservation(db, "0xt1", lab=" LAB-1 ")
    w.post("/api/reservations/start", {"reservationId": "0xt1", "host": "lab-ws-01",
                                       "wakeOptions": {"ping_timeout": 0.1}})
    w.post("/api/reservations/end", {"reservationId": "0xt1", "host": "lab-ws-01",
                                     "powerAction": {"mode": "shutdown"}})
    assert w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}).status_code == 200
    r = w.get("/api/reservations/timeline?reservation_id=0xt1&limit=2")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["reservation"] == {"reservationId": "0xt1", "labId": " LAB-1 ", "status": "CONFIRMED",
                                "start": "2026-01-01T12:00:00+00:00",
                                "end": "2026-01-01T13:00:00+00:00", "walletAddress": "0xw",
                                "createdAt": "2025-12-31T00:00:00+00:00",
                                "updatedAt": "2025-12-31T00:00:00+00:00"}
    assert t["host"]["name"] == "lab-ws-01" and t["host"]["labId"] == " LAB-1 "
    cfg = t["host"]["config"]
    assert cfg["address"] == "127.0.0.1" and "winrm_pass" not in cfg and "winrm_user" not in cfg
    assert PASSWORD not in r.text
    assert [o["action"] for o in t["operations"]] == ["wake", "prepare"]
    assert t["operations"][0]["payload"]["mac"] == MAC
    assert t["operations"][0]["responseCode"] == 200
    assert t["operations"][0]["createdAt"].endswith("+00:00")
    assert t["pagination"] == {"limit": 2, "offset": 0, "page": 1, "pageSize": 2, "returned": 2,
                               "total": 4, "hasMore": True, "nextOffset": 2}
    ph = t["phases"]
    assert ph["wake"]["action"] == "wake" and ph["prepare"]["action"] == "prepare"
    assert ph["release"]["action"] == "release" and ph["power"]["action"] == "power:shutdown"
    assert ph["schedulerEnd"] is None
    hb = t["heartbeat"]
    assert hb["ready"] is True and hb["localMode"] is True and hb["localSession"] is False
    assert hb["timestamp"] == "2026-01-01T12:00:00+00:00"
    assert hb["lastPower"] == {"timestamp": "2026-01-01T09:00:00+00:00", "mode": "shutdown"}
    assert hb["raw"]["summary"]["ready"] is True
    # clamps: limit above max, bad values fall back to defaults, negative offset -> 0
    t = w.get("/api/reservations/timeline?reservationId=0xt1&limit=9999&offset=3").json()
    assert t["pagination"]["limit"] == 500 and t["pagination"]["returned"] == 1
    assert t["pagination"]["hasMore"] is False and t["pagination"]["page"] == 1
    t = w.get("/api/reservations/timeline?reservationId=0xt1&limit=abc&offset=-4").json()
    assert t["pagination"]["limit"] == 100 and t["pagination"]["offset"] == 0
    t = w.get("/api/reservations/timeline?reservationId=0xt1&limit=0&offset=x").json()
    assert t["pagination"]["limit"] == 1 and t["pagination"]["nextOffset"] == 1
    # a quarantined host is not mapped
    w.post("/api/hosts/quarantine", {"host": "lab-ws-01"})
    t = w.get("/api/reservations/timeline?reservationId=0xt1").json()
    assert t["host"] == {"name": None, "labId": " LAB-1 ", "config": None}
    assert t["heartbeat"] is None


def test_timeline_env_clamps(make_worker, winrm, udp, db):
    winrm.set_script(ok_script())
    w = worker(make_worker, winrm, udp, db, OPS_TIMELINE_MAX_OPS="3",
               OPS_TIMELINE_DEFAULT_LIMIT="50")
    wait_db_ready(w)
    seed_reservation(db, "0xt2")
    for _ in range(2):
        w.post("/api/reservations/end", {"reservationId": "0xt2", "host": "lab-ws-01",
                                         "powerAction": {}})
    t = w.get("/api/reservations/timeline?reservationId=0xt2").json()
    assert t["pagination"]["limit"] == 3 and t["pagination"]["total"] == 2
