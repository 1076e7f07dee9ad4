"""Acceptance: every error class of `pmuprof stat` gives one clear line naming
the cause and the fix, and a non-zero exit status."""
import os
import platform

from common import *

spin = bench("spin")


def expect_error(args, *needles, status=None):
    r = run([PMUPROF] + args)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode != 0, f"{args}: exit status 0, expected failure")
    if status is not None:
        check(r.returncode == status, f"{args}: status {r.returncode}, expected {status}")
    check(len(lines) >= 1, f"{args}: no message")
    msg = lines[-1]
    check(msg.startswith("pmuprof"), f"{args}: message not from pmuprof: {msg!r}")
    for n in needles:
        check(n in msg, f"{args}: message {msg!r} lacks {n!r}")
    # One line: the error is a single line (notices, if any, come before it).
    check(all("pmuprof" in l for l in lines), f"{args}: multi-line error: {lines}")
    print(f"ok {args}: {msg}")


# unknown event -> did you mean
expect_error(["stat", "-e", "cyles", "--", "true"], "unknown event 'cyles'", "did you mean 'cycles'")
expect_error(["stat", "-e", "task-clok", "--", "true"], "did you mean 'task-clock'")
expect_error(["stat", "-e", "L1-dcache-load-mises", "--", "true"], "'L1-dcache-load-misses'")
expect_error(["stat", "-e", "nopmu/event=1/", "--", "true"], "unknown PMU 'nopmu'")
# malformed specs
expect_error(["stat", "-e", "{task-clock,page-faults", "--", "true"], "missing '}'")
expect_error(["stat", "-e", "task-clock:q", "--", "true"], "invalid modifier 'q'")
expect_error(["stat", "-e", "msr/event=0x0", "--", "true"], "not closed")
# software: a PMU every Linux has (x86's msr is not on arm64).
expect_error(["stat", "-e", "software/evnt=0/", "--", "true"], "has no term or event 'evnt'")
expect_error(["stat", "-e", "task-clock,,page-faults", "--", "true"], "empty event name")
expect_error(["stat", "-e", "mem:zz", "--", "true"], "malformed breakpoint")
expect_error(["stat", "-C", "0-", "-e", "cpu-clock", "--", "true"], "malformed CPU list")
expect_error(["stat", "-C", "4096", "-e", "cpu-clock", "--", "true"], "CPU 4096 is not online")
expect_error(["stat", "-x", ",", "-j", "--", "true"], "alternatives")
expect_error(["stat", "--bogus", "--", "true"], "unknown option '--bogus'")
expect_error(["stat"], "nothing to count")
expect_error(["frobnicate"], "unknown command 'frobnicate'")

# the host cannot count or sample it -> which capability is missing
if not host_has_hw_pmu():
    expect_error(["stat", "-e", "cycles", "--", "true"], "no hardware PMU", "cpu-clock")
    expect_error(["stat", "-e", "cycles:pp", "--", "true"], "no hardware PMU")
    expect_error(["stat", "-e", "cpu/event=0x3c/", "--", "true"], "no hardware PMU")
else:
    devs = "/sys/bus/event_source/devices"
    try:
        max_precise = int(open(f"{devs}/cpu/caps/max_precise").read())
    except OSError:
        max_precise = 0
    if platform.machine() != "x86_64":
        # PEBS and IBS are x86's; elsewhere the kernel decides (arm64's PMU ignores :pp), and
        # pmuprof counts cycles:pp exactly when perf does.
        r = run([PMUPROF, "stat", "-e", "cycles:pp", "--", "true"])
        perf_ok = perf_counts("cycles:pp")
        check((r.returncode == 0) == perf_ok,
              f"cycles:pp: pmuprof status {r.returncode}, perf counts it: {perf_ok}: {r.stderr}")
    elif max_precise == 0 and not os.path.isdir(f"{devs}/ibs_op"):
        expect_error(["stat", "-e", "cycles:pp", "--", "true"], "precise sampling", "PEBS", "IBS")
    else:
        r = run([PMUPROF, "stat", "-e", "cycles:pp", "--", "true"])
        check(r.returncode == 0, f"precise counting failed on a host with PEBS/IBS: {r.stderr}")

# targets that do not exist
expect_error(["stat", "-e", "task-clock", "--", "/nonexistent/prog"], "cannot run '/nonexistent/prog'",
             "No such file", status=127)
expect_error(["stat", "-e", "task-clock", "-p", "999999999"], "process 999999999 does not exist")
expect_error(["stat", "-e", "task-clock", "-o", "/nonexistent/dir/out.csv", "--", "true"],
             "cannot write counts /nonexistent/dir/out.csv", "does not exist")
