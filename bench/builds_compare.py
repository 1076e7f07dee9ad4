#!/usr/bin/env python3
"""Two builds of pmuprof side by side: did a change make recording dearer?

usage: bench/builds_compare.py OLD_BUILD NEW_BUILD [ROUNDS=5]

Each round runs, alternating so machine noise hits both alike, the same
workloads (NEW_BUILD's bench programs) under each build's `pmuprof record`,
and each build's `pmuprof agent` for 10 s beside a busy workload. Prints a
markdown table of medians per case and build, and NEW/OLD ratios:
  - record's own user CPU per sample (the profile's `pmuprof cpu` comment),
  - time from the workload's last output line to a finished pprof,
  - record's and the agent's peak RSS (getrusage of the child).
Events: cpu-clock at -c 50000 (about 20 K samples/s per busy CPU), so the
figures hold on hosts without a PMU.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd):
    """(wall s, stdout+stderr, s from start to the last stdout line, peak RSS MiB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = None
    out = []
    for line in p.stdout:  # the workloads print one line as they finish
        last = time.perf_counter() - t0
        out.append(line)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"error: `{' '.join(cmd)}` failed: {err[-500:]}")
    return wall, "".join(out) + err, wall if last is None else last, ru.ru_maxrss / 1024


def record_case(pmuprof, cmd, extra, d):
    out = os.path.join(d, "p.pb.gz")
    wall, text, end, rss = run([pmuprof, "record", "-e", "cpu-clock", "-c", "50000"] + extra +
                               ["-o", out, "--"] + cmd)
    line = [l for l in text.splitlines() if l.startswith("pmuprof record: samples")][-1]
    samples = int(re.search(r"cpu-clock ([\d,]+)", line).group(1).replace(",", ""))
    rep = subprocess.run([pmuprof, "report", out, "--top", "1"], capture_output=True,
                         text=True).stdout
    user = float(re.search(r"pmuprof cpu: user ([\d.]+) s", rep).group(1))
    return {"µs/sample": user * 1e6 / max(samples, 1), "ms to pprof": (wall - end) * 1e3,
            "RSS MiB": rss}


def agent_case(pmuprof, busy, d):
    load = subprocess.Popen(["sh", "-c", f"while :; do {busy} >/dev/null; done"])
    try:
        out = os.path.join(d, "agent")
        os.makedirs(out, mode=0o700, exist_ok=True)
        _, _, _, rss = run([pmuprof, "agent", "--duration", "10", "--interval", "5",
                            "--pprof-dir", out])
    finally:
        load.kill()
        load.wait()
    return {"RSS MiB": rss}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    spin = [os.path.join(new, "bench", "spin"), "--iters", "1500000000"]
    mix = [os.path.join(new, "bench", "mix")]
    cases = {
        "record spin": lambda p, d: record_case(p, spin, [], d),
        "record mix": lambda p, d: record_case(p, mix, [], d),
        "record mix -g": lambda p, d: record_case(p, mix, ["-g"], d),
        "record mix --call-graph dwarf": lambda p, d: record_case(
            p, mix, ["--call-graph", "dwarf"], d),
        "agent 10 s": lambda p, d: agent_case(p, " ".join(mix), d),
    }
    d = tempfile.mkdtemp()
    res = {(c, b): {} for c in cases for b in (old, new)}
    for _ in range(rounds):
        for c, fn in cases.items():
            for b in (old, new):
                for k, v in fn(os.path.join(b, "cli", "pmuprof"), d).items():
                    res[(c, b)].setdefault(k, []).append(v)
    print(f"- command: `bench/builds_compare.py {old} {new} {rounds}`; kernel "
          f"{os.uname().release}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}; "
          f"medians of {rounds} alternating rounds\n")
    print("| case | measure | old | new | new/old |")
    print("|---|---|---:|---:|---:|")
    for c in cases:
        for k in res[(c, old)]:
            a, b = statistics.median(res[(c, old)][k]), statistics.median(res[(c, new)][k])
            print(f"| {c} | {k} | {a:.2f} | {b:.2f} | **{b / a if a else float('nan'):.2f}** |")


if __name__ == "__main__":
    main()
