"""pmuprof report --folded: Brendan Gregg's folded stacks, compared with perf's own
converter (`perf script -s stackcollapse.py --kernel`, counts of samples) on the same
perf.data, recorded by perf and by pmuprof (--perf-data beside its pprof, whose folded
stacks must be the same).

Normalization, kept minimal: perf's script counts samples, so we fold `-e samples`; its
callchains have no inline frames, so we fold with --no-inline (the default's inline frames
are checked on their own below); perf names C++ functions without their parameter lists
and versioned symbols with their version (cfree@GLIBC_2.2.5), so both sides drop those
(the ASan build's workload runs in libasan's C++); and where the two symbolizers name a
shared library's address differently (aliases of one address as readelf lists them, such
as cfree/__libc_free; names that contain the other, such as clone3/__clone3,
strchr/strchr_ifunc, sysmalloc_mmap/sysmalloc_mmap.constprop.0; or an ld.so start-up frame
such as _dl_start_user that pmuprof leaves [unknown]) a frame matches loosely; such lines must
be under 5 % of the samples, and the workload's own frames (mix_*) must match exactly. The
kernel's padding symbols never match loosely: pmuprof names a kernel frame __pfx_F only where
perf does (an interrupted instruction at F's first byte is F, not the padding before it)."""
import collections
import os
import tempfile

from common import *

if not have_perf():
    skip("perf (linux-perf) is not installed: no perf.data and no oracle converter")
script = run(["perf", "script", "-l"])
collapse = "/usr/lib/perf-core/scripts/python/stackcollapse.py"
if "stackcollapse" not in script.stdout or not os.path.exists(collapse):
    skip("perf script has no python stackcollapse script (perf built without python)")

d = tempfile.mkdtemp()
mix = bench("mix")


def folded(text):
    lines = collections.Counter()
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        check(stack and n.isdigit(), f"not a folded line: {line!r}")
        lines[stack] += int(n)
    return lines


def perf_folded(data):
    r = run(["perf", "script", "-i", data, "-s", collapse, "--", "--kernel"], timeout=300)
    check(r.returncode == 0, f"perf script stackcollapse failed: {r.stderr}")
    return folded(r.stdout)


def ours(path, *extra):
    r = run([PMUPROF, "report", "--folded", path, *extra], timeout=300)
    check(r.returncode == 0, f"pmuprof report --folded {path} failed: {r.stderr}")
    return folded(r.stdout)


def library_aliases():
    """Names of one address in the workload's shared libraries (readelf), as sets."""
    libs = [l.split()[-2] if "=>" in l else l.split()[0]
            for l in run(["ldd", mix]).stdout.splitlines() if "/" in l]
    at = collections.defaultdict(set)
    for lib in libs:
        for line in run(["readelf", "-sW", lib]).stdout.splitlines():
            f = line.split()
            if len(f) >= 8 and f[3] in ("FUNC", "IFUNC") and f[1].strip("0"):
                at[(lib, f[1])].add(f[7].split("@")[0])
    alias = {}
    for names in at.values():
        for n in names:
            alias.setdefault(n, set()).update(names)
    return alias


ALIAS = library_aliases()


def frame_like(a, b):
    if a.startswith("mix_") or b.startswith("mix_"):  # the workload's own: exactly
        return a == b
    if a == b or "[unknown]" in (a, b) or b in ALIAS.get(a, ()) or a in ALIAS.get(b, ()):
        return True
    if a.startswith("__pfx_") != b.startswith("__pfx_"):
        return False
    a, b = a.lstrip("_"), b.lstrip("_")
    return a in b or b in a


def params_off(stack):
    """Frames without C++ parameter lists and symbol versions, as perf script names them."""
    out = []
    for f in stack.split(";"):
        f = f.split("@")[0]
        if f.endswith(")") and "(" in f:
            depth = 0
            for i in range(len(f) - 1, -1, -1):
                depth += {")": 1, "(": -1}.get(f[i], 0)
                if depth == 0:
                    f = f[:i] if i else f
                    break
        out.append(f)
    return ";".join(out)


def normalized(lines):
    c = collections.Counter()
    for s, n in lines.items():
        c[params_off(s)] += n
    return c


def compare(mine, theirs, what):
    mine, theirs = normalized(mine), normalized(theirs)
    check(sum(mine.values()) == sum(theirs.values()),
          f"{what}: {sum(mine.values())} samples folded, perf's converter {sum(theirs.values())}")
    exact = mine & theirs
    mine -= exact
    theirs -= exact
    fuzzy, loose = 0, []
    for stack, n in sorted(mine.items()):
        fr = stack.split(";")
        match = next((s for s, m in theirs.items() if m == n and len(s.split(";")) == len(fr)
                      and all(frame_like(x, y) for x, y in zip(fr, s.split(";")))), None)
        check(match, f"{what}: line '{stack} {n}' is not perf's; perf has:\n" +
              "\n".join(f"{s} {m}" for s, m in sorted(theirs.items())))
        del theirs[match]
        fuzzy += n
        loose.append(f"  {stack} {n}\n  ~ {match}")
    total = sum(exact.values()) + fuzzy
    check(fuzzy * 20 <= total, f"{what}: {fuzzy} of {total} samples only match loosely:\n" +
          "\n".join(loose))
    print(f"{what}: {len(exact)} lines ({sum(exact.values())} samples) identical to perf's, "
          f"{len(mine)} lines ({fuzzy} samples) differ only in a library symbol's name")


# perf's recording of bench/mix.
data = os.path.join(d, "mix.data")
r = run(["perf", "record", "-q", "-g", "-e", "cpu-clock", "-F", "999", "-o", data, "--",
         mix, "--scale", "0.3"], timeout=300)
check(r.returncode == 0, f"perf record failed: {r.stderr}")
compare(ours(data, "-e", "samples", "--no-inline"), perf_folded(data), "perf record")

# pmuprof's own recording: the pprof and the perf.data of the same run.
pb, pdata = os.path.join(d, "rec.pb.gz"), os.path.join(d, "rec.data")
r = run([PMUPROF, "record", "-g", "-e", "cpu-clock", "-F", "999", "--perf-data", pdata, "-o", pb,
         "--", mix, "--scale", "0.3"], timeout=300)
check(r.returncode == 0, f"pmuprof record failed: {r.stderr}")
from_pprof = ours(pb, "-e", "samples", "--no-inline")
check(from_pprof == ours(pdata, "-e", "samples", "--no-inline"),
      "the pprof's folded stacks differ from its perf.data's")
compare(from_pprof, perf_folded(pdata), "pmuprof record -g")

# The default: the profile's default sample type (cpu-clock, in ns), comm first; -o writes a file.
out = os.path.join(d, "mix.folded")
r = run([PMUPROF, "report", "--folded", pb, "-o", out], timeout=300)
check(r.returncode == 0 and r.stdout == "", f"report --folded -o failed: {r.stderr}")
full = folded(open(out).read())
check(all(s.startswith("mix;") for s in full), "a stack does not start with its comm")
samples = sum(from_pprof.values())
check(sum(full.values()) > samples * 100000,
      f"default type is not cpu-clock's nanoseconds: {sum(full.values())} for {samples} samples")

# Inline frames are frames of their own: inline_hot's loop inlines mix_bits (test_inline_frames).
ipb = os.path.join(d, "inline.pb.gz")
r = run([PMUPROF, "record", "-e", "cpu-clock", "-F", "4000", "-o", ipb, "--",
         workload("inline_hot")], timeout=300)
check(r.returncode == 0, f"pmuprof record inline_hot failed: {r.stderr}")
HOT = "hot_loop(unsigned int, long)"
inl, flat = ours(ipb), ours(ipb, "--no-inline")
n_inl = sum(n for s, n in inl.items() if s.endswith(f";{HOT};mix_bits"))
check(n_inl > 0.2 * sum(inl.values()), f"mix_bits is not an inline frame under {HOT}:\n{inl}")
check(not any(";mix_bits" in s for s in flat) and sum(flat.values()) == sum(inl.values()),
      f"--no-inline keeps inline frames:\n{flat}")
print(f"inline frames: {n_inl} of {sum(inl.values())} in {HOT};mix_bits")

# Bad input: an unknown sample type lists those there are; an unwritable -o fails first.
r = run([PMUPROF, "report", "--folded", pb, "-e", "cycles"])
check(r.returncode != 0 and "samples, cpu-clock" in r.stderr and len(r.stderr.splitlines()) == 1,
      f"unknown -e: {r.returncode} {r.stderr!r}")
r = run([PMUPROF, "report", "--folded", "/nonexistent.pb.gz", "-o", "/nonexistent/dir/x.folded"])
check(r.returncode != 0 and "/nonexistent/dir/x.folded" in r.stderr
      and len(r.stderr.splitlines()) == 1, f"unwritable -o: {r.returncode} {r.stderr!r}")
print("ok")
