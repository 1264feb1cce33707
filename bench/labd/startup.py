#!/usr/bin/python3
"""Time from exec of neops-remote-lab to its first 204 on /healthz (median of N runs)."""
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

binary, port, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for _ in range(runs):
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp, HOME=tmp)
        t0 = time.perf_counter()
        p = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(port),
                              "--log-level", "WARNING"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 204:
                    break
            except OSError:
                time.sleep(0.0005)
        times.append(time.perf_counter() - t0)
        p.send_signal(signal.SIGTERM)
        p.wait()
print(f"{statistics.median(times) * 1000:.1f} {min(times) * 1000:.1f} {max(times) * 1000:.1f}")
