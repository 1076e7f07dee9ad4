"""`pmuprof record -a -e cpu-clock` in the 2-node guest: every sample carries a `node`
label, and it is the node the guest's kernel puts the sample's `cpu` on; both
nodes have samples (a two-thread workload runs beside it)."""
import os
import tempfile

from lab import BENCH, LAB_DIR, NODE_CPUS, PMUPROF, check, guest, node_cpus, sections
from common import load_profile

os.makedirs(LAB_DIR, exist_ok=True)
out = tempfile.mkdtemp(prefix="node-label-", dir=LAB_DIR)
# Recorded on the guest's tmpfs, then copied to the writable share.
# record -a takes no command: the two-thread workload runs beside it.
r = guest(f"{BENCH}/falseshare --iters 50000000 >/dev/null & "
          f"{PMUPROF} record -a -e cpu-clock -o /tmp/x.pb.gz --duration 3s && "
          f"cp /tmp/x.pb.gz {out}/; echo status $?; wait; {NODE_CPUS}", nodes=2, shares=[out])
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stderr}")
check("status 0" in r.stdout, f"record -a failed:\n{r.stdout}\n{r.stderr}")
nodes = node_cpus(sections(r.stdout)["nodes"])
node_of = {c: n for n, cpus in nodes.items() for c in cpus}
samples = load_profile(os.path.join(out, "x.pb.gz"))["samples"]
check(samples, "no samples")
per_node = {}
for smp in samples:
    lb = smp["labels"]
    check("node" in lb and "cpu" in lb, f"a sample without cpu or node label: {lb}")
    check(lb["node"] == node_of.get(lb["cpu"]), f"cpu {lb['cpu']} labelled node {lb['node']}; "
          f"the guest puts it on node {node_of.get(lb['cpu'])}")
    per_node[lb["node"]] = per_node.get(lb["node"], 0) + 1
check(sorted(per_node) == sorted(nodes), f"samples per node {per_node}, nodes {sorted(nodes)}")
print(f"ok: {len(samples)} samples, each labelled with its cpu's node; per node {per_node}")
print("PASS")
