"""stat -I MS against perf stat -I MS on a software event: the same layout line by line (the
time column's title, the time in its 16 columns, then the count line as without -I), the same
-x fields and -j keys ("interval" first); intervals every MS, the last one shorter, and page
faults summed over the intervals within 2 % of perf's; -o gets the same lines; -I under 10 ms
and -I with -r exit 2 with one line."""
import json
import os
import re
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")

spin = bench("spin")
cmd = [spin, "--iters", "150000000", "--touch-mb", "16"]
events = "task-clock,page-faults"


def both(fmt):
    """Both tools' -I 100 lines, the workload's own and blank ones left out."""
    keep = lambda t: [l for l in t.splitlines() if not l.startswith("spin:") and l.strip()]
    ours, theirs = stat_both(["-I", "100", "-e", events], fmt, cmd)
    return keep(ours), keep(theirs)


ours, theirs = both([])
print("\n".join(ours))
print("\n".join(theirs))
check(ours[0] == theirs[0], f"title {ours[0]!r} is not perf's {theirs[0]!r}")
line = re.compile(r"^ {0,5}\d+\.\d{9} +\S+ (msec|    ) (\S+) +# +\d.*$")
faults = {"ours": 0, "perf": 0}
times = []
for who, lines in (("ours", ours[1:]), ("perf", theirs[1:])):
    check(len(lines) % 2 == 0, f"{who}: not two events an interval: {lines}")
    for a in lines:
        m = line.match(a)
        check(m, f"{who}: interval line {a!r} is not perf's layout")
        check(a.index("#") == theirs[1].index("#"), f"{who}: metric column in {a!r}")
        check(a.find(".") == theirs[1].find("."), f"{who}: time not in 16 columns: {a!r}")
        if m.group(2) == "page-faults":
            faults[who] += int(a.split()[1].replace(",", ""))
    if who == "ours":
        times = [float(l.split()[0]) for l in lines[::2]]
print(f"intervals: {len(ours) // 2} ours, {len(theirs) // 2} perf's; faults {faults}")
# Intervals end on a fixed schedule (k * 100 ms, no drift), the last one when the command does.
late = [(t, 0.1 * (k + 1)) for k, t in enumerate(times[:-1]) if abs(t - 0.1 * (k + 1)) > 0.05]
check(not late, f"intervals off their 100 ms schedule (time, due): {late}")
check(times[-1] - (times[-2] if len(times) > 1 else 0) <= 0.15, f"the last interval: {times}")
check(faults["ours"] > 16 * 256, f"page faults {faults['ours']}: 16 MiB touched were not counted")
check(abs(faults["ours"] - faults["perf"]) / faults["perf"] < 0.02,
      f"page faults over the intervals {faults['ours']} vs perf's {faults['perf']}")

# -x: time, value, unit, event, runtime, percent running, metric, metric unit.
ours, theirs = both(["-x", ","])
for o in ours:
    f = o.split(",")
    check(len(f) == len(theirs[0].split(",")), f"-x fields {f} vs perf's {theirs[0]}")
    check(re.fullmatch(r" *\d+\.\d{9}", f[0]) and len(f[0]) == 16, f"-x time field {f[0]!r}")

# -j: "interval" first, then perf's keys.
ours, theirs = both(["-j"])
oj, tj = json.loads(ours[0]), json.loads(theirs[0])
check(list(oj) == list(tj), f"-j keys {list(oj)} vs perf's {list(tj)}")

# -o FILE: the same lines, in the file.
path = os.path.join(tempfile.mkdtemp(), "ticks.csv")
r = run([PMUPROF, "stat", "-I", "100", "-x", ",", "-o", path, "-e", events, "--"] + cmd)
check(r.returncode == 0, f"-o failed: {r.stderr}")
rows = csv_rows(open(path).read())
check(len(rows) >= 4 and all(len(f) == 8 for f in rows), f"-o {path}: {rows}")

for args, want in ((["-I", "5", "true"], "-I 5"), (["-I", "100", "-r", "2", "true"], "-r and -I")):
    r = run([PMUPROF, "stat"] + args)
    check(r.returncode == 2, f"stat {args}: exit {r.returncode}, want 2")
    check(want in r.stderr and len(r.stderr.strip().splitlines()) == 1, f"stat {args}: {r.stderr!r}")
print("ok")
