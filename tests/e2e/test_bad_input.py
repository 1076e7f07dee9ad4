"""Bad input read from files (issue 12, point 8): the fuzzers' regression inputs
in tests/data/fuzz-repro/ are read by import, c2c report and report without
undefined behaviour (this test fails under the ASan+UBSan build when they
abort it) and end with a result or one line naming the cause; a gzip bomb
given to `report` stops at --max-inflated with an error naming the flag,
in bounded memory."""
import gzip
import os
import sys
import tempfile

from common import *
import perfdata_gen as g

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "fuzz-repro")
d = tempfile.mkdtemp()


def clean_exit(r, what):
    """Exit 0, or 1 with one 'pmuprof ...:' line; never a sanitizer report or a signal."""
    for marker in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
        check(marker not in r.stderr, f"{what}: sanitizer report:\n{r.stderr}")
    check(r.returncode in (0, 1), f"{what}: exit status {r.returncode}:\n{r.stderr}")
    if r.returncode == 1:
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        check(len(lines) == 1 and lines[0].startswith("pmuprof "),
              f"{what}: not one error line:\n{r.stderr}")


cases = [
    ("perfdata-pipe-misaligned-record.min.data", ["import", "--no-symbolize", "-o", "{out}"]),
    ("perfdata-pipe-misaligned-record.min.data", ["c2c", "report", "-i"]),
    ("perfdata-period-overflow.data", ["import", "--no-symbolize", "-o", "{out}"]),
    ("perfdata-period-overflow.data", ["c2c", "report", "-i"]),
    ("perfdata-pid-intmax.data", ["import", "--no-symbolize", "-o", "{out}"]),
    ("pprof-no-locations-memcpy-null.min.pb", ["report"]),
]
for name, args in cases:
    path = os.path.join(DATA, name)
    check(os.path.exists(path), f"regression input {path} is missing")
    out = os.path.join(d, name + ".pb.gz")
    argv = [PMUPROF] + [a.replace("{out}", out) for a in args]
    if argv[-1] == "-i":
        argv.append(path)
    else:
        argv.insert(2, path)
    r = run(argv)
    clean_exit(r, " ".join(argv[1:]))
    print(f"ok: {' '.join(argv[1:])}: exit {r.returncode} {r.stderr.strip()[:120]}")

# A pid of INT_MAX (any 32-bit value can be in a file): the process model's key was pid + 1.
s = g.Stream()
eid = s.event("cpu-clock", 1, 0, sample_type=g.SAMPLE_TYPE & ~g.PERF_SAMPLE_ADDR)
s.comm(0x7fffffff, 0x7fffffff, "app", eid)
for k in range(3):
    s.sample_abi(eid, 0x7fffffff, 0x7fffffff, 0, 0x401000 + k, period=1000)
data = os.path.join(d, "pid-intmax.data")
s.write_pipe(data)
r = run([PMUPROF, "import", data, "--no-symbolize", "-o", os.path.join(d, "pid.pb.gz")])
clean_exit(r, "import of pid 2147483647")
check(r.returncode == 0 and "samples cpu-clock 3" in r.stderr, f"pid 2147483647: {r.stderr}")

# The period-overflow input sums periods past INT64_MAX: the profile holds the value at its
# largest, never a negative one.
r = run([PMUPROF, "report", os.path.join(d, "perfdata-period-overflow.data.pb.gz"),
         "--top", "3"])
clean_exit(r, "report of the imported period-overflow profile")
check(" total -" not in r.stdout, f"a negative total after saturating sums:\n{r.stdout}")

# A gzip bomb: 64 MiB of zeros in ~64 KiB. With a 1 MiB cap the report stops at once with
# the flag named; with the default cap the bytes inflate and are refused as not a profile.
bomb = os.path.join(d, "bomb.pb.gz")
with gzip.open(bomb, "wb", compresslevel=9) as f:
    chunk = b"\0" * (1 << 20)
    for _ in range(64):
        f.write(chunk)
print(f"bomb: {os.path.getsize(bomb)} bytes")
# Run from a fresh interpreter, so that its children's peak RSS is this report's alone.
PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, "
        "text=True); sys.stderr.write(r.stderr); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
r = run([sys.executable, "-c", PEAK, PMUPROF, "report", bomb, "--max-inflated", "1M"])
clean_exit(r, "report of a gzip bomb")
check(r.returncode == 1, f"a gzip bomb past the cap was accepted: {r.stderr}")
check("--max-inflated" in r.stderr and "1048576" in r.stderr,
      f"the error does not name the limit and the flag: {r.stderr}")
peak = int(r.stdout.split()[-1])
if not os.environ.get("PMUPROF_SANITIZED"):
    check(peak < 32 * 1024, f"report of a bomb capped at 1 MiB peaked at {peak} KiB")
print(f"ok: capped report: {r.stderr.strip()} (peak rss {peak} KiB)")

for bad in ("0", "1X", "-5", "99999999999T"):
    r = run([PMUPROF, "report", bomb, "--max-inflated", bad])
    check(r.returncode == 2 and "--max-inflated" in r.stderr,
          f"--max-inflated {bad} was not refused with the flag named: {r.returncode} {r.stderr}")
r = run([PMUPROF, "report", bomb, "--max-inflated"])
check(r.returncode == 2 and "option '--max-inflated' needs a value" in r.stderr,
      f"--max-inflated without a value: {r.returncode} {r.stderr}")
r = run([PMUPROF, "report", bomb, "--max-inflated", "64MiB"])
check(r.returncode == 1 and "not a pprof profile" in r.stderr,
      f"a 64 MiB cap did not let 64 MiB inflate: {r.stderr}")
print("PASS")
