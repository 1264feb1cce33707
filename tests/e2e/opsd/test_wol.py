"""POST /api/wol: the magic packet, wake-and-wait, reachability, and a loop that keeps
serving while a wait runs. Packets only ever go to 127.0.0.1."""

import socket
import threading
import time

from conftest import MAC, free_port, magic_packet, station


def test_mac_required_and_format(make_worker, winrm, udp):
    w = make_worker([station(winrm.port, mac=None)])
    r = w.post("/api/wol", {})
    assert r.status_code == 400 and r.json() == {"error": "mac is required"}
    r = w.post("/api/wol", {"host": "lab-ws-01"})  # host without a mac
    assert r.status_code == 400 and r.json() == {"error": "mac is required"}
    r = w.post("/api/wol", {"host": "unknown", "mac": "zz:11:22:33:44:55",
                            "broadcast": "127.0.0.1", "port": udp.port})
    assert r.status_code == 400 and r.json() == {"error": "Incorrect MAC address format"}
    for bad in ("0011223344", "00:11:22:33:44:5", "00:11-22:33:44:55x"):
        r = w.post("/api/wol", {"mac": bad, "broadcast": "127.0.0.1", "port": udp.port})
        assert r.status_code == 400, bad
    assert udp.packets == []


def test_magic_packet_and_reachable_icmp(make_worker, winrm, udp):
    w = make_worker([station(winrm.port, udp_port=udp.port)])
    for mac in ("00-11-22-33-44-55", "001122334455", "0011.2233.4455"):
        r = w.post("/api/wol", {"mac": mac, "broadcast": "127.0.0.1", "port": udp.port,
                                "ping_target": "127.0.0.1", "ping_timeout": 0.2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["success"] is True and body["attempts_used"] == 1
        assert body["ping_target"] == "127.0.0.1" and body["duration_ms"] >= 200
    packets = udp.wait(3)
    assert len(packets) == 3
    for data, addr in packets:
        assert len(data) == 102 and data == magic_packet(MAC)


def test_host_fields_fill_mac_and_target(make_worker, winrm, udp):
    w = make_worker([station(winrm.port, udp_port=udp.port, ping_target=None)])
    # host's mac and address (ping target); broadcast and port come from the request only
    r = w.post("/api/wol", {"host": "LAB-WS-01", "broadcast": "127.0.0.1", "port": udp.port,
                            "ping_timeout": 0.2})
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True and r.json()["ping_target"] == "127.0.0.1"
    assert udp.wait(1)[0][0] == magic_packet(MAC)


def worker_with_unreachable_targets(make_worker, winrm):
    """A worker whose reachability check connects to a closed port: every target is down."""
    return make_worker([station(winrm.port)], env={"OPS_REACH_METHOD": "tcp:%d" % free_port()})


def wake_in_background(w, udp, ping_timeout, attempts):
    """POST /api/wol from a thread; the response is in result["r"] once the thread is joined."""
    result = {}

    def wake():
        result["r"] = w.post("/api/wol", {"mac": MAC, "broadcast": "127.0.0.1", "port": udp.port,
                                          "ping_target": "127.0.0.1", "ping_timeout": ping_timeout,
                                          "attempts": attempts})

    t = threading.Thread(target=wake)
    t.start()
    return t, result


def test_unreachable_is_200_with_success_false(make_worker, winrm, udp):
    w = worker_with_unreachable_targets(make_worker, winrm)
    r = w.post("/api/wol", {"mac": MAC, "broadcast": "127.0.0.1", "port": udp.port,
                            "ping_target": "127.0.0.1", "ping_timeout": 0.2, "attempts": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is False and body["attempts_used"] == 3
    assert body["duration_ms"] >= 3 * 200
    assert len(udp.wait(3)) == 3  # one packet per attempt
    # no ping target at all: every check fails
    r = w.post("/api/wol", {"mac": MAC, "broadcast": "127.0.0.1", "port": udp.port,
                            "ping_timeout": 0.1, "attempts": 2})
    assert r.status_code == 200
    assert r.json() == {"success": False, "attempts_used": 2, "duration_ms": r.json()["duration_ms"],
                        "ping_target": None}


def test_host_comes_up_on_a_later_attempt(make_worker, winrm, udp):
    port = free_port()
    w = make_worker([station(winrm.port)], env={"OPS_REACH_METHOD": "tcp:%d" % port})
    srv = socket.socket()

    def come_up():
        time.sleep(0.5)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(8)

    t = threading.Thread(target=come_up)
    t.start()
    try:
        r = w.post("/api/wol", {"mac": MAC, "broadcast": "127.0.0.1", "port": udp.port,
                                "ping_target": "127.0.0.1", "ping_timeout": 0.3, "attempts": 8})
    finally:
        t.join()
        srv.close()
    body = r.json()
    assert body["success"] is True and 2 <= body["attempts_used"] < 8, body


def test_health_answers_during_a_long_wait(make_worker, winrm, udp):
    w = worker_with_unreachable_targets(make_worker, winrm)
    t, result = wake_in_background(w, udp, ping_timeout=1.5, attempts=2)
    time.sleep(0.3)
    for _ in range(5):
        t0 = time.monotonic()
        assert w.get("/health", timeout=5).status_code == 200
        assert time.monotonic() - t0 < 1.0  # the loop is not blocked by the wait
        time.sleep(0.2)
    t.join()
    assert result["r"].json()["success"] is False


def test_sigterm_during_wait_finishes_quickly(make_worker, winrm, udp):
    w = worker_with_unreachable_targets(make_worker, winrm)
    t, result = wake_in_background(w, udp, ping_timeout=20, attempts=3)
    udp.wait(1)
    t0 = time.monotonic()
    assert w.stop() == 0
    assert time.monotonic() - t0 < 10
    t.join()
    assert result["r"].status_code == 200 and result["r"].json()["success"] is False
