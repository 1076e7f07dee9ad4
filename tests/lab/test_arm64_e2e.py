"""The hardware e2e tests (tests/e2e/, which skip on a host without a PMU) run INSIDE the
arm64 guest, against the arm64 build ($PMUPROF_ARM64_BUILD: make arm64), with the guest's
Debian python3 (tests/lab/run's ARM64_USERLAND), in one boot under -icount (so
instructions exists and counts are exact).

Each test must pass there, or skip for a reason that is true of that guest: SKIPS lists
the reasons allowed, each with a check of its truth against what perf or the guest said
in the same boot. Hardware watchpoints fire on QEMU's arm64 (TCG emulates the debug
registers; c2c watch's start-up probe sees its hit), so test_c2c_watch must pass. Any other skip (a module, compiler or program the guest lacks, a
workload not built) fails this test, as does any failure.

Not run here, as their hardware part needs what the guest cannot give in this test's
time: test_record_vs_perf (6 runs of spin --iters 2e9), test_record_pprof (go's pprof,
not in the guest)."""
import os
import re
import time

from lab import HERE, check, guest, sections, skip

ROOT = os.path.realpath(os.path.join(HERE, "..", ".."))
B = os.path.realpath(os.environ.get("PMUPROF_ARM64_BUILD", os.path.join(ROOT, "build", "arm64")))
if not os.access(os.path.join(B, "cli", "pmuprof"), os.X_OK):
    skip(f"no arm64 build in {B} (make arm64 builds it; or set PMUPROF_ARM64_BUILD)")

# The e2e tests that skip on a host without a PMU, and those whose checks change with one.
TESTS = ["test_stat_instructions_vs_perf", "test_harness_acceptance_hw", "test_record_mix_hw",
         "test_sharing_preset_hw", "test_c2c_watch", "test_stat_formats", "test_list",
         "test_stat_errors", "test_stat_unsupported"]
# Events whose support perf reports in the same boot (the oracle of the skips' reasons).
PERF_EVENTS = ["cycles:u", "instructions:u", "cache-misses", "branch-misses"]


def unsupported(perf, event):
    return perf.get(event) in (None, "<not supported>", "<not counted>")


# {test: (text its skip reason must contain, check of its truth: perf's counts -> bool,
#  what makes it true)}.
SKIPS = {
    "test_record_mix_hw": (
        "cannot count cache-misses",
        lambda perf: unsupported(perf, "cache-misses"),
        "perf stat -e cache-misses says <not supported> in the guest: QEMU's PMUv3 "
        "implements no cache refill event"),
    "test_sharing_preset_hw": (
        "this CPU is not in the -e sharing table",
        lambda perf: True,
        "QEMU's virt CPU is not a CPU with known coherence events (docs/cache-events.md)"),
    "test_stat_unsupported": (
        "this host counts cycles",
        lambda perf: not unsupported(perf, "cycles:u"),
        "perf stat counts cycles:u in the guest"),
}

script = f"""
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PMUPROF_TEST_EMULATED=1 PMUPROF={B}/cli/pmuprof BENCH_DIR={B}/bench WORKLOAD_DIR={B}/tests/data/workloads
cd {ROOT}
# arm64 lets user space read the counters only when this says so (root only).
echo 1 > /proc/sys/kernel/perf_user_access
echo === perf
perf stat -x , -e {','.join(PERF_EVENTS)} true 2>&1
for t in {' '.join(TESTS)}; do
    echo === $t
    start=$(date +%s)
    /usr/bin/python3 tests/e2e/$t.py 2>&1
    # Guest seconds: under -icount one instruction is one ns of the guest's clock.
    echo "status $? seconds $(( $(date +%s) - start ))"
done
"""
t0 = time.monotonic()
r = guest(script, nodes=1, arch="arm64", icount=True, timeout=600,
          shares=[ROOT] + ([] if B.startswith(ROOT + "/") else [B]))
wall = time.monotonic() - t0
check(r.returncode == 0, f"the guest's script failed ({r.returncode}):\n{r.stdout[-3000:]}\n"
      f"{r.stderr[-2000:]}")
sec = sections(r.stdout)
perf = {}
for line in sec.get("perf", "").splitlines():
    f = line.split(",")
    if len(f) >= 3:
        perf[f[2]] = f[0] if f[0].startswith("<") else float(f[0])
print(f"perf stat in the guest: {perf}")
bad = [] if perf else [f"perf stat printed no counts in the guest: {sec.get('perf')}"]
for t in TESTS:
    body = sec.get(t, "")
    m = re.search(r"^status (\d+) seconds (\d+)$", body, re.M)
    if not m:
        bad.append(f"{t}: no status (the guest stopped?)")
        print(f"FAIL {t}: no status\n{body}")
        continue
    status, secs = int(m.group(1)), m.group(2)
    lines = body[:m.start()].rstrip("\n")
    if status == 0:
        print(f"PASS {t} ({secs} guest s)")
        for line in lines.splitlines():
            print(f"    {line}")
    elif status == 77:
        reason = next((l[len("SKIP: "):] for l in lines.splitlines() if l.startswith("SKIP: ")),
                      "(no reason printed)")
        want = SKIPS.get(t)
        if want and want[0] in reason and want[1](perf):
            print(f"SKIP {t} ({secs} guest s): {reason}\n    true here: {want[2]}")
        else:
            bad.append(f"{t} skipped for a reason not true of the guest: {reason}")
            print(f"SKIP {t} ({secs} guest s), NOT ACCEPTED: {reason}")
    else:
        bad.append(f"{t} failed (status {status})")
        print(f"FAIL {t} (status {status}, {secs} guest s):\n{lines[-3000:]}")
print(f"the guest's run: {wall:.0f} s")
check(not bad, "in the arm64 guest: " + "; ".join(bad))
print("PASS")
