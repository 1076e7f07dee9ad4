"""The counting spine through software events, on any host: page faults of a
deterministic workload (bench/spin touching 64 MiB, its threads and a forked
child included) agree with perf stat within 1 %."""
from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")

spin = bench("spin")
# The shell forks two workloads: counting must follow children (inherit).
cmd = ["sh", "-c", f"{spin} --iters 1000000 --touch-mb 64 & {spin} --iters 1000000 --touch-mb 32; wait"]
events = "page-faults,minor-faults,task-clock"
ours, theirs = [], []
for _ in range(3):
    r = run([PMUPROF, "stat", "-x", ",", "-e", events, "--"] + cmd)
    check(r.returncode == 0, f"pmuprof failed: {r.stderr}")
    ours.append(stat_values(r.stderr))
    r = run(["perf", "stat", "-x", ",", "-e", events, "--"] + cmd)
    check(r.returncode == 0, f"perf failed: {r.stderr}")
    theirs.append(stat_values(r.stderr))
for ev in ("page-faults", "minor-faults"):
    a = sorted(o[ev] for o in ours)[1]
    b = sorted(t[ev] for t in theirs)[1]
    diff = abs(a - b) / b
    print(f"{ev}: pmuprof={a:.0f} perf={b:.0f} diff={diff * 100:.3f}%")
    check(diff < 0.01, f"{ev} differs by {diff * 100:.2f}% (limit 1%)")
    # 96 MiB touched in 4 KiB pages: both children were counted.
    check(a > 96 * 256, f"{ev}={a:.0f}: the forked children were not all counted")
check(all(o["task-clock"] > 0 for o in ours), "task-clock did not count")
