"""Acceptance: `-x ,` and `-j` output parse with perf stat's field layout and
list every event; -o writes the same to a file; -A gives one row per CPU."""
import json
import os
import tempfile

from common import *

events = ["task-clock", "page-faults", "context-switches", "cpu-migrations", "minor-faults"]
if host_has_hw_pmu() and perf_counts("instructions"):
    events += ["cycles", "instructions"]
spec = ",".join(events)
cmd = [bench("spin"), "--iters", "2000000", "--touch-mb", "4"]

# -x , : value,unit,event,runtime,pcnt-running,metric-value,metric-unit
r = run([PMUPROF, "stat", "-x", ",", "-e", spec, "--"] + cmd)
check(r.returncode == 0, f"pmuprof -x failed: {r.stderr}")
rows = [f for f in csv_rows(r.stderr) if f[0]]  # skip metric-only continuation rows
names = [f[2] for f in rows]
check(names == events, f"-x lists {names}, expected {events}")
for f in rows:
    check(len(f) == 7, f"row {f} has {len(f)} fields, perf's layout has 7")
    float(f[0]); int(f[3]); float(f[4])
    check(f[1] == ("msec" if f[2] == "task-clock" else ""), f"unit of {f[2]} is {f[1]!r}")
    check(0 < float(f[4]) <= 100, f"percent running {f[4]} out of range")

if have_perf():
    # Same layout as perf's own on the same events: same number of fields per row.
    p = run(["perf", "stat", "-x", ",", "-e", spec, "--"] + cmd)
    prow = [f for f in csv_rows(p.stderr) if f[0]]
    check([len(f) for f in prow] == [len(f) for f in rows],
          f"field counts differ from perf: {[len(f) for f in prow]} vs {[len(f) for f in rows]}")
    check([f[2] for f in prow] == names, "event column differs from perf's")
    check([f[1] for f in prow] == [f[1] for f in rows], "unit column differs from perf's")

# A different separator
r = run([PMUPROF, "stat", "-x", ";", "-e", "task-clock,page-faults", "--"] + cmd)
rows = csv_rows(r.stderr, ";")
check([f[2] for f in rows] == ["task-clock", "page-faults"], f"-x ';' rows: {rows}")

# -j : one JSON object per line with perf's keys
r = run([PMUPROF, "stat", "-j", "-e", spec, "--"] + cmd)
check(r.returncode == 0, f"pmuprof -j failed: {r.stderr}")
objs = [json.loads(l) for l in r.stderr.splitlines() if l.startswith("{")]
keys = {"counter-value", "unit", "event", "event-runtime", "pcnt-running"}
counted = [o for o in objs if "event" in o]
check([o["event"] for o in counted] == events, f"-j lists {[o['event'] for o in counted]}")
for o in counted:
    check(keys <= set(o), f"object lacks perf's keys: {o}")
    float(o["counter-value"])
    check(isinstance(o["event-runtime"], int), "event-runtime must be an integer")
if have_perf():
    p = run(["perf", "stat", "-j", "-e", "task-clock,page-faults", "--"] + cmd)
    pkeys = [set(json.loads(l)) for l in p.stderr.splitlines() if l.startswith("{")]
    r = run([PMUPROF, "stat", "-j", "-e", "task-clock,page-faults", "--"] + cmd)
    okeys = [set(json.loads(l)) for l in r.stderr.splitlines() if l.startswith("{")]
    check(pkeys == okeys, f"JSON keys differ from perf's: {pkeys} vs {okeys}")

# -o FILE: the same rows in a file, stderr clean, no temporary left behind
with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "counts.csv")
    r = run([PMUPROF, "stat", "-x", ",", "-o", out, "-e", spec, "--"] + cmd)
    check(r.returncode == 0 and r.stderr == "", f"-o run: rc={r.returncode} stderr={r.stderr!r}")
    with open(out) as f:
        check([x[2] for x in csv_rows(f.read()) if x[0]] == events, "-o file lacks events")
    check(os.listdir(d) == ["counts.csv"], f"stray files: {os.listdir(d)}")

# -a -A: one row per online CPU and event, prefixed CPUn
ncpu = os.cpu_count()
r = run([PMUPROF, "stat", "-a", "-A", "-x", ",", "-e", "cpu-clock,context-switches", "--", "sleep", "0.2"])
check(r.returncode == 0, f"-a -A failed: {r.stderr}")
rows = [f for f in csv_rows(r.stderr) if f[1]]
cpus = sorted({f[0] for f in rows})
check(len(rows) == 2 * ncpu and cpus == sorted(f"CPU{i}" for i in range(ncpu)),
      f"-A rows: {rows}")
for f in rows:
    if f[3] == "cpu-clock":
        check(150 < float(f[1]) < 2000, f"cpu-clock per CPU over 0.2 s is {f[1]} msec")
print("ok:", len(events), "events in -x and -j")
