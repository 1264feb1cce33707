"""The server process: CLI, single-instance guard, metadata JSON, netlab pre-flight, signals,
the cross-process lab lock, --debug streaming, idle-lab keep (difference 7), sd_notify."""
import fcntl
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from labd_harness import Server, TOPOLOGY, server_binary

META_FIELDS = ["pid", "user", "host", "started_at", "port", "host_bind", "log_level",
               "log_config", "version", "cwd", "cmd"]


def run_cli(*args, env=None, timeout=20):
    return subprocess.run([str(server_binary()), *args], capture_output=True, text=True,
                          env=env or {"PATH": "/usr/bin:/bin"}, timeout=timeout)


def test_version_and_help():
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("neops-remote-lab ")
    r = run_cli("--help")
    assert r.returncode == 0
    for opt in ["--host", "--port", "--log-level", "--log-config", "--debug", "--version",
                "--netlab-command", "--netlab-up-timeout", "--netlab-down-timeout",
                "--netlab-inspect-timeout", "--active-session-timeout",
                "--waiting-session-timeout", "--idle-lab-keep", "--max-upload-file-size",
                "--max-upload-total-size", "--max-upload-files", "--max-sessions"]:
        assert opt in r.stdout, opt
    assert "Start the Remote Lab Manager" in r.stdout


@pytest.mark.parametrize("args", [["--port", "abc"], ["--port", "70000"], ["--bogus"],
                                  ["--log-level", "LOUD"], ["--port"], ["extra"],
                                  ["--max-upload-file-size", "0"],
                                  ["--active-session-timeout", "-1"]])
def test_bad_arguments_exit_2(args):
    r = run_cli(*args)
    assert r.returncode == 2, (args, r.stderr)
    assert r.stderr.startswith("usage: neops-remote-lab")
    assert "error:" in r.stderr


def test_metadata_written_and_removed(make_server):
    s = make_server(args=["--log-level", "info"])
    meta_path = s.tmp / "neops_remote_lab_server.meta.json"
    text = meta_path.read_text()
    meta = json.loads(text)
    assert list(meta) == META_FIELDS
    assert text.startswith('{\n  "pid": ')  # indent 2, like json.dump(indent=2)
    assert meta["pid"] == s.proc.pid
    assert meta["port"] == s.port and meta["host_bind"] == "127.0.0.1"
    assert meta["log_level"] == "info"  # as given, not normalised
    assert meta["log_config"] == "logging_config.yaml"
    assert meta["cwd"] == str(s.root)
    assert meta["cmd"].startswith(str(server_binary()))
    assert isinstance(meta["started_at"], float)
    assert (s.tmp / "neops_remote_lab_server.lock").exists()
    assert s.stop() == 0
    assert not meta_path.exists()
    assert (s.tmp / "neops_remote_lab_server.lock").exists()  # only the flock matters


def test_second_instance_exits_1(make_server):
    first = make_server(name="a")
    second = Server(first.root)  # same TMPDIR
    second.spawn()
    assert second.proc.wait(20) == 1
    log = second.log()
    assert "Another Remote Lab Manager instance is already running." in log
    assert "Running instance details:" in log
    assert f"  PID:        {first.proc.pid}" in log
    assert "  Bind:       127.0.0.1:" in log
    assert first.get("/healthz").status_code == 204


def test_stale_metadata_with_free_lock_starts(make_server):
    s = make_server(start=False)
    dead = subprocess.Popen(["/bin/true"])
    dead.wait()
    (s.tmp / "neops_remote_lab_server.meta.json").write_text(json.dumps({"pid": dead.pid}))
    s.start()
    assert json.loads((s.tmp / "neops_remote_lab_server.meta.json").read_text())["pid"] == s.proc.pid


def test_lock_held_with_stale_metadata(make_server):
    s = make_server(start=False)
    dead = subprocess.Popen(["/bin/true"])
    dead.wait()
    meta = s.tmp / "neops_remote_lab_server.meta.json"
    meta.write_text(json.dumps({"pid": str(dead.pid)}))
    with open(s.tmp / "neops_remote_lab_server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by someone else
        s.spawn()
        assert s.proc.wait(20) == 1
    log = s.log()
    assert "Stale instance metadata detected – cleaning up..." in log
    assert "Lock still held but metadata was stale" in log
    assert not meta.exists()


def test_lock_held_without_metadata(make_server):
    s = make_server(start=False)
    with open(s.tmp / "neops_remote_lab_server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        s.spawn()
        assert s.proc.wait(20) == 1
    assert "No metadata file found for existing instance" in s.log()


def test_no_netlab_on_path_exits_1(make_server):
    s = make_server(start=False, netlab=False)
    s.spawn()
    assert s.proc.wait(20) == 1
    log = s.log()
    assert "'netlab' CLI not found in PATH." in log
    assert "Install Netlab: https://netlab.tools/install/ubuntu/" in log
    assert not (s.tmp / "neops_remote_lab_server.meta.json").exists()


def test_netlab_version_failure_exits_1(make_server):
    s = make_server(start=False, env={"FAKE_NETLAB_FAIL": "version"})
    s.spawn()
    assert s.proc.wait(20) == 1
    assert "Failed to execute 'netlab version'" in s.log()
    assert "Please verify your Netlab installation" in s.log()


def test_netlab_command_option(make_server, tmp_path):
    from labd_harness import netlab_sim

    s = make_server(start=False, netlab=False, args=["--netlab-command", str(netlab_sim())])
    s.start()
    assert f"({netlab_sim()})" in s.log()
    sid = s.new_session()
    assert s.acquire(sid).status_code == 200


def test_startup_cleanup_and_logs(server):
    server.wait_log("Startup cleanup encountered an error")
    assert server.netlab_calls()[:2] == [["version"], ["down", "--instance", "default", "--cleanup"]]
    for line in ["Starting Remote Lab Manager on 127.0.0.1:0", "Remote Lab Manager starting up...",
                 "Performing startup cleanup of stale netlab instances...",
                 "Remote Lab Manager startup complete", "Detected netlab version 26.03",
                 "[WARNING] remote-lab-server: `netlab version` says: [WARNING] netlab-sim: "
                 "this is the netlab SIMULATOR"]:
        assert line in server.log()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_graceful_shutdown_tears_lab_down(make_server, sig):
    s = make_server()
    a = s.new_session()
    s.new_session()
    s.acquire(a)
    work = Path([e for e in s.netlab_starts() if e["argv"][0] == "up"][0]["cwd"])
    assert s.stop(sig) == 0
    assert s.netlab_calls()[-1] == ["down", "--cleanup"]
    assert not work.exists()
    assert not list(s.tmp.glob("remote_netlab_upload_*"))
    assert not (s.tmp / "neops_remote_lab_server.meta.json").exists()
    log = s.log()
    assert f"Received signal {int(sig)}, shutting down gracefully..." in log
    assert "Active sessions at shutdown: ['" in log
    assert "Cleaning up 2 remaining sessions..." in log
    assert "Tearing down lab topology.yml (reason: server-shutdown)" in log
    assert "ended, cleaning up lab" not in log
    assert s.netlab_calls().count(["down", "--cleanup"]) == 1
    assert "Remote Lab Manager shutdown complete" in log
    # The lock is free again: a new server starts on the same TMPDIR.
    again = Server(s.root)
    again.start()
    assert again.stop() == 0


def test_shutdown_interrupts_running_up(make_server):
    s = make_server()
    sid = s.new_session()
    s.knobs(hang="up")
    out = {}
    t = threading.Thread(target=lambda: out.update(r=s.acquire(sid)))
    t.start()
    s.wait_for(lambda: any(c[0] == "up" for c in s.netlab_calls()), 10, "netlab up")
    up_pid = [e for e in s.netlab_starts() if e["argv"][0] == "up"][0]["pid"]
    s.proc.send_signal(signal.SIGTERM)
    t.join(30)
    assert out["r"].status_code == 503
    assert s.proc.wait(30) == 0
    exits = {e["pid"]: e["rc"] for e in s.netlab_events() if e["event"] == "exit"}
    assert exits[up_pid] == 1  # netlab was interrupted with SIGINT
    assert ["down", "--cleanup", "--force"] in s.netlab_calls()
    assert not list(s.tmp.glob("netlab_topo_*"))
    s.stop()


def test_delete_during_shutdown_is_204(make_server):
    s = make_server(args=["--netlab-down-timeout", "5"])
    a = s.new_session()
    s.acquire(a)
    s.knobs(down_delay=1.5)
    s.proc.send_signal(signal.SIGTERM)
    s.wait_log("shutting down gracefully")
    r = s.delete("/session/whatever-id")
    assert r.status_code == 204
    assert s.proc.wait(30) == 0
    s.stop()


def test_lab_lock_held_by_another_process(server):
    lock_path = server.tmp / "netlab_pytest.lock"
    sid = server.new_session()
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = {}
        t = threading.Thread(target=lambda: out.update(r=server.acquire(sid)))
        t.start()
        server.wait_log("Lab lock .* is held by another process - waiting")
        time.sleep(0.5)
        assert t.is_alive()
        assert not any(c[0] == "up" for c in server.netlab_calls())
        assert server.get("/healthz").status_code == 204  # the loop is not blocked
        fcntl.flock(lock, fcntl.LOCK_UN)
    t.join(30)
    assert out["r"].status_code == 200
    # And the server holds it while it works: our non-blocking attempt fails during a slow up.
    server.knobs(up_delay=1.5)
    server.post("/lab/release", session=sid)
    t = threading.Thread(target=lambda: server.acquire(sid, reuse=False))
    t.start()
    server.wait_for(lambda: server.netlab_calls()[-1][0] == "up", 10)
    with open(lock_path, "w") as lock:
        with pytest.raises(BlockingIOError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    t.join(30)


def test_debug_streams_netlab_output(make_server):
    s = make_server(args=["--debug"])
    sid = s.new_session()
    s.acquire(sid)
    log = s.log()
    assert "[DEBUG]" in log
    assert "[netlab] " in log
    assert "Running: netlab up topology.yml" in log
    assert json.loads((s.tmp / "neops_remote_lab_server.meta.json").read_text())["log_level"] == "DEBUG"


def test_log_config_file(make_server):
    s = make_server(start=False)
    (s.root / "logging_config.yaml").write_text("format = json\nlevel = warning\n")
    s.start()
    s.wait_log("Startup cleanup encountered an error")
    lines = [l for l in s.log().splitlines() if l.startswith("{")]
    assert lines, s.log()
    rec = json.loads(lines[-1])
    assert set(rec) == {"time", "level", "logger", "message"}
    assert "Loaded logging config" not in s.log()  # INFO is below WARNING


def test_python_dictconfig_is_ignored_with_warning(make_server):
    s = make_server(start=False)
    (s.root / "logging_config.yaml").write_text(
        "version: 1\nhandlers:\n  console:\n    class: logging.StreamHandler\n")
    s.start()
    assert "is a Python logging dictConfig" in s.log()


def test_idle_lab_keep(make_server):
    # Deliberate difference 7: a lab survives its session for --idle-lab-keep seconds.
    s = make_server(args=["--idle-lab-keep", "3"])
    a = s.new_session()
    assert s.acquire(a).json()["reused"] is False
    b = s.new_session()
    assert s.delete(f"/session/{a}").status_code == 204
    assert ["down", "--cleanup"] not in s.netlab_calls()
    assert s.get(f"/session/{b}").json()["status"] == "active"
    st = s.get("/lab", session=b).json()
    assert st["running"] is True and st["ref_count"] == 0
    r = s.acquire(b, reuse=True)
    assert r.status_code == 200 and r.json()["reused"] is True
    assert len([c for c in s.netlab_calls() if c[0] == "up"]) == 1
    c = s.new_session()
    s.delete(f"/session/{b}")
    time.sleep(1.0)
    assert ["down", "--cleanup"] not in s.netlab_calls()
    s.wait_for(lambda: s.get("/lab", session=c).json()["running"] is False, 10, "idle teardown")
    assert ["down", "--cleanup"] in s.netlab_calls()


def test_idle_lab_is_replaced_for_another_topology(make_server):
    s = make_server(args=["--idle-lab-keep", "30"])
    a = s.new_session()
    s.acquire(a)
    b = s.new_session()
    s.delete(f"/session/{a}")
    r = s.acquire(b, topology=b"provider: clab\ndefaults.device: frr\nnodes: [x]\n", name="other.yml")
    assert r.status_code == 200 and r.json()["reused"] is False
    calls = s.netlab_calls()
    assert calls.index(["down", "--cleanup"]) < calls.index(["up", "other.yml"])
    # reuse=false with the same topology also restarts the idle lab.
    c = s.new_session()
    s.delete(f"/session/{b}")
    n = len([x for x in s.netlab_calls() if x[0] == "up"])
    r = s.acquire(c, topology=b"provider: clab\ndefaults.device: frr\nnodes: [x]\n", name="other.yml", reuse=False)
    assert r.json()["reused"] is False
    assert len([x for x in s.netlab_calls() if x[0] == "up"]) == n + 1


def test_sd_notify_ready(make_server, tmp_path):
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(15)
    s = make_server(env={"NOTIFY_SOCKET": str(sock_path)})
    msgs = []
    while not any("READY=1" in m for m in msgs):
        msgs.append(sock.recv(4096).decode())
    s.proc.send_signal(signal.SIGTERM)
    while not any("STOPPING=1" in m for m in msgs):
        msgs.append(sock.recv(4096).decode())
    sock.close()
    assert s.proc.wait(20) == 0
    s.stop()
