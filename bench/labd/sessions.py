#!/usr/bin/python3
"""Create N sessions over one keep-alive connection; print the last session id."""
import http.client
import json
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
sid = None
for _ in range(n):
    c.request("POST", "/session")
    r = c.getresponse()
    assert r.status == 201, r.status
    sid = json.loads(r.read())["session_id"]
print(sid)
