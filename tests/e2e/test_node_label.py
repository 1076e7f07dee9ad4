"""Every sample carries a `node` label where the machine has more than one NUMA node.

The recorded machine's topology: a real 2-node Xeon capture (perf's
NUMA_TOPOLOGY header) imported, each sample's node checked against the
cpu lists `perf report -I` prints for that file, in pprof and in OTLP. On
this host, record adds the label only if topology finds more than one node
(the lab's NUMA guest checks the live path on 2 and 4 nodes).
"""
import os
import re
import tempfile

import otlp_check
from common import PMUPROF, check, load_profile, perf_cpu_nodes, run, skip

here = os.path.dirname(os.path.abspath(__file__))
capture = os.path.join(here, "..", "..", "..", "shared", "testdata", "perf-data",
                       "perf.data.numatopology-3.2")
d = tempfile.mkdtemp(prefix="pmuprof-node-")

# --- this host: the label only with more than one node --------------------------
r = run([PMUPROF, "topology"])
check(r.returncode == 0, f"topology: {r.stderr}")
m = re.search(r"NUMA nodes: (\d+)", r.stdout)
nodes = int(m.group(1)) if m else 1
out = os.path.join(d, "host.pb.gz")
r = run([PMUPROF, "record", "-e", "cpu-clock", "-o", out, "--", "sh", "-c",
         "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
check(r.returncode == 0, r.stderr)
samples = load_profile(out)["samples"]
check(samples, "no samples")
with_node = sum("node" in s["labels"] for s in samples)
if nodes > 1:
    check(with_node == len(samples), f"{nodes} nodes but {with_node}/{len(samples)} samples "
          "carry a node label")
else:
    check(with_node == 0, "a one-node host labelled samples with node")
print(f"ok: this host ({nodes} node(s)): {with_node}/{len(samples)} samples labelled")

# --- an imported 2-node recording -------------------------------------------------
if not os.path.exists(capture):
    skip("the real perf.data captures (../shared/testdata/perf-data) are absent")
node_of = perf_cpu_nodes(capture)
check(len(set(node_of.values())) == 2, f"perf sees no 2-node topology: {node_of}")
out, otlp = os.path.join(d, "numa.pb.gz"), os.path.join(d, "numa.otlp")
r = run([PMUPROF, "import", capture, "-o", out, "--otlp", otlp])
check(r.returncode == 0, r.stderr)
samples = load_profile(out)["samples"]
check(samples, "no samples imported")
for s in samples:
    lb = s["labels"]
    check("node" in lb, f"a sample without a node label: {lb}")
    check(lb["node"] == node_of[lb["cpu"]], f"cpu {lb['cpu']} labelled node {lb['node']}, "
          f"perf says node {node_of[lb['cpu']]}")
seen = sorted({s["labels"]["node"] for s in samples})
check(seen == [0, 1], f"nodes seen {seen}")
summary = otlp_check.check_request(otlp, pprof_path=out)
keys = summary["sample_attribute_keys"]
check(keys.get("node") == summary["samples"], f"OTLP samples with a node attribute: {keys}")
print(f"ok: import of a 2-node capture: {len(samples)} samples, each node as perf -I says "
      f"(nodes {seen}); OTLP: {keys['node']}/{summary['samples']} samples carry node")
print("PASS")
