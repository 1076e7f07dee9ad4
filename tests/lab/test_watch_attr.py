"""Watchpoint attribution in the 2-node guest (tests/data/workloads/watch_attr.c):
does each sample name the word that was written, by the thread that wrote it?

- One watchpoint moved across words by MODIFY_ATTRIBUTES (while enabled, and
  disable-modify-enable as pmuprof does) or by reopening: every sample names
  the written word, and the counts equal the writes (what c2c watch relies on).
- Two watched words written in turn by one thread: where a write is also
  reported on the other word (QEMU's TCG keeps a watchpoint's hit flag, so DR6
  names both), pmuprof's probe must say so and watch one word at a time; where
  it is not, pmuprof must watch four.
"""
import os
import re

from lab import PMUPROF, check, guest, sections

WL = os.environ.get("WORKLOAD_DIR", os.path.join(os.path.dirname(PMUPROF), "..", "tests", "data",
                                                 "workloads"))
X = os.path.realpath(os.path.join(WL, "watch_attr"))
check(os.access(X, os.X_OK), f"{X} is not built")

script = ""
for mode in ("modify", "dme", "reopen"):
    script += f"echo === {mode}\n{X} {mode} --slots 1 --phases 6 --writes 2000; echo status $?\n"
for mode in ("alternate", "static"):
    script += f"echo === {mode}2\n{X} {mode} --slots 2 --phases 3 --writes 2000; echo status $?\n"
script += f"echo === pmuprof\n{PMUPROF} c2c watch --addr 0x1000 --len 64 -- /bin/true; echo status $?\n"
r = guest(script, nodes=2)
check(r.returncode == 0, f"the guest's commands failed ({r.returncode}): {r.stdout}\n{r.stderr}")
s = sections(r.stdout)
print(r.stdout, end="")

for mode in ("modify", "dme", "reopen"):
    out = s.get(mode, "")
    check("status 0" in out and "slots=1: exact" in out,
          f"one watchpoint moved by {mode}: samples differ from the writes:\n{out}")
    print(f"ok: one watchpoint moved by {mode}: every sample names the written word")

alt = s.get("alternate2", "")
check(re.search(r"status [01]\n", alt), f"watch_attr alternate failed:\n{alt}")
stale = "status 1" in alt
rep = s.get("pmuprof", "")
check("status 0" in rep, f"pmuprof c2c watch failed:\n{rep}\n{r.stderr}")
one = "1 word at a time" in rep and "one word at a time: here a hit is also reported" in rep
check(one == stale,
      f"two words written in turn {'are' if stale else 'are not'} reported on each other's "
      f"watchpoint here, but pmuprof watches {'1 word' if one else '4 words'} at a time:\n{alt}\n{rep}")
print(f"ok: stale watchpoint reports {'seen' if stale else 'not seen'} here; pmuprof watches "
      f"{'1 word' if one else '4 words'} at a time")
print("PASS")
