"""Records the consumer has not processed wait in a file, and none is lost.

`--call-graph dwarf` defers all processing to the end of the run (as perf
script after perf record), so with `--buffer-mib 1` the readers must spill
the 8 KiB stack copies of a 2 s workload (~20 MiB) to a file in $TMPDIR and
the engine must read every one back:
  - the profile says how much waited in the file, and nothing was lost;
  - cpu-clock at -c 1 ms gives one sample per ms of the workload's CPU time
    (bash's `times`), within 10 %;
  - the --perf-data tee, written from the records the engine got back, holds
    exactly the samples the profile counts (perf script as the oracle);
  - the profile names qsort_hot's comparator.
With an unusable $TMPDIR the spill fails: the run still succeeds, uses
memory up to its bound, and says why and what to do in one line.
"""
import os
import re
import subprocess
import tempfile

from common import (PMUPROF, check, go_pprof, have_perf, load_profile, perf_record_samples,
                    record_samples, workload)

d = tempfile.mkdtemp(prefix="pmuprof-spill-")
qsort = workload("qsort_hot")


def record(out, extra, env=None):
    r = subprocess.run([PMUPROF, "record", "-e", "cpu-clock", "-c", "1000000",
                        "--call-graph", "dwarf", "--buffer-mib", "1", "-o", out] + extra +
                       ["--", "bash", "-c", f"{qsort} >/dev/null; times"],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, **(env or {})))
    check(r.returncode == 0, r.stderr)
    t = re.findall(r"(\d+)m([\d.]+)s", r.stdout)
    check(len(t) == 4, f"no `times` output: {r.stdout!r}")
    return r, sum(int(m) * 60 + float(s) for m, s in t)


out = os.path.join(d, "spill.pb.gz")
pd = os.path.join(d, "spill.data")
r, cpu_s = record(out, ["--perf-data", pd])
samples = record_samples(r.stderr)["cpu-clock"]
comments = load_profile(out)["comments"]
buf = [c for c in comments if c.startswith("buffers:")]
check(buf, f"no buffers comment (nothing spilled?): {comments}")
m = re.search(r"([\d.]+) MiB of records in (\d+) chunks waited in a file", buf[0])
check(m and float(m.group(1)) > 2, f"less spilled than the stacks' size: {buf[0]}")
check(any(c.startswith("lost samples: 0;") for c in comments), f"samples lost: {comments}")
print(f"spilled: {buf[0]}; {samples} samples for {cpu_s * 1e3:.0f} ms of CPU")
check(abs(samples - cpu_s * 1e3) <= 0.1 * cpu_s * 1e3,
      f"{samples} samples for {cpu_s * 1e3:.0f} ms of CPU (1 ms each)")
if have_perf():
    perf = perf_record_samples(pd).get("cpu-clock", 0)
    check(perf == samples, f"perf script counts {perf} samples in the tee, the profile {samples}")
# (pprof_top rejects any "error" in the output: the unwinding comment counts "unwinder error 0")
status, text = go_pprof(["-top", "-nodecount=3", "-sample_index=cpu-clock", out])
check(status == 0 and "compare_keys" in text.split("flat%", 1)[-1], f"comparator not on top: {text}")

# A $TMPDIR that cannot hold the file: memory instead, and the cause in one line.
r, _ = record(os.path.join(d, "nodir.pb.gz"), [], env={"TMPDIR": os.path.join(d, "missing")})
line = [l for l in r.stderr.splitlines() if "could not wait in a file" in l]
check(len(line) == 1 and "No such file or directory" in line[0] and "set TMPDIR" in line[0],
      f"no one-line cause and fix: {r.stderr}")
print(f"unusable TMPDIR: {line[0]}")
print("PASS")
