#!/usr/bin/env python3
"""pmuprof record vs perf record under load: issue 16's scenarios and targets.

usage: bench/load_vs_perf.py BUILD_DIR [--rounds N] [--scenario NAME ...] [--quick]
                             [--timeout S]

Scenarios (all on cpu-clock, which every host has):
  syswide-20k, syswide-100k  -a for 5 s at -c 20000 / -c 10000 ns (50 K / 100 K
                  samples/s per CPU) while bench/mix and bench/branchy run
  funcs2000, funcs2000-g     bench/manyfuncs (2,000 generated functions in one
                  call tree) at -c 50000, without and with -g
  dwarf-qsort     --call-graph dwarf -F 4000 on tests/data/workloads/qsort_hot
  threads-2, threads-8, threads-32  bench/threads (fixed total work over N
                  threads) at -c 50000
  callgrind       instructions pmuprof record and perf record execute per extra
                  sample (valgrind --tool=callgrind on the profiler only; the
                  difference between -c 100000 and -c 50000 on bench/spin: both
                  rates sample the kernel and the loader, so the one-time costs
                  those bring, a kernel symbol table, line tables, fall in both
                  runs and the difference is the per-sample work)

Each round runs perf then pmuprof on the same scenario, so machine noise hits
both alike; the tables are medians over the rounds. Measured per tool:
  own CPU     user+sys of the profiler's process tree (os.wait4) minus the
              workload's (the workload runs under /usr/bin/time, which writes
              its own rusage); perf's also with perf script's added
  peak RSS    the largest process of the profiler's tree (wait4's ru_maxrss);
              flagged where that is the workload's own
  time to a readable profile  pmuprof record's wall time vs perf record's +
              perf script's (perf script writing its text to a file); and the
              part of it outside the workload's run (or the -a window)
  samples, lost  pmuprof's from its profile's comments; perf's from perf
              report --stats (the per-event LOST_SAMPLES totals)
  sizes       the pprof vs perf.data
Then every issue-16 target is printed as a ratio to perf and marked met or not
met. --quick: one round, 2 s system-wide windows, a fifth of the work (a
smoke run). Exits 1 if a
scenario could not be measured (the others are still printed), 77 if this host
cannot measure at all (no perf, no /usr/bin/time, perf record not allowed).
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import BenchError, run_measured  # noqa: E402

TIME = "/usr/bin/time"
SKIP = 77  # this host cannot measure (ctest's code for a skipped test)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Scenario:
    """A profiled command (or, with none, a system-wide window of duration s)."""

    def __init__(self, name, opts, cmd=None, duration=None, bare=False):
        self.name, self.opts, self.cmd, self.duration = name, opts, cmd, duration
        self.bare = bare  # also time the workload alone (its slowdown is a target)


def scenarios(build, quick):
    """The scenarios; quick ones do a fifth of the work (a smoke run, not figures)."""
    b = os.path.join(build, "bench")
    dur = 2 if quick else 5
    cc = ["-e", "cpu-clock"]
    funcs = [os.path.join(b, "manyfuncs"), "--rounds", "8000" if quick else "40000"]
    sc = [Scenario("syswide-20k", cc + ["-c", "20000"], duration=dur),
          Scenario("syswide-100k", cc + ["-c", "10000"], duration=dur),
          Scenario("funcs2000", cc + ["-c", "50000"], cmd=funcs),
          Scenario("funcs2000-g", cc + ["-c", "50000", "-g"], cmd=funcs),
          Scenario("dwarf-qsort", cc + ["-F", "4000", "--call-graph", "dwarf"], bare=True,
                   cmd=[os.path.join(build, "tests", "data", "workloads", "qsort_hot"),
                        "3" if quick else "12"])]
    for n in (2, 8, 32):
        sc.append(Scenario(f"threads-{n}", cc + ["-c", "50000"],
                           cmd=[os.path.join(b, "threads"), "--threads", str(n),
                                "--iters", "300000000" if quick else "1500000000"]))
    return {s.name: s for s in sc}


def timed(cmd, tf):
    """cmd under /usr/bin/time, which writes its wall, CPU and max RSS to tf."""
    return [TIME, "-f", "%e %U %S %M", "-o", tf, "--"] + cmd


def read_time(tf):
    """(wall s, user+sys s, max RSS KiB) of the workload, as /usr/bin/time wrote them."""
    with open(tf) as f:
        e, u, s, m = f.read().split()[-4:]
    return float(e), float(u) + float(s), int(m)


def pmuprof_counts(pmuprof, path, timeout):
    """(samples, lost samples) from a pprof's comments (pmuprof report)."""
    r = subprocess.run([pmuprof, "report", path, "--top", "1"], capture_output=True, text=True,
                       timeout=timeout)
    samples = lost = None
    for line in r.stdout.splitlines():
        if line.startswith("# samples:"):
            samples = sum(int(kv.rsplit("=", 1)[1].replace(",", ""))
                          for kv in line.split(":", 1)[1].split() if "=" in kv)
        elif line.startswith("# lost samples:"):
            lost = int(line.split(":", 1)[1].split(";")[0].strip().replace(",", ""))
    if samples is None or lost is None:
        raise BenchError(f"no '# samples:' / '# lost samples:' comment in `pmuprof report {path}` "
                         f"(exit {r.returncode}): {(r.stdout + r.stderr)[:300]}")
    return samples, lost


class Busy:
    """bench/mix and bench/branchy running unbounded in the background."""

    def __init__(self, build):
        b = os.path.join(build, "bench")
        self.cmds = [[os.path.join(b, "mix"), "--scale", "100000"],
                     [os.path.join(b, "branchy"), "--rounds", "100000000"]]

    def __enter__(self):
        self.procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, start_new_session=True)
                      for c in self.cmds]
        time.sleep(0.5)  # past their start-up (mix builds its 64 MiB chase first)
        for p in self.procs:
            if p.poll() is not None:
                self.__exit__()
                raise BenchError(f"busy workload `{' '.join(p.args)}` exited {p.returncode}")
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def measure_round(sc, pmuprof, build, d, timeout):
    """One round of one scenario: perf, then pmuprof. {tool: {measure: value}}."""
    res = {}
    tf = os.path.join(d, "time")
    data = os.path.join(d, "perf.data")
    out = os.path.join(d, "p.pb.gz")
    if sc.bare:
        run_measured(timed(sc.cmd, tf), timeout)
        res["bare"] = {"wl_wall": read_time(tf)[0]}
    for tool in ("perf", "pmuprof"):
        for f in (data, out, tf):
            if os.path.exists(f):
                os.unlink(f)
        if tool == "perf":
            head = ["perf", "record", "-q"] + sc.opts + ["-o", data]
        else:
            head = [pmuprof, "record"] + sc.opts + ["-o", out]
        if sc.cmd is None:
            window = ["--", "sleep"] if tool == "perf" else ["--duration"]
            with Busy(build):
                m = run_measured(head + ["-a"] + window + [str(sc.duration)], timeout)
            wl_wall, wl_cpu, wl_rss = sc.duration, 0.0, 0
        else:
            m = run_measured(head + ["--"] + timed(sc.cmd, tf), timeout)
            wl_wall, wl_cpu, wl_rss = read_time(tf)
        r = {"cpu": m.cpu - wl_cpu, "rss": m.maxrss_kib, "rss_is_workload": wl_rss >= m.maxrss_kib,
             "wl_wall": wl_wall, "ttr": m.wall}
        if tool == "perf":
            text = os.path.join(d, "script.txt")
            s = run_measured(["perf", "script", "-i", data], timeout, stdout_path=text)
            os.unlink(text)
            r["cpu_script"] = r["cpu"] + s.cpu
            r["ttr"] += s.wall
            r["samples"], r["lost"] = benchlib.perf_counts(data, timeout)
            r["size"] = os.path.getsize(data)
        else:
            r["samples"], r["lost"] = pmuprof_counts(pmuprof, out, timeout)
            r["size"] = os.path.getsize(out)
        r["outside"] = r["ttr"] - wl_wall
        res[tool] = r
    return res


def callgrind_round(pmuprof, build, d, timeout, iters):
    """{tool: instructions per extra sample} between -c 100000 and -c 50000."""
    wl = [os.path.join(build, "bench", "spin"), "--iters", str(iters)]
    res = {}
    for tool in ("perf", "pmuprof"):
        pts = []
        for period in ("100000", "50000"):
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))
            data = os.path.join(d, "perf.data")
            out = os.path.join(d, "p.pb.gz")
            prof = (["perf", "record", "-q", "-e", "cpu-clock", "-c", period, "-o", data]
                    if tool == "perf" else
                    [pmuprof, "record", "-e", "cpu-clock", "-c", period, "-o", out])
            run_measured(["valgrind", "--tool=callgrind", "--trace-children=no",
                          f"--callgrind-out-file={d}/cg.%p"] + prof + ["--"] + wl, timeout)
            # The profiler's own file is the largest (a child forked before its
            # exec may leave one too).
            instr = 0
            for f in os.listdir(d):
                if f.startswith("cg."):
                    with open(os.path.join(d, f)) as fh:
                        for line in fh:
                            if line.startswith(("summary:", "totals:")):
                                instr = max(instr, int(line.split()[1]))
            if instr == 0:
                raise BenchError("callgrind wrote no 'summary:' line")
            samples = (benchlib.perf_counts(data, timeout)[0] if tool == "perf"
                       else pmuprof_counts(pmuprof, out, timeout)[0])
            pts.append((instr, samples))
        (i1, s1), (i2, s2) = pts
        if s2 <= s1:
            raise BenchError(f"{tool}: no more samples at -c 50000 ({s2}) than at -c 100000 "
                             f"({s1})")
        res[tool] = {"ips": (i2 - i1) / (s2 - s1), "samples": (s1, s2)}
    return res


def med(rounds, tool, key):
    v = [r[tool][key] for r in rounds if tool in r]
    return statistics.median(v) if v else float("nan")


def verdict(ratio, limit, fmt="{:.2f}"):
    ok = ratio <= limit
    s = fmt.format(ratio)
    return f"{s} met" if ok else f"**{s} not met**"


def print_tables(sc, results, cg, rounds_n):
    print("| scenario | samples perf / pmuprof | lost perf / pmuprof | "
          "own CPU s: perf record / + perf script / pmuprof | "
          "peak RSS MiB perf record / pmuprof | "
          "time to readable profile s: perf record + script / pmuprof "
          "(of which outside the workload) | "
          "workload wall s: perf / pmuprof (bare) | perf.data / pprof KiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, rounds in results.items():
        if isinstance(rounds, str):
            print(f"| {name} | error: {rounds} |||||||")
            continue
        p = lambda k: med(rounds, "perf", k)  # noqa: E731
        o = lambda k: med(rounds, "pmuprof", k)  # noqa: E731
        flag = lambda t: (" (workload's)"  # noqa: E731
                          if any(r[t]["rss_is_workload"] for r in rounds) else "")
        bare = med(rounds, "bare", "wl_wall")
        print(f"| {name} | {p('samples'):,.0f} / {o('samples'):,.0f} | {p('lost'):,.0f} / "
              f"{o('lost'):,.0f} | {p('cpu'):.2f} / {p('cpu_script'):.2f} / {o('cpu'):.2f} | "
              f"{p('rss') / 1024:.1f}{flag('perf')} / {o('rss') / 1024:.1f}{flag('pmuprof')} | "
              f"{p('ttr'):.2f} / {o('ttr'):.2f} ({p('outside'):.2f} / {o('outside'):.2f}) | "
              f"{p('wl_wall'):.2f} / {o('wl_wall'):.2f}"
              f"{'' if bare != bare else f' ({bare:.2f})'} | "
              f"{p('size') / 1024:,.0f} / {o('size') / 1024:,.1f} |")
    print()
    print("Targets, as ratios pmuprof / perf (medians of each; `—`: not a target there):\n")
    print("| scenario | lost ≤ perf's (0 at syswide-20k) | "
          "own CPU ≤ 1.0× perf record + perf script | "
          "own CPU ≤ 1.0× perf record (single process) | peak RSS ≤ 1.5× perf record | "
          "dwarf slowdown ≤ 1.1× perf's | time to readable profile ≤ 0.5× | "
          "pprof ≤ 5 % of perf.data |")
    print("|---|---|---|---|---|---|---|---|")
    met = total = 0
    for name, rounds in results.items():
        if isinstance(rounds, str):
            continue
        p = lambda k: med(rounds, "perf", k)  # noqa: E731
        o = lambda k: med(rounds, "pmuprof", k)  # noqa: E731
        cells = []
        lost_ok = o("lost") <= p("lost") and (name != "syswide-20k" or o("lost") == 0)
        cells.append(f"{o('lost'):,.0f} vs {p('lost'):,.0f} "
                     + ("met" if lost_ok else "**not met**"))
        cells.append(verdict(o("cpu") / p("cpu_script"), 1.0))
        cells.append(verdict(o("cpu") / p("cpu"), 1.0) if sc[name].cmd else "—")
        cells.append(verdict(o("rss") / p("rss"), 1.5))
        if sc[name].bare:
            cells.append(verdict(o("wl_wall") / p("wl_wall"), 1.1))
        else:
            cells.append("—")
        cells.append(verdict(o("ttr") / p("ttr"), 0.5))
        cells.append(verdict(o("size") / p("size") * 100, 5.0, "{:.1f} %"))
        total += sum(c != "—" for c in cells)
        met += sum(c.endswith(" met") for c in cells)  # not met ends with "**"
        print(f"| {name} | " + " | ".join(cells) + " |")
    t2, t32 = results.get("threads-2"), results.get("threads-32")
    if isinstance(t2, list) and isinstance(t32, list):
        # "Flat in threads": within 10 % from 2 to 32 threads.
        grow = {t: med(t32, t, "rss") / med(t2, t, "rss") for t in ("perf", "pmuprof")}
        per = (med(t32, "pmuprof", "rss") - med(t2, "pmuprof", "rss")) / 1024 / 30
        v = verdict(grow["pmuprof"], 1.1, "{:.2f}×")
        total += 1
        met += "not met" not in v
        print(f"\nPeak RSS flat in threads (threads-32 over threads-2, target ≤ 1.1×): perf "
              f"{grow['perf']:.2f}×, pmuprof {v} ({per:+.2f} MiB per added thread).")
    if cg is not None:
        print()
        if isinstance(cg, str):
            print(f"callgrind: error: {cg}")
        else:
            pi = statistics.median(r["perf"]["ips"] for r in cg)
            oi = statistics.median(r["pmuprof"]["ips"] for r in cg)
            total += 1
            met += oi <= pi
            print("| callgrind (bench/spin, -c 100000 vs -c 50000) | perf record | pmuprof record "
                  "| ratio, target ≤ 1.0 |")
            print("|---|---:|---:|---|")
            print(f"| instructions per extra sample | {pi:,.0f} | {oi:,.0f} | "
                  f"{verdict(oi / pi, 1.0)} |")
            s = cg[0]
            print(f"| samples at the two rates (first round) | {s['perf']['samples'][0]:,} → "
                  f"{s['perf']['samples'][1]:,} | {s['pmuprof']['samples'][0]:,} → "
                  f"{s['pmuprof']['samples'][1]:,} | |")
    print(f"\n{met} of {total} targets met ({rounds_n} round{'s' if rounds_n != 1 else ''}).")


def main():
    names = list(scenarios("", False)) + ["callgrind"]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="scenarios: " + ", ".join(names))
    ap.add_argument("build", metavar="BUILD_DIR")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scenario", action="append", choices=names, metavar="NAME",
                    help="run only these (repeatable); default: all")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: one round, 2 s system-wide windows, a fifth of the work")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per command (default 300)")
    a = ap.parse_args()
    rounds = 1 if a.quick else a.rounds
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    build = os.path.abspath(a.build)
    pmuprof = os.path.join(build, "cli", "pmuprof")
    sc = scenarios(build, a.quick)
    chosen = a.scenario or names
    benchlib.need_tool("perf", "linux-perf", SKIP)
    benchlib.need_tool(TIME, "time", SKIP)
    if "callgrind" in chosen and not shutil.which("valgrind"):
        print("note: valgrind is not installed: the callgrind scenario is skipped", file=sys.stderr)
        chosen = [c for c in chosen if c != "callgrind"]
    need = [pmuprof] + [s.cmd[0] for n, s in sc.items() if n in chosen and s.cmd]
    need += [os.path.join(build, "bench", w) for w in ("mix", "branchy", "spin")]
    missing = [p for p in need if not os.access(p, os.X_OK)]
    if missing:
        sys.exit(f"error: {', '.join(missing)} not built; build it: cmake --build {a.build}")
    r = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-o", os.devnull, "true"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"error: perf record cannot sample here (kernel.perf_event_paranoid is "
              f"{open('/proc/sys/kernel/perf_event_paranoid').read().strip()}?): "
              f"{r.stderr.strip()[-300:]}", file=sys.stderr)
        sys.exit(SKIP)

    # The last commit that changed pmuprof itself, not its benchmarks, tests or docs.
    head = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %s", "--", ".",
                           ":(exclude)bench", ":(exclude)tests", ":(exclude)scripts",
                           ":(exclude)docs", ":(exclude)*.md"],
                          capture_output=True, text=True).stdout.strip()[:72]
    load0 = os.getloadavg()
    t0 = time.time()
    print("## Under load, against perf (issue 16)\n")
    print(f"- command: `bench/load_vs_perf.py {a.build} --rounds {rounds}"
          f"{' --quick' if a.quick else ''}"
          f"{''.join(f' --scenario {c}' for c in a.scenario or [])}`; pmuprof's sources at "
          f"`{head or 'unknown'}`")
    print(f"- kernel {os.uname().release}, {os.cpu_count()} CPUs, perf {benchlib.perf_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of {rounds} rounds, "
          "perf then pmuprof in each", flush=True)
    results = {}
    cg = None
    failed = False
    with tempfile.TemporaryDirectory(prefix="load_vs_perf.") as d:
        for name in chosen:
            print(f"load_vs_perf: {name}...", file=sys.stderr, flush=True)
            try:
                if name == "callgrind":
                    cgd = os.path.join(d, "cg")
                    os.makedirs(cgd, exist_ok=True)
                    cg = [callgrind_round(pmuprof, build, cgd, a.timeout * 3,
                                          600000000 if a.quick else 1200000000)
                          for _ in range(rounds)]
                else:
                    results[name] = [measure_round(sc[name], pmuprof, build, d, a.timeout)
                                     for _ in range(rounds)]
            except (BenchError, subprocess.TimeoutExpired, OSError, ValueError) as e:
                failed = True
                msg = str(e).replace("\n", " ").replace("|", "/")
                print(f"load_vs_perf: {name}: {msg}", file=sys.stderr)
                if name == "callgrind":
                    cg = msg
                else:
                    results[name] = msg
    load1 = os.getloadavg()
    print(f"- load average (1 min) {load0[0]:.2f} at the start, {load1[0]:.2f} at the end; "
          f"the run took {(time.time() - t0) / 60:.1f} min\n")
    print_tables(sc, results, cg, rounds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
