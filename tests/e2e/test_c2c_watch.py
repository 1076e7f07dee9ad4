#!/usr/bin/env python3
"""pmuprof c2c watch: hardware watchpoints give the right sharing verdict.

Acceptance 2 of issue 7: on the bench/sharing workloads the verdict is
false sharing (write_write), false sharing read-write (read_write, with
--rw), true sharing (true_sharing) and none (padded). Also: the hits table
names both writer threads and the hot function of write_write, rotation by
reopening and attaching with -p give the same verdict, --symbol on a missing
symbol fails with a message, the command's exit status is passed through, and
a run that sees no hit gives no verdict. Skips (77) when hardware breakpoints
cannot be opened here, or when they never fire (c2c watch's probe says so, and
test_c2c_watch_probe checks that refusal).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PMUPROF, BENCH, check, fail, run, skip  # noqa: E402

VERDICT = {
    "false": "verdict: false sharing (different words written by different threads)",
    "false-rw": "verdict: false sharing (read-write: one thread writes a word, another reads a "
                "different word of the line)",
    "true": "verdict: true sharing (the same word written by more than one thread)",
    "none": "verdict: none (only one thread touches the line)",
}
NO_VERDICT = "no verdict: no access to the line was observed"



def sharing(name):
    path = os.path.join(BENCH, "sharing", name)
    check(os.access(path, os.X_OK), f"workload {path} is not built")
    return path


def watch(args, workload, wl_args=()):
    r = run([PMUPROF, "c2c", "watch", "--symbol", "shared_line"] + list(args) +
            ["--", sharing(workload)] + list(wl_args), timeout=300)
    return r


def verdicts(out):
    return [l for l in out.splitlines() if l.startswith("verdict:")]


def main():
    # Can this host open a hardware watchpoint at all? perf is the oracle when present.
    r = watch([], "padded", ["--iters", "1000"])
    if r.returncode != 0 and "cannot open a hardware watchpoint" in r.stderr:
        skip(f"hardware breakpoints cannot be opened here: {r.stderr.strip()}")
    if r.returncode != 0 and "hardware watchpoints do not fire on this host" in r.stderr:
        skip(f"hardware watchpoints do not fire on this host, so no verdict can be had: "
             f"{r.stderr.strip()}")
    check(r.returncode == 0, f"c2c watch on padded failed ({r.returncode}): {r.stderr}")

    cases = [
        ("write_write", [], "false"),
        ("read_write", ["--rw"], "false-rw"),
        # Both threads write the one word; under QEMU's TCG (the lab) a window's hits come
        # unevenly from the vCPUs, and at the default 3 % duty one thread's hits were all
        # missed in 1 run of 6 (verdict "none"): 20 % gives each thread hundreds.
        ("true_sharing", ["--duty", "20"], "true"),
        ("padded", [], "none"),
    ]
    outs = {}
    for wl, args, want in cases:
        r = watch(args, wl)
        check(r.returncode == 0, f"c2c watch {wl} failed ({r.returncode}): {r.stderr}")
        got = verdicts(r.stdout)
        check(got == [VERDICT[want]], f"{wl}: verdict {got!r}, expected {VERDICT[want]!r}\n{r.stdout}")
        check("0 lost" in r.stdout, f"{wl}: hits were lost: {r.stdout}")
        outs[wl] = r.stdout
        print(f"ok: {wl} {' '.join(args)} -> {got[0]}")

    # The table names both writers (thread names set by the workload) and the hot loop.
    ww = outs["write_write"]
    for name in ("ww-writer0", "ww-writer1", "ww_worker"):
        check(name in ww, f"write_write report lacks {name}:\n{ww}")
    rw = outs["read_write"]
    check(any(l.split()[:1] == ["1"] and "rw-reader" in l and " read " in l for l in rw.splitlines()),
          f"read_write report does not show rw-reader reading word 1:\n{rw}")

    # Rotation by reopening (kernels that cannot modify inherited watchpoints).
    r = watch(["--reopen"], "write_write")
    check(r.returncode == 0 and verdicts(r.stdout) == [VERDICT["false"]] and
          "rotated by reopen" in r.stdout, f"--reopen: {r.returncode} {r.stdout} {r.stderr}")
    print("ok: write_write --reopen")

    # Attaching with -p: the workload starts its threads after a delay (inherit covers them).
    import subprocess
    import time
    p = subprocess.Popen([sharing("write_write"), "--delay-ms", "300"], stdout=subprocess.DEVNULL)
    time.sleep(0.1)
    r = run([PMUPROF, "c2c", "watch", "--symbol", "shared_line", "-p", str(p.pid)], timeout=300)
    p.wait()
    check(r.returncode == 0 and verdicts(r.stdout) == [VERDICT["false"]],
          f"-p: {r.returncode} {r.stdout} {r.stderr}")
    print("ok: write_write -p")

    # Errors: an unknown symbol names itself; the exit status is the command's.
    r = run([PMUPROF, "c2c", "watch", "--symbol", "no_such_symbol", "--", sharing("padded")])
    check(r.returncode == 2 and "no symbol 'no_such_symbol'" in r.stderr,
          f"unknown symbol: {r.returncode} {r.stderr!r}")
    r = run([PMUPROF, "c2c", "watch", "--addr", "0x1000", "--", "/bin/sh", "-c", "exit 3"])
    check(r.returncode == 3, f"exit status not passed through: {r.returncode} {r.stderr!r}")
    check(not verdicts(r.stdout) and any(l.startswith(NO_VERDICT) for l in r.stdout.splitlines()),
          f"no hits must give no verdict: {r.stdout}")
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        fail(f"unexpected error: {e!r}")
