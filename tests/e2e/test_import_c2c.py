"""Issue 7, acceptance 3 (first half): `pmuprof import --c2c` on the Skylake
PEBS load-latency capture classifies every sample as perf does: every
counter of perf c2c's "Trace Event Information" (loads by level, locked,
no-map rejects, HITM, ...) equals `perf c2c report --stats` on the same file."""
import os
import re
import tempfile

from common import *

capture = "/work/shared/testdata/perf-data/perf.data.weight_struct"
here = os.path.dirname(os.path.abspath(__file__))
for cand in (os.path.join(here, "..", "..", "..", "shared", "testdata", "perf-data",
                          "perf.data.weight_struct"), capture):
    if os.path.exists(cand):
        capture = cand
        break
else:
    skip("the real perf.data captures (../shared/testdata/perf-data) are absent")
if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")


def counters(text):
    out = {}
    for m in re.finditer(r"^\s+([A-Za-z][A-Za-z0-9 ()/_.-]*?)\s*:\s+(-?\d+)\s*$", text, re.M):
        out[m.group(1).strip()] = int(m.group(2))
    return out


r = run([PMUPROF, "import", "--c2c", "-o", os.path.join(tempfile.mkdtemp(), "c2c.pb.gz"), capture])
check(r.returncode == 0, r.stderr)
ours = counters(r.stdout.split("Shared Data Cache Line Table")[0])
p = run(["perf", "c2c", "report", "-i", capture, "--stats"])
theirs = counters(p.stdout)
check(len(theirs) >= 20, f"perf c2c --stats printed too little:\n{p.stdout}{p.stderr}")
common = sorted(set(ours) & set(theirs))
print(f"{len(common)} counters compared; perf-only: {sorted(set(theirs) - set(ours))}")
check(len(common) >= 20, f"too few counters in common: {common}")
diffs = [(k, ours[k], theirs[k]) for k in common if ours[k] != theirs[k]]
for k in common:
    print(f"  {k:40s} pmuprof {ours[k]:6d}  perf {theirs[k]:6d}")
check(not diffs, f"counters differ from perf c2c: {diffs}")
