"""`pmuprof record` on the mix workload writes a pprof that pprof's own tools
and protoc read without complaint and that follows DESIGN.md's conventions:
samples/count first, one type per event, labels, comments, mappings with
file name and build id, unique non-zero ids, one value per sample type."""
import os
import re
import subprocess
import tempfile

from common import *

if not have_go():
    skip("go (golang-go) is not installed: pprof cannot be checked")
hw = host_has_hw_pmu() and perf_counts("cycles")
events = "cycles,cache-misses,branch-misses" if hw else "cpu-clock,task-clock"
mix = bench("mix")
d = tempfile.mkdtemp()
out = os.path.join(d, "mix.pb.gz")
r = run([PMUPROF, "record", "-e", events, "-o", out, "--", mix])
check(r.returncode == 0, f"record failed: {r.stderr}")
samples = record_samples(r.stderr)
print("summary:", r.stderr.strip().splitlines()[-1])
check(set(samples) == set(events.split(",")), f"summary lists {samples}")
check(all(v > 100 for v in samples.values()), f"too few samples: {samples}")

text = pprof_text(out)
# sample types: samples/count first, then the events in order
types = re.findall(r'sample_type \{\s*type: (\d+)\s*unit: (\d+)', text)
strings = re.findall(r'^string_table: "(.*)"$', text, re.M)
check(strings[0] == "", "string_table[0] must be empty")
names = [strings[int(t)] for t, _ in types]
check(names == ["samples"] + events.split(","), f"sample types {names}")
# value count per sample == number of sample types
for block in re.findall(r"^sample \{(.*?)^\}", text, re.M | re.S):
    check(len(re.findall(r"^\s+value:", block, re.M)) == len(types), "value count != types")
    keys = [strings[int(k)] for k in re.findall(r"key: (\d+)", block)]
    check(set(keys) >= {"pid", "tid", "comm", "cpu"}, f"labels {keys}")
# ids unique and non-zero in each table
for table in ("mapping", "location", "function"):
    ids = [int(x) for x in re.findall(rf"^{table} \{{\s*id: (\d+)", text, re.M)]
    check(ids and 0 not in ids and len(ids) == len(set(ids)), f"{table} ids {ids[:10]}")
comments = [strings[int(c)] for c in re.findall(r"^comment: (\d+)", text, re.M)]
check(any("record" in c and mix in c for c in comments), f"no command line in comments {comments}")
check(any(c.startswith("lost samples:") for c in comments), f"no loss counts in {comments}")
default = re.search(r"^default_sample_type: (\d+)", text, re.M)
check(default and strings[int(default.group(1))] == events.split(",")[0], "default_sample_type")
check(re.search(r"^time_nanos: \d+", text, re.M) and re.search(r"^duration_nanos: \d+", text, re.M),
      "time_nanos/duration_nanos missing")
# the mix binary's mapping carries its GNU build id
bid = subprocess.run(["readelf", "-n", mix], capture_output=True, text=True).stdout
want = re.search(r"Build ID: ([0-9a-f]+)", bid).group(1)
check(want in strings, f"build id {want} of {mix} not in the profile")
check(mix in strings, "mix's file name not in the profile")

# pprof reads it with no warnings, and the three phases are the top functions
status, raw = go_pprof(["-raw", out])
check(status == 0 and "arning" not in raw, f"pprof -raw: {raw[:2000]}")
first = events.split(",")[0]
top = [f for _, f in pprof_top(out, first)[:4]]
print(f"top by {first}:", top)
check({"mix_chase", "mix_branchy", "mix_falseshare"} <= set(top),
      f"the three phases are not the top functions by {first}: {top}")
if hw:
    top_cm = pprof_top(out, "cache-misses")[0][1]
    top_bm = pprof_top(out, "branch-misses")[0][1]
    print("top cache-misses:", top_cm, "top branch-misses:", top_bm)
    check(top_cm == "mix_chase", f"cache-misses top is {top_cm}, expected mix_chase")
    check(top_bm == "mix_branchy", f"branch-misses top is {top_bm}, expected mix_branchy")
else:
    print("note: no hardware PMU: the cache-misses/branch-misses ranking is checked by "
          "test_record_mix_hw on hosts that have one")

# report reads it back
r = run([PMUPROF, "report", out])
check(r.returncode == 0 and "mix_chase" in r.stdout, f"report: {r.stdout[:500]} {r.stderr}")
print("ok")
