"""GET /metrics (issue 10): the text format 0.0.4 read with Debian's python3-prometheus-client
parser after exercising the worker, asserting that each metric moved as it should; bounded
label sets (route patterns, never raw paths); access control like /health."""
import json
import subprocess
import time

from conftest import (HEARTBEAT_PATH, MAC, WORKER, db_time, free_port, heartbeat_doc,
                      seed_reservation, station, wait_db_ready)
from promtext import scrape
from rawhttp import exchange, parse_one

FAMILIES = {
    "ops_worker_build_info": "gauge",
    "ops_worker_http_requests": "counter",
    "ops_worker_http_connections": "gauge",
    "ops_worker_http_connections_closed": "counter",
    "ops_worker_winrm_call_duration_seconds": "histogram",
    "ops_worker_wake_attempts": "counter",
    "ops_worker_wakes": "counter",
    "ops_worker_heartbeat_polls": "counter",
    "ops_worker_heartbeat_age_seconds": "gauge",
    "ops_worker_hosts_loaded": "gauge",
    "ops_worker_scheduler_steps": "counter",
    "ops_worker_scheduler_scans": "counter",
    "ops_worker_journal_spool_rows": "gauge",
    "ops_worker_database_errors": "counter",
    "ops_worker_database_connected": "gauge",
    "ops_worker_heartbeat_stream_readers": "gauge",
    "ops_worker_heartbeat_stream_closed": "counter",
}
WINRM = "ops_worker_winrm_call_duration_seconds"
HTTP = "ops_worker_http_requests_total"


def delta(before, after, name, **labels):
    return after.value(name, **labels) - before.value(name, **labels)


def test_metrics_move_with_the_work(make_worker, winrm, udp):
    closed = free_port()  # nothing listens: every reachability check fails
    w = make_worker([station(winrm.port, udp_port=udp.port)],
                    env={"OPS_REACH_METHOD": "tcp:%d" % closed})
    winrm.set_script({"default": {"stdout": "fine"},
                      "files": {HEARTBEAT_PATH: json.dumps(heartbeat_doc())}})
    before = scrape(w)
    assert {n: f.type for n, f in before.families.items()} == FAMILIES
    version = subprocess.run([WORKER, "--version"], capture_output=True, text=True,
                             timeout=60).stdout.split()[-1]
    assert before.value("ops_worker_build_info", version=version) == 1
    assert before.value("ops_worker_hosts_loaded") == 1

    # WinRM: one command that runs, one refused by the station, one request refused by us
    assert w.post("/api/winrm", {"host": "lab-ws-01", "command": "status"}).status_code == 200
    r = w.post("/api/winrm", {"host": "lab-ws-01", "command": "status", "password": "wrong"})
    assert r.status_code == 500 and r.json() == {"error": "WinRM authentication failed"}
    assert w.post("/api/winrm", data="[1]").status_code == 400
    # heartbeats: two good polls, one that fails on the station
    polled = time.monotonic()
    for _ in range(2):
        assert w.post("/api/heartbeat/poll", {"host": "LAB-WS-01"}).status_code == 200
    winrm.set_script({"default": {"stdout": "fine"}})  # heartbeat.json gone
    assert w.post("/api/heartbeat/poll", {"host": "lab-ws-01"}).status_code == 500
    # a wake of two attempts that never sees the host
    r = w.post("/api/wol", {"mac": MAC, "broadcast": "127.0.0.1", "port": udp.port,
                            "ping_target": "127.0.0.1", "ping_timeout": 0.2, "attempts": 2})
    assert r.status_code == 200 and r.json()["success"] is False
    # paths that match no route count under one label, never their own
    assert w.get("/no/such/path-0x5ec7e7").status_code == 404
    assert w.post("/health").status_code == 405

    after = scrape(w)
    since = time.monotonic() - polled
    assert delta(before, after, WINRM + "_count", kind="command", result="ok") == 1
    assert delta(before, after, WINRM + "_count", kind="command", result="auth_failed") == 1
    assert delta(before, after, WINRM + "_count", kind="heartbeat", result="ok") == 2
    assert delta(before, after, WINRM + "_count", kind="heartbeat", result="remote_error") == 1
    assert after.value(WINRM + "_bucket", kind="command", result="ok", le="+Inf") == \
        after.value(WINRM + "_count", kind="command", result="ok")
    assert after.value(WINRM + "_sum", kind="heartbeat", result="ok") > 0
    assert delta(before, after, "ops_worker_heartbeat_polls_total", result="ok") == 2
    assert delta(before, after, "ops_worker_heartbeat_polls_total", result="failed") == 1
    # age since the last good poll, under the host's hosts.json name
    age = after.value("ops_worker_heartbeat_age_seconds", host="lab-ws-01")
    assert after.labels("ops_worker_heartbeat_age_seconds") == [{"host": "lab-ws-01"}]
    assert 0 <= age <= since
    assert delta(before, after, "ops_worker_wake_attempts_total", result="sent") == 2
    assert delta(before, after, "ops_worker_wakes_total", result="unreachable") == 1
    assert delta(before, after, "ops_worker_wakes_total", result="reachable") == 0
    assert delta(before, after, HTTP, route="POST /api/winrm", code="200") == 1
    assert delta(before, after, HTTP, route="POST /api/winrm", code="500") == 1
    assert delta(before, after, HTTP, route="POST /api/winrm", code="400") == 1
    assert delta(before, after, HTTP, route="POST /api/heartbeat/poll", code="200") == 2
    assert delta(before, after, HTTP, route="POST /api/heartbeat/poll", code="500") == 1
    assert delta(before, after, HTTP, route="POST /api/wol", code="200") == 1
    assert delta(before, after, HTTP, route="unmatched", code="404") == 1
    assert delta(before, after, HTTP, route="unmatched", code="405") == 1
    assert delta(before, after, HTTP, route="GET /metrics", code="200") == 1
    routes = {l["route"] for l in after.labels(HTTP)}
    assert routes <= {"GET /health", "GET /metrics", "POST /api/winrm", "POST /api/wol",
                      "POST /api/heartbeat/poll", "unmatched"}, routes
    assert "0x5ec7e7" not in after.text
    assert after.value("ops_worker_http_connections") >= 1
    assert after.value("ops_worker_database_connected") == 1
    assert after.value("ops_worker_journal_spool_rows") == 0
    # a host that leaves hosts.json leaves the age metric
    w.write_hosts([])
    assert w.post("/api/hosts/reload").status_code == 200
    last = scrape(w)
    assert last.labels("ops_worker_heartbeat_age_seconds") == []
    assert last.value("ops_worker_hosts_loaded") == 0


def test_scheduler_metrics(make_worker, winrm, udp, db):
    winrm.set_script({"commands": [{"regex": r".*prepare-session.*", "stdout": "ok"}],
                      "files": {HEARTBEAT_PATH: json.dumps(heartbeat_doc())}})
    env = dict(db.env, OPS_RESERVATION_AUTOMATION="yes", OPS_RESERVATION_SCAN_INTERVAL="0.3",
               OPS_RESERVATION_WAKE_TIMEOUT="0.2", OPS_RESERVATION_RETRY_COOLDOWN="3600")
    w = make_worker([station(winrm.port, udp_port=udp.port, labs=["lab-1"])], env=env)
    wait_db_ready(w)
    seed_reservation(db, "0xm1", lab="lab-1", start=db_time(5), end=db_time(3600))
    seed_reservation(db, "0xm2", lab="lab-404", start=db_time(5), end=db_time(3600))
    db.wait_for("SELECT status FROM lab_reservations WHERE transaction_hash = '0xm1'",
                lambda rows: rows[0][0] == "ACTIVE")
    db.wait_for("SELECT COUNT(*) FROM reservation_operations WHERE reservation_id = '0xm2'",
                lambda rows: rows[0][0] == "1")
    m = scrape(w)
    assert m.value("ops_worker_scheduler_steps_total", step="start", result="ok") == 1
    assert m.value("ops_worker_scheduler_steps_total", step="start", result="unmapped") == 1
    assert m.value("ops_worker_scheduler_steps_total", step="start", result="failed") == 0
    assert m.value("ops_worker_scheduler_scans_total", result="ok") >= 1
    assert m.value("ops_worker_wakes_total", result="reachable") == 1
    assert m.value("ops_worker_wake_attempts_total", result="sent") >= 1
    assert m.value(WINRM + "_count", kind="command", result="ok") == 1
    # the labels carry no reservation ids
    assert "0xm1" not in m.text and "0xm2" not in m.text
    # later scans find both steps in their cooldown: nothing more is counted as run
    time.sleep(1)
    m2 = scrape(w)
    assert m2.value("ops_worker_scheduler_steps_total", step="start", result="ok") == 1
    assert m2.value("ops_worker_scheduler_scans_total", result="ok") > \
        m.value("ops_worker_scheduler_scans_total", result="ok")


def test_database_outage_metrics(make_worker, winrm, udp):
    """No database at the DSN: journal rows wait in the spool, errors are counted."""
    winrm.set_script({"commands": [{"regex": r".*release-session.*", "stdout": "ok"}]})
    w = make_worker([station(winrm.port, udp_port=udp.port)],
                    env={"MYSQL_DSN": "mysql://ops:pw@127.0.0.1:%d/ops" % free_port(),
                         "OPS_JOURNAL_SPOOL_RETRY": "60"})
    before = scrape(w)
    r = w.post("/api/reservations/end", {"reservationId": "0xd1", "host": "lab-ws-01"})
    assert r.status_code == 200, r.text
    m = scrape(w)
    assert m.value("ops_worker_journal_spool_rows") == 1
    assert m.value("ops_worker_database_connected") == 0
    assert delta(before, m, "ops_worker_database_errors_total", kind="unavailable") >= 1
    assert m.value("ops_worker_database_errors_total", kind="failed") == 0
    assert w.get("/health").json()["journal_spooled"] == 1
    # the DSN's password never shows
    assert "pw@" not in m.text


def test_metrics_access_follows_health(make_worker):
    """With LAB_MANAGER_TOKEN, /metrics (like /health) needs no token, every other route
    does; the network allow-list holds for all of them."""
    w = make_worker(env={"LAB_MANAGER_TOKEN": "s3cret", "OPS_ALLOWED_NETWORKS": "127.0.0.1/32"})
    assert w.get("/metrics").status_code == 200
    assert w.get("/health").status_code == 200
    assert w.get("/openapi.json").status_code == 401
    assert w.get("/openapi.json", headers={"X-Lab-Manager-Token": "s3cret"}).status_code == 200
    assert w.get("/api/heartbeat/stream").status_code == 401
    m = scrape(w)
    assert m.value(HTTP, route="GET /openapi.json", code="401") == 1
    assert m.value(HTTP, route="GET /api/heartbeat/stream", code="401") == 1
    assert "s3cret" not in m.text
    # from an address outside the list: 403, the token notwithstanding
    data, _ = exchange(w.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                       src="127.0.0.2")
    r = parse_one(data)
    assert r.status == 403 and r.json() == {"error": "Forbidden"}
