#!/usr/bin/env python3
"""The agent's soak: memory and CPU over a long run on a busy machine.

usage: bench/agent_soak.py BUILD_DIR [SECONDS=600] [AGENT_ARG...]

Starts the loopback OTLP receiver (tests/e2e/otlp_receiver.py), a busy
workload on every CPU (bench/mix in a loop: threads, forks and exits so the
process model churns), and `pmuprof agent` at its defaults (19 Hz per event,
10 s windows, 32 MiB symbol cache) exporting to the receiver; AGENT_ARGs are
appended to its command line (e.g. `--symbol-cache 0` for no bound). Every
10 s it reads the agent's RSS and CPU time from /proc; at the end it prints
a markdown table: RSS over the first and last minute and at 1, 3, 5, 7, 10,
12, ... minutes, the symbol cache's accounted size (from the agent's log),
the agent's CPU as a share of one core, windows and export sizes.
"""
import os
import re
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    rss, anon, file = (int(re.search(k + r":\s+(\d+)", status).group(1))
                       for k in ("VmRSS", "RssAnon", "RssFile"))
    return cpu, rss, anon, file


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 600
    extra = sys.argv[3:]
    pmuprof = os.path.join(build, "cli", "pmuprof")
    rcv = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "tests", "e2e", "otlp_receiver.py")],
                           stdout=subprocess.PIPE, text=True)
    port = int(rcv.stdout.readline())
    mix = os.path.join(build, "bench", "mix")
    # Each loop in its own process group: stopping it stops the mix it runs too.
    busy = [subprocess.Popen(["sh", "-c", f"while :; do {mix} --scale 0.5 >/dev/null; done"],
                             start_new_session=True)
            for _ in range(os.cpu_count() or 1)]
    log = os.path.join("/tmp", f"pmuprof-soak-{os.getpid()}.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    agent = subprocess.Popen([pmuprof, "agent", "--otlp-endpoint", f"http://127.0.0.1:{port}",
                              "--log", log, "--duration", str(seconds)] + extra, env=env)
    samples = []  # (t, cpu_s, rss_kib, anon_kib, file_kib)
    t0 = time.time()
    try:
        while agent.poll() is None:
            time.sleep(10)
            try:
                cpu, rss, anon, file = proc_stat(agent.pid)
            except (FileNotFoundError, ProcessLookupError, AttributeError):
                break
            samples.append((time.time() - t0, cpu, rss, anon, file))
    finally:
        for b in busy:
            try:
                os.killpg(b.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            b.wait()
        agent.wait()
        rcv.terminate()
    lines = open(log).read().splitlines()
    windows = [l for l in lines if ": window " in l]
    sizes = [int(m.group(1)) for l in windows for m in [re.search(r"(\d+) bytes otlp", l)] if m]
    symcache = [int(m.group(1)) for l in windows for m in [re.search(r"symbol cache (\d+) KiB", l)] if m]
    delivered = sum("delivered" in l for l in windows)
    first = [s[2] for s in samples if s[0] <= 60]
    last = [s[2] for s in samples if s[0] >= samples[-1][0] - 60]
    cpu_share = (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0]) * 100
    print("## `pmuprof agent` soak (issue 5)\n")
    args = "".join(" " + a for a in extra)
    print(f"- command: `bench/agent_soak.py {build} {seconds:.0f}{args}`: agent defaults (19 Hz per event, "
          f"10 s windows{', ' + args.strip() if args else ''}) exporting to a loopback OTLP receiver, "
          f"`mix` looping on every CPU")
    print(f"- kernel {os.uname().release}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d', time.gmtime())}\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| run | {samples[-1][0]:.0f} s, {len(windows)} windows, {delivered} delivered |")
    print(f"| RSS first minute (min–max) | {min(first) / 1024:.1f}–{max(first) / 1024:.1f} MiB |")
    print(f"| RSS last minute (min–max) | {min(last) / 1024:.1f}–{max(last) / 1024:.1f} MiB |")
    marks = []
    for minute in (1, 3, 5, 7, 10, 12, 15, 20, 30, 60):
        at = [s for s in samples if s[0] <= minute * 60 + 5]
        if at and at[-1][0] >= minute * 60 - 10:
            marks.append(f"{minute} min {at[-1][2] / 1024:.1f}")
    print(f"| RSS at (MiB) | {', '.join(marks)} |")
    if symcache:
        print(f"| symbol cache accounted (first window, max, last) | {symcache[0] / 1024:.1f}, "
              f"{max(symcache) / 1024:.1f}, {symcache[-1] / 1024:.1f} MiB |")
    print(f"| agent CPU (after the first sample) | **{cpu_share:.2f} % of one core** |")
    if sizes:
        print(f"| OTLP request size per window (median, max) | {statistics.median(sizes) / 1024:.1f} KiB, "
              f"{max(sizes) / 1024:.1f} KiB |")
    print("\nRSS every 10 s (MiB): " + " ".join(f"{s[2] / 1024:.1f}" for s in samples))
    print("\nof which anonymous / file-backed (MiB): " +
          " ".join(f"{s[3] / 1024:.1f}/{s[4] / 1024:.1f}" for s in samples))


if __name__ == "__main__":
    main()
