"""arm64 is a supported architecture: the cross-built pmuprof ($PMUPROF_ARM64_BUILD, which
`make lab` builds with cmake/aarch64-linux-gnu.cmake) in one boot of the arm64 guest, on its
emulated PMUv3:

- `stat -e cycles` counts;
- `record -e cycles --call-graph fp` of bench/mix (frame pointers) gives stacks from its
  phases up to main; `--call-graph dwarf` of qsort_hot (no frame pointers; libc's qsort in
  between) gives compare_keys -> qsort -> main (PERF_REG_ARM64_* to libunwind's registers);
- libpmuprof reads the counters in user space (PMCCNTR_EL0 / PMEVCNTR<n>_EL0) when
  kernel.perf_user_access allows it (auto picks it by timing), and with read() otherwise,
  saying why; unit.test_harness's test_rdpmc_matches_read_on_hardware, run here, counts the
  same loop through both paths at once (within 0.5 %);
- the unit tests that qemu-user cannot run (perf_event_open, exec of probes, a real /proc)
  pass natively here, every case.
The profiles are checked here, on the host, with tests/e2e/common.py's protoc decoder.
"""
import json
import os
import re
import shutil
import tempfile

from lab import HERE, check, guest, sections, skip
from common import load_profile

ROOT = os.path.realpath(os.path.join(HERE, "..", ".."))
B = os.path.realpath(os.environ.get("PMUPROF_ARM64_BUILD", os.path.join(ROOT, "build", "arm64")))
if not os.access(os.path.join(B, "cli", "pmuprof"), os.X_OK):
    skip(f"no arm64 build in {B} (make lab builds it; or set PMUPROF_ARM64_BUILD)")
# What the cross build's ctest disables under qemu-user (tests/CMakeLists.txt) runs here.
with open(os.path.join(B, "tests", "CTestTestfile.cmake")) as f:
    UNIT = re.findall(r"set_tests_properties\(unit\.(\S+) PROPERTIES\s+DISABLED", f.read())
check(UNIT, f"no unit tests disabled in {B}/tests: is it a cross build?")
out = tempfile.mkdtemp(prefix="arm64-record-", dir=B)
P, T = f"{B}/cli/pmuprof", f"{B}/tests"
HARNESS = f"{B}/examples/pmuprof_example_harness -e cycles:u --iters 3000 --json"
script = f"""
cd /tmp
echo 1 > /proc/sys/kernel/perf_user_access
echo === stat
{P} stat -x , -e cycles -- {B}/bench/mix --scale 0.05 2>&1; echo "status $?"
echo === stat_default
{P} stat -x , -- {B}/bench/mix --scale 0.02 2>&1; echo "status $?"
echo === record_default
{P} record -o /tmp/default.pb.gz -- {B}/bench/mix --scale 0.02 2>&1; echo "status $?"
echo === harness_default
{B}/examples/pmuprof_example_harness --iters 300 --json 2>&1
echo === fp
{P} record -e cycles -c 200000 --call-graph fp -o {out}/fp.pb.gz -- {B}/bench/mix --scale 0.1 2>&1
echo "status $?"
echo === dwarf
{P} record -e cycles -c 200000 --call-graph dwarf -o {out}/dwarf.pb.gz -- \
    {T}/data/workloads/qsort_hot 1 2>&1
echo "status $?"
for p in rdpmc read auto; do
    echo === harness_$p
    PMUPROF_READ=$p {HARNESS} 2>&1
done
echo 0 > /proc/sys/kernel/perf_user_access
echo === harness_denied
{HARNESS} 2>&1
echo 1 > /proc/sys/kernel/perf_user_access
export PMUPROF_TEST_EMULATED=1
for t in {' '.join(UNIT)}; do
    echo === unit.$t
    cd {T}
    ./$t > /tmp/unit.log 2>&1
    st=$?
    grep -E 'FAILED|PASSED|SKIPPED|ERROR|LINE|skip|apart|comparing' /tmp/unit.log
    echo "status $st"
done
"""
try:
    r = guest(script, nodes=1, arch="arm64", shares=[ROOT] + ([] if B.startswith(ROOT + "/")
                                                                  else [B]), timeout=600)
    check(r.returncode == 0, f"the guest's script failed ({r.returncode}):\n{r.stdout[-3000:]}\n"
          f"{r.stderr[-2000:]}")
    sec = sections(r.stdout)

    stat = sec.get("stat", "")
    check("status 0" in stat, f"pmuprof stat failed:\n{stat}")
    cycles = [l.split(",") for l in stat.splitlines() if ",cycles" in l]
    check(cycles and float(cycles[0][0]) > 0, f"no cycles counted:\n{stat}")
    print(f"ok: stat -e cycles of mix --scale 0.05: {float(cycles[0][0]):.0f} cycles")

    def harness(name):
        body = sec.get(f"harness_{name}", "")
        try:
            return json.loads(body[body.index("{"):body.rindex("}") + 1])
        except ValueError:
            check(False, f"harness_{name} printed no report:\n{body}")

    # No -e on a PMU with cycles only (no instructions without -icount, no cache or branch
    # events): stat shows the missing as perf does, record and libpmuprof use what exists
    # and name what they lack.
    body = sec.get("stat_default", "")
    rows = {l.split(",")[2]: l.split(",")[0] for l in body.splitlines() if l.count(",") >= 2}
    check("status 0" in body and rows.get("instructions") == "<not supported>" and
          float(rows.get("cycles", 0)) > 0, f"pmuprof stat without -e:\n{body}")
    print(f"ok: stat without -e: cycles {rows['cycles']}, instructions {rows['instructions']}")
    body = sec.get("record_default", "")
    got = re.search(r"samples cycles ([\d,]+)", body)
    check("status 0" in body and got and "cannot sample cache-misses,branch-misses" in body,
          f"pmuprof record without -e:\n{body}")
    print(f"ok: record without -e: {got.group(1)} cycles samples; says it cannot sample "
          "cache-misses,branch-misses")
    j = harness("default")
    check([e for e in j["events"]] == ["cycles:u"] and "no instructions:u" in j["notice"],
          f"libpmuprof's default events: {j['events']}, notice {j['notice']!r}")
    print(f"ok: libpmuprof without events: {j['events']}; note: {j['notice']}")

    def stacks(name, leaves):
        """{leaf: [(stack, count)]} of the profile's samples whose leaf is in leaves."""
        check("status 0" in sec.get(name, ""), f"record --call-graph {name} failed:\n"
              f"{sec.get(name)}")
        prof = load_profile(os.path.join(out, f"{name}.pb.gz"))
        found, total = {}, 0
        for s in prof["samples"]:
            frames = [f for loc in s["stack"] for f in loc]
            total += s["values"][0]
            if frames and frames[0] in leaves:
                found.setdefault(frames[0], []).append((frames, s["values"][0]))
        return found, total

    # fp: mix's phases are noinline functions called by main (or by a thread main started).
    fp, total = stacks("fp", {"mix_chase", "mix_branchy", "mix_chase_build", "mix_branchy_fill"})
    reach = sum(n for leaf in fp for frames, n in fp[leaf] if "main" in frames[1:])
    inleaf = sum(n for leaf in fp for _, n in fp[leaf])
    check(inleaf > 0, f"no fp samples in mix's phases ({total} samples)")
    best = max((n, f) for leaf in fp for f, n in fp[leaf])
    print(f"ok: --call-graph fp: {reach}/{inleaf} samples in mix's phases reach main; the top "
          f"stack ({best[0]} samples): {' <- '.join(best[1][:6])}")
    check(reach / inleaf >= 0.9, "under 90 % of the phases' samples reach main by frame "
          "pointers")

    dw, total = stacks("dwarf", {"compare_keys"})
    samples = [(f, n) for f, n in dw.get("compare_keys", [])]
    inleaf = sum(n for _, n in samples)
    reach = sum(n for f, n in samples if "main" in f and
                any("qsort" in x for x in f[1:f.index("main")]))
    check(inleaf > 0, f"no dwarf samples in compare_keys ({total} samples)")
    best = max((n, f) for f, n in samples)
    print(f"ok: --call-graph dwarf: {reach}/{inleaf} samples in compare_keys reach main through "
          f"qsort; the top stack ({best[0]} samples): {' <- '.join(best[1][:8])}")
    check(reach / inleaf >= 0.9, "under 90 % of compare_keys's samples reach main through qsort")

    counts = {}
    for p in ("rdpmc", "read", "auto", "denied"):
        j = harness(p)
        step = next(x for x in j["regions"] if x["name"] == "step")
        counts[p] = step["counts"][0]
        print(f"ok: harness PMUPROF_READ={p if p != 'denied' else 'auto'} "
              f"(perf_user_access={0 if p == 'denied' else 1}): path {j['read_path']} "
              f"({j['read_path_reason']}); step: {step['calls']} calls, {counts[p]} cycles:u")
        check(step["calls"] == 3000 and counts[p] > 0, f"{p}: no cycles in 'step'")
        want = {"rdpmc": "rdpmc", "read": "read", "denied": "read"}.get(p, j["read_path"])
        check(j["read_path"] == want, f"{p}: read path {j['read_path']}, expected {want}")
        if p == "denied":
            check("perf_user_access" in j["read_path_reason"],
                  f"the fallback does not say why: {j['read_path_reason']}")

    bad = []
    for t in UNIT:
        body = sec.get(f"unit.{t}", "")
        summary = [l.strip() for l in body.splitlines() if not l.startswith("status")]
        print(f"unit.{t} in the guest: " + "; ".join(summary))
        if "status 0" not in body:
            cases = re.findall(r"^\[  FAILED  \] (\w+)$", body, re.M)
            bad.append(f"{t} ({', '.join(cases) or 'status'})")
    check(not bad, f"unit tests failing natively on arm64: {', '.join(bad)}")
finally:
    shutil.rmtree(out, ignore_errors=True)
print("PASS")
