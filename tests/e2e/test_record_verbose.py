"""`record -v`: one line per reader thread with its node and CPUs and the NUMA nodes
of its pages, as move_pages finds them; every page of its own buffers (allocated
and pre-faulted on its node) is found there. The lab's test_readers checks the same
in 2- and 4-node guests, rings included; here the host's own node(s)."""
import os
import re
import tempfile

from common import *

out = os.path.join(tempfile.mkdtemp(), "v.pb.gz")
r = run([PMUPROF, "record", "-v", "-e", "cpu-clock", "-o", out, "--", bench("spin"),
         "--iters", "100000000"])
check(r.returncode == 0, r.stderr)
lines = re.findall(r"^pmuprof record: reader (\d+) node (-?\d+) cpus ([\d,]+): rings (\d+) "
                   r"pages:([^;]*); buffers (\d+) pages:(.*)$", r.stderr, re.M)
check(lines, f"no reader lines in:\n{r.stderr}")
cpus_seen = []
for rid, node, cpus, rings, _, total, bufs in lines:
    per_node = {int(n): int(c) for n, c in re.findall(r"\bN(\d+)=(\d+)", bufs)}
    check(int(rings) > 0 and int(total) > 0, f"reader {rid}: {rings} ring, {total} buffer pages")
    check(sum(per_node.values()) == int(total),
          f"reader {rid}: {total} buffer pages, found on nodes {per_node}")
    if int(node) >= 0:
        check(set(per_node) == {int(node)}, f"reader {rid} on node {node}: buffers on {per_node}")
    cpus_seen += [int(c) for c in cpus.split(",")]
    print(f"reader {rid} node {node} cpus {cpus}: buffers {per_node} of {total}")
online = set()
for part in open("/sys/devices/system/cpu/online").read().strip().split(","):
    a, _, b = part.partition("-")
    online.update(range(int(a), int(b or a) + 1))
check(sorted(cpus_seen) == sorted(online), f"readers drain CPUs {cpus_seen}; online: {online}")
print("PASS")
