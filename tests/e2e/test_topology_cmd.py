"""`pmuprof topology`: this machine and the reader plan, and a synthetic
multi-node machine through hwloc's synthetic topologies."""
import re

from common import *

r = run([PMUPROF, "topology"])
check(r.returncode == 0, r.stderr)
for word in ("packages:", "NUMA nodes:", "L3", "PUs", "line size", "reader 0:"):
    check(word in r.stdout, f"'{word}' missing from:\n{r.stdout}")
r = run([PMUPROF, "topology", "--synthetic", "pack:2 numa:2 l3:1 core:8 pu:2"])
check(r.returncode == 0, r.stderr)
readers = [l for l in r.stdout.splitlines() if re.match(r"reader \d+:", l)]
check(len(readers) == 4, f"expected 4 node readers:\n{r.stdout}")
check("drains CPUs 48-63" in readers[3], readers[3])
r = run([PMUPROF, "topology", "--synthetic", "pack:2 numa:2 l3:1 core:8 pu:2", "--readers", "cpu"])
check(len([l for l in r.stdout.splitlines() if re.match(r"reader \d+:", l)]) == 64, r.stdout)
r = run([PMUPROF, "topology", "--readers", "bogus"])
check(r.returncode == 2 and "bogus" in r.stderr, r.stderr)
print("ok")
