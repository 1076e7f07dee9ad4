"""stat -r N against perf stat -r N on the same deterministic workload (bench/spin touching a
fixed number of pages): the same layout line by line (header with "(N runs)", each count's
"( +- x.xx% )" column, the elapsed line with its own +-), the same fields with -x and -j
(the variance after the event), and page-fault means within 2 %; bad -r values exit 2."""
import json
import re

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")

spin = bench("spin")
cmd = [spin, "--iters", "1000000", "--touch-mb", "16"]
events = "task-clock,page-faults,context-switches"


# Human layout.
ours, theirs = stat_both(["-r", "5", "-e", events], [], cmd)
print(ours)
print(theirs)
ol, tl = ours.rstrip().splitlines(), theirs.rstrip().splitlines()
check(len(ol) == len(tl), f"{len(ol)} lines, perf prints {len(tl)}")
elapsed = re.compile(r"^ +\d+\.\d+ \+- \d+\.\d+ seconds time elapsed  \( \+- *\d+\.\d\d% \)$")
means = {}
for a, b in zip(ol, tl):
    if "seconds time elapsed" in b:
        check(elapsed.match(b), f"perf's elapsed line unexpected: {b!r}")
        check(elapsed.match(a), f"elapsed line {a!r} is not perf's {b!r}")
        # the same precision rule: as many decimals in the mean as in its error
        da = [len(x.split(".")[1]) for x in a.split()[:3:2]]
        check(da[0] == da[1], f"elapsed mean and error differ in precision: {a!r}")
        continue
    if not b.strip() or "Performance counter stats" in b:
        check(a == b, f"line {a!r} differs from perf's {b!r}")
        continue
    fa, fb = a.split(), b.split()
    ev = fb[1] if fb[1] != "msec" else fb[2]
    check(ev in fa, f"event {ev} missing from {a!r}")
    check(a.index("#") == b.index("#"), f"metric column differs: {a!r} vs {b!r}")
    if ev != "context-switches":  # a few switches or none: the +- may be printed or not
        check("( +-" in a and a.index("( +-") == b.index("( +-"),
              f"variance column differs: {a!r} vs {b!r}")
        check(re.search(r"\( \+- *\d+\.\d\d% \)$", a), f"variance not as perf's: {a!r}")
    means[ev] = (float(fa[0].replace(",", "")), float(fb[0].replace(",", "")))
a, b = means["page-faults"]
print(f"page-faults mean: pmuprof={a:.0f} perf={b:.0f}")
check(a > 16 * 256, f"page-faults {a:.0f}: the 16 MiB touched were not counted")
check(abs(a - b) / b < 0.02, f"page-faults mean {a:.0f} vs perf's {b:.0f} (limit 2%)")
check(means["task-clock"][0] > 0, "task-clock did not count")

# -x: value, unit, event, variance, runtime, percent running, metric, metric unit.
ours, theirs = stat_both(["-r", "5", "-e", events], ["-x", ","], cmd)
orows, trows = csv_rows(ours), csv_rows(theirs)
check([r[2] for r in orows] == [r[2] for r in trows], f"-x rows differ: {orows} vs {trows}")
for o, t in zip(orows, trows):
    check(len(o) == len(t), f"-x fields {o} vs perf's {t}")
    check(re.fullmatch(r"\d+\.\d\d%", o[3]), f"-x variance field {o[3]!r} is not perf's")

# -j: perf's keys, "variance" after "event".
ours, theirs = stat_both(["-r", "5", "-e", events], ["-j"], cmd)
oj = [json.loads(l) for l in ours.splitlines() if l.startswith("{")]
tj = [json.loads(l) for l in theirs.splitlines() if l.startswith("{")]
check(len(oj) == len(tj), f"-j lines {len(oj)} vs perf's {len(tj)}")
for o, t in zip(oj, tj):
    check(list(o)[:5] == list(t)[:5], f"-j keys {list(o)} vs perf's {list(t)}")
    check(isinstance(o["variance"], float), f"-j variance {o['variance']!r}")

# Bad values: one line, exit 2.
for args, want in ((["-r", "0", "true"], "-r 0"), (["-r", "x", "true"], "-r x"),
                   (["-r", "3", "-a"], "repeats a command")):
    r = run([PMUPROF, "stat"] + args)
    check(r.returncode == 2, f"stat {args}: exit {r.returncode}, want 2")
    check(want in r.stderr and len(r.stderr.strip().splitlines()) == 1,
          f"stat {args}: {r.stderr!r}")
print("ok")
