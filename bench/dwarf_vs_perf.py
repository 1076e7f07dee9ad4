#!/usr/bin/env python3
"""DWARF call-graph recording: pmuprof vs perf, side by side.

usage: bench/dwarf_vs_perf.py BUILD_DIR [ROUNDS=5]

Workload: tests/data/workloads/qsort_hot (a comparator inside libc's qsort,
no frame pointers). Each round, alternating: `perf record --call-graph dwarf`
then `perf script` (perf's way to readable stacks), and `pmuprof record
--call-graph dwarf` (which ends with a symbolized pprof). Both record with the
same event and frequency and the default 8 KiB stack copy.

"End of run to output" is measured from the moment the workload itself
exits (a shell wrapper writes the time) to the moment the tool's output is
complete: for perf, the rest of `perf record` plus all of `perf script`; for
pmuprof, the rest of `pmuprof record`. Also printed: pmuprof's unwinding and
symbolization throughput from the profile's comments, and output sizes.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"error: `{' '.join(cmd)}` exited {r.returncode}: {r.stderr[-800:]}")
    return r


def timed_after_end(cmd, endfile):
    """Runs cmd (whose workload writes its end time to endfile); seconds from then to exit."""
    r = run(cmd)
    done = time.time()
    with open(endfile) as f:
        return done - float(f.read()), r


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    pmuprof = os.path.join(build, "cli", "pmuprof")
    prog = os.path.join(build, "tests", "data", "workloads", "qsort_hot")
    if not shutil.which("perf"):
        sys.exit("error: perf (linux-perf) is not installed")
    d = tempfile.mkdtemp()
    end = os.path.join(d, "end")
    wrapped = ["sh", "-c", f"{prog} >/dev/null; date +%s.%N > {end}"]
    ev = ["-e", "cpu-clock", "-F", "4000"]
    perf_after, perf_script, ours_after, unw, sym, sz_perf, sz_ours, stacks = ([] for _ in range(8))
    for _ in range(rounds):
        data = os.path.join(d, "perf.data")
        t, _ = timed_after_end(["perf", "record", "-q", "--call-graph", "dwarf"] + ev +
                               ["-o", data, "--"] + wrapped, end)
        t0 = time.time()
        s = run(["perf", "script", "-i", data])
        perf_script.append(time.time() - t0)
        perf_after.append(t + perf_script[-1])
        sz_perf.append(os.path.getsize(data))
        stacks.append(s.stdout.count("\n\n"))
        out = os.path.join(d, "p.pb.gz")
        t, r = timed_after_end([pmuprof, "record", "--call-graph", "dwarf"] + ev + ["-o", out, "--"] +
                               wrapped, end)
        ours_after.append(t)
        sz_ours.append(os.path.getsize(out))
        com = run([pmuprof, "report", out, "--top", "1"]).stdout
        m = re.search(r"dwarf unwinding: (\d+) stacks.* \(([\d.]+) stacks/s\)", com)
        unw.append(float(m.group(2)))
        m = re.search(r"symbolization: (\d+) distinct addresses in [\d.]+ ms \(([\d.]+) addresses/s", com)
        sym.append(float(m.group(2)))
    med = statistics.median
    print("## --call-graph dwarf: pmuprof record vs perf record + perf script\n")
    print(f"- command: `bench/dwarf_vs_perf.py {build} {rounds}`; workload `qsort_hot` "
          f"(comparator inside libc's qsort, no frame pointers); `-e cpu-clock -F 4000`, 8 KiB stacks")
    print(f"- kernel {os.uname().release}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d', time.gmtime())}; medians of {rounds} alternating rounds\n")
    print("| measure | perf | pmuprof | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| end of run → readable output, s | {med(perf_after):.2f} (of which perf script "
          f"{med(perf_script):.2f}) | {med(ours_after):.3f} | **{med(perf_after) / med(ours_after):.0f}× faster** |")
    print(f"| output size, KiB | {med(sz_perf) / 1024:.0f} (perf.data) | {med(sz_ours) / 1024:.1f} (pprof) | "
          f"{med(sz_ours) / med(sz_perf) * 100:.1f} % |")
    print(f"| unwinding throughput, stacks/s | | {med(unw):.0f} | |")
    print(f"| symbolization throughput (cold, distinct addresses), addresses/s | | {med(sym):.0f} | |")
    print(f"| stacks written by perf script | {med(stacks):.0f} | | |")
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
