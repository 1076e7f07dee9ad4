"""`pmuprof record -a --readers node` in the 2-node guest: while it records, it has
one reader thread per node, each pinned to that node's CPUs (the threads' affinity
read from /proc/PID/task/*/status), and the main thread stays unpinned."""
from lab import NODE_CPUS, PMUPROF, check, cpulist, guest, node_cpus, sections

# Snapshots of every thread's affinity each 0.5 s once the readers are up; the last one
# counts (a reader pins itself a moment after it starts).
script = f"""
{PMUPROF} record -a --readers node -e cpu-clock -o /tmp/r.pb.gz --duration 12s 2>/tmp/err &
pid=$!
i=0
while [ $i -lt 40 ] && [ $(ls /proc/$pid/task | wc -l) -lt 3 ]; do sleep 0.5; i=$((i+1)); done
sleep 2
echo === threads
for t in /proc/$pid/task/[0-9]*; do
    [ -r $t/status ] && echo ${{t##*/}} $(sed -n 's/^Cpus_allowed_list:\\s*//p' $t/status)
done
wait $pid
echo === record
echo status $?
cat /tmp/err
{NODE_CPUS}
"""
r = guest(script, nodes=2)
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stderr}")
s = sections(r.stdout)
check("status 0" in s.get("record", ""), f"record -a failed:\n{r.stdout}\n{r.stderr}")
nodes = node_cpus(s["nodes"])
allcpus = set().union(*nodes.values())
threads = {}
for line in s.get("threads", "").splitlines():
    tid, aff = line.split(" ", 1)
    threads[int(tid)] = cpulist(aff)
check(threads, f"no threads of record -a seen:\n{r.stdout}")
pinned = sorted(sorted(a) for a in threads.values() if a != allcpus)
check(pinned == sorted(sorted(c) for c in nodes.values()),
      f"threads pinned to {pinned}; the nodes' CPUs are {nodes} (all threads: {threads})")
main_tid = min(threads)
check(threads[main_tid] == allcpus, f"the main thread is pinned: {threads}")
print(f"ok: {len(threads)} threads; readers pinned to {pinned}, one per node {nodes}")
print("PASS")
