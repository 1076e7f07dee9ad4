"""pmuprof record's memory does not grow with the workload's threads: the same
CPU time spread over 2 or 32 threads gives the same samples, and the peak RSS
of the 32-thread run stays within a few MiB of the 2-thread one. (Readers that
queue a fresh 256 KiB chunk per ring per drain while the consumer, one runnable
thread among 33, waits for a CPU grow by ~0.8 MiB per thread.)"""
import os
import tempfile

from common import *

SECONDS = 3.2  # of CPU time, shared by the threads
LIMIT_MIB = 6


d = tempfile.mkdtemp()
peaks = {}
for n in (2, 32):
    out = os.path.join(d, f"t{n}.pb.gz")
    with tempfile.TemporaryFile(mode="w+") as errf:
        p = subprocess.Popen([PMUPROF, "record", "-e", "cpu-clock", "-o", out, "--",
                              workload("threads_spin"), str(n), str(SECONDS)],
                             stdout=subprocess.DEVNULL, stderr=errf)
        _, status, ru = os.wait4(p.pid, 0)  # pmuprof's own rusage: its peak RSS
        errf.seek(0)
        stderr = errf.read()
    check(os.waitstatus_to_exitcode(status) == 0, f"record of {n} threads failed: {stderr}")
    tids = {s["labels"].get("tid") for s in load_profile(out)["samples"]}
    check(len(tids) >= n, f"{n} threads: samples of only {len(tids)} threads")
    peaks[n] = ru.ru_maxrss / 1024
    print(f"{n} threads: peak RSS {peaks[n]:.1f} MiB, samples of {len(tids)} threads")
growth = peaks[32] - peaks[2]
print(f"2 -> 32 threads: {growth:+.1f} MiB (limit {LIMIT_MIB})")
if os.environ.get("PMUPROF_SANITIZED"):
    skip("the sanitizer's shadow memory and quarantine make RSS say nothing of pmuprof's own")
check(growth < LIMIT_MIB, f"peak RSS grows by {growth:.1f} MiB from 2 to 32 threads")
