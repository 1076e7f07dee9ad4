"""Issue 7, acceptance 1: `pmuprof record -e sharing` on the write-write
false-sharing workload ranks its increment loop (ww_worker) first, and the
padded variant shows at least 50x fewer cache-to-cache transfers per second.
Needs the host's coherence events (a hardware PMU whose CPU is in the preset
table, docs/cache-events.md); skips with the reason elsewhere."""
import os
import time
import tempfile

from common import *

if not host_has_hw_pmu():
    skip("this host exposes no hardware PMU: the coherence events of -e sharing cannot be "
         "counted here (pmuprof c2c watch and import --c2c cover the other methods)")
tmp = tempfile.mkdtemp()
sharing = os.path.join(os.path.dirname(bench("spin")), "sharing")


def record(name, iters):
    out = os.path.join(tmp, f"{name}.pb.gz")
    t0 = time.monotonic()
    r = run([PMUPROF, "record", "-e", "sharing", "-c", "1000", "-o", out, "--",
             os.path.join(sharing, name), "--iters", str(iters)], timeout=300)
    wall = time.monotonic() - t0
    if r.returncode != 0 and "no cache-coherence event is known" in r.stderr:
        skip(f"this CPU is not in the -e sharing table: {r.stderr.strip()}")
    check(r.returncode == 0, r.stderr)
    return out, wall


def transfers(path):
    prof = load_profile(path)
    # every sample type but the sample count: the preset's coherence events
    return sum(sum(s["values"][1:]) for s in prof["samples"]), prof["types"]


ww, ww_wall = record("write_write", 300_000_000)
if not have_go():
    skip("go (golang-go) is not installed: pprof cannot be checked")
pad, pad_wall = record("padded", 300_000_000)
types = load_profile(ww)["types"]
top = pprof_top(ww, types[1])
print("write_write top for", types[1], ":", top[:3])
check(top and top[0][1] == "ww_worker", f"ww_worker must rank first: {top[:5]}")
t_ww, _ = transfers(ww)
t_pad, _ = transfers(pad)
rate_ww, rate_pad = t_ww / ww_wall, max(t_pad, 1) / pad_wall
print(f"transfers/s: write_write {rate_ww:.3g}, padded {rate_pad:.3g}, "
      f"ratio {rate_ww / rate_pad:.1f}x")
check(rate_ww >= 50 * rate_pad, f"padded must show >= 50x fewer transfers per second")
