"""`pmuprof stat --pprof FILE --otlp FILE`: the counts of one run, printed by -j, are the
pprof's and the OTLP request's values, in every aggregation mode (the sum of a command;
-a --per-node, --per-socket, --per-core, -A). The pprof is read by three consumers
independent of pmuprof: protoc (load_profile), `go tool pprof -raw` and the standalone
pprof's -raw: one sample type per supported event (clocks in nanoseconds), one sample per
-j group with its ids as labels (node; socket; socket, die, core; cpu and node), each value
-j's counter-value (msec as ns for clocks) within rounding; `go tool pprof -tags` lists
every label value and `-top` shows the one frame naming what was counted. The OTLP request
(otlp_check: protoc's descriptors) carries the same values with the same attributes (a 0
has no sample there).
Errors: --pprof into a missing directory and --pprof = --otlp say so in one line and run
nothing; --pprof /dev/full fails after the run with one line, the text counts and the
--otlp file still written; --pprof - writes the profile to standard output."""
import gzip
import json
import os
import re
import subprocess
import tempfile

import otlp_check
from common import *

EVENTS = "task-clock,page-faults,context-switches,cycles"  # cycles: absent on PMU-less hosts
WORK = ["--", "sleep", "0.2"]
MODES = {"command": [], "per-node": ["-a", "--per-node"], "per-socket": ["-a", "--per-socket"],
         "per-core": ["-a", "--per-core"], "per-cpu": ["-a", "-A"]}
WHAT = {"command": "sleep"}  # the frame; "all CPUs" for -a

if not have_go():
    skip("go (Debian golang-go) is missing: go tool pprof is a consumer checked here")
standalone = standalone_pprof()
d = tempfile.mkdtemp(prefix="pmuprof-stat-profiles-")


def cpu_node(cpu):
    """The CPU's node from sysfs (0 where the kernel has no NUMA nodes)."""
    base = f"/sys/devices/system/cpu/cpu{cpu}"
    nodes = [int(n[4:]) for n in os.listdir(base) if re.fullmatch(r"node\d+", n)]
    return nodes[0] if nodes else 0


def group_key(j):
    """The labels a -j object's group must carry in the pprof, as a sorted tuple."""
    if "node" in j:
        g = {"node": int(j["node"][1:])}
    elif "socket" in j:
        g = {"socket": int(j["socket"][1:])}
    elif "core" in j:
        s, dd, c = re.fullmatch(r"S(\d+)-D(\d+)-C(\d+)", j["core"]).groups()
        g = {"socket": int(s), "die": int(dd), "core": int(c)}
    elif "cpu" in j:
        g = {"cpu": int(j["cpu"]), "node": cpu_node(int(j["cpu"]))}
    else:
        g = {}
    return tuple(sorted(g.items()))


def expected(stderr):
    """{(group, event): value} from -j (ns for msec clocks), and the unsupported events."""
    want, unsupported = {}, set()
    for line in stderr.splitlines():
        if not line.startswith("{"):
            continue
        j = json.loads(line)
        if "event" not in j:
            continue  # an extra metric line
        v = j["counter-value"]
        if v == "<not supported>":
            unsupported.add(j["event"])
            continue
        v = 0.0 if v == "<not counted>" else float(v)
        want[(group_key(j), j["event"])] = v * 1e6 if j["unit"] == "msec" else v
    return want, unsupported


def compare(what, got, want, drops_zeros=False):
    """got equals want within rounding; drops_zeros: OTLP has no sample for a 0 value."""
    if drops_zeros:
        want = {k: v for k, v in want.items() if round(v) != 0}
    check(set(got) == set(want), f"{what}: (group, event) pairs {sorted(got)} vs -j's "
          f"{sorted(want)}")
    for k, v in want.items():
        check(abs(got[k] - v) <= 1, f"{what}: {k} is {got[k]}, -j says {v}")


def raw_values(text, what):
    """{(group, event): value} from pprof -raw's Samples section."""
    check("Samples:" in text, f"{what}: no Samples in -raw:\n{text}")
    lines = text.split("Samples:", 1)[1].split("Locations", 1)[0].strip("\n").splitlines()
    types = [t.split("/")[0] for t in lines[0].split()]
    types = [t[:-len("[dflt]")] if t.endswith("[dflt]") else t for t in types]
    got, values = {}, None

    def flush(labels):
        for t, v in zip(types, values):
            got[(tuple(sorted(labels.items())), t)] = v

    labels = {}
    for line in lines[1:]:
        m = re.fullmatch(r"\s*([-\d ]+):\s*[\d ]+", line)
        if m:
            if values is not None:
                flush(labels)
            values, labels = [int(v) for v in m.group(1).split()], {}
            continue
        for k, v in re.findall(r"(\w+):\[([^\]]*)\]", line):
            num, unit = v.split()
            check(unit == k, f"{what}: label {k} has unit {unit!r}, not {k!r}")
            labels[k] = int(num)
    if values is not None:
        flush(labels)
    return got


def pprof_raw(tool, path):
    env = dict(os.environ, PPROF_TMPDIR=d, HOME=os.environ.get("HOME", "/tmp"))
    if tool == "go":
        status, out = go_pprof(["-raw", path])
    else:
        p = subprocess.run([standalone, "-raw", path], capture_output=True, text=True, env=env,
                           timeout=300)
        status, out = p.returncode, p.stdout + p.stderr
    check(status == 0, f"{tool} pprof -raw {path} failed: {out}")
    return out


def otlp_values(path):
    """{(group, event): value} from the request's samples and their attributes."""
    otlp_check.check_request(path)
    req = otlp_check.decode_request(path)
    st, got = req.dictionary.string_table, {}
    for rp in req.resource_profiles:
        for sp in rp.scope_profiles:
            for p in sp.profiles:
                typ = st[p.sample_type.type_strindex]
                for s in p.samples:
                    attrs = {}
                    for ai in s.attribute_indices:
                        kv = req.dictionary.attribute_table[ai]
                        key = st[kv.key_strindex]
                        attrs["cpu" if key == "cpu.logical_number" else key] = \
                            otlp_check._any_value(kv.value)
                    got[(tuple(sorted(attrs.items())), typ)] = sum(s.values)
    return got


for name, mode in MODES.items():
    pp, ot = os.path.join(d, f"{name}.pb.gz"), os.path.join(d, f"{name}.otlp")
    r = run([PMUPROF, "stat", "-e", EVENTS, "-j", "--pprof", pp, "--otlp", ot] + mode + WORK)
    check(r.returncode == 0, f"stat {mode} --pprof --otlp: {r.returncode} {r.stderr}")
    want, unsupported = expected(r.stderr)
    check(want, f"{name}: no counts in -j's output: {r.stderr}")
    events = sorted({e for _, e in want})

    prof = load_profile(pp)
    check(sorted(prof["types"]) == events and not unsupported & set(prof["types"]),
          f"{name}: sample types {prof['types']}, -j counted {events}")
    got = {}
    for s in prof["samples"]:
        check(s["stack"] == [[WHAT.get(name, "all CPUs")]], f"{name}: stack {s['stack']}")
        for t, v in zip(prof["types"], s["values"]):
            got[(tuple(sorted(s["labels"].items())), t)] = v
    compare(f"{name} (protoc)", got, want)
    check(any(c.startswith("pmuprof ") and " stat " in c for c in prof["comments"]),
          f"{name}: no command line comment: {prof['comments']}")
    for e in events:
        check(any(c.startswith(f"event {e}: ") for c in prof["comments"]),
              f"{name}: no comment on {e}'s multiplexing: {prof['comments']}")

    compare(f"{name} (go tool pprof -raw)", raw_values(pprof_raw("go", pp), "go"), want)
    compare(f"{name} (standalone pprof -raw)",
            raw_values(pprof_raw("standalone", pp), "standalone"), want)
    status, tags = go_pprof(["-tags", "-sample_index=task-clock", pp])  # > 0 on every CPU
    check(status == 0, f"{name}: go tool pprof -tags: {tags}")
    blocks = {m.group(1): set(re.findall(r"\): (-?\d+)$", m.group(2), re.M)) for m in
              re.finditer(r"^ (\w+): Total.*?\n(.*?)(?=^ \w+: Total|\Z)", tags, re.M | re.S)}
    for group, _ in want:
        for k, v in group:
            check(str(v) in blocks.get(k, ()), f"{name}: -tags lacks {k}={v}:\n{tags}")
    top = pprof_top(pp, "task-clock")
    check([f for _, f in top] == [WHAT.get(name, "all CPUs")], f"{name}: -top shows {top}")

    compare(f"{name} (OTLP)", otlp_values(ot), want, drops_zeros=True)
    print(f"ok: {name}: {len(want)} values, the same in -j, protoc, go pprof, standalone pprof "
          f"and OTLP; groups {sorted({g for g, _ in want})}")

# The frame names what was counted: -C's CPUs, -p's process.
sleeper = subprocess.Popen(["sleep", "30"])
try:
    for opts, frame in ((["-C", "0"], "CPUs 0"), (["-p", str(sleeper.pid)], f"pid {sleeper.pid}")):
        pp = os.path.join(d, "frame.pb.gz")
        r = run([PMUPROF, "stat", "-e", "task-clock", "--pprof", pp] + opts + WORK)
        check(r.returncode == 0, f"stat {opts} --pprof: {r.returncode} {r.stderr}")
        stacks = [s["stack"] for s in load_profile(pp)["samples"]]
        check(stacks == [[[frame]]], f"stat {opts}: stacks {stacks}, not [[{frame!r}]]")
finally:
    sleeper.kill()
    sleeper.wait()
print("ok: the frame of -C 0 is 'CPUs 0', of -p PID 'pid PID'")

# Errors: a profile that cannot be written.
missing = os.path.join(d, "no-such-dir", "s.pb.gz")
r = run([PMUPROF, "stat", "-e", "task-clock", "--pprof", missing, "--", "true"])
errs = [l for l in r.stderr.splitlines() if l.strip()]
check(r.returncode != 0 and len(errs) == 1 and missing in errs[0] and "--pprof" in errs[0],
      f"--pprof into a missing directory: {r.returncode} {r.stderr}")
same = os.path.join(d, "same")
r = run([PMUPROF, "stat", "-e", "task-clock", "--pprof", same, "--otlp", same, "--", "true"])
errs = [l for l in r.stderr.splitlines() if l.strip()]
check(r.returncode == 2 and len(errs) == 1 and "same file" in errs[0],
      f"--pprof = --otlp: {r.returncode} {r.stderr}")
check(not os.path.exists(same), "--pprof = --otlp wrote the file")
ot = os.path.join(d, "full.otlp")
r = run([PMUPROF, "stat", "-e", "task-clock", "--pprof", "/dev/full", "--otlp", ot, "--", "true"])
errs = [l for l in r.stderr.splitlines() if l.startswith("pmuprof stat:")]
check(r.returncode == 1 and len(errs) == 1 and "/dev/full" in errs[0],
      f"--pprof /dev/full: {r.returncode} {r.stderr}")
check("task-clock" in r.stderr and "seconds time elapsed" in r.stderr,
      f"--pprof /dev/full lost the text counts: {r.stderr}")
check(otlp_values(ot), "--pprof /dev/full cost the --otlp file")
print("ok: a missing directory, the same file twice and a full device: one line each")

r = subprocess.run([PMUPROF, "stat", "-e", "task-clock", "-j", "--pprof", "-", "--", "echo", "x"],
                   capture_output=True, timeout=120)
check(r.returncode == 0, f"--pprof -: {r.returncode} {r.stderr}")
p = os.path.join(d, "stdout.pb.gz")
with open(p, "wb") as f:
    f.write(r.stdout)
prof = load_profile(p)
check(prof["types"] == ["task-clock"] and b'"event" : "task-clock"' in r.stderr and
      b"x\n" in r.stderr, f"--pprof -: types {prof['types']}, stderr {r.stderr}")
print("ok: --pprof - on standard output, the command's output and the counts on stderr")
print("PASS")
