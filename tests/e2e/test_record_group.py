"""Leader sampling, `-e '{leader,member}:S'`: only the leader samples; at each
sample the group is read and every member's count since the previous sample
is attributed to the leader's stack. The members' totals must then match
what perf stat counts for the same workload."""
import os
import re
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")
spin = [bench("spin"), "--iters", "300000000", "--touch-mb", "128"]
out = os.path.join(tempfile.mkdtemp(), "group.pb.gz")
r = run([PMUPROF, "record", "-e", "{task-clock,page-faults,minor-faults}:S", "-c", "1000000",
         "-o", out, "--"] + spin)
check(r.returncode == 0, r.stderr)
samples = record_samples(r.stderr)
print("summary:", samples)
check(samples["task-clock:S"] > 50, f"the leader did not sample: {samples}")
check("page-faults:S" not in samples and "minor-faults:S" not in samples and
      "(page-faults:S, minor-faults:S read at each)" in r.stderr,
      f"the summary must say the members are read, not sampled: {r.stderr}")

text = pprof_text(out)
strings = re.findall(r'^string_table: "(.*)"$', text, re.M)
types = [strings[int(t)] for t, _ in re.findall(r'sample_type \{\s*type: (\d+)\s*unit: (\d+)', text)]
check(types == ["samples", "task-clock:S", "page-faults:S", "minor-faults:S"], f"types {types}")
totals = [0] * len(types)
for block in re.findall(r"^sample \{(.*?)^\}", text, re.M | re.S):
    for i, v in enumerate(re.findall(r"^\s+value: (-?\d+)", block, re.M)):
        totals[i] += int(v)
print("totals:", dict(zip(types, totals)))
check(totals[0] == samples["task-clock:S"],
      f"members must not sample on their own: {totals[0]} samples, the leader took "
      f"{samples['task-clock:S']}")

p = run(["perf", "stat", "-x", ",", "-e", "page-faults,minor-faults", "--"] + spin)
want = stat_values(p.stderr)
# Counts after the leader's last sample are not attributed (as in perf): allow 2 %.
for ev in ("page-faults", "minor-faults"):
    got = totals[types.index(f"{ev}:S")]
    diff = abs(got - want[ev]) / want[ev]
    print(f"{ev}: group-read total {got} vs perf stat {want[ev]:.0f} ({diff * 100:.2f}%)")
    check(diff < 0.02, f"{ev}: {diff * 100:.1f}% off")

# Two processes at once: inherited counters, one copy per task, all reporting
# the parent's ids; deltas must be taken per task.
two = ["sh", "-c", " & ".join([" ".join(spin)] * 2) + "; wait"]
out2 = os.path.join(os.path.dirname(out), "group2.pb.gz")
r = run([PMUPROF, "record", "-e", "{task-clock,page-faults}:S", "-c", "1000000", "-o", out2, "--"]
        + two)
check(r.returncode == 0, r.stderr)
prof = load_profile(out2)
got = sum(s["values"][2] for s in prof["samples"])
p = run(["perf", "stat", "-x", ",", "-e", "page-faults", "--"] + two)
want2 = stat_values(p.stderr)["page-faults"]
diff = abs(got - want2) / want2
print(f"two processes: page-faults group-read total {got} vs perf stat {want2:.0f} ({diff * 100:.2f}%)")
check(diff < 0.03, f"two processes: {diff * 100:.1f}% off")

# The whole machine (-a): one counter per CPU, not per thread; every task that runs on
# a CPU moves the same counter on, so deltas are taken per counter, whichever thread
# the sample lands in: the leader's read deltas add up to its samples times its period,
# and the members' task-clock to the leader's cpu-clock (both the same CPUs' time).
out3 = os.path.join(os.path.dirname(out), "group3.pb.gz")
r = run([PMUPROF, "record", "-a", "-e", "{cpu-clock,task-clock}:S", "-c", "1000000", "-o", out3,
         "--", "sh", "-c", " & ".join([" ".join(spin)] * 3) + "; wait"])
check(r.returncode == 0, r.stderr)
prof = load_profile(out3)
nsamples = sum(s["values"][0] for s in prof["samples"])
leader = sum(s["values"][1] for s in prof["samples"])
member = sum(s["values"][2] for s in prof["samples"])
tids = len({s["labels"].get("tid") for s in prof["samples"]})
print(f"-a: {tids} threads, {nsamples} samples of 1000000 ns; cpu-clock read at them "
      f"{leader} ns ({leader / (nsamples * 1e6):.3f} of samples x period), task-clock {member} ns")
check(tids > 2, f"-a sampled only {tids} threads")
check(abs(leader - nsamples * 1e6) <= 0.05 * nsamples * 1e6,
      f"-a: the leader's read deltas ({leader} ns) are not its {nsamples} periods of 1 ms")
check(abs(member - leader) <= 0.05 * leader, f"-a: the members' deltas ({member}) are not the "
                                             f"leader's ({leader})")
