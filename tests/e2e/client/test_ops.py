"""labctl status, watch and admin, and the queue controls (priority, label, max_wait, try-lock)."""
import json
import threading

from conftest import Labctl, check_sanitizer, wait_for
from promtext import scrape

EXIT_SERVER, EXIT_TIMEOUT, EXIT_NOSESSION, EXIT_BUSY = 1, 4, 6, 8


def test_status_table_and_json(labctl, server, topo):
    sid = labctl.json("session", "new", "--label", "ci-job-1")["session_id"]
    labctl("lab", "up", "--topology", str(topo), env={"REMOTE_LAB_SESSION": sid}, check=0)
    labctl("session", "new", "--label", "ci-job-2", "--priority", "5", check=0)
    st = labctl.json("status")
    assert st["url"] == server.url
    labels = {e["label"]: e for e in st["sessions"]["sessions"]}
    assert labels["ci-job-1"]["state"] == "active" and labels["ci-job-2"]["state"] == "waiting"
    assert labels["ci-job-2"]["priority"] == 5
    assert len(st["labs"]["labs"]) == 1
    text = labctl("status", check=0).stdout
    assert "ci-job-1" in text and "HANDLE" in text and "topo.yml" in text
    assert sid not in json.dumps(st) + text  # never a session id


def event_readers(server):
    return scrape(server).value("remote_lab_event_readers")


def watch(labctl, server, *args):
    """labctl watch, once the server counts it among its event readers (a reader that comes
    late is not sent what happened before): (process, its stdout lines so far, reader thread)."""
    before = event_readers(server)
    p = labctl.popen("watch", *args)
    lines = []
    t = threading.Thread(target=lambda: lines.extend(p.stdout))
    t.start()
    wait_for(lambda: event_readers(server) == before + 1, timeout=30, what="labctl watch reading")
    return p, lines, t


def end_watch(p, t):
    p.terminate()
    p.wait(timeout=30)
    t.join()
    check_sanitizer(p.stderr.read())


def test_watch_prints_events(labctl, server):
    p, lines, t = watch(labctl, server, "--json")
    sid = labctl.json("session", "new", "--label", "watched")["session_id"]
    labctl("session", "end", sid, check=0)
    wait_for(lambda: any('"session.ended"' in l for l in lines), timeout=30, what="session.ended")
    end_watch(p, t)
    evs = [json.loads(l) for l in lines]
    kinds = [e["event"] for e in evs]
    assert "session.created" in kinds and "session.ended" in kinds
    ended = next(e for e in evs if e["event"] == "session.ended")
    assert ended["data"]["reason"] == "deleted"
    assert sid not in "".join(lines)
    # the text form: one line per event
    p, lines, t = watch(labctl, server)
    sid = labctl.json("session", "new")["session_id"]
    labctl("session", "end", sid, check=0)
    wait_for(lambda: any("session.ended" in l for l in lines), timeout=30, what="session.ended")
    end_watch(p, t)
    assert any("session.created" in l and "handle=" in l for l in lines), lines


def test_admin(make_server, tmp_path):
    tf = tmp_path / "admin-token"
    tf.write_text("adm1n-e2e\n")
    server = make_server("--admin-token-file", str(tf))
    lc = Labctl(server, tmp_path)
    p = lc("admin", "drain")
    assert p.returncode == EXIT_SERVER and "HTTP 401" in p.stderr
    lc("admin", "drain", "--admin-token-file", str(tf), check=0)
    assert server.get("/host").json()["draining"] is True
    lc("admin", "undrain", env={"REMOTE_LAB_ADMIN_TOKEN": "adm1n-e2e"}, check=0)
    assert server.get("/host").json()["draining"] is False
    out = lc.json("session", "new", "--priority", "0")  # queue controls: the handle comes back
    sid, handle = out["session_id"], out["handle"]
    lc("admin", "end", handle, "--admin-token-file", str(tf), check=0)
    p = lc("session", "status", sid)
    assert p.returncode == EXIT_NOSESSION and "session ended by the server: admin" in p.stderr
    p = lc("admin", "end", "s-nonexist", "--admin-token-file", str(tf))
    assert p.returncode == EXIT_NOSESSION and "404" in p.stderr
    assert lc("admin", "destroy", "x").returncode == 2


def test_queue_controls(labctl, server, tmp_path, topo):
    holder = server.new_session()
    # try-lock while held: exit 8, nothing created
    p = labctl("run", "--topology", str(topo), "--no-wait", "--", "true")
    assert p.returncode == EXIT_BUSY, p.stderr
    assert "No lab slot is free" in p.stderr
    assert len(server.get("/sessions").json()["sessions"]) == 1
    # max_wait: the server ends the waiting session; labctl says why
    p = labctl("run", "--topology", str(topo), "--max-wait", "1", "--poll-interval", "0.3", "--", "true",
               timeout=60)
    assert p.returncode == EXIT_TIMEOUT, p.stderr
    assert "max_wait" in p.stderr
    # priority: the later, higher-priority job is served first
    order = tmp_path / "order"
    procs = []
    for prio, name in (("0", "low"), ("10", "high")):
        procs.append(labctl.popen("run", "--topology", str(topo), "--priority", prio, "--label", name,
                                  "--poll-interval", "0.3", "--", "sh", "-c", f"echo {name} >> {order}"))
        wait_for(lambda n=name: any(e["label"] == n for e in server.get("/sessions").json()["sessions"]),
                 what=f"{name} queued")
    server.delete(f"/session/{holder}")
    for p in procs:
        out, err = p.communicate(timeout=120)
        check_sanitizer(err)
        assert p.returncode == 0, err
    assert order.read_text().split() == ["high", "low"]
