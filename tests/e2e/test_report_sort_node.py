"""`pmuprof report --sort` by labels: a real 2-node Xeon capture (perf's NUMA_TOPOLOGY
header) imported, then `--sort node` and `--sort cpu` in perf report's layout (overhead,
the value, then the key columns), checked against `perf report --sort cpu` on the same file: each
CPU's share equal to perf's within 0.01 % (both print two decimals), each node's share the
sum of perf's shares of its CPUs (the node of each CPU from `perf report -I`) within
0.005 % per CPU summed (perf rounds each CPU's share); node,sym groups frames per node;
and on a one-node recording --sort node says why there is no node to group by."""
import os
import re
import tempfile

from common import *

here = os.path.dirname(os.path.abspath(__file__))
capture = os.path.join(here, "..", "..", "..", "shared", "testdata", "perf-data",
                       "perf.data.numatopology-3.2")
d = tempfile.mkdtemp(prefix="pmuprof-sort-")


def overhead_rows(text, nkeys):
    """perf report's table rows: [(percent, key, ...)] under '# Overhead'."""
    rows = []
    for line in text.split("# Overhead", 1)[1].splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(.*)$", line)
        if m:
            rows.append((float(m.group(1)), *m.group(2).split()[-nkeys:]))  # after the values
    return rows


# --- one node: said plainly -------------------------------------------------------
one = os.path.join(d, "host.pb.gz")
r = run([PMUPROF, "record", "-e", "cpu-clock", "-o", one, "--", "sh", "-c",
         "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"])
check(r.returncode == 0, r.stderr)
t = run([PMUPROF, "topology"])
if re.search(r"NUMA nodes: 1 ", t.stdout):
    r = run([PMUPROF, "report", one, "--sort", "node"])
    check(r.returncode == 1 and "more than one NUMA node" in r.stderr and
          len(r.stderr.strip().splitlines()) == 1, f"--sort node on one node: {r.stderr}")
    print(f"ok: one node: {r.stderr.strip()}")
r = run([PMUPROF, "report", one, "--sort", "cpu,comm"])
check(r.returncode == 0 and re.search(r"# Overhead\s+\S+  cpu  comm", r.stdout), r.stdout + r.stderr)
rows = overhead_rows(r.stdout, 2)
check(rows and abs(sum(p for p, *_ in rows) - 100) < 0.05 * len(rows), f"cpu,comm: {rows}")
r = run([PMUPROF, "report", one, "--sort", "nod"])
check(r.returncode == 1 and "unknown --sort key 'nod'" in r.stderr and "node" not in
      r.stderr.split("labels there:")[1], r.stderr)
print("ok: cpu,comm rows add up to 100 %; an unknown key names the labels there")

# --- two nodes: the imported capture against perf report --------------------------
if not os.path.exists(capture):
    skip("the real perf.data captures (../shared/testdata/perf-data) are absent")
if not have_perf():
    skip("perf is not installed (it is the oracle here)")
node_of = perf_cpu_nodes(capture)
r = run(["perf", "report", "-i", capture, "--stdio", "--sort", "cpu"])
check(r.returncode == 0, f"perf report --sort cpu: {r.stderr}")
perf_cpu = {int(cpu): p for p, cpu in overhead_rows(r.stdout, 1)}
check(perf_cpu, f"perf report shows no CPUs:\n{r.stdout}")

pb = os.path.join(d, "numa.pb.gz")
r = run([PMUPROF, "import", capture, "-o", pb])
check(r.returncode == 0, r.stderr)
r = run([PMUPROF, "report", pb, "--sort", "cpu", "--top", "1000"])
check(r.returncode == 0, r.stderr)
check(re.search(r"^# Overhead\s+\S+  cpu\n# \.{8}  \.+  \.{3}\n#\n", r.stdout, re.M), r.stdout)
ours_cpu = {int(cpu): p for p, cpu in overhead_rows(r.stdout, 1)}
check(set(ours_cpu) == set(perf_cpu), f"CPUs {sorted(ours_cpu)} vs perf's {sorted(perf_cpu)}")
for c in perf_cpu:
    check(abs(ours_cpu[c] - perf_cpu[c]) <= 0.01, f"cpu {c}: {ours_cpu[c]} % vs perf's {perf_cpu[c]} %")
print(f"ok: --sort cpu: {len(ours_cpu)} CPUs, each share as perf report --sort cpu")

r = run([PMUPROF, "report", pb, "--sort", "node"])
check(r.returncode == 0, r.stderr)
ours_node = {int(n): p for p, n in overhead_rows(r.stdout, 1)}
want = {}
for c, p in perf_cpu.items():
    want.setdefault(node_of[c], []).append(p)
check(set(ours_node) == set(want) == {0, 1}, f"nodes {ours_node} vs perf's CPUs' nodes {want}")
for n, ps in want.items():
    check(abs(ours_node[n] - sum(ps)) <= 0.005 * len(ps) + 0.005,
          f"node {n}: {ours_node[n]} % vs perf's CPUs summed {sum(ps):.2f} %")
rows = overhead_rows(r.stdout, 1)
check([p for p, _ in rows] == sorted((p for p, _ in rows), reverse=True), f"rows not by overhead: {rows}")
print(f"ok: --sort node: {ours_node} (perf's CPUs summed by node: "
      f"{ {n: round(sum(ps), 2) for n, ps in want.items()} })")

r = run([PMUPROF, "report", pb, "--sort", "node,sym", "--no-children", "--top", "1000"])
check(r.returncode == 0 and re.search(r"# Overhead\s+\S+  node  sym", r.stdout), r.stdout + r.stderr)
flat = {}
for m in re.finditer(r"^\s+([\d.]+)%\s+\S+\s+(\d)\s+\[[.k]\] \S", r.stdout, re.M):
    flat[int(m.group(2))] = flat.get(int(m.group(2)), 0) + float(m.group(1))
for n in (0, 1):
    check(abs(flat.get(n, 0) - ours_node[n]) < 0.01 * len(r.stdout.splitlines()),
          f"node {n}: its leaf symbols' flat {flat.get(n, 0):.2f} % vs {ours_node[n]} %")
print("PASS")
