"""`pmuprof numa pages -p PID --symbol grid` in the 2- and 4-node guests (one boot each):
numa_serial's 64 MiB global placed by a memory policy that automatic NUMA balancing
leaves alone, so the placement asked while it runs is the one its own move_pages
oracle prints at its end:
- `numactl --membind=LAST`: every page on the last node;
- `numactl --interleave=all`: the pages spread evenly, each node's count within 1 %
  of the oracle's (exactly equal in the runs seen);
and `numa pages -p PID` (every mapping) lists the grid's mapping first with the same
shares within 5 % (the mapping is 2 MiB larger than the grid: its huge-page
alignment and the program's other variables, placed by the same policy but in
whole huge pages). The node columns are N0..N(n-1) in node order.
"""
import re
import sys

from lab import PMUPROF, check, guest, sections
from common import workload

wl = workload("numa_serial")


def run_case(nodes):
    last = nodes - 1
    cmds = []
    for name, policy in (("membind", f"--membind={last}"), ("interleave", "--interleave=all")):
        # The grid is placed before the sweepers start; asked while they run (8 s).
        cmds.append(f"echo === {name}; numactl {policy} {wl} 8 > /tmp/{name}.out & "
                    f"sleep 2; {PMUPROF} numa pages -p $! --symbol grid 2>&1; "
                    f"echo === {name}-all; {PMUPROF} numa pages -p $! 2>&1 | head -4; "
                    f"wait; echo === {name}-oracle; cat /tmp/{name}.out")
    r = guest("; ".join(cmds), nodes=nodes, name=f"numa_pages")
    check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stderr}")
    sec = sections(r.stdout)
    for name in ("membind", "interleave"):
        text = sec.get(name, "")
        print(f"--- {nodes} nodes, {name}:\n{text}{sec.get(name + '-all', '')}")
        oracle = re.search(r"^oracle pages=16384 (.*) unplaced=(\d+)$", sec.get(name + "-oracle", ""),
                           re.M)
        check(oracle, f"no oracle line:\n{sec.get(name + '-oracle')}")
        want = [int(x) for x in re.findall(r"node\d+=(\d+)", oracle.group(1))]
        check(len(want) == nodes, f"oracle for {len(want)} nodes: {oracle.group(0)}")
        for view in (name, name + "-all"):
            row = [l for l in sec.get(view, "").splitlines()
                   if re.match(r"\s+[\d.]+ [KMG]?i?B ", l)]
            check(row, f"no placement row in {view}:\n{sec.get(view)}")
            f = row[0].split()
            got = [int(f[3 + 2 * k]) for k in range(nodes)]
            if view == name:
                check(f[6 + 2 * (nodes - 1)] == "grid", f"not the grid's row: {row[0]}")
            # The grid's row has its 16384 pages; its whole mapping a little more (the
            # huge-page alignment), so that view is compared by shares.
            total = sum(got)
            tol = 0.01 if view == name else 0.05
            for k in range(nodes):
                check(abs(got[k] / total - want[k] / 16384) <= tol, f"{nodes} nodes, {view}: "
                      f"node {k} has {got[k]} of {total} pages, the oracle {want[k]} of 16384")
            if view == name:
                check(total == 16384, f"{view}: {total} pages present, not 16384")
                grid_got = got
            if name == "membind":
                check(got[last] == total, f"membind={last}: {got}")
            else:
                check(all(abs(g / total - 1 / nodes) <= tol for g in got),
                      f"interleave over {nodes} nodes: {got}")
        print(f"ok: {nodes} nodes, {name}: numa pages --symbol grid {grid_got}, its mapping "
              f"{got}; oracle {want}")


for n in (2, 4):
    run_case(n)
print("PASS")
