"""Samples the kernel loses are counted and the fix is named.

With 1-page rings at 100 K samples/s per CPU (`-a -c 10000` on cpu-clock, a
busy spinner on every CPU) the kernel's rings fill between two reads: the
run still succeeds, the profile's comment and the summary count the loss,
and one line says what to do (more ring pages with -m, or a lower rate).
"""
import os
import re
import subprocess
import tempfile

from common import PMUPROF, bench, check, load_profile, skip

if os.geteuid() != 0 and open("/proc/sys/kernel/perf_event_paranoid").read().strip() not in ("-1", "0"):
    skip("-a needs root or kernel.perf_event_paranoid <= 0")
d = tempfile.mkdtemp(prefix="pmuprof-lost-")
out = os.path.join(d, "lost.pb.gz")
spinners = [subprocess.Popen([bench("spin"), "--iters", "100000000000"], stdout=subprocess.DEVNULL)
            for _ in range(os.cpu_count() or 1)]
try:
    r = subprocess.run([PMUPROF, "record", "-a", "-m", "1", "-e", "cpu-clock", "-c", "10000",
                        "--duration", "1", "-o", out], capture_output=True, text=True, timeout=120)
finally:
    for s in spinners:
        s.kill()
        s.wait()
check(r.returncode == 0, r.stderr)
m = re.search(r"; lost (\d+);", r.stderr)
check(m and int(m.group(1)) > 0, f"no loss counted with 1-page rings: {r.stderr}")
lost = int(m.group(1))
line = [l for l in r.stderr.splitlines() if "the kernel lost" in l]
check(len(line) == 1 and f"the kernel lost {lost} samples" in line[0] and "-m 4" in line[0],
      f"no one line naming the loss and the fix: {r.stderr}")
comments = load_profile(out)["comments"]
check(f"lost samples: {lost}; throttle events: 0" in comments or
      any(c.startswith(f"lost samples: {lost};") for c in comments),
      f"the profile does not count the {lost} lost samples: {comments}")
print(f"{line[0]}\nPASS")
