"""`pmuprof topology` in a guest with N NUMA nodes (argv[1], default 2): it shows the
N nodes with the kernel's CPUs, distances and total and free memory, as `numactl -H` does
(free within 32 MB: the two commands run one after the other), and its reader
plan (--readers node) has one reader per node that drains and runs on that node's
CPUs only."""
import re
import sys

from lab import NODE_CPUS, PMUPROF, check, cpulist, guest, node_cpus, sections
from common import check_numa_block

nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 2
r = guest(f"echo === topology; {PMUPROF} topology; echo status $?; "
          f"echo === numactl; numactl -H; {NODE_CPUS}", nodes=nodes)
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stderr}")
s = sections(r.stdout)
topo, numactl, kernel = s.get("topology", ""), s.get("numactl", ""), node_cpus(s["nodes"])
check("status 0" in topo, f"pmuprof topology failed: {topo}\n{r.stderr}")
check(sorted(kernel) == list(range(nodes)), f"the guest kernel has nodes {sorted(kernel)}")

# numactl -H: "node 0 cpus: 0", the distance table under "node   0   1".
m = re.search(r"available: (\d+) nodes", numactl)
check(m and int(m.group(1)) == nodes, f"numactl -H does not show {nodes} nodes:\n{numactl}")
numactl_cpus = {int(n): {int(c) for c in cpus.split()}
                for n, cpus in re.findall(r"^node (\d+) cpus:(.*)$", numactl, re.M)}
check(numactl_cpus == kernel, f"numactl's CPUs {numactl_cpus} vs the kernel's {kernel}")
# pmuprof topology: "NUMA nodes: 2 (node 0: 1006.6 MiB, PUs 0; node 1: ..., PUs 1)".
m = re.search(r"^NUMA nodes: (\d+) \((.*)\)$", topo, re.M)
check(m and int(m.group(1)) == nodes, f"pmuprof topology does not show {nodes} nodes:\n{topo}")
shown = {int(n): cpulist(cpus)
         for n, cpus in re.findall(r"node (\d+): [^,]+, PUs ([\d,-]+)", m.group(2))}
check(shown == kernel, f"pmuprof shows node CPUs {shown}, the kernel {kernel}")
numa, dist = check_numa_block(topo, numactl, 32)
check(sorted(dist) == list(range(nodes)), f"distance rows: {dist}")
check(all(dist[i][i] == 10 for i in dist) and any(v > 10 for row in dist.values() for v in row),
      f"distances are not those of a NUMA machine: {dist}")
check(all(numa[n]["size"] > 0 for n in numa), f"a node without memory: {numa}")
print(f"ok: {nodes} nodes, CPUs {kernel}, distances {dist}, memory "
      f"{ {n: (numa[n]['size'], numa[n]['free']) for n in numa} } MB (numactl -H agrees)")

# The reader plan: one reader per node, draining and running on that node's CPUs.
plan = re.findall(r"^reader (\d+): node (\S+), drains CPUs (\S+), runs on CPUs (\S+)$", topo, re.M)
check(len(plan) == nodes, f"expected {nodes} readers:\n{topo}")
for _, node, drains, runs in plan:
    check(node.isdigit(), f"a reader without a node: {plan}")
    want = kernel[int(node)]
    check(cpulist(drains) == want and cpulist(runs) == want, f"reader of node {node} drains {drains}, runs on {runs}; "
          f"the node's CPUs are {want}")
check(sorted(int(n) for _, n, _, _ in plan) == list(range(nodes)), f"readers' nodes: {plan}")
print(f"ok: reader plan: {len(plan)} readers, one per node, each on its node's CPUs")
print("PASS")
