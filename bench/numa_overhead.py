#!/usr/bin/env python3
"""Slowdown of compute-bound workloads under `pmuprof numa record`, beside
`perf record -e page-faults -c 1 -d -g` (the same faults sampled, every one, with
data addresses and call chains).

Runs each workload bare, under numa record and under perf record, alternating the
three for several rounds so that drifting machine load hits all alike, and prints a
markdown table of median and minimum wall times, CPU times (the command's and what it
waited for) and the slowdowns against bare. The bound is +5 % for numa record.
Workloads (bench/, ~4 s each here): branchy (pure compute on a 1 MiB array: few
faults) and mix (first touches a 64 MiB pointer chase, ~16 K faults, then computes).

usage: numa_overhead.py [--pmuprof PATH] [--perf PATH] [--bench-dir DIR]
                        [--rounds N] [--out DIR] [WORKLOAD ...]
  PMUPROF and BENCH_DIR in the environment are the defaults for the paths.
"""
import argparse
import os
import re
import statistics
import sys
import tempfile

from c2c_watch_overhead import timed  # (wall s, CPU s, stdout), exits on failure

WORKLOADS = {"branchy": ["--rounds", "800"], "mix": ["--scale", "3"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pmuprof", default=os.environ.get("PMUPROF", "pmuprof"))
    ap.add_argument("--perf", default="perf")
    ap.add_argument("--bench-dir", default=os.environ.get("BENCH_DIR", "bench"))
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--out", default=None, help="where the recordings go (a temporary folder)")
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="numa-overhead-")
    for wl in a.workloads:
        if wl not in WORKLOADS:
            sys.exit(f"numa_overhead: unknown workload {wl}; known: {', '.join(WORKLOADS)}")
        exe = os.path.join(a.bench_dir, wl)
        if not os.access(exe, os.X_OK):
            sys.exit(f"numa_overhead: {exe} is not built")
        measure(a, out, [exe] + WORKLOADS[wl])


def measure(a, out, cmd):
    runs = {
        "bare": cmd,
        "pmuprof numa record": [a.pmuprof, "numa", "record", "-o",
                                os.path.join(out, "numa.pb.gz"), "--"] + cmd,
        "perf record -e page-faults -c 1 -d -g": [a.perf, "record", "-q", "-e", "page-faults",
                                                  "-c", "1", "-d", "-g", "-o",
                                                  os.path.join(out, "perf.data"), "--"] + cmd,
    }
    wall = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    samples = []
    for i in range(a.rounds):
        for name, argv in runs.items():
            dt, c, text = timed(argv)
            wall[name].append(dt)
            cpu[name].append(c)
            m = re.search(r"^\d+ pages sampled in \d+ objects, (\d+) samples", text, re.M)
            if m:
                samples.append(int(m.group(1)))
        print(f"round {i + 1}: " + ", ".join(f"{k} {wall[k][-1]:.3f} s" for k in runs),
              file=sys.stderr)

    print(f"\n`{' '.join(cmd)}`, {a.rounds} alternating rounds, {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.2f} at the end; numa record took "
          f"{statistics.median(samples) if samples else 0:.0f} samples a run (median)\n")
    print("| run | wall median (s) | wall min (s) | CPU median (s) | wall slowdown (medians) "
          "| wall slowdown (minima) | CPU-time slowdown (medians) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    mb, nb, cb = (statistics.median(wall["bare"]), min(wall["bare"]),
                  statistics.median(cpu["bare"]))
    for name in runs:
        mw, nw, cw = statistics.median(wall[name]), min(wall[name]), statistics.median(cpu[name])
        print(f"| {name} | {mw:.3f} | {nw:.3f} | {cw:.3f} | {(mw / mb - 1) * 100:+.1f} % "
              f"| {(nw / nb - 1) * 100:+.1f} % | {(cw / cb - 1) * 100:+.1f} % |")
    name = "pmuprof numa record"
    print(f"\nnuma record's slowdown: {(statistics.median(wall[name]) / mb - 1) * 100:+.1f} % "
          f"(medians), {(min(wall[name]) / nb - 1) * 100:+.1f} % (minima); bound +5 %")


if __name__ == "__main__":
    main()
