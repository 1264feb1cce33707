#!/usr/bin/python3
"""Reads metrics_sample's output with Debian's python3-prometheus-client parser and checks
every value, plus what that parser is lenient about in the text format 0.0.4: line
syntax, HELP/TYPE before a family's samples, cumulative buckets ending in +Inf = _count."""
import math
import re
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

text = subprocess.run([sys.argv[1]], check=True, capture_output=True).stdout.decode("utf-8")

# --- line syntax ------------------------------------------------------------------------
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
VALUE = r"(?:[+-]?Inf|NaN|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
SAMPLE = re.compile(rf"^({NAME})(?:\{{{LABEL}(?:,{LABEL})*\}})? ({VALUE})$")
HELP = re.compile(rf"^# HELP ({NAME}) (?:[^\\\n]|\\[\\n])*$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
assert text.endswith("\n")
typed = {}
current = None
for line in text[:-1].split("\n"):
    if m := HELP.match(line):
        assert m.group(1) not in typed, line
        current = m.group(1)
    elif m := TYPE.match(line):
        assert m.group(1) == current, line
        typed[current] = m.group(2)
    elif m := SAMPLE.match(line):
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name) if typed.get(current) == "histogram" else name
        assert base == current, f"sample outside its family: {line}"
    else:
        raise AssertionError(f"not text format 0.0.4: {line!r}")

# --- a real parser ------------------------------------------------------------------------
families = {f.name: f for f in text_string_to_metric_families(text)}
assert set(families) == {"rl_http_requests", "rl_lab_reuse_hits", "rl_sessions", "rl_values",
                         "rl_lab_operation_seconds", "rl_queue_wait_seconds", "rl_idle"}, families
types = {n: f.type for n, f in families.items()}
assert types == {"rl_http_requests": "counter", "rl_lab_reuse_hits": "counter",
                 "rl_sessions": "gauge", "rl_values": "gauge",
                 "rl_lab_operation_seconds": "histogram", "rl_queue_wait_seconds": "histogram",
                 "rl_idle": "gauge"}, types
assert families["rl_sessions"].documentation == 'Sessions by state ("help" with \\ and\nnewline).'


def samples(name):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in families[name].samples}


assert samples("rl_http_requests") == {
    ("rl_http_requests_total", (("code", "204"), ("route", "GET /healthz"))): 1,
    ("rl_http_requests_total", (("code", "201"), ("route", "POST /lab"))): 42}
assert samples("rl_lab_reuse_hits") == {("rl_lab_reuse_hits_total", ()): 7}
assert samples("rl_sessions") == {("rl_sessions", (("state", "ACTIVE"),)): 1,
                                  ("rl_sessions", (("state", "WAITING"),)): 3}
values = {dict(k[1])["name"]: v for k, v in samples("rl_values").items()}
assert values == {"quote\"back\\slash\nnewline": -2.5, "unicode \u00e4\u20ac": 0.1,
                  "big": 1e300, "tiny": 5e-324, "inf": math.inf, "-inf": -math.inf,
                  "": 12345678901234567.0}, values
assert samples("rl_idle") == {}


def histogram(name, labels):
    got = {}
    for s in families[name].samples:
        extra = dict(s.labels)
        le = extra.pop("le", None)
        if extra == labels:
            got[(s.name[len(name):], le)] = s.value
    return got


B = ["0.005", "0.1", "1", "2.5", "60", "3600", "+Inf"]
assert histogram("rl_lab_operation_seconds", {"kind": "up", "result": "ok"}) == {
    **{("_bucket", le): v for le, v in zip(B, [0, 0, 1, 1, 2, 2, 3])},
    ("_sum", None): 7213.0, ("_count", None): 3}
assert histogram("rl_lab_operation_seconds", {"kind": "down", "result": "failed"}) == {
    **{("_bucket", le): 1 for le in B}, ("_sum", None): 0.005, ("_count", None): 1}
assert histogram("rl_queue_wait_seconds", {}) == {
    **{("_bucket", le): v for le, v in zip(B, [1, 1, 1, 2, 2, 2, 2])},
    ("_sum", None): 2.5, ("_count", None): 2}
print("metrics: %d families parsed and checked" % len(families))
