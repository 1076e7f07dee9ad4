"""`pmuprof numa record` on this host (one NUMA node; the lab's 2-node guest checks
placement and balancing, tests/lab/test_numa_record.py).

- `-- numa_serial`: the summary says once that one node has no NUMA effects; the
  grid (a 64 MiB global) is one object, 100 % first-touched by the main thread in
  init_grid, all its pages on node 0 by move_pages at the command's exit stop;
  the pprof has samples and page-faults, and each grid sample the labels node,
  data_node, first_touch_node, object and access (local: node == data_node); the
  command's exit status is numa record's;
- `-c 4` samples one fault in four (a quarter of the grid's pages), each sample
  worth 4 faults;
- `-o -`: the pprof on standard output, the summary on standard error;
- `-p PID` of a running process: its pages are asked while it runs;
- bad flags, no target, two targets, a dead pid, a missing command: one line, the
  exit codes of record.
"""
import os
import re
import subprocess
import tempfile
import time

from common import PMUPROF, check, load_profile, run, workload

wl = workload("numa_serial")
WL = [wl]  # never sanitized (tests/data/workloads/CMakeLists.txt): it runs traced
d = tempfile.mkdtemp(prefix="pmuprof-numa-")
out = os.path.join(d, "n.pb.gz")


def grid_block(text):
    m = re.search(r"^grid \(pid \d+, 64\.0 MiB at 0x[0-9a-f]+\): (\d+) pages sampled.*\n"
                  r"((?:  .*\n)+)", text, re.M)
    check(m, f"no grid object in the summary:\n{text}")
    return int(m.group(1)), m.group(2)


# --- a command ---------------------------------------------------------------------------
r = run([PMUPROF, "numa", "record", "-o", out, "--"] + WL + ["0.3"])
check(r.returncode == 0, f"numa record failed ({r.returncode}): {r.stderr}")
nodes = len([n for n in os.listdir("/sys/devices/system/node") if re.match(r"node\d+$", n)])
if nodes == 1:
    check(r.stdout.count("one NUMA node: no NUMA effects") == 1,
          f"the one-node notice is not there exactly once:\n{r.stdout}")
init_tid = int(re.search(r"^init tid=(\d+)", r.stdout, re.M).group(1))
sampled, body = grid_block(r.stdout)
check(sampled == 16384, f"{sampled} grid pages sampled with every fault sampled, not 16384")
m = re.search(r"first touch: ([\d.]+)% of pages by tid (\d+) \(.*?\) on node (\d+) in (\S+)", body)
check(m and m.group(1) == "100.0" and int(m.group(2)) == init_tid and m.group(4) == "init_grid",
      f"grid's first touch: {m and m.group(0)}; expected 100 % by {init_tid} in init_grid")
if nodes == 1:
    check("node0 16384 (100.0%) of 16384 present" in body, f"grid placement:\n{body}")
prof = load_profile(out)
# Then the NUMA tracepoints this kernel has (root mounts tracefs, as perf does).
check(prof["types"][:2] == ["samples", "page-faults"], f"sample types {prof['types']}")
tps = prof["types"][2:]
# remove_migration_pte/_pmd: Linux 5.19 and later (a page's move with its address).
check(not tps or tps[:4] == ["migrate:mm_migrate_pages", "sched:sched_move_numa",
                             "sched:sched_swap_numa", "sched:sched_stick_numa"] and
      tps[4:] in ([], ["migrate:remove_migration_pte", "thp:remove_migration_pmd"]),
      f"the NUMA tracepoints as sample types: {tps}")
if os.geteuid() == 0:
    check(tps, "as root, numa record has no NUMA tracepoints")
check(re.search(r"^the whole machine during the run \(/proc/vmstat\): numa_hint_faults \d+",
                r.stdout, re.M), f"no /proc/vmstat line in the summary:\n{r.stdout}")
grid = [s for s in prof["samples"] if s["labels"].get("object") == "grid"]
check(sum(s["values"][0] for s in grid) == 16384, "grid samples do not add up to 16384")
for s in grid:
    lb = s["labels"]
    for key in ("node", "data_node", "first_touch_node", "access", "pid", "tid", "cpu"):
        check(key in lb, f"a grid sample without label {key}: {lb}")
    check((lb["access"] == "local") == (lb["node"] == lb["data_node"]), f"access: {lb}")
first = [s for s in grid if s["labels"]["tid"] == init_tid]
check(first and all(s["stack"][0][0] == "init_grid" for s in first),
      "the main thread's grid faults are not at init_grid")
print(f"ok: grid 16384 pages, first touch 100 % by {init_tid} in init_grid, labels on "
      f"{len(grid)} grid samples")

r = run([PMUPROF, "numa", "record", "-o", out, "--", "sh", "-c", "exit 3"])
check(r.returncode == 3, f"the command's exit status 3 became {r.returncode}")

# --- -c 4: one fault in four --------------------------------------------------------------
r = run([PMUPROF, "numa", "record", "-c", "4", "-o", out, "--"] + WL + ["0.2"])
check(r.returncode == 0, r.stderr)
sampled, _ = grid_block(r.stdout)
check(3500 <= sampled <= 4700, f"-c 4 sampled {sampled} of the grid's 16384 pages")
grid = [s for s in load_profile(out)["samples"] if s["labels"].get("object") == "grid"]
check(all(s["values"][1] == 4 * s["values"][0] for s in grid), "a -c 4 sample is not worth 4 faults")
print(f"ok: -c 4 sampled {sampled} grid pages")

# --- -o -: the profile on standard output --------------------------------------------------
p = subprocess.run([PMUPROF, "numa", "record", "-o", "-", "--"] + WL + ["0.1"], capture_output=True,
                   timeout=120)
check(p.returncode == 0 and p.stdout[:2] == b"\x1f\x8b", f"-o -: not a gzipped profile on stdout")
check(b"first touch" in p.stderr and b"init tid=" in p.stderr, "-o -: no summary on stderr")

# --- -p: a running process ---------------------------------------------------------------
child = subprocess.Popen([wl, "2"], stdout=subprocess.DEVNULL)
time.sleep(0.3)
r = run([PMUPROF, "numa", "record", "-p", str(child.pid), "--duration", "0.5", "-o", out])
child.wait()
check(r.returncode == 0, f"-p: {r.stderr}")
check("pages sampled" in r.stdout, f"-p: no summary:\n{r.stdout}")

# --- -a: every process but pmuprof's own (its symbol tables would be the top objects) ---
if os.geteuid() == 0:
    # The workload first-touches its grid in its first ~0.1 s: started once the recorder
    # has had a second to set up (a sanitized pmuprof took longer than that 0.1 s, and
    # a window with no fault at all held no sample).
    rec = subprocess.Popen([PMUPROF, "numa", "record", "-a", "--duration", "3", "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    child = subprocess.Popen([wl, "1"], stdout=subprocess.DEVNULL)
    so, se = rec.communicate(timeout=60)
    child.wait()
    check(rec.returncode == 0, f"-a: {se}")
    pids = {s["labels"].get("pid") for s in load_profile(out)["samples"]}
    check(pids and rec.pid not in pids, f"-a: pmuprof's own pid {rec.pid} in the samples' {pids}")
    print(f"ok: -a: samples of {len(pids)} processes, none pmuprof's")

# --- errors ------------------------------------------------------------------------------
for args, code, words in [
        (["-c", "0", "--", "true"], 2, "-c needs a positive count"),
        (["-c", "x", "--", "true"], 2, "-c needs a positive count"),
        (["--bogus", "--", "true"], 2, "unknown option '--bogus'"),
        ([], 2, "nothing to record"),
        (["-a", "-p", "1"], 2, "choose one target"),
        (["-p", "999999"], 1, "process 999999 does not exist"),
        (["-o", out, "--", "/nonexistent/cmd"], 127, "cannot run '/nonexistent/cmd'")]:
    r = run([PMUPROF, "numa", "record"] + args)
    check(r.returncode == code, f"numa record {args}: status {r.returncode}, not {code}")
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1 and words in lines[0], f"numa record {args}: {r.stderr!r}")
r = run([PMUPROF, "numa", "nope"])
check(r.returncode == 2 and "unknown numa command 'nope'" in r.stderr, r.stderr)
print("ok: errors")

# --duration with a command: at its end the command gets SIGINT (as record), its pages
# are asked at its exit stop; one that ignores SIGINT has its pages asked after 0.5 s and
# runs on, untraced.
out = os.path.join(d, "dur.pb.gz")
t0 = time.time()
r = run([PMUPROF, "numa", "record", "--duration", "1", "-o", out, "--", "sh", "-c",
         "while :; do :; done"], timeout=30)
check(r.returncode == 130 and time.time() - t0 < 10 and os.path.exists(out),
      f"--duration 1 with an endless command: {r.returncode} after {time.time() - t0:.1f} s")
# (Its output goes to a file: the command that runs on holds what it inherited open.)
with open(os.path.join(d, "dur.err"), "w+") as err:
    rc = subprocess.run([PMUPROF, "numa", "record", "--duration", "1", "-o", out, "--", "sh", "-c",
                         "trap '' INT; while :; do :; done"], stdout=subprocess.DEVNULL,
                        stderr=err, timeout=30).returncode
    err.seek(0)
    text = err.read()
m = re.search(r"\(pid (\d+)\) is still running 0\.5 s after SIGINT at the end of --duration; "
              r"its pages were asked then, and it runs on", text)
check(rc == 0 and m, f"a command ignoring SIGINT: {rc} {text}")
left = int(m.group(1))
check(os.path.exists(f"/proc/{left}"), "the command that ignored SIGINT did not run on")
os.kill(left, 9)
print("ok: --duration with a command")
print("PASS")
