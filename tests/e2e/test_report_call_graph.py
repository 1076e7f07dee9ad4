"""pmuprof report on a perf.data recorded with call graphs (perf record -g on bench/mix)
shows perf's Children and Self columns by default, sorted by children, and one Overhead
column with --no-children; each row's shares and its [k]/[.] marker are perf report
--stdio's, within 0.5 points. Time events print in ms/s, and no per-1k ratio relates a
count to a time. -g caller|callee[,THRESHOLD] prints each row's call graph as perf's text
tree: every branch perf shows at 1 % or more is in pmuprof's tree under the same row with
its share of the total within 0.5 points, and the other way round; branches below the
threshold are hidden; a bare -g is graph,0.5,caller and -g none prints no tree; a bad -g
(and fractal, flat, address: not supported) says what it takes."""
import os
import re

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no perf.data to report on and no oracle")

# A sanitized build's unoptimized workload has inline frames perf report never makes rows
# of (pmuprof does), and the sanitizer runtime's frames are named apart: there, only rows
# both name are compared.
SANITIZED = bool(os.environ.get("PMUPROF_SANITIZED"))
CLOCK, FAULTS = "cpu-clock/period=250000/", "page-faults/period=10/"
data = perf_record_workload(["-g", "-e", f"{CLOCK},{FAULTS}"], [bench("mix")])


def table(text, event):
    """The rows of one event's table: {symbol with its marker: [percent, ...]}."""
    rows, this = {}, None
    for line in text.splitlines():
        e = re.match(r"^# Samples(?: of|:.* of event) '(.*?)'", line)
        if e:
            this = e.group(1)
        m = re.match(r"^\s+([\d.]+)%(?:\s+([\d.]+)%)?.*?(\[[.k]\] .*?)\s*$", line)
        if m and this == event:
            rows[m.group(3)] = [float(x) for x in m.groups()[:2] if x is not None]
    check(rows, f"no rows of {event} in:\n{text}")
    return rows


def compare(children, event):
    flag = "--children" if children else "--no-children"
    p = run(["perf", "report", "-i", data, "--stdio", flag, "-g", "none", "--sort", "sym",
             "--percent-limit", "0"], timeout=300)
    check(p.returncode == 0, f"perf report {flag} failed: {p.stderr}")
    args = ([flag] if not children else []) + ["-e", event]  # children is the default with -g
    o = run([PMUPROF, "report", data, "--top", "100000"] + args, timeout=300)
    check(o.returncode == 0, f"pmuprof report {args} failed: {o.stderr}")
    theirs, mine = table(p.stdout, event), table(o.stdout, event)
    for key in set(theirs) | set(mine):
        if SANITIZED and (key not in theirs or key not in mine):
            continue
        ncol = 2 if children else 1
        a, b = mine.get(key, [0.0] * ncol), theirs.get(key, [0.0] * ncol)
        check(len(a) == ncol, f"{args}: row {key} has columns {a}")
        check(all(abs(x - y) <= 0.5 for x, y in zip(a, b)),
              f"{args} row {key}: pmuprof {a}, perf {b}\n{o.stdout}")
    return o.stdout, mine


out, rows = compare(True, CLOCK)
check("# Children      Self" in out, f"no Children/Self header:\n{out}")
top = max(rows.items(), key=lambda kv: kv[1][0])
check(top[1][1] < 1.0 and top[0].startswith("[.] "), f"the top row is not a caller: {top}")
check(any(k.startswith("[k] ") for k in rows), f"no kernel row marked [k]:\n{out}")
check(rows.get("[.] mix_chase", [0])[0] > 10, f"mix_chase has no row:\n{out}")
compare(True, FAULTS)
out, _ = compare(False, CLOCK)
check("# Overhead" in out and "Children" not in out, f"--no-children's header:\n{out}")
compare(False, FAULTS)

# Human units: cpu-clock in ms or s, page-faults as counts (K/M/G); no count per 1k of a time.
line = next(l for l in out.splitlines() if "[.] mix_chase" in l)
check(re.search(r"\s\d+\.\d\d(ms|s)\s", line), f"cpu-clock is not in ms/s: {line!r}")
check("/1k" not in out, f"a ratio per 1k of a time event:\n{out}")
print("ok: --children (default with -g) and --no-children rows, [k]/[.] markers match perf "
      "report within 0.5 points; cpu-clock in ms/s")


def trees(text):
    """{row's symbol: [(branch name, percent)]} of the call graphs of a report's first table."""
    out, row, share = {}, None, None
    first = text.split("# Samples")
    for line in "# Samples".join(first[:2]).splitlines():
        m = re.match(r"^\s+[\d.]+%.*\[[.k]\] (\S+)\s*$", line)
        if m:
            row, share = m.group(1), None
            out[row] = []
            continue
        b = re.search(r"--([\d.]+)%--(\S+)\s*$", line)
        if b and row:
            share = float(b.group(1))
            out[row].append((b.group(2), share))
            continue
        # A chain's next frame (a bare name) carries its branch's share: perf and pmuprof
        # may print a frame as either when a branch below the threshold is hidden.
        c = re.match(r"^[\s|]+([^\s|-]\S*)\s*$", line)
        if c and row and share is not None:
            out[row].append((c.group(1), share))
        elif "---" in line:
            share = None
    return out


def compare_trees(children, order, top=6, mode="graph"):
    flag = "--children" if children else "--no-children"
    p = run(["perf", "report", "-i", data, "--stdio", flag, "--sort", "sym", "-g",
             f"{mode},0.5,{order}"], timeout=300)
    check(p.returncode == 0, f"perf report -g {order} failed: {p.stderr}")
    spec = order if mode == "graph" else f"{mode},{order}"
    o = run([PMUPROF, "report", data, flag, "-e", CLOCK, "-g", spec, "--top", str(top)],
            timeout=300)
    check(o.returncode == 0, f"pmuprof report -g {order} failed: {o.stderr}")
    theirs, mine = trees(p.stdout), trees(o.stdout)
    check(len(mine) == top, f"{flag} -g {order}: {len(mine)} rows:\n{o.stdout}")
    branches = 0
    for sym, ours in mine.items():
        if SANITIZED and sym not in theirs:
            continue
        for a, b in ((ours, theirs.get(sym, [])), (theirs.get(sym, []), ours)):
            for name, share in a:
                if share < 1.0:
                    continue  # near the threshold, one side may round below it
                if SANITIZED and name not in {n for n, _ in b}:
                    continue
                near = [s for n, s in b if n == name and abs(s - share) <= 0.5]
                check(near, f"{flag} -g {order}, row {sym}: branch {name} {share}% is not in "
                      f"the other tree {b}\npmuprof:\n{o.stdout}")
                branches += 1
    check(branches, f"{flag} -g {order}: no branch of 1 % or more to compare:\n{o.stdout}")
    return o.stdout


compare_trees(False, "callee")
out = compare_trees(True, "caller")
check(re.search(r"^\s+\|--[\d.]+%--mix_chase$", out, re.M), f"no mix_chase branch:\n{out}")
compare_trees(True, "callee", top=4, mode="graph")

# perf's other spellings: a bare -g is graph,0.5,caller; -g none prints no tree.
bare = run([PMUPROF, "report", data, "-e", CLOCK, "-g", "--top", "6"], timeout=300)
caller = run([PMUPROF, "report", data, "-e", CLOCK, "-g", "caller", "--top", "6"], timeout=300)
check(bare.returncode == 0 and bare.stdout == caller.stdout,
      f"a bare -g is not -g caller: {bare.stderr}")
after = run([PMUPROF, "report", "-g", data, "-e", CLOCK, "--top", "6"], timeout=300)
check(after.returncode == 0 and after.stdout == caller.stdout,
      f"-g before the profile's name: {after.stderr}")
none = run([PMUPROF, "report", data, "-e", CLOCK, "-g", "none", "--top", "6"], timeout=300)
check(none.returncode == 0 and "--" not in none.stdout.split("#\n", 2)[-1]
      and "[.] " in none.stdout, f"-g none prints a tree:\n{none.stdout}")

r = run([PMUPROF, "report", data, "-e", CLOCK, "-g", "caller,5"], timeout=300)
check(r.returncode == 0, r.stderr)
small = [float(x) for x in re.findall(r"--([\d.]+)%--", r.stdout) if float(x) < 5]
check(re.search(r"--[\d.]+%--", r.stdout) and not small, f"-g caller,5 shows {small}")
for bad in ("sideways", "caller,x", "callee,200", "flat", "fractal", "address"):
    r = run([PMUPROF, "report", data, "-g", bad], timeout=60)
    check(r.returncode == 1 and r.stderr.count("\n") == 1 and f"-g" in r.stderr
          and bad in r.stderr, f"-g {bad}: rc {r.returncode}, {r.stderr!r}")
print("ok: -g callee (--no-children) and -g caller (--children) trees match perf report's "
      "branches within 0.5 points; -g caller,5 hides branches below 5 %")
