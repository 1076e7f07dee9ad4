"""`pmuprof list`: grouped output, filters, and every listed software and
sysfs event is accepted by `pmuprof stat`."""
import re

from common import *

r = run([PMUPROF, "list"])
check(r.returncode == 0, r.stderr)
out = r.stdout
for heading in ("Hardware events:", "Software events:"):
    check(heading in out, f"missing heading {heading!r}")
check(re.search(r"^  task-clock\s+\S", out, re.M), "task-clock not listed with a description")
if host_has_hw_pmu():
    # Cache events are listed when they open: the first one listed counts in perf too; none
    # listed on a PMU without them (QEMU's arm64 PMUv3), where perf cannot count L1-dcache-loads.
    cache = re.search(r"^Hardware cache events:\n  (\S+)", out, re.M)
    if cache:
        check(perf_counts(cache.group(1)), f"lists {cache.group(1)}, which perf cannot count")
    else:
        check(not perf_counts("L1-dcache-loads"), "no cache events, yet perf counts "
              "L1-dcache-loads")
else:
    check("none: this host exposes no hardware PMU" in out, "no note about the missing PMU")
    check(not re.search(r"^  cycles\b", out, re.M), "lists cycles on a host without a PMU")

# group filter
r = run([PMUPROF, "list", "sw"])
names = re.findall(r"^  (\S+)", r.stdout, re.M)
check("page-faults" in names and "cycles" not in names, f"list sw: {names}")
check(r.stdout.count(":\n") == 1, "list sw printed more than one group")

# glob and substring filters
r = run([PMUPROF, "list", "*-clock"])
names = re.findall(r"^  (\S+)", r.stdout, re.M)
check(set(names) >= {"cpu-clock", "task-clock"} and "page-faults" not in names, f"glob: {names}")
r = run([PMUPROF, "list", "zzz-nothing"])
check("no events match" in r.stdout, r.stdout)

# everything listed as software, or as a named sysfs event, can be counted
r = run([PMUPROF, "list"])
section = None
usable = []
for line in r.stdout.splitlines():
    if line and not line.startswith(" "):
        section = line
    elif line.startswith("  ") and section and (section.startswith("Software")
                                                or section.startswith("Kernel PMU")):
        name = line.split()[0]
        if "=" not in name and not name.startswith("mem:") and name not in ("bpf-output",):
            usable.append(name)
check(len(usable) >= 8, f"too few usable events listed: {usable}")
r = run([PMUPROF, "stat", "-x", ",", "-e", ",".join(usable), "--", "true"])
check(r.returncode == 0, f"listed events fail in stat: {r.stderr}")
print("ok:", len(usable), "listed events counted")
