"""Lab slots (--lab-slots N > 1): labs on netlab multilab instances in parallel, held labs
never shared, the warm pool (--idle-lab-keep per slot, --prewarm), LRU replacement, and the
start-up cleanup of every instance the server may own."""
import os
import signal
import subprocess
import threading

from labd_harness import INSPECT_ALL, OTHER_TOPOLOGY, TOPOLOGY

THIRD_TOPOLOGY = b"provider: clab\ndefaults.device: frr\nnodes: [x]\n"


def ups(server):
    return [e for e in server.netlab_starts() if e["argv"][0] == "up"]


def instance_of(argv):
    """The multilab id of an `up --plugin multilab -s defaults.multilab.id=N` argv."""
    setting = [a for a in argv if a.startswith("defaults.multilab.id=")]
    return int(setting[0].split("=")[1]) if setting else None


def acquire_in_thread(server, sid, topology, results, key, **kw):
    t = threading.Thread(target=lambda: results.__setitem__(
        key, server.acquire(sid, topology=topology, timeout=120, **kw)))
    t.start()
    return t


def test_two_labs_come_up_in_parallel_on_their_own_instances(make_server):
    s = make_server(args=["--lab-slots", "2"])
    a, b = s.new_session(), s.new_session()
    assert s.get(f"/session/{b}").json() == {"status": "active", "position": 0}
    s.knobs(hang=["up"])
    results = {}
    ta = acquire_in_thread(s, a, TOPOLOGY, results, "a")
    s.wait_for(lambda: len(ups(s)) == 1, 30, "the first netlab up")
    tb = acquire_in_thread(s, b, OTHER_TOPOLOGY, results, "b")
    # The second `up` starts while the first still runs (it hangs until interrupted).
    s.wait_for(lambda: len(ups(s)) == 2, 30, "the second netlab up")
    exited = {e["pid"] for e in s.netlab_events() if e["event"] == "exit"}
    first, second = ups(s)
    assert first["pid"] not in exited and second["pid"] not in exited
    assert {instance_of(first["argv"]), instance_of(second["argv"])} == {1, 2}
    assert first["argv"][:4] == ["up", "--plugin", "multilab", "-s"]
    assert first["cwd"] != second["cwd"]
    # Interrupt both: each failed start is cleaned up on its own instance.
    s.knobs()
    for e in (first, second):
        os.kill(e["pid"], signal.SIGINT)
    ta.join(120)
    tb.join(120)
    assert results["a"].status_code == 500 and results["b"].status_code == 500
    downs = [c for c in s.netlab_calls() if c[0] == "down" and "-i" in c]
    assert sorted(c[c.index("-i") + 1] for c in downs) == ["1", "2"]
    assert s.get("/labs").json()["labs"] == []
    # The slots are usable again, still in parallel.
    assert s.acquire(a).status_code == 200
    assert s.acquire(b, topology=OTHER_TOPOLOGY).status_code == 200


def test_held_labs_are_never_shared(make_server):
    s = make_server(args=["--lab-slots", "2"])
    a, b = s.new_session(), s.new_session()
    ra = s.acquire(a)
    rb = s.acquire(b)  # same topology, reuse=true: a's lab is held, so a second one starts
    assert ra.status_code == 200 and rb.status_code == 200
    assert ra.json()["reused"] is False and rb.json()["reused"] is False
    assert len(ups(s)) == 2
    mgmt = {r.json()["devices"][0]["raw"]["mgmt"]["ipv4"] for r in (ra, rb)}
    assert mgmt == {"192.168.1.101", "192.168.2.101"}
    labs = s.get("/labs").json()["labs"]
    assert sorted(l["slot"] for l in labs) == [0, 1]
    assert all(l["holder"] and l["ref_count"] == 1 and not l["idle"] for l in labs)
    # Each session sees its own lab.
    assert s.get("/lab/devices", session=a).json() == ra.json()["devices"]
    assert s.get("/lab/devices", session=b).json() == rb.json()["devices"]


def test_idle_labs_are_reused_across_sessions(make_server):
    s = make_server(args=["--lab-slots", "2", "--idle-lab-keep", "300"])
    a = s.new_session()
    assert s.acquire(a).json()["reused"] is False
    assert s.delete(f"/session/{a}").status_code == 204
    labs = s.get("/labs").json()["labs"]
    assert len(labs) == 1 and labs[0]["idle"] is True and labs[0]["holder"] is None
    assert s.get("/host").json()["warm"] == [labs[0]["hash"]]
    b = s.new_session()
    r = s.acquire(b)
    assert r.status_code == 200 and r.json()["reused"] is True
    assert len(ups(s)) == 1
    assert not any(c[0] == "down" and "-i" in c for c in s.netlab_calls())
    labs = s.get("/labs").json()["labs"]
    assert labs[0]["holder"] is not None and labs[0]["ref_count"] == 1
    # reuse=false never takes a warm lab: the other slot starts a fresh one
    c = s.new_session()
    assert s.acquire(c, reuse=False).json()["reused"] is False
    assert len(ups(s)) == 2


def test_least_recently_used_idle_lab_is_replaced(make_server):
    s = make_server(args=["--lab-slots", "2", "--idle-lab-keep", "300"])
    a, b = s.new_session(), s.new_session()
    s.acquire(a, topology=TOPOLOGY)
    s.acquire(b, topology=OTHER_TOPOLOGY)
    s.delete(f"/session/{a}")  # idle first: least recently used
    s.delete(f"/session/{b}")
    first_idle = [l for l in s.get("/labs").json()["labs"] if len(l["devices"]) == 2][0]
    c = s.new_session()
    before = len(s.netlab_events())
    r = s.acquire(c, topology=THIRD_TOPOLOGY)
    assert r.status_code == 200 and r.json()["reused"] is False
    s.wait_log("Tearing down lab .* \\(reason: replace-idle\\)", 30)
    # the teardown overlaps the new lab's start: its `down` may not have begun yet
    s.wait_for(lambda: any(e["event"] == "start" and e["argv"][0] == "down"
                           for e in s.netlab_events()[before:]), 30, "the teardown's start")
    events = s.netlab_events()[before:]
    starts = [e for e in events if e["event"] == "start"]
    down = [e for e in starts if e["argv"][0] == "down"]
    up = [e for e in starts if e["argv"][0] == "up"]
    # the least recently used idle lab goes down on its instance, and the new lab starts at
    # once on another (a spare id) in the same slot: the two overlap
    assert [d["argv"] for d in down] == [["down", "--cleanup", "-i", first_idle["instance"]]]
    assert len(up) == 1 and instance_of(up[0]["argv"]) not in (1, 2)
    s.wait_for(lambda: any(e["event"] == "exit" and e["pid"] == down[0]["pid"]
                           for e in s.netlab_events()), 30, "the teardown")
    labs = {l["slot"]: l for l in s.get("/labs").json()["labs"]}
    assert labs[first_idle["slot"]]["instance"] == str(instance_of(up[0]["argv"]))
    # the other idle lab is untouched and still warm
    assert len(s.get("/host").json()["warm"]) == 1


def test_prewarm_brings_topologies_up_at_start_and_keeps_them(make_server, tmp_path):
    topo = tmp_path / "warm.yml"
    topo.write_bytes(TOPOLOGY)
    s = make_server(args=["--lab-slots", "2", "--prewarm", str(topo)])
    s.wait_for(lambda: s.get("/host").json()["warm"], 60, "the prewarmed lab")
    labs = s.get("/labs").json()["labs"]
    assert len(labs) == 1 and labs[0]["pinned"] is True and labs[0]["idle_expires_in"] is None
    a = s.new_session()
    r = s.acquire(a, name="mine.yml")  # same content, another name: same hash
    assert r.status_code == 200 and r.json()["reused"] is True
    assert len(ups(s)) == 1
    # Kept warm again when the session ends, without --idle-lab-keep.
    s.delete(f"/session/{a}")
    assert s.get("/host").json()["warm"] == [labs[0]["hash"]]
    assert not any(c[0] == "down" and "-i" in c for c in s.netlab_calls())


def test_prewarm_refuses_a_bad_file(make_server, tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("nodes: [a]\n")
    s = make_server(args=["--lab-slots", "2", "--prewarm", str(bad)], start=False)
    s.spawn()
    assert s.proc.wait(30) == 1
    assert "--prewarm" in s.log()
    s.proc = None


def test_startup_cleanup_covers_our_instances_only(make_server, tmp_path):
    s = make_server(args=["--lab-slots", "2"], start=False)
    env = dict(s.env, FAKE_NETLAB_LOG=str(tmp_path / "setup.jsonl"))
    ours = s.tmp / "netlab_topo_left_abcd1234"
    theirs = tmp_path / "someone-else"
    for d, mlid in ((ours, 3), (theirs, 4)):
        d.mkdir(parents=True)
        (d / "topology.yml").write_bytes(TOPOLOGY)
        subprocess.run([str(s.bin / "netlab"), "up", "--plugin", "multilab", "-s",
                        f"defaults.multilab.id={mlid}", "topology.yml"], cwd=d, env=env,
                       check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    s.start()
    s.wait_log("Remote Lab Manager startup complete")
    s.wait_for(lambda: ["down", "--cleanup", "--force", "-i", "3"] in s.netlab_calls(), 30,
               "cleanup of our leftover instance")
    s.wait_log("netlab instance 4 runs in .*someone-else, not ours")
    assert not any(c[-2:] == ["-i", "4"] for c in s.netlab_calls())
    assert not ours.exists()
    assert (theirs / "netlab.lock").exists()


def test_handoff_runs_three_netlab_calls(server):
    server.wait_log("Startup cleanup (completed|encountered)")
    a = server.new_session()
    before = len(server.netlab_calls())
    assert server.acquire(a).status_code == 200
    assert server.post("/lab/release", session=a).status_code == 204
    assert server.delete(f"/session/{a}").status_code == 204
    calls = server.netlab_calls()[before:]
    assert calls == [["up", "topology.yml"], INSPECT_ALL, ["down", "--cleanup"]]


def test_sanity_teardown_when_netlab_registers_a_default_lab(server, tmp_path):
    # A local user's lab on the default instance, in another directory: the original tears
    # the default instance down before every start, and so do we -- but only then. The lab
    # comes up after the server's start-up cleanup (which tears the default instance down
    # too, and runs after /healthz answers), so that it is still there when we acquire.
    server.wait_log("Startup cleanup (completed|encountered)")
    local = tmp_path / "local"
    local.mkdir()
    (local / "topology.yml").write_bytes(OTHER_TOPOLOGY)
    subprocess.run([str(server.bin / "netlab"), "up", "topology.yml"], cwd=local,
                   env=server.env, check=True, stdin=subprocess.DEVNULL, capture_output=True,
                   timeout=60)
    assert (local / "netlab.lock").exists()
    a = server.new_session()
    before = len(server.netlab_calls())
    assert server.acquire(a).status_code == 200
    calls = server.netlab_calls()[before:]
    assert calls[0] == ["down", "--instance", "default", "--cleanup"]
    assert calls[1] == ["up", "topology.yml"]
    assert not (local / "netlab.lock").exists()


def held_lab_setup(s):
    """Two idle labs (TOPOLOGY in one slot, OTHER_TOPOLOGY in the other), brought up slowly
    (netlab up 10 s, in parallel: a new lab costs far more than the holds observed so far,
    which are instants), then a session `c` holding the TOPOLOGY lab. An acquire for TOPOLOGY
    may wait for c up to about 10 s: a wide margin for the test's next steps."""
    s.knobs(up_delay=10.0)
    a, b = s.new_session(), s.new_session()
    results = {}
    threads = [acquire_in_thread(s, a, TOPOLOGY, results, "a"),
               acquire_in_thread(s, b, OTHER_TOPOLOGY, results, "b")]
    for t in threads:
        t.join(120)
    assert results["a"].json()["reused"] is False and results["b"].json()["reused"] is False
    s.delete(f"/session/{a}")
    s.delete(f"/session/{b}")
    s.knobs()
    c = s.new_session()
    assert s.acquire(c).json()["reused"] is True
    return c


def test_an_acquire_waits_for_a_held_lab_rather_than_replace_a_warm_one(make_server):
    s = make_server(args=["--lab-slots", "2", "--idle-lab-keep", "300"])
    c = held_lab_setup(s)
    d = s.new_session()
    results = {}
    t = acquire_in_thread(s, d, TOPOLOGY, results, "d")
    s.wait_log("Waiting for lab topology.yml in slot ., held by session s-", 30)
    assert "d" not in results
    # c lets go: d gets that lab, warm; the other topology was not replaced
    s.delete(f"/session/{c}")
    t.join(60)
    assert results["d"].status_code == 200 and results["d"].json()["reused"] is True
    assert len(ups(s)) == 2
    assert not [c for c in s.netlab_calls() if c[0] == "down" and "-i" in c]
    assert len(s.get("/host").json()["warm"]) == 1


def test_a_held_lab_is_waited_for_only_while_its_holder_is_not_overdue(make_server):
    s = make_server(args=["--lab-slots", "2", "--idle-lab-keep", "300"])
    held_lab_setup(s)  # c keeps holding
    d = s.new_session()
    results = {}
    t = acquire_in_thread(s, d, TOPOLOGY, results, "d")
    s.wait_log("Waiting for lab topology.yml in slot .", 30)
    # the holder keeps it past the expected hold plus the time of a new lab: d gives up
    # waiting and replaces the idle lab (one more netlab up) while c still holds its own
    t.join(120)
    assert results["d"].status_code == 200 and results["d"].json()["reused"] is False
    assert len(ups(s)) == 3
    labs = s.get("/labs").json()["labs"]
    assert len(labs) == 2 and all(l["holder"] for l in labs)
