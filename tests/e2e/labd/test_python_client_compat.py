"""Wire compatibility with the Python neops-remote-lab 1.x client and pytest fixtures.

PyPI is not reachable here, so this replays what `RemoteLabClient` and
`remote_lab_fixture` send (spec §6.1-6.3): a requests.Session with its headers and retry
adapter, POST /session, GET /session/{id} polling, multipart POST /lab with the topology as
(basename, file, application/x-yaml) and `reuse` as "true"/"false", the status codes it
accepts for release/destroy/close — and checks the server answers what that client expects.
"""
import threading
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from labd_harness import TOPOLOGY


class OriginalClient:
    """The Python client's wire behaviour, per spec §6.1 (not its code)."""

    def __init__(self, base_url, session_timeout=30):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update({"User-Agent": "RemoteLabClient/1.0", "Connection": "keep-alive"})
        retry = Retry(total=3, status_forcelist=[429, 500, 502, 503, 504], backoff_factor=1,
                      allowed_methods=["HEAD", "GET", "OPTIONS", "DELETE"])
        adapter = HTTPAdapter(max_retries=retry, pool_connections=5, pool_maxsize=10)
        self.http.mount("http://", adapter)
        r = self.http.post(f"{self.base}/session", timeout=30)
        r.raise_for_status()
        self.session_id = r.json()["session_id"]
        self.position = r.json()["position"]
        self.http.headers["X-Session-ID"] = self.session_id
        deadline = time.monotonic() + session_timeout
        while time.monotonic() < deadline:
            r = self.http.get(f"{self.base}/session/{self.session_id}", timeout=30)
            r.raise_for_status()
            if r.json()["status"] == "active":
                return
            time.sleep(0.2)  # 5 s in the original; shortened for the test
        raise TimeoutError("Session did not become active")

    def acquire(self, path, reuse):
        with open(path, "rb") as f:
            data = f.read()  # the original re-sent an empty file on 423; we always re-read
        while True:
            files = {"topology": (path.name, data, "application/x-yaml")}
            r = self.http.post(f"{self.base}/lab", files=files,
                               data={"reuse": "true" if reuse else "false"}, timeout=60)
            if r.status_code == 423:
                time.sleep(0.2)
                continue
            r.raise_for_status()
            return r.json()["devices"]

    def release(self):
        r = self.http.post(f"{self.base}/lab/release", timeout=30)
        assert r.status_code in (204, 404), r.text
        return r.status_code

    def destroy(self, force=True):
        r = self.http.delete(f"{self.base}/lab?force={'true' if force else 'false'}", timeout=30)
        assert r.status_code in (202, 204), r.text
        return r.status_code

    def close(self):
        r = self.http.delete(f"{self.base}/session/{self.session_id}", timeout=30)
        assert r.status_code in (204, 404), r.text
        self.session_id = ""
        return r.status_code


def test_fixture_sequence(server, tmp_path):
    """One pytest run: session, two tests with the same topology (reuse_lab False, then True),
    each acquire -> test body -> release, then close (spec §6.3)."""
    topo = tmp_path / "simple_frr.yml"
    topo.write_bytes(TOPOLOGY)
    c = OriginalClient(server.url)
    assert c.position == 0
    devices = c.acquire(topo, reuse=False)
    assert [d["name"] for d in devices] == ["r1", "r2"]
    # What the legacy NetlabDevice wrapper read from raw (it raised on a missing key).
    for d in devices:
        raw = d["raw"]
        assert raw["mgmt"]["ipv4"] and raw["ansible_user"] and raw["ansible_network_os"]
    assert c.release() == 204
    assert c.acquire(topo, reuse=True) == devices  # idle lab reattached, same devices
    assert c.release() == 204
    assert c.release() == 204  # the fixture may release twice: still fine
    assert c.destroy() == 202
    assert c.destroy() == 204  # nothing left
    assert c.close() == 204
    assert c.close() == 404  # idempotent close accepts 404
    ups = [a for a in server.netlab_calls() if a[0] == "up"]
    assert len(ups) == 1


def test_two_clients_queue_and_hand_over(server, tmp_path):
    """A second pytest run blocks in its constructor until the first one closes."""
    topo = tmp_path / "t.yml"
    topo.write_bytes(TOPOLOGY)
    first = OriginalClient(server.url)
    first.acquire(topo, reuse=True)
    result = {}

    def second_run():
        c = OriginalClient(server.url)
        result["devices"] = c.acquire(topo, reuse=True)
        c.release()
        c.close()

    t = threading.Thread(target=second_run)
    t.start()
    time.sleep(1.0)
    assert t.is_alive(), "the second client did not wait for the first"
    first.release()
    first.close()
    t.join(60)
    assert [d["name"] for d in result["devices"]] == ["r1", "r2"]
    assert server.get("/debug/health").json()["sessions"] == 0
