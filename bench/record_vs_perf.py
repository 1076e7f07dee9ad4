#!/usr/bin/env python3
"""pmuprof record vs perf record, side by side on the same workloads.

usage: bench/record_vs_perf.py BUILD_DIR [ROUNDS=5]

Each round runs, alternating so machine noise hits all alike:
  the workload bare; `perf record` with the events and period; `pmuprof record`
  with the same; then `perf script` on perf's data (perf's way to something a
  person or a converter can read). Prints a markdown table of medians:
  added wall time and its ratio, pmuprof's own CPU per sample (from the
  profile's comment: total, and marginal between two sample rates), time to a
  finished pprof vs perf record + perf script (whole wall time, only the
  time each adds to the bare workload, and the time from the workload's
  last output line to a finished file), samples and lost at ~20 K
  samples/s per CPU, and output sizes. pmuprof's CPU is split into user
  space (the issue's target) and kernel time spent on its behalf.

Events: cycles,cache-misses,branch-misses with -c 100003 where the host has
a PMU; cpu-clock with a period of the same rate otherwise (this is said).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import perf_counts  # noqa: E402


def run(cmd, **kw):
    """(wall seconds, completed process, seconds from start to the last stdout line)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    last = None
    out = []
    # The workloads print one line as they finish: its arrival marks the
    # workload's end, so what follows is the profiler's own tail.
    for line in p.stdout:
        last = time.perf_counter() - t0
        out.append(line)
    err = p.stderr.read()
    p.wait()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"error: `{' '.join(cmd)}` exited {p.returncode}: {err[-500:]}")
    r = subprocess.CompletedProcess(cmd, p.returncode, "".join(out), err)
    return wall, r, wall if last is None else last


def perf_supports(event):
    r = subprocess.run(["perf", "stat", "-x", ",", "-e", event, "true"], capture_output=True,
                       text=True)
    return r.returncode == 0 and "<not supported>" not in r.stderr


def pmuprof_comments(pmuprof, path):
    r = subprocess.run([pmuprof, "report", path, "--top", "1"], capture_output=True, text=True)
    return r.stdout


def pmuprof_stats(pmuprof, stderr, path):
    line = [l for l in stderr.splitlines() if l.startswith("pmuprof record: samples")][-1]
    body = line.split("samples", 1)[1].split(";")[0]
    samples = sum(int(n.replace(",", "")) for _, n in
                  re.findall(r"\s([^\s,]+) (\d[\d,]*\d|\d)", body))
    lost = int(re.search(r"lost (\d+)", line).group(1))
    com = pmuprof_comments(pmuprof, path)
    m = re.search(r"pmuprof cpu: user ([\d.]+) s, sys ([\d.]+) s", com)
    return samples, lost, float(m.group(1)), float(m.group(2))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    pmuprof = os.path.join(build, "cli", "pmuprof")
    if not shutil.which("perf"):
        sys.exit("error: perf (linux-perf) is not installed")
    hw = perf_supports("cycles") and perf_supports("cache-misses")
    # ~20 K samples/s per busy CPU in both cases.
    events, period = ("cycles,cache-misses,branch-misses", "100003") if hw else ("cpu-clock", "50000")
    workloads = {
        "spin": [os.path.join(build, "bench", "spin"), "--iters", "1500000000"],
        "mix": [os.path.join(build, "bench", "mix")],
    }
    d = tempfile.mkdtemp()
    print("## pmuprof record vs perf record\n")
    print(f"- command: `bench/record_vs_perf.py {build} {rounds}`")
    print(f"- events: `{events}` at `-c {period}`" + ("" if hw else
          " (no hardware PMU on this host: software clock events; ~20 K samples/s per busy CPU)"))
    print(f"- kernel {os.uname().release}, {os.cpu_count()} CPUs, perf "
          f"{subprocess.run(['perf', '--version'], capture_output=True, text=True).stdout.split()[-1]}, "
          f"{time.strftime('%Y-%m-%d', time.gmtime())}; medians of {rounds} alternating rounds\n")
    print("| workload | bare s | + perf record s | + pmuprof s | added-time ratio | "
          "time to pprof vs perf record+script (wall / added / after the workload's end) | "
          "pmuprof user CPU/sample µs (total / marginal) | kernel CPU/sample µs (total / marginal) | "
          "samples perf / pmuprof | lost perf / pmuprof | perf.data / pprof KiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, cmd in workloads.items():
        bare, prf, pmp, script, tail_perf, tail_ours = ([] for _ in range(6))
        user_per, sys_per, user_marg, sys_marg, sp, sm, lp, lm, szp, szm = ([] for _ in range(10))
        for i in range(rounds):
            w, _, _ = run(cmd)
            bare.append(w)
            data = os.path.join(d, f"{name}.data")
            w, _, end = run(["perf", "record", "-q", "-e", events, "-c", period, "-o", data, "--"] + cmd)
            prf.append(w)
            w2, _, _ = run(["perf", "script", "-i", data])
            script.append(w2)
            tail_perf.append(w - end + w2)
            s, l = perf_counts(data)
            sp.append(s)
            lp.append(l)
            szp.append(os.path.getsize(data))
            out = os.path.join(d, f"{name}.pb.gz")
            w, r, end = run([pmuprof, "record", "-e", events, "-c", period, "-o", out, "--"] + cmd)
            pmp.append(w)
            tail_ours.append(w - end)
            s, l, user, kern = pmuprof_stats(pmuprof, r.stderr, out)
            sm.append(s)
            lm.append(l)
            user_per.append(user * 1e6 / max(s, 1))
            sys_per.append(kern * 1e6 / max(s, 1))
            szm.append(os.path.getsize(out))
            # marginal: the same run at a tenth of the rate
            low = os.path.join(d, f"{name}.low.pb.gz")
            _, r2, _ = run([pmuprof, "record", "-e", events, "-c", str(int(period) * 10), "-o", low,
                            "--"] + cmd)
            s2, _, user2, kern2 = pmuprof_stats(pmuprof, r2.stderr, low)
            if s > s2:
                user_marg.append((user - user2) * 1e6 / (s - s2))
                sys_marg.append((kern - kern2) * 1e6 / (s - s2))
        med = statistics.median

        def medn(v):
            return med(v) if v else float("nan")
        added_perf = med(prf) - med(bare)
        added_ours = med(pmp) - med(bare)
        ratio = added_ours / added_perf if added_perf > 0 else float("nan")
        ttp = med(pmp) / (med(prf) + med(script))
        # The same, counting only what each adds to the bare workload.
        ttp_added = added_ours / (added_perf + med(script)) if added_perf > 0 else float("nan")
        # And only what follows the workload's end: perf record's teardown + perf script.
        ttp_tail = med(tail_ours) / med(tail_perf)
        print(f"| {name} | {med(bare):.2f} | {med(prf):.2f} | {med(pmp):.2f} | **{ratio:.2f}** | "
              f"**{ttp:.2f}** / {ttp_added:.2f} / **{ttp_tail:.2f}** "
              f"({med(tail_ours) * 1e3:.0f} vs {med(tail_perf) * 1e3:.0f} ms) | "
              f"{med(user_per):.2f} / **{medn(user_marg):.2f}** | "
              f"{med(sys_per):.2f} / {medn(sys_marg):.2f} | "
              f"{med(sp):.0f} / {med(sm):.0f} | {med(lp):.0f} / {med(lm):.0f} | "
              f"{med(szp) / 1024:.0f} / {med(szm) / 1024:.1f} (**{med(szm) / med(szp) * 100:.1f} %**) |")
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
