/*
 * Aggregation's deferred symbolization: a sample's locations are added
 * without lines and nothing is looked up while samples come in (the
 * symbolization summary stays empty); the profile agg_profile hands out has
 * every address named, once. The file is held from the first sample on: a
 * binary deleted, or replaced by another file under its path, before the
 * profile is handed out still names its functions. Binaries nobody holds
 * any more can be dropped at once. A kernel caller frame at a function's
 * first byte is named the function, not the __pfx_ padding before it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "binary.h"
#include "engine.h"
#include "symbols.h"
#include "profile.pb-c.h"

#define PID 4242

/* The function the samples hit; named from this test's own binary. */
int agg_test_target(int x);
__attribute__((noinline)) int agg_test_target(int x)
{
	return x * 3 + 1;
}

/* The mapping of this binary's code holding addr: [start, end) at file offset pgoff. */
static void own_mapping(uint64_t addr, uint64_t *start, uint64_t *end, uint64_t *pgoff)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		if (sscanf(line, "%llx-%llx %*s %llx", &s, &e, &off) == 3 && addr >= s &&
		    addr < e) {
			*start = s;
			*end = e;
			*pgoff = off;
			found = true;
		}
	}
	fclose(f);
	assert_true(found);
}

/* A copy of this test's binary at path. */
static void copy_self(const char *path)
{
	FILE *in = fopen("/proc/self/exe", "rb"), *out = fopen(path, "wb");
	assert_non_null(in);
	assert_non_null(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* The profile read back from its encoding (pprof_read_free it). */
static struct pprof_read *read_back(struct pprof *prof)
{
	char err[BASE_ERR_MAX];
	uint8_t *raw;
	size_t rawlen;
	assert_int_equal(pprof_encode(prof, &raw, &rawlen, err, sizeof(err)), 0);
	struct pprof_read *r;
	assert_int_equal(pprof_read_mem(&r, "agg", raw, rawlen, 0, err, sizeof(err)), 0);
	free(raw);
	return r;
}

/* The function name of the only sample's i-th location (it has one line), and its address. */
static const char *frame_name(const Perftools__Profiles__Profile *m, size_t i, uint64_t *address)
{
	assert_int_equal(m->n_sample, 1);
	assert_true(m->sample[0]->n_location_id > i);
	const Perftools__Profiles__Location *loc = NULL;
	for (size_t j = 0; j < m->n_location; j++)
		if (m->location[j]->id == m->sample[0]->location_id[i])
			loc = m->location[j];
	assert_non_null(loc);
	assert_int_equal(loc->n_line, 1);
	const Perftools__Profiles__Function *fn = NULL;
	for (size_t j = 0; j < m->n_function; j++)
		if (m->function[j]->id == loc->line[0]->function_id)
			fn = m->function[j];
	assert_non_null(fn);
	*address = loc->address;
	return m->string_table[fn->name];
}

/* The function name of the profile's only sample's leaf, read back from its encoding. */
static void leaf_name(struct pprof *prof, char *name, size_t len)
{
	struct pprof_read *r = read_back(prof);
	const Perftools__Profiles__Profile *m = pprof_read_message(r);
	uint64_t address;
	snprintf(name, len, "%s", frame_name(m, 0, &address));
	assert_int_equal(m->n_mapping, 1);
	assert_true(m->mapping[0]->has_functions); /* known once the file was read, at the end */
	pprof_read_free(r);
}

/*
 * Samples at agg_test_target in a copy of this binary, which `gone` then
 * deletes (or replaces by another file); the profile names the function.
 */
static void check_held(const char *gone)
{
	char dir[] = "/tmp/pmuprof-test-agg-XXXXXX", path[64], other[80], err[BASE_ERR_MAX];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/app", dir);
	copy_self(path);
	uint64_t ip = (uint64_t)(uintptr_t)&agg_test_target, start = 0, end = 0, pgoff = 0;
	own_mapping(ip, &start, &end, &pgoff);

	struct proc_model *procs;
	assert_int_equal(proc_model_new(&procs), 0);
	assert_int_equal(proc_on_mmap(procs, PID, start, end - start, pgoff, path, NULL,
				      PROT_READ | PROT_EXEC, MAP_PRIVATE),
			 0);
	static const char *const names[] = {"cpu-clock"};
	struct agg_options o = {.event_names = names, .nevents = 1, .symbolize = true};
	struct agg *a;
	assert_int_equal(agg_new(&a, &o, procs, err, sizeof(err)), 0);
	struct pabi_sample s = {.ip = ip, .pid = PID, .tid = PID, .period = 1};
	for (int i = 0; i < 3; i++)
		assert_int_equal(agg_add_sample(a, 0, &s), 0);
	char line[512];
	/* Nothing was looked up while the samples came in. */
	assert_int_equal(agg_symbolize_summary(a, line, sizeof(line)), 0);

	if (strcmp(gone, "deleted") == 0) {
		assert_int_equal(unlink(path), 0);
	} else {
		snprintf(other, sizeof(other), "%s/other", dir);
		FILE *f = fopen(other, "w");
		assert_non_null(f);
		fputs("not the binary the samples ran\n", f);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(rename(other, path), 0);
	}
	char name[256];
	leaf_name(agg_profile(a), name, sizeof(name));
	assert_string_equal(name, "agg_test_target");
	assert_true(agg_symbolize_summary(a, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "symbolization: 1 distinct addresses"));
	/* Handed out again: nothing left to look up. */
	leaf_name(agg_profile(a), name, sizeof(name));
	assert_true(agg_symbolize_summary(a, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "symbolization: 1 distinct addresses"));

	agg_free(a);
	proc_model_free(procs);
	unlink(path);
	rmdir(dir);
	(void)agg_test_target(1);
}

/* What sym_cache_unload lets go of: binaries nobody holds, not the ones held. */
static void test_drop_unused_binaries(void **state)
{
	(void)state;
	struct bin_cache *bins;
	assert_int_equal(bin_cache_new(&bins), 0);
	int err;
	struct bin *held = bin_get(bins, "/proc/self/exe", &err);
	assert_non_null(held);
	bin_hold(bins, held);
	struct bin *other = bin_get(bins, "/bin/sh", &err);
	assert_non_null(other);
	bin_put(bins, other);
	bin_put(bins, held);
	assert_int_equal(bin_cache_count(bins), 2); /* unused ones stay cached */
	bin_cache_drop_unused(bins);
	assert_int_equal(bin_cache_count(bins), 1); /* held once more */
	assert_int_equal(held->status, 0);
	bin_put(bins, held);
	bin_cache_drop_unused(bins);
	assert_int_equal(bin_cache_count(bins), 0);
	bin_cache_free(bins);
}

static void test_symbolized_at_the_end_deleted(void **state)
{
	(void)state;
	check_held("deleted");
}

static void test_symbolized_at_the_end_replaced(void **state)
{
	(void)state;
	check_held("replaced");
}

/*
 * A function X after its padding symbol __pfx_X in /proc/kallsyms, as the
 * cache names them (X from x to at least x + 6, __pfx_X before x); false
 * when there is none.
 */
static bool kernel_padded_function(struct sym_cache *c, uint64_t *x, char *name, size_t len)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	if (!f)
		return false;
	char line[600], pfx[520] = "", sym[520];
	unsigned long long addr, pfx_addr = 0;
	char type;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %519s", &addr, &type, sym) != 3)
			continue;
		struct sym_result r, p;
		if (pfx[0] && addr == pfx_addr + 16 && strcmp(sym, pfx + 6) == 0 &&
		    sym_lookup_kernel(c, addr + 6, &r) == 0 && r.function &&
		    strcmp(r.function, sym) == 0 && r.func_start == addr &&
		    sym_lookup_kernel(c, addr - 1, &p) == 0 && p.function &&
		    strcmp(p.function, pfx) == 0) {
			*x = addr;
			snprintf(name, len, "%s", sym);
			found = true;
		}
		pfx[0] = '\0';
		if (strncmp(sym, "__pfx_", 6) == 0) {
			snprintf(pfx, sizeof(pfx), "%s", sym);
			pfx_addr = addr;
		}
	}
	fclose(f);
	return found;
}

/*
 * A kernel callchain's caller frame at a function's first byte (an
 * interrupted instruction: the kernel's unwinder crossed an exception or
 * interrupt frame) is named the function, not the __pfx_ padding before it;
 * a return address past the first byte is named at the call, address - 1.
 */
static void test_kernel_frame_after_padding(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX], name[520];
	struct proc_model *procs;
	assert_int_equal(proc_model_new(&procs), 0);
	static const char *const names[] = {"cpu-clock"};
	struct agg_options o = {.event_names = names, .nevents = 1, .symbolize = true};
	struct agg *a;
	assert_int_equal(agg_new(&a, &o, procs, err, sizeof(err)), 0);
	uint64_t x = 0;
	if (!sym_kernel_available(agg_symbols(a)) ||
	    !kernel_padded_function(agg_symbols(a), &x, name, sizeof(name))) {
		agg_free(a);
		proc_model_free(procs);
		print_message("skip: no readable /proc/kallsyms with __pfx_ padding symbols\n");
		skip();
	}
	/* Leaf x + 2, called from x (interrupted at its first byte), called from x + 7. */
	const uint64_t chain[] = {PERF_CONTEXT_KERNEL, x + 2, x, x + 7};
	struct pabi_sample s = {.ip = x + 2, .pid = PID, .tid = PID, .period = 1,
				.misc = PERF_RECORD_MISC_KERNEL, .nr_callchain = 4, .callchain = chain};
	assert_int_equal(agg_add_sample(a, 0, &s), 0);

	struct pprof_read *r = read_back(agg_profile(a));
	const Perftools__Profiles__Profile *m = pprof_read_message(r);
	assert_int_equal(m->n_sample, 1);
	assert_int_equal(m->sample[0]->n_location_id, 3);
	const uint64_t want_addr[] = {x + 2, x, x + 6};
	for (size_t i = 0; i < 3; i++) {
		uint64_t address;
		assert_string_equal(frame_name(m, i, &address), name);
		assert_int_equal(address, want_addr[i]);
	}
	pprof_read_free(r);
	agg_free(a);
	proc_model_free(procs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbolized_at_the_end_deleted),
		cmocka_unit_test(test_symbolized_at_the_end_replaced),
		cmocka_unit_test(test_drop_unused_binaries),
		cmocka_unit_test(test_kernel_frame_after_padding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
