"""pmuprof report on a perf.data recorded with call graphs (perf record -g) shows perf's
Children and Self columns by default, sorted by children, and one Overhead column with
--no-children; each row's shares and its [k]/[.] marker are perf report --stdio's, within
0.5 points. Time events print in ms/s, and no per-1k ratio relates a count to a time."""
import os
import re
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no perf.data to report on and no oracle")

d = tempfile.mkdtemp()
data = os.path.join(d, "mix.data")
CLOCK, FAULTS = "cpu-clock/period=250000/", "page-faults/period=100/"
r = run(["perf", "record", "-q", "-g", "-e", f"{CLOCK},{FAULTS}", "-o", data, "--",
         bench("mix")], timeout=300)
check(r.returncode == 0, f"perf record -g failed: {r.stderr}")


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
        ncol = 2 if children else 1
        a, b = mine.get(key, [0.0] * ncol), theirs.get(key, [0.0] * ncol)
        check(len(a) == ncol, f"{args}: row {key} has columns {a}")
        check(all(abs(x - y) <= 0.5 for x, y in zip(a, b)),
              f"{args} row {key}: pmuprof {a}, perf {b}\n{o.stdout}")
    return o.stdout, mine


out, rows = compare(True, CLOCK)
check("# Children      Self" in out, f"no Children/Self header:\n{out}")
top = max(rows.items(), key=lambda kv: kv[1][0])
check(top[1][1] == 0.0 and top[0].startswith("[.] "), f"the top row is not a caller: {top}")
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
