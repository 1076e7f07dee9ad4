"""Shared helpers for pmuprof's end-to-end tests.

Each test is a script run by CTest with PMUPROF (the binary) and BENCH_DIR
(the built bench/ workloads) in its environment. Exit status 77 means the
test was skipped; the reason is always printed first.
"""
import os
import re
import subprocess
import sys
import tempfile

PMUPROF = os.environ.get("PMUPROF", "pmuprof")
BENCH = os.environ.get("BENCH_DIR", "bench")
SKIP = 77
# Set where the tests run under an emulator (the arm64 lab): exact counts, slow execution,
# so the hardware tests use shorter workloads and fewer repetitions.
EMULATED = bool(os.environ.get("PMUPROF_TEST_EMULATED"))


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(args, timeout=120, **kw):
    """Runs a command, returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def bench(name):
    path = os.path.join(BENCH, name)
    check(os.access(path, os.X_OK), f"workload {path} is not built")
    return path


def have_perf():
    try:
        return run(["perf", "--version"]).returncode == 0
    except FileNotFoundError:
        return False


def stat_both(flags, fmt, cmd):
    """pmuprof stat and perf stat with the same flags (e.g. -r 5 -e EVENTS), output format
    (-x , or -j or none) and command; each must exit 0. Their stderr: (pmuprof's, perf's)."""
    out = []
    for tool in (PMUPROF, "perf"):
        args = [tool, "stat"] + flags + fmt + ["--"] + cmd
        r = run(args)
        check(r.returncode == 0, f"{' '.join(args)} failed: {r.stderr}")
        out.append(r.stderr)
    return out[0], out[1]


def perf_counts(event):
    """True when perf itself can count EVENT on this host (user space)."""
    if not have_perf():
        return False
    r = run(["perf", "stat", "-x", ",", "-e", event, "true"])
    return r.returncode == 0 and "<not supported>" not in r.stderr


def host_has_hw_pmu():
    """True when the kernel exposes a core PMU: x86's cpu (hybrid: cpu_core), arm64's
    armv8_* (pmu/sysfs.c's pmu_sysfs_core looks for the same names)."""
    devs = "/sys/bus/event_source/devices"
    try:
        names = os.listdir(devs)
    except OSError:
        return False
    return any(n in ("cpu", "cpu_core") or n.startswith("armv8_") for n in names)


def csv_rows(text, sep=","):
    """perf stat -x rows: lines that are not comments or blank."""
    return [l.split(sep) for l in text.splitlines() if l.strip() and not l.startswith("#")]


def stat_values(text, sep=","):
    """{event: value} from -x output (value as float, or the <...> string)."""
    out = {}
    for f in csv_rows(text, sep):
        if len(f) >= 3 and f[2]:
            try:
                out[f[2]] = float(f[0])
            except ValueError:
                out[f[2]] = f[0]
    return out


PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")


def pprof_text(path):
    """The profile decoded by protoc (text format), as an independent reader."""
    import gzip
    raw = gzip.open(path).read()
    r = subprocess.run(["protoc", f"--proto_path={PROTO}", "--decode=perftools.profiles.Profile",
                        "profile.proto"], input=raw, capture_output=True, timeout=60)
    check(r.returncode == 0, f"protoc cannot decode {path}: {r.stderr.decode()}")
    text = r.stdout.decode()
    check_valid(text, path)
    return text


def _blocks(text, name):
    return re.findall(rf"^{name} \{{(.*?)^\}}", text, re.M | re.S)


def _ints(block, field):
    return [int(v) for v in re.findall(rf"^\s*{field}: (-?\d+)$", block, re.M)]


def check_valid(text, path):
    """pprof's Profile.CheckValid, and pmuprof's own promise that ids are dense: each
    table's ids are 1..n (the main binary's mapping may come first), every reference resolves, every string index is in the table,
    string 0 is empty, each sample has one value per sample type."""
    strings = re.findall(r'^string_table: "(.*)"$', text, re.M)
    where = f"{path} is not a valid pprof"
    check(strings and strings[0] == "", f"{where}: string_table[0] is {strings[:1]}, not \"\"")
    nstr = len(strings)
    types = _blocks(text, "sample_type")
    check(types, f"{where}: no sample_type")

    def dense(kind, blocks):
        ids = [(_ints(b, "id") or [0])[0] for b in blocks]
        check(sorted(ids) == list(range(1, len(ids) + 1)),
              f"{where}: {kind} ids are not 1..{len(ids)}: {ids[:20]}")
        return set(ids)

    mappings = _blocks(text, "mapping")
    functions = _blocks(text, "function")
    locations = _blocks(text, "location")
    mids, fids, lids = dense("mapping", mappings), dense("function", functions), \
        dense("location", locations)
    for b in mappings + functions:
        for field in ("filename", "build_id", "name", "system_name"):
            for i in _ints(b, field):
                check(0 <= i < nstr, f"{where}: {field} {i} outside the string table ({nstr})")
    for b in locations:
        for m in _ints(b, "mapping_id"):
            check(m in mids, f"{where}: a location names mapping {m}, which does not exist")
        for f in _ints(b, "function_id"):
            check(f in fids, f"{where}: a location names function {f}, which does not exist")
    for b in types + _blocks(text, "period_type"):
        for field in ("type", "unit"):
            for i in _ints(b, field):
                check(0 <= i < nstr, f"{where}: sample type {field} {i} outside the strings")
    for b in _blocks(text, "sample"):
        for l in re.findall(r"location_id: (\d+)", b):
            check(int(l) in lids, f"{where}: a sample names location {l}, which does not exist")
        values = re.findall(r"^\s+value: (-?\d+)", b, re.M)
        check(len(values) == len(types),
              f"{where}: a sample has {len(values)} values for {len(types)} sample types")
        for lb in re.findall(r"label \{(.*?)\}", b, re.S):
            for field in ("key", "str", "num_unit"):
                for i in _ints(lb, field):
                    check(0 <= i < nstr, f"{where}: label {field} {i} outside the strings")
    for field in ("comment", "drop_frames", "keep_frames", "default_sample_type"):
        for i in re.findall(rf"^{field}: (\d+)$", text, re.M):
            check(0 <= int(i) < nstr, f"{where}: {field} {i} outside the string table")


def go_pprof(args, timeout=600):
    """Runs `go tool pprof ARGS`; returns (status, stdout+stderr)."""
    env = dict(os.environ)
    env.setdefault("HOME", "/tmp")
    env.setdefault("GOCACHE", "/tmp/pmuprof-gocache")
    env["PPROF_TMPDIR"] = env.get("PPROF_TMPDIR", "/tmp")
    r = subprocess.run(["go", "tool", "pprof"] + args, capture_output=True, text=True,
                       timeout=timeout, env=env)
    return r.returncode, r.stdout + r.stderr


def have_go():
    import shutil
    return shutil.which("go") is not None


def standalone_pprof():
    """The standalone pprof (Debian's golang-github-google-pprof-dev sources), built once into
    PPROF_BUILD_DIR; skips the test where the sources or go are missing."""
    import tempfile
    src = "/usr/share/gocode/src/github.com/google/pprof"
    if not have_go() or not os.path.isdir(src):
        skip("standalone pprof sources (Debian golang-github-google-pprof-dev) or go are missing")
    d = os.environ.get("PPROF_BUILD_DIR") or tempfile.mkdtemp()
    pprof_bin = os.path.join(d, "pprof-standalone")
    if not os.access(pprof_bin, os.X_OK):
        env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off",
                   GOCACHE=os.environ.get("GOCACHE", "/tmp/pmuprof-gocache"),
                   HOME=os.environ.get("HOME", "/tmp"))
        b = subprocess.run(["go", "build", "-o", pprof_bin, "github.com/google/pprof"], env=env,
                           capture_output=True, text=True, timeout=900)
        check(b.returncode == 0, f"building standalone pprof failed: {b.stderr[-2000:]}")
    return pprof_bin


def pprof_top(path, sample_index):
    """[(flat, function)] from `go tool pprof -top`, in pprof's order."""
    status, out = go_pprof(["-top", f"-sample_index={sample_index}", path])
    check(status == 0, f"go tool pprof -top failed: {out}")
    check("arning" not in out and "rror" not in out, f"go tool pprof complained: {out}")
    rows = []
    started = False
    for line in out.splitlines():
        if line.strip().startswith("flat"):
            started = True
            continue
        if started and line.strip():
            # flat flat% sum% cum cum% NAME [(inline)]
            parts = line.split()
            name = " ".join(parts[5:])
            if name.endswith(" (inline)"):
                name = name[: -len(" (inline)")]
            rows.append((parts[0], name))
    return rows


def record_samples(stderr):
    """{event: samples} from pmuprof record's summary line."""
    import re
    line = [l for l in stderr.splitlines() if l.startswith("pmuprof record: samples")]
    check(line, f"no summary line in: {stderr!r}")
    body = line[-1].split("samples", 1)[1].split(";")[0]
    # " cycles 1,234, cache-misses 56": counts carry thousands separators
    return {ev: int(n.replace(",", "")) for ev, n in re.findall(r"\s([^\s,]+) (\d[\d,]*\d|\d)", body)}


def perf_record_samples(data):
    """{event: samples} from `perf report --stats` ... via perf script's event column."""
    r = run(["perf", "script", "-i", data, "-F", "event"], timeout=300)
    check(r.returncode == 0, f"perf script failed: {r.stderr}")
    counts = {}
    for line in r.stdout.splitlines():
        ev = line.strip().rstrip(":")
        if ev:
            counts[ev] = counts.get(ev, 0) + 1
    return counts


def load_profile(path):
    """The profile as Python data, decoded by protoc (independent of pmuprof's reader).

    Returns {"types": [...], "samples": [{"stack": [[fn, ...], ...], "values": [...],
    "labels": {...}, "stack_ids": [[function id, ...], ...]}], "comments": [...],
    "functions": {id: (name, system_name)}}; each stack entry is one location's
    functions, innermost inline frame first; the stack is leaf first."""
    text = pprof_text(path)
    strings = re.findall(r'^string_table: "(.*)"$', text, re.M)
    funcs = {}
    functions = {}
    for block in re.findall(r"^function \{(.*?)^\}", text, re.M | re.S):
        fid = int(re.search(r"id: (\d+)", block).group(1))
        name = re.search(r"\bname: (\d+)", block)
        system = re.search(r"\bsystem_name: (\d+)", block)
        funcs[fid] = strings[int(name.group(1))] if name else "?"
        functions[fid] = (funcs[fid], strings[int(system.group(1))] if system else "")
    locs = {}
    loc_ids = {}
    for block in re.findall(r"^location \{(.*?)^\}\n", text, re.M | re.S):
        lid = int(re.search(r"^\s+id: (\d+)", block, re.M).group(1))
        addr = re.search(r"^\s+address: (\d+)", block, re.M)
        loc_ids[lid] = [int(f) for f in re.findall(r"function_id: (\d+)", block)]
        names = [funcs[f] for f in loc_ids[lid]]
        locs[lid] = names or [hex(int(addr.group(1))) if addr else "?"]
    types = [strings[int(t)] for t, _ in
             re.findall(r'sample_type \{\s*type: (\d+)\s*unit: (\d+)', text)]
    samples = []
    for block in re.findall(r"^sample \{(.*?)^\}", text, re.M | re.S):
        lids = [int(l) for l in re.findall(r"location_id: (\d+)", block)]
        stack = [locs[l] for l in lids]
        values = [int(v) for v in re.findall(r"^\s+value: (-?\d+)", block, re.M)]
        labels = {}
        for lb in re.findall(r"label \{(.*?)\}", block, re.S):
            key = strings[int(re.search(r"key: (\d+)", lb).group(1))]
            s = re.search(r"\bstr: (\d+)", lb)
            n = re.search(r"\bnum: (-?\d+)", lb)
            labels[key] = strings[int(s.group(1))] if s else int(n.group(1)) if n else 0
        samples.append({"stack": stack, "values": values, "labels": labels,
                        "stack_ids": [loc_ids[l] for l in lids]})
    comments = [strings[int(c)] for c in re.findall(r"^comment: (\d+)", text, re.M)]
    return {"types": types, "samples": samples, "comments": comments, "functions": functions}




def workload(name):
    path = os.path.join(os.environ.get("WORKLOAD_DIR", "."), name)
    check(os.access(path, os.X_OK), f"workload {path} is not built")
    return path


def numactl_hardware(text):
    """`numactl -H`'s facts (and pmuprof topology's block in the same layout):
    {node: {"cpus": [..], "size": MB, "free": MB}}, and {node: [distances]}."""
    nodes = {}
    for n, what, val in re.findall(r"^node (\d+) (cpus|size|free):(.*)$", text, re.M):
        d = nodes.setdefault(int(n), {})
        d[what] = [int(c) for c in val.split()] if what == "cpus" else int(val.split()[0])
    dist = {}
    if "node distances:" in text:
        for row in text.split("node distances:", 1)[1].strip().splitlines()[1:]:
            m = re.match(r"^\s*(\d+):((?:\s+\d+)+)\s*$", row)
            if not m:
                break
            dist[int(m.group(1))] = [int(v) for v in m.group(2).split()]
    return nodes, dist


def check_numa_block(topo, numactl, free_tolerance_mb):
    """pmuprof topology's node block against numactl -H: CPUs, sizes and distances equal,
    free memory within FREE_TOLERANCE_MB (it changes between the two reads)."""
    check("node memory and distances (as numactl -H):" in topo, f"no node block in:\n{topo}")
    ours, our_dist = numactl_hardware(topo.split("node memory and distances", 1)[1])
    theirs, their_dist = numactl_hardware(numactl)
    check(sorted(ours) == sorted(theirs) and theirs, f"nodes {sorted(ours)} vs numactl's {sorted(theirs)}")
    for n, d in theirs.items():
        o = ours[n]
        check(o["cpus"] == d["cpus"], f"node {n} CPUs {o['cpus']} vs numactl's {d['cpus']}")
        check(o["size"] == d["size"], f"node {n} size {o['size']} MB vs numactl's {d['size']} MB")
        check(abs(o["free"] - d["free"]) <= free_tolerance_mb,
              f"node {n} free {o['free']} MB vs numactl's {d['free']} MB")
    check(our_dist == their_dist, f"distances {our_dist} vs numactl's {their_dist}")
    return theirs, their_dist


def perf_cpu_nodes(perf_data):
    """{cpu: node} of a perf.data's NUMA_TOPOLOGY header, as `perf report -I` prints it."""
    r = run(["perf", "report", "-i", perf_data, "--header-only", "-I"])
    check(r.returncode == 0, f"perf report -I: {r.stderr}")
    node_of = {}
    for node, cpus in re.findall(r"# node(\d+) cpu list : (\S+)", r.stdout):
        for part in cpus.split(","):
            a, _, b = part.partition("-")
            for c in range(int(a), int(b or a) + 1):
                node_of[c] = int(node)
    return node_of


def perf_record_workload(perf_args, workload):
    """perf record PERF_ARGS of WORKLOAD (argv) into a new perf.data; its path. A sanitized
    workload runs without LSan's leak scan at exit: that is not the workload's profile."""
    data = os.path.join(tempfile.mkdtemp(prefix="pmuprof-perf-"), "perf.data")
    r = run(["perf", "record", "-q", "-o", data] + perf_args + ["--"] + workload, timeout=300,
            env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    check(r.returncode == 0, f"perf record {perf_args} failed: {r.stderr}")
    return data
