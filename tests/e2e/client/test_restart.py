"""Restart ride-out: the server restarts with --keep-labs while labctl holds a lab or waits."""
import signal
import time

from conftest import Labctl, check_sanitizer, free_port, wait_for



def restart(server, sig=signal.SIGTERM, down_for=0.0):
    """Stop the server, stay away `down_for` seconds (clients calling meanwhile are refused),
    start it again on the same port."""
    server.stop(sig)
    time.sleep(down_for)
    server.start(timeout=60)


def test_run_keeps_its_child_through_a_restart(make_server, tmp_path, topo):
    port = free_port()  # the restarted server must listen where the client looks
    server = make_server("--keep-labs", port=port)
    lc = Labctl(server, tmp_path)
    ready, go, status = tmp_path / "ready", tmp_path / "go", tmp_path / "status"
    cmd = (f'echo "$REMOTE_LAB_SESSION_ID" > {ready}; '
           f'while [ ! -e {go} ]; do sleep 0.1; done; '
           f'{lc.exe} session status "$REMOTE_LAB_SESSION_ID" --json > {status}')
    p = lc.popen("run", "--topology", str(topo), "--poll-interval", "0.3", "--heartbeat-period", "0.5",
                 "--", "sh", "-c", cmd)
    sid = wait_for(lambda: ready.exists() and ready.read_text().strip(), timeout=60, what="COMMAND")
    restart(server)
    assert server.port == port
    go.touch()
    out, err = p.communicate(timeout=120)
    check_sanitizer(err)
    assert p.returncode == 0, err  # the child kept running; the same session is still active
    st = __import__("json").loads(status.read_text())
    assert st["session_id"] == sid and st["status"] == "active"
    assert "session ended" in err and "lost the lab host" not in err
    assert [a[0] for a in server.netlab_calls()].count("up") == 1  # the lab was kept, not re-made


def test_waiting_run_rides_out_a_restart(make_server, tmp_path, topo):
    port = free_port()
    server = make_server("--keep-labs", port=port)
    lc = Labctl(server, tmp_path)
    holder = server.new_session()
    p = lc.popen("run", "--topology", str(topo), "--poll-interval", "0.3", "--heartbeat-period", "0.5",
                 "--", "true")
    wait_for(lambda: len(server.get("/sessions").json()["sessions"]) == 2, timeout=60, what="queued")
    # Away for many poll periods (0.3 s): the waiting client certainly meets the refusal.
    restart(server, signal.SIGKILL, down_for=3.0)
    server.delete(f"/session/{holder}")
    out, err = p.communicate(timeout=120)
    check_sanitizer(err)
    assert p.returncode == 0, err
    assert "retrying" in err  # the ride-out was visible, and it worked


def test_restart_wait_bounds_the_ride_out(make_server, tmp_path, topo):
    server = make_server()
    lc = Labctl(server, tmp_path)
    sid = lc.json("session", "new")["session_id"]
    server.stop()
    p = lc("session", "status", sid, "--restart-wait", "1", timeout=60)
    assert p.returncode == 3, p.stderr
    assert "gave up" in p.stderr


def test_child_keeps_running_through_a_plain_restart(make_server, tmp_path, topo):
    """Without --keep-labs the server forgets the session, but COMMAND is never cut short:
    labctl rides out the restart and reports the dropped session at the end."""
    port = free_port()
    server = make_server(port=port)
    lc = Labctl(server, tmp_path)
    ready, go, done = tmp_path / "ready", tmp_path / "go", tmp_path / "done"
    p = lc.popen("run", "--topology", str(topo), "--poll-interval", "0.3", "--heartbeat-period", "0.5",
                 "--", "sh", "-c", f"touch {ready}; while [ ! -e {go} ]; do sleep 0.1; done; touch {done}")
    wait_for(ready.exists, timeout=60, what="COMMAND")
    server.stop()
    server.start(timeout=60)
    assert server.port == port
    go.touch()
    out, err = p.communicate(timeout=120)
    check_sanitizer(err)
    assert done.exists()
    assert p.returncode == 0, err
    assert "already dropped the session" in err
