"""Issue 12, point 2: C++ and Rust names as the language writes them.

A C++ workload (namespaces, a class template's two instantiations, a lambda,
operators, overloads, std::map) recorded with `record -g`: every function
whose system name is mangled is named as `c++filt -i` demangles that system
name, the two instantiations are two functions, the names are those the
source spells, and the functions holding the samples are those `perf report
-v` names on the same binary. Then a Rust program built with rustc under the
legacy and the v0 manglings, checked the same way (skipped, saying why, when
rustc is absent)."""
import os
import shutil
import subprocess
import sys
import tempfile

from common import *

tmp = tempfile.mkdtemp()


def demangle(names):
    """c++filt -i of each name: parameters, no implementation details (perf report -v's options)."""
    r = subprocess.run(["c++filt", "-i"], input="\n".join(names) + "\n", capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, f"c++filt failed: {r.stderr}")
    out = r.stdout.splitlines()
    check(len(out) == len(names), "c++filt gave another number of lines")
    return dict(zip(names, out))


def mangled(system):
    return system.startswith("_Z") or system.startswith("_R")


def record(prog, name, opts=()):
    out = os.path.join(tmp, name + ".pb.gz")
    r = run([PMUPROF, "record", "-g", "-e", "cpu-clock", "-F", "2000", "-o", out, *opts, "--",
             prog], timeout=300)
    check(r.returncode == 0, f"record {name}: {r.stderr}")
    return load_profile(out)


def check_names(prof, what):
    """Every mangled system name's function is named as c++filt -i says; returns how many."""
    fns = prof["functions"]
    systems = sorted({sysname for _, sysname in fns.values() if mangled(sysname)})
    check(systems, f"{what}: no function has a mangled system name")
    want = demangle(systems)
    bad = [(name, sysname, want[sysname]) for name, sysname in fns.values()
           if mangled(sysname) and name != want[sysname]]
    for name, sysname, w in bad[:5]:
        print(f"  {sysname}: ours {name!r}, c++filt -i {w!r}")
    check(not bad, f"{what}: {len(bad)} of {len(systems)} names differ from c++filt -i")
    print(f"{what}: {len(systems)} mangled functions, all named as c++filt -i names them")
    return len(systems)


def flat_by_function(prof, exe):
    """{function id: samples} of the out-of-line function holding each of exe's samples."""
    flat = {}
    for s in prof["samples"]:
        if s["labels"].get("comm") != os.path.basename(exe)[:15] or not s["stack_ids"]:
            continue
        leaf = s["stack_ids"][0]
        if leaf:
            flat[leaf[-1]] = flat.get(leaf[-1], 0) + s["values"][0]
    return flat


def top_names(prof, exe, share):
    flat = flat_by_function(prof, exe)
    total = sum(flat.values())
    check(total > 0, f"no samples of {exe}")
    names = {}
    for fid, v in flat.items():
        name = prof["functions"][fid][0]
        names[name] = names.get(name, 0) + v / total
    return {n for n, v in names.items() if v >= share}, names


def perf_top(exe, dsos, share):
    """perf report -v's symbols in dsos (a predicate) with at least `share` of exe's samples,
    and {symbol: share} over every DSO."""
    data = os.path.join(tmp, os.path.basename(exe) + ".perf.data")
    r = run(["perf", "record", "-q", "-g", "-e", "cpu-clock", "-F", "2000", "-o", data, "--", exe],
            timeout=300)
    check(r.returncode == 0, f"perf record failed: {r.stderr}")
    r = run(["perf", "report", "-i", data, "--stdio", "--no-children", "-v", "-g", "none",
             "-s", "dso,sym", "--comm", os.path.basename(exe)[:15]], timeout=300)
    check(r.returncode == 0, f"perf report failed: {r.stderr}")
    syms, mine = {}, {}
    for line in r.stdout.splitlines():
        parts = line.split()
        mark = "[.] " if "[.] " in line else "[k] "
        if not parts or not parts[0].endswith("%") or mark not in line:
            continue
        sym = line.split(mark, 1)[1].strip()
        v = float(parts[0].rstrip("%")) / 100
        syms[sym] = syms.get(sym, 0) + v
        if dsos(parts[1]):
            mine[sym] = mine.get(sym, 0) + v
    return {s for s, v in mine.items() if v >= share}, syms


def agree_with_perf(prof, exe, dsos, what):
    """The functions above 4 % in either tool (perf's in dsos) are above 1 % in the other, by
    the same names."""
    ours_top, ours = top_names(prof, exe, 0.04)
    perf_set, perf = perf_top(exe, dsos, 0.04)
    print(f"{what}: perf report -v top: {sorted(perf_set)}")
    check(perf_set, f"{what}: perf report names nothing above 4 %")
    missing = [n for n in perf_set if ours.get(n, 0) < 0.01]
    extra = [n for n in ours_top if perf.get(n, 0) < 0.01 and not n.startswith("[")]
    check(not missing, f"{what}: perf's top symbols missing from ours: {missing}; ours: {sorted(ours_top)}")
    check(not extra, f"{what}: our top functions that perf does not name: {extra}; perf's: {sorted(perf_set)}")
    print(f"{what}: the same {len(perf_set)} top functions as perf report -v")


def distinct(prof, names, what):
    """Each name is a function of its own holding samples; returns their ids."""
    fns = prof["functions"]
    held = {fid for s in prof["samples"] for loc in s["stack_ids"] for fid in loc}
    ids = []
    for n in names:
        got = [fid for fid, (name, _) in fns.items() if name == n and fid in held]
        check(got, f"{what}: no function named {n!r} holds samples; names: "
                   f"{sorted({fns[f][0] for f in held})[:40]}")
        ids += got
    check(len(set(ids)) >= len(names), f"{what}: {names} are not distinct functions")
    return ids


if not shutil.which("c++filt"):
    skip("no c++filt (binutils) to compare the names with")

# ---- C++ ----
exe = os.path.realpath(workload("demangle_cxx"))
otlp = os.path.join(tmp, "cxx.otlp")
prof = record(exe, "cxx", ["--otlp", otlp])
check_names(prof, "C++")
ids = distinct(prof, ["app::Accum<double, 3000>::run(double const*)",
                      "app::Accum<long, 3000>::run(long const*)"], "C++ instantiations")
fns = prof["functions"]
check(len({fns[i][1] for i in ids}) == 2, "the two instantiations share a system name")
print("C++: app::Accum<double, 3000>::run and app::Accum<long, 3000>::run are two functions")
all_names = {fns[f][0] for s in prof["samples"] for loc in s["stack_ids"] for f in loc}
for want in ["app::mix(long)", "app::mix(double)", "app::Vec::operator<(app::Vec const&) const",
             "operator new(unsigned long)", "main"]:
    check(want in all_names, f"C++: no function named {want!r} in the stacks")
for prefix in ["app::Vec::operator+(app::Vec const&) const", "main::{lambda(long)#1}::operator()(long) const",
               "std::_Rb_tree<long, std::pair<long const, long>, std::_Select1st<std::pair<long const, long> >, "
               "std::less<long>, std::allocator<std::pair<long const, long> > >::_M_erase("]:
    check(any(n.startswith(prefix) for n in all_names), f"C++: no function named {prefix}...")
print("C++: namespaces, operators, overloads, the lambda, _Rb_tree::_M_erase and operator new named")
# pmuprof report prints the same names, one row per instantiation.
r = run([PMUPROF, "report", os.path.join(tmp, "cxx.pb.gz"), "--top", "1000"])
check(r.returncode == 0, f"report failed: {r.stderr}")
# Rows end in perf's "[.] symbol" (report's columns: children, self, the values, the symbol).
rows = [m.group(1) for m in re.finditer(r"^[^#].*?\[[.k]\] (.*)$", r.stdout, re.M)]
for want in ["app::Accum<double, 3000>::run(double const*)", "app::Accum<long, 3000>::run(long const*)",
             "app::mix(long)", "app::mix(double)"]:
    check(want in rows, f"pmuprof report has no row {want!r}: {rows[:12]}")
print("pmuprof report: the instantiations and overloads are rows of their own")

if have_perf():
    agree_with_perf(prof, exe, lambda dso: dso == exe or "/libstdc++.so" in dso, "C++")
else:
    print("no perf: the C++ names are not compared with perf report")

# The OTLP request of the same run: names and system names as in the pprof.
try:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import otlp_check
except ImportError as e:
    otlp_check = None
    print(f"SKIP (OTLP part): Python protobuf is not available ({e}); install python3-protobuf")
if otlp_check:
    d = otlp_check.decode_request(otlp).dictionary
    pairs = {(d.string_table[f.name_strindex], d.string_table[f.system_name_strindex])
             for f in d.function_table[1:]}
    want = demangle(sorted({sysname for _, sysname in pairs if mangled(sysname)}))
    bad = [p for p in pairs if mangled(p[1]) and p[0] != want[p[1]]]
    check(not bad, f"OTLP: names differ from c++filt -i: {bad[:3]}")
    runs = {p for p in pairs if p[0].startswith("app::Accum<")}
    check(len(runs) == 2 and len({p[1] for p in runs}) == 2,
          f"OTLP: the two instantiations are not two functions with their system names: {runs}")
    print(f"OTLP: {len(want)} mangled system_name_strindex, named as c++filt -i names them")

# ---- Rust ----
rustc = shutil.which("rustc") or shutil.which(os.path.expanduser("~/.cargo/bin/rustc"))
if not rustc:
    print("SKIP (Rust part): rustc is not installed; the C++ part passed")
    raise SystemExit(0)
src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "workloads",
                   "demangle_rust.rs")
for mangling in ["legacy", "v0"]:
    exe = os.path.join(tmp, "demangle_rust_" + mangling)
    # Legacy is stable rustc's default (naming it needs -Z unstable-options).
    flags = ["-C", "symbol-mangling-version=v0"] if mangling == "v0" else []
    r = run([rustc, "-O", "-g", "-C", "force-frame-pointers=yes", *flags, src, "-o", exe],
            timeout=300)
    check(r.returncode == 0, f"rustc ({mangling}) failed: {r.stderr}")
    what = f"Rust {mangling}"
    prof = record(exe, "rust_" + mangling)
    spin = [sysname for name, sysname in prof["functions"].values()
            if name == "demangle_rust::work::spin"]
    if mangling == "legacy" and spin and not spin[0].startswith("_ZN"):
        print(f"SKIP (Rust legacy part): this rustc's default mangling is not legacy ({spin[0]})")
        continue
    check_names(prof, what)
    if mangling == "v0":
        distinct(prof, ["<demangle_rust::Acc<u64>>::add_all", "<demangle_rust::Acc<f64>>::add_all",
                        "demangle_rust::work::spin"], what)
    else:
        # Legacy names carry no type arguments: the two instances share a name, not a system name.
        ids = distinct(prof, ["demangle_rust::Acc<T>::add_all", "demangle_rust::work::spin"], what)
        fns = prof["functions"]
        adds = {fns[i][1] for i in ids if fns[i][0] == "demangle_rust::Acc<T>::add_all"}
        check(len(adds) == 2, f"{what}: the two add_all instances are not two functions: {adds}")
    print(f"{what}: the instantiations are distinct functions")
    if have_perf():
        agree_with_perf(prof, exe, lambda dso: dso == exe, what)
print("PASS")
