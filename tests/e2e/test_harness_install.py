"""Acceptance 5: libpmuprof as an outside program sees it. `cmake --install`
into a temporary prefix, then: only pmuprof_* symbols exported and SONAME
libpmuprof.so.0; the header compiles alone as strict C11 and as C++; a C
program built with `pkg-config pmuprof` (shared, and static with
`--static`) counts exactly the page faults of its region; a tiny CMake
project finds the package with find_package(pmuprof) and links
pmuprof::pmuprof and pmuprof::pmuprof_static."""
import json
import os
import shutil
import subprocess
import tempfile

from common import *

BUILD = os.path.dirname(os.path.dirname(os.path.abspath(PMUPROF)))  # PMUPROF=<build>/cli/pmuprof
SANITIZE = ["-fsanitize=address,undefined"] if os.environ.get("PMUPROF_SANITIZED") else []

for tool in ("cc", "c++", "pkg-config", "cmake", "ninja", "nm", "readelf"):
    check(shutil.which(tool), f"{tool} is not installed (scripts/install-deps.sh installs it)")

PROG = r"""
#include <pmuprof/pmuprof.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char err[512];
	pmuprof_session *s;
	pmuprof_thread *t;
	if (pmuprof_session_open(&s, "page-faults", err, sizeof(err)) < 0 ||
	    pmuprof_thread_attach(s, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int rep = 0; rep < 2; rep++) { /* the first pass warms the code paths */
		char *p = mmap(NULL, (size_t)n * pg, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		madvise(p, (size_t)n * pg, MADV_NOHUGEPAGE);
		const char *name = rep ? "measured" : "warm";
		pmuprof_region_begin(t, name);
		for (long i = 0; i < n; i++)
			((volatile char *)p)[i * pg] = 1;
		pmuprof_region_end(t, name);
		munmap(p, (size_t)n * pg);
	}
	struct pmuprof_region_info info;
	uint64_t faults;
	if (pmuprof_region_get(s, t, "measured", &info, &faults) < 0)
		return 1;
	printf("version %s path %s calls %llu faults %llu\n", pmuprof_version(),
	       pmuprof_read_path(t), (unsigned long long)info.calls, (unsigned long long)faults);
	pmuprof_session_report(s, stdout, PMUPROF_REPORT_JSON);
	return pmuprof_session_close(s) < 0;
}
"""
PROG = "#define _GNU_SOURCE\n#include <stdlib.h>\n" + PROG


def run_prog(exe, n=300, env=None):
    r = run([exe, str(n)], env=env)
    check(r.returncode == 0, f"{exe} failed ({r.returncode}): {r.stdout}{r.stderr}")
    first, _, rest = r.stdout.partition("\n")
    f = first.split()
    check(f[0] == "version" and f[2] == "path", f"unexpected output: {first!r}")
    check(f[5] == "1", f"calls {f[5]}, expected 1")
    check(int(f[7]) == n, f"region counted {f[7]} page faults for {n} fresh pages")
    doc = json.loads(rest)
    check(doc["events"] == ["page-faults"], f"events {doc['events']}")
    check(doc["read_path"] in ("read", "rdpmc"), f"read_path {doc['read_path']}")
    return f


with tempfile.TemporaryDirectory(prefix="pmuprof-install-") as tmp:
    prefix = os.path.join(tmp, "prefix")
    r = run(["cmake", "--install", BUILD, "--prefix", prefix])
    check(r.returncode == 0, f"cmake --install failed: {r.stdout}{r.stderr}")
    pcs = [os.path.join(d, f) for d, _, fs in os.walk(prefix) for f in fs if f == "pmuprof.pc"]
    check(len(pcs) == 1, f"pmuprof.pc installed {len(pcs)} times: {pcs}")
    pcdir = os.path.dirname(pcs[0])
    libdir = os.path.dirname(pcdir)
    so = os.path.join(libdir, "libpmuprof.so")
    check(os.path.exists(so) and os.path.exists(os.path.join(libdir, "libpmuprof.a")),
          f"libpmuprof.so/.a not installed in {libdir}")
    check(os.path.exists(os.path.join(prefix, "include", "pmuprof", "pmuprof.h")),
          "pmuprof.h not installed")
    check(os.path.exists(os.path.join(libdir, "cmake", "pmuprof", "pmuprofConfig.cmake")) and
          os.path.exists(os.path.join(libdir, "cmake", "pmuprof", "pmuprofConfigVersion.cmake")),
          "CMake package files not installed")

    # Exported symbols: the API only.
    r = run(["nm", "-D", "--defined-only", so])
    syms = [l.split()[-1] for l in r.stdout.splitlines() if l.strip()]
    check(syms, "no exported symbols")
    bad = [s for s in syms if not s.startswith("pmuprof_")]
    check(not bad, f"symbols outside the API exported: {bad[:10]}")
    check("pmuprof_region_begin" in syms and "pmuprof_session_open" in syms,
          f"API symbols missing: {syms}")
    r = run(["readelf", "-d", so])
    check("Library soname: [libpmuprof.so.0]" in r.stdout, f"SONAME: {r.stdout}")
    print(f"exports: {len(syms)} pmuprof_* symbols; SONAME libpmuprof.so.0")

    env = dict(os.environ, PKG_CONFIG_PATH=pcdir)
    env.pop("PMUPROF_READ", None)

    def pkg(*args):
        r = run(["pkg-config", *args, "pmuprof"], env=env)
        check(r.returncode == 0, f"pkg-config {' '.join(args)} pmuprof: {r.stderr}")
        return r.stdout.split()

    check(pkg("--modversion")[0].count(".") == 2, "pkg-config --modversion")

    # The header alone, strict C11 and C++.
    hdr = os.path.join(tmp, "hdr.c")
    with open(hdr, "w") as f:
        f.write("#include <pmuprof/pmuprof.h>\nint main(void) { return pmuprof_version() == 0; }\n")
    r = run(["cc", "-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Wstrict-prototypes",
             "-c", hdr, "-o", os.path.join(tmp, "hdr.o")] + pkg("--cflags"))
    check(r.returncode == 0, f"header does not compile as C11: {r.stderr}")
    hdrcc = os.path.join(tmp, "hdr.cc")
    shutil.copy(hdr, hdrcc)
    r = run(["c++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-c", hdrcc,
             "-o", os.path.join(tmp, "hdrcc.o")] + pkg("--cflags"))
    check(r.returncode == 0, f"header does not compile as C++: {r.stderr}")

    src = os.path.join(tmp, "prog.c")
    with open(src, "w") as f:
        f.write(PROG)
    # Shared, through pkg-config.
    exe = os.path.join(tmp, "prog")
    cmd = ["cc", "-std=c11", "-Wall", "-Werror", src, "-o", exe] + pkg("--cflags", "--libs") + \
        [f"-Wl,-rpath,{libdir}"] + SANITIZE
    r = run(cmd)
    check(r.returncode == 0, f"{' '.join(cmd)}: {r.stderr}")
    r = run(["readelf", "-d", exe])
    check("libpmuprof.so.0" in r.stdout, "the program does not link libpmuprof.so.0")
    f = run_prog(exe)
    print(f"pkg-config (shared): {' '.join(f[:8])}")

    # Static, through pkg-config --static.
    exe_s = os.path.join(tmp, "prog_static")
    libs = pkg("--static", "--libs")
    libs = ["-Wl,-Bstatic", "-lpmuprof", "-Wl,-Bdynamic"] + [l for l in libs if l != "-lpmuprof"]
    cmd = ["cc", "-std=c11", src, "-o", exe_s] + pkg("--cflags") + libs + SANITIZE
    r = run(cmd)
    check(r.returncode == 0, f"{' '.join(cmd)}: {r.stderr}")
    r = run(["readelf", "-d", exe_s])
    check("libpmuprof" not in r.stdout, "the static program still needs libpmuprof.so")
    f = run_prog(exe_s)
    print(f"pkg-config --static: {' '.join(f[:8])}")

    # find_package(pmuprof) in a tiny CMake project.
    proj = os.path.join(tmp, "proj")
    os.makedirs(proj)
    shutil.copy(src, os.path.join(proj, "prog.c"))
    with open(os.path.join(proj, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.18)\n"
                "project(consumer C)\n"
                "find_package(pmuprof 0.1 REQUIRED)\n"
                "add_executable(shared_prog prog.c)\n"
                "target_link_libraries(shared_prog PRIVATE pmuprof::pmuprof)\n"
                "add_executable(static_prog prog.c)\n"
                "target_link_libraries(static_prog PRIVATE pmuprof::pmuprof_static)\n")
    flags = " ".join(SANITIZE)
    r = run(["cmake", "-S", proj, "-B", os.path.join(proj, "build"), "-G", "Ninja",
             f"-DCMAKE_PREFIX_PATH={prefix}", f"-DCMAKE_C_FLAGS={flags}"], env=env)
    check(r.returncode == 0, f"find_package(pmuprof) failed: {r.stdout}{r.stderr}")
    r = run(["cmake", "--build", os.path.join(proj, "build")], timeout=300)
    check(r.returncode == 0, f"building against pmuprof::pmuprof failed: {r.stdout}{r.stderr}")
    for name in ("shared_prog", "static_prog"):
        f = run_prog(os.path.join(proj, "build", name))
        print(f"find_package {name}: {' '.join(f[:8])}")
    r = run(["readelf", "-d", os.path.join(proj, "build", "static_prog")])
    check("libpmuprof" not in r.stdout, "pmuprof::pmuprof_static links the shared library")
print("OK")
