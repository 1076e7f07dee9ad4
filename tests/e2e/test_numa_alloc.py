"""`pmuprof numa record --alloc`: the command runs with libpmuprof_alloc.so preloaded, and a
sampled address in a heap block it reported names that block by the code that made it.

alloc_sites (tests/data/workloads/alloc_sites.c) writes all of a 1 MiB malloc made in
make_grid and of a 2 MiB anonymous mmap made in map_arena:
- with --alloc the profile's objects include `malloc 1.0 MiB in make_grid < main` with its
  256 pages and `mmap 2.0 MiB in map_arena < main` with its 512 pages (every fault
  sampled), and the summary shows them; the program's output and exit status are its own;
- without --alloc the same pages are anonymous mappings (no `malloc`/`mmap` object);
- --alloc with -p or -a (no command to preload into): one line, exit 2.
"""
import os
import re
import tempfile

from common import PMUPROF, check, load_profile, run, workload

wl = workload("alloc_sites")
d = tempfile.mkdtemp(prefix="pmuprof-numa-alloc-")


def objects(path):
    pages = {}
    for s in load_profile(path)["samples"]:
        o = s["labels"].get("object")
        if o:
            pages[o] = pages.get(o, 0) + s["values"][1]
    return pages


out = os.path.join(d, "alloc.pb.gz")
r = run([PMUPROF, "numa", "record", "--alloc", "-o", out, "--", wl])
check(r.returncode == 0, f"numa record --alloc failed ({r.returncode}): {r.stderr}")
check(re.search(r"^grid2 0x", r.stdout, re.M), f"the program's own output is missing:\n{r.stdout}")
got = objects(out)
print({k: v for k, v in got.items() if k.startswith(("malloc", "mmap"))})
check(got.get("malloc 1.0 MiB in make_grid < main", 0) >= 256,
      f"no 1 MiB malloc made in make_grid with its 256 pages: {sorted(got)}")
check(got.get("mmap 2.0 MiB in map_arena < main", 0) >= 512,
      f"no 2 MiB mmap made in map_arena with its 512 pages: {sorted(got)}")
check("malloc 1.0 MiB in make_grid < main" in r.stdout, "the summary does not name the block")

out = os.path.join(d, "plain.pb.gz")
r = run([PMUPROF, "numa", "record", "-o", out, "--", wl])
check(r.returncode == 0, f"numa record failed ({r.returncode}): {r.stderr}")
got = objects(out)
check(not any(k.startswith(("malloc", "mmap")) for k in got),
      f"without --alloc an object names an allocation: {sorted(got)}")
check(any(k.startswith("anon ") for k in got), f"no anonymous object: {sorted(got)}")

for target in (["-p", str(os.getpid())], ["-a"]):
    r = run([PMUPROF, "numa", "record", "--alloc"] + target)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "--alloc" in lines[0] and "command" in lines[0],
          f"--alloc {target}: {r.returncode} {r.stderr}")
print("PASS")
