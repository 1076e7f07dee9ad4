"""stat's derived metrics against perf stat in the arm64 guest (QEMU's PMUv3 has cycles and
instructions, no cache or branch events; under --icount the counts are exact): the
instructions line's "insn per cycle" and the cycles line's "GHz" in perf's format and columns,
-x's metric fields with perf's precision; --metric-only's values as perf's, each under its
name (perf 6.1 prints its own names empty here), in the human, -x and -j layouts."""
import json
import os
import re

from lab import arm64_build, check, guest, sections

BUILD = arm64_build()  # skips when the arm64 build is missing
P = os.path.join(BUILD, "cli", "pmuprof")
LOOP = "/bin/busybox sh -c 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); done'"
EV = "task-clock,cycles,instructions"

script = [f"{LOOP}"]  # warms TCG's translations
for name, flags in (("std", ""), ("csv", "-x ,"), ("mo", "--metric-only"),
                    ("mocsv", "--metric-only -x ,"), ("mojson", "--metric-only -j")):
    script += [f"echo === ours-{name}", f"{P} stat {flags} -e {EV} -- {LOOP} 2>&1",
               f"echo === perf-{name}", f"perf stat {flags} -e {EV} -- {LOOP} 2>&1"]
r = guest("\n".join(script), nodes=1, arch="arm64", icount=True, shares=[BUILD])
print(r.stdout[-6000:])
check(r.returncode == 0, f"the guest's commands failed (status {r.returncode})")
out = sections(r.stdout)


def lines(name, keep):
    return [l for l in out.get(name, "").splitlines() if keep(l)]


# The count lines: the metric after '#' in perf's format, in perf's columns.
for event, metric in (("instructions", r"#\s+\d+\.\d\d  insn per cycle"),
                      ("cycles", r"#\s+\d+\.\d{3} GHz")):
    ours = lines("ours-std", lambda l: f" {event} " in l)
    theirs = lines("perf-std", lambda l: f" {event} " in l)
    check(len(ours) == 1 and len(theirs) == 1, f"{event}: lines {ours} / {theirs}")
    o, t = ours[0].rstrip(), theirs[0].rstrip()
    check(re.search(metric, t), f"perf's {event} line is not as expected: {t!r}")
    check(re.search(metric, o), f"{event}: {o!r} is not perf's format {t!r}")
    check(o.index("#") == t.index("#") and len(o) - o.index("#") == len(t) - t.index("#"),
          f"{event}: columns of {o!r} vs perf's {t!r}")
    if event == "instructions":  # exact counts: the same ratio
        ipc = lambda l: float(l.split("#")[1].split()[0])
        check(abs(ipc(o) - ipc(t)) <= 0.02, f"insn per cycle {ipc(o)} vs perf's {ipc(t)}")

# -x: the metric value with perf's precision, its unit.
for o, t in zip(lines("ours-csv", lambda l: "," in l), lines("perf-csv", lambda l: "," in l)):
    fo, ft = o.split(","), t.split(",")
    check(fo[2] == ft[2] and fo[-1] == ft[-1], f"-x rows {fo} vs perf's {ft}")
    check(len(fo[-2].split(".")[-1]) == len(ft[-2].split(".")[-1]),
          f"-x metric precision {fo[-2]!r} vs perf's {ft[-2]!r}")

# --metric-only: perf 6.1 prints its header empty here (and -j's keys as "metric-value"), so
# the values are compared: insn per cycle in perf's format, under our header's name.
ipc_text = lambda text: re.findall(r"(?<![\d.])\d+\.\d\d(?![\d.])", text)
mo = lambda name: [l for l in lines(name, lambda l: l.strip() and "Performance counter" not in l
                                    and "seconds" not in l)]
ours, theirs = mo("ours-mo"), mo("perf-mo")
check(len(ours) == 2 and "insn per cycle" in ours[0] and "GHz" in ours[0],
      f"--metric-only header: {ours}")
check(ipc_text(ours[1])[-1:] == ipc_text(theirs[-1])[-1:], f"--metric-only {ours} vs {theirs}")
# the value right-aligned under its name
name_end = ours[0].index("insn per cycle") + len("insn per cycle")
check(ours[1].rstrip().endswith(ipc_text(ours[1])[-1]) and
      len(ours[1].rstrip()) == name_end - 1, f"--metric-only columns: {ours}")
oc = lines("ours-mocsv", lambda l: "," in l)
tc = lines("perf-mocsv", lambda l: "," in l)
check(oc and oc[0].split(",")[:-1] == ["GHz", "insn per cycle"], f"--metric-only -x: {oc}")
check(oc[-1].split(",")[1] == tc[-1].split(",")[-2], f"--metric-only -x {oc} vs perf's {tc}")
oj = [json.loads(l) for l in lines("ours-mojson", lambda l: l.startswith("{"))]
tj = out.get("perf-mojson", "")
check(len(oj) == 1 and f'"{oj[0]["insn per cycle"]}"' in tj, f"--metric-only -j {oj} vs {tj}")
print("ok")
