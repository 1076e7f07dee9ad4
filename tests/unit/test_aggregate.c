/*
 * Aggregation's deferred symbolization: a sample's locations are added
 * without lines and nothing is looked up while samples come in (the
 * symbolization summary stays empty); the profile agg_profile hands out has
 * every address named, once. The file is held from the first sample on: a
 * binary deleted, or replaced by another file under its path, before the
 * profile is handed out still names its functions. Binaries nobody holds
 * any more can be dropped at once.
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

/* The function names of the profile's only sample's leaf, read back from its encoding. */
static void leaf_name(struct pprof *prof, char *name, size_t len)
{
	char err[BASE_ERR_MAX];
	uint8_t *raw;
	size_t rawlen;
	assert_int_equal(pprof_encode(prof, &raw, &rawlen, err, sizeof(err)), 0);
	struct pprof_read *r;
	assert_int_equal(pprof_read_mem(&r, "agg", raw, rawlen, 0, err, sizeof(err)), 0);
	free(raw);
	const Perftools__Profiles__Profile *m = pprof_read_message(r);
	assert_int_equal(m->n_sample, 1);
	assert_true(m->sample[0]->n_location_id >= 1);
	const Perftools__Profiles__Location *loc = NULL;
	for (size_t i = 0; i < m->n_location; i++)
		if (m->location[i]->id == m->sample[0]->location_id[0])
			loc = m->location[i];
	assert_non_null(loc);
	assert_int_equal(loc->n_line, 1);
	const Perftools__Profiles__Function *fn = NULL;
	for (size_t i = 0; i < m->n_function; i++)
		if (m->function[i]->id == loc->line[0]->function_id)
			fn = m->function[i];
	assert_non_null(fn);
	snprintf(name, len, "%s", m->string_table[fn->name]);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbolized_at_the_end_deleted),
		cmocka_unit_test(test_symbolized_at_the_end_replaced),
		cmocka_unit_test(test_drop_unused_binaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
