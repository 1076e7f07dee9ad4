"""pmuprof must not break other perf users on the host (a continuous profiler runs
next to people's perf sessions). While `pmuprof record -a` runs, `perf record` of a
short command must succeed and its perf.data must read back. Regression: the
tracking event once asked the kernel for build ids in MMAP2 records, and with
such an event open the kernel (6.18) flagged other sessions' MMAP2 records as
carrying a build id over their inode fields: perf 6.1 aborted (stack smashing
in util/build-id.c)."""
import os
import subprocess
import tempfile
import time

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed")
tmp = tempfile.mkdtemp()
ours = subprocess.Popen([PMUPROF, "record", "-a", "-e", "cpu-clock", "--duration", "6",
                         "-o", os.path.join(tmp, "a.pb.gz")],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    time.sleep(1.5)  # the session is open and its tracking events enabled
    check(ours.poll() is None, f"pmuprof record -a exited early: {ours.communicate()}")
    data = os.path.join(tmp, "perf.data")
    for i in range(3):
        r = run(["perf", "record", "-q", "-e", "cpu-clock", "-o", data, "--", bench("spin"),
                 "--iters", "20000000"])
        check(r.returncode == 0, f"perf record failed while pmuprof records (run {i}): "
              f"{r.stderr.strip()}")
        s = run(["perf", "script", "-i", data, "-F", "comm"])
        check(s.returncode == 0 and "spin" in s.stdout, f"perf script: {s.stderr.strip()}")
finally:
    out, err = ours.communicate(timeout=60)
check(ours.returncode == 0, f"pmuprof record -a failed: {err}")
print("perf record and perf script worked 3 times while pmuprof record -a ran")
