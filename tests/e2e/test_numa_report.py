"""`pmuprof numa report` on this host (one NUMA node; the lab's 2-node guest checks the
verdicts on real placement, tests/lab/test_numa_record.py).

- numa record -- numa_serial, then numa report FILE: per object the same pages sampled,
  faults, pages by node and first touch as numa record's own summary; the thread x node
  rows add up to the samples; on one node the one verdict says there are no NUMA
  effects;
- --json: the same numbers under the README's keys;
- -o: the input's samples again (protoc decodes it, every sample as in the input) with
  the verdicts added as comments;
- the default FILE is numa record's default output;
- a perf mem recording (the shared PEBS capture, when present): every sample an access,
  local/remote as perf script's data_src says, the nodes of its NUMA topology; -o writes
  its samples as a pprof;
- a missing file, a pprof that is not numa record's, bad flags: one line naming the cause
  (and for a foreign pprof the fix), non-zero exit.
"""
import json
import os
import re
import tempfile

from common import PMUPROF, check, load_profile, perf_cpu_nodes, run, workload

wl = workload("numa_serial")
WL = [wl]  # never sanitized (tests/data/workloads/CMakeLists.txt): it runs traced
d = tempfile.mkdtemp(prefix="pmuprof-numa-report-")
prof = os.path.join(d, "n.pb.gz")
nodes = len([n for n in os.listdir("/sys/devices/system/node") if re.match(r"node\d+$", n)])

r = run([PMUPROF, "numa", "record", "-c", "16", "-o", prof, "--"] + WL + ["0.2"])
check(r.returncode == 0, f"numa record failed ({r.returncode}): {r.stderr}")
summary = r.stdout
init_tid = int(re.search(r"^init tid=(\d+)", summary, re.M).group(1))
total = int(re.search(r"^(\d+) pages sampled in \d+ objects, (\d+) samples", summary, re.M)
            .group(2))


def objects(text):
    """{name: (pages, faults, pages-by-node line, [first touch lines])} of a summary."""
    out = {}  # a file mapped twice is two objects of one name
    for m in re.finditer(r"^(\S.*?) \(pid \d+(?:, [^)]*)?\): (\d+) pages sampled, (\d+) faults "
                         r"sampled\n((?:  .*\n)*)", text, re.M):
        body = m.group(4)
        placed = re.search(r"pages by node at the end: (.*)", body)
        out.setdefault(m.group(1), []).append(
            (int(m.group(2)), int(m.group(3)), placed and placed.group(1),
             re.findall(r"^  (first touch: .*)", body, re.M)))
    return {name: sorted(objs) for name, objs in out.items()}


rec = objects(summary)
check("grid" in rec, f"no grid in numa record's summary:\n{summary}")

# --- text ---------------------------------------------------------------------------------
r = run([PMUPROF, "numa", "report", prof])
check(r.returncode == 0 and not r.stderr, f"numa report failed ({r.returncode}): {r.stderr}")
text = r.stdout
rep = objects(text)


def unnamed(obj):
    """An object without its first touches' function names: the report names the function
    of the sample's leaf frame as pprof does, numa record the symbol at the address (in libc
    an alias may differ: ___sprintf_chk for __sprintf_chk)."""
    return [o[:3] + ([re.sub(r" in .*$", "", t) for t in o[3]],) for o in obj]


# numa record's summary details its 10 objects with the most faults, the report every one.
for name in rec:
    check(name in rep, f"{name} is in numa record's summary, not in the report:\n{text}")
    check(all(o in unnamed(rep[name]) for o in unnamed(rec[name])),
          f"{name}: the report says {rep[name]}, numa record {rec[name]}")
check(rep["grid"] == rec["grid"], f"grid: the report says {rep['grid']}, numa record {rec['grid']}")
g = rep["grid"][0]
check(re.match(rf"first touch: 100\.0% of pages by tid {init_tid} \(.*\) on node 0 in init_grid$",
               g[3][0]), f"grid's first touch: {g[3]}")
rows = re.findall(r"^  tid (\d+) \(.*?\): ran on (.*?); pages on (.*?); local (\d+), remote (\d+)$",
                  text, re.M)
ran = sum(int(c) for row in rows for c in re.findall(r"node\d+ (\d+)", row[1]))
check(ran == total, f"the thread x node rows add up to {ran} faults, numa record sampled {total}")
check(re.search(r"^  init_grid: first touch of (\d+) pages", text, re.M), "no init_grid row")
verdicts = re.findall(r"^  (\w+): (.*)$", text.split("\nverdicts:\n")[1], re.M)
if nodes == 1:
    check(text.count("one NUMA node: no NUMA effects") == 1, f"one-node notice:\n{text}")
    check(len(verdicts) == 1 and verdicts[0][0] == "one_node", f"verdicts: {verdicts}")
print(f"ok: text: {len(rep)} objects as numa record's summary; verdicts {verdicts}")

# --- --json -------------------------------------------------------------------------------
r = run([PMUPROF, "numa", "report", "--json", prof])
check(r.returncode == 0, f"--json: {r.stderr}")
j = json.loads(r.stdout)
for key in ("nodes", "balancing", "distances", "faults", "pages_sampled", "moves", "objects",
            "functions", "threads", "verdicts"):
    check(key in j, f"--json has no key {key}")
check(j["nodes"] == nodes and j["faults"] == total, f"--json nodes/faults {j['nodes']}/{j['faults']}")
jg = [o for o in j["objects"] if o["name"] == "grid"]
check(len(jg) == 1, "--json: no grid object")
jg = jg[0]
check(jg["pages_sampled"] == rec["grid"][0][0] and jg["faults"] == rec["grid"][0][1],
      f"--json grid {jg}")
check(jg["bytes"] == 64 << 20 and sum(jg["pages_by_node"]) == jg["pages_present"], f"{jg}")
ft = jg["first_touch"][0]
check(ft["tid"] == init_tid and ft["function"] == "init_grid" and ft["node"] == 0
      and ft["percent"] == 100.0, f"--json grid first touch {ft}")
check(sum(t["faults"] for t in j["threads"]) == total, "--json threads' faults")
check(sum(f["first_touch_pages"] for f in j["functions"]) == j["pages_sampled"],
      "--json functions' first touches do not add up to the pages sampled")
check([v["kind"] for v in j["verdicts"]] == [k for k, _ in verdicts], "--json verdicts")
print("ok: --json")

# --- -o: the input's samples with the verdicts as comments ----------------------------------
out = os.path.join(d, "report.pb.gz")
r = run([PMUPROF, "numa", "report", "-o", out, prof])
check(r.returncode == 0 and r.stdout == text, f"-o: {r.stderr}")
a, b = load_profile(prof), load_profile(out)
check(a["samples"] == b["samples"] and a["types"] == b["types"], "-o: samples differ from the input")
added = [c for c in b["comments"] if c not in a["comments"]]
check(added == [f"numa verdict: {k}: {t}" for k, t in verdicts], f"-o comments: {added}")
print("ok: -o")

# --- the default FILE ---------------------------------------------------------------------
os.rename(prof, os.path.join(d, "pmuprof-numa.pb.gz"))
r = run([PMUPROF, "numa", "report"], cwd=d)
check(r.returncode == 0 and r.stdout == text, f"default file: {r.stderr}")

# --- a perf mem recording (the shared PEBS capture): local/remote from data_src -------------
cap = "/work/shared/testdata/perf-data/perf.data.weight_struct"
if os.path.exists(cap):
    r = run([PMUPROF, "numa", "report", "--json", cap])
    check(r.returncode == 0, f"numa report on perf mem's capture: {r.stderr}")
    j = json.loads(r.stdout)
    p = run(["perf", "script", "-i", cap, "-F", "data_src"])
    check(p.returncode == 0, f"perf script: {p.stderr}")
    srcs = [line for line in p.stdout.splitlines() if "|OP" in line]
    remote = sum("Remote" in line for line in srcs)
    unknown = sum("LVL N/A" in line for line in srcs)
    local = sum(t["local"] for t in j["threads"])
    check(j["faults"] == len(srcs) == 14, f"{j['faults']} samples, perf script {len(srcs)}")
    check(sum(t["remote"] for t in j["threads"]) == remote and local == len(srcs) - remote - unknown,
          f"local/remote {local}/{sum(t['remote'] for t in j['threads'])}, perf's data_src "
          f"{len(srcs) - remote - unknown}/{remote}")
    node_of = perf_cpu_nodes(cap)
    check(j["nodes"] == len(set(node_of.values())), f"{j['nodes']} nodes; perf's: {node_of}")
    # Each thread's accesses by its CPU's node, as perf script's tid and cpu give them.
    p = run(["perf", "script", "-i", cap, "-F", "tid,cpu"])
    want = {}
    for tid, cpu in re.findall(r"^\s*(\d+)\s+\[(\d+)\]", p.stdout, re.M):
        want.setdefault(int(tid), [0] * j["nodes"])[node_of[int(cpu)]] += 1
    got = {t["tid"]: t["ran_on"] for t in j["threads"]}
    check(got == want, f"threads by node {got}; perf script's {want}")
    check(all(o["pages_sampled"] == 0 and o["pages_by_node"] is None for o in j["objects"]),
          "perf mem has no first touch nor placement")
    out = os.path.join(d, "mem.pb.gz")
    r = run([PMUPROF, "numa", "report", "-o", out, cap])
    check(r.returncode == 0 and "perf mem samples" in r.stdout, f"-o on perf.data: {r.stderr}")
    check(sum(s["values"][0] for s in load_profile(out)["samples"]) == 14, "-o: not 14 samples")
    print(f"ok: perf mem capture: {local} local, {remote} remote as perf's data_src")
else:
    print(f"(no {cap}: the perf mem part is not checked)")

# --- errors -------------------------------------------------------------------------------
no_addr = "/work/shared/testdata/perf-data/perf.data.throttle-3.8"
plain = os.path.join(d, "plain.pb.gz")
r = run([PMUPROF, "record", "-e", "task-clock", "-o", plain, "--", "true"])
check(r.returncode == 0, f"record: {r.stderr}")
for args, code, words in [
        ([os.path.join(d, "missing.pb.gz")], 1, "missing.pb.gz"),
        # The command it suggests writes beside the input, never over it.
        ([plain], 1, f"{plain} is not a profile of pmuprof numa record (it has no 'numa:' "
                     f"comment with the machine's nodes): record one with 'pmuprof numa record "
                     f"-o {d}/plain.numa.pb.gz -- CMD' and run 'pmuprof numa report "
                     f"{d}/plain.numa.pb.gz'"),
        (["--bogus"], 2, "unknown option '--bogus'"),
        (["a.pb.gz", "b.pb.gz"], 2, "one profile at a time"),
        (["-o"], 2, "-o")] + ([
        ([no_addr], 1, "has no data addresses (no event samples ADDR and DATA_SRC): record "
                       "them with 'perf mem record'")] if os.path.exists(no_addr) else []):
    r = run([PMUPROF, "numa", "report"] + args, cwd=d)
    check(r.returncode == code, f"numa report {args}: status {r.returncode}, not {code}")
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1 and words in lines[0], f"numa report {args}: {r.stderr!r}")
check(not os.path.exists(os.path.join(d, "x.pb.gz")), "")
r = run([PMUPROF, "numa", "report", "-o", os.path.join(d, "x.pb.gz"), plain])
check(r.returncode == 1 and not os.path.exists(os.path.join(d, "x.pb.gz")),
      "a failed report left its -o output")
print("ok: errors")
print("PASS")
