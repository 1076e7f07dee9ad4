"""numa record/report/pages as a new user meets them (one NUMA node is enough):

- numa report of a Python run (many objects and functions) prints the 10 most-faulted
  objects and 15 functions, then one line each saying how many more --all prints; --all
  prints every object of --json;
- exit codes: a usage error is 2 (a malformed -p, an unknown flag, a malformed --addr),
  a run that cannot write its output is 1 (-o in a missing directory, -o /dev/full, the
  report or the placement on a full standard output), each with one line naming the cause;
- go tool pprof -top on the profile opens no file for a frame in a data mapping (a heap,
  //anon, a locale file: numa record knows them for its data addresses): no "Local
  symbolization failed" line.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

from common import PMUPROF, check, go_pprof, have_go, run, skip

python = shutil.which("python3")
if not python:
    skip("no python3 to record")
d = tempfile.mkdtemp(prefix="pmuprof-numa-cli-")
prof = os.path.join(d, "py.pb.gz")
r = run([PMUPROF, "numa", "record", "-o", prof, "--", python, "-c",
         "import json, subprocess; subprocess.run(['true']); x = [str(i) for i in range(200000)]"])
check(r.returncode == 0, f"numa record failed ({r.returncode}): {r.stderr}")

# --- rows ---------------------------------------------------------------------------------
js = json.loads(run([PMUPROF, "numa", "report", "--json", prof]).stdout)
nobj, nfunc = len(js["objects"]), len(js["functions"])
check(nobj > 10 and nfunc > 15, f"the run has {nobj} objects, {nfunc} functions: too few to cut")
OBJ = re.compile(r"^\S.*? \(pid \d+(?:, [^)]*)?\): \d+ pages sampled", re.M)
FUNC = re.compile(r"^  (?!\()\S.*: first touch of \d+ page", re.M)
r = run([PMUPROF, "numa", "report", prof])
check(r.returncode == 0, f"numa report: {r.returncode} {r.stderr}")
text = r.stdout
check(len(OBJ.findall(text)) == 10, f"{len(OBJ.findall(text))} objects printed, not 10:\n{text}")
check(len(FUNC.findall(text)) == 15, f"{len(FUNC.findall(text))} functions printed, not 15")
for n, what in ((nobj - 10, "objects"), (nfunc - 15, "functions")):
    line = f"  ({n} more {what}: --all prints them, --json has them all)\n"
    check(line in text, f"no '{line.strip()}' in:\n{text}")
r = run([PMUPROF, "numa", "report", "--all", prof])
check(r.returncode == 0, f"numa report --all: {r.returncode} {r.stderr}")
check(len(OBJ.findall(r.stdout)) == nobj and len(FUNC.findall(r.stdout)) == nfunc,
      f"--all printed {len(OBJ.findall(r.stdout))} of {nobj} objects, "
      f"{len(FUNC.findall(r.stdout))} of {nfunc} functions")
check("--all prints them" not in r.stdout, "--all still cuts a list")
# Two mappings of one file are told apart by where they start.
starts = re.findall(r"^(/\S+) \(pid (\d+), [^)]*at (0x[0-9a-f]+)\)", r.stdout, re.M)
check(starts and len(set(starts)) == len(starts), f"file objects without a start: {starts}")
print(f"ok: 10 of {nobj} objects, 15 of {nfunc} functions; --all prints them all")

# --- pprof -------------------------------------------------------------------------------
if have_go():
    status, out = go_pprof(["-top", prof])
    check(status == 0, f"go tool pprof -top failed ({status}): {out[:2000]}")
    bad = [x for x in out.splitlines() if "Local symbolization failed" in x]
    check(not bad, f"go tool pprof tried to open {len(bad)} mappings: {bad[:5]}")
    print("ok: go tool pprof -top symbolizes no data mapping")
else:
    print("go is not installed: go tool pprof not checked")

# --- exit codes ---------------------------------------------------------------------------
full = open("/dev/full", "w")
cases = [
    (2, ["numa", "record", "-p", "abc"], "malformed process id 'abc'", None),
    (2, ["numa", "record", "--bogus", "--", "true"], "bogus", None),
    (2, ["numa", "report", "--bogus", prof], "bogus", None),
    (2, ["numa", "pages", "-p", "abc"], "'abc'", None),
    (2, ["numa", "pages", "-p", str(os.getpid()), "--addr", "zz"], "malformed --addr", None),
    (1, ["numa", "record", "-o", "/nonexistent-dir/x.pb.gz", "--", "true"],
     "the directory does not exist", None),
    (1, ["numa", "record", "-o", "/dev/full", "--", "true"], "No space left", None),
    (1, ["numa", "report", "-o", "/nonexistent-dir/x.pb.gz", prof],
     "the directory does not exist", None),
    (1, ["numa", "report", "-o", "/dev/full", prof], "No space left", None),
    (1, ["numa", "report", prof], "cannot write the report", full),
    (1, ["numa", "pages", "-p", str(os.getpid())], "cannot write the placement", full),
]
for want, args, cause, stdout in cases:
    if stdout:
        r = subprocess.run([PMUPROF] + args, stdout=stdout, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    else:
        r = run([PMUPROF] + args)
    err = r.stderr or ""
    check(r.returncode == want and cause in err,
          f"pmuprof {' '.join(args)}: exit {r.returncode} (want {want}), stderr {err!r}")
    lines = [x for x in err.splitlines() if x.startswith("pmuprof numa")
             and "no PEBS" not in x and "no NUMA tracepoints" not in x]
    check(len(lines) == 1, f"pmuprof {' '.join(args)}: not one line: {err!r}")
print("ok: usage errors exit 2, output failures 1")
print("PASS")
