"""`pmuprof numa record --otlp FILE`: the same profile as an OTLP ExportProfilesServiceRequest
(decoded with protoc's descriptors by otlp_check, independent of pmuprof): per (pid, sample
type) the same totals as the pprof, and every sample of the grid carries the attributes
node, data_node, first_touch_node, object and access, as the pprof's labels; `--otlp -`
writes the request to standard output (the summary to standard error); --otlp naming -o's
file is refused; a sample type without samples in a process (the tracepoints that never
fired) has no profile in its resource."""
import os
import subprocess
import tempfile

import otlp_check
from common import PMUPROF, check, load_profile, run, workload

wl = workload("numa_serial")
d = tempfile.mkdtemp(prefix="pmuprof-numa-otlp-")
out, otlp = os.path.join(d, "n.pb.gz"), os.path.join(d, "n.otlp")
r = run([PMUPROF, "numa", "record", "-o", out, "--otlp", otlp, "--", wl, "0.2"])
check(r.returncode == 0, f"numa record --otlp failed ({r.returncode}): {r.stderr}")
summary = otlp_check.check_request(otlp, pprof_path=out)
keys = summary["sample_attribute_keys"]
grid = [s for s in load_profile(out)["samples"] if s["labels"].get("object") == "grid"]
check(grid, "no grid samples in the pprof")
for k in ("node", "data_node", "first_touch_node", "object", "access"):
    check(keys.get(k, 0) >= len(grid), f"OTLP samples with {k}: {keys.get(k, 0)}, the pprof's grid "
          f"samples alone are {len(grid)}")
print(f"ok: OTLP totals equal the pprof's {dict(summary['totals'])}; attributes {keys}")
# A sample type without a sample in a process (a tracepoint that never fired) has no profile
# there; a process without any sample keeps one profile.
req = otlp_check.decode_request(otlp)
st = req.dictionary.string_table
want = {k for k, v in otlp_check.pprof_totals(out).items() if v}
for rp in req.resource_profiles:
    pid = {kv.key: kv.value.int_value for kv in rp.resource.attributes}.get("process.pid")
    profs = [p for sp in rp.scope_profiles for p in sp.profiles]
    empty = [st[p.sample_type.type_strindex] for p in profs if not p.samples]
    check(profs and (not empty or len(profs) == 1),
          f"pid {pid}: {len(empty)} of its {len(profs)} profiles are empty: {empty}")
    got = {(pid, st[p.sample_type.type_strindex]) for p in profs if p.samples}
    check(got == {k for k in want if k[0] == pid},
          f"pid {pid}: profiles of {sorted(got)}, the pprof has samples of {sorted(want)}")
print(f"ok: {sum(len(sp.profiles) for rp in req.resource_profiles for sp in rp.scope_profiles)} "
      f"profiles in {len(req.resource_profiles)} resources, none empty")

r = subprocess.run([PMUPROF, "numa", "record", "-o", out, "--otlp", "-", "--", wl, "0.1"],
                   capture_output=True, timeout=120)
check(r.returncode == 0, f"--otlp -: {r.returncode} {r.stderr}")
otlp_check.check_request(r.stdout)
check(b"wrote" in r.stderr, "the summary is not on standard error with --otlp -")
r = run([PMUPROF, "numa", "record", "-o", out, "--otlp", out, "--", wl, "0.1"])
check(r.returncode == 2 and "same file" in r.stderr, f"--otlp = -o: {r.returncode} {r.stderr}")
print("PASS")
