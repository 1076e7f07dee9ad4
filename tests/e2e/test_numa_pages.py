"""`pmuprof numa pages` on this host (one NUMA node; the lab's 2- and 4-node guests check
placement by node against the workload's own move_pages, tests/lab/test_numa_pages.py).

- `--symbol grid` of a running numa_serial: the 64 MiB global, all 16384 pages present
  on node 0, the file that defines it named, and the one-node notice;
- `--addr` of the same range (read from the process's symbol table by nm): the same counts;
  a range nothing maps: one line naming the pid and the range, --all and /proc/PID/maps;
  a range partly mapped: the mapped part counted, a line saying how much is not mapped;
- no selector: every mapping with pages present, the grid's .bss mapping first, [heap] and
  [stack] there, most pages first;
- errors, one line each with the cause and the fix, exit 2 for usage and 1 for the
  process: no -p, a malformed -p or --addr, both selectors, an unknown variable, a process
  that has exited, another user's process (as user nobody).
"""
import os
import re
import subprocess
import time

from common import PMUPROF, check, run, skip, workload

wl = workload("numa_serial")
p = subprocess.Popen([wl, "30"], stdout=subprocess.DEVNULL)
try:
    pid = str(p.pid)
    # The grid is first-touched before the sweepers start: ask until all of it is there
    # (a busy machine takes longer than an idle one).
    deadline = time.time() + 20
    while True:
        time.sleep(0.3)
        r = run([PMUPROF, "numa", "pages", "-p", pid, "--symbol", "grid"])
        check(r.returncode == 0, f"numa pages --symbol failed ({r.returncode}): {r.stderr}")
        rows = [l for l in r.stdout.splitlines() if not l.startswith("#") and "present" not in l]
        if (len(rows) == 1 and rows[0].split()[2] == "16384") or time.time() > deadline:
            break
    print(r.stdout)
    check(len(rows) == 1, f"one row for --symbol grid:\n{r.stdout}")
    f = rows[0].split()
    check(f[0:2] == ["64.0", "MiB"] and f[2] == "16384" and f[3] == "16384" and f[4] == "100%",
          f"grid: expected 64.0 MiB, 16384 present, all on N0:\n{rows[0]}")
    check(f[5] == "0" and f[6] == "grid" and f"({wl})" in rows[0], f"grid row: {rows[0]}")
    nodes = len([n for n in os.listdir("/sys/devices/system/node") if re.match(r"node\d+$", n)])
    if nodes == 1:
        check(r.stdout.startswith("# one NUMA node"), f"no one-node notice:\n{r.stdout}")

    # The same range by address: the symbol's run-time address from /proc/PID/maps and nm.
    nm = subprocess.run(["nm", wl], capture_output=True, text=True).stdout
    off = int(re.search(r"^([0-9a-f]+) [bB] grid$", nm, re.M).group(1), 16)
    maps = open(f"/proc/{pid}/maps").read()
    base = min(int(l.split("-")[0], 16) for l in maps.splitlines() if l.endswith(wl))
    r = run([PMUPROF, "numa", "pages", "-p", pid, "--addr", f"{base + off:#x},64M"])
    check(r.returncode == 0, f"numa pages --addr failed: {r.stderr}")
    f = [l for l in r.stdout.splitlines() if "-0x" in l][0].split()
    check(f[2] == "16384" and f[3] == "16384", f"--addr of the grid's range:\n{r.stdout}")
    # Partly mapped: the last page of a mapping followed by a gap of 3 pages or more.
    spans = sorted(tuple(int(x, 16) for x in l.split()[0].split("-")) for l in maps.splitlines())
    end = next(e for (s, e), (n, _) in zip(spans, spans[1:]) if n - e >= 3 * 4096)
    r = run([PMUPROF, "numa", "pages", "-p", pid, "--addr", f"{end - 4096:#x},16K"])
    row = re.search(r"^\s+16\.0 KiB\s+(\d+)\s+\d+\s+\d+%\s+(\d+)\s", r.stdout, re.M)
    check(r.returncode == 0 and row and int(row.group(1)) + int(row.group(2)) == 1
          and f"# 12.0 KiB of the 16.0 KiB of {end - 4096:#x}-{end + 12288:#x} is not mapped in "
          f"process {pid} (see /proc/{pid}/maps)" in r.stdout,
          f"a range 3/4 unmapped: its one mapped page asked, 12 KiB not mapped:\n"
          f"{r.stdout}{r.stderr}")

    # Every mapping: the grid's anonymous .bss first, then the others by pages.
    r = run([PMUPROF, "numa", "pages", "-p", pid, "--all"])
    check(r.returncode == 0, f"numa pages --all failed: {r.stderr}")
    rows = [l.split() for l in r.stdout.splitlines() if re.match(r"\s+[\d.]+ [KMG]?i?B ", l)]
    present = [int(x[2]) for x in rows]
    check(present == sorted(present, reverse=True), f"not most pages first:\n{r.stdout}")
    check(present[0] >= 16384 and rows[0][6] == "anon", f"the grid's mapping is not first:\n"
          f"{r.stdout}")
    check(any(x[6] == "[heap]" for x in rows) and any(x[6] == "[stack]" for x in rows),
          f"no [heap] or [stack] row:\n{r.stdout}")
    check(any(x[6] == wl for x in rows), f"the program's own mappings are missing:\n{r.stdout}")

    # Errors.
    def err(args, status, pattern, user=None):
        cmd = [PMUPROF, "numa", "pages"] + args
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
        r = run(cmd)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == status and len(lines) == 1 and re.search(pattern, lines[0]),
              f"{args}: status {r.returncode}, expected {status} and /{pattern}/:\n{r.stderr}")
        print(f"ok: {' '.join(args)}: {lines[0]}")

    err(["--symbol", "grid"], 2, "which process\\? give -p PID")
    err(["-p", "x1"], 2, "-p needs one process id")
    err(["-p", pid, "--addr", "0x1000"], 2, "malformed --addr.*ADDR,LEN")
    err(["-p", pid, "--addr", "0x1000,0"], 2, "malformed --addr")
    err(["-p", pid, "--symbol", "grid", "--addr", "0x1000,4K"], 2, "--symbol or --addr")
    err(["-p", pid, "--symbol", "no_such_variable"], 2,
        "no global or static variable 'no_such_variable'.*--addr")
    err(["-p", pid, "--bogus"], 2, "bogus")
    err(["-p", pid, "--addr", "0x1000,16K"], 1, f"nothing of 0x1000-0x5000 is mapped in process "
        f"{pid}: .*/proc/{pid}/maps.*pmuprof numa pages -p {pid} --all")
    if os.geteuid() == 0:
        err(["-p", "1", "--symbol", "grid"], 1, "not allowed.*another user's.*root", user=65534)
        err(["-p", "1"], 1, "not allowed.*another user's.*root", user=65534)
    else:
        print("(as a non-root user the another-user check needs root to switch user: not run)")
finally:
    p.kill()
    p.wait()
r = run([PMUPROF, "numa", "pages", "-p", str(p.pid), "--symbol", "grid"])
check(r.returncode == 1 and "no process" in r.stderr and "exited" in r.stderr,
      f"a process that has exited: {r.returncode} {r.stderr}")
print("PASS")
