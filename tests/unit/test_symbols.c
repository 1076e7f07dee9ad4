/*
 * Unit tests of the symbolizer (symbols/symbols.h): functions and lines of
 * this test binary, of libc and of the probe binaries in tests/data/symbols
 * (non-PIE; stripped with a .gnu_debuglink file); which alias wins at one
 * address and where sized symbols end (symbols defined in assembly below);
 * missing and replaced files; kallsyms, real and from tests/data/symbols;
 * JIT maps; inline frames of the -O2 probes (C and C++) and of libc against
 * addr2line and llvm-symbolizer; and the cost of one lookup into libc's table
 * (function, file:line, inline frames cold and warm).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "symbols.h"
#include "symbols_internal.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must point at tests/data"
#endif
#ifndef TEST_BINARY_DIR
#error "TEST_BINARY_DIR must point at the tests build directory"
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noipa)) /* no inlining, cloning or folding: names stay */
#else
#define NOIPA __attribute__((noinline))
#endif

/*
 * Symbols at shared addresses and a gap, in .text of this binary:
 *   site 1 (16 bytes): LOCAL, WEAK and GLOBAL sized aliases -> the GLOBAL one;
 *   16 bytes covered by no symbol -> unknown;
 *   site 2 (16 bytes): LOCAL and WEAK sized -> the WEAK one;
 *   site 3: an unsized GLOBAL and a sized LOCAL -> the sized one;
 *   site 4: an unsized function, running up to site 5 (sized).
 */
__asm__(".pushsection .text\n"
	".p2align 4\n"
	".type sym_asm_local1, @function\n"
	".weak sym_asm_weak1\n"
	".type sym_asm_weak1, @function\n"
	".globl sym_asm_global1\n"
	".type sym_asm_global1, @function\n"
	"sym_asm_local1:\n"
	"sym_asm_weak1:\n"
	"sym_asm_global1:\n"
	".fill 16, 1, 0x90\n"
	".size sym_asm_local1, 16\n"
	".size sym_asm_weak1, 16\n"
	".size sym_asm_global1, 16\n"
	".fill 16, 1, 0xcc\n"
	".type sym_asm_local2, @function\n"
	".weak sym_asm_weak2\n"
	".type sym_asm_weak2, @function\n"
	"sym_asm_local2:\n"
	"sym_asm_weak2:\n"
	".fill 16, 1, 0x90\n"
	".size sym_asm_local2, 16\n"
	".size sym_asm_weak2, 16\n"
	".globl sym_asm_label3\n"
	".type sym_asm_label3, @function\n"
	".type sym_asm_sized3, @function\n"
	"sym_asm_label3:\n"
	"sym_asm_sized3:\n"
	".fill 16, 1, 0x90\n"
	".size sym_asm_sized3, 16\n"
	".globl sym_asm_unsized4\n"
	".type sym_asm_unsized4, @function\n"
	"sym_asm_unsized4:\n"
	".fill 32, 1, 0x90\n"
	".globl sym_asm_sized5\n"
	".type sym_asm_sized5, @function\n"
	"sym_asm_sized5:\n"
	".fill 16, 1, 0x90\n"
	".size sym_asm_sized5, 16\n"
	".popsection\n");
extern const char sym_asm_global1[], sym_asm_weak2[], sym_asm_label3[], sym_asm_unsized4[],
	sym_asm_sized5[];

struct probe {
	uintptr_t ip; /* a return address inside the probe function */
	int line;     /* the source line of that call */
};

static NOIPA uintptr_t where(void)
{
	return (uintptr_t)__builtin_return_address(0);
}

static NOIPA void sym_test_alpha(struct probe *p)
{
	p->ip = where(); p->line = __LINE__;
}

static NOIPA void sym_test_beta(struct probe *p)
{
	volatile int spin = 3;
	while (spin > 0)
		spin--;
	p->ip = where(); p->line = __LINE__;
}

/* The mapping of addr in /proc/self/maps: its path and the file offset of addr. */
static int file_offset(uintptr_t addr, char *path, size_t len, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4200];
	int ret = -ENOENT;
	while (f && fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		uint64_t pgoff;
		int pos = 0;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %" SCNx64 " %*s %*s %n", &lo, &hi,
			   &pgoff, &pos) < 3 || pos == 0 || addr < lo || addr >= hi)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, len, "%s", line + pos);
		*off = addr - lo + pgoff;
		ret = 0;
		break;
	}
	if (f)
		fclose(f);
	return ret;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int setup(void **state)
{
	char err[256] = "";
	struct sym_cache *c;
	int ret = sym_cache_new(&c, err, sizeof(err));
	if (ret < 0) {
		print_error("sym_cache_new: %s\n", err);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	sym_cache_free(*state);
	return 0;
}

static void check_probe(struct sym_cache *c, const struct probe *p, uintptr_t fn, const char *name,
			const char *build_id)
{
	char path[4096];
	uint64_t off;
	assert_int_equal(file_offset(p->ip - 1, path, sizeof(path), &off), 0);
	struct sym_result r;
	assert_int_equal(sym_lookup_file(c, path, build_id, off, &r), 0);
	assert_non_null(r.function);
	assert_string_equal(r.function, name);
	/* The function starts as far before the address in the file as in memory. */
	assert_int_equal(r.elf_vaddr - r.func_start, p->ip - 1 - fn);
	assert_non_null(r.file);
	assert_true(ends_with(r.file, "test_symbols.c"));
	assert_int_equal(r.line, p->line);
}

static void test_self(void **state)
{
	struct sym_cache *c = *state;
	struct probe a, b;
	sym_test_alpha(&a);
	sym_test_beta(&b);
	check_probe(c, &a, (uintptr_t)&sym_test_alpha, "sym_test_alpha", NULL);
	check_probe(c, &b, (uintptr_t)&sym_test_beta, "sym_test_beta", NULL);

	/* The build id comes from the file; keyed by it (any case) the answers are the same. */
	char path[4096], upper[41];
	uint64_t off;
	assert_int_equal(file_offset(a.ip, path, sizeof(path), &off), 0);
	struct sym_module_info info;
	assert_int_equal(sym_module_info(c, path, NULL, &info), 0);
	assert_true(info.has_functions);
	assert_true(info.has_filenames);
	assert_true(info.has_line_numbers);
	assert_true(strlen(info.build_id) >= 32);
	check_probe(c, &a, (uintptr_t)&sym_test_alpha, "sym_test_alpha", info.build_id);
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] = (char)(info.build_id[i] >= 'a' && info.build_id[i] <= 'f' ?
					  info.build_id[i] - 'a' + 'A' : info.build_id[i]);
	check_probe(c, &b, (uintptr_t)&sym_test_beta, "sym_test_beta", upper);

	/* A file whose build id is not the one recorded was replaced: -ENOENT, not wrong names. */
	struct sym_result r;
	assert_int_equal(sym_lookup_file(c, path, "00112233445566778899aabbccddeeff00112233", off, &r),
			 -ENOENT);
	assert_null(r.function);
}

static void lookup_addr(struct sym_cache *c, const void *addr, struct sym_result *r)
{
	char path[4096];
	uint64_t off;
	assert_int_equal(file_offset((uintptr_t)addr, path, sizeof(path), &off), 0);
	assert_int_equal(sym_lookup_file(c, path, NULL, off, r), 0);
}

static void test_aliases_and_gaps(void **state)
{
	struct sym_cache *c = *state;
	struct sym_result r;
	lookup_addr(c, sym_asm_global1, &r);
	assert_string_equal(r.function, "sym_asm_global1");
	lookup_addr(c, sym_asm_global1 + 15, &r);
	assert_string_equal(r.function, "sym_asm_global1");
	assert_int_equal(r.elf_vaddr - r.func_start, 15);

	lookup_addr(c, sym_asm_global1 + 16, &r); /* past the end, before the next symbol */
	assert_null(r.function);
	assert_int_equal(r.func_start, 0);
	assert_int_not_equal(r.elf_vaddr, 0);
	lookup_addr(c, sym_asm_global1 + 31, &r);
	assert_null(r.function);

	lookup_addr(c, sym_asm_weak2 + 3, &r);
	assert_string_equal(r.function, "sym_asm_weak2");
	lookup_addr(c, sym_asm_label3, &r);
	assert_string_equal(r.function, "sym_asm_sized3");
	lookup_addr(c, sym_asm_unsized4 + 20, &r); /* unsized: runs to the next symbol */
	assert_string_equal(r.function, "sym_asm_unsized4");
	lookup_addr(c, sym_asm_sized5, &r);
	assert_string_equal(r.function, "sym_asm_sized5");
}

/* A libc function's address, from libc itself (an ASan interceptor would shadow &qsort). */
static void *libc_symbol(const char *name)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(h);
	void *p = dlsym(h, name);
	dlclose(h);
	assert_non_null(p);
	return p;
}

static void test_libc(void **state)
{
	struct sym_cache *c = *state;
	char path[4096];
	uint64_t off;
	void *qs = libc_symbol("qsort");
	assert_int_equal(file_offset((uintptr_t)qs, path, sizeof(path), &off), 0);
	assert_non_null(strstr(path, "libc"));
	struct sym_module_info info;
	assert_int_equal(sym_module_info(c, path, NULL, &info), 0);
	assert_true(info.has_functions);
	assert_true(strlen(info.build_id) >= 32);

	struct sym_result r;
	assert_int_equal(sym_lookup_file(c, path, info.build_id, off, &r), 0);
	assert_string_equal(r.function, "qsort");
	assert_int_equal(r.func_start, r.elf_vaddr);
	assert_int_equal(sym_lookup_file(c, path, info.build_id, off + 2, &r), 0);
	assert_string_equal(r.function, "qsort");

	/* malloc has aliases (__libc_malloc, __malloc, __GI___libc_malloc): the plain name wins. */
	lookup_addr(c, libc_symbol("malloc"), &r);
	assert_string_equal(r.function, "malloc");

	char dbg[256];
	snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", info.build_id,
		 info.build_id + 2);
	if (access(dbg, R_OK) == 0) { /* libc6-dbg: lines come from the separate debug file */
		assert_true(info.has_line_numbers);
		assert_int_equal(sym_lookup_file(c, path, info.build_id, off, &r), 0);
		assert_non_null(r.file);
		assert_true(r.line > 0);
		print_message("qsort is %s:%d (from %s)\n", r.file, r.line, dbg);
	} else {
		print_message("no %s (libc6-dbg): libc lines not checked\n", dbg);
	}
}

static void test_missing_and_unknown(void **state)
{
	struct sym_cache *c = *state;
	struct sym_result r;
	struct sym_module_info info;
	assert_int_equal(sym_lookup_file(c, "/nonexistent/libnothing.so", NULL, 0x1000, &r), -ENOENT);
	assert_null(r.function);
	assert_int_equal(sym_lookup_file(c, "/nonexistent/libnothing.so", "0123456789abcdef", 0x1000, &r),
			 -ENOENT);
	assert_int_equal(sym_module_info(c, "/nonexistent/libnothing.so", NULL, &info), -ENOENT);
	/* Not ELF. */
	assert_int_equal(sym_lookup_file(c, TEST_DATA_DIR "/symbols/kallsyms.txt", NULL, 0, &r), -ENOENT);

	/* An offset in no PT_LOAD segment of a real file: nothing known, not an error. */
	char path[4096];
	uint64_t off;
	assert_int_equal(file_offset((uintptr_t)&sym_test_alpha, path, sizeof(path), &off), 0);
	assert_int_equal(sym_lookup_file(c, path, NULL, UINT64_C(1) << 40, &r), 0);
	assert_null(r.function);
	assert_null(r.file);
	assert_int_equal(r.line, 0);
	assert_int_equal(r.elf_vaddr, 0);
}

/* The probe binaries: non-PIE, and stripped with a .gnu_debuglink file. */
static void check_probe_binary(struct sym_cache *c, const char *name)
{
	char bin[4096], cmd[4200], line[4400];
	snprintf(bin, sizeof(bin), "%s/data/symbols/%s", TEST_BINARY_DIR, name);
	if (access(bin, X_OK) != 0) {
		print_message("skip: %s not built (tests/CMakeLists.txt needs "
			      "add_subdirectory(data/symbols))\n", bin);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "'%s'", bin);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	int seen = 0;
	while (fgets(line, sizeof(line), p)) {
		char path[4096], fn[128];
		uint64_t off;
		int lineno;
		assert_int_equal(sscanf(line, "%4095s %" SCNx64 " %d %127s", path, &off, &lineno, fn), 4);
		struct sym_result r;
		assert_int_equal(sym_lookup_file(c, path, NULL, off, &r), 0);
		assert_non_null(r.function);
		assert_string_equal(r.function, fn);
		assert_non_null(r.file);
		assert_true(ends_with(r.file, "sym_probe.c"));
		assert_int_equal(r.line, lineno);
		seen++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(seen, 2);
}

static void test_nopie(void **state)
{
	check_probe_binary(*state, "sym_probe_nopie");
}

static void test_debuglink(void **state)
{
	check_probe_binary(*state, "sym_probe_split");
}

static void test_kallsyms_file(void **state)
{
	(void)state;
	struct sym_kernel k = {0};
	assert_int_equal(sym_kernel_load(&k, TEST_DATA_DIR "/symbols/kallsyms.txt"), 0);
	assert_true(k.available);
	static const struct {
		uint64_t addr;
		const char *name; /* NULL: unknown */
	} cases[] = {
		{0xffffffff80ffffffull, NULL},
		/* Names at one address: the last listed, as perf (the others are empty there). */
		{0xffffffff81000000ull, "__pfx_startup_64"},
		{0xffffffff8100000full, "__pfx_startup_64"},
		{0xffffffff81000010ull, "startup_64"},
		{0xffffffff81000100ull, "weak_helper"}, /* listed after local_helper */
		{0xffffffff81000250ull, "weak_helper"}, /* data symbols do not end text ones */
		{0xffffffff81000300ull, "after_data"},
		{0xffffffff81000400ull, "upper_hex"},  /* digits in upper case */
		{0xffffffff81000500ull, "upper_hex"},  /* "...050x": not an address, no symbol */
		{0xffffffffc0100004ull, "mod_func"},    /* "[kvm]" is not part of the name */
		{0xffffffffc0100050ull, "mod_export"},
		{0xffffffffc0110000ull, NULL},          /* far past the last symbol */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sym_entry *e = sym_table_find(&k.t, cases[i].addr);
		if (!cases[i].name) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		assert_string_equal(e->name, cases[i].name);
	}
	sym_kernel_release(&k);

	/* kptr_restrict: every address reads as zero. */
	assert_int_equal(sym_kernel_load(&k, TEST_DATA_DIR "/symbols/kallsyms_restricted.txt"), 0);
	assert_false(k.available);
	sym_kernel_release(&k);
	assert_int_equal(sym_kernel_load(&k, "/nonexistent/kallsyms"), -ENOENT);
	assert_false(k.available);
	sym_kernel_release(&k);
}

/*
 * A kernel caller frame is named at its return address - 1 (the call), but
 * an interrupted instruction at a function's first byte is named at itself
 * when that - 1 would fall in the padding symbol before the function.
 */
static void test_kallsyms_caller_addr(void **state)
{
	(void)state;
	struct sym_kernel k = {0};
	assert_int_equal(sym_kernel_load(&k, TEST_DATA_DIR "/symbols/kallsyms.txt"), 0);
	static const struct {
		uint64_t ret;
		uint64_t at;
		const char *name;
	} cases[] = {
		{0xffffffff81000610ull, 0xffffffff81000610ull, "pfx_target"}, /* after __pfx_ */
		{0xffffffff81000650ull, 0xffffffff81000650ull, "cfi_target"}, /* after __cfi_ */
		{0xffffffff81000615ull, 0xffffffff81000614ull, "pfx_target"}, /* a return address */
		/* In the padding itself (call depth thunks run there): the padding, as perf says. */
		{0xffffffff81000608ull, 0xffffffff81000607ull, "__pfx_pfx_target"},
		/* The padding's first byte follows a call ending the function before it. */
		{0xffffffff81000600ull, 0xffffffff810005ffull, "upper_hex"},
		/* A function after another function, no padding: the call ends the one before. */
		{0xffffffff81000680ull, 0xffffffff8100067full, "cfi_target"},
		{0xffffffff81000300ull, 0xffffffff810002ffull, "weak_helper"},
		/* startup_64's padding shares its address with _text and names it (listed last). */
		{0xffffffff81000010ull, 0xffffffff81000010ull, "startup_64"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t at = sym_kernel_table_caller_addr(&k.t, cases[i].ret);
		assert_int_equal(at, cases[i].at);
		struct sym_entry *e = sym_table_find(&k.t, at);
		assert_non_null(e);
		assert_string_equal(e->name, cases[i].name);
	}
	sym_kernel_release(&k);
}

static void test_kallsyms_real(void **state)
{
	struct sym_cache *c = *state;
	struct sym_result r;
	if (!sym_kernel_available(c)) {
		assert_int_equal(sym_lookup_kernel(c, 0xffffffff81000000ull, &r), -ENOENT);
		print_message("skip: /proc/kallsyms is unreadable or hides addresses "
			      "(kernel.kptr_restrict; run as root or set it to 0)\n");
		skip();
	}
	/* A 'T' symbol alone at its address, with room after it. */
	FILE *f = fopen("/proc/kallsyms", "re");
	assert_non_null(f);
	char line[512], name[256] = "", prev_name[256] = "";
	unsigned long long prev = 0, prev2 = 0, addr = 0;
	char prev_type = 0, type;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (prev_type == 'T' && prev != prev2 && addr > prev + 1 && prev2 != 0)
			break;
		prev2 = prev;
		prev = addr;
		prev_type = type;
		snprintf(prev_name, sizeof(prev_name), "%s", name);
	}
	fclose(f);
	assert_true(prev_type == 'T');
	assert_int_equal(sym_lookup_kernel(c, prev, &r), 0);
	assert_non_null(r.function);
	assert_string_equal(r.function, prev_name);
	assert_int_equal(r.func_start, prev);
	assert_int_equal(sym_lookup_kernel(c, prev + 1, &r), 0);
	assert_string_equal(r.function, prev_name);
	print_message("kernel %llx -> %s\n", prev, r.function);
}

/* kallsyms lines of text symbols: address, name and the rank the loader gives them. */
struct ksym_line {
	unsigned long long addr;
	char type;
	char name[512]; /* KSYM_NAME_LEN */
	char line[600];
};

/* The reference: sscanf per line into the same builder, no chunking, no fast paths. */
static void kallsyms_reference(const struct ksym_line *v, size_t n, struct sym_table *out)
{
	struct sym_builder b = {0};
	for (size_t i = 0; i < n; i++) {
		if (strchr("tTwW", v[i].type) == NULL || v[i].addr == 0)
			continue;
		size_t len = strlen(v[i].name);
		/* Of an address's names, the last listed (as perf names it). */
		assert_int_equal(sym_builder_add(&b, v[i].addr, 0, false, 0, UINT32_MAX - (uint32_t)b.n,
						 v[i].name, len), 0);
	}
	assert_int_equal(sym_builder_finish(&b, out), 0);
}

static void assert_tables_equal(const struct sym_table *a, const struct sym_table *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->v[i].start, b->v[i].start);
		assert_int_equal(a->v[i].end, b->v[i].end);
		assert_string_equal(a->v[i].name, b->v[i].name);
	}
}

/*
 * The chunked kallsyms reader and the builder's sorted-prefix fast path
 * against the reference, on this host's kallsyms as it is (address order)
 * and rotated so an unsorted tail must be sorted and merged (kernels with
 * modules list them after the core).
 */
static void test_kallsyms_loader_vs_reference(void **state)
{
	(void)state;
	FILE *f = fopen("/proc/kallsyms", "re");
	struct ksym_line *v = NULL;
	size_t n = 0, cap = 0;
	char buf[1024];
	bool nonzero = false;
	while (f && fgets(buf, sizeof(buf), f)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		struct ksym_line *l = &v[n];
		if (sscanf(buf, "%llx %c %511s", &l->addr, &l->type, l->name) != 3)
			continue;
		snprintf(l->line, sizeof(l->line), "%s", buf);
		nonzero |= l->addr != 0;
		n++;
	}
	if (f)
		fclose(f);
	if (n < 1000 || !nonzero) {
		free(v);
		print_message("skip: /proc/kallsyms is unreadable or hides addresses "
			      "(kernel.kptr_restrict; run as root or set it to 0)\n");
		skip();
	}
	struct sym_table ref;
	kallsyms_reference(v, n, &ref);
	struct sym_kernel k = {0};
	assert_int_equal(sym_kernel_load(&k, "/proc/kallsyms"), 0);
	assert_true(k.available);
	assert_true(k.t.n > 1000);
	assert_tables_equal(&k.t, &ref);
	sym_kernel_release(&k);

	/* Rotate at an address change a third in (same-address aliases keep their order). */
	size_t cut = n / 3;
	while (cut < n && v[cut].addr == v[cut - 1].addr)
		cut++;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/pmuprof-test-kallsyms-%d", (int)getpid());
	FILE *w = fopen(path, "w");
	assert_non_null(w);
	for (size_t i = 0; i < n; i++)
		fputs(v[(cut + i) % n].line, w);
	assert_int_equal(fclose(w), 0);
	assert_int_equal(sym_kernel_load(&k, path), 0);
	unlink(path);
	assert_tables_equal(&k.t, &ref);
	sym_kernel_release(&k);
	sym_table_free(&ref);
	free(v);
}

/* True when pred holds for one of the sections of the ELF file at path (libelf); false if unreadable. */
typedef bool (*section_pred)(Elf_Scn *scn, const GElf_Shdr *sh, void *ctx);
static bool any_section(const char *path, section_pred pred, void *ctx)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	bool found = false;
	for (Elf_Scn *scn = NULL; elf && !found && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		found = gelf_getshdr(scn, &sh) && pred(scn, &sh, ctx);
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

struct note_at {
	off_t at;
	size_t len;
};

static bool is_build_id_note(Elf_Scn *scn, const GElf_Shdr *sh, void *ctx)
{
	struct note_at *n = ctx;
	Elf_Data *d;
	if (sh->sh_type != SHT_NOTE || !(d = elf_getdata(scn, NULL)))
		return false;
	GElf_Nhdr nh;
	size_t name_off, desc_off;
	for (size_t off = 0, next; (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)); off = next) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((const char *)d->d_buf + name_off, "GNU", 4) == 0) {
			n->at = (off_t)(sh->sh_offset + desc_off);
			n->len = nh.n_descsz;
			return true;
		}
	}
	return false;
}

/* The file offset and size of the GNU build id's bytes in an ELF file (libelf), or false. */
static bool build_id_location(const char *path, off_t *at, size_t *len)
{
	struct note_at n;
	if (!any_section(path, is_build_id_note, &n))
		return false;
	*at = n.at;
	*len = n.len;
	return true;
}

/*
 * 300 builds of one file (copies, each with its own build id and mtime) are
 * 300 modules: the LRU drops the oldest, names stay right, and the bytes of
 * the modules dropped are given back.
 */
static void test_lru(void **state)
{
	struct sym_cache *c = *state;
	char self[4096], copy[64];
	uint64_t off;
	struct probe a;
	sym_test_alpha(&a);
	assert_int_equal(file_offset(a.ip - 1, self, sizeof(self), &off), 0);
	snprintf(copy, sizeof(copy), "/tmp/pmuprof-test-symbols-%d", (int)getpid());
	FILE *in = fopen(self, "re"), *out = fopen(copy, "we");
	assert_non_null(in);
	assert_non_null(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	off_t id_at = 0;
	size_t id_len = 0;
	assert_true(build_id_location(copy, &id_at, &id_len));
	assert_true(id_len >= 4 && id_len <= 20);
	int fd = open(copy, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);

	struct sym_result r;
	size_t one = 0;
	for (uint32_t i = 0; i < SYM_MODULES_MAX + 44; i++) {
		unsigned char id[20] = {0};
		memcpy(id, &i, sizeof(i));
		assert_int_equal(pwrite(fd, id, id_len, id_at), (ssize_t)id_len);
		struct timespec ts[2] = {{.tv_sec = 1000000 + i}, {.tv_sec = 1000000 + i}};
		assert_int_equal(futimens(fd, ts), 0);
		char hex[41];
		for (size_t k = 0; k < id_len; k++)
			snprintf(hex + 2 * k, 3, "%02x", id[k]);
		assert_int_equal(sym_lookup_func(c, copy, hex, off, &r), 0);
		assert_string_equal(r.function, "sym_test_alpha");
		assert_true(c->nmodules <= SYM_MODULES_MAX);
		if (i == 0)
			one = sym_cache_bytes(c) - sizeof(*c);
	}
	close(fd);
	assert_int_equal(c->nmodules, SYM_MODULES_MAX);
	/* Evicted modules give their bytes back: the total is the survivors'. */
	assert_int_equal(sym_cache_bytes(c), sizeof(*c) + SYM_MODULES_MAX * one);
	assert_int_equal(unlink(copy), 0);
}

/*
 * A file with a build id is one module whether it is named by its id (perf's
 * MMAP2) or by path alone (/proc/PID/maps of processes older than the
 * profiler): libc once, not twice. A copy under another path with the same id
 * (a stripped one) stays its own module: it may know less.
 */
static void test_one_module_per_file(void **state)
{
	struct sym_cache *c = *state;
	char libc[4096];
	uint64_t off;
	assert_int_equal(file_offset((uintptr_t)libc_symbol("qsort"), libc, sizeof(libc), &off), 0);
	struct sym_result r;
	assert_int_equal(sym_lookup_func(c, libc, NULL, off, &r), 0);
	assert_string_equal(r.function, "qsort");
	struct sym_module_info info;
	assert_int_equal(sym_module_info(c, libc, NULL, &info), 0);
	assert_true(info.build_id[0]);
	assert_int_equal(sym_lookup_func(c, libc, info.build_id, off, &r), 0);
	assert_string_equal(r.function, "qsort");
	assert_int_equal(c->nmodules, 1);
	assert_int_equal(sym_lookup_func(c, libc, NULL, off + 1, &r), 0);
	assert_int_equal(c->nmodules, 1);

	char bin[4200], stripped[4200];
	snprintf(bin, sizeof(bin), "%s/data/symbols/sym_probe_inline", TEST_BINARY_DIR);
	snprintf(stripped, sizeof(stripped), "%s.stripped", bin);
	if (access(stripped, R_OK) != 0) {
		print_message("skip: %s not built\n", stripped);
		skip();
	}
	struct sym_module_info a, b;
	assert_int_equal(sym_module_info(c, stripped, NULL, &a), 0);
	assert_int_equal(sym_module_info(c, bin, NULL, &b), 0);
	assert_string_equal(a.build_id, b.build_id);
	assert_int_equal(c->nmodules, 3);
	assert_false(a.has_functions);
	assert_true(b.has_functions);
	assert_true(b.has_line_numbers);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Everything a cache opens (files, debug files, Dwfl, kallsyms, JIT maps) is closed by its free. */
static void test_no_fd_leak(void **state)
{
	(void)state;
	int before = count_fds();
	char err[256];
	struct sym_cache *c;
	assert_int_equal(sym_cache_new(&c, err, sizeof(err)), 0);
	struct sym_result r;
	lookup_addr(c, libc_symbol("qsort"), &r);
	lookup_addr(c, (const void *)(uintptr_t)&sym_test_alpha, &r);
	assert_non_null(r.file);
	sym_kernel_available(c);
	sym_lookup_jit(c, getpid(), 0x1000, &r);
	assert_true(count_fds() > before); /* the Dwfl of each module keeps its files open */
	sym_cache_free(c);
	assert_int_equal(count_fds(), before);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void test_jit(void **state)
{
	struct sym_cache *c = *state;
	pid_t pid = getpid();
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	struct sym_result r;
	unlink(path);
	assert_int_equal(sym_lookup_jit(c, pid, 0x7f0000001000ull, &r), -ENOENT);

	write_file(path, "7f0000001000 40 jit_alpha\n"
			 "7f0000002000 100 LazyCompile:*beta file.js:12\n"
			 "not a line\n");
	assert_int_equal(sym_lookup_jit(c, pid, 0x7f0000001010ull, &r), 0);
	assert_string_equal(r.function, "jit_alpha");
	assert_int_equal(r.func_start, 0x7f0000001000ull);
	assert_int_equal(sym_lookup_jit(c, pid, 0x7f00000020ffull, &r), 0);
	assert_string_equal(r.function, "LazyCompile:*beta file.js:12");
	assert_int_equal(sym_lookup_jit(c, pid, 0x7f0000001040ull, &r), 0); /* past jit_alpha */
	assert_null(r.function);

	/* Rewritten (code moved): re-read (names handed out before are gone with the old table). */
	write_file(path, "7f0000001000 40 jit_alpha\n"
			 "7f0000003000 20 jit_gamma\n"
			 "7f0000003000 20 jit_gamma_recompiled\n");
	assert_int_equal(sym_lookup_jit(c, pid, 0x7f0000003008ull, &r), 0);
	assert_string_equal(r.function, "jit_gamma_recompiled"); /* the later line wins */
	assert_int_equal(sym_lookup_jit(c, pid, 0x7f0000002010ull, &r), 0);
	assert_null(r.function);
	assert_int_equal(sym_lookup_jit(c, pid, 0x7f0000001000ull, &r), 0);
	assert_string_equal(r.function, "jit_alpha");

	/* Owned by someone who is neither root, us, nor the process: not believed. */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(sym_lookup_jit(c, pid, 0x7f0000001010ull, &r), -ENOENT);
		assert_null(r.function);
	} else {
		print_message("not root: the foreign-owner check of JIT maps is not tested\n");
	}

	assert_int_equal(unlink(path), 0);
	assert_int_equal(sym_lookup_jit(c, pid, 0x7f0000001010ull, &r), -ENOENT);
}

/* ---- inline frames, against addr2line -i and llvm-symbolizer --inlining ---- */

static bool have_tool(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* An oracle's frames at one address, innermost first (function "??" when unknown). */
struct oracle_frame {
	char function[160];
	char file[320];
	int line;
};

struct oracle_rec {
	uint64_t addr;
	int n;
	struct oracle_frame f[SYM_FRAMES_MAX];
};

/*
 * Both tools print, per address, a "0x..." line (addr2line -a,
 * llvm-symbolizer --print-address) then pairs of lines: function, then
 * FILE:LINE (addr2line, maybe " (discriminator N)") or FILE:LINE:COLUMN.
 */
static int run_oracle(const char *cmd, bool has_column, struct oracle_rec *recs, int max)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[1024];
	int n = -1;
	bool want_function = true;
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		if (strncmp(line, "0x", 2) == 0) {
			if (++n >= max)
				break;
			recs[n].addr = strtoull(line, NULL, 16);
			recs[n].n = 0;
			want_function = true;
			continue;
		}
		if (n < 0)
			continue;
		struct oracle_rec *r = &recs[n];
		if (want_function) {
			if (r->n < SYM_FRAMES_MAX)
				snprintf(r->f[r->n].function, sizeof(r->f[0].function), "%s", line);
			want_function = false;
			continue;
		}
		want_function = true;
		if (r->n >= SYM_FRAMES_MAX)
			continue;
		char *paren = strstr(line, " (");
		if (paren)
			*paren = '\0';
		char *colon = strrchr(line, ':');
		if (has_column && colon) {
			*colon = '\0';
			colon = strrchr(line, ':');
		}
		r->f[r->n].line = colon ? atoi(colon + 1) : 0;
		if (colon)
			*colon = '\0';
		snprintf(r->f[r->n].file, sizeof(r->f[0].file), "%s", line);
		r->n++;
	}
	pclose(p);
	return n < max ? n + 1 : max;
}

/* A function symbol's range and the PT_LOAD that maps it, read with libelf. */
struct elf_func {
	uint64_t vaddr, size;
	int64_t off_minus_vaddr; /* file offset = vaddr + this */
};

static bool find_elf_func(const char *path, const char *name_part, struct elf_func *out);

/* The value of path's .symtab symbol of that type and name, or 0. */
static uint64_t elf_symbol_value(const char *path, const char *name, int type)
{
	uint64_t v = 0;
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	for (Elf_Scn *scn = NULL; elf && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *nm;
			if (gelf_getsym(d, (int)i, &sym) && GELF_ST_TYPE(sym.st_info) == type &&
			    (nm = elf_strptr(elf, sh.sh_link, sym.st_name)) && strcmp(nm, name) == 0)
				v = sym.st_value;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return v;
}

/* True when a and b are function symbols at one address of path's .symtab (aliases). */
static bool elf_aliases(const char *path, const char *a, const char *b)
{
	uint64_t va = elf_symbol_value(path, a, STT_FUNC);
	return va && va == elf_symbol_value(path, b, STT_FUNC);
}

static bool find_elf_func(const char *path, const char *name_part, struct elf_func *out)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	bool found = false;
	for (Elf_Scn *scn = NULL; !found && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *nm;
			if (gelf_getsym(d, (int)i, &sym) && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
			    sym.st_size && (nm = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
			    strstr(nm, name_part)) {
				out->vaddr = sym.st_value;
				out->size = sym.st_size;
				found = true;
				break;
			}
		}
	}
	size_t nph = 0;
	bool mapped = false;
	elf_getphdrnum(elf, &nph);
	for (size_t i = 0; found && i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    out->vaddr >= ph.p_vaddr && out->vaddr < ph.p_vaddr + ph.p_filesz) {
			out->off_minus_vaddr = (int64_t)ph.p_offset - (int64_t)ph.p_vaddr;
			mapped = true;
		}
	}
	elf_end(elf);
	close(fd);
	return found && mapped;
}

/* Instruction addresses of [lo, hi) in bin, from objdump. */
static size_t insn_addrs(const char *bin, uint64_t lo, uint64_t hi, uint64_t *out, size_t max)
{
	char cmd[4400], line[512];
	snprintf(cmd, sizeof(cmd),
		 "objdump -d --no-show-raw-insn --start-address=0x%" PRIx64
		 " --stop-address=0x%" PRIx64 " '%s'", lo, hi, bin);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = 0;
	while (fgets(line, sizeof(line), p) && n < max) {
		uint64_t a;
		int pos = 0;
		if (line[0] == ' ' && sscanf(line, " %" SCNx64 ":%n", &a, &pos) == 1 && pos > 0 &&
		    a >= lo && a < hi)
			out[n++] = a;
	}
	pclose(p);
	return n;
}

static const char *or_unknown(const char *s)
{
	return s ? s : "??";
}

/*
 * The same source file: both tools join DW_AT_comp_dir to relative names
 * again ("./inet/./inet/x.c" where libdw says "./inet/x.c"), so a relative
 * name of ours matches the end of theirs.
 */
static bool same_file(const char *ours, const char *theirs)
{
	if (!ours)
		return strcmp(theirs, "??") == 0;
	if (strcmp(ours, theirs) == 0)
		return true;
	if (ours[0] == '/')
		return false;
	if (strncmp(ours, "./", 2) == 0)
		ours += 2;
	size_t n = strlen(ours), k = strlen(theirs);
	return k > n && theirs[k - n - 1] == '/' && strcmp(theirs + k - n, ours) == 0;
}

enum { CMP_LINES = 0, CMP_FILES = 1, CMP_NAMES = 2, CMP_QUALIFIED = 4 };

/* ours is theirs qualified: "ns::Cls<int>::" + theirs. */
static bool qualifies(const char *ours, const char *theirs)
{
	size_t n = ours ? strlen(ours) : 0, k = strlen(theirs);
	return n > k + 2 && strcmp(ours + n - k, theirs) == 0 && strncmp(ours + n - k - 2, "::", 2) == 0;
}

/*
 * Our frames at every address against an oracle's: as many frames, the same
 * lines, and what `what` adds. addr2line is trusted for C names only: it names
 * an inlined C++ function that has no DW_AT_linkage_name after the symbol
 * around it, and in libc prefers __GI_ aliases and, at one address with rows
 * of two files, the other file. Prints the differences; returns how many
 * addresses differ, and in *inlined how many had inline frames.
 */
static int compare_frames(struct sym_cache *c, const char *bin, int64_t off_minus_vaddr,
			  const struct oracle_rec *recs, int nrecs, int what, const char *oracle,
			  const char *symtab, int *inlined)
{
	int bad = 0;
	*inlined = 0;
	for (int i = 0; i < nrecs; i++) {
		const struct oracle_rec *r = &recs[i];
		struct sym_frame f[SYM_FRAMES_MAX];
		int n = sym_lookup_frames(c, bin, NULL, (uint64_t)((int64_t)r->addr + off_minus_vaddr),
					  f, SYM_FRAMES_MAX);
		/*
		 * Nothing known to us (padding after a sized symbol, no line row)
		 * while the oracle knows no line either, naming the symbol before.
		 */
		bool same = n == r->n || (n == 0 && r->n == 1 && r->f[0].line == 0);
		/*
		 * One frame named by the symbol table (no DWARF function here, as
		 * in assembly): which alias wins is sym_lookup_func's policy, tested
		 * above; the oracles choose otherwise or say "??". (The memo holds
		 * its own copies of names: compared by content.)
		 */
		struct sym_result sr;
		bool from_symtab = n == 1 &&
				   sym_lookup_func(c, bin, NULL, (uint64_t)((int64_t)r->addr + off_minus_vaddr),
						   &sr) == 0 && sr.function && f[0].function &&
				   strcmp(sr.function, f[0].function) == 0;
		for (int k = 0; same && k < n; k++) {
			same = f[k].line == r->f[k].line &&
			       (!(what & CMP_FILES) || same_file(f[k].file, r->f[k].file)) &&
			       (!(what & CMP_NAMES) || from_symtab ||
				strcmp(or_unknown(f[k].function), r->f[k].function) == 0 ||
				/* The oracle leaves a name without linkage name unqualified. */
				((what & CMP_QUALIFIED) && qualifies(f[k].function, r->f[k].function)) ||
				/*
				 * Assembly CUs hold one DW_TAG_subprogram per alias
				 * (memcpy/memmove variants): each tool takes another.
				 */
				(k == n - 1 && symtab && f[k].function &&
				 elf_aliases(symtab, f[k].function, r->f[k].function)));
		}
		*inlined += n > 1;
		if (same)
			continue;
		if (bad++ >= 10)
			continue;
		print_error("%s at 0x%" PRIx64 ": %d frames, %s %d\n", bin, r->addr, n, oracle, r->n);
		for (int k = 0; k < n || k < r->n; k++)
			print_error("  #%d ours %s %s:%d | %s %s %s:%d\n", k,
				    k < n ? or_unknown(f[k].function) : "-", k < n ? or_unknown(f[k].file) : "-",
				    k < n ? f[k].line : 0, oracle, k < r->n ? r->f[k].function : "-",
				    k < r->n ? r->f[k].file : "-", k < r->n ? r->f[k].line : 0);
	}
	return bad;
}

static bool probe_path(char *bin, size_t len, const char *name)
{
	snprintf(bin, len, "%s/data/symbols/%s", TEST_BINARY_DIR, name);
	if (access(bin, R_OK) == 0)
		return true;
	print_message("skip: %s not built (tests/CMakeLists.txt: add_dependencies(test_symbols ... "
		      "sym_probe_inline sym_probe_inline_g0 sym_probe_inline_cxx))\n", bin);
	return false;
}

/* Frames at every instruction of the probe's hot function, checked against both oracles. */
static void check_inline_probe(struct sym_cache *c, const char *name, const char *hot, bool cxx,
			       const char *const expect[][4], size_t nexpect)
{
	char bin[4096], cmd[65536];
	if (!probe_path(bin, sizeof(bin), name))
		skip();
	if (!have_tool("addr2line") || !have_tool("objdump")) {
		print_message("skip: no addr2line/objdump (binutils) to compare with\n");
		skip();
	}
	struct sym_module_info info;
	assert_int_equal(sym_module_info(c, bin, NULL, &info), 0);
	assert_true(info.has_functions);
	assert_true(info.has_line_numbers);
	assert_true(info.has_inline_frames);

	struct elf_func fn;
	assert_true(find_elf_func(bin, hot, &fn));
	enum { MAXI = 512 };
	uint64_t addrs[MAXI];
	size_t na = insn_addrs(bin, fn.vaddr, fn.vaddr + fn.size, addrs, MAXI);
	assert_true(na > 8);
	struct oracle_rec *recs = calloc(na, sizeof(*recs));
	assert_non_null(recs);

	int len = snprintf(cmd, sizeof(cmd), "addr2line -a -f -i -e '%s'", bin);
	for (size_t i = 0; i < na; i++)
		len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " 0x%" PRIx64, addrs[i]);
	assert_true((size_t)len < sizeof(cmd));
	assert_int_equal(run_oracle(cmd, false, recs, (int)na), (int)na);
	int inlined;
	assert_int_equal(compare_frames(c, bin, fn.off_minus_vaddr, recs, (int)na,
					CMP_FILES | (cxx ? 0 : CMP_NAMES), "addr2line", NULL, &inlined),
			 0);
	print_message("%s: %zu instructions of %s, %d with inline frames, as addr2line -i says\n",
		      name, na, hot, inlined);
	assert_true(inlined > 0);

	if (have_tool("llvm-symbolizer")) {
		/* C++: names demangled from the linkage name, with parameters, as ours. */
		len = snprintf(cmd, sizeof(cmd),
			       "llvm-symbolizer --obj='%s' --inlining --functions=%s --print-address",
			       bin, cxx ? "linkage" : "short");
		for (size_t i = 0; i < na; i++)
			len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " 0x%" PRIx64, addrs[i]);
		assert_int_equal(run_oracle(cmd, true, recs, (int)na), (int)na);
		assert_int_equal(compare_frames(c, bin, fn.off_minus_vaddr, recs, (int)na,
						CMP_FILES | CMP_NAMES | (cxx ? CMP_QUALIFIED : 0),
						"llvm-symbolizer", NULL, &inlined),
				 0);
		print_message("%s: names and lines as llvm-symbolizer --inlining says\n", name);
	} else {
		print_message("no llvm-symbolizer: %s names checked against addr2line only\n", name);
	}

	/* The chains the source spells out appear, innermost first, with their lines. */
	for (size_t e = 0; e < nexpect; e++) {
		bool seen = false;
		for (size_t i = 0; i < na && !seen; i++) {
			struct sym_frame f[SYM_FRAMES_MAX];
			int n = sym_lookup_frames(c, bin, NULL,
						  (uint64_t)((int64_t)addrs[i] + fn.off_minus_vaddr), f,
						  SYM_FRAMES_MAX);
			int k = 0;
			while (k < n && k < 4 && expect[e][k] && f[k].function &&
			       strcmp(f[k].function, expect[e][k]) == 0)
				k++;
			seen = k == n && (k == 4 || !expect[e][k]);
			if (seen) {
				assert_true(ends_with(f[0].file, cxx ? "sym_probe_inline.cpp" :
								       "sym_probe_inline.c"));
				for (int j = 0; j < n; j++)
					assert_true(f[j].line > 0);
			}
		}
		if (!seen)
			print_error("no address of %s has the frames %s <- %s <- %s\n", hot, expect[e][0],
				    or_unknown(expect[e][1]), or_unknown(expect[e][2]));
		assert_true(seen);
	}
	free(recs);
}

static void test_inline_c(void **state)
{
	static const char *const expect[][4] = {
		{"mix", "step", "sym_inline_hot", NULL},
		{"step", "sym_inline_hot", NULL},
		{"mix", "sym_inline_hot", NULL},
		{"sym_inline_hot", NULL},
	};
	check_inline_probe(*state, "sym_probe_inline", "sym_inline_hot", false, expect,
			   sizeof(expect) / sizeof(expect[0]));
}

static void test_inline_cxx(void **state)
{
	/*
	 * Demangled linkage names with their parameters; DW_AT_name qualified
	 * with its namespaces and class where GCC gave no linkage name.
	 */
	static const char *const expect[][4] = {
		{"probe::scale<long int>", "probe::sym_inline_scale_all(long*, int, int)", NULL},
		{"probe::detail::twice<int>", "probe::sym_inline_scale_all(long*, int, int)", NULL},
		{"probe::(anonymous namespace)::Offset<long int>::apply",
		 "probe::sym_inline_scale_all(long*, int, int)", NULL},
	};
	check_inline_probe(*state, "sym_probe_inline_cxx", "sym_inline_scale_all", true, expect,
			   sizeof(expect) / sizeof(expect[0]));
}

/*
 * Names as the language writes them: the symbol table's, the DWARF's and the
 * data symbols' C++ names demangled as `c++filt -i` prints them, with the
 * mangled name beside as the system name; unmangled names pass unchanged.
 */
static void test_demangle(void **state)
{
	struct sym_cache *c = *state;
	char bin[4096];
	if (!probe_path(bin, sizeof(bin), "sym_probe_inline_cxx"))
		skip();
	struct elf_func fn;
	assert_true(find_elf_func(bin, "sym_inline_scale_all", &fn));
	uint64_t off = (uint64_t)((int64_t)fn.vaddr + fn.off_minus_vaddr);
	struct sym_result r;
	assert_int_equal(sym_lookup_func(c, bin, NULL, off, &r), 0);
	assert_string_equal(r.function, "probe::sym_inline_scale_all(long*, int, int)");
	assert_string_equal(r.system_name, "_ZN5probe20sym_inline_scale_allEPlii");
	assert_int_equal(sym_lookup_file(c, bin, NULL, off + 1, &r), 0);
	assert_string_equal(r.function, "probe::sym_inline_scale_all(long*, int, int)");

	/* The out-of-line frame from DWARF's linkage name; an inlined one qualified from its scopes. */
	bool qualified = false;
	for (uint64_t d = 0; d < fn.size; d++) {
		struct sym_frame f[SYM_FRAMES_MAX];
		int n = sym_lookup_frames(c, bin, NULL, off + d, f, SYM_FRAMES_MAX);
		assert_true(n >= 1);
		assert_string_equal(f[n - 1].function, "probe::sym_inline_scale_all(long*, int, int)");
		assert_string_equal(f[n - 1].system_name, "_ZN5probe20sym_inline_scale_allEPlii");
		for (int k = 0; k < n - 1; k++) {
			assert_non_null(f[k].system_name);
			if (strcmp(f[k].function, "probe::detail::twice<int>") == 0) {
				assert_string_equal(f[k].system_name, f[k].function); /* no linkage name */
				qualified = true;
			}
		}
	}
	assert_true(qualified);

	uint64_t hits = elf_symbol_value(bin, "_ZN5probe14sym_probe_hitsE", STT_OBJECT);
	assert_true(hits != 0);
	struct sym_data d;
	assert_int_equal(sym_lookup_data(c, bin, NULL, hits, &d), 0);
	assert_string_equal(d.name, "probe::sym_probe_hits");

	/* The demangler itself: C++ and Rust (legacy and v0), each name demangled once per module. */
	static const char *const cases[][2] = {
		{"_Znwm", "operator new(unsigned long)"},
		{"_ZN3app5AccumIdLi3000EE3runEPKd", "app::Accum<double, 3000>::run(double const*)"},
		{"_ZNSo5flushEv", "std::ostream::flush()"},
		{"_ZN1r4spin17h046ec7fc137bb596E", "r::spin"},
		{"_RNvCs6GmmlP4bgsG_1r4spin", "r::spin"},
		{"_RNvMCs6GmmlP4bgsG_1rINtB2_3AccdE3addB2_", "<r::Acc<f64>>::add"},
		{"_Zebra", "_Zebra"}, /* looks mangled, is not */
		{"memcpy", "memcpy"},
	};
	struct sym_module m = {0};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = sym_demangled(&m, cases[i][0]);
		assert_string_equal(got, cases[i][1]);
		assert_ptr_equal(sym_demangled(&m, cases[i][0]), got);
	}
	assert_ptr_equal(sym_demangled(&m, cases[7][0]), cases[7][0]); /* not even copied */
	sym_dmap_free(&m.names);
}

/* Without DWARF (-g0, or stripped): no inline frames claimed, one frame from the symbol table. */
static void test_inline_none(void **state)
{
	struct sym_cache *c = *state;
	char bin[4096];
	if (!probe_path(bin, sizeof(bin), "sym_probe_inline_g0"))
		skip();
	struct sym_module_info info;
	assert_int_equal(sym_module_info(c, bin, NULL, &info), 0);
	assert_true(info.has_functions);
	assert_false(info.has_line_numbers);
	assert_false(info.has_inline_frames);
	struct elf_func fn;
	assert_true(find_elf_func(bin, "sym_inline_hot", &fn));
	struct sym_frame f[4];
	uint64_t off = (uint64_t)((int64_t)fn.vaddr + fn.off_minus_vaddr);
	for (uint64_t d = 0; d < fn.size; d++) {
		assert_int_equal(sym_lookup_frames(c, bin, NULL, off + d, f, 4), 1);
		assert_string_equal(f[0].function, "sym_inline_hot");
		assert_null(f[0].file);
		assert_int_equal(f[0].line, 0);
	}

	/* Stripped of everything: nothing to name this function with. */
	char stripped[4200];
	snprintf(stripped, sizeof(stripped), "%s/data/symbols/sym_probe_inline.stripped",
		 TEST_BINARY_DIR);
	assert_int_equal(sym_module_info(c, stripped, NULL, &info), 0);
	assert_false(info.has_line_numbers);
	assert_false(info.has_inline_frames);
	char withdwarf[4200];
	snprintf(withdwarf, sizeof(withdwarf), "%s/data/symbols/sym_probe_inline", TEST_BINARY_DIR);
	assert_true(find_elf_func(withdwarf, "sym_inline_hot", &fn));
	off = (uint64_t)((int64_t)fn.vaddr + fn.off_minus_vaddr);
	int n = sym_lookup_frames(c, stripped, NULL, off, f, 4);
	assert_true(n == 0 || (n == 1 && !f[0].file && f[0].line == 0));

	/* The frames of a file with DWARF, cut to max: the innermost ones. */
	struct sym_frame all[SYM_FRAMES_MAX];
	size_t most = 0;
	uint64_t at = 0;
	for (uint64_t d = 0; d < fn.size; d++) {
		int k = sym_lookup_frames(c, withdwarf, NULL, off + d, all, SYM_FRAMES_MAX);
		assert_true(k >= 1);
		assert_string_equal(all[k - 1].function, "sym_inline_hot");
		if ((size_t)k > most) {
			most = (size_t)k;
			at = off + d;
		}
	}
	assert_int_equal(most, 3);
	assert_int_equal(sym_lookup_frames(c, withdwarf, NULL, at, all, SYM_FRAMES_MAX), 3);
	assert_int_equal(sym_lookup_frames(c, withdwarf, NULL, at, f, 2), 2);
	assert_ptr_equal(f[0].function, all[0].function);
	assert_ptr_equal(f[1].function, all[1].function);
	assert_int_equal(f[1].line, all[1].line);
	assert_int_equal(sym_lookup_frames(c, withdwarf, NULL, at, NULL, 0), 0);
	assert_int_equal(sym_lookup_frames(c, "/nonexistent/libnothing.so", NULL, 0, f, 4), -ENOENT);
	assert_int_equal(sym_lookup_frames(c, withdwarf, NULL, UINT64_C(1) << 40, f, 4), 0);
}

/* The executable mapping of libc in this process: its path and file-offset range. */
static void libc_text(char *path, size_t len, uint64_t *lo, uint64_t *hi)
{
	uint64_t off;
	assert_int_equal(file_offset((uintptr_t)libc_symbol("qsort"), path, len, &off), 0);
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4200];
	*lo = *hi = 0;
	while (f && fgets(line, sizeof(line), f)) {
		uintptr_t a, b;
		uint64_t pgoff;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNx64 " %*s %*s %n", &a, &b, perms,
			   &pgoff, &pos) == 4 && pos && perms[2] == 'x' &&
		    strncmp(line + pos, path, strlen(path)) == 0) {
			*lo = pgoff;
			*hi = pgoff + (b - a);
		}
	}
	if (f)
		fclose(f);
	assert_true(*hi > *lo);
}

/*
 * libc's inline frames (with libc6-dbg) at random addresses: depth and lines
 * as addr2line -i says, names and files as llvm-symbolizer says.
 */
static void test_inline_libc(void **state)
{
	struct sym_cache *c = *state;
	char path[4096];
	uint64_t lo, hi;
	libc_text(path, sizeof(path), &lo, &hi);
	struct sym_module_info info;
	assert_int_equal(sym_module_info(c, path, NULL, &info), 0);
	if (!info.has_line_numbers || !have_tool("addr2line")) {
		print_message("skip: no libc DWARF (libc6-dbg) or no addr2line\n");
		skip();
	}
	assert_true(info.has_inline_frames);
	enum { N = 400 };
	static char addrs[N * 20];
	static char cmd[sizeof(addrs) + 4400];
	int len = 0;
	int64_t off_minus_vaddr = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		struct sym_result r;
		uint64_t off = lo + x % (hi - lo);
		assert_int_equal(sym_lookup_func(c, path, NULL, off, &r), 0);
		off_minus_vaddr = (int64_t)off - (int64_t)r.elf_vaddr; /* one segment: one delta */
		len += snprintf(addrs + len, sizeof(addrs) - (size_t)len, " 0x%" PRIx64, r.elf_vaddr);
	}
	struct oracle_rec *recs = calloc(N, sizeof(*recs));
	assert_non_null(recs);
	snprintf(cmd, sizeof(cmd), "addr2line -a -f -i -e '%s'%s", path, addrs);
	assert_int_equal(run_oracle(cmd, false, recs, N), N);
	int inlined;
	int bad = compare_frames(c, path, off_minus_vaddr, recs, N, CMP_LINES, "addr2line", NULL,
				 &inlined);
	print_message("libc: %d random addresses, %d with inline frames, %d differ from addr2line -i\n",
		      N, inlined, bad);
	assert_int_equal(bad, 0);
	assert_true(inlined > N / 20);
	if (have_tool("llvm-symbolizer")) {
		snprintf(cmd, sizeof(cmd),
			 "llvm-symbolizer --obj='%s' --inlining --functions=short --print-address%s", path,
			 addrs);
		assert_int_equal(run_oracle(cmd, true, recs, N), N);
		char dbg[256];
		snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", info.build_id,
			 info.build_id + 2);
		bad = compare_frames(c, path, off_minus_vaddr, recs, N, CMP_FILES | CMP_NAMES,
				     "llvm-symbolizer", access(dbg, R_OK) == 0 ? dbg : path, &inlined);
		print_message("libc: %d differ from llvm-symbolizer --inlining (names, files, lines)\n",
			      bad);
		assert_int_equal(bad, 0);
	}
	free(recs);
}

static bool is_compressed(Elf_Scn *scn, const GElf_Shdr *sh, void *ctx)
{
	(void)scn;
	(void)ctx;
	return (sh->sh_flags & SHF_COMPRESSED) != 0;
}

static bool has_compressed_debug_sections(const char *path)
{
	return any_section(path, is_compressed, NULL);
}

static bool mapped_by_self(const char *path)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4200];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, path) != NULL;
	if (f)
		fclose(f);
	return found;
}

static void remove_tree(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Function, file:line and inline frames at n random libc offsets equal in both caches. */
static void assert_same_answers(struct sym_cache *a, struct sym_cache *b, const char *path,
				uint64_t lo, uint64_t hi, int n)
{
	uint64_t x = 0x2545f4914f6cdd1dull;
	int with_lines = 0;
	for (int i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t off = lo + x % (hi - lo);
		struct sym_result ra, rb;
		assert_int_equal(sym_lookup_file(a, path, NULL, off, &ra), 0);
		assert_int_equal(sym_lookup_file(b, path, NULL, off, &rb), 0);
		assert_string_equal(ra.function ? ra.function : "-", rb.function ? rb.function : "-");
		assert_string_equal(ra.file ? ra.file : "-", rb.file ? rb.file : "-");
		assert_int_equal(ra.line, rb.line);
		with_lines += ra.line > 0;
		struct sym_frame fa[16], fb[16];
		int na = sym_lookup_frames(a, path, NULL, off, fa, 16);
		int nb = sym_lookup_frames(b, path, NULL, off, fb, 16);
		assert_int_equal(na, nb);
		for (int k = 0; k < na; k++) {
			assert_string_equal(fa[k].function ? fa[k].function : "-",
					    fb[k].function ? fb[k].function : "-");
			assert_int_equal(fa[k].line, fb[k].line);
		}
	}
	assert_true(with_lines > n / 2);
}

/*
 * The debug cache: libc's compressed debug file (libc6-dbg) is copied plain
 * under the cache folder, by build id, mapped from there, and answers as the
 * original does; a file under that name that is not the copy is replaced;
 * the least recently used copies go when the folder is over its bound, and
 * stale temporary copies with them; on a nearly full file system no copy is
 * made (and the answers are the same).
 */
static void test_debug_cache(void **state)
{
	(void)state;
	char path[4096], bid[41], dbg[256];
	uint64_t lo, hi;
	libc_text(path, sizeof(path), &lo, &hi);
	assert_int_equal(sym_read_build_id(path, bid), 0);
	snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
	if (!has_compressed_debug_sections(dbg)) {
		print_message("skip: %s is missing or its sections are not compressed (libc6-dbg)\n", dbg);
		skip();
	}
	char dir[128] = "/tmp/pmuprof-test-dcache-XXXXXX", copy[300], cmd[400];
	assert_non_null(mkdtemp(dir));
	/*
	 * Copies are made only with SYM_DEBUG_CACHE_RESERVE free after them: a
	 * smaller /tmp (the arm64 lab guest's, a tmpfs of half its 1 GB) gets
	 * none. There the test makes a tmpfs with room (a bound, not memory taken).
	 */
	uint64_t room = SYM_DEBUG_CACHE_RESERVE + (UINT64_C(256) << 20); /* libc's copy: tens of MB */
	struct statvfs fs;
	assert_int_equal(statvfs(dir, &fs), 0);
	bool mounted = false;
	if ((uint64_t)fs.f_bavail * fs.f_frsize < room) {
		snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=%" PRIu64 "m tmpfs '%s' 2>/dev/null",
			 room >> 20, dir);
		mounted = geteuid() == 0 && system(cmd) == 0;
		if (!mounted) {
			print_message("skip: %s has under %" PRIu64 " MiB free, and mounting a tmpfs "
				      "there needs root\n", dir, room >> 20);
			remove_tree(dir);
			skip();
		}
	}
	strcat(dir, "/nested"); /* made with its parents */
	snprintf(copy, sizeof(copy), "%s/debug/%s.debug", dir, bid);
	char err[256];
	struct sym_cache *plain, *cached;
	assert_int_equal(sym_cache_new(&plain, err, sizeof(err)), 0);
	assert_int_equal(sym_cache_new(&cached, err, sizeof(err)), 0);
	assert_int_equal(sym_cache_set_debug_dir(cached, dir), 0);
	assert_same_answers(plain, cached, path, lo, hi, 200);
	struct stat st;
	assert_int_equal(stat(copy, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_false(has_compressed_debug_sections(copy));
	assert_true(mapped_by_self(copy)); /* libdw reads the copy, not the original */
	sym_cache_free(cached);

	/* Not the copy (here: not ELF at all) under its name: made again. */
	FILE *f = fopen(copy, "w");
	assert_non_null(f);
	fputs("not an ELF file\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sym_cache_new(&cached, err, sizeof(err)), 0);
	assert_int_equal(sym_cache_set_debug_dir(cached, dir), 0);
	assert_same_answers(plain, cached, path, lo, hi, 20);
	char got[41];
	assert_int_equal(sym_read_build_id(copy, got), 0);
	assert_string_equal(got, bid);
	sym_cache_free(cached);
	sym_cache_free(plain);

	/* One byte over the bound: the least recently used goes, the copy just made stays. */
	char old[2][400];
	for (int i = 0; i < 2; i++) {
		snprintf(old[i], sizeof(old[i]), "%s/debug/%08x.debug", dir, 0xdead0000u + (unsigned)i);
		f = fopen(old[i], "w");
		assert_non_null(f);
		assert_int_equal(fputs("x", f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
		struct timespec when[2] = {{1000000000 + i, 0}, {1000000000 + i, 0}};
		assert_int_equal(utimensat(AT_FDCWD, old[i], when, 0), 0);
	}
	assert_int_equal(unlink(copy), 0);
	int fd = open(dbg, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	char *made = NULL;
	int cfd = sym_debug_cache_open(dir, fd, bid, (uint64_t)st.st_size + 1, &made);
	assert_true(cfd >= 0);
	assert_string_equal(made, copy);
	assert_int_equal(access(old[0], F_OK), -1); /* the older first, and only what must go */
	assert_int_equal(access(old[1], F_OK), 0);
	assert_int_equal(access(copy, F_OK), 0);
	close(cfd);
	free(made);
	/* A file whose sections are plain: nothing to gain, nothing made. */
	int pfd = open(copy, O_RDONLY | O_CLOEXEC);
	assert_int_equal(sym_debug_cache_open(dir, pfd, bid, UINT64_MAX, &made), -ENOENT);
	assert_null(made);
	close(pfd);

	/* A stale temporary copy (a run died making it) goes with the next trim; a fresh one stays. */
	char stale[400], fresh[400];
	snprintf(stale, sizeof(stale), "%s/debug/.%s.dead01", dir, bid);
	snprintf(fresh, sizeof(fresh), "%s/debug/.%s.live01", dir, bid);
	for (int i = 0; i < 2; i++) {
		f = fopen(i ? fresh : stale, "w");
		assert_non_null(f);
		assert_int_equal(fclose(f), 0);
	}
	struct timespec long_ago[2] = {{1000000000, 0}, {1000000000, 0}};
	assert_int_equal(utimensat(AT_FDCWD, stale, long_ago, 0), 0);
	assert_int_equal(unlink(copy), 0);
	cfd = sym_debug_cache_open(dir, fd, bid, UINT64_MAX, &made);
	assert_true(cfd >= 0);
	close(cfd);
	free(made);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(fresh, F_OK), 0);

	/* Another user's home (root under sudo keeps it): no root-owned ~/.cache is made there. */
	char home[200], below[300], small[300];
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(below, sizeof(below), "%s/.cache/pmuprof", home);
	assert_int_equal(mkdir(home, 0755), 0);
	if (geteuid() == 0 && chown(home, 65534, 65534) == 0) {
		assert_int_equal(sym_debug_cache_open(below, fd, bid, UINT64_MAX, &made), -EPERM);
		assert_null(made);
		snprintf(small, sizeof(small), "%s/.cache", home);
		assert_int_equal(access(small, F_OK), -1);
	} else {
		print_message("part skipped: another user's folder needs root to make\n");
	}

	/* A nearly full file system: no copy (it keeps its reserve), and the answers stand. */
	snprintf(small, sizeof(small), "%s/small", dir);
	assert_int_equal(mkdir(small, 0700), 0);
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=64m tmpfs '%s' 2>/dev/null", small);
	if (geteuid() == 0 && system(cmd) == 0) {
		assert_int_equal(sym_debug_cache_open(small, fd, bid, UINT64_MAX, &made), -ENOSPC);
		assert_null(made);
		struct sym_cache *tight;
		assert_int_equal(sym_cache_new(&plain, err, sizeof(err)), 0);
		assert_int_equal(sym_cache_new(&tight, err, sizeof(err)), 0);
		assert_int_equal(sym_cache_set_debug_dir(tight, small), 0);
		assert_same_answers(plain, tight, path, lo, hi, 20);
		snprintf(copy, sizeof(copy), "%s/debug/%s.debug", small, bid);
		assert_int_equal(access(copy, F_OK), -1);
		sym_cache_free(tight);
		sym_cache_free(plain);
		snprintf(cmd, sizeof(cmd), "umount '%s'", small);
		assert_int_equal(system(cmd), 0);
	} else {
		print_message("part skipped: mounting a small tmpfs needs root\n");
	}
	close(fd);
	*strrchr(dir, '/') = '\0';
	snprintf(cmd, sizeof(cmd), "umount '%s'", dir);
	assert_true(!mounted || system(cmd) == 0);
	remove_tree(dir);
}

/*
 * More distinct addresses than the memos may hold (a quarter of the byte
 * budget): libc's memo is emptied rather than grown past the bound, and the
 * frames computed again are the same (libc stays: alone over the budget, but
 * the module in use).
 */
static void test_inline_memo_bound(void **state)
{
	struct sym_cache *c = *state;
	char path[4096];
	uint64_t lo, hi;
	libc_text(path, sizeof(path), &lo, &hi);
	struct sym_module_info info;
	assert_int_equal(sym_module_info(c, path, NULL, &info), 0);
	sym_cache_set_budget(c, (size_t)2 << 20);
	assert_int_equal(c->memo_cap, (size_t)512 << 10);
	size_t span = 40000;
	assert_true(hi - lo > span);
	struct sym_frame first[SYM_FRAMES_MAX], f[SYM_FRAMES_MAX];
	int nfirst = sym_lookup_frames(c, path, info.build_id, lo, first, SYM_FRAMES_MAX);
	assert_true(nfirst >= 0);
	char names[SYM_FRAMES_MAX][256], files[SYM_FRAMES_MAX][256]; /* the memo will be emptied */
	for (int k = 0; k < nfirst; k++) {
		snprintf(names[k], sizeof(names[k]), "%s", first[k].function ? first[k].function : "");
		snprintf(files[k], sizeof(files[k]), "%s", first[k].file ? first[k].file : "");
	}
	struct sym_module *m = BASE_ENTRY(c->lru.head, struct sym_module, lru);
	size_t most = 0, emptied = 0, prev = 0;
	for (size_t i = 1; i < span; i++) {
		assert_true(sym_lookup_frames(c, path, info.build_id, lo + i, f, SYM_FRAMES_MAX) >= 0);
		assert_ptr_equal(BASE_ENTRY(c->lru.head, struct sym_module, lru), m);
		assert_int_equal(c->nmodules, 1);
		assert_true(c->memo_bytes <= c->memo_cap);
		if (m->memo.used > most)
			most = m->memo.used;
		emptied += m->memo.used < prev;
		prev = m->memo.used;
	}
	assert_true(most > 4000);
	assert_true(emptied >= 2);
	/* Computed again after the reset: the same answer (in the new memo's copies). */
	assert_int_equal(sym_lookup_frames(c, path, info.build_id, lo, f, SYM_FRAMES_MAX), nfirst);
	for (int k = 0; k < nfirst; k++) {
		assert_string_equal(f[k].function ? f[k].function : "", names[k]);
		assert_string_equal(f[k].file ? f[k].file : "", files[k]);
		assert_int_equal(f[k].line, first[k].line);
	}
	/* Without a budget the memos are bounded all the same. */
	sym_cache_set_budget(c, 0);
	assert_int_equal(c->memo_cap, SYM_MEMO_BYTES_DEFAULT);
}

/* ---- byte budget ---- */

/* The executable PT_LOAD of an ELF file (libelf): its file offsets [lo, hi). */
static bool exec_segment(const char *path, uint64_t *lo, uint64_t *hi)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t n = 0;
	bool found = false;
	if (elf && elf_getphdrnum(elf, &n) == 0) {
		for (size_t i = 0; i < n && !found; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
			    ph.p_filesz > 0) {
				*lo = ph.p_offset;
				*hi = ph.p_offset + ph.p_filesz;
				found = true;
			}
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

enum { BUDGET_ADDRS = 6, BUDGET_FRAMES = 8 };

/* What an unbounded cache says at one address, copied: the reference. */
struct budget_addr {
	uint64_t off;
	int nframes;
	char *function[BUDGET_FRAMES], *file[BUDGET_FRAMES];
	int line[BUDGET_FRAMES];
	char *func_only; /* sym_lookup_func */
};

struct budget_module {
	char path[4096];
	struct budget_addr at[BUDGET_ADDRS];
};

static char *dup_or_null(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	assert_true(!s || d);
	return d;
}

static void budget_reference(struct sym_cache *ref, struct budget_module *bm, uint64_t lo,
			     uint64_t hi)
{
	for (size_t i = 0; i < BUDGET_ADDRS; i++) {
		struct budget_addr *a = &bm->at[i];
		a->off = lo + (hi - lo) * (2 * i + 1) / (2 * BUDGET_ADDRS);
		struct sym_frame f[BUDGET_FRAMES];
		a->nframes = sym_lookup_frames(ref, bm->path, NULL, a->off, f, BUDGET_FRAMES);
		assert_true(a->nframes >= 0);
		for (int k = 0; k < a->nframes; k++) {
			a->function[k] = dup_or_null(f[k].function);
			a->file[k] = dup_or_null(f[k].file);
			a->line[k] = f[k].line;
		}
		struct sym_result r;
		assert_int_equal(sym_lookup_func(ref, bm->path, NULL, a->off, &r), 0);
		a->func_only = dup_or_null(r.function);
	}
}

static void budget_free_reference(struct budget_module *bm)
{
	for (size_t i = 0; i < BUDGET_ADDRS; i++) {
		for (int k = 0; k < bm->at[i].nframes; k++) {
			free(bm->at[i].function[k]);
			free(bm->at[i].file[k]);
		}
		free(bm->at[i].func_only);
	}
}

static void assert_same_string(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

/*
 * Within the budget after every lookup, unless the module just used is the
 * only one left (alone larger than the budget); that one is the head.
 */
static void assert_within_budget(struct sym_cache *c, size_t budget, const char *path,
				 size_t *most)
{
	if (sym_cache_bytes(c) > budget) {
		assert_int_equal(c->nmodules, 1);
		assert_string_equal(BASE_ENTRY(c->lru.head, struct sym_module, lru)->path, path);
	}
	assert_true(c->memo_bytes <= c->memo_cap);
	if (c->nmodules > *most)
		*most = c->nmodules;
}

static void budget_check_addr(struct sym_cache *c, size_t budget, const struct budget_module *bm,
			      const struct budget_addr *a, size_t *most)
{
	struct sym_frame f[BUDGET_FRAMES];
	assert_int_equal(sym_lookup_frames(c, bm->path, NULL, a->off, f, BUDGET_FRAMES), a->nframes);
	for (int k = 0; k < a->nframes; k++) {
		assert_same_string(f[k].function, a->function[k]);
		assert_same_string(f[k].file, a->file[k]);
		assert_int_equal(f[k].line, a->line[k]);
	}
	assert_within_budget(c, budget, bm->path, most);
	struct sym_result r;
	assert_int_equal(sym_lookup_func(c, bm->path, NULL, a->off, &r), 0);
	assert_same_string(r.function, a->func_only);
	assert_within_budget(c, budget, bm->path, most);
}

/*
 * Lookups across the probe binaries, this binary and the system libraries it
 * maps, with budgets from tiny to a few MiB: after each lookup the cache is
 * within its budget (or holds only the module just used, alone larger), and
 * every answer equals an unbounded cache's, through evictions and reloads.
 */
static void test_budget(void **state)
{
	(void)state;
	static const char *const probes[] = {"sym_probe_nopie", "sym_probe_split", "sym_probe_inline",
					     "sym_probe_inline_cxx", "sym_probe_data"};
	const void *mapped[] = {(const void *)(uintptr_t)&sym_test_alpha, libc_symbol("qsort"),
				(const void *)(uintptr_t)&elf_version,
				(const void *)(uintptr_t)&dwfl_begin,
				(const void *)(uintptr_t)&_cmocka_run_group_tests};
	enum { NMOD = sizeof(probes) / sizeof(probes[0]) + sizeof(mapped) / sizeof(mapped[0]) };
	static struct budget_module mods[NMOD];
	char err[256];
	struct sym_cache *ref;
	assert_int_equal(sym_cache_new(&ref, err, sizeof(err)), 0);
	size_t n = 0;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t lo, hi;
		snprintf(mods[n].path, sizeof(mods[n].path), "%s/data/symbols/%s", TEST_BINARY_DIR,
			 probes[i]);
		if (!exec_segment(mods[n].path, &lo, &hi)) {
			print_message("skip: %s not built\n", mods[n].path);
			sym_cache_free(ref);
			skip();
		}
		budget_reference(ref, &mods[n++], lo, hi);
	}
	for (size_t i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++) {
		uint64_t lo, hi, off;
		assert_int_equal(file_offset((uintptr_t)mapped[i], mods[n].path, sizeof(mods[n].path),
					     &off), 0);
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= strcmp(mods[k].path, mods[n].path) == 0;
		if (dup || !exec_segment(mods[n].path, &lo, &hi))
			continue; /* statically linked into this binary, say */
		budget_reference(ref, &mods[n++], lo, hi);
	}
	assert_true(n >= 7);

	/* libdw's share is counted once libc's lines are open (libc6-dbg). */
	char libc[4096];
	uint64_t off;
	assert_int_equal(file_offset((uintptr_t)libc_symbol("qsort"), libc, sizeof(libc), &off), 0);
	struct sym_module_info info;
	assert_int_equal(sym_module_info(ref, libc, NULL, &info), 0);
	if (info.has_line_numbers) {
		assert_string_equal(BASE_ENTRY(ref->lru.head, struct sym_module, lru)->path, libc);
		assert_true(BASE_ENTRY(ref->lru.head, struct sym_module, lru)->dw_bytes >
			    ((size_t)1 << 20));
		print_message(
			"libc with its debug info: %zu KiB accounted, %zu KiB of it libdw's\n",
			BASE_ENTRY(ref->lru.head, struct sym_module, lru)->accounted >> 10,
			BASE_ENTRY(ref->lru.head, struct sym_module, lru)->dw_bytes >> 10);
	}
	size_t everything = sym_cache_bytes(ref); /* all modules, nothing evicted */
	sym_cache_free(ref);

	static const size_t budgets[] = {(size_t)64 << 10, (size_t)512 << 10, (size_t)4 << 20};
	assert_true(everything > budgets[0]); /* the tiny budget must drop and reload */
	for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
		struct sym_cache *c;
		assert_int_equal(sym_cache_new(&c, err, sizeof(err)), 0);
		sym_cache_set_budget(c, budgets[b]);
		size_t most = 0, loaded = 0;
		for (int round = 0; round < 2; round++) { /* module by module, in a turning order */
			for (size_t k = 0; k < n; k++) {
				const struct budget_module *bm = &mods[(k + (size_t)round * 3) % n];
				for (size_t i = 0; i < BUDGET_ADDRS; i++)
					budget_check_addr(c, budgets[b], bm, &bm->at[i], &most);
				assert_int_equal(sym_module_info(c, bm->path, NULL, &info), 0);
				assert_within_budget(c, budgets[b], bm->path, &most);
				size_t now = 0;
				for (struct sym_module *m =
					     BASE_ENTRY(c->lru.head, struct sym_module, lru);
				     m; m = BASE_ENTRY(m->lru.next, struct sym_module, lru))
					now += m->loaded;
				loaded = now > loaded ? now : loaded;
			}
		}
		if (b == 0) { /* address by address across modules: a reload nearly every time */
			for (size_t i = 0; i < 2; i++)
				for (size_t k = 0; k < n; k++)
					budget_check_addr(c, budgets[b], &mods[k], &mods[k].at[i], &most);
		}
		print_message("budget %zu KiB: at most %zu of %zu modules held, %zu with tables\n",
			      budgets[b] >> 10, most, n, loaded);
		assert_true(c->memo_bytes <= c->memo_cap);
		/* Everything dropped: the accounting returns to the empty cache exactly. */
		sym_cache_set_budget(c, 1);
		assert_int_equal(c->nmodules, 0);
		assert_int_equal(c->memo_bytes, 0);
		assert_int_equal(sym_cache_bytes(c), sizeof(*c));
		sym_cache_free(c);
	}
	for (size_t k = 0; k < n; k++)
		budget_free_reference(&mods[k]);
}

/* ---- data symbols ---- */

struct data_obj {
	char name[64];
	uint64_t vaddr, size;
	int64_t off; /* -1: not mapped from the file */
};

/* Runs a data probe: its path and objects. */
static int run_data_probe(const char *name, char *path, size_t len, struct data_obj *objs, int max)
{
	char bin[4096], cmd[4200], line[4400];
	snprintf(bin, sizeof(bin), "%s/data/symbols/%s", TEST_BINARY_DIR, name);
	if (access(bin, X_OK) != 0) {
		print_message("skip: %s not built\n", bin);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "'%s'", bin);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	int n = 0;
	path[0] = '\0';
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "PATH ", 5) == 0) {
			snprintf(path, len, "%s", line + 5);
			continue;
		}
		assert_true(n < max);
		struct data_obj *o = &objs[n++];
		assert_int_equal(sscanf(line, "%63s %" SCNx64 " %" SCNu64 " %" SCNd64, o->name, &o->vaddr,
					&o->size, &o->off), 4);
	}
	assert_int_equal(pclose(p), 0);
	assert_string_equal(path, bin);
	return n;
}

static struct sym_module *module_of(struct sym_cache *c, const char *path)
{
	for (struct sym_module *m = BASE_ENTRY(c->lru.head, struct sym_module, lru); m;
	     m = BASE_ENTRY(m->lru.next, struct sym_module, lru))
		if (strcmp(m->path, path) == 0)
			return m;
	return NULL;
}

/*
 * Globals and statics in .data, .bss and .rodata, an array entered in the
 * middle, a weak alias, a size-0 label: exact names, starts and sizes, from
 * the PIE's .symtab and from the debug file of its stripped copy. The data
 * table is read only when first asked for, and counts in the cache's bytes.
 */
static void check_data_probe(struct sym_cache *c, const char *name)
{
	char path[4096];
	struct data_obj objs[16];
	int n = run_data_probe(name, path, sizeof(path), objs, 16);
	assert_int_equal(n, 7);

	struct sym_result r;
	assert_int_equal(sym_lookup_func(c, path, NULL, 0, &r), 0);
	struct sym_module *m = module_of(c, path);
	assert_non_null(m);
	assert_int_equal(m->data_state, 0); /* functions alone read no data symbols */
	assert_int_equal(m->data.bytes, 0);
	size_t before = sym_cache_bytes(c);

	struct sym_data d;
	int tail_checked = 0;
	for (int i = 0; i < n; i++) {
		const struct data_obj *o = &objs[i];
		assert_int_equal(sym_lookup_data(c, path, NULL, o->vaddr, &d), 0);
		assert_string_equal(d.name, o->name); /* data_counter, not its weak alias */
		assert_int_equal(d.start, o->vaddr);
		assert_int_equal(d.size, o->size);
		if (o->size > 1) {
			assert_int_equal(sym_lookup_data(c, path, NULL, o->vaddr + o->size - 1, &d), 0);
			assert_string_equal(d.name, o->name);
			assert_int_equal(d.start, o->vaddr);
		}
		if (o->size == 0) { /* the label names its address, not the bytes after it */
			assert_int_equal(sym_lookup_data(c, path, NULL, o->vaddr + 1, &d), -ENOENT);
			assert_null(d.name);
		}
		if (o->off >= 0) {
			uint64_t v = 0;
			assert_int_equal(sym_offset_to_vaddr(c, path, NULL, (uint64_t)o->off, &v), 0);
			assert_int_equal(v, o->vaddr);
			tail_checked += strcmp(o->name, "bss_buffer") == 0;
		}
	}
	/* bss_buffer shares the last page mapped from the file with .data. */
	assert_int_equal(tail_checked, 1);
	/* The middle of the array: the array, at an offset. */
	const struct data_obj *table = NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(objs[i].name, "data_table") == 0)
			table = &objs[i];
	assert_non_null(table);
	assert_int_equal(sym_lookup_data(c, path, NULL, table->vaddr + 8 * 20 + 3, &d), 0);
	assert_string_equal(d.name, "data_table");
	assert_int_equal(table->vaddr + 8 * 20 + 3 - d.start, 163);
	assert_int_equal(d.size, 512);
	/* Nothing there: the ELF header; TLS symbols (value 0) are not data addresses. */
	assert_int_equal(sym_lookup_data(c, path, NULL, 0, &d), -ENOENT);

	m = module_of(c, path);
	assert_non_null(m);
	assert_int_equal(m->data_state, 1);
	assert_true(m->data.n >= 7);
	assert_true(m->data.bytes > 0);
	assert_true(sym_cache_bytes(c) >= before + m->data.bytes);
}

static void test_data(void **state)
{
	struct sym_cache *c = *state;
	check_data_probe(c, "sym_probe_data");
	check_data_probe(c, "sym_probe_data_split"); /* .symtab from the .gnu_debuglink file */

	struct sym_data d;
	uint64_t v;
	assert_int_equal(sym_lookup_data(c, "/nonexistent/libnothing.so", NULL, 0x1000, &d), -ENOENT);
	assert_int_equal(sym_offset_to_vaddr(c, "/nonexistent/libnothing.so", NULL, 0, &v), -ENOENT);
	assert_int_equal(sym_lookup_data(c, TEST_DATA_DIR "/symbols/kallsyms.txt", NULL, 0, &d), -ENOENT);

	/*
	 * A library's data (.symtab with libc6-dbg, else .dynsym): environ lies in
	 * the anonymous part of .bss, so its vaddr comes from the load bias.
	 */
	char libc[4096];
	uint64_t off;
	assert_int_equal(file_offset((uintptr_t)libc_symbol("qsort"), libc, sizeof(libc), &off), 0);
	void *environ_addr = libc_symbol("environ");
	Dl_info dli;
	struct link_map *lm = NULL;
	assert_true(dladdr1(environ_addr, &dli, (void **)&lm, RTLD_DL_LINKMAP) != 0);
	assert_non_null(lm);
	v = (uintptr_t)environ_addr - lm->l_addr;
	assert_int_equal(sym_lookup_data(c, libc, NULL, v, &d), 0);
	/* Aliases environ, _environ (WEAK) and __environ (GLOBAL): the global one, as for functions. */
	assert_string_equal(d.name, "__environ");
	assert_int_equal(d.start, v);
	assert_int_equal(d.size, sizeof(char **));
}

/* sym_offset_to_vaddr on the PIE probe against the program headers readelf -l prints. */
static void test_offset_to_vaddr(void **state)
{
	struct sym_cache *c = *state;
	char bin[4096], cmd[4200], line[512];
	snprintf(bin, sizeof(bin), "%s/data/symbols/sym_probe_data", TEST_BINARY_DIR);
	if (access(bin, R_OK) != 0 || !have_tool("readelf")) {
		print_message("skip: %s not built, or no readelf\n", bin);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "readelf -lW '%s'", bin);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	struct {
		uint64_t off, vaddr, filesz, memsz;
	} seg[16];
	int n = 0;
	while (fgets(line, sizeof(line), p)) {
		char type[32];
		if (sscanf(line, "%31s", type) != 1 || strcmp(type, "LOAD") != 0)
			continue;
		assert_true(n < 16);
		assert_int_equal(sscanf(line, " LOAD %" SCNx64 " %" SCNx64 " %*s %" SCNx64 " %" SCNx64,
					&seg[n].off, &seg[n].vaddr, &seg[n].filesz, &seg[n].memsz), 4);
		n++;
	}
	assert_int_equal(pclose(p), 0);
	assert_true(n >= 2);
	int tails = 0;
	for (int i = 0; i < n; i++) {
		uint64_t v;
		assert_int_equal(sym_offset_to_vaddr(c, bin, NULL, seg[i].off, &v), 0);
		assert_int_equal(v, seg[i].vaddr);
		assert_int_equal(sym_offset_to_vaddr(c, bin, NULL, seg[i].off + seg[i].filesz - 1, &v), 0);
		assert_int_equal(v, seg[i].vaddr + seg[i].filesz - 1);
		/* Past the file bytes, inside memsz: the .bss in the last mapped page. */
		uint64_t past = seg[i].off + seg[i].filesz;
		bool held = false;
		for (int k = 0; k < n; k++)
			held |= past >= seg[k].off && past < seg[k].off + seg[k].filesz;
		if (seg[i].memsz > seg[i].filesz && !held) {
			assert_int_equal(sym_offset_to_vaddr(c, bin, NULL, past, &v), 0);
			assert_int_equal(v, seg[i].vaddr + seg[i].filesz);
			tails++;
		}
	}
	assert_int_equal(tails, 1);
	uint64_t v;
	assert_int_equal(sym_offset_to_vaddr(c, bin, NULL, UINT64_C(1) << 40, &v), -ERANGE);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct code_range {
	uint64_t lo, hi; /* file offsets */
};

/* Keeps the largest executable section's file range (any_section: never "found"). */
static bool largest_code(Elf_Scn *scn, const GElf_Shdr *sh, void *ctx)
{
	(void)scn;
	struct code_range *r = ctx;
	if (sh->sh_type == SHT_PROGBITS && (sh->sh_flags & SHF_EXECINSTR) &&
	    sh->sh_size > r->hi - r->lo) {
		r->lo = sh->sh_offset;
		r->hi = sh->sh_offset + sh->sh_size;
	}
	return false;
}

/*
 * One lookup into libc's table must cost well under 1 µs: function only
 * (sym_lookup_func), and with file and line (sym_lookup_file), whose cost is
 * libdw's binary search in the CU's line table, mostly cache misses at
 * random addresses.
 */
static double time_lookups(struct sym_cache *c, const char *path, const char *build_id,
			   const uint64_t *offs, size_t noffs, size_t n, bool lines, size_t *named)
{
	struct sym_result r;
	*named = 0;
	double t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		int ret = lines ? sym_lookup_file(c, path, build_id, offs[i % noffs], &r) :
				  sym_lookup_func(c, path, build_id, offs[i % noffs], &r);
		assert_int_equal(ret, 0);
		*named += r.function != NULL;
	}
	return (now_ns() - t0) / (double)n;
}

static void test_speed(void **state)
{
	struct sym_cache *c = *state;
	char path[4096];
	uint64_t off;
	assert_int_equal(file_offset((uintptr_t)libc_symbol("qsort"), path, sizeof(path), &off), 0);
	struct sym_module_info info;
	assert_int_equal(sym_module_info(c, path, NULL, &info), 0);

	/*
	 * Offsets spread over libc's code: its largest executable section (.text),
	 * not its executable mapping, which on arm64 also holds the headers,
	 * .dynsym, .rodata and .eh_frame (one R+X segment from offset 0).
	 */
	struct code_range code = {0};
	any_section(path, largest_code, &code);
	uint64_t lo = code.lo, hi = code.hi;
	assert_true(hi > lo);
	enum { NOFF = 4096, N = 1000000 };
	static uint64_t offs[NOFF];
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < NOFF; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		offs[i] = lo + x % (hi - lo);
	}
	size_t named;
	/* Warm: the line tables of the CUs touched are decoded once. */
	time_lookups(c, path, info.build_id, offs, NOFF, NOFF, true, &named);
	double func = time_lookups(c, path, info.build_id, offs, NOFF, N, false, &named);
	size_t func_named = named;
	double lines = time_lookups(c, path, info.build_id, offs, NOFF, N, true, &named);
	double by_path = time_lookups(c, path, NULL, offs, NOFF, N / 10, false, &named);
	print_message("libc, %d lookups at %d random offsets: %.0f ns function only (%zu%% named), "
		      "%.0f ns with file:line; %.0f ns keyed by path (a stat each)\n",
		      N, NOFF, func, func_named * 100 / N, lines, by_path);
	assert_true(func_named > N / 2);
	/* Under an emulator (the lab's arm64 guest) the speed is the emulator's. */
	bool timed = !getenv("PMUPROF_TEST_EMULATED");
	assert_true(!timed || func < 2000);
	assert_true(!timed || lines < 5000);

	/*
	 * Inline frames: cold on a fresh cache (libdw decodes each CU's DIEs
	 * and lines on first touch), a memo miss once libdw is warm (the scope
	 * walk alone), and warm (memo hits, as hot addresses repeat).
	 */
	char err[256];
	struct sym_cache *fresh;
	assert_int_equal(sym_cache_new(&fresh, err, sizeof(err)), 0);
	struct sym_frame fr[SYM_FRAMES_MAX];
	size_t deep = 0, nframes = 0;
	double t0 = now_ns();
	for (size_t i = 0; i < NOFF; i++)
		nframes += (size_t)sym_lookup_frames(fresh, path, info.build_id, offs[i], fr, SYM_FRAMES_MAX);
	double cold = (now_ns() - t0) / NOFF;
	struct sym_memo *mm = &BASE_ENTRY(fresh->lru.head, struct sym_module, lru)->memo;
	memset(mm->index.slot, 0, mm->index.cap * sizeof(*mm->index.slot));
	mm->index.n = mm->used = mm->nframes = 0;
	t0 = now_ns();
	for (size_t i = 0; i < NOFF; i++)
		deep += sym_lookup_frames(fresh, path, info.build_id, offs[i], fr, SYM_FRAMES_MAX) > 1;
	double miss = (now_ns() - t0) / NOFF;
	t0 = now_ns();
	for (size_t i = 0; i < N; i++)
		sym_lookup_frames(fresh, path, info.build_id, offs[i % NOFF], fr, SYM_FRAMES_MAX);
	double warm = (now_ns() - t0) / N;
	sym_cache_free(fresh);
	print_message("libc inline frames at the same offsets (%zu%% inlined, %.2f frames each): "
		      "%.0f ns cold (fresh cache), %.0f ns memo miss (libdw warm), %.0f ns warm\n",
		      deep * 100 / NOFF, (double)nframes / NOFF, cold, miss, warm);
	assert_true(!timed || warm < 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases_and_gaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nopie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debuglink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kallsyms_file, setup, teardown),
		cmocka_unit_test(test_kallsyms_caller_addr),
		cmocka_unit_test_setup_teardown(test_kallsyms_real, setup, teardown),
		cmocka_unit_test(test_kallsyms_loader_vs_reference),
		cmocka_unit_test_setup_teardown(test_jit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lru, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_module_per_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_cxx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demangle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_libc, setup, teardown),
		cmocka_unit_test(test_debug_cache),
		cmocka_unit_test_setup_teardown(test_inline_memo_bound, setup, teardown),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_budget),
		cmocka_unit_test_setup_teardown(test_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offset_to_vaddr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_speed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
