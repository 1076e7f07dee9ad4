"""Issue 4, acceptance 1 and 3: with --call-graph dwarf, >= 95 % of the
samples in a comparator called by libc's qsort (code without frame
pointers) have stacks that reach main through qsort; and the stacks agree
with perf's own DWARF unwinder (perf record --call-graph dwarf + perf script)
on >= 95 % of samples, compared as distributions of collapsed stacks."""
import collections
import os
import re
import tempfile

from common import *

prog = workload("qsort_hot")
# Twice the default rounds (~2.4 s, ~9 K samples per recording): the agreement
# compares two recordings' distributions, and at ~4 K samples each their
# sampling noise alone spread it over 97-99 % (once below the 95 % asked).
ROUNDS = "24"
d = tempfile.mkdtemp()


def reach_fraction(path):
    prof = load_profile(path)
    total = ok = 0
    for s in prof["samples"]:
        frames = [f for loc in s["stack"] for f in loc]
        if not frames or frames[0] != "compare_keys":
            continue
        n = s["values"][0]
        total += n
        if "main" in frames and any("qsort" in f for f in frames[:frames.index("main")]):
            ok += n
    return ok, total, prof


out = os.path.join(d, "dwarf.pb.gz")
r = run([PMUPROF, "record", "--call-graph", "dwarf", "-e", "cpu-clock", "-F", "4000", "-o", out,
         "--", prog, ROUNDS], timeout=300)
check(r.returncode == 0, r.stderr)
ok, total, prof = reach_fraction(out)
check(total > 200, f"only {total} samples in the comparator")
print(f"dwarf: {ok}/{total} comparator samples reach main through qsort ({100 * ok / total:.1f}%)")
print("unwind comment:", [c for c in prof["comments"] if c.startswith("dwarf unwinding")])
check(ok / total >= 0.95, f"only {100 * ok / total:.1f}% reach main (need 95%)")

fp = os.path.join(d, "fp.pb.gz")
r = run([PMUPROF, "record", "-g", "-e", "cpu-clock", "-F", "4000", "-o", fp, "--", prog], timeout=300)
check(r.returncode == 0, r.stderr)
ok_fp, total_fp, _ = reach_fraction(fp)
print(f"information only: frame pointers reach main in {ok_fp}/{total_fp} "
      f"({100 * ok_fp / max(total_fp, 1):.1f}%)")

# The independent unwinder: perf's, on a recording of the same workload.
if not have_perf():
    skip("perf is not installed: acceptance 3 (agreement with perf's unwinder) not checked")


def canonical(name):
    """One name per function: libc's aliases differ between the symbol table
    (perf: __GI___qsort_r) and DWARF (pmuprof: __qsort_r)."""
    name = name.split("+")[0]
    if name.startswith("__GI_"):
        name = name[len("__GI_"):]
    name = name.lstrip("_")
    # GCC's clones (foo.part.0, foo.isra.0, ...) carry the DWARF name of foo
    while re.search(r"\.(part|isra|constprop|cold|lto_priv)(\.\d+)?$", name):
        name = re.sub(r"\.(part|isra|constprop|cold|lto_priv)(\.\d+)?$", "", name)
    # glibc's memmove and memcpy variants are one code range under two names
    if name.startswith("memcpy_") or name.startswith("memmove_"):
        return "memmove/memcpy"
    return name


def collapse(frames):
    """Frames from the leaf to main, recursion collapsed (msort depth varies)."""
    out = []
    for f in frames:
        f = canonical(f)
        if out and out[-1] == f:
            continue
        out.append(f)
        if f == "main":
            break
    return tuple(out)


ours = collections.Counter()
for s in prof["samples"]:
    # perf script names each frame by its symbol: compare with each location's
    # concrete (outermost) function, leaving our inline frames out
    frames = [loc[-1] for loc in s["stack"] if loc]
    if frames and s["labels"].get("comm") == "qsort_hot":
        ours[collapse(frames)] += s["values"][0]

data = os.path.join(d, "perf.data")
r = run(["perf", "record", "-q", "--call-graph", "dwarf", "-e", "cpu-clock", "-F", "4000", "-o", data,
         "--", prog, ROUNDS], timeout=300)
check(r.returncode == 0, r.stderr)
r = run(["perf", "script", "-i", data, "-F", "comm,ip,sym"], timeout=600)
theirs = collections.Counter()
for block in r.stdout.split("\n\n"):
    lines = [l.split() for l in block.strip().splitlines()]
    if not lines or lines[0][0] != "qsort_hot":
        continue
    frames = [l[1] for l in lines[1:] if len(l) >= 2]
    if frames:
        theirs[collapse(frames)] += 1
tot_o, tot_t = sum(ours.values()), sum(theirs.values())
agree = sum(min(ours[k] / tot_o, theirs[k] / tot_t) for k in set(ours) | set(theirs))
for k, v in theirs.most_common(4):
    print(f"perf {100 * v / tot_t:5.1f}%  pmuprof {100 * ours[k] / tot_o:5.1f}%  {' <- '.join(k)}")
print(f"stack distributions agree on {100 * agree:.1f}% of samples")
if os.environ.get("PMUPROF_SANITIZED"):
    # Under ASan the workload runs through ASan's qsort interceptor and its
    # wrappers, whose small frames the two recordings split differently; the
    # agreement is printed above but enforced in the plain build only.
    print("note: sanitizer build: agreement with perf not enforced (see the plain build)")
else:
    check(agree >= 0.95, f"only {100 * agree:.1f}% agreement with perf's unwinder (need 95%)")
