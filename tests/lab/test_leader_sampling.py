"""Leader sampling ('{A,B}:S') on the guest's Debian 6.1 kernel, which refuses inherit
with PERF_SAMPLE_READ (Linux < 6.12): pmuprof records as perf does there, with the
members' deltas at each sample, and says once which threads it cannot follow.

In one guest, perf 6.1 beside pmuprof as the oracle (software events: the x86 guest
has no PMU, and the kernel's check is the same for every PMU):
  - a command (bench/mix: its first thread faults 64 MiB in, a second thread joins
    for the last phase): the same threads sampled as perf (on 6.1 the first only),
    task-clock deltas summing to the cpu-clock periods (both time the same thread
    between two samples) as perf's do, page-faults deltas non-zero, one line
    naming what is not followed;
  - -p PID of a running two-thread bench/falseshare: every thread that exists is
    sampled (perf samples the same ones), task-clock deltas non-zero, the line;
  - -a with the command: every thread of it sampled, no line (whole CPUs need no
    inherit, which is what the line tells the user to do).
On a kernel of 6.12 or later the line must not appear and every thread is sampled.
"""
import os
import re
import tempfile

from lab import BENCH, LAB_DIR, PMUPROF, check, guest, sections
from common import load_profile

GROUP = "{cpu-clock,task-clock,page-faults}:S"
PGROUP = "{cpu-clock,task-clock}:S"
NOTICE = "cannot read a group at each sample in threads created later"

os.makedirs(LAB_DIR, exist_ok=True)
out = tempfile.mkdtemp(prefix="leader-", dir=LAB_DIR)
# Profiles go to the guest's tmpfs (perf cannot mmap perf.data on 9p), then to the share.
script = f"""
echo === uname
uname -r
echo === cmd
{PMUPROF} record -e '{GROUP}' -o /tmp/cmd.pb.gz -- {BENCH}/mix >/dev/null 2>/tmp/err
echo status $?
cat /tmp/err
cp /tmp/cmd.pb.gz {out}/
echo === perf_cmd
perf record -e '{GROUP}' -o /tmp/cmd.data -- {BENCH}/mix >/dev/null 2>/tmp/err
echo status $?
perf script -i /tmp/cmd.data -F pid,tid,event,period 2>/dev/null
echo === pid
{BENCH}/falseshare --threads 2 --iters 4000000000 >/dev/null &
fs=$!
sleep 2
echo target $fs $(ls /proc/$fs/task)
{PMUPROF} record -p $fs -e '{PGROUP}' -o /tmp/pid.pb.gz --duration 3s 2>/tmp/err
echo status $?
cat /tmp/err
cp /tmp/pid.pb.gz {out}/
echo === perf_pid
perf record -p $fs -e '{PGROUP}' -o /tmp/pid.data -- sleep 3 >/dev/null 2>/tmp/err
echo status $?
perf script -i /tmp/pid.data -F pid,tid,event,period 2>/dev/null
kill $fs
echo === all
{PMUPROF} record -a -e '{GROUP}' -o /tmp/all.pb.gz -- {BENCH}/mix >/dev/null 2>/tmp/err
echo status $?
cat /tmp/err
cp /tmp/all.pb.gz {out}/
"""
r = guest(script, nodes=2, shares=[out])
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stderr}")
s = sections(r.stdout)
release = s["uname"].strip()
major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", release).groups())
old_kernel = (major, minor) < (6, 12)
print(f"guest kernel {release}: {'refuses' if old_kernel else 'allows'} inherit with "
      f"PERF_SAMPLE_READ")


def pmuprof_run(name, path):
    body = s.get(name, "")
    check("status 0" in body, f"pmuprof record ({name}) failed:\n{body}\n{r.stderr}")
    return body, load_profile(os.path.join(out, path))


def values(prof, prefix):
    """{tid: sum} of the sample type named PREFIX..., and the pid of the samples."""
    idx = [i for i, t in enumerate(prof["types"]) if t.startswith(prefix)]
    check(idx, f"no sample type {prefix}* in {prof['types']}")
    per_tid, pids = {}, set()
    for smp in prof["samples"]:
        tid = smp["labels"]["tid"]
        per_tid[tid] = per_tid.get(tid, 0) + smp["values"][idx[0]]
        pids.add(smp["labels"]["pid"])
    return per_tid, pids


def perf_samples(body, pid=None):
    """{event: {tid: [samples, period sum]}} from perf script -F pid,tid,event,period."""
    check("status 0" in body, f"perf record failed:\n{body}")
    ev = {}
    for line in body.splitlines():
        m = re.match(r"\s*(\d+)/(\d+)\s+(\d+)\s+(\S+):", line)
        if m and (pid is None or int(m.group(1)) == pid):
            d = ev.setdefault(m.group(4), {}).setdefault(int(m.group(2)), [0, 0])
            d[0] += 1
            d[1] += int(m.group(3))
    return ev


def check_notice(name, body, expect):
    lines = [l for l in body.splitlines() if NOTICE in l]
    if expect:
        check(len(lines) == 1 and "-a" in lines[0],
              f"{name}: want one line saying which threads are not followed and what to do; "
              f"stderr:\n{body}")
    else:
        check(not lines, f"{name}: the line about threads created later, where it does not "
                         f"apply:\n{body}")
    return lines[0] if lines else ""


# A command: the threads perf samples, task-clock deltas agreeing with cpu-clock as perf's.
body, prof = pmuprof_run("cmd", "cmd.pb.gz")
line = check_notice("command", body, old_kernel)
clock, pids = values(prof, "cpu-clock")
tclock, _ = values(prof, "task-clock")
faults, _ = values(prof, "page-faults")
check(len(pids) == 1, f"samples of several processes: {pids}")
pid = pids.pop()
perf = perf_samples(s["perf_cmd"])
check(perf.get("cpu-clock") and perf.get("task-clock"), f"perf recorded no group: {perf}")
if old_kernel:
    check(set(clock) == {pid}, f"on {release} only the command's first thread can be "
          f"sampled (as perf does); sampled threads {sorted(clock)}, pid {pid}")
    check(len(perf["cpu-clock"]) == 1, f"perf sampled threads {sorted(perf['cpu-clock'])}")
else:
    check(len(clock) == 2, f"threads sampled {sorted(clock)}; bench/mix runs two")
check(sum(faults.values()) > 0 and sum(clock.values()) > 0,
      f"a member without values: cpu-clock {clock}, page-faults {faults}")
ours = sum(tclock.values()) / sum(clock.values())
theirs = (sum(v[1] for v in perf["task-clock"].values()) /
          sum(v[1] for v in perf["cpu-clock"].values()))
check(0.95 <= ours <= 1.05 and 0.95 <= theirs <= 1.05,
      f"task-clock deltas / cpu-clock periods: {ours:.3f} (perf {theirs:.3f}); both time the "
      f"sampled thread, so about 1")
# How many samples each takes follows the emulated thread's run time, which varies with
# the host's load (no timing is judged in the guest): none may be lost, that is all.
perf_n = sum(v[0] for v in perf["cpu-clock"].values())
samples_total = sum(smp["values"][0] for smp in prof["samples"])
check(samples_total > 100 and any(c.startswith("lost samples: 0;") for c in prof["comments"]),
      f"{samples_total} cpu-clock samples; comments {prof['comments']}")
print(f"ok: command: {samples_total} samples (perf {perf_n}) in {len(clock)} thread(s) "
      f"(perf {len(perf['cpu-clock'])}); task-clock deltas / cpu-clock periods {ours:.3f} "
      f"(perf {theirs:.3f}); page-faults deltas sum {sum(faults.values())}; "
      f"line: {line or '(none)'}")

# -p PID: the threads that exist are followed, as perf does.
body, prof = pmuprof_run("pid", "pid.pb.gz")
target = re.search(r"^target (\d+) ([\d ]+)$", s["pid"], re.M)
check(target, f"bench/falseshare did not start:\n{s['pid']}")
fs_pid, fs_tids = int(target.group(1)), {int(t) for t in target.group(2).split()}
check(len(fs_tids) == 3, f"bench/falseshare --threads 2 has tasks {fs_tids}")
line = check_notice("-p", body, old_kernel)
clock, pids = values(prof, "cpu-clock")
tclock, _ = values(prof, "task-clock")
check(pids == {fs_pid}, f"samples of {pids}, the target is {fs_pid}")
perf = perf_samples(s["perf_pid"], fs_pid)
check(perf.get("cpu-clock"), f"perf -p sampled nothing: {s['perf_pid']}")
check(set(clock) == set(perf["cpu-clock"]) and len(clock) == 2,
      f"threads sampled {sorted(clock)}; perf -p sampled {sorted(perf['cpu-clock'])}")
check(all(0.9 <= tclock.get(t, 0) / clock[t] <= 1.1 for t in clock),
      f"task-clock deltas {tclock} vs cpu-clock periods {clock} per thread")
print(f"ok: -p: threads {sorted(clock)} as perf; cpu-clock samples "
      f"{sum(smp['values'][0] for smp in prof['samples'])}, task-clock deltas per thread "
      f"{tclock}")

# -a with the command: whole CPUs, every thread, no line.
body, prof = pmuprof_run("all", "all.pb.gz")
check_notice("-a", body, False)
faults, pids = values(prof, "page-faults")
clock, _ = values(prof, "cpu-clock")
mix_tids = {smp["labels"]["tid"] for smp in prof["samples"]
            if smp["stack"] and any("mix_" in f for loc in smp["stack"] for f in loc)}
check(len(mix_tids) == 2, f"-a: bench/mix's two threads should both be sampled; "
      f"threads in mix_* functions: {sorted(mix_tids)}")
check(sum(faults.values()) > 0, f"-a: page-faults deltas {faults}")
print(f"ok: -a: {sum(smp['values'][0] for smp in prof['samples'])} samples; bench/mix threads {sorted(mix_tids)}; "
      f"page-faults deltas sum {sum(faults.values())}")
print("PASS")
