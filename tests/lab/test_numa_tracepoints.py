"""The NUMA tracepoints in the 2-node guest, in one boot: while automatic NUMA balancing
migrates the pages of a 64 MiB buffer first touched on node 0 and swept from node 1's CPUs
(tests/data/workloads/numa_sweep), `pmuprof stat -a -e migrate:mm_migrate_pages,
sched:sched_move_numa` counts what `perf stat -a` counts around the same run, and the sum
of mm_migrate_pages' `succeeded` field, read from each hit's payload through
pmu_tp_field_int (examples/tracepoint_fields), equals /proc/vmstat's pgmigrate_success
delta over the run."""
import os
import re

from lab import PMUPROF, check, guest, sections, skip
from common import stat_values

BUILD = os.path.dirname(os.path.dirname(os.path.abspath(PMUPROF)))
sweep = os.path.join(BUILD, "tests", "data", "workloads", "numa_sweep")
fields = os.path.join(BUILD, "examples", "tracepoint_fields")
for p in (sweep, fields):
    check(os.access(p, os.X_OK), f"{p} is not built")

EVENTS = "migrate:mm_migrate_pages,sched:sched_move_numa"
# perf around pmuprof around the field reader around the workload: each window holds the
# next, and the vmstat reads hold them all (the guest runs nothing else).
r = guest(f"""
echo === balancing; cat /proc/sys/kernel/numa_balancing
c0=$(cat /sys/devices/system/node/node0/cpulist); c1=$(cat /sys/devices/system/node/node1/cpulist)
v0=$(awk '$1 == "pgmigrate_success" {{print $2}}' /proc/vmstat)
perf stat -a -x, -o /tmp/perf.txt -e {EVENTS} -- \\
    {PMUPROF} stat -a -x, -o /tmp/ours.txt -e {EVENTS} -- \\
    {fields} migrate:mm_migrate_pages succeeded -- {sweep} 64 8 $c0 $c1 >/tmp/fields.txt
echo === status; echo $?
v1=$(awk '$1 == "pgmigrate_success" {{print $2}}' /proc/vmstat)
echo === vmstat; echo $((v1 - v0))
echo === perf; cat /tmp/perf.txt
echo === ours; cat /tmp/ours.txt
echo === fields; cat /tmp/fields.txt
""", nodes=2)
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stdout}\n{r.stderr}")
out = sections(r.stdout)
print(r.stdout)
if out["balancing"].strip() != "1":
    skip(f"automatic NUMA balancing is off in the guest ({out['balancing'].strip()})")
check(out["status"].strip() == "0", f"the run failed:\n{r.stdout}\n{r.stderr}")
perf = stat_values(out["perf"])
ours = stat_values(out["ours"])
migrated = int(out["vmstat"])
m = re.search(r"^migrate:mm_migrate_pages: (\d+) hits, sum of succeeded (\d+) \(0 unreadable\)$",
              out["fields"], re.M)
check(m, f"no line from tracepoint_fields: {out['fields']!r}")
hits, succeeded = int(m.group(1)), int(m.group(2))
print(f"pmuprof {ours}, perf {perf}; mm_migrate_pages hits {hits}, succeeded {succeeded}, "
      f"pgmigrate_success +{migrated}")
check(migrated >= 4096, f"balancing migrated only {migrated} pages: no test of migrations")
for ev in EVENTS.split(","):
    check(ev in ours and ev in perf, f"{ev} missing: pmuprof {ours}, perf {perf}")
    check(ours[ev] == perf[ev], f"{ev}: pmuprof {ours[ev]:.0f} != perf {perf[ev]:.0f}")
check(hits == ours["migrate:mm_migrate_pages"],
      f"tracepoint_fields saw {hits} hits, pmuprof stat counted {ours['migrate:mm_migrate_pages']}")
check(succeeded == migrated, f"sum of succeeded {succeeded} != pgmigrate_success delta {migrated}")
print("PASS")
