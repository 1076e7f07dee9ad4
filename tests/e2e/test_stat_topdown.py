"""stat --topdown: topdown level 1 where the CPU's sysfs defines it. On a host whose core PMU
has no topdown events (no hardware PMU, AMD, arm64) it refuses with one line naming the sysfs
directory looked in and what topdown needs, exit non-zero, as perf stat --topdown refuses; on a
host that has them, its columns are perf stat --topdown's (the same names, in the same order,
with -x ,) and, with the PERF_METRICS events, each share within 10 points of perf's on the same
workload. --topdown with -e exits 2 with one line; --help names it."""
import os
import re

from common import *

DEVICES = "/sys/bus/event_source/devices"


def topdown_events():
    """The core PMU's topdown event names in sysfs (cpu, or cpu_core on a hybrid CPU)."""
    for pmu in ("cpu", "cpu_core"):
        d = os.path.join(DEVICES, pmu, "events")
        if os.path.isdir(d):
            return {e for e in os.listdir(d) if e.startswith("topdown-") or e == "slots"}
    return set()


r = run([PMUPROF, "stat", "--help"])
check(r.returncode == 0 and "--topdown" in r.stdout, f"--help does not name --topdown: {r.stdout}")

r = run([PMUPROF, "stat", "--topdown", "-e", "cycles", "--", "true"])
lines = r.stderr.strip().splitlines()
check(r.returncode == 2 and len(lines) == 1 and "--topdown" in lines[0] and "-e" in lines[0],
      f"--topdown with -e: exit {r.returncode}, {r.stderr!r}")

events = topdown_events()
spin = bench("spin")
cmd = [spin, "--iters", "50000000"]
if "topdown-retiring" not in events and "topdown-total-slots" not in events:
    with_a = run([PMUPROF, "stat", "--topdown", "-a", "--", "true"])
    for r in (run([PMUPROF, "stat", "--topdown", "--"] + cmd), with_a):
        lines = r.stderr.strip().splitlines()
        print(r.stderr)
        check(r.returncode != 0, f"--topdown without topdown events exited {r.returncode}")
        check(len(lines) == 1, f"--topdown's refusal is not one line: {r.stderr!r}")
        check(re.fullmatch(r"pmuprof stat: --topdown: this CPU's PMU defines no topdown events "
                           r"\(no topdown-\* in /sys/bus/event_source/devices/[\w-]+/events\); "
                           r"topdown level 1 needs an Intel CPU with them", lines[0]),
              f"refusal line {lines[0]!r}")
    if have_perf():
        p = run(["perf", "stat", "--topdown", "-a", "--", "true"])
        check(p.returncode != 0, f"perf stat --topdown counted here: {p.stderr}")
        print("perf refuses too:", p.stderr.strip())
    print("ok: refused")
    raise SystemExit(0)

if not have_perf():
    skip("this host has topdown events but perf (linux-perf) is not installed: no oracle")
# The older events count per core, system wide (perf requires -a for them).
metrics = "topdown-retiring" in events
target = [] if metrics else ["-a"]


def header_and_values(text):
    """perf --topdown -x , (metric only): a line of names, then lines of values."""
    rows = [l.split(",") for l in text.splitlines() if l.strip() and not l.startswith("spin:")]
    check(len(rows) >= 2, f"no topdown rows: {text!r}")
    return rows[0], rows[1:]


ours, theirs = stat_both(["--topdown"] + target, ["-x", ","], cmd)
print(ours)
print(theirs)
oh, ov = header_and_values(ours)
th, tv = header_and_values(theirs)
names = lambda h: [f.strip() for f in h if re.search(r"[A-Za-z]", f)]
check(names(oh) == names(th), f"columns {names(oh)} are not perf's {names(th)}")
if metrics:
    nums = lambda row: [float(f) for f in row if re.fullmatch(r" *\d+(\.\d+)?", f)]
    a, b = nums(ov[0]), nums(tv[0])
    check(len(a) == len(b) == 4, f"shares {a} vs perf's {b}")
    for n, x, y in zip(names(th), a, b):
        check(abs(x - y) <= 10, f"{n}: {x}% vs perf's {y}%")
print("ok: columns as perf's")
