"""Acceptance 1 of the record spine: on `mix`, `go tool pprof -top
-sample_index=cache-misses` puts the pointer chase first and
-sample_index=branch-misses the branchy function. Needs hardware counters."""
import os
import tempfile

from common import *

if not host_has_hw_pmu():
    skip("this host exposes no hardware PMU; test_record_pprof checks the same pipeline with "
         "software events")
missing = [e for e in ("cache-misses", "branch-misses") if not perf_counts(e)]
if missing:
    skip(f"this host's PMU cannot count {' or '.join(missing)} (perf stat says not supported "
         f"either); test_record_pprof checks the same pipeline with software events")
if not have_go():
    skip("go (golang-go) is not installed: pprof cannot be checked")
out = os.path.join(tempfile.mkdtemp(), "mix.pb.gz")
r = run([PMUPROF, "record", "-o", out, "--", bench("mix")])
check(r.returncode == 0, r.stderr)
cm = pprof_top(out, "cache-misses")
bm = pprof_top(out, "branch-misses")
print("cache-misses top:", cm[:3], "branch-misses top:", bm[:3])
check(cm[0][1] == "mix_chase", f"cache-misses: {cm[:3]}")
check(bm[0][1] == "mix_branchy", f"branch-misses: {bm[:3]}")
