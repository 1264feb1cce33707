"""POST /lab uploads: nested extra files, path safety, size limits, cleanup (difference 3)."""
from pathlib import Path

import pytest
import requests

from labd_harness import TOPOLOGY


def netlab_dir(server):
    return Path([e for e in server.netlab_starts() if e["argv"][0] == "up"][-1]["cwd"])


def test_nested_extra_files_reach_netlab_dir(server):
    sid = server.new_session()
    extra = [("configs/r1.cfg", b"hostname r1\n"), ("templates/deep/t.j2", b"{{ x }}"),
             ("topology-defaults.yml", b"device: frr\n")]
    r = server.acquire(sid, extra=extra)
    assert r.status_code == 200, r.text
    work = netlab_dir(server)
    for name, data in extra:
        assert (work / name).read_bytes() == data
    assert (work / "topology.yml").read_bytes() == TOPOLOGY
    # The upload directory keeps the tree too (the original's layout).
    upload = Path(server.get("/lab", session=sid).json()["topology"]).parent
    assert (upload / "configs" / "r1.cfg").read_bytes() == b"hostname r1\n"
    assert (upload / "templates" / "deep" / "t.j2").exists()


def test_extras_do_not_change_the_hash(server):
    sid = server.new_session()
    server.acquire(sid, extra=[("a.cfg", b"1")])
    r = server.acquire(sid, extra=[("a.cfg", b"2")])
    assert r.json()["reused"] is True


@pytest.mark.parametrize("bad", [
    "/etc/passwd", "../escape.cfg", "configs/../../x", "./x", "a//b", "configs/", "..",
    "netlab.snapshot.pickle", "host_vars/r1/topology.json", "clab.yml", "a/./b",
    "x" * 300, "/".join(["d"] * 20) + "/f",
])
def test_unsafe_extra_names_rejected(server, bad):
    sid = server.new_session()
    r = server.acquire(sid, extra=[(bad, b"data")])
    assert r.status_code == 400, (bad, r.text)
    assert "extra file" in r.json()["detail"].lower()
    assert not [c for c in server.netlab_calls() if c[0] == "up"]
    # Nothing outside the scratch TMPDIR, and no upload directory left behind.
    assert not list(server.tmp.glob("remote_netlab_upload_*"))
    assert not (server.root / "escape.cfg").exists() and not (server.tmp / "x").exists()


def test_empty_extra_name_rejected(server):
    sid = server.new_session()
    b = b"----boundary7f3a"
    body = (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"topology\"; "
            b"filename=\"t.yml\"\r\n\r\n" + TOPOLOGY + b"\r\n--" + b +
            b"\r\nContent-Disposition: form-data; name=\"extra_files\"; filename=\"\"\r\n\r\nx"
            b"\r\n--" + b + b"--\r\n")
    r = server.post("/lab", session=sid, data=body,
                    headers={"Content-Type": "multipart/form-data; boundary=" + b.decode()})
    assert r.status_code == 400, r.text
    assert "empty" in r.json()["detail"]


def test_topology_name_with_directory_rejected(server):
    sid = server.new_session()
    r = server.acquire(sid, name="dir/topology.yml")
    assert r.status_code == 400
    assert "directory" in r.json()["detail"]


def test_duplicate_and_clashing_names_rejected(server):
    sid = server.new_session()
    r = server.acquire(sid, extra=[("a.cfg", b"1"), ("a.cfg", b"2")])
    assert r.status_code == 400 and "twice" in r.json()["detail"]
    r = server.acquire(sid, extra=[("topology.yml", b"evil")])
    assert r.status_code == 400 and "topology" in r.json()["detail"]
    files = [("topology", ("t.yml", TOPOLOGY)), ("topology", ("u.yml", TOPOLOGY))]
    r = server.post("/lab", session=sid, files=files)
    assert r.status_code == 400 and "one topology" in r.json()["detail"]
    assert not list(server.tmp.glob("remote_netlab_upload_*"))


def test_file_size_limit_413(make_server):
    s = make_server(args=["--max-upload-file-size", "1K", "--max-upload-total-size", "4K"])
    sid = s.new_session()
    r = s.acquire(sid, extra=[("big.bin", b"x" * 1025)])
    assert r.status_code == 413 and "big.bin" in r.json()["detail"]
    r = s.acquire(sid, topology=TOPOLOGY + b"#" * 2000)
    assert r.status_code == 413
    r = s.acquire(sid, extra=[(f"f{i}", b"y" * 1000) for i in range(5)])
    assert r.status_code == 413 and "in total" in r.json()["detail"]
    assert not list(s.tmp.glob("remote_netlab_upload_*"))
    assert s.acquire(sid, extra=[("ok.bin", b"x" * 1024)]).status_code == 200


def test_body_larger_than_limit_413_before_reading(make_server):
    s = make_server(args=["--max-upload-total-size", "64K", "--max-upload-files", "2"])
    sid = s.new_session()
    # Declared Content-Length beyond the route limit: answered without reading the body.
    r = s.acquire(sid, extra=[("huge.bin", b"z" * (2 << 20))])
    assert r.status_code == 413
    r = s.acquire(sid, extra=[("a", b"1"), ("b", b"2")])
    assert r.status_code == 413 and "Too many files" in r.json()["detail"]
    assert s.get("/healthz").status_code == 204


def test_upload_and_work_dirs_removed_on_failed_acquire(server):
    server.knobs(fail="start")
    sid = server.new_session()
    r = server.acquire(sid, extra=[("configs/x.cfg", b"1")])
    assert r.status_code == 500
    assert not list(server.tmp.glob("remote_netlab_upload_*"))
    assert not list(server.tmp.glob("netlab_topo_*"))


def test_attach_discards_its_upload(server):
    sid = server.new_session()
    server.acquire(sid)
    server.acquire(sid)  # reused: the second upload is not needed
    assert len(list(server.tmp.glob("remote_netlab_upload_*"))) == 1
    server.delete(f"/session/{sid}")
    assert not list(server.tmp.glob("remote_netlab_upload_*"))
    assert not list(server.tmp.glob("netlab_topo_*"))


def test_unknown_form_fields_ignored(server):
    sid = server.new_session()
    files = [("topology", ("t.yml", TOPOLOGY)), ("whatever", ("w.txt", b"w"))]
    r = server.post("/lab", session=sid, files=files, data={"comment": "hi"})
    assert r.status_code == 200, r.text


def test_non_form_body_gives_422(server):
    sid = server.new_session()
    r = server.post("/lab", session=sid, data=b'{"topology": 1}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "topology"]
