"""pmuprof diff BASELINE FILE against perf diff on the same two perf.data files: bench/mix,
then bench/mix with four times the branchy phase. Every row's baseline share and delta are perf
diff's within 0.5 points; mix_branchy grew and mix_chase shrank, as the workloads say. A
profile against itself is all zeros (per function and per stack), the pprofs of the same
runs give the same table as the perf.data files, -s stack compares whole stacks, and
--folded writes "stack BASELINE NEW" lines whose sums are the two totals. Bad input: one
profile, a missing file, -g, no event in common."""
import os
import re
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no perf.data to diff and no oracle")

# A sanitized build's unoptimized workload has inline frames perf never makes rows of (pmuprof
# does): there, only rows both name are compared.
SANITIZED = bool(os.environ.get("PMUPROF_SANITIZED"))
CLOCK = "cpu-clock/period=250000/"
d = tempfile.mkdtemp(prefix="pmuprof-diff-")
base = perf_record_workload(["-g", "-e", CLOCK], [bench("mix")])
new = perf_record_workload(["-g", "-e", CLOCK], [bench("mix"), "--branchy", "4"])


def perf_diff(a, b):
    """perf diff's rows: {(dso, sym): (baseline %, delta points)}."""
    r = run(["perf", "diff", a, b], timeout=300)
    check(r.returncode == 0, f"perf diff failed: {r.stderr}")
    rows = {}
    for line in r.stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"^\s*(?:([\d.]+)%)?\s+(?:([+-][\d.]+)%)?\s+(\S+)\s+(\[[.k]\] .*?)\s*$",
                     line)
        check(m, f"perf diff line not understood: {line!r}")
        base_pct = float(m.group(1) or 0)
        delta = float(m.group(2)) if m.group(2) else (-base_pct if m.group(1) else 0.0)
        rows[(m.group(3), m.group(4))] = (base_pct, delta)
    check(rows, f"no rows in perf diff:\n{r.stdout}")
    return rows


def ours(a, b, args=()):
    """pmuprof diff's rows: {key tuple: (baseline %, new %, delta, ratio)} and its stdout."""
    r = run([PMUPROF, "diff", a, b, "--top", "100000"] + list(args), timeout=300)
    check(r.returncode == 0, f"pmuprof diff {args} failed: {r.stderr}")
    rows = {}
    for line in r.stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"^\s*(?:([\d.]+)%)?\s+([\d.]+)%\s+([+-][\d.]+)%\s+(\S+)  (.*)$", line)
        check(m, f"pmuprof diff line not understood: {line!r}")
        key = tuple(re.split(r"\s{2,}", m.group(5).strip()))
        rows[key] = (float(m.group(1) or 0), float(m.group(2)), float(m.group(3)), m.group(4))
    check(rows, f"no rows in pmuprof diff {args}:\n{r.stdout}")
    return rows, r.stdout


# Per function, against perf diff.
mine, text = ours(base, new)
print(text[:1500])
theirs = perf_diff(base, new)
compared = 0
for key in set(mine) | set(theirs):
    if SANITIZED and (key not in theirs or key not in mine):
        continue
    b0, _, d0, _ = mine.get(key, (0.0, 0.0, 0.0, ""))
    b1, d1 = theirs.get(key, (0.0, 0.0))
    check(abs(b0 - b1) <= 0.5 and abs(d0 - d1) <= 0.5,
          f"row {key}: pmuprof baseline {b0}% delta {d0:+}, perf diff {b1}% {d1:+}")
    compared += 1
# The known answer: the branchy phase did four times the work, so its share grew and the other
# phases' shares (each alone may wobble with the machine's load) shrank by as much together.
branchy = mine[("mix", "[.] mix_branchy")]
others = sum(v[2] for k, v in mine.items() if k[0] == "mix" and k[1] != "[.] mix_branchy")
check(branchy[2] > 5 and float(branchy[3]) > 1.1, f"mix_branchy did not grow: {branchy}")
check(others < -0.5 * branchy[2], f"the other phases did not shrink: {others:+.2f} points")
chase = mine[("mix", "[.] mix_chase")]
check(list(mine)[0] == ("mix", "[.] mix_branchy"), f"the largest change is not first: {list(mine)[:3]}")
print(f"{compared} rows within 0.5 points of perf diff; mix_branchy {branchy}, mix_chase {chase}")

# --no-inline: functions only, as perf names them: every row of the workload's own is a row
# of perf diff's (a library's static functions may be named apart by the two symbolizers).
plain, _ = ours(base, new, ["--no-inline"])
extra = {k for k in set(plain) - set(theirs) if k[0] == "mix"}
check(SANITIZED or not extra, f"--no-inline rows perf diff does not have: {extra}")
for key in set(plain) & set(theirs):
    check(abs(plain[key][0] - theirs[key][0]) <= 0.5 and abs(plain[key][2] - theirs[key][1]) <= 0.5,
          f"--no-inline row {key}: pmuprof {plain[key]}, perf diff {theirs[key]}")

# A profile against itself: all zeros, per function and per stack.
for args in ([], ["-s", "stack"], ["-s", "comm,tid"]):
    same, _ = ours(base, base, args)
    bad = {k: v for k, v in same.items() if v[2] != 0.0 or v[3] != "1.000" or v[0] != v[1]}
    check(not bad, f"self-diff {args} is not all zeros: {bad}")
print(f"self-diff: {len(same)} rows, all +0.00% and 1.000")

# The pprofs of the same runs (import) give the same table; perf.data and pprof mix too.
pa, pb = os.path.join(d, "base.pb.gz"), os.path.join(d, "new.pb.gz")
for src, dst in ((base, pa), (new, pb)):
    r = run([PMUPROF, "import", src, "-o", dst], timeout=300)
    check(r.returncode == 0, f"import {src}: {r.stderr}")
from_pprof, _ = ours(pa, pb)
mixed, _ = ours(pa, new)
check(from_pprof == mine and mixed == mine,
      f"pprof inputs differ from perf.data inputs:\n{from_pprof}\n{mixed}\n{mine}")

# Whole stacks: the stack through mix_branchy grew.
stacks, _ = ours(base, new, ["-s", "stack"])
grown = [k for k, v in stacks.items() if k[0].endswith(";mix_branchy") and v[2] > 5]
check(grown, f"no stack ending in mix_branchy grew: {list(stacks.items())[:5]}")
print(f"per stack: {len(stacks)} rows; grown: {grown[0]}")

# Folded, both values: each line's two numbers; their sums are the two totals.
r = run([PMUPROF, "diff", base, new, "--folded"], timeout=300)
check(r.returncode == 0, f"diff --folded: {r.stderr}")
sums = [0, 0]
for line in r.stdout.splitlines():
    m = re.match(r"^(\S.*) (\d+) (\d+)$", line)
    check(m, f"folded diff line: {line!r}")
    sums[0] += int(m.group(2))
    sums[1] += int(m.group(3))
totals = re.search(r"baseline total ([\d.]+)(m?s), new total ([\d.]+)(m?s)", text)
check(totals, f"no totals line:\n{text[:600]}")


def ns(v, unit):
    return float(v) * (1e6 if unit == "ms" else 1e9)


check(abs(sums[0] - ns(*totals.group(1, 2))) <= 0.01 * sums[0] and
      abs(sums[1] - ns(*totals.group(3, 4))) <= 0.01 * sums[1],
      f"folded sums {sums} against the totals {totals.group(0)}")

# Bad input: one line each, non-zero exit. A recording of another event shares only the
# sample count, which counts different events: no diff of it, in a table or a view.
faults = os.path.join(d, "faults.pb.gz")
r = run([PMUPROF, "record", "-e", "page-faults", "-o", faults, "--", bench("mix"), "--scale",
         "0.1"], timeout=300)
check(r.returncode == 0, f"record -e page-faults: {r.stderr}")
for args, want in (([pa, faults], "have no event in common"),
                   ([pa, faults, "-e", "samples"], "-e samples: the samples of"),
                   ([pa, faults, "--folded"], "have no event in common"),
                   ([base, new, "--folded", "--top", "3"], "--top shapes the table"),
                   ([base, new, "--flamegraph", os.path.join(d, "x.html"), "--comm", "mix"],
                    "--comm/--pid/--tid shapes the table"),
                   ([base, new, "--pid", "abc"], "--pid needs a comma list"),
                   ([base], "two profiles needed"),
                   ([base, os.path.join(d, "missing.pb.gz")], "missing.pb.gz"),
                   ([base, new, "-g", "caller"], "diff compares self shares"),
                   ([base, new, "-e", "page-faults"], "not in both profiles")):
    r = run([PMUPROF, "diff"] + args)
    check(r.returncode != 0 and want in r.stderr and len(r.stderr.strip().splitlines()) == 1,
          f"diff {args}: exit {r.returncode}, {r.stderr!r}")
# An output refused for being an input leaves nothing behind.
r = run([PMUPROF, "diff", pa, pb, "--folded", "-o", pa])
check(r.returncode == 2 and not [f for f in os.listdir(d) if ".tmp." in f],
      f"-o onto the baseline: {r.stderr!r}, {os.listdir(d)}")
print("ok")
