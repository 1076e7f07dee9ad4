"""Symbolization runs once, after the recording: a workload whose binary is
deleted while it is being recorded still has its functions named (the file
is held from its first sample on), and the profile's comment counts the
distinct addresses symbolized then."""
import os
import re
import shutil
import subprocess
import tempfile
import time

from common import *

d = tempfile.mkdtemp()
prog = os.path.join(d, "spin_deleted")
shutil.copy(bench("spin"), prog)
out = os.path.join(d, "deleted.pb.gz")
rec = subprocess.Popen([PMUPROF, "record", "-e", "cpu-clock", "-F", "2000", "-o", out, "--", prog,
                        "--iters", "3000000000"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
# The binary goes once the workload runs; it then spins on, sampled, for seconds.
for _ in range(200):
    if any(open(f"/proc/{p}/comm").read().strip() == "spin_deleted"
           for p in os.listdir("/proc") if p.isdigit() and os.path.exists(f"/proc/{p}/comm")):
        break
    time.sleep(0.05)
time.sleep(0.3)
os.unlink(prog)
_, err = rec.communicate(timeout=300)
check(rec.returncode == 0, err)
check(not os.path.exists(prog), "the binary was not deleted")

prof = load_profile(out)
leaves = {}
total = 0
for s in prof["samples"]:
    if s["labels"].get("comm") != "spin_deleted" or not s["stack"]:
        continue
    total += s["values"][0]
    leaf = s["stack"][0][0]
    leaves[leaf] = leaves.get(leaf, 0) + s["values"][0]
top = sorted(leaves.items(), key=lambda kv: -kv[1])[:5]
print(f"samples of spin_deleted: {total}; leaves: {top}")
check(total >= 100, f"too few samples of the workload ({total}) to judge")
named = sum(v for f, v in leaves.items() if f in ("spin", "spin_loop"))
check(named > 0.8 * total,
      f"the deleted binary's functions are not named: {top}")
comment = [c for c in prof["comments"] if c.startswith("symbolization:")]
check(comment and int(re.match(r"symbolization: (\d+) distinct", comment[0]).group(1)) > 0,
      f"no symbolization comment: {prof['comments']}")
print("ok:", comment[0])
