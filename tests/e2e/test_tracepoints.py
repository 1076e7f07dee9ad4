"""Tracepoints as events, against perf on the same workloads: stat's exact counts of
sched_process_fork/exec (equal to the oracle and to perf stat), a glob, record -e
sched:sched_switch on a workload that sleeps N times (samples at the sleep and their
leaf function, as perf record's), the error lines, and tracefs missing (a private mount
namespace without it: root mounts it as perf does, another user gets the mount line)."""
import os
import re
import shutil
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")
if os.geteuid() != 0:
    # tracefs is mode 700, and perf mounts it only as root.
    skip("not root: tracefs is readable by root only (and may need mounting)")
if not os.path.isdir("/sys/kernel/tracing/events"):
    r = run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"])
    if r.returncode != 0 or not os.path.isdir("/sys/kernel/tracing/events"):
        skip(f"tracefs is not mounted and cannot be: {r.stderr.strip()}")

# A shell that forks and execs /bin/true N times ('[' and '$((' are dash builtins): N
# forks, N + 1 execs (the shell's own exec starts the counting).
N = 25
loop = ["sh", "-c", f"i=0; while [ $i -lt {N} ]; do /bin/true; i=$((i+1)); done"]
events = "sched:sched_process_fork,sched:sched_process_exec"
r = run([PMUPROF, "stat", "-x", ",", "-e", events, "--"] + loop)
check(r.returncode == 0, f"pmuprof stat failed: {r.stderr}")
ours = stat_values(r.stderr)
r = run(["perf", "stat", "-x", ",", "-e", events, "--"] + loop)
check(r.returncode == 0, f"perf stat failed: {r.stderr}")
theirs = stat_values(r.stderr)
print(f"stat: pmuprof {ours}, perf {theirs}, oracle fork={N} exec={N + 1}")
check(ours.get("sched:sched_process_fork") == N, f"fork count {ours}, expected {N}")
check(ours.get("sched:sched_process_exec") == N + 1, f"exec count {ours}, expected {N + 1}")
check(ours == theirs, f"pmuprof {ours} != perf {theirs}")

# The default layout: perf stat's columns, line for line (counts masked); with task-clock
# both add the rate per second.
for evs in (events, events + ",task-clock"):
    r = run([PMUPROF, "stat", "-e", evs, "--"] + loop)
    check(r.returncode == 0, r.stderr)
    p = run(["perf", "stat", "-e", evs, "--"] + loop)
    # A rate's prefix (and so its padding) follows the measured rate, which differs between
    # the two runs (a sanitized pmuprof's run is slower): " N /sec" against "   N K/sec".
    shape = [[re.sub(r"#\s+N [KMG]?/sec", "# N RATE/sec", re.sub(r"\d[\d.,]*", "N", l.rstrip()))
              for l in t.splitlines() if "sched:" in l] for t in (r.stderr, p.stderr)]
    check(len(shape[0]) == 2 and shape[0] == shape[1], f"stat layout {shape[0]} != perf's {shape[1]}")

# list tracepoint: the names perf list tracepoint gives.
r = run([PMUPROF, "list", "tracepoint"])
ours = re.findall(r"^  (\S+:\S+)\s+\[Tracepoint event\]$", r.stdout, re.M)
p = run(["perf", "list", "tracepoint"])
theirs = re.findall(r"^  (\S+:\S+)\s+\[Tracepoint event\]", p.stdout, re.M)
print(f"list tracepoint: pmuprof {len(ours)}, perf {len(theirs)}")
check(r.stdout.startswith("Tracepoint events:\n"), f"list tracepoint: {r.stdout[:200]!r}")
check(len(ours) > 100 and sorted(ours) == sorted(set(theirs)),
      f"list tracepoint differs from perf's: {sorted(set(ours) ^ set(theirs))[:10]}")

# A glob: the same events as perf, the same counts where they are exact.
glob = "sched:sched_process_*"
r = run([PMUPROF, "stat", "-x", ",", "-e", glob, "--"] + loop)
check(r.returncode == 0, f"pmuprof stat -e '{glob}' failed: {r.stderr}")
ours = stat_values(r.stderr)
r = run(["perf", "stat", "-x", ",", "-e", glob, "--"] + loop)
theirs = stat_values(r.stderr)
print(f"glob: {sorted(ours)}")
check(sorted(ours) == sorted(theirs), f"glob events {sorted(ours)} != perf's {sorted(theirs)}")
check(len(ours) >= 4, f"glob matched only {sorted(ours)}")
for ev in ("sched:sched_process_fork", "sched:sched_process_exec", "sched:sched_process_exit"):
    check(ours[ev] == theirs[ev], f"{ev}: pmuprof {ours[ev]} != perf {theirs[ev]}")

# record: every sched_switch is a sample (period 1, as perf); the workload sleeps S times,
# each a switch out of do_nanosleep, leaf __schedule in both tools' call chains.
S = 40
sleeper = ["python3", "-c", f"import time\nfor _ in range({S}): time.sleep(0.002)"]
tmp = tempfile.mkdtemp(prefix="pmuprof-tp-")
try:
    out = os.path.join(tmp, "tp.pb.gz")
    r = run([PMUPROF, "record", "-g", "-e", "sched:sched_switch", "-o", out, "--"] + sleeper)
    check(r.returncode == 0, f"pmuprof record failed: {r.stderr}")
    total = record_samples(r.stderr).get("sched:sched_switch", 0)
    prof = load_profile(out)
    check(prof["types"] == ["samples", "sched:sched_switch"] or
          "sched:sched_switch" in prof["types"], f"sample types {prof['types']}")
    at_sleep = [s for s in prof["samples"]
                if any("do_nanosleep" in fns for fns in s["stack"])]
    ours_sleep = sum(s["values"][0] for s in at_sleep)
    ours_leaf = {s["stack"][0][0] for s in at_sleep}

    data = os.path.join(tmp, "perf.data")
    r = run(["perf", "record", "-q", "-g", "-e", "sched:sched_switch", "-o", data, "--"] + sleeper)
    check(r.returncode == 0, f"perf record failed: {r.stderr}")
    r = run(["perf", "script", "-i", data, "-F", "ip,sym"], timeout=300)
    check(r.returncode == 0, f"perf script failed: {r.stderr}")
    stacks, cur = [], []
    for line in r.stdout.splitlines() + [""]:
        if line.strip():
            cur.append(line)
        elif cur:
            stacks.append(cur)
            cur = []
    perf_total = len(stacks)
    perf_sleep = [st for st in stacks if any(l.split()[-1] == "do_nanosleep" for l in st if l.split())]
    perf_leaf = {st[0].split()[1] for st in perf_sleep}
    print(f"record: pmuprof {total} samples, {ours_sleep} at do_nanosleep, leaf {ours_leaf}; "
          f"perf {perf_total} samples, {len(perf_sleep)} at do_nanosleep, leaf {perf_leaf}")
    check(ours_sleep == S, f"{ours_sleep} samples at do_nanosleep, expected {S}")
    check(len(perf_sleep) == S, f"perf: {len(perf_sleep)} samples at do_nanosleep, expected {S}")
    check(ours_leaf == perf_leaf == {"__schedule"}, f"leaf {ours_leaf} vs perf's {perf_leaf}")
    check(total >= S and perf_total >= S, f"totals {total}, {perf_total} below {S}")

    # -F overrides the tracepoint's own period, as perf's -F does: fewer samples than
    # switches. (-c N does too, but the kernel samples every tracepoint hit whose event
    # samples its period, whatever the period: perf -c 4 gets every hit as well.)
    r = run([PMUPROF, "record", "-F", "1", "-e", "sched:sched_switch", "-o", out, "--"] + sleeper)
    check(r.returncode == 0, r.stderr)
    n = record_samples(r.stderr).get("sched:sched_switch", 0)
    print(f"record -F 1: {n} samples")
    check(0 < n < S, f"-F 1 gave {n} samples for {total} switches")

    # import of perf's recording names the event as perf did.
    imp = os.path.join(tmp, "imp.pb.gz")
    r = run([PMUPROF, "import", data, "-o", imp])
    check(r.returncode == 0, f"import failed: {r.stderr}")
    types = load_profile(imp)["types"]
    check("sched:sched_switch" in types, f"import named the events {types}")
finally:
    shutil.rmtree(tmp)

# Errors: one line each naming the cause and the fix; perf refuses them too.
for spec, want in (("sched:sched_swich", "unknown tracepoint 'sched:sched_swich'; did you mean "
                    "'sched:sched_switch'"),
                   ("migrate:zzz*", "no tracepoint matches 'migrate:zzz*'")):
    r = run([PMUPROF, "stat", "-e", spec, "true"])
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0 and len(lines) == 1 and want in lines[0], f"{spec}: {r.stderr!r}")
    check(run(["perf", "stat", "-e", spec, "true"]).returncode != 0, f"perf accepts {spec}")
    r = run([PMUPROF, "record", "-e", spec, "-o", "/dev/null", "true"])
    check(r.returncode != 0 and want in r.stderr, f"record {spec}: {r.stderr!r}")

# tracefs missing: a private mount namespace where it is not mounted. As root pmuprof
# mounts it (as perf does) and counts; as another user, one line on how to mount it.
if not shutil.which("unshare") or not shutil.which("setpriv"):
    skip("unshare/setpriv missing: the tracefs-missing cases were not run")
hide = ("for m in $(awk '$3 == \"tracefs\" {print $2}' /proc/mounts); do umount -l $m; done; "
        "mount -t tmpfs none /sys/kernel/debug; ")
as_nobody = "setpriv --reuid nobody --regid nogroup --clear-groups "
r = run(["unshare", "-m", "sh", "-c", hide + f"{as_nobody}{PMUPROF} stat -e sched:sched_switch true"])
lines = r.stderr.strip().splitlines()
print("tracefs missing, not root:", lines)
check(r.returncode != 0 and len(lines) == 1 and "tracefs is not mounted" in lines[0] and
      "mount -t tracefs nodev /sys/kernel/tracing" in lines[0], f"tracefs missing: {r.stderr!r}")
r = run(["unshare", "-m", "sh", "-c", hide + f"{as_nobody}{PMUPROF} list tracepoint"])
lines = r.stderr.strip().splitlines()
check(r.returncode == 1 and len(lines) == 1 and "cannot list tracepoints: tracefs is not "
      "mounted" in lines[0], f"list tracepoint, tracefs missing: {r.stderr!r}")
r = run(["unshare", "-m", "sh", "-c", hide + f"{PMUPROF} stat -x , -e sched:sched_process_exec "
         "true && grep -c tracefs /proc/mounts"])
check(r.returncode == 0 and stat_values(r.stderr).get("sched:sched_process_exec") == 1,
      f"root, tracefs missing: {r.stderr!r}")
check(r.stdout.strip() == "1", f"tracefs was not mounted: {r.stdout!r}")
# Mounted but unreadable by this user (tracefs is mode 700): the permission line.
r = run(["sh", "-c", f"{as_nobody}{PMUPROF} stat -e sched:sched_switch true"])
if os.stat("/sys/kernel/tracing").st_mode & 0o005 == 0:
    check(r.returncode != 0 and "no permission to read" in r.stderr and
          "mode=755" in r.stderr, f"unreadable tracefs: {r.stderr!r}")
    # list says the same instead of "no events match"; a full list names what it left out.
    for args, words, code in ((["tracepoint"], "cannot list tracepoints: ", 1),
                              (["sched:*"], "no events match 'sched:*', and tracepoints cannot "
                               "be listed: ", 1),
                              ([], "tracepoints not listed: ", 0)):
        r = run(["sh", "-c", f"{as_nobody}{PMUPROF} list {' '.join(map(repr, args))}"])
        lines = r.stderr.strip().splitlines()
        print(f"list {args}, not root:", lines)
        check(r.returncode == code and len(lines) == 1 and words + "tracefs at /sys/kernel/"
              "tracing is not readable by this user" in lines[0] and "mode=755" in lines[0] and
              "no events match" not in r.stdout, f"list {args} as nobody: {r.returncode} "
              f"{r.stderr!r} {r.stdout[-200:]!r}")
else:
    print("(tracefs is readable by other users here: the unreadable cases were not run)")
# Readable ids (a copy of tracefs's, as TRACEFS_PATH lets perf use) but perf_event_paranoid
# 2: another user must not count a tracepoint in user space only (it would read 0).
paranoid = int(open("/proc/sys/kernel/perf_event_paranoid").read())
if paranoid >= 2:
    fake = tempfile.mkdtemp(prefix="pmuprof-tracefs-")
    try:
        d = os.path.join(fake, "events", "sched", "sched_process_exec")
        os.makedirs(d)
        shutil.copy("/sys/kernel/tracing/events/sched/sched_process_exec/id", d)
        for root, dirs, files in os.walk(fake):
            for x in dirs + files:
                os.chmod(os.path.join(root, x), 0o755)
        os.chmod(fake, 0o755)
        r = run(["sh", "-c", f"TRACEFS_PATH={fake} {as_nobody}{PMUPROF} stat -x , "
                 "-e sched:sched_process_exec /bin/true"])
        print("paranoid 2, not root:", r.stderr.strip())
        check(r.returncode != 0 and "counting a tracepoint (it fires in kernel code) needs "
              "kernel.perf_event_paranoid<=1" in r.stderr, f"paranoid {paranoid}: {r.stderr!r}")
        # An id this user may not read (tracefs's own are root's, mode 0440): that file named.
        os.chmod(os.path.join(d, "id"), 0)
        r = run(["sh", "-c", f"TRACEFS_PATH={fake} {as_nobody}{PMUPROF} stat -x , "
                 "-e sched:sched_process_exec /bin/true"])
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0 and len(lines) == 1 and f"no permission to read {d}/id" in
              lines[0] and "run as root" in lines[0], f"an unreadable id: {r.stderr!r}")
    finally:
        shutil.rmtree(fake)
print("ok")
