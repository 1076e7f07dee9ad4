#!/usr/bin/env python3
"""Slowdown of the bench/sharing workloads under `pmuprof c2c watch`.

For each workload, runs it bare and under `pmuprof c2c watch --symbol
shared_line` (default duty cycle unless --duty is given), alternating the
two for several rounds so that drifting machine load hits both alike, and
prints a markdown table of median wall times and the slowdown
(median watched / median bare - 1). The acceptance bound is 10 % at the
default duty cycle.

usage: c2c_watch_overhead.py [--pmuprof PATH] [--bench-dir DIR] [--rounds N]
                             [--duty PCT] [--rw] [--scale X] [WORKLOAD ...]
  PMUPROF and BENCH_DIR in the environment are the defaults for the paths;
  workloads are in BENCH_DIR/sharing.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

# Default --iters of each workload (bench/sharing/*.c); --scale multiplies them so
# that pmuprof's fixed start-up cost (~10-30 ms) does not dominate the ratio.
WORKLOADS = {"write_write": 10**9, "read_write": 10**9, "true_sharing": 10**8,
             "padded": 10**9, "phased": 3 * 10**8, "two_process": 10**9}


def timed(argv):
    """(wall s, CPU s of the command and what it waited for, stdout). CPU time is
    less disturbed than wall time by other load on the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"{os.path.basename(sys.argv[0])}: {' '.join(argv)} failed ({r.returncode}): "
                 f"{r.stderr.strip()}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return dt, cpu, r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pmuprof", default=os.environ.get("PMUPROF", "pmuprof"))
    ap.add_argument("--bench-dir", default=os.environ.get("BENCH_DIR", "bench"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duty", type=float, default=None, help="--duty for c2c watch (default: its own)")
    ap.add_argument("--rw", action="store_true", help="read-write watchpoints")
    ap.add_argument("--scale", type=float, default=3.0, help="times the default iterations (3)")
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    a = ap.parse_args()

    watch = [a.pmuprof, "c2c", "watch", "--symbol", "shared_line"]
    if a.duty is not None:
        watch += ["--duty", str(a.duty)]
    if a.rw:
        watch.append("--rw")
    rows = []
    for wl in a.workloads:
        exe = os.path.join(a.bench_dir, "sharing", wl)
        if not os.access(exe, os.X_OK):
            sys.exit(f"c2c_watch_overhead: {exe} is not built")
        if wl not in WORKLOADS:
            sys.exit(f"c2c_watch_overhead: unknown workload {wl}; known: {', '.join(WORKLOADS)}")
        args = ["--iters", str(int(WORKLOADS[wl] * a.scale))]
        bare, watched, bare_cpu, watched_cpu, verdicts = [], [], [], [], set()
        for _ in range(a.rounds):
            dt, cpu, _ = timed([exe] + args)
            bare.append(dt)
            bare_cpu.append(cpu)
            dt, cpu, out = timed(watch + ["--", exe] + args)
            watched.append(dt)
            watched_cpu.append(cpu)
            verdicts.update(l[len("verdict: "):].split(" (")[0]
                            for l in out.splitlines() if l.startswith("verdict: "))
        mb, mw = statistics.median(bare), statistics.median(watched)
        cb, cw = statistics.median(bare_cpu), statistics.median(watched_cpu)
        rows.append((wl, mb, mw, mw / mb - 1, min(watched) / min(bare) - 1, cw / cb - 1,
                     ", ".join(sorted(verdicts))))
        print(f"{wl}: bare {mb:.3f} s, watched {mw:.3f} s", file=sys.stderr)

    duty = f"{a.duty:g} %" if a.duty is not None else "default"
    print(f"\n`pmuprof c2c watch --symbol shared_line` (duty {duty}{', --rw' if a.rw else ''}), "
          f"{a.rounds} alternating rounds, iterations x{a.scale:g}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| workload | bare wall (s) | watched wall (s) | wall slowdown (medians) "
          "| wall slowdown (minima) | CPU-time slowdown (medians) | verdict |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for wl, mb, mw, s, smin, scpu, v in rows:
        print(f"| {wl} | {mb:.3f} | {mw:.3f} | {s * 100:+.1f} % | {smin * 100:+.1f} % "
              f"| {scpu * 100:+.1f} % | {v} |")
    worst = max(r[3] for r in rows)
    print(f"\nworst slowdown (medians): {worst * 100:+.1f} % (bound: +10 % at the default duty)")


if __name__ == "__main__":
    main()
