"""The examples/ harnesses, built in the tree, run as a user runs them.

The C harness: its text report names the read path and every region; its
JSON report (parsed) has exact page faults for "setup" (fresh pages), 100
"step" calls nested in one "solve", a "worker" region on each worker thread,
and the same report lands in $PMUPROF_REPORT at close. The Google Benchmark
harness: every benchmark carries the pmuprof events as user counters, per
iteration (task-clock per iteration close to gbench's own CPU time)."""
import json
import os
import shutil
import tempfile

from common import *

BUILD = os.path.dirname(os.path.dirname(os.path.abspath(PMUPROF)))  # PMUPROF=<build>/cli/pmuprof
EXAMPLES = os.environ.get("EXAMPLES_DIR", os.path.join(BUILD, "examples"))
check(os.path.isdir(EXAMPLES),
      f"{EXAMPLES} does not exist: the top-level CMakeLists.txt must add_subdirectory(examples)")
harness = os.path.join(EXAMPLES, "pmuprof_example_harness")
check(os.access(harness, os.X_OK), f"{harness} is not built")

env = dict(os.environ, PMUPROF_EVENTS="page-faults,task-clock")
for k in ("PMUPROF_READ", "PMUPROF_REPORT", "PMUPROF_CONTROL_FIFO", "PMUPROF_CHANNEL_FD"):
    env.pop(k, None)

# Text.
r = run([harness, "--pages", "500", "--iters", "100", "--threads", "2"], env=env)
check(r.returncode == 0, f"harness example failed ({r.returncode}): {r.stdout}{r.stderr}")
out = r.stdout
print(out)
check("; read path: read (" in out or "; read path: rdpmc (" in out, "no read path in the report")
check("events page-faults,task-clock;" in out, "events missing from the report header")
for region in ("setup", "solve", "step", "worker"):
    check(f"\n{region} " in out, f"region {region} missing from the report")
check(out.count("  tid ") >= 5, "per-thread rows missing (setup, solve, step, 2 workers)")

# JSON, also written to $PMUPROF_REPORT at close.
with tempfile.TemporaryDirectory(prefix="pmuprof-examples-") as tmp:
    path = os.path.join(tmp, "report.json")
    r = run([harness, "--json", "--pages", "500", "--iters", "100", "--threads", "3"],
            env=dict(env, PMUPROF_REPORT=path))
    check(r.returncode == 0, f"harness example --json failed: {r.stdout}{r.stderr}")
    doc = json.loads(r.stdout)
    with open(path) as f:
        doc_env = json.load(f)
    check(sorted(os.listdir(tmp)) == ["report.json"], f"left behind: {os.listdir(tmp)}")
check(doc["events"] == ["page-faults", "task-clock"], f"events {doc['events']}")
check(len(doc["threads"]) == 4, f"{len(doc['threads'])} threads, expected main + 3 workers")
same = [(x["name"], x["calls"], x["counts"]) for x in doc["regions"]]
check(same == [(x["name"], x["calls"], x["counts"]) for x in doc_env["regions"]],
      "the report in PMUPROF_REPORT differs from the one printed")
regions = {x["name"]: x for x in doc["regions"]}
setup, solve, step, worker = (regions[n] for n in ("setup", "solve", "step", "worker"))
faults = setup["counts"][0]
print(f"setup: {faults:.0f} page faults for 500 fresh pages")
# Each page faults once; mmap/munmap run inside the region too. Under ASan the
# example's own writes also fault in shadow memory (one page per 8).
limit = 500 + (500 // 8 + 20 if os.environ.get("PMUPROF_SANITIZED") else 10)
check(500 <= faults <= limit, f"setup counted {faults} page faults for 500 fresh pages")
check(step["calls"] == 100 and solve["calls"] == 1, f"calls: step {step['calls']}, solve {solve['calls']}")
check(solve["time_ns"] >= step["time_ns"] > 0, "solve (outer) must take at least its steps' time")
check(solve["counts"][1] >= step["counts"][1] > 0, "task-clock: outer below inner")
check(worker["threads"] == 3 and worker["calls"] == 3, f"worker: {worker}")
check(all(x["running"] == [1.0, 1.0] for x in doc["regions"]), "software events multiplexed?")

# Google Benchmark.
gbench = os.path.join(EXAMPLES, "pmuprof_example_gbench")
if not os.access(gbench, os.X_OK):
    have = os.path.exists("/usr/include/benchmark/benchmark.h")
    if not have and shutil.which("pkg-config"):
        have = run(["pkg-config", "--exists", "benchmark"]).returncode == 0
    check(not have, "Google Benchmark is installed but pmuprof_example_gbench was not built")
    skip("Google Benchmark (Debian libbenchmark-dev) is not installed: the gbench example is "
         "not built (C harness checks passed)")
env["PMUPROF_EVENTS"] = "task-clock,page-faults"
r = run([gbench, "--benchmark_format=json", "--benchmark_min_time=0.05"], env=env)
check(r.returncode == 0, f"gbench example failed ({r.returncode}): {r.stderr}")
doc = json.loads(r.stdout)
benches = [b for b in doc["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
check(len(benches) == 2, f"{len(benches)} benchmarks, expected 2")
for b in benches:
    check("error_occurred" not in b, f"{b['name']}: {b.get('error_message')}")
    check("task-clock" in b and "page-faults" in b, f"{b['name']}: no pmuprof counters in {b}")
    # Per iteration: task-clock ns per iteration against gbench's CPU time per iteration.
    ratio = b["task-clock"] / b["cpu_time"]
    print(f"{b['name']}: task-clock {b['task-clock']:.0f} ns/iter, cpu_time {b['cpu_time']:.0f} "
          f"{b['time_unit']}, ratio {ratio:.2f}")
    check(b["time_unit"] == "ns", f"time unit {b['time_unit']}")
    check(0.5 < ratio < 2.0, f"{b['name']}: task-clock per iteration is not per iteration")
check("read path:" in r.stderr and "BM_Work" in r.stderr, f"no pmuprof report on stderr: {r.stderr}")
print("OK")
