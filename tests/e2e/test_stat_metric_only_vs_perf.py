"""stat --metric-only against perf stat --metric-only on software events, on any host: perf
leaves out rates per second and CPUs utilized, so both print the header and the value line
empty, and the same lines around them, in the human, -x and -j layouts; with -r it is refused
as perf refuses it (exit 2, one line). The metrics themselves are compared with perf's in the
arm64 lab (lab.arm64_stat_metrics) and in tests/unit/test_metrics.c."""
from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")

events = "task-clock,page-faults,context-switches"
for fmt in ([], ["-x", ","], ["-j"]):
    r1 = run([PMUPROF, "stat", "--metric-only"] + fmt + ["-e", events, "--", "true"])
    check(r1.returncode == 0, f"pmuprof stat --metric-only {fmt} failed: {r1.stderr}")
    r2 = run(["perf", "stat", "--metric-only"] + fmt + ["-e", events, "--", "true"])
    check(r2.returncode == 0, f"perf stat --metric-only {fmt} failed: {r2.stderr}")
    keep = lambda t: [l for l in t.splitlines() if "seconds" not in l]
    print(r1.stderr)
    check(keep(r1.stderr) == keep(r2.stderr),
          f"--metric-only {fmt}: {keep(r1.stderr)} vs perf's {keep(r2.stderr)}")
    check(" # " not in r1.stderr and "counter-value" not in r1.stderr, f"counts printed: {r1.stderr}")
r = run([PMUPROF, "stat", "--metric-only", "-r", "2", "true"])
check(r.returncode == 2 and "not supported with -r" in r.stderr and
      len(r.stderr.strip().splitlines()) == 1, f"--metric-only -r 2: {r.returncode} {r.stderr!r}")
print("ok")
