#!/usr/bin/python3
"""N session hand-offs with default options, the same topology each time: session -> lab with
reuse -> release -> end (what the Python client and fixture do per test module).
Usage: handoff.py URL [N]   (hyperfine times the whole run)"""
import sys

import requests

TOPO = b"provider: clab\ndefaults.device: frr\nnodes: [r1, r2]\nlinks: [r1-r2]\n"


def main():
    url, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    s = requests.Session()
    for _ in range(n):
        sid = s.post(url + "/session").json()["session_id"]
        h = {"X-Session-ID": sid}
        r = s.post(url + "/lab", headers=h, data={"reuse": "true"},
                   files={"topology": ("topology.yml", TOPO, "application/x-yaml")})
        assert r.status_code == 200, r.text
        assert s.post(url + "/lab/release", headers=h).status_code == 204
        assert s.delete(f"{url}/session/{sid}").status_code == 204


if __name__ == "__main__":
    main()
