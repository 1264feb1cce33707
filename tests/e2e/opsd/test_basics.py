"""CLI, /health, error contract, hosts.json loading, reload, quarantine, access control."""

import json
import subprocess

import requests

from conftest import MAC, PASSWORD, WORKER, station


def test_help_and_version():
    r = subprocess.run([WORKER, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert "OPS_PORT" in r.stdout and "MYSQL_DSN" in r.stdout
    r = subprocess.run([WORKER, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("ops-worker ")
    r = subprocess.run([WORKER, "--bogus"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2


def test_bad_configuration_exits_2(tmp_path):
    for env in ({"OPS_PORT": "http"}, {"OPS_POLL_INTERVAL": "abc"},
                {"OPS_WINRM_READ_TIMEOUT": "5", "OPS_WINRM_OPERATION_TIMEOUT": "20"},
                {"OPS_ALLOWED_NETWORKS": "10.0.0.0/33"}, {"OPS_DB": "oracle"}):
        r = subprocess.run([WORKER], env=dict(env, PATH="/usr/bin:/bin",
                                                 OPS_STATE_DIR=str(tmp_path)),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (env, r.stderr)
        assert "ops-worker:" in r.stderr


def test_health_and_error_contract(make_worker, winrm):
    w = make_worker([station(winrm.port), station(winrm.port, name="lab-ws-02")])
    r = w.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["hosts_loaded"] == 2 and body["db"] is True
    assert body["db_backend"] == "sqlite"
    r = requests.head(w.url("/health"), timeout=10)
    assert r.status_code == 200
    r = w.get("/nope")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}
    assert r.headers["Content-Type"] == "application/json"
    r = w.post("/health")
    assert r.status_code == 405 and r.json() == {"error": "Method Not Allowed"}
    assert "GET" in r.headers["Allow"]
    r = w.get("/api/wol")
    assert r.status_code == 405 and "error" in r.json()
    # malformed JSON is read as {} (the original's force/silent parsing) ...
    r = w.post("/api/winrm", data="{nope", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json() == {"error": "host and command are required"}
    # ... valid JSON that is not an object is a 400 of its own
    r = w.post("/api/winrm", data="[1,2]")
    assert r.status_code == 400 and r.json()["error"].startswith("invalid JSON body")
    # malformed numbers: 400 JSON (the original crashed with an HTML 500)
    r = w.post("/api/wol", {"mac": MAC, "attempts": "abc", "broadcast": "127.0.0.1"})
    assert r.status_code == 400 and "attempts" in r.json()["error"]
    r = w.post("/api/wol", {"mac": MAC, "port": 70000, "broadcast": "127.0.0.1"})
    assert r.status_code == 400 and "port" in r.json()["error"]
    # body limit
    r = w.post("/api/winrm", data="x" * 70000)
    assert r.status_code == 413 and "error" in r.json()


def test_hosts_defaults_env_refs_and_case_insensitive(make_worker, winrm, tmp_path):
    hosts = [{"name": "Lab-WS-01", "address": "127.0.0.1", "winrm_user": "env:WINRM_USER_LAB",
              "winrm_pass": "env:WINRM_PASS_LAB", "winrm_port": winrm.port,
              "winrm_transport": "basic", "labs": [" Lab-A ", 7, ""]},
             {"name": "no-address", "winrm_user": "u", "winrm_pass": "p"},
             {"address": "10.0.0.9", "winrm_user": "u", "winrm_pass": "p"}]
    w = make_worker(hosts)
    assert w.get("/health").json()["hosts_loaded"] == 1  # entries without name/address skipped
    winrm.set_script({"commands": [{"regex": r".*LabStation\.exe status", "stdout": "ok"}]})
    r = w.post("/api/winrm", {"host": "LAB-WS-01", "command": "status"})
    assert r.status_code == 200, r.text
    assert r.json()["stdout"] == "ok"
    # The default executable is used, with the command as the first argument.
    cmd = [e for e in winrm.entries() if e.get("action") == "Command"][-1]
    assert "C:\\LabStation\\LabStation.exe" in json.dumps(cmd) or "LabStation.exe" in str(cmd)


def test_missing_credentials_abort_startup(make_worker, tmp_path):
    w = make_worker([{"name": "a", "address": "127.0.0.1", "winrm_user": "env:NOT_SET_ANYWHERE",
                      "winrm_pass": "x"}], start=False)
    w.allow_failure = True
    w.start(wait=False)
    rc = w.proc.wait(timeout=30)
    assert rc != 0
    log = w.log()
    assert "NOT_SET_ANYWHERE" in log  # the warning names the variable
    assert "Missing WinRM credentials for host a" in log


def test_missing_hosts_file_is_empty(make_worker, tmp_path):
    w = make_worker(start=False)
    w.env["OPS_CONFIG"] = str(tmp_path / "does-not-exist.json")
    w.start()
    assert w.get("/health").json()["hosts_loaded"] == 0
    assert "not found" in w.log()


def test_reload_swaps_and_keeps_old_on_error(make_worker, winrm):
    w = make_worker([station(winrm.port)])
    assert w.post("/api/hosts/quarantine", {"host": "lab-ws-01"}).status_code == 200
    assert w.get("/health").json()["hosts_loaded"] == 0
    w.write_hosts([station(winrm.port), station(winrm.port, name="lab-ws-02"),
                   station(winrm.port, name="lab-ws-03", quarantined=True)])
    r = w.post("/api/hosts/reload")
    assert r.status_code == 200 and r.json() == {"reloaded": True, "hosts": 3}
    # quarantine goes back to the file's values
    assert w.get("/health").json()["hosts_loaded"] == 2
    w.write_hosts(None, text="{broken")
    r = w.post("/api/hosts/reload")
    assert r.status_code == 500 and "error" in r.json()
    w.write_hosts([{"name": "x", "address": "127.0.0.1", "winrm_user": "u"}])
    r = w.post("/api/hosts/reload")
    assert r.status_code == 500
    assert r.json() == {"error": "Missing WinRM credentials for host x"}
    assert w.get("/health").json()["hosts_loaded"] == 2  # old registry still active


def test_quarantine(make_worker, winrm):
    w = make_worker([station(winrm.port)])
    r = w.post("/api/hosts/quarantine", {})
    assert r.status_code == 400 and r.json() == {"error": "host is required"}
    r = w.post("/api/hosts/quarantine", {"host": "nope"})
    assert r.status_code == 404 and r.json() == {"error": "host nope not found"}
    # not JSON content type: read as {} like the original (no force=True here)
    r = w.post("/api/hosts/quarantine", data=json.dumps({"host": "lab-ws-01"}),
               headers={"Content-Type": "text/plain"})
    assert r.status_code == 400
    r = w.post("/api/hosts/quarantine", {"name": "LAB-WS-01"})
    assert r.status_code == 200 and r.json() == {"host": "LAB-WS-01", "quarantined": True}
    assert w.get("/health").json()["hosts_loaded"] == 0
    # still addressable by name
    winrm.set_script({"default": {"stdout": "fine"}})
    assert w.post("/api/winrm", {"host": "lab-ws-01", "command": "status"}).status_code == 200
    r = w.post("/api/hosts/quarantine", {"host": "lab-ws-01", "quarantined": "off"})
    assert r.json() == {"host": "lab-ws-01", "quarantined": False}
    assert w.get("/health").json()["hosts_loaded"] == 1


def test_token_and_networks(make_worker, winrm):
    w = make_worker([station(winrm.port)], env={"LAB_MANAGER_TOKEN": "s3cret-token"})
    assert w.get("/health").status_code == 200
    r = w.post("/api/hosts/reload")
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    r = w.get("/nope")
    assert r.status_code == 401  # checked before routing
    r = w.post("/api/hosts/reload", headers={"X-Lab-Manager-Token": "wrong"})
    assert r.status_code == 401
    r = w.post("/api/hosts/reload", headers={"X-Lab-Manager-Token": "s3cret-token"})
    assert r.status_code == 200
    r = w.post("/api/hosts/reload", cookies={"lab_manager_token": "s3cret-token"})
    assert r.status_code == 200
    w2 = make_worker([station(winrm.port)], env={"LAB_MANAGER_TOKEN": "t",
                                                 "OPS_ALLOWED_NETWORKS": "10.0.0.0/8, 192.168.0.0/16"})
    # loopback is outside the list: 403 everywhere, /health included (the UI's probe)
    assert w2.get("/health").status_code == 403
    r = w2.post("/api/hosts/reload", headers={"X-Lab-Manager-Token": "t"})
    assert r.status_code == 403 and r.json() == {"error": "Forbidden"}
    # a bad token from outside gets 401 first, as behind OpenResty
    assert w2.post("/api/hosts/reload").status_code == 401
    w3 = make_worker([station(winrm.port)], env={"OPS_ALLOWED_NETWORKS": "127.0.0.1/32"})
    assert w3.post("/api/hosts/reload").status_code == 200


def test_password_never_leaks(make_worker, winrm):
    w = make_worker([station(winrm.port, labs=["9"])])
    winrm.set_script({"default": {"stdout": "x"}})
    bodies = [w.post("/api/winrm", {"host": "lab-ws-01", "command": "status"}).text,
              w.post("/api/winrm", {"host": "lab-ws-01", "command": "status",
                                    "password": "bad"}).text,
              w.post("/api/hosts/reload").text, w.get("/health").text]
    for b in bodies:
        assert PASSWORD not in b
    assert PASSWORD not in w.log()
