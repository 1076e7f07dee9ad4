"""Every reader plan (--readers node, l3, cpu, N) drains every ring: in one
run, the samples of a two-thread workload times the period match the CPU
time `perf stat` measures for it (the same-run oracle), whatever the plan
(counting only the workload's own samples)."""
import os
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")
d = tempfile.mkdtemp()
for mode in ("node", "l3", "cpu", "2"):
    out = os.path.join(d, f"readers-{mode}.pb.gz")
    r = run([PMUPROF, "record", "--readers", mode, "-e", "task-clock", "-c", "1000000", "-o", out,
             "--", "perf", "stat", "-x", ",", "-e", "task-clock", "--", bench("falseshare"),
             "--iters", "1200000000"])
    check(r.returncode == 0, f"--readers {mode}: {r.stderr}")
    # Only the workload's samples: perf stat's own few milliseconds are not in its count.
    n = sum(s["values"][0] for s in load_profile(out)["samples"]
            if s["labels"].get("comm") == "falseshare")
    ms = stat_values(r.stderr)["task-clock"]
    diff = abs(n - ms) / ms
    print(f"--readers {mode}: {n} samples of 1 ms in falseshare vs its task-clock {ms:.1f} ms "
          f"({diff * 100:.1f}%)")
    check(diff < 0.05, f"--readers {mode}: samples and CPU time {diff * 100:.1f}% apart")
r = run([PMUPROF, "record", "--readers", "0", "-e", "cpu-clock", "--", "true"])
check(r.returncode == 2 and "readers" in r.stderr, f"--readers 0 accepted: {r.stderr}")
