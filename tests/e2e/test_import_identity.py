"""pmuprof import of record's --perf-data gives record's own profile.

`pmuprof record ... --perf-data X -o A.pb.gz -- workload`, then
`pmuprof import X -o B.pb.gz`: both go through one engine, so the two
profiles are identical in sample types, period, samples (stack, values,
labels), locations, functions and mappings (in order: the first is the main
binary). Only comments, time_nanos and duration_nanos may differ (import
knows the records, not the wall-clock span of the run). Decoded by protoc,
independently of pmuprof, into a canonical form for one event, -g, two
events, a period given in the event (no -c), --call-graph dwarf and -p of a
running process."""
import os
import re
import subprocess
import tempfile

from common import *

d = tempfile.mkdtemp()
spin = bench("spin")


def parse_text(text):
    """protoc's text format as nested dicts of lists ({field: [value or dict, ...]})."""
    root, stack = {}, []
    cur = root
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.endswith("{"):
            child = {}
            cur.setdefault(line[:-1].strip(), []).append(child)
            stack.append(cur)
            cur = child
        elif line == "}":
            cur = stack.pop()
        else:
            key, _, val = line.partition(": ")
            cur.setdefault(key, []).append(val)
    return root


def one(block, key, default="0"):
    return block.get(key, [default])[0]


def canonical(path):
    """The profile without its ids, comments and times: everything a reader compares."""
    p = parse_text(pprof_text(path))
    strings = [re.sub(r'^"|"$', "", s) for s in p.get("string_table", [])]
    s = lambda i: strings[int(i)]  # noqa: E731
    funcs = {one(f, "id"): (s(one(f, "name")), s(one(f, "system_name")),
                            s(one(f, "filename")), int(one(f, "start_line")))
             for f in p.get("function", [])}
    maps = {one(m, "id"): (s(one(m, "filename")), s(one(m, "build_id")),
                           int(one(m, "memory_start")), int(one(m, "memory_limit")),
                           int(one(m, "file_offset")), one(m, "has_functions", "false"),
                           one(m, "has_filenames", "false"), one(m, "has_line_numbers", "false"),
                           one(m, "has_inline_frames", "false"))
            for m in p.get("mapping", [])}
    locs = {one(l, "id"): (int(one(l, "address")), maps.get(one(l, "mapping_id")),
                           tuple((funcs[one(ln, "function_id")], int(one(ln, "line")))
                                 for ln in l.get("line", [])), one(l, "is_folded", "false"))
            for l in p.get("location", [])}
    samples = []
    for smp in p.get("sample", []):
        labels = sorted((s(one(lb, "key")), s(one(lb, "str")), int(one(lb, "num")),
                         s(one(lb, "num_unit"))) for lb in smp.get("label", []))
        samples.append((tuple(locs[i] for i in smp.get("location_id", [])),
                        tuple(int(v) for v in smp.get("value", [])), tuple(labels)))
    types = [(s(one(t, "type")), s(one(t, "unit"))) for t in p.get("sample_type", [])]
    period_type = [(s(one(t, "type")), s(one(t, "unit"))) for t in p.get("period_type", [])]
    return {
        "sample types": types,
        "period": (period_type, int(one(p, "period"))),
        "default sample type": s(one(p, "default_sample_type")),
        "drop/keep frames": (s(one(p, "drop_frames")), s(one(p, "keep_frames"))),
        "samples": sorted(samples),
        "locations": sorted(locs.values(), key=repr),
        "functions": sorted(funcs.values()),
        "mappings": [maps[one(m, "id")] for m in p.get("mapping", [])],
    }


def differences(a, b):
    out = []
    for key in a:
        if a[key] == b[key]:
            continue
        if isinstance(a[key], list) and key in ("samples", "locations", "functions"):
            only_a = [x for x in a[key] if x not in b[key]]
            only_b = [x for x in b[key] if x not in a[key]]
            out.append(f"{key}: {len(a[key])} vs {len(b[key])}; record only "
                       f"{only_a[:3]}; import only {only_b[:3]}")
        else:
            out.append(f"{key}: record {a[key]!r} vs import {b[key]!r}")
    return out


failures = []


def identity(name, args, command=True):
    data = os.path.join(d, f"{name}.data")
    rec = os.path.join(d, f"{name}-record.pb.gz")
    imp = os.path.join(d, f"{name}-import.pb.gz")
    workload = ["--", spin, "--iters", "300000000"] if command else []
    r = run([PMUPROF, "record"] + args + ["--perf-data", data, "-o", rec] + workload, timeout=300)
    check(r.returncode == 0, f"{name}: record failed ({r.returncode}): {r.stderr}")
    r = run([PMUPROF, "import", data, "-o", imp], timeout=300)
    check(r.returncode == 0, f"{name}: import failed ({r.returncode}): {r.stderr}")
    a, b = canonical(rec), canonical(imp)
    check(a["samples"], f"{name}: record's profile has no samples")
    diff = differences(a, b)
    if diff:
        failures.append(f"{name}: record and import differ:\n  " + "\n  ".join(diff))
        return
    print(f"ok {name}: {len(a['samples'])} samples, {len(a['locations'])} locations, "
          f"{len(a['mappings'])} mappings identical")


identity("cpu-clock", ["-e", "cpu-clock", "-c", "100000"])
identity("cpu-clock-g", ["-e", "cpu-clock", "-c", "100000", "-g"])
identity("two-events", ["-e", "cpu-clock,page-faults/period=50/", "-c", "100000"])
# the period in the event itself, no -c: the profile's period is the first event's
identity("period-term", ["-e", "cpu-clock/period=200000/"])
identity("cpu-clock-dwarf", ["-e", "cpu-clock", "-c", "100000", "--call-graph", "dwarf"])


def identity_pid(name, args):
    """-p of a running process: its maps come from /proc, in the file as records."""
    proc = subprocess.Popen([spin, "--iters", "4000000000"], stdout=subprocess.DEVNULL)
    try:
        identity(name, args + ["-p", str(proc.pid), "--duration", "0.5"], command=False)
    finally:
        proc.kill()
        proc.wait()


identity_pid("cpu-clock-p", ["-e", "cpu-clock", "-c", "100000"])
check(not failures, "\n".join(failures))
