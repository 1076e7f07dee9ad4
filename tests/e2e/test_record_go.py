"""A Go binary: its DWARF is compressed (SHF_COMPRESSED sections), which libdw inflates in
place. pmuprof record of one (here the standalone pprof, built by the tests) must not crash
(it did, writing to the binary's read-only mapping, in pmuprof record, agent and numa record
alike) and names its Go functions (runtime.*, main.*, package/path.*).
"""
import os
import subprocess
import tempfile

from common import PMUPROF, check, load_profile, standalone_pprof

go_bin = standalone_pprof()
r = subprocess.run(["readelf", "-S", "-W", go_bin], capture_output=True, text=True)
check(r.returncode == 0 and any(" C " in l for l in r.stdout.splitlines() if ".debug_" in l),
      f"{go_bin} has no compressed debug section to test with:\n{r.stdout[-1500:]}")
d = tempfile.mkdtemp()
out = os.path.join(d, "go.pb.gz")
# Its -h prints usage and exits; symbolizing its samples reads its DWARF.
r = subprocess.run([PMUPROF, "record", "-F", "4999", "-o", out, "--", go_bin, "-h"],
                   capture_output=True, text=True, timeout=120)
check(r.returncode in (0, 2), f"pmuprof record of a Go binary: status {r.returncode}:\n"
      f"{r.stderr[-2000:]}")
check(os.path.exists(out), f"no profile: {r.stderr[-2000:]}")
funcs = {fn for s in load_profile(out)["samples"] for loc in s["stack"] for fn in loc}
# Go names a function by its package: runtime.*, main.*, or a package path (crypto/md5.init.0,
# regexp/syntax.cleanClass); a C or kernel name never has a '/'. A short run can sample no
# runtime or main function at all (once in CI: only crypto/md5 and regexp/syntax ones).
go_funcs = sorted(f for f in funcs
                  if f.startswith(("runtime.", "main.")) or "/" in f.split(".", 1)[0])
check(go_funcs, f"no Go function named in the profile: {sorted(funcs)[:40]}")
print(f"ok: {len(go_funcs)} Go functions named, e.g. {go_funcs[:3]}")
print("PASS")
