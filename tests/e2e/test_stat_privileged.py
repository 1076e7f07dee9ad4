"""Errors that need root to set up: a non-root user under
kernel.perf_event_paranoid>=2 (the message names the level and the fix), and
a full disk under -o (loud failure, no truncated or temporary file left)."""
import os
import shutil
import subprocess
import tempfile

from common import *

if os.geteuid() != 0:
    skip("needs root to run as another user and to mount a tiny tmpfs")
paranoid = int(open("/proc/sys/kernel/perf_event_paranoid").read())
if paranoid < 1:
    skip(f"kernel.perf_event_paranoid={paranoid} lets every user count system wide")
runuser = shutil.which("runuser")
if not runuser:
    skip("runuser (util-linux) is missing")

as_nobody = [runuser, "-u", "nobody", "--"]
probe = run(as_nobody + [PMUPROF, "version"])
if probe.returncode != 0:
    skip(f"user nobody cannot execute {PMUPROF} (a directory on its path is private)")

r = run(as_nobody + [PMUPROF, "stat", "-a", "-e", "task-clock", "--", "true"])
msg = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
print("non-root -a:", msg)
check(r.returncode != 0, "non-root -a counting succeeded under paranoid>=1")
check(f"perf_event_paranoid<=0 (it is {paranoid})" in msg, f"message lacks the level: {msg!r}")
check("sudo sysctl -w kernel.perf_event_paranoid=0" in msg and "CAP_PERFMON" in msg,
      f"message lacks the fix: {msg!r}")

# As perf does, a non-root user still counts its own user space.
r = run(as_nobody + [PMUPROF, "stat", "-x", ",", "-e", "task-clock", "--", "true"])
check(r.returncode == 0 and "task-clock" in r.stderr, f"user-only fallback failed: {r.stderr}")

# Full disk: a 16 KiB tmpfs, filled up.
d = tempfile.mkdtemp()
try:
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", d], capture_output=True)
    if m.returncode != 0:
        skip(f"cannot mount a tmpfs to simulate a full disk: {m.stderr.decode().strip()}")
    try:
        with open(os.path.join(d, "filler"), "wb") as f:
            try:
                f.write(b"x" * (1 << 20))
            except OSError:
                pass
        out = os.path.join(d, "counts.csv")
        r = run([PMUPROF, "stat", "-x", ",", "-o", out, "-e", "task-clock,page-faults", "--", "true"])
        msg = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        print("full disk:", msg)
        check(r.returncode != 0, "writing to a full disk succeeded")
        check("No space left on device" in msg and out in msg, f"unclear message: {msg!r}")
        check(sorted(os.listdir(d)) == ["filler"], f"left files behind: {os.listdir(d)}")
    finally:
        subprocess.run(["umount", d])
finally:
    os.rmdir(d)
print("ok")
