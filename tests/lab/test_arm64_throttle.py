"""Throttling on a real overflow interrupt (the arm64 guest's PMUv3, without -icount):
`record -e cycles:u -c 2000` asks for more interrupts than the kernel allows, so it
throttles the event. pmuprof must count the THROTTLE records (the same number perf
reads from pmuprof's own --perf-data), say so in its summary and the profile's
comment, lose no sample, and weigh each sample by its period (the profile's total
is samples x period, as perf reports for the same recording)."""
import base64
import os
import re
import subprocess
import tempfile

from lab import HERE, arm64_build, check, guest, sections
from common import load_profile

BUILD = arm64_build()
PMUPROF = os.path.join(BUILD, "cli", "pmuprof")
work = tempfile.mkdtemp(prefix="arm64-throttle-", dir=os.path.dirname(PMUPROF))
two = os.path.join(work, "two_functions")
r = subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-g", "-static", "-pthread", "-o", two,
                    os.path.join(HERE, "arm64", "two_functions.c")], capture_output=True, text=True)
check(r.returncode == 0, f"cannot cross-build two_functions: {r.stderr}")
PERIOD = 2000

script = "\n".join([
    "echo === record",
    f"{PMUPROF} record -e cycles:u -c {PERIOD} -o /tmp/t.pb.gz --perf-data /tmp/t.data "
    f"-- {two} 1 20000000 20000000 2>&1; echo status $?",
    "echo === stats",
    "perf report -i /tmp/t.data --stats 2>&1",
    "echo === pb",
    "base64 /tmp/t.pb.gz",
])
r = guest(script, nodes=1, arch="arm64", shares=[BUILD])
print(r.stderr[-2000:], end="")
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stdout[-3000:]}")
out = sections(r.stdout)
print(out["record"], end="")
check(out["record"].rstrip().endswith("status 0"), "pmuprof record failed")
summary = re.search(r"samples cycles:u (\d[\d,]*).*; lost (\d+); throttled (\d+)", out["record"])
check(summary, f"no summary line: {out['record']}")
samples, lost, throttled = (int(g.replace(",", "")) for g in summary.groups())


def stat(kind):
    m = re.search(rf"^\s*{kind} events:\s+(\d+)", out["stats"], re.M)
    return int(m.group(1)) if m else 0


perf_throttles, perf_samples = stat("THROTTLE"), stat("SAMPLE")
print(f"pmuprof: {samples} samples, {lost} lost, {throttled} throttled; perf reads "
      f"{perf_samples} samples and {perf_throttles} THROTTLE records in pmuprof's perf.data")
check(throttled > 0, "the kernel did not throttle -c 2000 here, so nothing is tested")
check(throttled == perf_throttles, f"pmuprof counted {throttled} throttles, its perf.data "
                                    f"holds {perf_throttles}")
check(lost == 0 and samples == perf_samples, f"samples {samples} vs perf's {perf_samples}, "
                                             f"lost {lost}")
path = os.path.join(work, "t.pb.gz")
with open(path, "wb") as f:
    f.write(base64.b64decode(out["pb"]))
prof = load_profile(path)
counted = sum(s["values"][prof["types"].index("samples")] for s in prof["samples"])
total = sum(s["values"][prof["types"].index("cycles:u")] for s in prof["samples"])
check(counted == samples and total == samples * PERIOD,
      f"profile: {counted} samples weighing {total}; {samples} samples of {PERIOD} were taken")
said = [c for c in prof["comments"] if "throttle events: " in c]
check(said and f"throttle events: {throttled}" in said[0], f"comments: {prof['comments']}")
print(f"profile: total {total} = {samples} x {PERIOD}; comment: {said[0]}")
print("PASS")
