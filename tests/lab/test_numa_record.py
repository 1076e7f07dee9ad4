"""`pmuprof numa record -- numa_serial 2` in the 2-node guest (one boot): the main
thread, pinned to node 0, first-touches a 64 MiB global `grid` in init_grid; one
thread per node sweeps its half for 2 s while automatic NUMA balancing runs.

Checked against the workload's own move_pages oracle and the guest's topology:
- the grid's first touch is 100 % the main thread's, on node 0, in init_grid;
- the grid's pages by node at the end (numa record's move_pages over its range at
  the exit stop) within 5 % of the oracle's (the guest backs the grid with
  transparent huge pages: one fault, so one sample, per 2 MiB);
- in the pprof, every grid sample of a sweeper carries the node its thread was
  pinned to (the CPUs the guest gives that node), data_node and access agree
  (local exactly when node == data_node), and with balancing on each sweeper's
  hinting faults are there; a fault is local by its page's node at that fault: node 0's
  sweeper's within 10 % of its half's pages on node 0 (the oracle's per-half counts),
  node 1's at most its half's share on node 1 at the end (balancing moves those pages in
  that sweeper's remote faults; a fault on a page balancing moved before numa record, far
  behind in the slow guest, first placed it has no node);
- numa report on that profile names the serial first touch of `grid` with its numbers
  (100 % by the main thread on node 0 in init_grid; the share of the accesses after the
  first touch that came from node 1, as the pprof's samples count it; sweep as the
  partitioning to copy), and its thread x node matrix has each sweeper's accesses after
  the first touch on its pinned node only, and no sweeper wandering (text and --json).
"""
import json
import os
import re
import tempfile

from lab import LAB_DIR, NODE_CPUS, PMUPROF, check, guest, node_cpus, sections
from common import load_profile, workload

os.makedirs(LAB_DIR, exist_ok=True)
out = tempfile.mkdtemp(prefix="numa-record-", dir=LAB_DIR)
wl = workload("numa_serial")
r = guest(f"echo === balancing; cat /proc/sys/kernel/numa_balancing; "
          f"echo === record; {PMUPROF} numa record -o /tmp/n.pb.gz -- {wl} 2 2>&1; "
          f"echo status $?; cp /tmp/n.pb.gz {out}/; "
          f"echo === report; {PMUPROF} numa report /tmp/n.pb.gz 2>&1; echo status $?; "
          f"echo === json; {PMUPROF} numa report --json /tmp/n.pb.gz; {NODE_CPUS}",
          nodes=2, shares=[out])
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stderr}")
sec = sections(r.stdout)
text = sec.get("record", "")
print(text)
check("status 0" in text, f"numa record failed:\n{text}\n{r.stderr}")
balancing = int(sec["balancing"].strip() or 0)
nodes = node_cpus(sec["nodes"])
check(len(nodes) == 2, f"the guest has nodes {sorted(nodes)}, not 2")
node_of_cpu = {c: n for n, cpus in nodes.items() for c in cpus}
check("2 NUMA nodes" in text, "the summary does not say 2 NUMA nodes")

# --- the workload's oracle and threads -------------------------------------------------
init_tid = int(re.search(r"^init tid=(\d+) node=0$", text, re.M).group(1))
sweepers = {int(t): (int(n), int(h)) for t, n, h in
            re.findall(r"^sweeper tid=(\d+) node=(\d+) half=(\d+)", text, re.M)}
check(len(sweepers) == 2, f"sweepers: {sweepers}")


def counts(line):
    return {int(n): int(c) for n, c in re.findall(r"node(\d+)=(\d+)", line)}


whole = re.search(r"^oracle pages=(\d+) (.*)$", text, re.M)
oracle_pages, oracle = int(whole.group(1)), counts(whole.group(2))
halves = {int(h): (int(p), counts(rest)) for h, p, rest in
          re.findall(r"^oracle half=(\d) pages=(\d+) (.*)$", text, re.M)}

# --- the summary's grid ------------------------------------------------------------------
block = re.search(r"^grid \(pid \d+, 64\.0 MiB at 0x[0-9a-f]+\): (\d+) pages sampled.*?\n"
                  r"((?:  .*\n)+)", text, re.M)
check(block, "no grid object in the summary")
sampled = int(block.group(1))
body = block.group(2)
m = re.search(r"pages by node at the end:.* of (\d+) present", body)
check(m, f"no placement of the grid:\n{body}")
pages = int(m.group(1))
# A huge page being migrated at either query has no node there: fractions are of placed pages.
oracle_placed = sum(oracle.values())
check(pages >= 0.9 * oracle_pages, f"{pages} grid pages present, the grid has {oracle_pages}")
m = re.search(r"first touch: ([\d.]+)% of pages by tid (\d+) \(.*?\) on node (\d+) in (\S+)", body)
check(m, f"no first touch line:\n{body}")
check(float(m.group(1)) == 100.0 and int(m.group(2)) == init_tid and m.group(3) == "0"
      and m.group(4) == "init_grid",
      f"first touch {m.group(0)}; expected 100 % by tid {init_tid} on node 0 in init_grid")
placed = {int(n): int(c) for n, c in re.findall(r"node(\d+) (\d+) \(", body.split("\n")[0])}
for n in nodes:
    got, want = placed.get(n, 0) / pages, oracle.get(n, 0) / oracle_placed
    check(abs(got - want) <= 0.05, f"node {n}: {got:.1%} of the grid at the end by numa record, "
          f"{want:.1%} by the workload's move_pages")
print(f"ok: grid first touched 100 % by tid {init_tid} on node 0 in init_grid ({sampled} pages "
      f"sampled); pages by node {placed} vs the oracle's {oracle}")

# --- the pprof: labels, pinned threads, local/remote -------------------------------------
samples = load_profile(os.path.join(out, "n.pb.gz"))["samples"]
grid = [s for s in samples if s["labels"].get("object") == "grid"]
check(grid, "no sample labelled object=grid")
per = {t: {"faults": 0, "placed": 0, "local": 0} for t in sweepers}
unplaced = 0
for s in grid:
    lb = s["labels"]
    if lb.get("tid") in sweepers:
        per[lb["tid"]]["faults"] += s["values"][0]
    # A page balancing moved before numa record first asked where it was (the migration
    # tracepoint came first): its faults before that move have no node, no access.
    if "data_node" not in lb:
        unplaced += s["values"][0]
        continue
    for key in ("node", "data_node", "first_touch_node", "access", "cpu", "tid"):
        check(key in lb, f"a grid sample without {key}: {lb}")
    check(lb["first_touch_node"] == 0, f"grid first touched on node {lb['first_touch_node']}")
    check(lb["node"] == node_of_cpu[lb["cpu"]], f"cpu {lb['cpu']} labelled node {lb['node']}")
    check((lb["access"] == "local") == (lb["node"] == lb["data_node"]), f"access wrong: {lb}")
    if lb["tid"] in sweepers:
        pinned = sweepers[lb["tid"]][0]
        check(lb["node"] == pinned, f"sweeper {lb['tid']} pinned to node {pinned} faulted on "
              f"node {lb['node']}")
        per[lb["tid"]]["placed"] += s["values"][0]
        per[lb["tid"]]["local"] += s["values"][0] * (lb["access"] == "local")
print(f"NUMA balancing {balancing}; sweeper faults: {per}; oracle halves {halves}; faults "
      f"on pages moved before numa record asked: {unplaced}")
total = sum(s["values"][0] for s in grid)
check(unplaced < total, f"all {total} grid faults on pages balancing moved before numa record "
      f"first asked where they were")
if balancing == 1:
    for tid, (node, half) in sweepers.items():
        f = per[tid]
        check(f["faults"] > 0, f"balancing on, yet no hinting fault of sweeper {tid} (node {node})")
        half_nodes = halves[half][1]
        want = half_nodes.get(node, 0) / max(1, sum(half_nodes.values()))
        if not f["placed"]:
            # pmuprof, seconds behind in the slow guest, first asked after balancing had
            # moved every page of this half: no fault of it has a node to be local to.
            print(f"  sweeper {tid} on node {node}: none of its {f['faults']} faults on a page "
                  f"placed then (moved before numa record first asked); not checked")
            check(node != 0, f"sweeper {tid} on node 0: no fault on a placed page")
            continue
        got = f["local"] / f["placed"]
        # A fault is local by its page's node at that fault: the half first touched on
        # node 0 is local to node 0's sweeper throughout; balancing moves node 1's half
        # in that sweeper's hinting faults, each on a page still on node 0, so its share
        # of local faults is at most the share of its half on node 1 at the end.
        if node == 0:
            check(abs(got - want) <= 0.10, f"sweeper {tid} on node 0: {got:.1%} of its faults "
                  f"local, yet {want:.1%} of its half is on node 0 throughout")
        else:
            check(got <= want + 0.10,
                  f"sweeper {tid} on node {node}: {got:.1%} of its faults local, with "
                  f"{want:.1%} of its half on its node at the end, moved there by balancing "
                  f"in its own (remote) faults")

# --- numa report: the verdict and the thread x node matrix ---------------------------------
rep = sec.get("report", "")
print(rep)
check("status 0" in rep, f"numa report failed:\n{rep}")
later = [s for s in grid if s["labels"].get("touch") == "later"]
n_later = sum(s["values"][0] for s in later)
from1 = sum(s["values"][0] for s in later if s["labels"]["node"] == 1)
m = re.search(r"^  serial_first_touch: `grid`: 100\.0% of its 64\.0 MiB first-touched by tid "
              r"(\d+) \(.*?\) on node 0 in init_grid \(serial init\); ([\d.]+)% of its (\d+) "
              r"accesses after the first touch come from node 1 \([\d.]+%\) -> touch it in "
              r"parallel with the same partitioning as `sweep`", rep, re.M)
check(m, f"no serial first touch verdict for grid (later faults {n_later}, {from1} from node 1)")
check(int(m.group(1)) == init_tid and int(m.group(3)) == n_later
      and abs(float(m.group(2)) - 100.0 * from1 / n_later) < 0.05,
      f"verdict numbers {m.groups()}; the pprof: tid {init_tid}, {from1} of {n_later} from node 1")
j = json.loads(sec["json"])
threads = {t["tid"]: t for t in j["threads"]}
for tid, (node, _) in sweepers.items():
    t = threads.get(tid)
    # Its accesses after the first touch (the grid's hinting faults) all from its node; its
    # stack and TLS were first touched before it pinned itself.
    acc = t and t["accesses_ran_on"]
    check(t and acc[node] == sum(acc) > 0 and not t["wanders"],
          f"sweeper {tid} pinned to node {node}: matrix row {t}")
    row = re.search(rf"^  tid {tid} \(.*?\): .*; after the first touch ran on (.*)$", rep,
                    re.M).group(1)
    check(f"node{node} {acc[node]} (100.0%)" in row, f"sweeper {tid}'s text row: {row}")
print(f"ok: numa report: {m.group(0).strip()}")
print("PASS")
