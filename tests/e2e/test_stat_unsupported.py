"""Counting where the host lacks some events (issue 12, point 7): like perf
stat, an event the host cannot count prints "<not supported>" and the others
are counted, in the human, -x and -j layouts (perf's own output on the same
events is the oracle); plain `pmuprof stat` counts the software events and
marks the missing hardware ones; `record`'s default events name the ones the
host cannot sample. Runs where `cycles` is not supported (no PMU, or a partial
one); skips elsewhere."""
import json
import os
import tempfile

from common import *

if perf_counts("cycles") or (not have_perf() and host_has_hw_pmu()):
    skip("this host counts cycles: the unsupported-event rows cannot be produced here")

with tempfile.TemporaryDirectory() as d:
    # The workload runs and task-clock is counted next to the unsupported cycles.
    mark = os.path.join(d, "ran")
    cmd = ["sh", "-c", f"echo yes > {mark}"]
    r = run([PMUPROF, "stat", "-x", ",", "-e", "task-clock,cycles", "--"] + cmd)
    check(r.returncode == 0, f"-e task-clock,cycles failed ({r.returncode}): {r.stderr}")
    check(os.path.exists(mark), "the workload did not run")
    rows = csv_rows(r.stderr)
    check([f[2] for f in rows] == ["task-clock", "cycles"], f"-x rows: {rows}")
    check(float(rows[0][0]) > 0 and rows[0][1] == "msec", f"task-clock not counted: {rows[0]}")
    check(rows[1] == ["<not supported>", "", "cycles", "0", "100.00", "", ""],
          f"cycles row {rows[1]} is not perf's")
    if have_perf():
        p = run(["perf", "stat", "-x", ",", "-e", "task-clock,cycles", "true"])
        check(csv_rows(p.stderr)[1] == rows[1], f"perf prints {csv_rows(p.stderr)[1]}, we {rows[1]}")
        check([len(f) for f in csv_rows(p.stderr)] == [len(f) for f in rows], "field counts differ")
    print("ok: -x", rows)

    r = run([PMUPROF, "stat", "-j", "-e", "task-clock,cycles", "--", "true"])
    check(r.returncode == 0, f"-j failed: {r.stderr}")
    objs = [json.loads(l) for l in r.stderr.splitlines() if l.startswith("{")]
    check([o["event"] for o in objs] == ["task-clock", "cycles"], f"-j objects: {objs}")
    float(objs[0]["counter-value"])
    want = {"counter-value": "<not supported>", "unit": "", "event": "cycles", "event-runtime": 0,
            "pcnt-running": 100.0, "metric-value": 0.0, "metric-unit": ""}
    check(objs[1] == want, f"-j cycles object {objs[1]}, expected {want}")
    if have_perf():
        p = run(["perf", "stat", "-j", "-e", "task-clock,cycles", "true"])
        pobjs = [json.loads(l) for l in p.stderr.splitlines() if l.startswith("{")]
        check(pobjs[1] == objs[1], f"perf's cycles object {pobjs[1]}, ours {objs[1]}")
        check([set(o) for o in pobjs] == [set(o) for o in objs], "JSON keys differ from perf's")
    print("ok: -j", objs[1])

    # Human layout: the value column holds <not supported>, right-aligned as perf's.
    r = run([PMUPROF, "stat", "-e", "task-clock,cycles", "--", "true"])
    check(r.returncode == 0, f"human layout failed: {r.stderr}")
    line = [l for l in r.stderr.splitlines() if "cycles" in l]
    check(line and line[0].startswith("   <not supported>      cycles"), f"human cycles line: {line}")

    # Plain stat, as perf stat -- true: software events counted, hardware ones marked.
    r = run([PMUPROF, "stat", "-x", ",", "--"] + cmd)
    check(r.returncode == 0, f"plain stat failed ({r.returncode}): {r.stderr}")
    vals = stat_values(r.stderr)
    for ev in ("task-clock", "context-switches", "cpu-migrations", "page-faults"):
        check(isinstance(vals.get(ev), float), f"plain stat did not count {ev}: {r.stderr}")
    check(vals.get("cycles") == "<not supported>", f"plain stat: cycles is {vals.get('cycles')!r}")
    check("instead" not in r.stderr, f"plain stat printed a fallback notice: {r.stderr}")
    if have_perf():
        p = run(["perf", "stat", "-x", ",", "true"])
        pvals = stat_values(p.stderr)
        for ev, v in pvals.items():
            if ev in vals:
                check((v == "<not supported>") == (vals[ev] == "<not supported>"),
                      f"{ev}: perf {v!r}, pmuprof {vals[ev]!r}")
    print("ok: plain stat", vals)

    # record's default events: the notice names each event it could not sample.
    out = os.path.join(d, "p.pb.gz")
    r = run([PMUPROF, "record", "-o", out, "--", bench("spin"), "--iters", "200000"])
    check(r.returncode == 0 and os.path.getsize(out) > 0, f"default record failed: {r.stderr}")
    notice = [l for l in r.stderr.splitlines() if "cannot sample" in l]
    check(len(notice) == 1 and "cycles" in notice[0] and "cpu-clock" in notice[0],
          f"record's notice does not name the dropped events: {r.stderr}")
    print("ok: record notice:", notice[0])
    # An explicit request is not dropped silently.
    r = run([PMUPROF, "record", "-o", out, "-e", "cpu-clock,cycles", "--", "true"])
    check(r.returncode != 0 and "'cycles'" in r.stderr, f"explicit cycles: {r.returncode} {r.stderr}")
print("PASS")
