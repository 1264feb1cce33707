"""The lab lifecycle through the REST API (spec §2.3, §4) with netlab-sim as netlab."""
import os
from pathlib import Path

import pytest

from labd_harness import INSPECT_ALL, OTHER_TOPOLOGY, TOPOLOGY

EMPTY_LAB = {"running": False, "topology": None, "ref_count": 0, "devices": [],
             "netlab_status": None}


def ups(server):
    return [c for c in server.netlab_calls() if c[0] == "up"]


def test_acquire_status_release(server):
    sid = server.new_session()
    assert server.get("/lab", session=sid).json() == EMPTY_LAB
    r = server.acquire(sid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["reused", "devices"]
    assert body["reused"] is False
    assert [d["name"] for d in body["devices"]] == ["r1", "r2"]
    raw = body["devices"][0]["raw"]
    assert raw["mgmt"]["ipv4"] == "192.168.121.101"
    assert raw["ansible_network_os"] == "frr"
    assert "ansible_host" in raw and "ansible_user" in raw
    st = server.get("/lab", session=sid).json()
    assert list(st) == ["running", "topology", "ref_count", "devices", "netlab_status"]
    assert st["running"] is True and st["ref_count"] == 1 and st["netlab_status"] is None
    topo = Path(st["topology"])
    assert topo.is_absolute() and topo.name == "topology.yml"
    assert topo.parent.name.startswith("remote_netlab_upload_")
    assert topo.read_bytes() == TOPOLOGY
    assert st["devices"] == body["devices"]
    devs = server.get("/lab/devices", session=sid)
    assert devs.status_code == 200 and devs.json() == body["devices"]
    assert server.post("/lab/release", session=sid).status_code == 204
    st = server.get("/lab", session=sid).json()
    assert st["running"] is True and st["ref_count"] == 0  # release keeps the lab up (idle)


def test_netlab_command_lines_and_cwd(server):
    sid = server.new_session()
    assert server.acquire(sid).status_code == 200
    starts = server.netlab_starts()
    argvs = [e["argv"] for e in starts]
    assert argvs[0] == ["version"]
    assert argvs[1] == ["down", "--instance", "default", "--cleanup"]  # startup cleanup
    # No sanity teardown before `up`: netlab's status file registers no default instance.
    assert argvs[2] == ["up", "topology.yml"]
    # Every node's `inspect --node` data in one call.
    assert argvs[3] == INSPECT_ALL and len(argvs) == 4
    workdir = Path(starts[2]["cwd"])
    assert workdir.parent == server.tmp and workdir.name.startswith("netlab_topo_topology_")
    assert all(Path(e["cwd"]) == workdir for e in starts[2:4])
    assert Path(starts[1]["cwd"]) == server.root  # default-instance down runs in server cwd
    # Every netlab child: stdin is /dev/null and it leads its own process group.
    for e in starts:
        assert e["stdin_devnull"] is True
        assert e["pgid"] == e["pid"]
    server.delete(f"/session/{sid}")
    assert server.netlab_calls()[-1] == ["down", "--cleanup"]
    assert server.netlab_starts()[-1]["cwd"] == str(workdir)
    assert not workdir.exists()


@pytest.mark.parametrize("name", ["t.yaml", "T.YML", "T.YAML", "x.Yml"])
def test_yaml_suffixes_accepted(server, name):
    sid = server.new_session()
    r = server.acquire(sid, name=name)
    assert r.status_code == 200, r.text
    assert ["up", name] in server.netlab_calls()


@pytest.mark.parametrize("name", ["topology.txt", "topology.json", "yml", "topology.yml.bak"])
def test_wrong_extension_400(server, name):
    sid = server.new_session()
    r = server.acquire(sid, name=name)
    assert r.status_code == 400
    assert r.json() == {"detail": "Topology must be a .yml or .yaml file"}
    assert not ups(server)
    assert not list(server.tmp.glob("remote_netlab_upload_*"))


def test_reuse_same_content(server):
    sid = server.new_session()
    assert server.acquire(sid).json()["reused"] is False
    r = server.acquire(sid, name="renamed.yml")  # only the content counts
    assert r.status_code == 200 and r.json()["reused"] is True
    assert server.get("/lab", session=sid).json()["ref_count"] == 2
    assert len(ups(server)) == 1
    # After two releases, a third one still answers 204 and the count stays at 0.
    for _ in range(3):
        assert server.post("/lab/release", session=sid).status_code == 204
    assert server.get("/lab", session=sid).json()["ref_count"] == 0
    assert "Reference counter underflow" in server.log()


def test_idle_reattach_reports_reused(server):
    # Deliberate difference 4: attaching to a running idle lab without `netlab up` is reuse.
    sid = server.new_session()
    server.acquire(sid)
    server.post("/lab/release", session=sid)
    r = server.acquire(sid, reuse=True)
    assert r.status_code == 200 and r.json()["reused"] is True
    assert len(ups(server)) == 1
    assert server.get("/lab", session=sid).json()["ref_count"] == 1


def test_exclusive_restart_of_idle_lab(server):
    sid = server.new_session()
    server.acquire(sid)
    server.post("/lab/release", session=sid)
    before = len(server.netlab_calls())
    r = server.acquire(sid, reuse=False)
    assert r.status_code == 200 and r.json()["reused"] is False
    calls = server.netlab_calls()[before:]
    assert calls == [["down", "--cleanup"], ["up", "topology.yml"], INSPECT_ALL]


def test_exclusive_request_while_in_use_is_busy(server):
    sid = server.new_session()
    server.acquire(sid)
    r = server.acquire(sid, reuse=False)
    assert r.status_code == 423 and r.json() == {"detail": "Lab currently busy"}
    assert len(ups(server)) == 1


def test_topology_switch_when_idle_and_busy_when_held(server):
    sid = server.new_session()
    server.acquire(sid)
    r = server.acquire(sid, topology=OTHER_TOPOLOGY, name="different-topo.yml", reuse=False)
    assert r.status_code == 423
    server.post("/lab/release", session=sid)
    before = len(server.netlab_calls())
    r = server.acquire(sid, topology=OTHER_TOPOLOGY, name="different-topo.yml")
    assert r.status_code == 200 and r.json()["reused"] is False
    assert [d["name"] for d in r.json()["devices"]] == ["a", "b", "c"]
    assert server.netlab_calls()[before] == ["down", "--cleanup"]
    assert "Switching topology from topology.yml to different-topo.yml" in server.log()
    st = server.get("/lab", session=sid).json()
    assert Path(st["topology"]).name == "different-topo.yml"


def test_devices_ordered_by_node_id(server):
    sid = server.new_session()
    topo = b"provider: clab\ndefaults.device: frr\nnodes: [zeta, alpha, mid]\n"
    r = server.acquire(sid, topology=topo)
    assert [d["name"] for d in r.json()["devices"]] == ["zeta", "alpha", "mid"]


def test_release_and_devices_without_lab_404(server):
    sid = server.new_session()
    r = server.post("/lab/release", session=sid)
    assert r.status_code == 404 and r.json() == {"detail": "No lab running"}
    r = server.get("/lab/devices", session=sid)
    assert r.status_code == 404 and r.json() == {"detail": "No lab running"}


def test_destroy(server):
    sid = server.new_session()
    r = server.delete("/lab", session=sid)
    assert r.status_code == 204  # no lab
    server.acquire(sid)
    r = server.delete("/lab?force=false", session=sid)
    assert r.status_code == 409 and r.json() == {"detail": "Lab still in use"}
    r = server.delete("/lab?force=true", session=sid)
    assert r.status_code == 202 and r.content == b""
    assert server.get("/lab", session=sid).json() == EMPTY_LAB
    assert server.netlab_calls()[-1] == ["down", "--cleanup"]
    # Destroying does not end the session.
    assert server.get(f"/session/{sid}").json()["status"] == "active"
    # force=false on an idle lab tears it down too; the default is force=true.
    server.acquire(sid)
    server.post("/lab/release", session=sid)
    assert server.delete("/lab?force=false", session=sid).status_code == 202
    server.acquire(sid)
    assert server.delete("/lab", session=sid).status_code == 202


def test_lab_gate_on_every_route(server):
    a = server.new_session()
    b = server.new_session()  # WAITING
    routes = [("GET", "/lab"), ("POST", "/lab/release"), ("DELETE", "/lab"),
              ("GET", "/lab/devices")]
    for method, path in routes:
        r = server.request(method, path)
        assert r.status_code == 422, (method, path)
        assert r.json()["detail"][0]["loc"] == ["header", "X-Session-ID"]
        r = server.request(method, path, session="unknown")
        assert (r.status_code, r.json()) == (404, {"detail": "Session not found"})
        r = server.request(method, path, session=b)
        assert (r.status_code, r.json()) == (423, {"detail": "Session is not active"})
    r = server.acquire(b)
    assert (r.status_code, r.json()) == (423, {"detail": "Session is not active"})
    r = server.acquire("unknown")
    assert r.status_code == 404
    assert not ups(server)
    assert "not active (status=waiting) in _get_active_session" in server.log()
    assert server.get("/lab", session=a).status_code == 200


def test_ending_active_session_tears_down_and_promotes(server):
    a, b = server.new_session(), server.new_session()
    server.acquire(a)
    workdir = Path([e for e in server.netlab_starts() if e["argv"][0] == "up"][0]["cwd"])
    upload = Path(server.get("/lab", session=a).json()["topology"]).parent
    assert workdir.exists() and upload.exists()
    assert server.delete(f"/session/{a}").status_code == 204
    assert server.netlab_calls()[-1] == ["down", "--cleanup"]
    assert not workdir.exists() and not upload.exists()
    assert server.get(f"/session/{b}").json() == {"status": "active", "position": 0}
    assert server.get("/lab", session=b).json() == EMPTY_LAB


def test_ending_waiting_session_touches_nothing(server):
    a, b = server.new_session(), server.new_session()
    server.acquire(a)
    n = len(server.netlab_calls())
    assert server.delete(f"/session/{b}").status_code == 204
    assert len(server.netlab_calls()) == n
    assert server.get("/lab", session=a).json()["running"] is True


def test_loop_keeps_serving_during_netlab_up(server):
    """A lab operation runs as a child process; every other request is still served."""
    import threading
    import time

    server.knobs(up_delay=2.0)
    sid = server.new_session()
    other = server.new_session()
    result = {}
    t = threading.Thread(target=lambda: result.update(r=server.acquire(sid)))
    t.start()
    server.wait_for(lambda: any(c[0] == "up" for c in server.netlab_calls()), 10, "netlab up")
    t0 = time.monotonic()
    for _ in range(20):
        assert server.get("/healthz").status_code == 204
        assert server.get(f"/session/{other}").json()["status"] == "waiting"
        assert server.post("/session/heartbeat", session=sid).status_code == 204
    assert time.monotonic() - t0 < 1.5, "requests were held up by netlab up"
    assert t.is_alive(), "acquire finished before the requests were made"
    t.join(30)
    assert result["r"].status_code == 200


def test_delete_active_session_answers_after_teardown(server):
    """DELETE of the ACTIVE session returns once the lab is down; the next session is
    promoted only then."""
    import threading
    import time

    a = server.new_session()
    server.acquire(a)
    b = server.new_session()
    server.knobs(down_delay=1.5)
    done = {}
    t0 = time.monotonic()
    t = threading.Thread(target=lambda: done.update(r=server.delete(f"/session/{a}")))
    t.start()
    server.wait_for(lambda: server.netlab_calls()[-1] == ["down", "--cleanup"], 10)
    assert server.get(f"/session/{b}").json()["status"] == "waiting"
    t.join(30)
    assert done["r"].status_code == 204
    assert time.monotonic() - t0 >= 1.4
    assert server.get(f"/session/{b}").json()["status"] == "active"


def test_long_acquire_outlives_the_idle_connection_timeout(make_server):
    """A request waiting for netlab is suspended, not idle: MHD must not close it."""
    import socket
    import time

    s = make_server(args=["--idle-connection-timeout", "1"])
    sid = s.new_session()
    s.knobs(up_delay=3)
    r = s.acquire(sid)
    assert r.status_code == 200 and r.json()["reused"] is False
    # ...while a connection that is really idle is closed after the timeout.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        t0 = time.monotonic()
        assert c.recv(1) == b""  # EOF from the server
        assert 0.5 < time.monotonic() - t0 < 5


def test_relative_netlab_command_works_in_lab_directories(make_server):
    # netlab runs in other working directories than the server's: a relative
    # --netlab-command (or a relative PATH entry) must still name the same program.
    s = make_server(args=["--netlab-command", "bin/netlab"])
    sid = s.new_session()
    r = s.acquire(sid)
    assert r.status_code == 200, r.text
    assert s.delete(f"/session/{sid}").status_code == 204
