"""Helpers shared by the bench/*_vs_perf.py scripts."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


class BenchError(Exception):
    """A command of a benchmark failed; the message names it and says why."""


def need_tool(name, package, code=1):
    """Exits with code, saying what to install, unless the command name is on PATH."""
    if not shutil.which(name):
        print(f"error: {name} is not installed or not on PATH; install the Debian package "
              f"'{package}' (scripts/install-deps.sh lists it)", file=sys.stderr)
        sys.exit(code)


def perf_version():
    r = subprocess.run(["perf", "--version"], capture_output=True, text=True)
    return r.stdout.split()[-1] if r.stdout.split() else "unknown"


def perf_counts(data, timeout=600):
    """(samples, lost samples) of a perf.data, from perf report --stats.

    The lost samples are the per-event LOST_SAMPLES totals (perf adds up the
    counts its LOST records carry there), not the number of LOST records.
    """
    r = subprocess.run(["perf", "report", "--stats", "-i", data], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise BenchError(f"`perf report --stats -i {data}` exited {r.returncode}: "
                         f"{r.stderr[-300:]}")
    samples = lost = 0
    per_event = False
    for line in r.stdout.splitlines():
        if line.rstrip().endswith(" stats:"):
            per_event = not line.startswith("Aggregated")
            continue
        m = re.match(r"\s*(SAMPLE|LOST_SAMPLES) events:\s+(\d+)", line)
        if not m:
            continue
        if m.group(1) == "SAMPLE" and not per_event:
            samples = int(m.group(2))
        elif m.group(1) == "LOST_SAMPLES" and per_event:
            lost += int(m.group(2))
    return samples, lost


class Measured:
    """A finished command: wall seconds and the rusage of its whole process tree."""

    def __init__(self, cmd, wall, ru, err):
        self.cmd, self.wall = cmd, wall
        self.cpu = ru.ru_utime + ru.ru_stime
        self.user, self.sys = ru.ru_utime, ru.ru_stime
        self.maxrss_kib = ru.ru_maxrss  # the largest single process of the tree
        self.stderr = err


def run_measured(cmd, timeout, stdout_path=os.devnull):
    """Runs cmd in its own process group; its wall time and rusage (os.wait4).

    The rusage covers cmd and every descendant it waited for. Its standard
    output goes to stdout_path, its standard error is kept. On timeout the
    whole group is killed; a timeout or a non-zero exit raises BenchError
    naming the command, with the end of its stderr.
    """
    with open(stdout_path, "w") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        done = {}

        def reap():
            _, status, ru = os.wait4(p.pid, 0)
            done["wall"] = time.perf_counter() - t0
            done["status"], done["ru"] = status, ru

        th = threading.Thread(target=reap, daemon=True)
        th.start()
        th.join(timeout)
        timed_out = th.is_alive()
        if timed_out:
            os.killpg(p.pid, signal.SIGKILL)
            th.join()
        # wait4 reaped it: keep Popen from waiting for it again.
        p.returncode = os.waitstatus_to_exitcode(done["status"])
        err.seek(0)
        errtext = err.read()
    if timed_out:
        raise BenchError(f"`{' '.join(cmd)}` did not finish in {timeout} s (killed)")
    if p.returncode != 0:
        raise BenchError(f"`{' '.join(cmd)}` exited {p.returncode}: {errtext[-500:].strip()}")
    return Measured(cmd, done["wall"], done["ru"], errtext)
