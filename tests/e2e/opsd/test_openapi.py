"""GET /openapi.json (issue 10): the embedded OpenAPI 3.1 document is served, is valid JSON
with openapi 3.1.x, and every operation it lists is served by the real worker (not 404/405).
That every route the worker serves is in it is checked against api.c's table by the unit test
tests/unit/opsd/test_openapi.c."""
import re

import requests

from sse import Stream

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def test_document_is_served_and_every_operation_exists(make_worker):
    w = make_worker(env={"OPS_DB": "none"})
    r = w.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    doc = r.json()
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] == "ops-worker"
    ops = [(m.upper(), path) for path, item in doc["paths"].items() for m in item
           if m in METHODS]
    assert ("GET", "/api/heartbeat/stream") in ops and ("GET", "/metrics") in ops
    for method, path in ops:
        if path == "/api/heartbeat/stream":
            s = Stream(w.port, path)
            try:
                status = s.status
            finally:
                s.close()
        else:
            # no body: the routes that need one answer 400, never 404/405
            status = requests.request(method, w.url(path), timeout=60).status_code
        assert status not in (404, 405), (method, path, status)
        # (the timeline needs a database, which this worker has not: 500 says so)
        assert status < 500 or path == "/api/reservations/timeline", (method, path, status)
    # the same bytes every time (embedded at build time)
    assert w.get("/openapi.json").content == r.content
