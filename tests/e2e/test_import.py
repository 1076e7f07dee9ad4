"""pmuprof import (issue 7, part 4): perf.data files made by this host's perf
(file mode, -g, pipe mode) give per-event sample totals equal to perf's own
count, and a pprof that go tool pprof reads with spin_loop on top; every
real capture in ../shared/testdata/perf-data/ imports without error with
the same per-event totals as perf report --stats."""
import os
import re
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no perf.data to import and no oracle")

d = tempfile.mkdtemp()
spin = [bench("spin"), "--iters", "400000000"]
events, period = "cpu-clock,task-clock", "1000000"


def perf_stats_samples(data):
    """[samples per event] from `perf report --stats` (events with samples, in perf's order)."""
    r = run(["perf", "report", "--stats", "-i", data], timeout=300)
    if r.returncode != 0:
        return None
    out, cur = [], None
    for line in r.stdout.splitlines():
        if line.strip().endswith(" stats:") and not line.startswith("Aggregated"):
            cur = len(out)
            out.append(0)
        m = re.match(r"\s*SAMPLE events:\s+(\d+)", line)
        if m and cur is not None:
            out[cur] = int(m.group(1))
    return [n for n in out if n]


def import_samples(stderr):
    """[samples per event with samples] from pmuprof import's summary line."""
    line = [l for l in stderr.splitlines() if l.startswith("pmuprof import: samples")]
    check(line, f"no summary line in: {stderr!r}")
    body = line[-1].split("samples", 1)[1].split("; lost")[0]
    counts = [int(n.replace(",", "")) for n in re.findall(r" (\d[\d,]*\d|\d)(?:,|$)", body)]
    return [n for n in counts if n]


def do_import(data, out, *extra):
    r = run([PMUPROF, "import", data, "-o", out] + list(extra), timeout=300)
    check(r.returncode == 0, f"pmuprof import {data} failed: {r.stderr}")
    return r


# (a) files this host records now
cases = [
    ("file", ["perf", "record", "-q", "-e", events, "-c", period, "-o",
              os.path.join(d, "file.data"), "--"]),
    ("callgraph", ["perf", "record", "-q", "-g", "-e", events, "-c", period, "-o",
                   os.path.join(d, "callgraph.data"), "--"]),
]
for name, cmd in cases:
    r = run(cmd + spin, timeout=300)
    check(r.returncode == 0, f"perf record ({name}) failed: {r.stderr}")
# pipe mode: perf writes the stream to stdout
with open(os.path.join(d, "pipe.data"), "wb") as f:
    import subprocess
    p = subprocess.run(["perf", "record", "-q", "-e", events, "-c", period, "-o", "-", "--"] + spin,
                       stdout=f, stderr=subprocess.PIPE, timeout=300)
    check(p.returncode == 0, f"perf record (pipe) failed: {p.stderr.decode()}")

for name in ("file", "callgraph", "pipe"):
    data = os.path.join(d, f"{name}.data")
    out = os.path.join(d, f"{name}.pb.gz")
    otlp = os.path.join(d, f"{name}.otlp")
    r = do_import(data, out, "--otlp", otlp)
    ours = import_samples(r.stderr)
    theirs = perf_stats_samples(data)
    check(theirs is not None, f"perf report --stats cannot read {data}")
    script = perf_record_samples(data)
    check(ours == theirs, f"{name}: pmuprof import samples {ours}, perf report --stats {theirs}")
    check(sorted(ours) == sorted(script.values()),
          f"{name}: pmuprof import samples {ours}, perf script -F event {script}")
    check(os.path.getsize(otlp) > 0, f"{name}: empty OTLP file")
    prof = load_profile(out)
    check(prof["types"][:3] == ["samples", "cpu-clock", "task-clock"],
          f"{name}: sample types {prof['types']}")
    for k, n in enumerate(ours):
        total = sum(s["values"][1 + k] for s in prof["samples"])
        check(total == n * int(period), f"{name}: event {k} value {total} != {n} x {period}")
    if have_go():
        status, raw = go_pprof(["-raw", out])
        check(status == 0, f"go tool pprof -raw failed on {name}: {raw}")
        top = pprof_top(out, "cpu-clock")
        check(top and top[0][1] == "spin_loop", f"{name}: spin_loop is not on top: {top[:5]}")
    print(f"ok: {name}: samples {ours} equal perf's")

# (b) the real captures from other machines
tdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                    "testdata", "perf-data")
tdir = os.environ.get("PMUPROF_PERF_TESTDATA", tdir)
if not os.path.isdir(tdir):
    print(f"SKIP part (b): {tdir} is absent: no real perf.data captures")
    sys.exit(0)
files = sorted(f for f in os.listdir(tdir) if f.startswith("perf.data"))
check(files, f"no perf.data files in {tdir}")
for f in files:
    data = os.path.join(tdir, f)
    out = os.path.join(d, f + ".pb.gz")
    r = do_import(data, out, "--no-symbolize")
    check("malformed" not in r.stderr, f"{f}: {r.stderr}")
    ours = import_samples(r.stderr)
    theirs = perf_stats_samples(data)
    if theirs is None:
        print(f"note: {f}: perf itself cannot read it; imported {ours}, not compared")
        continue
    check(ours == theirs, f"{f}: pmuprof import samples {ours}, perf report --stats {theirs}")
    load_profile(out)  # protoc decodes it
    print(f"ok: {f}: samples {ours} equal perf report --stats")
print("PASS")
