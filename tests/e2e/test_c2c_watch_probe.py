"""c2c watch gives no verdict without evidence, and places --symbol where the
process loaded it (issue 12, point 3). Runs on any host that can open a
hardware breakpoint:

- Where watchpoints never fire (perf is the oracle: `perf stat -e mem:ADDR:w`
  counts 0 on a variable written 100 000 times), c2c watch refuses with one
  line saying so, exits non-zero and does not run the workload; where they
  fire, it does not refuse.
- --symbol on a position-independent program (gcc's default) and on a
  variable of a shared library it links resolves to the address the program
  itself prints, with the command started by c2c watch (--dry-run: resolve,
  print, run unwatched) and with -p PID; an unknown symbol is an error.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PMUPROF, BENCH, check, have_perf, run, skip  # noqa: E402

WL = os.environ.get("WORKLOAD_DIR", "tests/data/workloads")
PIE = os.path.join(WL, "watch_pie")
NOPIE = os.path.join(BENCH, "sharing", "write_write")


def nm_address(path, sym):
    r = run(["nm", path])
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == sym:
            return int(f[0], 16)
    return None


def resolved(out):
    """The address c2c watch --dry-run printed: 'c2c watch: NAME = 0x... in FILE, process N: ...'."""
    m = re.search(r"^c2c watch: \S+ = (0x[0-9a-f]+) in (\S+), process (\d+): dry run", out, re.M)
    check(m is not None, f"no resolved-address line in: {out!r}")
    return int(m.group(1), 16), m.group(2)


def printed(out, name):
    m = re.search(rf"^{name} (0x[0-9a-f]+)$", out, re.M)
    check(m is not None, f"the workload did not print {name}: {out!r}")
    return int(m.group(1), 16)


def main():
    for p in (PIE, NOPIE):
        check(os.access(p, os.X_OK), f"workload {p} is not built")
    check(b"DYN" in subprocess.run(["readelf", "-h", PIE], capture_output=True).stdout,
          f"{PIE} is not position-independent")

    # --- the probe: refusal where watchpoints never fire ---------------------------------
    shared = nm_address(NOPIE, "shared_line")
    check(shared is not None, "nm finds no shared_line in write_write")
    r = run([PMUPROF, "c2c", "watch", "--symbol", "shared_line", "--", NOPIE, "--iters", "100000"],
            timeout=300)
    if r.returncode != 0 and "cannot open a hardware watchpoint" in r.stderr:
        skip(f"hardware breakpoints cannot be opened here: {r.stderr.strip()}")
    fires = None
    if have_perf():
        p = run(["perf", "stat", "-x", ",", "-e", f"mem:{shared:#x}:w", "--", NOPIE, "--iters", "100000"])
        rows = [l.split(",") for l in p.stderr.splitlines() if f"mem:{shared:#x}" in l]
        check(rows and rows[0][0].isdigit(), f"perf stat on a watchpoint: {p.stderr!r}")
        fires = int(rows[0][0]) > 0
        print(f"oracle: perf counted {rows[0][0]} writes to shared_line through a watchpoint")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    if fires is False or (fires is None and r.returncode != 0):
        check(r.returncode != 0, f"no refusal where watchpoints do not fire: {r.stdout}")
        check(len(lines) == 1 and "hardware watchpoints do not fire on this host" in lines[0] and
              "verdict is impossible" in lines[0], f"refusal message: {lines!r}")
        check("verdict" not in r.stdout and "checksum" not in r.stdout,
              f"a verdict or the workload's output after the refusal: {r.stdout!r}")
        print(f"ok: refused ({r.returncode}): {lines[0]}")
    else:
        check(r.returncode == 0 and "verdict: " in r.stdout,
              f"watchpoints fire but c2c watch failed ({r.returncode}): {r.stderr}")
        print("ok: watchpoints fire here and c2c watch gave a verdict")

    # --- --symbol placed at run time ---------------------------------------------------
    # A non-PIE program: the link-time address nm prints.
    r = run([PMUPROF, "c2c", "watch", "--dry-run", "--symbol", "shared_line", "--", NOPIE,
             "--iters", "1000"])
    check(r.returncode == 0, f"--dry-run on write_write failed: {r.stderr}")
    check(resolved(r.stdout)[0] == shared, f"write_write: {r.stdout} vs nm {shared:#x}")
    # A PIE: its own variable (with +OFF) and one of the library it links.
    for sym, off, want_file in (("watch_word", 0, "watch_pie"), ("watch_word", 16, "watch_pie"),
                                ("watch_lib_word", 8, "libwatchlib.so")):
        spec = sym + (f"+{off}" if off else "")
        r = run([PMUPROF, "c2c", "watch", "--dry-run", "--symbol", spec, "--", PIE, "10"])
        check(r.returncode == 0, f"--dry-run --symbol {spec} on a PIE failed ({r.returncode}): {r.stderr}")
        addr, file = resolved(r.stdout)
        want = printed(r.stdout, sym) + off
        check(os.path.basename(file) == want_file, f"{spec} found in {file}, expected {want_file}")
        check(addr == want, f"{spec}: resolved {addr:#x}, the program has it at {want:#x}")
        print(f"ok: {spec} -> {addr:#x} in {os.path.basename(file)}, as the program prints")

    # -p PID on a running PIE (the library's variable).
    p = subprocess.Popen([PIE, "20000000000"], stdout=subprocess.PIPE, text=True)
    try:
        lib_at = None
        for _ in range(2):
            line = p.stdout.readline()
            if line.startswith("watch_lib_word "):
                lib_at = int(line.split()[1], 16)
        check(lib_at is not None, "the running PIE printed no watch_lib_word")
        r = run([PMUPROF, "c2c", "watch", "--dry-run", "--symbol", "watch_lib_word", "-p", str(p.pid)])
        check(r.returncode == 0, f"-p --dry-run failed: {r.stderr}")
        check(resolved(r.stdout)[0] == lib_at, f"-p: {r.stdout} vs {lib_at:#x}")
        print(f"ok: -p {p.pid} watch_lib_word -> {lib_at:#x}")
    finally:
        p.kill()
        p.wait()

    # Errors: an unknown symbol names itself and the program; the command does not run on.
    r = run([PMUPROF, "c2c", "watch", "--dry-run", "--symbol", "no_such_symbol", "--", PIE, "10"])
    check(r.returncode == 2 and "no symbol 'no_such_symbol'" in r.stderr and "watch_pie" in r.stderr,
          f"unknown symbol: {r.returncode} {r.stderr!r}")
    check("watch_word" not in r.stdout, f"the program ran after the error: {r.stdout!r}")
    r = run([PMUPROF, "c2c", "watch", "--dry-run", "--symbol", "x", "--", "/nonexistent/prog"])
    check(r.returncode == 127 and "cannot run '/nonexistent/prog'" in r.stderr,
          f"missing program: {r.returncode} {r.stderr!r}")
    print("PASS")


if __name__ == "__main__":
    main()
