/*
 * Unit tests of pmu_mem_events: the data-address sampling events chosen for
 * synthetic hosts (tests/data/sysfs-pebs/{skylake,alderlake}: Intel PEBS;
 * tests/data/sysfs-ibs/{zen5,zen3}: AMD IBS with and without the ldlat
 * filter; tests/data/sysfs: a core PMU with loads but no mem-stores; and a
 * tree made here with software PMUs only, like this VM) checked for the
 * exact attrs, names and error messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmu_internal.h"

#define EXTRA                                                                              \
	(PERF_SAMPLE_ADDR | PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_WEIGHT | PERF_SAMPLE_PHYS_ADDR)
#define FULL                                                                               \
	(EXTRA | PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |  \
	 PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD)

static struct pmu_ctx *open_tree(const char *sub)
{
	char root[512], err[BASE_ERR_MAX];
	snprintf(root, sizeof(root), "%s/%s", TEST_DATA_DIR, sub);
	struct pmu_ctx *ctx = NULL;
	if (pmu_ctx_new(&ctx, root, err, sizeof(err)) < 0)
		fail_msg("%s: %s", root, err);
	return ctx;
}

struct want {
	const char *name;
	uint32_t type;
	uint64_t config, config1;
	unsigned precise;
	int leader, group_size;
	bool cpu_wide;
};

static void check(const struct pmu_event_list *l, size_t from, const struct want *w, size_t n)
{
	assert_int_equal(l->n, from + n);
	for (size_t i = 0; i < n; i++) {
		const struct pmu_event *ev = &l->ev[from + i];
		const struct perf_event_attr *a = &ev->attr;
		if (strcmp(ev->name, w[i].name) != 0 || a->type != w[i].type ||
		    a->config != w[i].config || a->config1 != w[i].config1 ||
		    a->precise_ip != w[i].precise)
			fail_msg("event %zu: '%s' type %u config %#llx config1 %#llx precise %u; "
				 "expected '%s' %u %#llx %#llx %u",
				 i, ev->name, a->type, (unsigned long long)a->config,
				 (unsigned long long)a->config1, a->precise_ip, w[i].name, w[i].type,
				 (unsigned long long)w[i].config, (unsigned long long)w[i].config1,
				 w[i].precise);
		assert_int_equal(a->sample_type, FULL);
		assert_int_equal(ev->sample_type_extra, EXTRA);
		assert_int_equal(ev->leader, (int)from + w[i].leader);
		if (ev->leader == (int)(from + i))
			assert_int_equal(ev->group_size, w[i].group_size);
		assert_int_equal(ev->cpu_wide_only, w[i].cpu_wide);
		assert_int_equal(a->exclude_user | a->exclude_kernel | a->exclude_hv, 0);
	}
}

static void test_pebs_skylake(void **state)
{
	(void)state;
	struct pmu_ctx *ctx = open_tree("sysfs-pebs/skylake");
	struct pmu_event_list l = {0};
	char err[BASE_ERR_MAX];
	/* perf c2c record's pair: loads with the default threshold 30, stores. */
	assert_int_equal(pmu_mem_events(ctx, true, true, 0, &l, err, sizeof(err)), 0);
	const struct want both[] = {
		{"cpu/mem-loads,ldlat=30/P", PERF_TYPE_RAW, 0x01cd, 30, 3, 0, 1, false},
		{"cpu/mem-stores/P", PERF_TYPE_RAW, 0x82d0, 0, 3, 1, 1, false},
	};
	check(&l, 0, both, 2);
	assert_string_equal(l.notice, "");
	pmu_event_list_free(&l);

	/* Loads only, own threshold, appended after an event already in the list. */
	assert_int_equal(pmu_parse_events(ctx, "cycles", &l, err, sizeof(err)), 0);
	assert_int_equal(pmu_mem_events(ctx, true, false, 50, &l, err, sizeof(err)), 0);
	const struct want loads[] = {
		{"cpu/mem-loads,ldlat=50/P", PERF_TYPE_RAW, 0x01cd, 50, 3, 0, 1, false},
	};
	check(&l, 1, loads, 1);
	assert_string_equal(l.ev[0].name, "cycles");
	assert_int_equal(l.ev[0].sample_type_extra, 0);
	pmu_event_list_free(&l);

	/* Stores only. */
	assert_int_equal(pmu_mem_events(ctx, false, true, 0, &l, err, sizeof(err)), 0);
	const struct want stores[] = {{"cpu/mem-stores/P", PERF_TYPE_RAW, 0x82d0, 0, 3, 0, 1, false}};
	check(&l, 0, stores, 1);
	pmu_event_list_free(&l);

	/* A threshold wider than the ldlat field is the parser's range error. */
	assert_int_equal(pmu_mem_events(ctx, true, false, 70000, &l, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "does not fit term 'ldlat'"));
	assert_int_equal(l.n, 0);
	pmu_event_list_free(&l);
	pmu_ctx_free(ctx);
}

static void test_pebs_hybrid(void **state)
{
	(void)state;
	struct pmu_ctx *ctx = open_tree("sysfs-pebs/alderlake");
	struct pmu_event_list l = {0};
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_mem_events(ctx, true, true, 0, &l, err, sizeof(err)), 0);
	/* P-cores: loads grouped behind mem-loads-aux, as the kernel requires; then E-cores. */
	const struct want w[] = {
		{"cpu_core/mem-loads-aux/P", PERF_TYPE_RAW, 0x8203, 0, 3, 0, 2, false},
		{"cpu_core/mem-loads,ldlat=30/P", PERF_TYPE_RAW, 0x01cd, 30, 3, 0, 0, false},
		{"cpu_core/mem-stores/P", PERF_TYPE_RAW, 0x02cd, 0, 3, 2, 1, false},
		{"cpu_atom/mem-loads,ldlat=30/P", 10, 0x05d0, 30, 3, 3, 1, false},
		{"cpu_atom/mem-stores/P", 10, 0x06d0, 0, 3, 4, 1, false},
	};
	check(&l, 0, w, 5);
	pmu_event_list_free(&l);
	pmu_ctx_free(ctx);
}

static void test_ibs(void **state)
{
	(void)state;
	struct pmu_ctx *ctx = open_tree("sysfs-ibs/zen5");
	struct pmu_event_list l = {0};
	char err[BASE_ERR_MAX];
	/* One IBS op event serves loads and stores; it cannot follow a task. */
	assert_int_equal(pmu_mem_events(ctx, true, true, 0, &l, err, sizeof(err)), 0);
	const struct want plain[] = {{"ibs_op//", 11, 0, 0, 0, 0, 1, true}};
	check(&l, 0, plain, 1);
	assert_true(l.ev[0].priv_explicit);
	pmu_event_list_free(&l);

	/* Zen 5 kernels filter by latency through the ldlat term (config1). */
	assert_int_equal(pmu_mem_events(ctx, true, false, 256, &l, err, sizeof(err)), 0);
	const struct want lat[] = {{"ibs_op/ldlat=256/", 11, 0, 256, 0, 0, 1, true}};
	check(&l, 0, lat, 1);
	pmu_event_list_free(&l);

	assert_int_equal(pmu_mem_events(ctx, true, true, 30, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "128..2048"));
	assert_int_equal(l.n, 0);
	pmu_event_list_free(&l);
	pmu_ctx_free(ctx);

	/* Zen 3: no ldlat term; the threshold is dropped with a notice, not an error. */
	ctx = open_tree("sysfs-ibs/zen3");
	assert_int_equal(pmu_mem_events(ctx, true, true, 256, &l, err, sizeof(err)), 0);
	const struct want zen3[] = {{"ibs_op//", 9, 0, 0, 0, 0, 1, true}};
	check(&l, 0, zen3, 1);
	assert_non_null(strstr(l.notice, "load-latency threshold 256 ignored"));
	pmu_event_list_free(&l);
	assert_string_equal(l.notice, "");
	pmu_ctx_free(ctx);
}

static void test_loads_without_stores(void **state)
{
	(void)state;
	/* tests/data/sysfs: a core PMU with mem-loads (max_precise 3) but no mem-stores. */
	struct pmu_ctx *ctx = NULL;
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_ctx_new(&ctx, TEST_SYSFS_ROOT, err, sizeof(err)), 0);
	struct pmu_event_list l = {0};
	assert_int_equal(pmu_mem_events(ctx, true, false, 0, &l, err, sizeof(err)), 0);
	const struct want w[] = {{"cpu/mem-loads,ldlat=30/P", PERF_TYPE_RAW, 0x01cd, 30, 3, 0, 1,
				  false}};
	check(&l, 0, w, 1);
	pmu_event_list_free(&l);
	assert_int_equal(pmu_mem_events(ctx, true, true, 0, &l, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "no mem-stores event"));
	assert_int_equal(l.n, 0);
	assert_int_equal(pmu_mem_events(ctx, false, false, 0, &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nothing to sample"));
	pmu_event_list_free(&l);
	pmu_ctx_free(ctx);
}

/* A sysfs tree with software and breakpoint PMUs only: what this VM exposes. */
static void make_tree(char *root, size_t len)
{
	snprintf(root, len, "/tmp/pmuprof-memev-XXXXXX");
	assert_non_null(mkdtemp(root));
	const char *const dirs[] = {"/bus", "/bus/event_source", "/bus/event_source/devices",
				    "/bus/event_source/devices/software",
				    "/bus/event_source/devices/breakpoint"};
	char path[600];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	const char *const types[][2] = {{"software", "1"}, {"breakpoint", "5"}};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/bus/event_source/devices/%s/type", root, types[i][0]);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "%s\n", types[i][1]);
		fclose(f);
	}
}

static void remove_tree(const char *root)
{
	const char *const files[] = {"/bus/event_source/devices/software/type",
				     "/bus/event_source/devices/breakpoint/type",
				     "/bus/event_source/devices/software",
				     "/bus/event_source/devices/breakpoint",
				     "/bus/event_source/devices", "/bus/event_source", "/bus", ""};
	char path[600];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, files[i]);
		remove(path);
	}
}

static void test_no_capability(void **state)
{
	(void)state;
	char root[64], err[BASE_ERR_MAX];
	make_tree(root, sizeof(root));
	struct pmu_ctx *ctx = NULL;
	int ret = pmu_ctx_new(&ctx, root, err, sizeof(err));
	if (ret < 0) {
		remove_tree(root);
		fail_msg("%s", err);
	}
	struct pmu_event_list l = {0};
	assert_int_equal(pmu_parse_events(ctx, "cpu-clock", &l, err, sizeof(err)), 0);
	ret = pmu_mem_events(ctx, true, true, 0, &l, err, sizeof(err));
	pmu_ctx_free(ctx);
	remove_tree(root);
	assert_int_equal(ret, -EOPNOTSUPP);
	assert_string_equal(
		err, "no PEBS load-latency (cpu/mem-loads/) and no AMD IBS (ibs_op) PMU on this "
		     "host, so data addresses cannot be sampled here; use `pmuprof record -e "
		     "sharing` to find the code, `pmuprof c2c watch` to confirm the line, or "
		     "import a perf c2c capture from a PEBS/IBS host with `pmuprof import --c2c`");
	assert_null(strchr(err, '\n'));
	/* The list keeps what it had. */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ev[0].name, "cpu-clock");
	pmu_event_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pebs_skylake),
		cmocka_unit_test(test_pebs_hybrid),
		cmocka_unit_test(test_ibs),
		cmocka_unit_test(test_loads_without_stores),
		cmocka_unit_test(test_no_capability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
