"""Lab pools: labctl run over three real servers (netlab-sim), choosing, switching, failing over."""
import json
import signal
import threading
import time

import pytest

from conftest import Labctl, check_sanitizer, wait_for, TOPOLOGY

EXIT_UNREACHABLE = 3

# COMMAND: write which server serves it, then wait until `count` jobs hold a lab at once
BARRIER = (
    "import os, sys, time\n"
    "d, me, count = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
    "open(os.path.join(d, me), 'w').write(os.environ['REMOTE_LAB_URL'])\n"
    "end = time.monotonic() + 90\n"
    "while len(os.listdir(d)) < count:\n"
    "    if time.monotonic() > end: sys.exit(9)\n"
    "    time.sleep(0.05)\n")


def three(make_server, *per_server_args):
    return [make_server(*args) for args in per_server_args]


def run_args(topo, *extra):
    return ["run", "--topology", str(topo), "--poll-interval", "0.3", "--heartbeat-period", "1", *extra, "--"]


def finish(procs, timeout=180):
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        check_sanitizer(err)
        results.append((p.returncode, out, err))
    return results


def test_jobs_spread_over_idle_hosts(make_server, tmp_path, topo):
    servers = three(make_server, (), (), ())
    lc = Labctl(servers[0], tmp_path).pool(servers)
    d = tmp_path / "barrier"
    d.mkdir()
    procs = [lc.popen(*run_args(topo), "/usr/bin/python3", "-c", BARRIER, str(d), f"job{i}", "3")
             for i in range(3)]
    results = finish(procs)
    for rc, _, err in results:
        assert rc == 0, err  # the barrier is reached only with three labs held at once
    urls = {(d / f"job{i}").read_text() for i in range(3)}
    assert urls == {s.url for s in servers}
    for rc, _, err in results:
        assert "serves this job" in err


def test_warm_host_wins(make_server, tmp_path, topo):
    warm = tmp_path / "warm.yml"
    warm.write_text(TOPOLOGY)  # the same bytes: the same SHA-256
    servers = three(make_server, (), ("--prewarm", str(warm), "--idle-lab-keep", "300"), ())
    servers[1].wait_for(lambda: servers[1].get("/host").json().get("warm"), 60, "prewarm")
    lc = Labctl(servers[0], tmp_path).pool(servers)
    for _ in range(3):  # whatever the jitter draws
        out = tmp_path / "url"
        p = lc(*run_args(topo, "--reuse"), "sh", "-c", f'echo "$REMOTE_LAB_URL" > {out}', timeout=120)
        assert p.returncode == 0, p.stderr
        assert out.read_text().strip() == servers[1].url, p.stderr
        assert "(reused)" in p.stderr
    assert [a[0] for a in servers[1].netlab_calls()].count("up") == 1  # only the prewarm


def test_tags_are_honoured(make_server, tmp_path, topo):
    servers = three(make_server, ("--tag", "provider=clab"), ("--tag", "provider=libvirt"),
                    ("--tag", "provider=clab", "--tag", "site=zrh"))
    lc = Labctl(servers[0], tmp_path).pool(servers)
    out = tmp_path / "url"
    for _ in range(3):
        p = lc(*run_args(topo, "--require", "provider=clab", "--require", "site=zrh"),
               "sh", "-c", f'echo "$REMOTE_LAB_URL" > {out}', timeout=120)
        assert p.returncode == 0, p.stderr
        assert out.read_text().strip() == servers[2].url
    p = lc(*run_args(topo, "--require", "provider=vsphere"), "true", timeout=60)
    assert p.returncode == EXIT_UNREACHABLE, p.stderr
    assert "tags do not match" in p.stderr
    assert not servers[0].get("/sessions").json()["sessions"]


def sessions_by_label(server):
    try:
        return server.get("/sessions", timeout=5).json()["sessions"]
    except Exception:
        return []


def test_host_killed_while_waiting_sends_clients_elsewhere(make_server, tmp_path, topo):
    servers = three(make_server, (), (), ())
    holders = [s.new_session() for s in servers]  # every host busy
    lc = Labctl(servers[0], tmp_path).pool(servers)
    procs = [lc.popen(*run_args(topo, "--label", f"waiter{i}"), "sh", "-c", 'echo "$REMOTE_LAB_URL"')
             for i in range(2)]

    def where():
        found = {}
        for k, s in enumerate(servers):
            for e in sessions_by_label(s):
                if (e.get("label") or "").startswith("waiter"):
                    found[e["label"]] = k
        return found if len(found) == 2 else None

    placed = wait_for(where, timeout=60, what="both waiters queued")
    victim = placed["waiter0"]
    servers[victim].stop(signal.SIGKILL)
    # free the other hosts one after the other; the waiters must get there
    for k, s in enumerate(servers):
        if k != victim:
            s.delete(f"/session/{holders[k]}")
    t0 = time.monotonic()
    results = finish(procs, timeout=120)
    for rc, out, err in results:
        assert rc == 0, err
        assert out.strip() != servers[victim].url
    assert time.monotonic() - t0 < 60  # generous: "within seconds" on a loaded machine


def test_never_two_active_sessions(make_server, tmp_path, topo):
    servers = three(make_server, (), (), ())
    lc = Labctl(servers[0], tmp_path).pool(servers)
    n = 6
    worst = {}
    leaked = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            active = {}
            for s in servers:
                for e in sessions_by_label(s):
                    if e["state"] == "active" and e.get("label"):
                        active[e["label"]] = active.get(e["label"], 0) + 1
                    if "session_id" in e:
                        leaked.append(e)
            for label, cnt in active.items():
                worst[label] = max(worst.get(label, 0), cnt)
            time.sleep(0.05)

    t = threading.Thread(target=sample)
    t.start()
    try:
        procs = [lc.popen(*run_args(topo, "--label", f"job{i}"), "sleep", "1.5") for i in range(n)]
        results = finish(procs)
    finally:
        stop.set()
        t.join()
    for rc, _, err in results:
        assert rc == 0, err
    assert set(worst) == {f"job{i}" for i in range(n)}, worst  # every job was seen ACTIVE
    assert max(worst.values()) == 1, worst
    assert not leaked  # GET /sessions never shows a session id


def test_host_dies_while_holding_is_an_error(make_server, tmp_path, topo):
    servers = three(make_server, (), (), ())
    lc = Labctl(servers[0], tmp_path).pool(servers)
    ready = tmp_path / "ready"
    p = lc.popen(*run_args(topo, "--restart-wait", "2"), "sh", "-c",
                 f'echo "$REMOTE_LAB_URL" > {ready}; sleep 3')
    wait_for(lambda: ready.exists() and ready.read_text().strip(), timeout=60, what="COMMAND")
    url = ready.read_text().strip()
    victim = next(s for s in servers if s.url == url)
    victim.stop(signal.SIGKILL)
    out, err = p.communicate(timeout=120)
    check_sanitizer(err)
    assert p.returncode == EXIT_UNREACHABLE, err
    assert "lost the lab host" in err and url in err
    for s in servers:  # never retried elsewhere
        if s is not victim:
            assert not s.get("/sessions").json()["sessions"]
