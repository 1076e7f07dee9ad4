"""Issue 6, acceptance 2: under `pmuprof record`, a program alternating two
regions (tests/data/workloads/regions.c: "A" runs work_a, "B" runs work_b,
and a fixed trace context is current inside B) yields a pprof where
`-tagfocus=region=A` shows only A's function and `region=B` only B's; its
OTLP samples carry the region attribute, and B's samples reference a Link
with the program's trace and span ids (A's reference none)."""
import os
import re
import sys
import tempfile

from common import *

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
OWN = {"A": "work_a", "B": "work_b"}
NOISE = 0.02  # share of a region's samples allowed outside its function (timer reads, runtime)

prog = workload("regions")
d = tempfile.mkdtemp()
pprof = os.path.join(d, "regions.pb.gz")
req = os.path.join(d, "regions.otlp")
r = run([PMUPROF, "record", "-e", "cpu-clock", "-o", pprof, "--otlp", req, "--", prog],
        timeout=300)
check(r.returncode == 0, r.stderr)
check("regions: labelled" in r.stdout, f"the program did not find the channel: {r.stdout!r}")

# --- the pprof, decoded independently (protoc) ---
prof = load_profile(pprof)
comment = [c for c in prof["comments"] if c.startswith("label channel:")]
check(comment, f"no label channel comment: {prof['comments']}")
print(comment[0])
# 15 turns x (begin A, end A, begin B, trace, clear, end B)
check(re.search(r"events read 90, lost 0;", comment[0]), "channel events read/lost")

by_region = {}   # region -> {leaf function: samples}
leaf_region = {}  # leaf function -> {region: samples}
for s in prof["samples"]:
    if s["labels"].get("comm") != "regions" or not s["stack"]:
        continue
    leaf = s["stack"][0][0]
    reg = s["labels"].get("region", "")
    n = s["values"][0]
    by_region.setdefault(reg, {})
    by_region[reg][leaf] = by_region[reg].get(leaf, 0) + n
    leaf_region.setdefault(leaf, {})
    leaf_region[leaf][reg] = leaf_region[leaf].get(reg, 0) + n
    if s["labels"].get("trace_id") is not None:
        check(reg == "B", f"a sample outside B carries a trace context: {s['labels']}")
        check(s["labels"]["trace_id"] == TRACE and s["labels"]["span_id"] == SPAN,
              f"trace labels {s['labels']}")
total = sum(sum(v.values()) for v in by_region.values())
for reg, fns in sorted(by_region.items()):
    print(f"region {reg or '-':2} {sum(fns.values()):6d} samples:",
          ", ".join(f"{f} {n}" for f, n in sorted(fns.items(), key=lambda kv: -kv[1])[:4]))
for reg, fn in OWN.items():
    fns = by_region.get(reg, {})
    n = sum(fns.values())
    check(n > 0.3 * total, f"region {reg} has {n} of {total} samples (expected about half)")
    check(fns.get(fn, 0) >= (1 - NOISE) * n, f"region {reg}: {fn} has {fns.get(fn, 0)} of {n}")
    other = OWN["B" if reg == "A" else "A"]
    check(other not in fns, f"region {reg} contains {other}: {fns}")
    # every sample of the region's function is labelled with it
    lr = leaf_region.get(fn, {})
    check(lr.get(reg, 0) >= 0.99 * sum(lr.values()), f"{fn} samples by region: {lr}")

# --- OTLP: region attribute on samples, Links for B's trace context ---
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import otlp_check
except ImportError as e:
    skip(f"Python protobuf is not available ({e}); install python3-protobuf")
summary = otlp_check.check_request(req, pprof_path=pprof)
check(summary["links"] == [(TRACE, SPAN)], f"links {summary['links']}")
msg = otlp_check.decode_request(req)
dic = msg.dictionary
st = dic.string_table


def leaf_name(stack_index):
    locs = dic.stack_table[stack_index].location_indices
    if not locs or not dic.location_table[locs[0]].lines:
        return None
    return st[dic.function_table[dic.location_table[locs[0]].lines[0].function_index].name_strindex]


seen = {"A": 0, "B": 0}
for rp in msg.resource_profiles:
    for sp in rp.scope_profiles:
        for p in sp.profiles:
            if st[p.sample_type.type_strindex] != "samples":
                continue
            for s in p.samples:
                a = {st[dic.attribute_table[i].key_strindex]:
                     otlp_check._any_value(dic.attribute_table[i].value)
                     for i in s.attribute_indices}
                check("trace_id" not in a and "span_id" not in a,
                      f"trace ids repeated as attributes: {a}")
                reg, leaf = a.get("region"), leaf_name(s.stack_index)
                if reg in seen:
                    seen[reg] += sum(s.values)
                if reg == "A":
                    check(s.link_index == 0, f"a sample of A references link {s.link_index}")
                if reg == "B" and leaf == "work_b":
                    check(s.link_index > 0, f"a sample of work_b in B has no link: {a}")
                if s.link_index:
                    ln = dic.link_table[s.link_index]
                    check((ln.trace_id.hex(), ln.span_id.hex()) == (TRACE, SPAN),
                          f"link {ln.trace_id.hex()}/{ln.span_id.hex()}")
                    check(reg == "B", f"a sample outside B references a link: {a}")
print("OTLP samples by region attribute:", seen, "links:", summary["links"])
check(seen["A"] > 0 and seen["B"] > 0, "OTLP samples lack the region attribute")

# --- what pprof's users see ---
if not have_go():
    skip("go is not installed: -tagfocus not checked (the profile and OTLP request were)")


def focus_top(region):
    status, out = go_pprof(["-top", "-sample_index=samples", f"-tagfocus=region={region}",
                            pprof])
    check(status == 0, f"go tool pprof -tagfocus failed: {out}")
    rows, started = [], False
    for line in out.splitlines():
        if line.strip().startswith("flat"):
            started = True
            continue
        if started and line.strip():
            parts = line.split()
            rows.append((int(parts[0]), " ".join(parts[5:])))
    return rows


for reg, fn in OWN.items():
    rows = focus_top(reg)
    print(f"-tagfocus=region={reg}:", rows[:5])
    n = sum(f for f, _ in rows)
    check(n > 0, f"-tagfocus=region={reg} selects nothing")
    for flat, name in rows:
        check(name == fn or flat < NOISE * n,
              f"-tagfocus=region={reg} shows {name} ({flat} of {n} samples)")
    check(dict((name, f) for f, name in rows).get(fn, 0) >= (1 - NOISE) * n,
          f"-tagfocus=region={reg}: {fn} below {100 * (1 - NOISE):.0f}%: {rows}")
print("OK")
