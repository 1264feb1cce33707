"""Stress proof (issue 9): many concurrent clients with random deaths against one
neops-remote-lab with lab slots; invariants are checked throughout.

Each client does what a CI job does — create a session (random priority), poll and heartbeat
until ACTIVE, POST /lab (one of a few topologies, reuse=true), hold it a little, release, end
— for a number of rounds. Some clients die at a random point: they simply stop talking (no
DELETE), as a killed CI job does. A checker polls GET /sessions and GET /labs all along:

* never more ACTIVE sessions than slots; never two labs held by one session;
* a lab without a holder has refcount 0, a held lab belongs to an ACTIVE session;
* FIFO within a priority: WAITING sessions are listed by priority, then by age;
* every live client is served (finishes all its rounds);
* every dead client is reaped within its window (timeout + sweep interval + margin).

The small form runs in CI (200 clients, one round each, 4 slots); the full form is
tests/e2e/stress/run-full.sh (more clients and rounds, documented in docs/reliability.md)."""
import os
import random
import threading
import time

import pytest
import requests

from labd_harness import servers

# STRESS_CLIENTS / STRESS_SLOTS replace the two CI forms below with one of their own.
CLIENTS = os.environ.get("STRESS_CLIENTS")
ROUNDS = int(os.environ.get("STRESS_ROUNDS", "1"))
SLOTS = os.environ.get("STRESS_SLOTS")
# (slots, clients): one slot (the original's exclusive lab: never two ACTIVE sessions) and
# a pool of four.
FORMS = [(int(SLOTS or 4), int(CLIENTS or 200))] if CLIENTS or SLOTS else [(1, 30), (4, 200)]
DEATH_RATE = float(os.environ.get("STRESS_DEATH_RATE", "0.15"))
# A live client is never silent for more than about 0.3 s (its poll interval or its hold);
# these leave it a wide margin on a loaded machine (200 Python threads share one
# interpreter), and still reap the dead quickly.
ACTIVE_TIMEOUT = 5.0
WAITING_TIMEOUT = 8.0
SEED = int(os.environ.get("STRESS_SEED", str(int(time.time()))))



def topologies(slots):
    """One topology more than slots: most acquisitions reuse a lab, some replace one."""
    return [b"provider: clab\ndefaults.device: frr\nnodes: [r1, r2]\n# %d\n" % i
            for i in range(slots + 1)]


class Client(threading.Thread):
    def __init__(self, server, n, rng, topos):
        super().__init__(daemon=True)
        self.server, self.n, self.rng, self.topos = server, n, rng, topos
        self.http = requests.Session()
        self.die_at = None
        if rng.random() < DEATH_RATE:
            self.die_at = (rng.randrange(ROUNDS), rng.choice(["waiting", "active", "lab"]))
        self.handle = None
        self.died = None     # monotonic time of death
        self.done = False
        self.error = None

    def call(self, method, path, **kw):
        kw.setdefault("timeout", 120)
        return self.http.request(method, self.server.url + path, **kw)

    def die_here(self, rnd, point):
        if self.die_at == (rnd, point):
            self.died = time.monotonic()
            return True
        return False

    def run(self):
        try:
            for rnd in range(ROUNDS):
                prio = self.rng.choice([0, 0, 0, 1, 5])
                r = self.call("POST", "/session", json={"priority": prio,
                                                        "label": f"client-{self.n}"})
                assert r.status_code == 201, r.text
                sid, self.handle = r.json()["session_id"], r.json()["handle"]
                if self.die_here(rnd, "waiting"):
                    return
                hdr = {"X-Session-ID": sid}
                last_beat = time.monotonic()
                while True:
                    st = self.call("GET", f"/session/{sid}")
                    assert st.status_code == 200, (self.handle, st.text)
                    if st.json()["status"] == "active":
                        break
                    time.sleep(self.rng.uniform(0.05, 0.3))
                    if time.monotonic() - last_beat > 1:
                        self.call("POST", "/session/heartbeat", headers=hdr)
                        last_beat = time.monotonic()
                if self.die_here(rnd, "active"):
                    return
                topo = self.rng.choice(self.topos)
                r = self.call("POST", "/lab", headers=hdr, data={"reuse": "true"},
                              files={"topology": ("t.yml", topo, "application/x-yaml")})
                assert r.status_code == 200, (self.handle, r.status_code, r.text)
                if self.die_here(rnd, "lab"):
                    return
                time.sleep(self.rng.uniform(0, 0.3))
                assert self.call("POST", "/lab/release", headers=hdr).status_code == 204
                assert self.call("DELETE", f"/session/{sid}").status_code == 204
            self.done = True
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = f"client {self.n} ({self.handle}): {e!r}"


class Checker(threading.Thread):
    def __init__(self, server, slots):
        super().__init__(daemon=True)
        self.server, self.slots = server, slots
        self.stop = threading.Event()
        self.violations = []
        self.seen = {}        # handle -> last monotonic time it was listed
        self.checks = 0
        self.http = requests.Session()

    def run(self):
        while not self.stop.is_set():
            # Labs first: a session never goes back from ACTIVE to WAITING, so a holder
            # listed now must be ACTIVE or gone in the later listing of the sessions (the
            # other order would see a WAITING session become ACTIVE and take a lab between
            # the two reads).
            try:
                labs = self.http.get(self.server.url + "/labs", timeout=60).json()["labs"]
                ses = self.http.get(self.server.url + "/sessions", timeout=60).json()
            except requests.RequestException as e:
                self.violations.append(f"server did not answer: {e!r}")
                return
            now = time.monotonic()
            sessions = ses["sessions"]
            for s in sessions:
                self.seen[s["handle"]] = now
            self.check(sessions, labs)
            self.checks += 1
            time.sleep(0.05)

    def check(self, sessions, labs):
        active = [s for s in sessions if s["state"] == "active"]
        if len(active) > self.slots:
            self.violations.append(f"{len(active)} ACTIVE sessions with {self.slots} slots")
        if len(labs) > self.slots:
            self.violations.append(f"{len(labs)} labs with {self.slots} slots")
        holders = [l["holder"] for l in labs if l["holder"] is not None]
        if len(holders) != len(set(holders)):
            self.violations.append(f"a session holds two labs: {holders}")
        active_handles = {s["handle"] for s in active}
        for l in labs:
            if l["state"] != "up":
                continue
            if l["holder"] is None and l["ref_count"] != 0:
                self.violations.append(f"idle lab in slot {l['slot']} has ref {l['ref_count']}")
            # the sessions are listed a moment after the labs: a holder may have ended in
            # between, but it cannot be WAITING
            if l["holder"] is not None and l["holder"] not in active_handles and \
                    l["holder"] in {s["handle"] for s in sessions}:
                self.violations.append(f"lab in slot {l['slot']} held by a WAITING session")
        waiting = [s for s in sessions if s["state"] == "waiting"]
        for a, b in zip(waiting, waiting[1:]):
            if a["priority"] < b["priority"] or \
                    (a["priority"] == b["priority"] and a["age"] < b["age"] - 0.001):
                self.violations.append(f"queue order broken: {a} before {b}")
        if [s["position"] for s in waiting] != list(range(len(active), len(sessions))):
            self.violations.append("positions are not consecutive")


@pytest.fixture
def make_server(tmp_path):
    with servers(tmp_path, start_timeout=60) as make:
        yield make


@pytest.mark.parametrize("slots,nclients", FORMS, ids=[f"{s}slot-{c}clients" for s, c in FORMS])
def test_many_clients_with_random_deaths(make_server, slots, nclients):
    server = make_server([
        "--lab-slots", str(slots), "--idle-lab-keep", "300",
        "--active-session-timeout", str(ACTIVE_TIMEOUT),
        "--waiting-session-timeout", str(WAITING_TIMEOUT),
        "--max-connections-per-address", "4096", "--max-connections", "8192"])
    rng = random.Random(SEED + slots)
    print(f"stress: seed {SEED}, {nclients} clients x {ROUNDS} rounds, {slots} slots")
    checker = Checker(server, slots)
    checker.start()
    topos = topologies(slots)
    clients = [Client(server, i, random.Random(rng.random()), topos) for i in range(nclients)]
    t0 = time.monotonic()
    for c in clients:
        c.start()
    # Generous: every round of every client through the slots, each a few seconds on a
    # loaded 2-core machine, plus the reaping of the dead.
    deadline = t0 + 120 + nclients * ROUNDS * 4.0 / slots
    for c in clients:
        c.join(max(1, deadline - time.monotonic()))
    live = [c for c in clients if c.die_at is None]
    dead = [c for c in clients if c.die_at is not None]
    assert not [c for c in clients if c.is_alive()], "clients still running at the deadline"
    errors = [c.error for c in clients if c.error]
    assert not errors, errors[:5]
    assert all(c.done for c in live)
    # Every dead client is reaped within its window: timeout + sweep interval (<= timeout/2
    # here) + margin for a loaded machine.
    window = max(ACTIVE_TIMEOUT, WAITING_TIMEOUT) * 1.5 + 10
    reap_deadline = time.monotonic() + window
    while time.monotonic() < reap_deadline:
        listed = {s["handle"] for s in server.get("/sessions").json()["sessions"]}
        if not listed & {c.handle for c in dead}:
            break
        time.sleep(0.2)
    listed = {s["handle"] for s in server.get("/sessions").json()["sessions"]}
    assert not listed & {c.handle for c in dead}, "dead clients not reaped"
    for c in dead:
        gone = checker.seen.get(c.handle, c.died)
        assert gone - c.died <= window, (c.handle, c.die_at, gone - c.died)
    checker.stop.set()
    checker.join(60)
    assert checker.checks > 10
    assert not checker.violations, checker.violations[:10]
    # everything is released: no session, idle labs only, with ref 0
    assert server.get("/sessions").json()["sessions"] == []
    assert all(l["holder"] is None and l["ref_count"] == 0
               for l in server.get("/labs").json()["labs"])
    print(f"stress: {len(live)} live clients served, {len(dead)} dead reaped, "
          f"{checker.checks} invariant checks, {time.monotonic() - t0:.1f}s")
