"""stat --per-thread -p PID and -t TID against perf stat on bench/threads (3 busy workers and a
main thread waiting for them): one row per thread named comm-tid as perf names them, in perf's
columns (comm right-aligned in 16, the tid in 8), each event's threads by count, the largest
first; -x and -j carry the same fields and keys; -t counts its one thread only (about a third of
the process's task-clock, under "thread id 'TID'"); --per-thread without -p or -t exits 2."""
import json
import re
import subprocess
import time

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no oracle")

threads = bench("threads")
victim = subprocess.Popen([threads, "--threads", "3", "--iters", "30000000000"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:

    time.sleep(0.3)
    pid = str(victim.pid)
    tids = sorted(os.listdir(f"/proc/{pid}/task"), key=int)
    check(len(tids) == 4, f"bench/threads has threads {tids}, want 4")
    names = {f"threads-{t}" for t in tids}

    def both(args):
        r1 = run([PMUPROF, "stat"] + args + ["--", "sleep", "0.3"])
        check(r1.returncode == 0, f"pmuprof stat {args} failed: {r1.stderr}")
        r2 = run(["perf", "stat"] + args + ["--", "sleep", "0.3"])
        check(r2.returncode == 0, f"perf stat {args} failed: {r2.stderr}")
        print(r1.stderr, r2.stderr, sep="\n")
        return r1.stderr, r2.stderr

    ours, theirs = both(["--per-thread", "-p", pid, "-e", "task-clock,page-faults"])
    rows = lambda t: [l for l in t.splitlines() if re.match(r"^ *threads-\d+ ", l)]
    orows, trows = rows(ours), rows(theirs)
    check(len(orows) == len(trows) == 8, f"rows: {len(orows)} ours, {len(trows)} perf's")
    check({l.split()[0] for l in orows} == names, f"thread names {orows}")
    key = lambda l: (l.split()[0], "task-clock" if "task-clock" in l else "page-faults")
    perf_row = {key(t): t for t in trows}
    for o in orows:
        t = perf_row[key(o)]
        # the name's column, the value's right edge
        check(o.index(o.split()[0]) == t.index(t.split()[0]) and
              o.index(o.split()[1]) + len(o.split()[1]) == t.index(t.split()[1]) + len(t.split()[1]),
              f"columns of {o!r} vs perf's {t!r}")
        if "#" in o and "#" in t:
            check(o.index("#") == t.index("#"), f"metric column of {o!r} vs perf's {t!r}")
    clock = [float(l.split()[1]) for l in orows if "task-clock" in l and "<" not in l]
    check(len(clock) == 3 and clock == sorted(clock, reverse=True),
          f"task-clock rows not the 3 workers, largest first: {clock}")
    check("Performance counter stats for process id" in ours, "header")

    ours, theirs = both(["--per-thread", "-x", ",", "-p", pid, "-e", "task-clock"])
    oc, tc = csv_rows(ours), csv_rows(theirs)
    check(sorted(f[0] for f in oc) == sorted(f[0] for f in tc) and
          all(len(f) == len(tc[0]) for f in oc), f"-x {oc} vs perf's {tc}")
    check(sorted(f[5] for f in oc) == sorted(f[5] for f in tc), f"-x pcnt-running {oc} vs {tc}")
    ours, theirs = both(["--per-thread", "-j", "-p", pid, "-e", "task-clock"])
    oj = [json.loads(l) for l in ours.splitlines() if l.startswith("{")]
    tj = [json.loads(l) for l in theirs.splitlines() if l.startswith("{")]
    check({x["thread"] for x in oj} == names and list(oj[0]) == list(tj[0]),
          f"-j {oj} vs perf's {tj}")

    # -t: the one thread.
    worker = tids[-1]
    r = run([PMUPROF, "stat", "-x", ",", "-t", worker, "-e", "task-clock", "--", "sleep", "0.3"])
    check(r.returncode == 0, f"-t failed: {r.stderr}")
    one = stat_values(r.stderr)["task-clock"]
    r = run([PMUPROF, "stat", "-x", ",", "-p", pid, "-e", "task-clock", "--", "sleep", "0.3"])
    whole = stat_values(r.stderr)["task-clock"]
    print(f"task-clock: thread {worker} {one:.1f} ms, process {whole:.1f} ms")
    check(0 < one < 0.6 * whole, f"-t {worker} counted {one:.1f} ms of the process's {whole:.1f}")
    r = run([PMUPROF, "stat", "-t", worker, "-e", "task-clock", "--", "sleep", "0.1"])
    check(f"for thread id '{worker}'" in r.stderr, f"-t header: {r.stderr}")
finally:
    victim.kill()
    victim.wait()

r = run([PMUPROF, "stat", "--per-thread", "true"])
check(r.returncode == 2 and "--per-thread" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
      f"--per-thread without -p or -t: {r.returncode} {r.stderr!r}")
print("ok")
