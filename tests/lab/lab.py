"""Shared helpers of the lab's tests: each boots a guest with tests/lab/run and checks
what the guest printed, on the host (the host's Python is 15-30x faster than the
guest's). Exit status 77 means skipped, with the reason printed first.

The lab's tests run only with PMUPROF_LAB=1 in the environment (`make lab` sets it):
each boots an emulated machine for 15-60 s, too long for a plain ctest run.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from common import PMUPROF, BENCH, check, fail, skip  # noqa: E402,F401

RUN = os.path.join(HERE, "run")
LAB_DIR = os.environ.get("PMUPROF_LAB_DIR", os.path.join(HERE, "..", "..", "build", "lab"))
SKIP = 77


def guest(command, nodes=2, shares=(), timeout=600, name=None, arch="x86_64", icount=False):
    """Runs COMMAND (a shell line) in a guest of NODES nodes (ICOUNT: exact instruction
    counts, tests/lab/run --icount); returns CompletedProcess.
    Skips when the lab cannot run here; fails when the guest died or hung (the runner
    has shown its console)."""
    if os.environ.get("PMUPROF_LAB") != "1":
        skip("the lab's tests boot an emulated machine; run them with `make lab` "
             "(or PMUPROF_LAB=1 ctest -L lab)")
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    console = os.path.join(LAB_DIR, f"{name}-{nodes}n.console.log")
    args = [RUN, "--arch", arch, "--nodes", str(nodes), "--timeout", str(timeout), "--console", console]
    for s in shares:
        args += ["--share", s]
    if icount:
        args.append("--icount")
    r = subprocess.run(args + ["--", "/bin/sh", "-c", command], capture_output=True, text=True,
                       timeout=timeout + 300)
    reason = [l for l in r.stderr.splitlines() if l.startswith("SKIP: lab:")]
    if r.returncode == SKIP and reason:
        skip(reason[-1][len("SKIP: "):])
    if r.returncode in (124, 125):
        fail(f"the guest failed (status {r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def sections(text):
    """{name: body} of output split by lines '=== name' (the guest commands print them)."""
    out, name = {}, None
    for line in text.splitlines(keepends=True):
        m = re.match(r"=== (\S+)$", line.rstrip("\n"))
        if m:
            name = m.group(1)
            out[name] = ""
        elif name:
            out[name] += line
    return out


def cpulist(text):
    """The CPUs of a kernel cpulist ('0-3,8')."""
    cpus = set()
    for part in text.strip().split(","):
        if part:
            a, _, b = part.partition("-")
            cpus.update(range(int(a), int(b or a) + 1))
    return cpus


# Prints each node's CPUs as the guest kernel sees them, as section 'nodes'.
NODE_CPUS = ("echo === nodes; for n in /sys/devices/system/node/node[0-9]*; do "
             "echo ${n##*node} $(cat $n/cpulist); done")


def node_cpus(section):
    """{node: {cpus}} from the NODE_CPUS section."""
    out = {}
    for line in section.splitlines():
        node, cpus = line.split(" ", 1)
        out[int(node)] = cpulist(cpus)
    return out


def arm64_build():
    """The arm64 cross build (cli/pmuprof, harness/libpmuprof.so), from PMUPROF_ARM64_BUILD
    (`make lab` builds it); skips when it is not there."""
    build = os.environ.get("PMUPROF_ARM64_BUILD", "")
    if not os.access(os.path.join(build, "cli", "pmuprof"), os.X_OK):
        skip(f"no arm64 build at PMUPROF_ARM64_BUILD={build!r} (`make lab` builds it)")
    return os.path.realpath(build)
