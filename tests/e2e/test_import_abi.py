"""perf.data from other hosts (issue 12, point 8): every sampling ABI field perf
writes -- REGS_INTR, branch stacks with and without HW_INDEX's extra word,
WEIGHT_STRUCT, DATA_PAGE_SIZE, CODE_PAGE_SIZE, CGROUP, AUX, group reads with
LOST -- is read by `pmuprof import`: per case a synthetic pipe-mode file
(perfdata_gen.py) with a plain event and an event whose attr asks for the
field, samples of both interleaved. perf reads the same files: its samples and
periods per event are the oracle, and pmuprof's totals (samples and summed
periods) must equal what was written, with no record skipped as malformed."""
import os
import re
import tempfile

from common import *
import perfdata_gen as g

d = tempfile.mkdtemp()
base = (g.PERF_SAMPLE_IDENTIFIER | g.PERF_SAMPLE_IP | g.PERF_SAMPLE_TID | g.PERF_SAMPLE_TIME |
        g.PERF_SAMPLE_CPU | g.PERF_SAMPLE_PERIOD)
cases = {
    "regs_intr": dict(sample_type=base | g.PERF_SAMPLE_REGS_INTR | g.PERF_SAMPLE_PHYS_ADDR,
                      regs_intr=0xff0fff),
    "branch": dict(sample_type=base | g.PERF_SAMPLE_BRANCH_STACK,
                   branch_sample_type=g.PERF_SAMPLE_BRANCH_ANY),
    "branch_hw_idx": dict(sample_type=base | g.PERF_SAMPLE_ADDR | g.PERF_SAMPLE_BRANCH_STACK |
                          g.PERF_SAMPLE_WEIGHT | g.PERF_SAMPLE_DATA_SRC,
                          branch_sample_type=g.PERF_SAMPLE_BRANCH_ANY |
                          g.PERF_SAMPLE_BRANCH_HW_INDEX),
    "weight_struct": dict(sample_type=base | g.PERF_SAMPLE_ADDR | g.PERF_SAMPLE_WEIGHT_STRUCT |
                          g.PERF_SAMPLE_DATA_SRC),
    "page_sizes": dict(sample_type=base | g.PERF_SAMPLE_ADDR | g.PERF_SAMPLE_DATA_PAGE_SIZE |
                       g.PERF_SAMPLE_CODE_PAGE_SIZE),
    "cgroup": dict(sample_type=base | g.PERF_SAMPLE_CGROUP),
    "aux": dict(sample_type=base | g.PERF_SAMPLE_AUX),
    "read_group_lost": dict(sample_type=base | g.PERF_SAMPLE_READ,
                            read_format=g.PERF_FORMAT_GROUP | g.PERF_FORMAT_ID |
                            g.PERF_FORMAT_LOST),
    "everything": dict(sample_type=base | g.PERF_SAMPLE_ADDR | g.PERF_SAMPLE_CALLCHAIN |
                       g.PERF_SAMPLE_RAW | g.PERF_SAMPLE_BRANCH_STACK | g.PERF_SAMPLE_REGS_USER |
                       g.PERF_SAMPLE_STACK_USER | g.PERF_SAMPLE_WEIGHT_STRUCT |
                       g.PERF_SAMPLE_DATA_SRC | g.PERF_SAMPLE_TRANSACTION |
                       g.PERF_SAMPLE_REGS_INTR | g.PERF_SAMPLE_PHYS_ADDR | g.PERF_SAMPLE_CGROUP |
                       g.PERF_SAMPLE_DATA_PAGE_SIZE | g.PERF_SAMPLE_CODE_PAGE_SIZE |
                       g.PERF_SAMPLE_AUX,
                       branch_sample_type=g.PERF_SAMPLE_BRANCH_ANY | g.PERF_SAMPLE_BRANCH_HW_INDEX,
                       regs_user=0xff0fff, regs_intr=0xff0fff, stack_user=64),
}
N = 6  # samples per event


def perf_totals(data):
    """{event name: (samples, summed period)} as perf script decodes the file (None: it cannot)."""
    r = run(["perf", "script", "-i", data, "-F", "event,period"], timeout=120)
    if r.returncode != 0:
        return None
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\d+)\s+(\S+):", line)
        if m:
            n, p = out.get(m.group(2), (0, 0))
            out[m.group(2)] = (n + 1, p + int(m.group(1)))
    return out


have = have_perf()
for name, fields in cases.items():
    s = g.Stream()
    plain = s.event("plain", 1, 0, sample_type=base)  # PERF_TYPE_SOFTWARE cpu-clock
    ev = s.event(name, 1, 0, **fields)
    s.comm(100, 100, "app", plain)
    # WEIGHT_STRUCT packs var3_w, var2_w and var1_dw (the latency, 40) in one u64
    struct_weight = fields["sample_type"] & g.PERF_SAMPLE_WEIGHT_STRUCT
    weight = (3 << 48) | (2 << 32) | 40 if struct_weight else 40
    for k in range(N):
        s.sample_abi(plain, 100, 100, 0, 0x401000 + k, period=1000)
        s.sample_abi(ev, 100, 100, 1, 0x402000 + k, period=2000 + k, addr=0x7f0000001000,
                     weight=weight, src=0x5080021)
    data = os.path.join(d, name + ".data")
    s.write_pipe(data)
    want = {"plain": (N, 1000 * N), name: (N, sum(2000 + k for k in range(N)))}
    if have:
        got = perf_totals(data)
        # perf takes a group read's period from the read values: compare periods without READ
        if fields["sample_type"] & g.PERF_SAMPLE_READ:
            got = {k: (n, want[k][1]) for k, (n, _) in (got or {}).items()}
        check(got == want, f"{name}: perf script reads {got}, the generator wrote {want}")
    out = os.path.join(d, name + ".pb.gz")
    r = run([PMUPROF, "import", data, "--no-symbolize", "-o", out])
    check(r.returncode == 0, f"{name}: import failed: {r.stderr}")
    check("malformed" not in r.stderr, f"{name}: records skipped: {r.stderr}")
    prof = load_profile(out)
    check(not any("malformed" in c for c in prof["comments"]),
          f"{name}: records skipped: {prof['comments']}")
    i, j = prof["types"].index("plain"), prof["types"].index(name)
    tot = lambda t: sum(x["values"][t] for x in prof["samples"])
    check(tot(0) == 2 * N, f"{name}: {tot(0)} samples, wrote {2 * N}")
    check((tot(0) // 2, tot(i)) == want["plain"], f"{name}: plain period sum {tot(i)}")
    check((tot(0) // 2, tot(j)) == want[name], f"{name}: period sum {tot(j)}")
    if fields["sample_type"] & (g.PERF_SAMPLE_WEIGHT | g.PERF_SAMPLE_WEIGHT_STRUCT):
        # the label of a sample with a data address: the fields after a branch stack or
        # registers are only right when their sizes were
        weights = [x["labels"].get("weight") for x in prof["samples"] if "weight" in x["labels"]]
        check(weights and set(weights) == {40}, f"{name}: weight labels {weights}, want 40")
    print(f"ok: {name}: {2 * N} samples" + (" (perf agrees)" if have else ""))
print("PASS")
