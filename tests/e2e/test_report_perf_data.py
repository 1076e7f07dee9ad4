"""pmuprof report reads a perf.data directly: its tables are those of the
pprof `pmuprof import` makes from the same file, and the top symbol's share
is perf report's within 0.5 points; a file that is neither says so."""
import os
import re
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no perf.data to report on and no oracle")

d = tempfile.mkdtemp()
data, pb = os.path.join(d, "spin.data"), os.path.join(d, "spin.pb.gz")
r = run(["perf", "record", "-q", "-e", "cpu-clock", "-c", "200000", "-o", data, "--",
         bench("spin"), "--iters", "300000000"], timeout=300)
check(r.returncode == 0, f"perf record failed: {r.stderr}")
r = run([PMUPROF, "import", data, "-o", pb], timeout=300)
check(r.returncode == 0, f"pmuprof import failed: {r.stderr}")

direct = run([PMUPROF, "report", data], timeout=300)
check(direct.returncode == 0, f"pmuprof report on perf.data failed: {direct.stderr}")
via = run([PMUPROF, "report", pb], timeout=300)
check(via.returncode == 0, f"pmuprof report on the imported pprof failed: {via.stderr}")


def tables(text):
    """The report without its comment lines (the imported pprof has more of them)."""
    return [l for l in text.splitlines() if not l.startswith("#")]


check(tables(direct.stdout) == tables(via.stdout),
      f"perf.data report differs from the imported pprof's:\n{direct.stdout}\n---\n{via.stdout}")
# perf report's rows (no call graph: one Overhead column): "  99.10%  1.20s  [.] spin_loop".
rows = [re.match(r"\s+([\d.]+)%.*\[[.k]\] (\S+)$", l) for l in tables(direct.stdout)]
rows = [m for m in rows if m]
check(rows and rows[0].group(2) == "spin_loop", f"spin_loop is not on top:\n{direct.stdout}")
ours = float(rows[0].group(1))

perf = run(["perf", "report", "-i", data, "--stdio", "--sort", "sym", "--no-children"], timeout=300)
check(perf.returncode == 0, f"perf report failed: {perf.stderr}")
m = re.search(r"^\s*([\d.]+)%\s+\[\.\]\s+spin_loop\s*$", perf.stdout, re.M)
check(m, f"no spin_loop row in perf report:\n{perf.stdout}")
check(abs(float(m.group(1)) - ours) <= 0.5,
      f"spin_loop: pmuprof report {ours}%, perf report {m.group(1)}%")

bad = os.path.join(d, "bad.data")
with open(bad, "wb") as f:
    f.write(b"PERFILE2" + b"\0" * 8)  # a perf.data's magic and nothing of the rest
r = run([PMUPROF, "report", bad], timeout=60)
check(r.returncode == 1 and r.stderr.count("\n") == 1 and "bad.data" in r.stderr,
      f"a truncated perf.data: rc {r.returncode}, {r.stderr!r}")
print(f"ok: report on perf.data = report on its import; spin_loop {ours}% (perf {m.group(1)}%)")
