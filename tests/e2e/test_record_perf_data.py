"""pmuprof record --perf-data FILE: the merged record stream as perf.data.

perf report / perf script read it without a warning, with per-event sample
counts equal to the pprof's totals (and to pmuprof's own summary) for one
event, two events and call chains; perf report's top symbol is spin_loop;
pmuprof import gives the same totals; -p of a running process gets its
mappings synthesized from /proc (perf script names its symbols); an
unwritable directory and a full disk fail with one clear line, a non-zero
status and no file left behind."""
import os
import re
import shutil
import subprocess
import tempfile
import time

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: it is the oracle")

d = tempfile.mkdtemp()
spin = bench("spin")
PERIOD = 100000
# page-faults gets its own period, or -c would leave it without samples (with
# a fixed period the kernel then records every fault, each of period 1); it
# is named as written, in the pprof and in perf.data alike
FAULTS = "page-faults/period=50/"


def quiet(r, what):
    """perf exited 0 and printed no warning or error."""
    check(r.returncode == 0, f"{what} failed ({r.returncode}): {r.stderr}")
    noise = [l for l in r.stderr.splitlines() if re.search(r"arning|rror|nvalid|ignor|unknown",
                                                           l, re.I)]
    check(not noise, f"{what} complained: {noise}")


def perf_stats(data):
    """{event: samples} from `perf report --stats` (events with samples)."""
    r = run(["perf", "report", "--stats", "-i", data], timeout=300)
    quiet(r, f"perf report --stats -i {data}")
    out, cur = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"^(\S.*) stats:$", line.strip())
        if m and not line.startswith("Aggregated"):
            cur = m.group(1)
        m = re.match(r"\s*SAMPLE events:\s+(\d+)", line)
        if m and cur is not None:
            out[cur] = int(m.group(1))
    return {k: v for k, v in out.items() if v}


def perf_script_samples(data):
    """{event: (samples, sum of their periods)} from `perf script`."""
    r = run(["perf", "script", "-i", data, "-F", "event,period"], timeout=300)
    quiet(r, f"perf script -i {data}")
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if not f:
            continue
        ev = [t for t in f if t.endswith(":")]
        num = [t for t in f if t.isdigit()]
        check(len(ev) == 1 and len(num) == 1, f"perf script line {line!r}")
        n, total = out.get(ev[0][:-1], (0, 0))
        out[ev[0][:-1]] = (n + 1, total + int(num[0]))
    return out


def pprof_totals(path, events):
    """({event: sum of its values}, the samples/count total) from the pprof."""
    prof = load_profile(path)
    check(prof["types"][0] == "samples" and prof["types"][1:1 + len(events)] == events,
          f"{path}: sample types {prof['types']}")
    totals = {ev: sum(s["values"][1 + k] for s in prof["samples"]) for k, ev in enumerate(events)}
    return {k: v for k, v in totals.items() if v}, sum(s["values"][0] for s in prof["samples"])


def top_symbol(data, extra=()):
    r = run(["perf", "report", "-i", data, "--stdio", "--sort", "sym", "--no-children"] +
            list(extra), timeout=300)
    quiet(r, f"perf report --sort sym -i {data}")
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[([.k])\]\s+(\S+)", line)
        if m:
            return m.group(3)
    fail(f"no symbol rows in perf report: {r.stdout[:2000]}")


def import_summary(data):
    """The pprof pmuprof import writes, and {event: samples} from its summary line."""
    out = os.path.join(d, "import.pb.gz")
    r = run([PMUPROF, "import", data, "-o", out], timeout=300)
    check(r.returncode == 0, f"pmuprof import {data} failed: {r.stderr}")
    line = [l for l in r.stderr.splitlines() if l.startswith("pmuprof import: samples")]
    check(line, f"no summary from pmuprof import: {r.stderr}")
    body = line[-1].split("samples", 1)[1].split("; lost")[0]
    counts = re.findall(r"\s(\S+) (\d[\d,]*\d|\d)(?=,|$)", body)
    return out, {ev: int(n.replace(",", "")) for ev, n in counts if n != "0"}


def record(name, args, cmd):
    data, out = os.path.join(d, f"{name}.data"), os.path.join(d, f"{name}.pb.gz")
    r = run([PMUPROF, "record", "--perf-data", data, "-o", out] + args + cmd, timeout=300)
    check(r.returncode == 0, f"{name}: pmuprof record failed: {r.stderr}")
    check(f"and {data} (" in r.stderr, f"{name}: the summary does not name {data}: {r.stderr}")
    check(not [f for f in os.listdir(d) if ".tmp-" in f], f"{name}: temporary files left")
    return data, out, r


# (1)-(3): a command, one event, two events, call chains
cases = [
    ("one", ["-e", "cpu-clock", "-c", str(PERIOD)], ["cpu-clock"], ["--iters", "600000000"]),
    ("two", ["-e", "cpu-clock," + FAULTS, "-c", str(PERIOD)], ["cpu-clock", FAULTS],
     ["--iters", "600000000", "--touch-mb", "16"]),
    ("callchain", ["-g", "-e", "cpu-clock", "-c", str(PERIOD)], ["cpu-clock"],
     ["--iters", "600000000"]),
]
for name, args, events, wl in cases:
    data, out, r = record(name, args, ["--", spin] + wl)
    totals, nsamples = pprof_totals(out, events)
    summary = {k: v for k, v in record_samples(r.stderr).items() if v}
    stats = perf_stats(data)
    script = perf_script_samples(data)
    counts = {ev: n for ev, (n, _) in script.items()}
    check(stats and stats == counts == summary,
          f"{name}: samples: perf report --stats {stats}, perf script {counts}, pmuprof {summary}")
    check(totals == {ev: t for ev, (_, t) in script.items()},
          f"{name}: pprof totals {totals}, perf script's periods {script}")
    check(nsamples == sum(counts.values()), f"{name}: samples/count {nsamples}, perf {counts}")
    top = top_symbol(data, ["--comm", "spin"])
    check(top == "spin_loop", f"{name}: perf report's top symbol is {top}, not spin_loop")
    imp, imp_counts = import_summary(data)
    imp_totals, _ = pprof_totals(imp, events)
    check(imp_counts == counts and imp_totals == totals,
          f"{name}: pmuprof import samples {imp_counts} totals {imp_totals}, recorded {counts} "
          f"{totals}")
    if name == "callchain":
        # spin_loop's caller as perf unwinds the recorded chains, and as the pprof has it
        s = run(["perf", "script", "-i", data, "-F", "ip,sym", "--comm", "spin"], timeout=300)
        quiet(s, "perf script -F ip,sym")
        chains = [[l.split()[-1] for l in b.splitlines() if l.strip()]
                  for b in s.stdout.split("\n\n")]
        callers = [c[1] for c in chains if len(c) > 1 and c[0] == "spin_loop"]
        theirs = max(set(callers), key=callers.count) if callers else None
        prof = load_profile(out)
        callers = [st["stack"][1][-1] for st in prof["samples"]
                   if len(st["stack"]) > 1 and st["stack"][0][0] == "spin_loop"]
        ours = max(set(callers), key=callers.count) if callers else None
        check(theirs and theirs == ours,
              f"spin_loop's caller: perf script {theirs}, pprof {ours}")
    print(f"ok {name}: samples {counts}, pprof totals {totals}: perf report --stats, perf script "
          f"and pmuprof import agree; top symbol {top}")

# (4) -p: a process that was running before: its mappings come from /proc
proc = subprocess.Popen([spin, "--iters", "4000000000"], stdout=subprocess.DEVNULL)
try:
    time.sleep(0.3)
    data, out, r = record("pid", ["-e", "cpu-clock", "-c", str(PERIOD), "-p", str(proc.pid),
                                  "--duration", "2"], [])
finally:
    proc.kill()
    proc.wait()
totals, _ = pprof_totals(out, ["cpu-clock"])
stats = perf_stats(data)
ours = {ev: t // PERIOD for ev, t in totals.items()}
check(ours and ours == stats, f"-p: pprof samples {ours}, perf report --stats {stats}")
s = run(["perf", "script", "-i", data, "-F", "comm,pid,ip,sym,dso"], timeout=300)
quiet(s, "perf script -F comm,pid,ip,sym,dso (-p)")
lines = [l for l in s.stdout.splitlines() if l.strip()]
hits = [l for l in lines if "spin_loop" in l and f"spin {proc.pid}" in " ".join(l.split())]
check(len(hits) >= 0.9 * len(lines), f"-p: {len(hits)} of {len(lines)} samples in spin_loop of "
      f"spin {proc.pid}: {lines[:5]}")
r = run(["perf", "script", "-i", data, "--show-mmap-events", "-F", "comm"], timeout=300)
check(re.search(rf"PERF_RECORD_MMAP2 {proc.pid}/{proc.pid}: .*{re.escape(spin)}", r.stdout),
      f"-p: no synthesized MMAP2 of {spin}: {r.stdout[:2000]}")
print(f"ok -p: samples {ours} = perf report --stats; {len(hits)}/{len(lines)} samples resolve "
      f"to spin_loop through synthesized maps")


# -a: every process of the host synthesized; perf reads it all without a complaint
proc = subprocess.Popen([spin, "--iters", "4000000000"], stdout=subprocess.DEVNULL)
try:
    data, out, r = record("all", ["-e", "cpu-clock", "-c", str(PERIOD), "-a", "--duration", "1"],
                          [])
finally:
    proc.kill()
    proc.wait()
totals, _ = pprof_totals(out, ["cpu-clock"])
stats = perf_stats(data)
counts = {ev: n for ev, (n, _) in perf_script_samples(data).items()}
check(stats and stats == counts == {ev: t // PERIOD for ev, t in totals.items()},
      f"-a: perf report --stats {stats}, perf script {counts}, pprof totals {totals}")
top = top_symbol(data, ["--pid", str(proc.pid)])
check(top == "spin_loop", f"-a: perf report's top symbol of spin is {top}")
print(f"ok -a: samples {counts} agree; spin's top symbol {top}")


# (5) errors: one line naming the cause and the fix, non-zero status, nothing left
def expect_error(args, where, *needles, pprof_ok=False, iters="300000000"):
    out = os.path.join(d, "err.pb.gz")
    if os.path.exists(out):
        os.unlink(out)
    r = run([PMUPROF, "record", "-o", out, "-e", "cpu-clock", "-c", str(PERIOD)] + args +
            ["--", spin, "--iters", iters], timeout=300)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    errs = [l for l in lines if "perf.data" in l]
    check(r.returncode != 0, f"{args}: exit status 0, expected failure")
    check(len(errs) == 1, f"{args}: expected one error line, got {lines}")
    for n in needles:
        check(n in errs[0], f"{args}: message {errs[0]!r} lacks {n!r}")
    check(all(l.startswith("pmuprof record:") for l in lines), f"{args}: stray output {lines}")
    left = [f for f in os.listdir(where) if f != "filler"] if os.path.isdir(where) else []
    check(not left, f"{args}: left {left} in {where}")
    check(os.path.exists(out) == pprof_ok, f"{args}: pprof written: {os.path.exists(out)}")
    print(f"ok {args}: {errs[0]}")


expect_error(["--perf-data", "/nonexistent-dir/x.data"], "/nonexistent-dir",
             "cannot write perf.data /nonexistent-dir/x.data", "No such file or directory",
             "does not exist")
shutil.rmtree(d, ignore_errors=True)
os.makedirs(d)
if os.geteuid() != 0:
    print("SKIP part: read-only and full-disk file systems need root to mount")
    shutil.rmtree(d)
    print("PASS")
    sys.exit(0)
m = tempfile.mkdtemp()
try:
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,ro", "tmpfs", m], capture_output=True)
    if r.returncode != 0:
        skip(f"cannot mount a tmpfs: {r.stderr.decode().strip()}")
    try:
        expect_error(["--perf-data", f"{m}/x.data"], m, f"cannot write perf.data {m}/x.data",
                     "Read-only file system", "a directory you can write to")
    finally:
        subprocess.run(["umount", m])
    # Full disk: a 16 KiB tmpfs, filled up; the pprof (elsewhere) is still written.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", m], check=True)
    try:
        with open(os.path.join(m, "filler"), "wb") as f:
            try:
                f.write(b"x" * 12288)
            except OSError:
                pass
        # at the end (the records fit the writer's buffer), and while recording
        for iters in ("300000000", "2000000000"):
            expect_error(["--perf-data", f"{m}/x.data"], m, f"cannot write perf.data {m}/x.data",
                         "No space left on device", "free some space", pprof_ok=True,
                         iters=iters)
    finally:
        subprocess.run(["umount", m])
finally:
    os.rmdir(m)
shutil.rmtree(d)
print("PASS")
