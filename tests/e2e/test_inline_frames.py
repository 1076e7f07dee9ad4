"""Issue 4, acceptance 2: a static inline function and a C++ template inlined
into a hot loop appear as their own lines of the loop's locations (innermost
first), and pprof's views attribute samples to them."""
import os
import tempfile

from common import *

prog = workload("inline_hot")
out = os.path.join(tempfile.mkdtemp(), "inline.pb.gz")
r = run([PMUPROF, "record", "-e", "cpu-clock", "-F", "4000", "-o", out, "--", prog], timeout=300)
check(r.returncode == 0, r.stderr)
prof = load_profile(out)
leaf_fns = {}
total = 0
for s in prof["samples"]:
    if s["labels"].get("comm") != "inline_hot" or not s["stack"]:
        continue
    leaf = s["stack"][0]
    total += s["values"][0]
    leaf_fns[tuple(leaf)] = leaf_fns.get(tuple(leaf), 0) + s["values"][0]
for k, v in sorted(leaf_fns.items(), key=lambda kv: -kv[1])[:5]:
    print(f"{v:6d}  {' <- '.join(k)}")
# The loop's name is its demangled linkage name; the static inline helpers have none.
HOT = "hot_loop(unsigned int, long)"
mix = sum(v for k, v in leaf_fns.items() if len(k) >= 2 and k[0] == "mix_bits" and k[-1] == HOT)
tmpl = sum(v for k, v in leaf_fns.items()
           if len(k) >= 2 and k[0].startswith("scale_up") and k[-1] == HOT)
print(f"samples: {total}; in mix_bits inlined into hot_loop: {mix}; in scale_up<> inlined: {tmpl}")
check(mix > 0.2 * total, "the static inline function is not its own inline frame")
check(tmpl > 0.05 * total, "the template is not its own inline frame")

if not have_go():
    skip("go is not installed: pprof's attribution not checked (the profile itself was)")
top = dict((f, flat) for flat, f in pprof_top(out, "cpu-clock"))
print("pprof -top:", list(top)[:6])
check("mix_bits" in top, f"pprof does not attribute to mix_bits: {list(top)}")
check(any(f.startswith("scale_up") for f in top), f"pprof does not attribute to scale_up: {list(top)}")
