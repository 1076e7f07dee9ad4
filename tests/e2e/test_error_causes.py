"""Errors say the true cause, in the user's words.

Another user's process: ptrace access, not perf_event_paranoid (and no
internal event name); -t names a thread; a preset the host cannot count is
named as typed; c2c report on a file without data addresses says so and how
to record them; a group read with :S is summarised as read, not as members
with 0 samples.
"""
import os
import subprocess
import tempfile
import time

from common import PMUPROF, check, host_has_hw_pmu, run

d = tempfile.mkdtemp(prefix="pmuprof-err-")
os.chmod(d, 0o777)


def one_line(r, what):
    lines = [l for l in r.stderr.splitlines() if l.strip() and "sampling cpu-clock" not in l
             and "dropped" not in l]
    check(r.returncode != 0, f"{what}: exit 0")
    check(len(lines) == 1, f"{what}: expected one error line, got {lines}")
    return lines[0]


# --- another user's process -------------------------------------------------------
if os.geteuid() != 0:
    print("SKIP part: running as another user needs root")
else:
    victim = subprocess.Popen(["sleep", "30"])
    try:
        as_nobody = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
        for args in (["record", "-e", "cpu-clock", "-p", str(victim.pid), "--duration", "1",
                      "-o", f"{d}/n.pb.gz"],
                     ["record", "-p", str(victim.pid), "--duration", "1", "-o", f"{d}/n.pb.gz"],
                     ["stat", "-e", "cpu-clock:u", "-p", str(victim.pid)],
                     ["record", "-e", "cpu-clock", "-t", str(victim.pid), "--duration", "1",
                      "-o", f"{d}/n.pb.gz"]):
            r = run(as_nobody + [PMUPROF] + args, timeout=30)
            msg = one_line(r, args)
            check(f"cannot profile process {victim.pid}: it belongs to another user" in msg and
                  "CAP_SYS_PTRACE" in msg, f"{args}: {msg}")
            check("paranoid" not in msg and "dummy" not in msg and "side-band" not in msg,
                  f"{args}: blames the wrong cause or an internal name: {msg}")
        print(f"ok: another user's process: {msg}")
    finally:
        victim.kill()
        victim.wait()

# --- -t names a thread ---------------------------------------------------------------
r = run([PMUPROF, "record", "-e", "cpu-clock", "-t", "999999999", "-o", f"{d}/t.pb.gz"])
msg = one_line(r, "-t 999999999")
check("thread 999999999 does not exist" in msg and "process" not in msg, msg)
r = run([PMUPROF, "record", "-e", "cpu-clock", "-t", "12x", "-o", f"{d}/t.pb.gz"])
check("malformed thread id '12x'; expected -t 1234" in one_line(r, "-t 12x"), r.stderr)
print(f"ok: -t: {msg}")

# --- presets named as typed ---------------------------------------------------------
if host_has_hw_pmu():
    print("SKIP part: this host has a hardware PMU (the presets may well open)")
else:
    for cmd in ("record", "stat"):
        r = run([PMUPROF, cmd, "-e", "cache", "-o", f"{d}/p.out", "--", "true"])
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        if cmd == "stat" and r.returncode == 0:
            # stat counts what it can, as perf stat: the preset's events are <not supported>
            check("<not supported>" in r.stdout + r.stderr + open(f"{d}/p.out").read(),
                  f"stat -e cache: {r.stderr}")
            continue
        msg = one_line(r, f"{cmd} -e cache")
        check(msg.startswith(f"pmuprof {cmd}: -e cache cannot be used here: "), msg)
        print(f"ok: {cmd} -e cache: {msg[:90]}...")

# --- c2c report without data addresses ------------------------------------------------
data = f"{d}/plain.data"
r = run([PMUPROF, "record", "-e", "cpu-clock", "-o", f"{d}/plain.pb.gz", "--perf-data", data,
         "--", "true"])
check(r.returncode == 0, r.stderr)
for args in (["c2c", "report", "-i", data], ["import", "--c2c", data]):
    r = run([PMUPROF] + args)
    msg = one_line(r, args)
    check("has no data addresses" in msg and "c2c record" in msg, f"{args}: {msg}")
    check("Trace Event Information" not in r.stdout, f"{args}: printed empty tables")
print(f"ok: c2c report without data addresses: {msg[:100]}...")

# --- a frequency above the kernel's limit names the sysctl ----------------------------
limit = int(open("/proc/sys/kernel/perf_event_max_sample_rate").read())
r = run([PMUPROF, "record", "-e", "cpu-clock", "-F", str(limit * 2), "-o", f"{d}/f.pb.gz", "--",
         "true"])
msg = one_line(r, "-F above the limit")
check("kernel.perf_event_max_sample_rate" in msg and f"-F {limit} or less" in msg, msg)
print(f"ok: -F {limit * 2}: {msg[:100]}...")

# --- -a with a command: every process while the command runs (as perf record -a -- cmd) --
r = run([PMUPROF, "record", "-e", "cpu-clock", "-a", "-o", f"{d}/a.pb.gz", "--", "sh", "-c",
         "exit 3"])
check(r.returncode == 3 and "wrote" in r.stderr, f"record -a -- cmd: {r.returncode} {r.stderr}")
r = run([PMUPROF, "record", "-e", "cpu-clock", "-p", "1", "-o", f"{d}/a.pb.gz", "--", "true"])
check(r.returncode == 2 and "cannot be combined with -p or -t" in r.stderr, r.stderr)
print("ok: record -a -- cmd records while cmd runs, with its exit status")

# --- a group read with :S --------------------------------------------------------------
r = run([PMUPROF, "record", "-e", "{cpu-clock,page-faults}:S", "-o", f"{d}/g.pb.gz", "--",
         "true"])
check(r.returncode == 0, r.stderr)
check("page-faults:S 0" not in r.stderr and "(page-faults:S read at each)" in r.stderr,
      f"summary: {r.stderr}")
print("ok: :S group summary says the member is read")
print("PASS")
