"""`pmuprof topology` shows each node's CPUs, total and free memory and the node distance
matrix as `numactl -H` does (libnuma on both sides): CPUs, sizes and distances equal, free
memory within 256 MB (other processes on the host allocate and free between the two reads)."""
import shutil

from common import *

if not shutil.which("numactl"):
    skip("numactl is not installed (scripts/install-deps.sh installs it)")
r = run(["numactl", "-H"])
if r.returncode != 0 or "available:" not in r.stdout:
    skip(f"numactl -H reports no NUMA support here: {r.stdout}{r.stderr}")
numactl = r.stdout
t = run([PMUPROF, "topology"])
check(t.returncode == 0, t.stderr)
nodes, dist = check_numa_block(t.stdout, numactl, 256)
print(f"ok: {len(nodes)} node(s), sizes {[nodes[n]['size'] for n in sorted(nodes)]} MB, "
      f"distances {dist} as numactl -H")
# A synthetic machine has no libnuma facts: said plainly, no numbers made up.
s = run([PMUPROF, "topology", "--synthetic", "pack:2 numa:2 core:2 pu:1"])
check(s.returncode == 0 and "node memory and distances: not available" in s.stdout, s.stdout)
print("ok")
