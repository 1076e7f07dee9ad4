"""libpmuprof's read paths as a program sees them, on any host (software
events): PMUPROF_READ=read counts a region's page faults exactly;
PMUPROF_READ=rdpmc on software events is refused with the reason and the
fix; a bad PMUPROF_READ is named; the automatic choice is `read` and the
report says why; bench/harness_cost runs and prints its table. The hardware
side (rdpmc against read, the automatic choice being the faster) is in
test_harness_acceptance_hw."""
import os
import shutil
import tempfile

from common import *

BUILD = os.path.dirname(os.path.dirname(os.path.abspath(PMUPROF)))  # PMUPROF=<build>/cli/pmuprof
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LIBDIR = os.path.join(BUILD, "harness")
SANITIZE = ["-fsanitize=address,undefined"] if os.environ.get("PMUPROF_SANITIZED") else []
check(os.path.exists(os.path.join(LIBDIR, "libpmuprof.so")), f"{LIBDIR}/libpmuprof.so is not built")
check(shutil.which("cc"), "cc is not installed")

# region "loop": a loop of argv[2] iterations of 2 instructions, touching argv[3] fresh pages.
PROG = r"""
#define _GNU_SOURCE
#include <pmuprof/pmuprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void __attribute__((noinline)) loop(long n)
{
	if (n > 0)
		__asm__ __volatile__("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	long n = atol(argv[2]), pages = atol(argv[3]);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char err[512];
	pmuprof_session *s;
	pmuprof_thread *t;
	if (pmuprof_session_open(&s, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "open: %s\n", err);
		return 3;
	}
	if (pmuprof_thread_attach(s, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "attach: %s\n", err);
		pmuprof_session_close(s);
		return 4;
	}
	for (int rep = 0; rep < 2; rep++) { /* the first pass warms the code paths */
		const char *name = rep ? "loop" : "warm";
		char *p = mmap(NULL, (size_t)(pages + 1) * pg, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		madvise(p, (size_t)(pages + 1) * pg, MADV_NOHUGEPAGE);
		pmuprof_region_begin(t, name);
		loop(n);
		for (long i = 0; i < pages; i++)
			((volatile char *)p)[i * pg] = 1;
		pmuprof_region_end(t, name);
		munmap(p, (size_t)(pages + 1) * pg);
	}
	uint64_t c[8];
	if (pmuprof_session_nevents(s) > 8 || pmuprof_region_get(s, t, "loop", NULL, c) < 0)
		return 5;
	printf("path %s", pmuprof_read_path(t));
	for (size_t i = 0; i < pmuprof_session_nevents(s); i++)
		printf(" %llu", (unsigned long long)c[i]);
	printf("\n");
	return pmuprof_session_close(s) < 0 ? 6 : 0;
}
"""


def build_prog(tmp):
    src = os.path.join(tmp, "paths.c")
    exe = os.path.join(tmp, "paths")
    with open(src, "w") as f:
        f.write(PROG)
    r = run(["cc", "-std=c11", "-O2", "-Wall", "-Werror", f"-I{os.path.join(SRC, 'include')}", src,
             "-o", exe, f"-L{LIBDIR}", "-lpmuprof", f"-Wl,-rpath,{LIBDIR}"] + SANITIZE)
    check(r.returncode == 0, f"cannot build the test program: {r.stderr}")
    return exe


def clean_env(**kw):
    env = dict(os.environ)
    for k in ("PMUPROF_READ", "PMUPROF_REPORT", "PMUPROF_EVENTS", "PMUPROF_CONTROL_FIFO",
              "PMUPROF_CHANNEL_FD"):
        env.pop(k, None)
    env.update(kw)
    return env


with tempfile.TemporaryDirectory(prefix="pmuprof-paths-") as tmp:
    exe = build_prog(tmp)

    r = run([exe, "page-faults", "0", "777"], env=clean_env(PMUPROF_READ="read"))
    check(r.returncode == 0, f"PMUPROF_READ=read failed ({r.returncode}): {r.stderr}")
    f = r.stdout.split()
    print(f"PMUPROF_READ=read: {r.stdout.strip()}")
    check(f[:2] == ["path", "read"], f"path: {r.stdout}")
    check(int(f[2]) == 777, f"{f[2]} page faults counted for 777 fresh pages")

    r = run([exe, "page-faults,task-clock", "0", "10"], env=clean_env(PMUPROF_READ="rdpmc"))
    print(f"PMUPROF_READ=rdpmc: {r.stderr.strip()}")
    check(r.returncode == 4, f"rdpmc on software events was not refused at attach: {r.stdout}{r.stderr}")
    check("PMUPROF_READ=rdpmc, but rdpmc cannot read the counters: 'page-faults' is a software event"
          in r.stderr and "use PMUPROF_READ=read" in r.stderr, f"unclear message: {r.stderr}")

    r = run([exe, "page-faults", "0", "1"], env=clean_env(PMUPROF_READ="fast"))
    check(r.returncode == 3 and "PMUPROF_READ='fast': expected rdpmc, read or auto" in r.stderr,
          f"bad PMUPROF_READ not named: {r.stderr}")

    r = run([exe, "page-faults", "0", "5"], env=clean_env(PMUPROF_REPORT="-"))
    check(r.returncode == 0, f"auto failed: {r.stderr}")
    check(r.stdout.startswith("path read "), f"automatic choice on software events: {r.stdout}")
    check("read path: read (auto: rdpmc unusable: 'page-faults' is a software event" in r.stderr,
          f"the report does not say why: {r.stderr}")

cost = os.path.join(BENCH, "harness_cost")
check(os.access(cost, os.X_OK), f"{cost} is not built")
r = run([cost, "--events", "sw", "--iters", "2000", "--batches", "5"], env=clean_env())
print(r.stdout)
check(r.returncode == 0, f"harness_cost failed: {r.stdout}{r.stderr}")
rows = {}
for line in r.stdout.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 4 and cells[2].replace(".", "").isdigit():
        rows[(cells[0], cells[1])] = float(cells[2])
bare = rows.get(("bare read() of the group (= gbench Snapshot)", "read"))
lib = rows.get(("pmuprof_read", "read"))
pair = rows.get(("pmuprof_region_begin + pmuprof_region_end", "read"))
check(bare and lib and pair, f"rows missing from the table: {rows}")
check(lib < 3 * bare, f"pmuprof_read {lib} ns vs bare read() {bare} ns")
check(pair < 3 * 2 * bare, f"a region pair {pair} ns vs bare read() {bare} ns")
check("path rdpmc: not usable here" in r.stdout and "automatic choice: read" in r.stdout,
      "harness_cost does not report the rdpmc path and the choice")
print("OK")
