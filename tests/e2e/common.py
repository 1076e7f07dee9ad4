"""Shared helpers for pmuprof's end-to-end tests.

Each test is a script run by CTest with PMUPROF (the binary) and BENCH_DIR
(the built bench/ workloads) in its environment. Exit status 77 means the
test was skipped; the reason is always printed first.
"""
import os
import subprocess
import sys

PMUPROF = os.environ.get("PMUPROF", "pmuprof")
BENCH = os.environ.get("BENCH_DIR", "bench")
SKIP = 77


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(args, timeout=120, **kw):
    """Runs a command, returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def bench(name):
    path = os.path.join(BENCH, name)
    check(os.access(path, os.X_OK), f"workload {path} is not built")
    return path


def have_perf():
    try:
        return run(["perf", "--version"]).returncode == 0
    except FileNotFoundError:
        return False


def perf_counts(event):
    """True when perf itself can count EVENT on this host (user space)."""
    if not have_perf():
        return False
    r = run(["perf", "stat", "-x", ",", "-e", event, "true"])
    return r.returncode == 0 and "<not supported>" not in r.stderr


def host_has_hw_pmu():
    return os.path.isdir("/sys/bus/event_source/devices/cpu") or \
        os.path.isdir("/sys/bus/event_source/devices/cpu_core")


def csv_rows(text, sep=","):
    """perf stat -x rows: lines that are not comments or blank."""
    return [l.split(sep) for l in text.splitlines() if l.strip() and not l.startswith("#")]


def stat_values(text, sep=","):
    """{event: value} from -x output (value as float, or the <...> string)."""
    out = {}
    for f in csv_rows(text, sep):
        if len(f) >= 3 and f[2]:
            try:
                out[f[2]] = float(f[0])
            except ValueError:
                out[f[2]] = f[0]
    return out
