#!/usr/bin/env python3
"""The module rules of docs/architecture.md, checked on the source tree.

- Modules are the folders the top CMakeLists.txt adds, in that (dependency)
  order; a file may include headers of its own module and of modules added
  before it, never after: the data flows one way and no two files of
  different modules include each other, directly or through others.
- Another module includes only a module's public header (FOLDER/FOLDER.h,
  or the one listed in PUBLIC below); *_internal.h and the like stay inside.
- cli/ holds no product logic: no libelf, no /proc parsing, no record bytes.
- The largest module holds at most 25 % of the product's lines.
- Hash functions live in base/ (base_htab_mix, base_htab_hash_bytes): no
  other module spells a hash function's constant.

Prints every violation and exits 1 if any, else prints the layout and 0.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", ".."))
# A module whose public header is not named after its folder.
PUBLIC = {"cli": "cli.h"}
# Generated headers and those of other projects: not ours to place.
EXTERNAL = re.compile(r"(\.pb-c\.h|^version\.h|^pmuprof/|^workload\.h)")
# cli/ must not contain these (the product lives in the modules below it).
CLI_FORBIDDEN = [
    (re.compile(r"#\s*include\s*[<\"](gelf|libelf|elfutils/)"), "libelf"),
    (re.compile(r"\"/proc/"), "/proc parsing"),
    (re.compile(r"\bperf_event_header\b"), "record bytes (perf_event_header)"),
]
MAX_SHARE = 0.25
# Constants of hash functions (FNV-1a, Knuth's multiplicative, splitmix64's
# finalizer, boost's hash_combine): base/'s alone.
HASH_CONSTANTS = re.compile(r"0x100000001b3|0xcbf29ce484222325|2654435761"
                            r"|0x632be59bd9b4e019|0xbf58476d1ce4e5b9", re.I)


def modules():
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    order = re.findall(r"^add_subdirectory\((\w+)\)", text, re.M)
    # Product modules: folders with C sources (not proto, bench, examples, tests).
    return [m for m in order
            if m not in ("proto", "bench", "examples", "tests")
            and any(f.endswith((".c", ".h")) for f in os.listdir(os.path.join(ROOT, m)))]


def sources(mod):
    d = os.path.join(ROOT, mod)
    return sorted(f for f in os.listdir(d) if f.endswith((".c", ".h")))


def main():
    mods = modules()
    rank = {m: i for i, m in enumerate(mods)}
    owner = {}
    for m in mods:
        for f in sources(m):
            if f.endswith(".h"):
                if f in owner:
                    print(f"two modules have a header named {f}: {owner[f]}/ and {m}/")
                    return 1
                owner[f] = m
    errors = []
    lines = {}
    for m in mods:
        n = 0
        for f in sources(m):
            path = os.path.join(ROOT, m, f)
            text = open(path, encoding="utf-8", errors="replace").read()
            n += text.count("\n")
            for inc in re.findall(r'^\s*#\s*include\s*"([^"]+)"', text, re.M):
                if EXTERNAL.search(inc):
                    continue
                base = os.path.basename(inc)
                if base not in owner:
                    errors.append(f"{m}/{f}: includes \"{inc}\", which no module owns")
                    continue
                to = owner[base]
                if to == m:
                    continue
                if rank[to] > rank[m]:
                    errors.append(f"{m}/{f}: includes {to}/{base}: {to}/ comes after {m}/ "
                                  f"(modules may only use those before them)")
                public = PUBLIC.get(to, to + ".h")
                if base != public:
                    errors.append(f"{m}/{f}: includes {to}/{base}, not {to}/'s public "
                                  f"header {public}")
            if m != "base":
                for i, line in enumerate(text.split("\n"), 1):
                    if HASH_CONSTANTS.search(line):
                        errors.append(f"{m}/{f}:{i}: a private hash function (base.h has "
                                      f"base_htab_mix and base_htab_hash_bytes): {line.strip()}")
            if m == "cli":
                for i, line in enumerate(text.split("\n"), 1):
                    if line.lstrip().startswith(("*", "/*", "//")):
                        continue
                    for rx, what in CLI_FORBIDDEN:
                        if rx.search(line):
                            errors.append(f"cli/{f}:{i}: {what} in cli/: {line.strip()}")
        lines[m] = n
    total = sum(lines.values())
    for m in mods:
        share = lines[m] / total
        print(f"{m:10s} {lines[m]:6d} lines {100 * share:5.1f} %")
        if share > MAX_SHARE:
            errors.append(f"{m}/ holds {100 * share:.1f} % of the product's {total} lines "
                          f"(at most {100 * MAX_SHARE:.0f} %): split it")
    print(f"{'total':10s} {total:6d} lines in {len(mods)} modules")
    for e in errors:
        print("layout: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
