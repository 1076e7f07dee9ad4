"""stat --compare A.json B.json, benchstat-style over stat -j results: files with known runs
give Welch's p-value worked by hand and "~" when p > 0.05; -r 5 results of bench/spin touching
16 and 32 MiB give about 4096 more page faults with p < 0.05; the same run twice gives "~"; perf's own
-j output (one run) is read; a missing file, a file that is not stat's JSON, results with
different events and a single file each get one line and a non-zero exit."""
import os
import re
import tempfile

from common import *

tmp = tempfile.mkdtemp()


def write(name, lines):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    return path


def line(event, runs, unit=""):
    mean = sum(runs) / len(runs)
    vals = ", ".join(f"{v:f}" for v in runs)
    return (f'{{"counter-value" : "{mean:f}", "unit" : "{unit}", "event" : "{event}", '
            f'"variance" : 0.00, "event-runtime" : 1000, "pcnt-running" : 100.00, '
            f'"run-values" : [{vals}]}}')


def compare(a, b):
    r = run([PMUPROF, "stat", "--compare", a, b])
    print(r.stdout + r.stderr)
    return r


def row(out, event):
    for l in out.splitlines():
        if l.split() and l.split()[0] == event:
            return l
    fail(f"no row for {event} in:\n{out}")


# Known runs: means 3 and 6, variances 2.5 and 10 (Welch: t = -1.897, df = 5.88, p = 0.1075);
# 10 +- 0.1 against 20 +- 0.1 is certainly different.
a = write("a.json", [line("page-faults", [1, 2, 3, 4, 5]), line("faults", [10, 10.1, 9.9])])
b = write("b.json", [line("page-faults", [2, 4, 6, 8, 10]), line("faults", [20, 20.1, 19.9])])
r = compare(a, b)
check(r.returncode == 0, f"--compare failed: {r.stderr}")
l = row(r.stdout, "page-faults")
check(re.search(r"\s~\s+\(p=0\.108 n=5\+5\)$", l), f"not '~ (p=0.108 n=5+5)': {l!r}")
check("3.00 +- 23.57%" in l and "6.00 +- 23.57%" in l, f"means +- perf's percent (sqrt(2.5 / 5) / 3): {l!r}")
l = row(r.stdout, "faults")
check(re.search(r"\+100\.00%\s+\(p=0\.000 n=3\+3\)$", l), f"not '+100.00% (p=0.000)': {l!r}")

# Real runs.
spin = bench("spin")
events = "task-clock,page-faults"


def stat_json(name, mb, extra=("-r", "5")):
    path = os.path.join(tmp, name)
    r = run([PMUPROF, "stat", *extra, "-j", "-o", path, "-e", events, "--", spin, "--iters",
             "1000000", "--touch-mb", str(mb)])
    check(r.returncode == 0, f"stat -j -o failed: {r.stderr}")
    return path


small, big = stat_json("16.json", 16), stat_json("32.json", 32)
r = compare(small, big)
check(r.returncode == 0, f"--compare failed: {r.stderr}")
l = row(r.stdout, "page-faults")
m = re.search(r"^\S+\s+(\d+) \+- \S+\s+(\d+) \+- \S+\s+\+\d+\.\d\d%\s+\(p=(\d\.\d+) n=5\+5\)$", l)
# 16 MiB more touched: about 4096 more faults (a sanitizer's shadow memory adds some)
check(m and 0.98 * 4096 <= int(m.group(2)) - int(m.group(1)) < 1.5 * 4096 and float(m.group(3)) < 0.05,
      f"32 MiB against 16 MiB: not about 4096 more page faults with p < 0.05: {l!r}")
r = compare(small, small)
check(re.search(r"\s~\s+\(p=1\.000 n=5\+5\)$", row(r.stdout, "page-faults")),
      "a result against itself is not '~ (p=1.000)'")

# One run (no test), and perf's own -j file.
one = stat_json("one.json", 16, extra=())
r = compare(one, small)
check(r.returncode == 0 and "a test needs -r 2 or more" in row(r.stdout, "page-faults"),
      "one run against five is not flagged as untestable")
if have_perf():
    pj = os.path.join(tmp, "perf.json")
    p = run(["perf", "stat", "-j", "-o", pj, "-e", events, "--", spin, "--iters", "1000000",
             "--touch-mb", "16"])
    check(p.returncode == 0, f"perf stat -j failed: {p.stderr}")
    r = compare(pj, small)
    check(r.returncode == 0, f"perf's -j output is not read: {r.stderr}")
    row(r.stdout, "page-faults")

# Bad input: one line naming the cause, non-zero exit (2 for the flag's misuse).
other = write("other.json", [line("minor-faults", [1, 2])])
notjson = write("notjson.json", ["page-faults 42"])
for args, code, want in (([small, os.path.join(tmp, "missing.json")], 1, "cannot read"),
                         ([notjson, small], 1, "is not stat's JSON"),
                         ([other, small], 1, "different events"),
                         ([small], 2, "takes two files")):
    r = run([PMUPROF, "stat", "--compare"] + args)
    check(r.returncode == code, f"--compare {args}: exit {r.returncode}, want {code}")
    check(want in r.stderr and len(r.stderr.strip().splitlines()) == 1,
          f"--compare {args}: {r.stderr!r}")
print("ok")
