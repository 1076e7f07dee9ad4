"""`pmuprof stat --per-node / --per-socket / --per-core / -A -a` against `perf stat` with
the same flags on the same workload, in the human, -x and -j layouts: the same lines in the
same order, character for character once the measured numbers are masked (each number with
the blanks before it, which keeps every column's width), the same aggregation ids and
CPU counts, and counts close: cpu-clock and task-clock count every CPU of a group for the
whole run (an idle CPU's clock ticks too), so CPUs utilized = count / elapsed must equal
the group's CPU count within 5 % (the counters start and stop a few ms apart from the
clock that measures elapsed time). Without -a, perf's refusal and ours say the same."""
import json
import re

from common import *

if not have_perf():
    skip("perf is not installed (it is the oracle here)")
EVENTS = "cpu-clock,task-clock"
WORK = ["--", "sleep", "0.5"]
MODES = ["--per-node", "--per-socket", "--per-core", "-A"]
r = run(["perf", "stat", "-a", "-e", EVENTS, "--", "true"])
if r.returncode != 0:
    skip(f"perf stat -a cannot count here: {r.stderr.strip()}")

NUM = re.compile(r" *\d+\.\d+")


def mask(line):
    """Each decimal number, with the blanks that right-align it, as that many '#'."""
    return NUM.sub(lambda m: "#" * len(m.group(0)), line)


def body(text):
    return [l for l in text.splitlines() if l.strip() and not l.startswith("#")]


def close(util, nr, what):
    check(abs(util - nr) <= 0.05 * nr, f"{what}: {util:.3f} CPUs utilized for a group of {nr} CPUs")


def stat(tool, mode, fmt):
    cmd = ([PMUPROF] if tool == "pmuprof" else ["perf"]) + ["stat", mode, "-a", "-e", EVENTS]
    r = run(cmd + fmt + WORK)
    check(r.returncode == 0, f"{' '.join(cmd + fmt)}: {r.stderr}")
    return r.stderr


for mode in MODES:
    # Human layout.
    ours, theirs = stat("pmuprof", mode, []), stat("perf", mode, [])
    a, b = [mask(l) for l in ours.splitlines()], [mask(l) for l in theirs.splitlines()]
    check(a == b, f"{mode}: layout differs from perf's:\n--- pmuprof\n{ours}\n--- perf\n{theirs}")
    for l in ours.splitlines():
        m = re.match(r"^(\S+)\s+(?:(\d+)\s+)?[\d.]+ msec \S+\s+#\s+([\d.]+) CPUs utilized", l)
        if m:
            close(float(m.group(3)), int(m.group(2) or 1), f"{mode}: {l.strip()}")
    ids = [l.split()[0] for l in body(ours) if "msec" in l]
    print(f"ok: {mode} human: {len(a)} lines as perf's, rows {ids}")

    # -x, : ids and CPU counts equal, numbers where perf has numbers, text equal.
    ours, theirs = stat("pmuprof", mode, ["-x", ","]), stat("perf", mode, ["-x", ","])
    a, b = [l.split(",") for l in body(ours)], [l.split(",") for l in body(theirs)]
    check(len(a) == len(b), f"{mode} -x: {len(a)} rows vs perf's {len(b)}:\n{ours}\n{theirs}")
    for x, y in zip(a, b):
        check(len(x) == len(y), f"{mode} -x: fields {x} vs perf's {y}")
        ev = y.index("cpu-clock") if "cpu-clock" in y else y.index("task-clock")
        for k, (f, g) in enumerate(zip(x, y)):
            if k in (ev - 2, ev + 1, ev + 2, ev + 3):  # value, runtime, pcnt, metric
                check(re.fullmatch(r"[\d.]+", f) is not None, f"{mode} -x: field {k} '{f}' in {x}")
            else:
                check(f == g, f"{mode} -x: field {k} '{f}' vs perf's '{g}'")
        nr = int(x[1]) if mode != "-A" else 1
        close(float(x[ev + 3]), nr, f"{mode} -x {x}")
    print(f"ok: {mode} -x: {len(a)} rows as perf's")

    # -j: the same keys in the same order, the same ids and CPU counts.
    ours, theirs = stat("pmuprof", mode, ["-j"]), stat("perf", mode, ["-j"])
    a, b = [json.loads(l) for l in body(ours)], [json.loads(l) for l in body(theirs)]
    check(len(a) == len(b), f"{mode} -j: {len(a)} objects vs perf's {len(b)}")
    for x, y in zip(a, b):
        check(list(x) == list(y), f"{mode} -j: keys {list(x)} vs perf's {list(y)}")
        for k in ("node", "socket", "core", "cpu", "aggregate-number", "event", "unit"):
            check(x.get(k) == y.get(k), f"{mode} -j: {k} {x.get(k)} vs perf's {y.get(k)}")
        close(x["metric-value"], x.get("aggregate-number", 1), f"{mode} -j {x}")
    print(f"ok: {mode} -j: {len(a)} objects as perf's")

# Without -a (or -C) there is nothing per CPU to split: both refuse, naming system-wide mode.
for mode in MODES:
    p = run(["perf", "stat", mode, "-e", "cpu-clock", "true"])
    o = run([PMUPROF, "stat", mode, "-e", "cpu-clock", "true"])
    want = "only available in system-wide mode"
    check(p.returncode != 0 and want in p.stderr, f"perf stat {mode} without -a: {p.stderr}")
    check(o.returncode == 2 and want in o.stderr and mode in o.stderr and "-a" in o.stderr
          and len(o.stderr.strip().splitlines()) == 1, f"pmuprof stat {mode} without -a: {o.stderr}")
    print(f"ok: {mode} without -a refused as perf: {o.stderr.strip()}")
# -C is system-wide too, as in perf.
o = run([PMUPROF, "stat", "--per-node", "-C", "0", "-x", ",", "-e", "cpu-clock", "--", "true"])
check(o.returncode == 0 and re.match(r"^N\d+,1,", o.stderr), o.stderr)
print("PASS")
