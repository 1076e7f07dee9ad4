"""`pmuprof numa record -- numa_cases MODE` for every placement with a known answer, in
one boot of a guest of NODES nodes (argv[1], 2 or 4): parallel first touch, an interleaved
grid swept in parts by one thread per node, mbind to the last node, a sweeper on the last
node over memory bound to node 0, and automatic NUMA balancing moving a grid first touched
on node 0 to its sweeper's node; then `pmuprof numa report` of each profile.

Each case is checked against the workload's own oracle (move_pages of every page of its
64 MiB `grid`, of each part, and /proc/vmstat's NUMA counters over its run):
- the grid's pages by node at the end within 5 % of the oracle's, and the oracle itself
  as the case means it (e.g. all on the last node after mbind);
- the first touch: thread, node and function of each part (parallel: one thread per node
  in touch_part; otherwise all by the main thread on node 0 in init_grid);
- local/remote: each worker's grid faults in the pprof (hinting faults while balancing
  runs) local within 10 % of the share of its part on its node at the end;
- the migrations: balancing case, the grid's sampled pages that numa record saw change
  node (asked soon after the first touch, then every 200 ms or so, and at the end) within
  10 % of the share of the grid the oracle finds moved, while /proc/vmstat counted the pages
  migrated; each move came after a remote fault of the sweeper on that page (a fault is
  labelled with the node its page was on then), and the report says when; no moves of the
  grid in the other cases;
- the verdict numa report names: parallel well_placed, interleave interleaved_partitioned,
  remote remote_memory for the sweeper on the grid, balance moved_by_balancing (when numa
  record saw the moves), mbind not well_placed (the grid has no access after its first
  touch: balancing does not scan an mbind'ed range; the main thread's remote first touches
  may name it remote_memory when they are half of its faults); no wandering_thread (the
  main thread pins itself to node 0 once it started).
"""
import json
import os
import re
import sys
import tempfile

from lab import LAB_DIR, NODE_CPUS, PMUPROF, check, guest, node_cpus, sections
from common import load_profile, workload

NODES = int(sys.argv[1]) if len(sys.argv) > 1 else 2
CASES = ["parallel", "interleave", "mbind", "remote", "balance"]
SECONDS = {"parallel": 2, "interleave": 2, "remote": 2, "balance": 3}

os.makedirs(LAB_DIR, exist_ok=True)
out = tempfile.mkdtemp(prefix="numa-cases-", dir=LAB_DIR)
wl = workload("numa_cases")
runs = "; ".join(f"echo === {c}; {PMUPROF} numa record -o /tmp/{c}.pb.gz -- {wl} {c} "
                 f"{SECONDS.get(c, 0)} 2>&1; echo status $?; cp /tmp/{c}.pb.gz {out}/; "
                 f"{PMUPROF} numa report --json /tmp/{c}.pb.gz > {out}/{c}.json 2>&1; "
                 f"{PMUPROF} numa report /tmp/{c}.pb.gz > {out}/{c}.txt 2>&1"
                 for c in CASES)
r = guest(f"echo === balancing; cat /proc/sys/kernel/numa_balancing; {runs}; {NODE_CPUS}",
          nodes=NODES, shares=[out])
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stderr}")
sec = sections(r.stdout)
balancing = int(sec["balancing"].strip() or 0)
nodes = node_cpus(sec["nodes"])
check(len(nodes) == NODES, f"the guest has nodes {sorted(nodes)}, not {NODES}")
node_of_cpu = {c: n for n, cpus in nodes.items() for c in cpus}
last = NODES - 1
print(f"{NODES} nodes, NUMA balancing {balancing}")


def counts(line):
    return {int(n): int(c) for n, c in re.findall(r"node(\d+)=(\d+)", line)}


def share(by_node, node):
    return by_node.get(node, 0) / max(1, sum(by_node.values()))


def near(got, want, tol, what):
    check(abs(got - want) <= tol, f"{what}: {got:.1%}, the oracle {want:.1%} (tolerance "
          f"{tol:.0%})")


def case(name):
    text = sec.get(name, "")
    check("status 0" in text, f"{name}: numa record failed:\n{text}\n{r.stderr}")
    check(f"{NODES} NUMA nodes" in text, f"{name}: the summary does not say {NODES} NUMA nodes")
    threads = [dict(tid=int(t), node=int(n), role=ro, part=int(p)) for t, n, ro, p in
               re.findall(r"^thread tid=(\d+) node=(\d+) role=(\w+) part=(\d+)$", text, re.M)]
    whole = counts(re.search(r"^oracle pages=\d+ (.*)$", text, re.M).group(1))
    parts = {int(p): counts(rest) for p, rest in
             re.findall(r"^oracle part=(\d+) pages=\d+ (.*)$", text, re.M)}
    vm = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", re.search(r"^vmstat (.*)$", text,
                                                                       re.M).group(1))}
    block = re.search(r"^grid \(pid \d+, 64\.0 MiB at 0x[0-9a-f]+\): (\d+) pages sampled.*?\n"
                      r"((?:  .*\n)+)", text, re.M)
    check(block, f"{name}: no grid object in the summary:\n{text}")
    body = block.group(2)
    m = re.search(r"pages by node at the end:(.*) of (\d+) present", body)
    check(m, f"{name}: no placement of the grid:\n{body}")
    placed = {int(n): int(c) for n, c in re.findall(r"node(\d+) (\d+) \(", m.group(1))}
    touch = [(float(p), int(t), int(n), f) for p, t, n, f in
             re.findall(r"first touch: ([\d.]+)% of pages by tid (\d+) \(.*?\) on node (\d+) "
                        r"in (\S+)", body)]
    moved = re.search(r"moved: (\d+) sampled pages", body)
    samples = [s for s in load_profile(os.path.join(out, f"{name}.pb.gz"))["samples"]
               if s["labels"].get("object") == "grid"]
    check(samples, f"{name}: no sample labelled object=grid")
    unplaced = 0
    for s in samples:
        lb = s["labels"]
        # Balancing moved its page before numa record, behind in the slow guest, first
        # placed it: no node at this fault, no access (the balance case only).
        keys = ("node", "data_node", "first_touch_node", "access", "cpu", "tid")
        if name == "balance" and "data_node" not in lb and "access" not in lb:
            unplaced += s["values"][0]
            keys = ("node", "cpu", "tid")
        for key in keys:
            check(key in lb, f"{name}: a grid sample without {key}: {lb}")
        if "data_node" not in lb:
            continue
        check(lb["node"] == node_of_cpu[lb["cpu"]], f"{name}: cpu {lb['cpu']} labelled node "
              f"{lb['node']}")
        check((lb["access"] == "local") == (lb["node"] == lb["data_node"]),
              f"{name}: access wrong: {lb}")
    if unplaced:
        print(f"  {name}: {unplaced} grid faults on pages moved before numa record placed them")
    with open(os.path.join(out, f"{name}.json")) as f:
        report = json.load(f)
    with open(os.path.join(out, f"{name}.txt")) as f:
        report_text = f.read()
    return dict(text=text, threads=threads, whole=whole, parts=parts, vm=vm,
                sampled=int(block.group(1)), placed=placed, touch=touch, samples=samples,
                moved=int(moved.group(1)) if moved else 0, report=report,
                report_text=report_text)


def verdicts(c, kind):
    return [v for v in c["report"]["verdicts"] if v["kind"] == kind]


def grid_verdicts(c):
    return [v for v in c["report"]["verdicts"] if v.get("object") == "grid"]


def check_placement(name, c, want):
    """numa record's grid by node against the oracle's, and the oracle against WANT."""
    for n in nodes:
        near(share(c["whole"], n), want.get(n, 0), 0.05, f"{name}: the oracle's grid on node {n}")
        near(share(c["placed"], n), share(c["whole"], n), 0.05,
             f"{name}: numa record's grid on node {n}")


def check_touch(name, c, want):
    """WANT: [(share, tid, node, func)] of the first touches, in any order."""
    got = sorted(c["touch"], key=lambda t: t[1])
    check(len(got) == len(want), f"{name}: first touches {got}, expected {want}")
    for (pct, tid, node, func), (wshare, wtid, wnode, wfunc) in zip(got, sorted(want, key=lambda t: t[1])):
        check((tid, node, func) == (wtid, wnode, wfunc),
              f"{name}: first touch by tid {tid} on node {node} in {func}; expected tid {wtid} "
              f"on node {wnode} in {wfunc}")
        near(pct / 100, wshare, 0.05, f"{name}: share first-touched by tid {tid}")


def local_share(c, tid):
    """(faults, local share) of tid's grid samples in the pprof."""
    faults = sum(s["values"][0] for s in c["samples"] if s["labels"]["tid"] == tid)
    local = sum(s["values"][0] for s in c["samples"]
                if s["labels"]["tid"] == tid and s["labels"]["access"] == "local")
    return faults, local / max(1, faults)


def check_access(name, c, worker, part_nodes):
    """The worker's grid faults local within 10 % of its part's share on its node."""
    faults, got = local_share(c, worker["tid"])
    want = share(part_nodes, worker["node"])
    print(f"  {name}: tid {worker['tid']} on node {worker['node']}: {faults} grid faults, "
          f"{got:.1%} local; {want:.1%} of its part on its node at the end")
    if balancing == 1 or name == "parallel":
        check(faults > 0, f"{name}: no grid fault of tid {worker['tid']}")
    if faults:
        near(got, want, 0.10, f"{name}: tid {worker['tid']}'s local grid faults")


for name in CASES:
    c = case(name)
    main = [t for t in c["threads"] if t["role"] == "init"]
    print(f"{name}: oracle {c['whole']}, numa record {c['placed']}, first touch {c['touch']}, "
          f"moved {c['moved']}, vmstat {c['vm']}")
    if name == "parallel":
        workers = c["threads"]
        check(len(workers) == NODES, f"parallel: threads {workers}")
        check_placement(name, c, {n: 1 / NODES for n in nodes})
        for w in workers:
            near(share(c["parts"][w["part"]], w["node"]), 1.0, 0.05,
                 f"parallel: the oracle's part {w['part']} on node {w['node']}")
        check_touch(name, c, [(1 / NODES, w["tid"], w["node"], "touch_part") for w in workers])
        for w in workers:
            check_access(name, c, w, c["parts"][w["part"]])
    else:
        check(len(main) == 1, f"{name}: threads {c['threads']}")
        check_touch(name, c, [(1.0, main[0]["tid"], 0, "init_grid")])
    if name == "interleave":
        check_placement(name, c, {n: 1 / NODES for n in nodes})
        sweepers = [t for t in c["threads"] if t["role"] == "sweeper"]
        check(len(sweepers) == NODES, f"interleave: sweepers {sweepers}")
        for w in sweepers:
            check_access(name, c, w, c["parts"][w["part"]])
    if name == "mbind":
        check_placement(name, c, {last: 1.0})
        faults, got = local_share(c, main[0]["tid"])
        check(faults > 0 and got == 0, f"mbind: the main thread on node 0 touched the grid on "
              f"node {last}: {faults} faults, {got:.1%} local")
        check(not verdicts(c, "well_placed") or all(v["object"] != "grid" for v in
                                                    verdicts(c, "well_placed")),
              f"mbind: the grid, all of it written from node 0 onto node {last}, called well "
              f"placed: {c['report']['verdicts']}")
    if name == "remote":
        check_placement(name, c, {0: 1.0})
        sweeper = [t for t in c["threads"] if t["role"] == "sweeper"][0]
        check_access(name, c, sweeper, c["whole"])
    if name != "balance":
        check(c["moved"] == 0, f"{name}: {c['moved']} grid pages moved, none should")
    if name == "parallel":
        want = [v for v in grid_verdicts(c) if v["kind"] == "well_placed"]
        check(want and len(grid_verdicts(c)) == 1, f"parallel: verdicts on the grid "
              f"{grid_verdicts(c)}, expected well_placed")
    if name == "interleave":
        check([v["kind"] for v in grid_verdicts(c)] == ["interleaved_partitioned"],
              f"interleave: verdicts on the grid {grid_verdicts(c)}, expected "
              f"interleaved_partitioned")
    if name == "remote":
        sweeper = [t for t in c["threads"] if t["role"] == "sweeper"][0]
        want = [v for v in verdicts(c, "remote_memory") if v["tid"] == sweeper["tid"]]
        check(want and want[0]["object"] == "grid", f"remote: no remote_memory verdict for "
              f"the sweeper (tid {sweeper['tid']}) on the grid: {c['report']['verdicts']}")
    for v in c["report"]["verdicts"]:
        print(f"  verdict {v['kind']}: {v['text']}")
    check(not verdicts(c, "wandering_thread"), f"{name}: a thread wanders: "
          f"{verdicts(c, 'wandering_thread')}")
    if name == "balance":
        sweeper = [t for t in c["threads"] if t["role"] == "sweeper"][0]
        check_placement(name, c, {n: share(c["whole"], n) for n in nodes})
        faults, got = local_share(c, sweeper["tid"])
        remote = round(faults * (1 - got))
        print(f"  balance: tid {sweeper['tid']}: {faults} grid faults, {remote} remote at "
              f"the fault")
        check(remote >= c["moved"], f"balance: {c['moved']} sampled grid pages moved, each "
              f"after a fault of the sweeper on node {last}, yet only {remote} of its grid "
              f"faults are labelled remote")
        gone = 1 - share(c["whole"], 0)
        print(f"  balance: the oracle's grid moved off node 0: {gone:.1%}; /proc/vmstat "
              f"numa_pages_migrated {c['vm']['numa_pages_migrated']}; numa record: "
              f"{c['moved']} of {c['sampled']} sampled grid pages moved")
        if balancing == 1:
            check(gone >= 0.5 and c["vm"]["numa_pages_migrated"] >= gone * 16384 * 0.9,
                  f"balance: balancing on, yet the oracle finds {gone:.1%} of the grid moved "
                  f"and /proc/vmstat {c['vm']['numa_pages_migrated']} pages migrated")
        # numa record sees a move only when its first query of a page came before the
        # migration: a slow pmuprof (the CI's clean run saw 0 of 32) asks too late. The
        # migrations themselves are counted from the tracepoints (lab.numa_kernel).
        if c["moved"]:
            near(c["moved"] / max(1, c["sampled"]), gone, 0.10,
                 "balance: the grid's sampled pages numa record saw move")
            check(re.search(r"^  moved: \d+ sampled pages changed node after their first "
                            r"touch, \d+ moves? to node.*between [\d.]+ s and [\d.]+ s after "
                            r"the start$", c["report_text"], re.M),
                  f"balance: the report does not say when the grid moved:\n"
                  f"{c['report_text']}")
            grid = [o for o in c["report"]["objects"] if o["name"] == "grid"][0]
            check(grid["moved"]["pages"] == c["moved"] and
                  0 <= grid["moved"]["after_s"] <= grid["moved"]["before_s"] <= 10,
                  f"balance: the report's JSON moves of the grid {grid['moved']}")
            if c["moved"] >= 4 and c["moved"] >= 0.25 * c["sampled"]:
                check([v["kind"] for v in grid_verdicts(c)] == ["moved_by_balancing"],
                      f"balance: verdicts on the grid {grid_verdicts(c)}, expected "
                      f"moved_by_balancing")
        else:
            print("  note: numa record asked each grid page only after balancing had moved "
                  "it: no move seen between its queries (not checked in this run)")
print("PASS")
