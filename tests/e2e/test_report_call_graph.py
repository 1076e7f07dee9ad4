"""pmuprof report -g caller|callee[,THRESHOLD] prints each row's call graph as perf
report's text tree: on the same perf.data (perf record -g on bench/mix), every branch
perf report --stdio -g shows at 1 % or more is in pmuprof's tree under the same row with
its share of the total within 0.5 points, and the other way round; branches below the
threshold are hidden; a bad -g says what it takes."""
import os
import re
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no perf.data to report on and no oracle")

d = tempfile.mkdtemp()
data = os.path.join(d, "mix.data")
r = run(["perf", "record", "-q", "-g", "-e", "cpu-clock", "-c", "250000", "-o", data, "--",
         bench("mix")], timeout=300)
check(r.returncode == 0, f"perf record -g failed: {r.stderr}")


def trees(text):
    """{row's symbol: sorted [(branch name, percent)]} of a report's call graphs."""
    out, row = {}, None
    for line in text.splitlines():
        m = re.match(r"^\s+[\d.]+%.*\[[.k]\] (\S+)\s*$", line)
        if m:
            row = m.group(1)
            out[row] = []
            continue
        b = re.search(r"--([\d.]+)%--(\S+)\s*$", line)
        if b and row:
            out[row].append((b.group(2), float(b.group(1))))
    return out


def compare(children, order, top=6):
    flag = "--children" if children else "--no-children"
    p = run(["perf", "report", "-i", data, "--stdio", flag, "--sort", "sym", "-g",
             f"{order},0.5"], timeout=300)
    check(p.returncode == 0, f"perf report -g {order} failed: {p.stderr}")
    o = run([PMUPROF, "report", data, flag, "-g", order, "--top", str(top)], timeout=300)
    check(o.returncode == 0, f"pmuprof report -g {order} failed: {o.stderr}")
    theirs, mine = trees(p.stdout), trees(o.stdout)
    check(len(mine) == top, f"{flag} -g {order}: {len(mine)} rows:\n{o.stdout}")
    branches = 0
    for sym, ours in mine.items():
        for a, b in ((ours, theirs.get(sym, [])), (theirs.get(sym, []), ours)):
            for name, share in a:
                if share < 1.0:
                    continue  # near the threshold, one side may round below it
                near = [s for n, s in b if n == name and abs(s - share) <= 0.5]
                check(near, f"{flag} -g {order}, row {sym}: branch {name} {share}% is not in "
                      f"the other tree {b}\npmuprof:\n{o.stdout}")
                branches += 1
    check(branches, f"{flag} -g {order}: no branch of 1 % or more to compare:\n{o.stdout}")
    return o.stdout


compare(False, "callee")
out = compare(True, "caller")
check(re.search(r"^\s+\|--[\d.]+%--mix_chase$", out, re.M), f"no mix_chase branch:\n{out}")

r = run([PMUPROF, "report", data, "-g", "caller,5"], timeout=300)
check(r.returncode == 0, r.stderr)
small = [float(x) for x in re.findall(r"--([\d.]+)%--", r.stdout) if float(x) < 5]
check(re.search(r"--[\d.]+%--", r.stdout) and not small, f"-g caller,5 shows {small}")
for bad in ("sideways", "caller,x", "callee,200"):
    r = run([PMUPROF, "report", data, "-g", bad], timeout=60)
    check(r.returncode == 1 and r.stderr.count("\n") == 1 and "caller or callee" in r.stderr,
          f"-g {bad}: rc {r.returncode}, {r.stderr!r}")
print("ok: -g callee (--no-children) and -g caller (--children) trees match perf report's "
      "branches within 0.5 points; -g caller,5 hides branches below 5 %")
