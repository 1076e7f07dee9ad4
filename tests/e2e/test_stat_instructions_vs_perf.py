"""Acceptance: `pmuprof stat -e instructions:u` agrees with `perf stat` within 1 %
on a deterministic workload (bench/spin). Needs hardware counters."""
from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")
if not perf_counts("instructions:u"):
    skip(f"`perf stat -e instructions:u true` says not supported here ("
         f"{'a PMU without this event' if host_has_hw_pmu() else 'no hardware PMU'}; the "
         f"software-event spine is tested by test_stat_software_vs_perf)")

spin = [bench("spin"), "--iters", "5000000" if EMULATED else "50000000"]
ours, theirs = [], []
for _ in range(1 if EMULATED else 3):  # alternate the tools so machine noise hits both alike
    r = run([PMUPROF, "stat", "-x", ",", "-e", "instructions:u", "--"] + spin)
    check(r.returncode == 0, f"pmuprof failed: {r.stderr}")
    ours.append(stat_values(r.stderr)["instructions:u"])
    r = run(["perf", "stat", "-x", ",", "-e", "instructions:u", "--"] + spin)
    theirs.append(stat_values(r.stderr)["instructions:u"])
a, b = min(ours), min(theirs)
diff = abs(a - b) / b
print(f"instructions:u pmuprof={a:.0f} perf={b:.0f} diff={diff * 100:.3f}%")
check(diff < 0.01, f"differs by {diff * 100:.2f}% (limit 1%)")
