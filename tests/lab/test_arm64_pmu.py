"""Hardware counters for real, in the arm64 guest (QEMU's PMUv3, 7 counters) under
-icount, where one instruction is one cycle and counts are exact and repeatable, so
the oracles are exact (the workloads are tests/lab/arm64/, cross-built here, and make arm64's
harness_loop):

- stat: `stat -e instructions:u` of exact_loop equals 2*ITERS + 5, for two ITERS,
  and equals `perf stat` in the same guest;
- record: `record -e cycles:u -c N` of two_functions (2 threads) gives each function
  2*passes*threads/N samples, within 1 per thread;
- leader sampling: `{cycles:u,instructions:u}:S` gives the same samples, each
  carrying the instructions retired since the last (N apart, so the two sums agree):
  of a command (the 6.1 kernel samples a group in its first thread only, which
  pmuprof says) and of the whole machine with -a (every thread);
- multiplexing: 10 events on 7 counters, each scaled count within 2 % of the oracle
  the event has alone, time enabled/running shown as perf shows it;
- libpmuprof: a region's instructions:u over a loop of known length, on each read
  path (the counter registers read in user space, and read()): the difference of two
  lengths is exact, and the paths agree;
- the default events on a PMU without cache or branch events: stat and record
  still work, saying which events this PMU lacks."""
import base64
import os
import re
import subprocess
import tempfile

from lab import HERE, arm64_build, check, guest, sections
from common import load_profile, stat_values

BUILD = arm64_build()  # skips when the arm64 build is missing
PMUPROF = os.path.join(BUILD, "cli", "pmuprof")
SRC = os.path.join(HERE, "arm64")
work = tempfile.mkdtemp(prefix="arm64-pmu-", dir=os.path.dirname(PMUPROF))


def cross(out, *args):
    r = subprocess.run(["aarch64-linux-gnu-gcc", "-o", os.path.join(work, out)] + list(args),
                       capture_output=True, text=True)
    check(r.returncode == 0, f"aarch64-linux-gnu-gcc {' '.join(args)}: {r.stderr}")
    return os.path.join(work, out)


ITERS = (1000000, 10000000)
loops = {n: cross(f"loop{n}", "-nostdlib", "-static", f"-DITERS={n}",
                  os.path.join(SRC, "exact_loop.S")) for n in ITERS}
# tests/data/workloads/harness_loop.c, built with the arm64 libpmuprof by make arm64.
harness = os.path.join(BUILD, "tests", "data", "workloads", "harness_loop")
check(os.access(harness, os.X_OK), f"{harness} is not built (make arm64 builds it)")
HARNESS_PASSES = (1000000, 3000000)
two = cross("two_functions", "-O2", "-g", "-static", "-pthread",
            os.path.join(SRC, "two_functions.c"))
THREADS, PASSES_A, PASSES_B, PERIOD = 2, 2000000, 4000000, 100000
TWO = f"{two} {THREADS} {PASSES_A} {PASSES_B}"
P = PMUPROF
MUX = ["instructions:u", "cycles:u", "inst_retired:u", "cpu_cycles:u", "r08:u", "r11:u"] * 2
MUX = MUX[:10]


def put(name, path):
    """Shell that prints the file PATH base64-encoded as section NAME."""
    return f"echo === {name}; base64 {path}"


script = [
    # arm64 lets user space read the counters only when this says so (root only).
    "echo 1 > /proc/sys/kernel/perf_user_access",
    # The first run warms the guest's caches (TCG's translated blocks too).
    f"{P} stat -x , -e instructions:u -- {loops[ITERS[0]]} 2>/dev/null",
]
for n in ITERS:
    script += [f"echo === stat{n}", f"{P} stat -x , -e instructions:u -- {loops[n]} 2>&1",
               f"echo === perf{n}", f"perf stat -x , -e instructions:u -- {loops[n]} 2>&1"]
script += [
    "echo === record",
    f"{P} record -e cycles:u -c {PERIOD} -o /tmp/r.pb.gz -- {TWO} 2>&1",
    put("record.pb", "/tmp/r.pb.gz"),
    "echo === group",
    f"{P} record -e '{{cycles:u,instructions:u}}:S' -c {PERIOD} -o /tmp/g.pb.gz -- "
    f"{two} 0 {PASSES_A} {PASSES_B} 2>&1",
    put("group.pb", "/tmp/g.pb.gz"),
    "echo === group-a",
    f"{P} record -a -e '{{cycles:u,instructions:u}}:S' -c {PERIOD} -o /tmp/ga.pb.gz -- {TWO} 2>&1",
    put("group-a.pb", "/tmp/ga.pb.gz"),
    "echo === mux",
    f"{P} stat -e {','.join(MUX)} -- {loops[ITERS[1]]} 2>&1",
    "echo === muxcsv",
    f"{P} stat -x , -e {','.join(MUX)} -- {loops[ITERS[1]]} 2>&1",
    "echo === default-stat",
    f"{P} stat -x , -- {loops[ITERS[0]]} 2>&1; echo status $?",
    "echo === default-record",
    f"{P} record -o /tmp/d.pb.gz -- {TWO} 2>&1; echo status $?",
    put("default.pb", "/tmp/d.pb.gz"),
]
for path in ("auto", "read", "rdpmc"):
    for n in HARNESS_PASSES:
        script += [f"echo === harness-{path}-{n}",
                   f"PMUPROF_READ={path} {harness} {n} 2>&1; echo status $?"]
r = guest("\n".join(script), nodes=1, arch="arm64", icount=True, shares=[BUILD])
print(r.stderr[-3000:], end="")
check(r.returncode == 0, f"the guest's commands failed (status {r.returncode}): {r.stdout[-3000:]}")
out = sections(r.stdout)


class Failed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Failed(msg)


def profile(name):
    """The profile the guest printed as section NAME (base64), decoded by protoc."""
    expect(out.get(name), f"the guest printed no {name}")
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(base64.b64decode(out[name]))
    return load_profile(path)


def per_function(prof, sample_type):
    """{leaf function: summed values of SAMPLE_TYPE}."""
    i = prof["types"].index(sample_type)
    by = {}
    for s in prof["samples"]:
        leaf = s["stack"][0][0] if s["stack"] else "?"
        by[leaf] = by.get(leaf, 0) + s["values"][i]
    return by


def type_of(prof, prefix, what):
    t = next((t for t in prof["types"] if t.split(":")[0] == prefix), None)
    expect(t, f"{what}: no {prefix} sample type in {prof['types']}")
    return t


def samples_per_function(prof, sample_type, what, threads=THREADS):
    by = per_function(prof, sample_type)
    for fn, passes in (("two_fn_a", PASSES_A), ("two_fn_b", PASSES_B)):
        want = 2 * passes * threads // PERIOD
        got = by.get(fn, 0) / PERIOD
        print(f"{what}: {fn} {got:.0f} samples of {sample_type}, owed {want}")
        expect(abs(got - want) <= threads,
               f"{what}: {fn} has {got} samples, owed {want} +-{threads}: {by}")


def exact_stat():
    for n in ITERS:
        ours = stat_values(out[f"stat{n}"]).get("instructions:u")
        perf = stat_values(out[f"perf{n}"]).get("instructions:u")
        print(f"stat instructions:u, ITERS={n}: pmuprof {ours}, perf {perf}, "
              f"oracle {2 * n + 5}")
        expect(ours == 2 * n + 5, f"pmuprof counted {ours} instructions, the program "
                                  f"retires {2 * n + 5}: {out[f'stat{n}']}")
        expect(perf == ours, f"perf counted {perf}, pmuprof {ours}")


def record_period():
    rec = profile("record.pb")
    samples_per_function(rec, type_of(rec, "cycles", "record -c"), "record -c")


def leader_sampling():
    # The 6.1 kernel refuses a group read at each sample in inherited threads: pmuprof
    # samples the command's first thread and says so; -a covers every thread.
    expect("samples only the command's first thread" in out["group"],
           f"record of a group did not say which threads it samples: {out['group']}")
    for name, threads in (("group.pb", 1), ("group-a.pb", THREADS)):
        grp = profile(name)
        cyc, ins = type_of(grp, "cycles", name), type_of(grp, "instructions", name)
        samples_per_function(grp, cyc, f"{name} leader", threads)
        by_c, by_i = per_function(grp, cyc), per_function(grp, ins)
        for fn in ("two_fn_a", "two_fn_b"):
            c, i = by_c.get(fn, 0), by_i.get(fn, 0)
            print(f"{name}: {fn} cycles {c}, instructions read with them {i}")
            expect(abs(i - c) <= 0.01 * c, f"{name}: {fn}: instructions read with the samples "
                                           f"({i}) are not the cycles' ({c}) under icount")


def multiplexing():
    want = 2 * ITERS[1] + 5  # each event alone: exact_stat
    rows = [l.split(",") for l in out["muxcsv"].splitlines() if l.count(",") >= 4]
    expect(len(rows) == len(MUX), f"{len(rows)} rows for {len(MUX)} events:\n{out['muxcsv']}")
    running = []
    for row in rows:
        value, event, share = float(row[0]), row[2], float(row[4])
        err = abs(value - want) / want
        running.append(share)
        print(f"mux: {event} {value:.0f} (running {share:.1f} %), {err * 100:.2f} % from {want}")
        expect(err <= 0.02, f"{event}: {value:.0f} is {err * 100:.2f} % from {want} (limit 2 %)")
    expect(min(running) < 100, f"10 events on 7 counters, all running all the time: {running}")
    expect(re.search(r"\(\d+\.\d+%\)", out["mux"]), f"no (running %) like perf's:\n{out['mux']}")


def harness_regions():
    lo, hi = HARNESS_PASSES
    for path in ("auto", "read", "rdpmc"):
        counts, used = {}, None
        for n in HARNESS_PASSES:
            text = out[f"harness-{path}-{n}"]
            m = re.search(r"^path (\S+) instructions (\d+)", text, re.M)
            expect(m and text.rstrip().endswith("status 0"), f"PMUPROF_READ={path}: {text}")
            used = m.group(1)
            expect(path == "auto" or used == path, f"PMUPROF_READ={path} used {used}")
            counts[n] = int(m.group(2))
        delta = counts[hi] - counts[lo]
        print(f"harness PMUPROF_READ={path} ({used}): {counts[lo]} and {counts[hi]} "
              f"instructions, difference {delta}, owed {2 * (hi - lo)}")
        # Exact but for a retry inside the region's reads (the counter page's or the vDSO
        # clock's seqlock, when an interrupt lands there): a few instructions.
        expect(abs(delta - 2 * (hi - lo)) <= 64,
               f"PMUPROF_READ={path}: the regions differ by {delta}, the loops by "
               f"{2 * (hi - lo)} instructions")
        expect(abs(counts[lo] - 2 * lo) <= 0.005 * 2 * lo,
               f"PMUPROF_READ={path}: {counts[lo]} for a loop of {2 * lo}")


def default_events():
    expect(out["default-stat"].rstrip().endswith("status 0"), f"stat: {out['default-stat']}")
    dstat = stat_values(out["default-stat"])
    expect(dstat.get("instructions") or dstat.get("cycles"), f"stat: {out['default-stat']}")
    expect(out["default-record"].rstrip().endswith("status 0"), f"record: {out['default-record']}")
    dprof = profile("default.pb")
    expect(dprof["samples"], f"default record took no samples: {out['default-record']}")
    print(f"default events: stat {dstat}; record {dprof['types']}:\n{out['default-record']}")


# Every check runs (the guest's answers are all here); the test fails if any did.
problems = []
for block in (exact_stat, record_period, leader_sampling, multiplexing, harness_regions,
              default_events):
    try:
        block()
    except Failed as e:
        print(f"FAIL: {block.__name__}: {e}")
        problems.append(block.__name__)
check(not problems, f"{', '.join(problems)} failed (above)")
print("PASS")
