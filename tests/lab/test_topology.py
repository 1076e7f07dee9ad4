"""`pmuprof topology` in a guest with N NUMA nodes (argv[1], default 2): it shows the
N nodes with the kernel's CPUs, distances and total and free memory, as `numactl -H` does
(free within 32 MB: the two commands run one after the other), and its reader
plan (--readers node) has one reader per node that drains and runs on that node's
CPUs only. In the same boot: `stat --per-node/--per-socket/--per-core -a` against
`perf stat` with the same flags (the same rows in the same order, each row's CPU count
exact, the human layout character for character once numbers are masked, CPUs utilized
= the row's CPU count within 10 %: the guest's clocks are emulated); the -x --per-node
run's --pprof and --otlp carry one sample per node, labelled node, with the row's counts
(read on the host by protoc, go tool pprof -raw and otlp_check); and `record -a` then
`report --sort node` shows every node (a spinning shell bound to each node)."""
import base64
import os
import re
import sys
import tempfile

from lab import NODE_CPUS, PMUPROF, check, cpulist, guest, node_cpus, sections
from common import check_numa_block, go_pprof, have_go, load_profile
import otlp_check  # tests/e2e, on the path lab sets

nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 2
MODES = ("--per-node", "--per-socket", "--per-core")
STAT = "stat -a -e cpu-clock,task-clock"
PROFILES = "--pprof /tmp/sn.pb.gz --otlp /tmp/sn.otlp"  # pmuprof's -x --per-node run
stats = "".join(f"echo === {tool}{fmt}{mode}; {cmd} {STAT} {mode} {opt} "
                f"{PROFILES if (tool, fmt, mode) == ('pmuprof', 'csv', '--per-node') else ''} "
                f"-- sleep 0.5 2>&1; "
                for mode in MODES for fmt, opt in (("csv", "-x ,"), ("human", ""))
                for tool, cmd in (("pmuprof", PMUPROF), ("perf", "perf")))
stats += ("echo === statpprof; base64 -w0 /tmp/sn.pb.gz; echo; "
          "echo === statotlp; base64 -w0 /tmp/sn.otlp; echo; ")
spin = "".join(f"numactl -N {n} timeout 4 sh -c 'while :; do :; done' & " for n in range(nodes))
r = guest(f"echo === topology; {PMUPROF} topology; echo status $?; "
          f"echo === numactl; numactl -H; {stats}"
          f"echo === report; {spin} {PMUPROF} record -a -e cpu-clock -o /tmp/x.pb.gz "
          f"--duration 2s >/dev/null 2>&1; echo record $?; wait; "
          f"{PMUPROF} report /tmp/x.pb.gz --sort node; echo status $?; {NODE_CPUS}",
          nodes=nodes)
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

# stat per node, socket and core against perf stat in the same guest.
cpus_of = {"--per-node": {f"N{n}": len(c) for n, c in kernel.items()}}
for mode in MODES:
    ours, theirs = s[f"pmuprofcsv{mode}"], s[f"perfcsv{mode}"]
    a = [l.split(",") for l in ours.splitlines() if l.count(",") > 4]
    b = [l.split(",") for l in theirs.splitlines() if l.count(",") > 4]
    check(a and [x[:2] + x[3:5] for x in a] == [y[:2] + y[3:5] for y in b],
          f"{mode} -x: rows differ from perf's:\n--- pmuprof\n{ours}\n--- perf\n{theirs}")
    for x in a:
        check(abs(float(x[7]) - int(x[1])) <= 0.1 * int(x[1]),
              f"{mode}: {x[7]} CPUs utilized in a row of {x[1]} CPUs: {x}")
    if mode in cpus_of:
        got = {x[0]: int(x[1]) for x in a}
        check(got == cpus_of[mode], f"{mode}: CPUs per row {got}, the kernel's nodes {cpus_of[mode]}")
    mask = lambda t: [re.sub(r" *\d+\.\d+", lambda m: "#" * len(m.group(0)), l) for l in t.splitlines()]
    check(mask(s[f"pmuprofhuman{mode}"]) == mask(s[f"perfhuman{mode}"]),
          f"{mode}: layout differs from perf's:\n{s[f'pmuprofhuman{mode}']}\n{s[f'perfhuman{mode}']}")
    print(f"ok: stat {mode} -a: rows {[(x[0], int(x[1])) for x in a[::2]]} as perf stat's")

# The -x --per-node run's --pprof and --otlp: each node's row, as a sample labelled node.
d = tempfile.mkdtemp(prefix="pmuprof-lab-stat-")
pp, ot = os.path.join(d, "sn.pb.gz"), os.path.join(d, "sn.otlp")
for path, sec in ((pp, "statpprof"), (ot, "statotlp")):
    with open(path, "wb") as f:
        f.write(base64.b64decode(s[sec].strip()))
rows = {(int(x[0][1:]), x[4]): float(x[2]) * 1e6
        for x in (l.split(",") for l in s["pmuprofcsv--per-node"].splitlines()) if len(x) > 4}
prof = load_profile(pp)
got = {(smp["labels"]["node"], t): v for smp in prof["samples"]
       for t, v in zip(prof["types"], smp["values"])}
check(set(got) == set(rows) and {n for n, _ in got} == set(range(nodes)),
      f"--pprof has {sorted(got)}, the -x rows {sorted(rows)}")
# -x prints msec with 2 decimals: 10 us.
check(all(abs(got[k] - rows[k]) <= 1e4 for k in rows), f"--pprof {got} vs -x {rows}")
if have_go():
    status, raw = go_pprof(["-raw", pp])
    check(status == 0 and all(f"node:[{n} node]" in raw for n in range(nodes)),
          f"go tool pprof -raw lacks a node label:\n{raw}")
otlp_check.check_request(ot)
req = otlp_check.decode_request(ot)
st, at = req.dictionary.string_table, req.dictionary.attribute_table
ogot = {}
for rp in req.resource_profiles:
    for sp in rp.scope_profiles:
        for p in sp.profiles:
            for smp in p.samples:
                node = [otlp_check._any_value(at[i].value) for i in smp.attribute_indices
                        if st[at[i].key_strindex] == "node"]
                ogot[(node[0] if node else None, st[p.sample_type.type_strindex])] = \
                    sum(smp.values)
check(ogot == got, f"--otlp {ogot} vs --pprof {got}")
print(f"ok: stat -x --per-node --pprof --otlp: {len(got)} values, one sample per node, as the rows")

# record -a, then report --sort node: a row for every node.
rep = s["report"]
check("record 0" in rep and "status 0" in rep, f"record -a / report --sort node failed:\n{rep}")
# Each row: the overhead, the event's value column (e.g. "1.62s"), then the node.
rows = {int(n): float(p) for p, n in re.findall(r"^\s+([\d.]+)%\s+\S+\s+(\d+)$", rep, re.M)}
check(sorted(rows) == list(range(nodes)), f"report --sort node shows nodes {sorted(rows)}:\n{rep}")
check(abs(sum(rows.values()) - 100) <= 0.01 * nodes, f"node shares add up to {sum(rows.values())}")
print(f"ok: report --sort node: {rows}")
print("PASS")
