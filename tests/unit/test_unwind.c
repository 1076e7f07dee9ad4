/*
 * Unit tests of the DWARF unwinder (unwind/unwind.h). Fixtures are captured
 * once by the test itself (tests/data/unwind/uw_capture.h): registers and
 * stack bytes taken three calls deep in functions built without frame
 * pointers, and inside a comparator that libc's qsort calls; each is saved
 * under TEST_BINARY_DIR and every check unwinds the saved copy (recaptured
 * when a mapped file changed), so the logic runs on fixed data. Then: a dump
 * too small, no registers, unknown and anonymous mappings, a stale build id,
 * a depth cap, the vDSO, the .debug_frame fallback (tests/data/unwind
 * probes), more processes and modules than the caches hold, and throughput.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/perf_event.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "binary.h"
#include "engine.h"
#include "unwind.h"

#include "../data/unwind/uw_capture.h"

#ifndef TEST_BINARY_DIR
#error "TEST_BINARY_DIR must point at the tests build directory"
#endif

#define MAX_FRAMES 128
#define DUMP_MAX (64u << 10) /* perf's largest stack dump */

/* No inlining, cloning or tail calls, and no frame pointer, whatever the build's flags. */
#define CHAIN __attribute__((noipa, optimize("omit-frame-pointer")))

/* ---- capturing ---- */

static struct uw_fx live;
static int live_status = -1;
static int qsort_armed;

CHAIN static int chain_f3(int x)
{
	uint64_t regs[UW_FX_NREGS];
	uw_capture_regs(regs);
	live_status = uw_fx_finish(&live, regs, DUMP_MAX);
	__asm__ volatile("" ::: "memory");
	return x + 3;
}

CHAIN static int chain_f2(int x)
{
	int r = chain_f3(x + 1);
	__asm__ volatile("" ::: "memory");
	return r * 2;
}

CHAIN static int chain_f1(int x)
{
	int r = chain_f2(x + 1);
	__asm__ volatile("" ::: "memory");
	return r - 1;
}

/*
 * Captures on the 250th comparison: well inside libc's merge sort, also under
 * ASan, whose qsort interceptor first calls the comparator itself once per
 * adjacent pair (199 calls here) before handing over to libc.
 */
CHAIN static int cmp_capture(const void *a, const void *b)
{
	if (qsort_armed && --qsort_armed == 0) {
		uint64_t regs[UW_FX_NREGS];
		uw_capture_regs(regs);
		live_status = uw_fx_finish(&live, regs, DUMP_MAX);
	}
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

enum which { FX_CHAIN, FX_QSORT };

/* The function a capture runs in; the tests expect it on the stack. */
CHAIN static void capture_live(enum which w, const char *caller)
{
	(void)caller;
	uw_fx_free(&live);
	live_status = -1;
	if (w == FX_CHAIN) {
		volatile int seed = 1;
		assert_int_equal(chain_f1(seed), 11);
	} else {
		int v[200];
		for (int i = 0; i < 200; i++)
			v[i] = (i * 7919) % 200;
		qsort_armed = 250;
		qsort(v, 200, sizeof(v[0]), cmp_capture);
		assert_int_equal(qsort_armed, 0);
		assert_int_equal(v[0], 0);
	}
	assert_int_equal(live_status, 0);
}

static void fx_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/unwind_%s.fx", TEST_BINARY_DIR, name);
}

/*
 * The saved fixture, captured and saved first when missing or when a file it
 * maps changed (a rebuild). *fresh says whether it was captured in this run.
 */
static void get_fx(enum which w, struct uw_fx *f, bool *fresh)
{
	char path[4096];
	fx_path(path, sizeof(path), w == FX_CHAIN ? "chain" : "qsort");
	*fresh = false;
	if (uw_fx_load(path, f) == 0 && uw_fx_files_unchanged(f))
		return;
	uw_fx_free(f);
	capture_live(w, __func__);
	assert_int_equal(uw_fx_save(&live, path), 0);
	uw_fx_free(&live);
	assert_int_equal(uw_fx_load(path, f), 0);
	*fresh = true;
}

/* ---- unwinding and naming ---- */

struct model_opts {
	const char *drop;     /* leave out mappings whose path contains this */
	const char *anon;     /* rename mappings whose path contains this to //anon */
	const char *bad_bid;  /* give mappings whose path contains this a wrong build id */
	const char *path_for_exe; /* map the test binary under this path instead */
};

static const char *self_exe(void)
{
	static char exe[4096];
	if (!exe[0]) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(n > 0);
		exe[n] = '\0';
	}
	return exe;
}

static void add_maps(struct proc_model *m, pid_t pid, const struct uw_fx *f,
		     const struct model_opts *o)
{
	for (size_t i = 0; i < f->nmaps; i++) {
		const struct uw_fx_map *mp = &f->maps[i];
		const char *path = mp->path, *bid = NULL;
		if (o && o->drop && strstr(path, o->drop))
			continue;
		if (o && o->anon && strstr(path, o->anon))
			path = "//anon";
		if (o && o->bad_bid && strstr(path, o->bad_bid))
			bid = "0123456789abcdef0123456789abcdef01234567";
		if (o && o->path_for_exe && strcmp(path, self_exe()) == 0)
			path = o->path_for_exe;
		assert_int_equal(proc_on_mmap(m, pid, mp->start, mp->end - mp->start, mp->pgoff, path,
					      bid, mp->prot, 0),
				 0);
	}
}

static struct proc_model *model_of(const struct uw_fx *f, const struct model_opts *o)
{
	struct proc_model *m;
	assert_int_equal(proc_model_new(&m), 0);
	add_maps(m, (pid_t)f->pid, f, o);
	return m;
}

static struct uw_sample sample_of(const struct uw_fx *f, uint64_t *regs_out)
{
	size_t k = 0;
	for (int r = 0; r < UW_FX_NREGS; r++)
		if (f->regs_mask & (1ull << r))
			regs_out[k++] = f->regs[r];
	return (struct uw_sample){.pid = (pid_t)f->pid, .regs_abi = PERF_SAMPLE_REGS_ABI_64,
				  .regs = regs_out, .regs_mask = f->regs_mask,
				  .stack = f->stack, .stack_size = f->stack_size};
}

struct run {
	int n;
	enum uw_stop stop;
	uint64_t ips[MAX_FRAMES];
	const char *names[MAX_FRAMES];
};

static struct sym_cache *sc; /* for the whole run: group_teardown frees it */

static void name_frames(struct proc_model *m, pid_t pid, struct run *r)
{
	char err[256];
	if (!sc)
		assert_int_equal(sym_cache_new(&sc, err, sizeof(err)), 0);
	for (int i = 0; i < r->n; i++) {
		uint64_t ip = r->ips[i] - (i ? 1 : 0); /* a return address names its call */
		struct proc_map *map = proc_find_map(m, pid, ip);
		struct sym_result res;
		r->names[i] = "?";
		if (map && strcmp(map->filename, "[vdso]") == 0)
			r->names[i] = "[vdso]";
		else if (map && sym_lookup_func(sc, map->filename, NULL, ip - map->start + map->pgoff,
						&res) == 0 && res.function)
			r->names[i] = res.function;
	}
}

static void unwind_fx(struct uw_session *u, struct proc_model *m, const struct uw_fx *f,
		      uint64_t stack_size, int max, struct run *r)
{
	uint64_t regs[UW_FX_NREGS];
	struct uw_sample s = sample_of(f, regs);
	if (stack_size < s.stack_size)
		s.stack_size = stack_size;
	memset(r, 0, sizeof(*r));
	r->n = uw_unwind(u, &s, r->ips, max, &r->stop);
	assert_true(r->n >= 0 && r->n <= max);
	name_frames(m, s.pid, r);
}

static void print_run(const char *what, const struct run *r)
{
	print_message("%s: %d frames, stop %s\n", what, r->n, uw_stop_name(r->stop));
	for (int i = 0; i < r->n; i++)
		print_message("  #%-2d %#014llx %s\n", i, (unsigned long long)r->ips[i], r->names[i]);
}

static int find_name(const struct run *r, int from, const char *name)
{
	for (int i = from; i < r->n; i++)
		if (strcmp(r->names[i], name) == 0)
			return i;
	return -1;
}

static struct uw_session *session(struct proc_model *m)
{
	struct uw_session *u;
	char err[256] = "";
	int ret = uw_new(&u, m, err, sizeof(err));
	if (ret < 0)
		print_error("uw_new: %s\n", err);
	assert_int_equal(ret, 0);
	return u;
}

/* ---- tests ---- */

static void test_regs_mask(void **state)
{
	(void)state;
	assert_int_equal(uw_sample_regs_mask(), UW_FX_MASK);
	assert_string_equal(uw_stop_name(UW_STOP_STACK), "stack");
}

static void check_chain(const struct run *r, const char *test_fn)
{
	assert_true(r->n >= 6);
	assert_string_equal(r->names[0], "chain_f3");
	assert_string_equal(r->names[1], "chain_f2");
	assert_string_equal(r->names[2], "chain_f1");
	assert_string_equal(r->names[3], "capture_live");
	int t = find_name(r, 4, test_fn);
	assert_true(t >= 4);
	assert_true(find_name(r, t + 1, "main") > t);
	assert_int_equal(r->stop, UW_STOP_END);
}

static void test_chain(void **state)
{
	(void)state;
	struct uw_fx f;
	bool fresh;
	get_fx(FX_CHAIN, &f, &fresh);
	/* The saved fixture may come from an earlier run: it names its own capturer. */
	struct proc_model *m = model_of(&f, NULL);
	struct uw_session *u = session(m);
	struct run r;
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r);
	print_run(fresh ? "chain (captured now)" : "chain (saved)", &r);
	check_chain(&r, "get_fx");

	/* Live: the same chain from this very call, and the same frames from the saved copy. */
	capture_live(FX_CHAIN, __func__);
	struct proc_model *lm = model_of(&live, NULL);
	struct uw_session *lu = session(lm);
	struct run lr;
	unwind_fx(lu, lm, &live, live.stack_size, MAX_FRAMES, &lr);
	check_chain(&lr, "test_chain");
	if (fresh) /* captured by this process from the same site: the same return addresses */
		assert_memory_equal(lr.ips, r.ips, 4 * sizeof(r.ips[0]));

	/* Again on a warm cache, and after a flush: identical. */
	struct run r2;
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r2);
	assert_int_equal(r2.n, r.n);
	assert_memory_equal(r2.ips, r.ips, (size_t)r.n * sizeof(r.ips[0]));
	uw_flush_pid(u, (pid_t)f.pid);
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r2);
	assert_int_equal(r2.n, r.n);
	assert_memory_equal(r2.ips, r.ips, (size_t)r.n * sizeof(r.ips[0]));

	struct uw_stats st;
	uw_get_stats(u, &st);
	assert_int_equal(st.stacks, 3);
	assert_int_equal(st.frames, 3 * (uint64_t)r.n);
	assert_int_equal(st.stops[UW_STOP_END], 3);
	/*
	 * Debian's libunwind masks signals around its cache (CONFIG_BLOCK_SIGNALS):
	 * pmuprof's sigprocmask took those calls, none reached the kernel.
	 */
	assert_true(st.masks_skipped > 0);

	uw_free(lu);
	proc_model_free(lm);
	uw_fx_free(&live);
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

static void check_qsort(const struct run *r, const char *test_fn)
{
	assert_string_equal(r->names[0], "cmp_capture");
	int cap = find_name(r, 1, "capture_live");
	assert_true(cap > 1);
	/* Between the comparator and its caller: libc's sort, without frame pointers. */
	bool through_qsort = false;
	for (int i = 1; i < cap; i++)
		through_qsort |= strstr(r->names[i], "qsort") || strstr(r->names[i], "msort");
	assert_true(through_qsort);
	int t = find_name(r, cap + 1, test_fn);
	assert_true(t > cap);
	assert_true(find_name(r, t + 1, "main") > t);
	assert_int_equal(r->stop, UW_STOP_END);
}

static void test_qsort(void **state)
{
	(void)state;
	struct uw_fx f;
	bool fresh;
	get_fx(FX_QSORT, &f, &fresh);
	struct proc_model *m = model_of(&f, NULL);
	struct uw_session *u = session(m);
	struct run r;
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r);
	print_run(fresh ? "qsort (captured now)" : "qsort (saved)", &r);
	check_qsort(&r, "get_fx");

	capture_live(FX_QSORT, __func__);
	struct proc_model *lm = model_of(&live, NULL);
	struct uw_session *lu = session(lm);
	unwind_fx(lu, lm, &live, live.stack_size, MAX_FRAMES, &r);
	check_qsort(&r, "test_qsort");
	uw_free(lu);
	proc_model_free(lm);
	uw_fx_free(&live);
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

/* A dump that ends inside the stack: frames up to there, then UW_STOP_STACK. */
static void test_small_dump(void **state)
{
	(void)state;
	struct uw_fx f;
	bool fresh;
	get_fx(FX_CHAIN, &f, &fresh);
	struct proc_model *m = model_of(&f, NULL);
	struct uw_session *u = session(m);
	struct run full, r;
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &full);

	unwind_fx(u, m, &f, 64, MAX_FRAMES, &r);
	print_run("64-byte dump", &r);
	assert_int_equal(r.stop, UW_STOP_STACK);
	assert_true(r.n >= 1 && r.n < full.n);
	assert_memory_equal(r.ips, full.ips, (size_t)r.n * sizeof(r.ips[0]));

	unwind_fx(u, m, &f, 0, MAX_FRAMES, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.stop, UW_STOP_STACK);

	/* Every cut gives a prefix of the full stack and says it was the stack. */
	for (uint64_t cut = 8; cut < f.stack_size && cut < 4096; cut += 40) {
		unwind_fx(u, m, &f, cut, MAX_FRAMES, &r);
		assert_true(r.n >= 1 && r.n <= full.n);
		assert_memory_equal(r.ips, full.ips, (size_t)r.n * sizeof(r.ips[0]));
		if (r.n < full.n)
			assert_int_equal(r.stop, UW_STOP_STACK);
	}
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

static void test_no_regs_and_depth(void **state)
{
	(void)state;
	struct uw_fx f;
	bool fresh;
	get_fx(FX_CHAIN, &f, &fresh);
	struct proc_model *m = model_of(&f, NULL);
	struct uw_session *u = session(m);
	uint64_t regs[UW_FX_NREGS], ips[MAX_FRAMES];
	enum uw_stop stop;

	struct uw_sample s = sample_of(&f, regs);
	s.regs_abi = PERF_SAMPLE_REGS_ABI_NONE;
	assert_int_equal(uw_unwind(u, &s, ips, MAX_FRAMES, &stop), 0);
	s = sample_of(&f, regs);
	s.regs_mask &= ~(1ull << UW_FX_IP);
	s.regs = regs;
	assert_int_equal(uw_unwind(u, &s, ips, MAX_FRAMES, &stop), 0);

	struct run r;
	unwind_fx(u, m, &f, f.stack_size, 3, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.stop, UW_STOP_DEPTH);
	assert_string_equal(r.names[2], "chain_f1");
	unwind_fx(u, m, &f, f.stack_size, 1, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.stop, UW_STOP_DEPTH);
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

static void test_unknown_mappings(void **state)
{
	(void)state;
	struct uw_fx f;
	bool fresh;
	get_fx(FX_QSORT, &f, &fresh);
	struct run r;

	/* No mapping at all for the process. */
	struct proc_model *m = model_of(&f, &(struct model_opts){.drop = "/"});
	struct uw_session *u = session(m);
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.stop, UW_STOP_NO_MAP);
	uw_free(u);
	proc_model_free(m);

	/* libc unknown: the comparator's caller is found, its own caller is not. */
	m = model_of(&f, &(struct model_opts){.drop = "libc.so"});
	u = session(m);
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r);
	print_run("qsort without libc's mapping", &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.stop, UW_STOP_NO_MAP);
	uw_free(u);
	proc_model_free(m);

	/* The test binary's code anonymous (as JIT code is): no CFI. */
	m = model_of(&f, &(struct model_opts){.anon = self_exe()});
	u = session(m);
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.stop, UW_STOP_NO_CFI);
	uw_free(u);
	proc_model_free(m);

	/* The kernel named another build of the file: its CFI would lie, so none. */
	m = model_of(&f, &(struct model_opts){.bad_bid = self_exe()});
	u = session(m);
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.stop, UW_STOP_NO_CFI);
	struct uw_stats st;
	uw_get_stats(u, &st);
	assert_int_equal(st.stops[UW_STOP_NO_CFI], 1);
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

/* Address of a vDSO function in this process, by its .dynsym (libelf). */
static uint64_t vdso_function(const char *name, uint64_t *base_out)
{
	const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	*base_out = (uint64_t)(uintptr_t)base;
	if (!base)
		return 0;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	size_t size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	char *copy = malloc(size);
	assert_non_null(copy);
	memcpy(copy, base, size);
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory(copy, size);
	uint64_t addr = 0, first_load = 0;
	size_t nph = 0;
	elf_getphdrnum(elf, &nph);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
			first_load = ph.p_vaddr - ph.p_offset;
			break;
		}
	}
	for (Elf_Scn *scn = NULL; elf && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;
			if (gelf_getsym(d, (int)i, &sym) && (n = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
			    strcmp(n, name) == 0 && sym.st_value)
				addr = (uint64_t)(uintptr_t)base + sym.st_value - first_load;
		}
	}
	if (elf)
		elf_end(elf);
	free(copy);
	return addr;
}

/*
 * The chain with one more call: f3 entered function fn (at fixture address
 * `at`) and was sampled on its first instruction, where the return address
 * is still where the call put it (on the stack on x86-64, in LR on arm64, the
 * callee's SP then equal to its caller's). Expects `name` on top of the
 * chain's frames.
 */
static void check_entered(struct uw_session *u, struct proc_model *m, const struct uw_fx *f,
			  uint64_t at, const char *name)
{
	struct run chain, r;
	unwind_fx(u, m, f, f->stack_size, MAX_FRAMES, &chain);
	struct uw_fx g = *f;
#if defined(__x86_64__)
	g.stack = malloc(f->stack_size + 8);
	assert_non_null(g.stack);
	memcpy(g.stack, &f->regs[UW_FX_IP], 8); /* the return address into chain_f3 */
	memcpy(g.stack + 8, f->stack, f->stack_size);
	g.stack_size = f->stack_size + 8;
	g.regs[UW_FX_SP] = f->regs[UW_FX_SP] - 8;
#else
	g.stack = malloc(f->stack_size);
	assert_non_null(g.stack);
	memcpy(g.stack, f->stack, f->stack_size);
	g.regs[UW_FX_LR] = f->regs[UW_FX_IP]; /* the return address into chain_f3 */
#endif
	g.regs[UW_FX_IP] = at;
	unwind_fx(u, m, &g, g.stack_size, MAX_FRAMES, &r);
	print_run(name, &r);
	assert_string_equal(r.names[0], name);
	assert_int_equal(r.n, chain.n + 1);
	assert_memory_equal(r.ips + 1, chain.ips, (size_t)chain.n * sizeof(r.ips[0]));
	assert_int_equal(r.stop, UW_STOP_END);
	free(g.stack);
}

/* The vDSO's clock_gettime: it has no file; ours stands in. */
static void test_vdso(void **state)
{
	(void)state;
	uint64_t base = 0;
#if defined(__x86_64__)
	const char *name = "__vdso_clock_gettime";
#else
	const char *name = "__kernel_clock_gettime";
#endif
	uint64_t fn = vdso_function(name, &base);
	if (!fn) {
		print_message("skip: no vDSO with %s in this process\n", name);
		skip();
	}
	struct uw_fx f;
	bool fresh;
	get_fx(FX_CHAIN, &f, &fresh);
	const struct uw_fx_map *vm = NULL;
	for (size_t i = 0; i < f.nmaps; i++)
		if (strcmp(f.maps[i].path, "[vdso]") == 0)
			vm = &f.maps[i];
	assert_non_null(vm);
	struct proc_model *m = model_of(&f, NULL);
	struct uw_session *u = session(m);
	check_entered(u, m, &f, vm->start + (fn - base), "[vdso]"); /* the fixture's address */
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

/* A leaf function that keeps no frame: on arm64 its CFA is its SP, the caller's too. */
CHAIN int uw_leaf(int x);
CHAIN int uw_leaf(int x)
{
	return x * 3 + 1;
}

static void test_leaf(void **state)
{
	(void)state;
	struct uw_fx f;
	bool fresh;
	get_fx(FX_CHAIN, &f, &fresh);
	struct proc_model *m = model_of(&f, NULL);
	struct uw_session *u = session(m);
	/* uw_leaf's address in the fixture's process (a saved one ran with another load base). */
	Dl_info di;
	assert_true(dladdr((void *)uw_leaf, &di) && di.dli_fbase);
	const struct uw_fx_map *exe = NULL;
	for (size_t i = 0; i < f.nmaps && !exe; i++)
		if (strcmp(f.maps[i].path, self_exe()) == 0)
			exe = &f.maps[i];
	assert_non_null(exe);
	uint64_t base = exe->start - exe->pgoff; /* text at its file offset, as ld lays it out */
	check_entered(u, m, &f, base + ((uintptr_t)uw_leaf - (uintptr_t)di.dli_fbase), "uw_leaf");
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

/* Runs a probe of tests/data/unwind, which writes its fixture; skips when not built. */
static void run_probe(const char *name, struct uw_fx *f)
{
	char exe[4096], out[4096];
	snprintf(exe, sizeof(exe), "%s/data/unwind/%s", TEST_BINARY_DIR, name);
	if (access(exe, X_OK) != 0) {
		print_message("skip: %s not built (tests/CMakeLists.txt needs "
			      "add_subdirectory(data/unwind))\n", exe);
		skip();
	}
	fx_path(out, sizeof(out), name);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(exe, exe, out, (char *)NULL);
		_exit(errno == ENOEXEC ? 126 : 127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126) {
		/* qemu-user (a cross build's ctest) runs this test but cannot exec a probe. */
		print_message("skip: %s is not executable here (ENOEXEC: an emulated test "
			      "process)\n", exe);
		skip();
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(uw_fx_load(out, f), 0);
}

static void check_probe(const char *name)
{
	struct uw_fx f;
	run_probe(name, &f);
	struct proc_model *m = model_of(&f, NULL);
	struct uw_session *u = session(m);
	struct run r;
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &r);
	print_run(name, &r);
	assert_true(r.n >= 5);
	assert_string_equal(r.names[0], "probe_f3");
	assert_string_equal(r.names[1], "probe_f2");
	assert_string_equal(r.names[2], "probe_f1");
	assert_string_equal(r.names[3], "main");
	assert_int_equal(r.stop, UW_STOP_END);
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

static void test_debug_frame(void **state)
{
	(void)state;
	check_probe("uw_probe_df");
}

static void test_debug_frame_split(void **state)
{
	(void)state;
	check_probe("uw_probe_df_split");
}

/*
 * More processes than the session keeps address spaces for, each mapping the
 * test binary under its own path (a symlink, so a module of its own) — more
 * modules than the cache keeps once unused: everything still unwinds, before
 * and after eviction and flushes.
 */
static void test_many_processes(void **state)
{
	(void)state;
	/*
	 * Pids past PID_MAX_LIMIT (2^22): no process has one, so neither can the
	 * fixture's capturer, whose own maps must stay unknown here.
	 */
	enum { NPROC = 300, NLINKS = 80, FAKE_PID = 4200000 };
	struct uw_fx f;
	bool fresh;
	get_fx(FX_CHAIN, &f, &fresh);
	char dir[4096], link[4200];
	snprintf(dir, sizeof(dir), "%s/unwind_links", TEST_BINARY_DIR);
	mkdir(dir, 0755);
	struct proc_model *m;
	assert_int_equal(proc_model_new(&m), 0);
	for (int i = 0; i < NPROC; i++) {
		snprintf(link, sizeof(link), "%s/exe%d", dir, i % NLINKS);
		if (i < NLINKS) {
			unlink(link);
			assert_int_equal(symlink(self_exe(), link), 0);
		}
		add_maps(m, FAKE_PID + i, &f, &(struct model_opts){.path_for_exe = link});
	}
	struct uw_session *u = session(m);
	struct run ref, r;
	unwind_fx(u, m, &f, f.stack_size, MAX_FRAMES, &ref); /* f.pid has no maps here */
	assert_int_equal(ref.stop, UW_STOP_NO_MAP);
	struct uw_fx g = f;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < NPROC; i++) {
			g.pid = FAKE_PID + (uint32_t)i;
			unwind_fx(u, m, &g, g.stack_size, MAX_FRAMES, &r);
			if (round == 0 && i == 0)
				ref = r;
			assert_int_equal(r.n, ref.n);
			assert_memory_equal(r.ips, ref.ips, (size_t)r.n * sizeof(r.ips[0]));
			if (i % 3 == 0)
				uw_flush_pid(u, g.pid);
		}
	}
	assert_true(ref.n >= 6 && ref.stop == UW_STOP_END);
	uw_free(u);
	proc_model_free(m);
	for (int i = 0; i < NLINKS; i++) {
		snprintf(link, sizeof(link), "%s/exe%d", dir, i);
		unlink(link);
	}
	rmdir(dir);
	uw_fx_free(&f);
}

/* This thread's CPU time: the floor is the unwinder's cost, not the share of a busy machine it got. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_throughput(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct uw_fx f;
	bool fresh;
	get_fx(FX_QSORT, &f, &fresh);
	struct proc_model *m = model_of(&f, NULL);
	struct uw_session *u = session(m);
	uint64_t regs[UW_FX_NREGS], ips[MAX_FRAMES];
	struct uw_sample s = sample_of(&f, regs);
	enum uw_stop stop;
	int n0 = uw_unwind(u, &s, ips, MAX_FRAMES, &stop); /* warm: modules loaded, CFI cached */
	assert_int_equal(stop, UW_STOP_END);

	struct mallinfo2 before = mallinfo2();
	double t0 = now_s();
	uint64_t frames = 0;
	for (int i = 0; i < N; i++) {
		int n = uw_unwind(u, &s, ips, MAX_FRAMES, &stop);
		assert_int_equal(n, n0);
		frames += (uint64_t)n;
	}
	double dt = now_s() - t0;
	struct mallinfo2 after = mallinfo2();
	double rate = N / dt;
	print_message("throughput: %d unwinds of %d frames in %.3f s: %.0f stacks/s, %.0f frames/s, "
		      "%.2f us/stack\n", N, n0, dt, rate, (double)frames / dt, dt / N * 1e6);
#ifdef __SANITIZE_ADDRESS__
	/* The sanitizer build checks that it works and allocates nothing; speed is the release's. */
	double floor = 5000.0;
#else
	/* ~30 K stacks/s when every frame costs libunwind's two sigprocmask calls. */
	double floor = 100000.0;
#endif
	/* Under an emulator (a cross build's ctest, the lab's guests) the speed is the emulator's. */
	if (getenv("PMUPROF_TEST_EMULATED"))
		print_message("no speed floor: PMUPROF_TEST_EMULATED is set\n");
	else
		assert_true(rate > floor);
	assert_int_equal(after.uordblks, before.uordblks); /* no allocation per sample */

	/* Cold: the process flushed before each sample, so every frame's CFI is looked up again. */
	enum { NCOLD = 2000 };
	t0 = now_s();
	for (int i = 0; i < NCOLD; i++) {
		uw_flush_pid(u, s.pid);
		assert_int_equal(uw_unwind(u, &s, ips, MAX_FRAMES, &stop), n0);
	}
	dt = now_s() - t0;
	print_message("cold (flushed before each): %.0f stacks/s, %.2f us/stack\n", NCOLD / dt,
		      dt / NCOLD * 1e6);
	uw_free(u);
	proc_model_free(m);
	uw_fx_free(&f);
}

/* ---- one object per binary ---- */

/*
 * Every successful open(2) of the process while `opens_on` is set, by path:
 * libelf, libdw and pmuprof's code all open files through these (the test
 * binary's definitions come first in symbol lookup).
 */
#define OPENS_MAX 64
static bool opens_on;
static struct {
	char path[512];
	int n;
} opens[OPENS_MAX];

static void note_open(const char *path, int fd)
{
	if (!opens_on || fd < 0)
		return;
	for (int i = 0; i < OPENS_MAX; i++) {
		if (!opens[i].path[0])
			snprintf(opens[i].path, sizeof(opens[i].path), "%s", path);
		if (strcmp(opens[i].path, path) == 0) {
			opens[i].n++;
			return;
		}
	}
}

/* Every open is an openat(2) to the kernel: made here directly, then counted. */
static int counted_openat(int dirfd, const char *path, int flags, va_list ap)
{
	mode_t mode =
		(flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
	int fd = (int)syscall(SYS_openat, dirfd, path, flags, mode);
	note_open(path, fd);
	return fd;
}

/* libdw, built for large files, calls open64; pmuprof's code open. */
#define INTERPOSE_OPEN(name, dirfd, ...)                                                           \
	int name(__VA_ARGS__);                                                                     \
	int name(__VA_ARGS__)                                                                      \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, flags);                                                               \
		int fd = counted_openat(dirfd, path, flags, ap);                                   \
		va_end(ap);                                                                        \
		return fd;                                                                         \
	}
INTERPOSE_OPEN(open, AT_FDCWD, const char *path, int flags, ...)
INTERPOSE_OPEN(open64, AT_FDCWD, const char *path, int flags, ...)
INTERPOSE_OPEN(openat, dirfd, int dirfd, const char *path, int flags, ...)
INTERPOSE_OPEN(openat64, dirfd, int dirfd, const char *path, int flags, ...)

/* What one pass over a fixture found: each frame's function and line, and a data symbol. */
struct shared_pass {
	int n;
	char names[MAX_FRAMES][128];
	int lines[MAX_FRAMES];
	uint64_t data_start, data_size;
	char data_name[64];
};

/*
 * Unwinds f's sample, names every frame with its source line, and looks up
 * the data symbol `var` of the binary that maps the first frame, by name and
 * by address: the three users of a binary, through one symbol cache and one
 * unwinder that share `bins`.
 */
static void shared_pass(struct uw_session *u, struct sym_cache *s, struct proc_model *m,
			const struct uw_fx *f, const char *var, struct shared_pass *out)
{
	uint64_t regs[UW_FX_NREGS], ips[MAX_FRAMES];
	struct uw_sample smp = sample_of(f, regs);
	enum uw_stop stop;
	memset(out, 0, sizeof(*out));
	out->n = uw_unwind(u, &smp, ips, MAX_FRAMES, &stop);
	assert_int_equal(stop, UW_STOP_END);
	const char *exe = NULL;
	for (int i = 0; i < out->n; i++) {
		uint64_t ip = ips[i] - (i ? 1 : 0);
		struct proc_map *map = proc_find_map(m, smp.pid, ip);
		struct sym_result res;
		assert_non_null(map);
		if (i == 0)
			exe = map->filename;
		assert_int_equal(sym_lookup_file(s, map->filename,
						 map->build_id[0] ? map->build_id : NULL,
						 ip - map->start + map->pgoff, &res),
				 0);
		snprintf(out->names[i], sizeof(out->names[i]), "%s",
			 res.function ? res.function : "?");
		out->lines[i] = res.line;
	}
	struct sym_data d;
	assert_int_equal(sym_find_data(s, exe, NULL, var, &d), 0);
	assert_int_equal(sym_lookup_data(s, exe, NULL, d.start, &d), 0);
	snprintf(out->data_name, sizeof(out->data_name), "%s", d.name);
	out->data_start = d.start;
	out->data_size = d.size;
}

static void check_same(const struct shared_pass *a, const struct shared_pass *b)
{
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		assert_string_equal(a->names[i], b->names[i]);
		assert_int_equal(a->lines[i], b->lines[i]);
	}
	assert_string_equal(a->data_name, b->data_name);
	assert_int_equal(a->data_start, b->data_start);
	assert_int_equal(a->data_size, b->data_size);
}

/* Fails when a file was opened more than once since opens_on was set. */
static void check_opened_once(const char *what)
{
	int files = 0;
	for (int i = 0; i < OPENS_MAX && opens[i].path[0]; i++) {
		print_message("%s: %d open(s) of %s\n", what, opens[i].n, opens[i].path);
		files++;
		assert_int_equal(opens[i].n, 1);
	}
	assert_true(files >= 2);
}

/*
 * Symbolization, unwinding and data-symbol lookups read each binary once: the
 * qsort fixture (the test binary and libc, whose CFI is in .eh_frame) and the
 * split .debug_frame probe (CFI and symbols in a separate debug file found by
 * .gnu_debuglink) open every file they touch once, the debug file included.
 * Then, under a byte budget too small for anything but what is in use, the
 * objects go (and are opened again) and every answer stays the same.
 */
static void test_shared_binaries(void **state)
{
	(void)state;
	struct uw_fx fx[2];
	bool fresh;
	get_fx(FX_QSORT, &fx[0], &fresh);
	static const char *const vars[2] = {"live_status", "probe_status"};
	struct shared_pass first[2], again[2];
	for (int k = 0; k < 2; k++) {
		if (k == 1) /* skips where probes cannot run, after the qsort fixture's checks */
			run_probe("uw_probe_df_split", &fx[1]);
		struct proc_model *m = model_of(&fx[k], NULL);
		struct bin_cache *bins;
		struct sym_cache *s;
		char err[256];
		assert_int_equal(bin_cache_new(&bins), 0);
		assert_int_equal(sym_cache_new(&s, err, sizeof(err)), 0);
		assert_int_equal(sym_cache_use_binaries(s, bins), 0);
		struct uw_session *u = session(m);
		assert_int_equal(uw_use_binaries(u, bins), 0);

		memset(opens, 0, sizeof(opens));
		opens_on = true;
		shared_pass(u, s, m, &fx[k], vars[k], &first[k]);
		opens_on = false;
		check_opened_once(k ? "probe" : "qsort");
		uint64_t opened = bin_cache_opens(bins);
		print_message("%d frames, %s at %#llx; %zu binaries, %zu bytes\n", first[k].n,
			      first[k].data_name, (unsigned long long)first[k].data_start,
			      bin_cache_count(bins), bin_cache_bytes(bins));

		/* 1 byte: only the objects of the lookup under way stay. */
		sym_cache_set_budget(s, 1);
		uw_flush_pid(u, (pid_t)fx[k].pid);
		assert_true(bin_cache_count(bins) < opened);
		shared_pass(u, s, m, &fx[k], vars[k], &again[k]);
		check_same(&first[k], &again[k]);
		assert_true(bin_cache_opens(bins) > opened); /* evicted, then opened again */
		print_message("under a 1-byte budget: %zu binaries held, %llu opens in all\n",
			      bin_cache_count(bins), (unsigned long long)bin_cache_opens(bins));
		uw_free(u);
		sym_cache_free(s);
		bin_cache_free(bins);
		proc_model_free(m);
		uw_fx_free(&fx[k]);
		assert_string_equal(first[k].names[0], k ? "probe_f3" : "cmp_capture");
	}
	assert_true(first[1].lines[0] > 0); /* the probe's DWARF: in its debug file */
}

static int group_teardown(void **state)
{
	(void)state;
	sym_cache_free(sc);
	sc = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regs_mask),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_qsort),
		cmocka_unit_test(test_small_dump),
		cmocka_unit_test(test_no_regs_and_depth),
		cmocka_unit_test(test_unknown_mappings),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_leaf),
		cmocka_unit_test(test_debug_frame),
		cmocka_unit_test(test_debug_frame_split),
		cmocka_unit_test(test_many_processes),
		cmocka_unit_test(test_throughput),
		cmocka_unit_test(test_shared_binaries),
	};
	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
