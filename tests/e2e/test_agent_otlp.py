"""Issue 5, acceptance 2: `pmuprof agent` exporting to an OTLP/HTTP receiver on
loopback: normal windows, gzip on/off, 503 with Retry-After (retried after the
delay), 400 (not retried, logged), partial_success (logged, not retried), and
the receiver down then up (spooled windows arrive, in order, nothing lost)."""
import os
import socket
import subprocess
import sys
import tempfile
import time

from common import *

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import otlp_check
    from otlp_receiver import Receiver
except ImportError as e:
    skip(f"Python protobuf is not available ({e}); install python3-protobuf")

d = tempfile.mkdtemp()
AGENT = [PMUPROF, "agent", "-F", "49", "--interval", "1"]


def agent(url, duration, extra=(), env=None):
    e = dict(os.environ, **(env or {}))
    e.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    return run(AGENT + ["--otlp-endpoint", url, "--duration", str(duration)] + list(extra),
               env=e, timeout=120)


busy = subprocess.Popen([bench("spin"), "--iters", "100000000000"], stdout=subprocess.DEVNULL)
try:
    # 1. normal windows, checked one by one; gzip off
    with Receiver() as r:
        res = agent(r.url, 3.5)
        check(res.returncode == 0, res.stderr)
        n = len(r.requests)
        windows = [l for l in res.stderr.splitlines() if "agent: window " in l]
        print(f"normal: {n} requests, {len(windows)} windows")
        check(n == len(windows) and n >= 3, f"{n} requests for {len(windows)} windows: {res.stderr}")
        for q in r.requests:
            check("content-encoding" not in q.headers, "gzip without being asked")
            otlp_check.check_request(q.body)
        exports = [l for l in res.stderr.splitlines() if l.startswith("pmuprof otlp: window ")]
        check(len(exports) == n and all(": delivered" in l for l in exports), res.stderr)

    # 2. gzip on
    with Receiver() as r:
        res = agent(r.url, 1.5, env={"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"})
        check(res.returncode == 0 and r.requests, res.stderr)
        q = r.requests[0]
        check(q.headers.get("content-encoding") == "gzip" and len(q.raw) < len(q.body),
              "body not gzipped")
        otlp_check.check_request(q.body)
        print("gzip:", len(q.raw), "bytes on the wire for", len(q.body))

    # 3. 503 with Retry-After: 1 -> retried after >= 1 s, then delivered
    with Receiver() as r:
        r.script(status=503, count=1, retry_after="1")
        res = agent(r.url, 1.5)
        check(res.returncode == 0, res.stderr)
        check(len(r.requests) >= 2 and r.requests[0].status == 503, "503 not retried")
        gap = r.requests[1].time - r.requests[0].time
        print(f"503: retried after {gap:.2f} s")
        check(gap >= 0.95, f"Retry-After not honoured: retried after {gap:.2f} s")
        check(r.requests[0].body == r.requests[1].body, "the retry sent other data")

    # 4. 400 -> not retried, logged, the agent goes on
    with Receiver() as r:
        r.script(status=400, count=1, body=b"bad request body")
        res = agent(r.url, 2.5)
        check(res.returncode == 0, res.stderr)
        first_body = r.requests[0].body
        check(sum(1 for q in r.requests if q.body == first_body) == 1, "a 400 was retried")
        check("400" in res.stderr, f"400 not logged: {res.stderr}")
        check(len(r.requests) >= 2, "the agent stopped exporting after a 400")
        print("400: logged:", [l for l in res.stderr.splitlines() if "400" in l][0])

    # 5. partial_success -> logged, not retried
    with Receiver() as r:
        r.script(partial=[3, "three profiles too old"], count=1)
        res = agent(r.url, 1.5)
        check(res.returncode == 0, res.stderr)
        check("three profiles too old" in res.stderr and "partial" in res.stderr,
              f"partial success not logged: {res.stderr}")
        bodies = [q.body for q in r.requests]
        check(len(bodies) == len(set(bodies)), "a partial success was retried")

    # 6. receiver down, then up on the same port: spooled windows arrive, in order
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    spool = os.path.join(d, "spool")
    url = f"http://127.0.0.1:{port}"
    p = subprocess.Popen(AGENT + ["--otlp-endpoint", url, "--duration", "7", "--spool", spool,
                                  "--otlp-retry-budget", "0.3"],
                         stderr=subprocess.PIPE, text=True,
                         env={k: v for k, v in os.environ.items() if k != "OTEL_EXPORTER_OTLP_ENDPOINT"})
    time.sleep(3.2)
    spooled = sorted(os.listdir(spool)) if os.path.isdir(spool) else []
    print("while down, spooled:", spooled)
    check(len(spooled) >= 2, f"nothing spooled while the receiver was down ({spooled})")
    with Receiver(port=port) as r:
        _, err = p.communicate(timeout=60)
        check(p.returncode == 0, err)
        windows = [l for l in err.splitlines() if "agent: window " in l]
        times = [otlp_check.decode_request(q.body).resource_profiles[0].scope_profiles[0]
                 .profiles[0].time_unix_nano for q in r.requests]
        print(f"down/up: {len(windows)} windows, {len(r.requests)} requests received")
        check(len(r.requests) == len(windows), f"lost windows: {len(r.requests)} of {len(windows)}:\n{err}")
        check(times == sorted(times), "spooled windows delivered out of order")
        check(not [f for f in os.listdir(spool) if f.endswith(".otlp")], "the spool is not empty")
finally:
    busy.kill()
    busy.wait()
print("ok")
