/*
 * Unit tests of the event parser: a table of event strings, valid and
 * invalid, each checked for the exact attr bits it must produce (or the
 * error it must give). Terms are placed against a synthetic sysfs tree in
 * tests/data/sysfs so the placement rules are tested on any host.
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
#include <unistd.h>

#include "pmu_internal.h"

#ifndef TEST_SYSFS_ROOT
#error "TEST_SYSFS_ROOT must point at tests/data/sysfs"
#endif

/* Privilege bits, packed: exclude_user | exclude_kernel << 1 | exclude_hv << 2. */
#define PRIV(u, k, h) ((u) | (k) << 1 | (h) << 2)

struct parse_case {
	const char *spec;
	int ret;         /* 0, or the negative errno expected */
	const char *msg; /* substring expected in the error message */
	uint32_t type;
	uint64_t config, config1;
	unsigned priv;
	unsigned precise;
	uint64_t period; /* sample_period or sample_freq */
	bool freq;
	const char *name; /* expected display name (NULL: the spec itself) */
};

static const struct parse_case cases[] = {
	/* generic hardware */
	{"cycles", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 0, 0, 0, 0, false, NULL},
	{"cpu-cycles", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 0, 0, 0, 0, false, NULL},
	{"instructions", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, 0, 0, 0, 0, false, NULL},
	{"cache-misses", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, 0, 0, 0, 0, false, NULL},
	{"cache-references", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, 0, 0, 0, 0, false, NULL},
	{"branch-misses", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, 0, 0, 0, 0, false, NULL},
	{"branches", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 0, 0, 0, 0, false, NULL},
	{"ref-cycles", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES, 0, 0, 0, 0, false, NULL},
	{"stalled-cycles-frontend", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, 0, 0, 0, 0, false, NULL},
	{"stalled-cycles-backend", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND, 0, 0, 0, 0, false, NULL},
	/* perf cache events: type | op << 8 | result << 16 */
	{"L1-dcache-load-misses", 0, NULL, PERF_TYPE_HW_CACHE, 0x10000, 0, 0, 0, 0, false, NULL},
	{"L1-dcache-loads", 0, NULL, PERF_TYPE_HW_CACHE, 0x00000, 0, 0, 0, 0, false, NULL},
	{"L1-icache-load-misses", 0, NULL, PERF_TYPE_HW_CACHE, 0x10001, 0, 0, 0, 0, false, NULL},
	{"LLC-load-misses", 0, NULL, PERF_TYPE_HW_CACHE, 0x10002, 0, 0, 0, 0, false, NULL},
	{"LLC-stores", 0, NULL, PERF_TYPE_HW_CACHE, 0x00102, 0, 0, 0, 0, false, NULL},
	{"dTLB-load-misses", 0, NULL, PERF_TYPE_HW_CACHE, 0x10003, 0, 0, 0, 0, false, NULL},
	{"iTLB-load-misses", 0, NULL, PERF_TYPE_HW_CACHE, 0x10004, 0, 0, 0, 0, false, NULL},
	{"branch-load-misses", 0, NULL, PERF_TYPE_HW_CACHE, 0x10005, 0, 0, 0, 0, false, NULL},
	{"L1-dcache-prefetches", 0, NULL, PERF_TYPE_HW_CACHE, 0x00200, 0, 0, 0, 0, false, NULL},
	{"node-load-misses", 0, NULL, PERF_TYPE_HW_CACHE, 0x10006, 0, 0, 0, 0, false, NULL},
	{"l1d-misses", 0, NULL, PERF_TYPE_HW_CACHE, 0x10000, 0, 0, 0, 0, false, NULL},
	{"iTLB-stores", -ENOENT, "unknown event 'iTLB-stores'", 0, 0, 0, 0, 0, 0, false, NULL},
	/* software */
	{"cpu-clock", 0, NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, 0, 0, 0, 0, false, NULL},
	{"task-clock", 0, NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, 0, 0, 0, 0, false, NULL},
	{"page-faults", 0, NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, 0, 0, 0, 0, false, NULL},
	{"faults", 0, NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, 0, 0, 0, 0, false, NULL},
	{"context-switches", 0, NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, 0, 0, 0, 0, false, NULL},
	{"cs", 0, NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, 0, 0, 0, 0, false, NULL},
	{"cpu-migrations", 0, NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, 0, 0, 0, 0, false, NULL},
	{"major-faults", 0, NULL, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, 0, 0, 0, 0, false, NULL},
	/* modifiers */
	{"cycles:u", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, PRIV(0, 1, 1), 0, 0, false, NULL},
	{"instructions:k", 0, NULL, PERF_TYPE_HARDWARE, 1, 0, PRIV(1, 0, 1), 0, 0, false, NULL},
	{"cycles:h", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, PRIV(1, 1, 0), 0, 0, false, NULL},
	{"cycles:uk", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, PRIV(0, 0, 1), 0, 0, false, NULL},
	{"cycles:p", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, 0, 1, 0, false, NULL},
	{"cycles:pp", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, 0, 2, 0, false, NULL},
	{"cycles:ppp", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, 0, 3, 0, false, NULL},
	{"cycles:upp", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, PRIV(0, 1, 1), 2, 0, false, NULL},
	{"cycles:P", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, 0, 3, 0, false, NULL}, /* caps/max_precise=3 */
	{"cycles:pppp", -EINVAL, "at most three 'p'", 0, 0, 0, 0, 0, 0, false, NULL},
	{"cycles:q", -EINVAL, "invalid modifier 'q'", 0, 0, 0, 0, 0, 0, false, NULL},
	/* raw */
	{"r0444", 0, NULL, PERF_TYPE_RAW, 0x0444, 0, 0, 0, 0, false, NULL},
	{"r1a8:u", 0, NULL, PERF_TYPE_RAW, 0x1a8, 0, PRIV(0, 1, 1), 0, 0, false, NULL},
	{"r10000003c", 0, NULL, PERF_TYPE_RAW, 0x10000003cULL, 0, 0, 0, 0, false, NULL},
	{"rxyz", -ENOENT, "unknown event 'rxyz'", 0, 0, 0, 0, 0, 0, false, NULL},
	/* sysfs PMU terms placed by format/ */
	{"cpu/event=0x44,umask=0x04/", 0, NULL, PERF_TYPE_RAW, 0x0444, 0, 0, 0, 0, false, NULL},
	{"cpu/event=0x3c,umask=0x00,cmask=2,inv,edge/", 0, NULL, PERF_TYPE_RAW,
	 0x3cULL | 1ULL << 18 | 1ULL << 23 | 2ULL << 24, 0, 0, 0, 0, false, NULL},
	/* event=0x1c4: low 8 bits in 0-7, the next 4 in 32-35 */
	{"cpu/event=0x1c4/", 0, NULL, PERF_TYPE_RAW, 0xc4ULL | 1ULL << 32, 0, 0, 0, 0, false, NULL},
	{"cpu/event=0xd1,umask=0x20,ldlat=64/u", 0, NULL, PERF_TYPE_RAW, 0x20d1, 64, PRIV(0, 1, 1), 0, 0, false, NULL},
	{"cpu/cache-misses/", 0, NULL, PERF_TYPE_RAW, 0x412e, 0, 0, 0, 0, false, NULL},
	{"cpu/mem-loads,ldlat=30/pp", 0, NULL, PERF_TYPE_RAW, 0x01cd, 30, 0, 2, 0, false, NULL},
	{"cpu/cpu-cycles,period=100003/", 0, NULL, PERF_TYPE_RAW, 0x3c, 0, 0, 0, 100003, false, NULL},
	{"cpu/event=0x3c,freq=4000,name=mycycles/", 0, NULL, PERF_TYPE_RAW, 0x3c, 0, 0, 0, 4000, true, "mycycles"},
	{"cpu/config=0x5300c0,config1=7/", 0, NULL, PERF_TYPE_RAW, 0x5300c0, 7, 0, 0, 0, false, NULL},
	{"cpu/cycles/", 0, NULL, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 0, 0, 0, 0, false, NULL},
	{"amd_df/event=0x1c7,umask=0x38/", 0, NULL, 11, 0xc7ULL | 0x38ULL << 8 | 1ULL << 32, 0, 0, 0, 0, false, NULL},
	{"msr/tsc/", 0, NULL, 9, 0, 0, 0, 0, 0, false, NULL},
	{"power/energy-pkg/", 0, NULL, 20, 0x02, 0, 0, 0, 0, false, NULL},
	{"topdown-retiring", 0, NULL, PERF_TYPE_RAW, 0x8000, 0, 0, 0, 0, false, NULL},
	{"cpu/event=0x100/", 0, NULL, PERF_TYPE_RAW, 1ULL << 32, 0, 0, 0, 0, false, NULL},
	{"cpu/umask=0x100/", -ERANGE, "does not fit term 'umask' (8 bits)", 0, 0, 0, 0, 0, 0, false, NULL},
	{"cpu/evnt=0x3c/", -EINVAL, "did you mean 'event'", 0, 0, 0, 0, 0, 0, false, NULL},
	{"cpu/event=zz/", -EINVAL, "is not a number", 0, 0, 0, 0, 0, 0, false, NULL},
	{"cpu/event=0x3c", -EINVAL, "not closed", 0, 0, 0, 0, 0, 0, false, NULL},
	{"cpu//", -EINVAL, "has no terms", 0, 0, 0, 0, 0, 0, false, NULL},
	{"nopmu/event=1/", -ENOENT, "unknown PMU 'nopmu'", 0, 0, 0, 0, 0, 0, false, NULL},
	{"param/needs-param/", -EINVAL, "needs a parameter", 0, 0, 0, 0, 0, 0, false, NULL},
	{"cpu/event=0x3c,period=0/", -EINVAL, "period must be greater than zero", 0, 0, 0, 0, 0, 0, false, NULL},
	/* terms on generic names */
	{"cycles/period=1000/", 0, NULL, PERF_TYPE_HARDWARE, 0, 0, 0, 0, 1000, false, NULL},
	{"instructions/name=insn/u", 0, NULL, PERF_TYPE_HARDWARE, 1, 0, PRIV(0, 1, 1), 0, 0, false, "insn"},
	/* breakpoints (bp_addr shares its place with config1) */
	{"mem:0x1000/8:w", 0, NULL, PERF_TYPE_BREAKPOINT, 0, 0x1000, 0, 0, 1, false, NULL},
	{"breakpoint/bp_addr=0x1000,bp_len=4,bp_type=3/", 0, NULL, PERF_TYPE_BREAKPOINT, 0, 0x1000, 0, 0, 0, false, NULL},
	{"mem:nowhere", -EINVAL, "malformed breakpoint", 0, 0, 0, 0, 0, 0, false, NULL},
	/* unknown names get suggestions */
	{"cyles", -ENOENT, "did you mean 'cycles'", 0, 0, 0, 0, 0, 0, false, NULL},
	{"cache-mises", -ENOENT, "did you mean 'cache-misses'", 0, 0, 0, 0, 0, 0, false, NULL},
	{"L1-dcache-load-mises", -ENOENT, "'L1-dcache-load-misses'", 0, 0, 0, 0, 0, 0, false, NULL},
	{"tsak-clock", -ENOENT, "did you mean 'task-clock'", 0, 0, 0, 0, 0, 0, false, NULL},
	{"", -EINVAL, "empty event list", 0, 0, 0, 0, 0, 0, false, NULL},
};

static struct pmu_ctx *g_ctx; /* test fixture, created once per run */

static int setup(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	return pmu_ctx_new(&g_ctx, TEST_SYSFS_ROOT, err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	pmu_ctx_free(g_ctx);
	return 0;
}

static void check_case(const struct parse_case *c)
{
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX] = "";
	int ret = pmu_parse_events(g_ctx, c->spec, &list, err, sizeof(err));
	if (ret != c->ret)
		fail_msg("'%s': returned %d, expected %d (%s)", c->spec, ret, c->ret, err);
	if (c->ret != 0) {
		assert_int_equal(list.n, 0);
		if (!strstr(err, c->msg))
			fail_msg("'%s': message \"%s\" lacks \"%s\"", c->spec, err, c->msg);
		assert_null(strchr(err, '\n')); /* one line */
		pmu_event_list_free(&list);
		return;
	}
	assert_int_equal(list.n, 1);
	const struct perf_event_attr *a = &list.ev[0].attr;
	if (a->type != c->type || a->config != c->config || a->config1 != c->config1)
		fail_msg("'%s': type %u config %#llx config1 %#llx; expected %u %#llx %#llx", c->spec,
			 a->type, (unsigned long long)a->config, (unsigned long long)a->config1,
			 c->type, (unsigned long long)c->config, (unsigned long long)c->config1);
	unsigned priv = a->exclude_user | a->exclude_kernel << 1 | a->exclude_hv << 2;
	if (priv != c->priv)
		fail_msg("'%s': privilege bits %u, expected %u", c->spec, priv, c->priv);
	assert_int_equal(a->precise_ip, c->precise);
	assert_int_equal(a->freq, c->freq);
	assert_int_equal(a->sample_period, c->period); /* union with sample_freq */
	assert_int_equal(a->size, sizeof(*a));
	assert_string_equal(list.ev[0].name, c->name ? c->name : c->spec);
	assert_int_equal(list.ev[0].leader, 0);
	assert_int_equal(list.ev[0].group_size, 1);
	pmu_event_list_free(&list);
}

static void test_table(void **state)
{
	(void)state;
	size_t n = sizeof(cases) / sizeof(cases[0]);
	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++)
		check_case(&cases[i]);
}

static void test_breakpoint_fields(void **state)
{
	(void)state;
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_parse_events(g_ctx, "mem:0x601040/8:w,mem:0x400000:x", &list, err,
					  sizeof(err)),
			 0);
	assert_int_equal(list.n, 2);
	assert_int_equal(list.ev[0].attr.bp_addr, 0x601040);
	assert_int_equal(list.ev[0].attr.bp_len, 8);
	assert_int_equal(list.ev[0].attr.bp_type, 2);
	assert_int_equal(list.ev[1].attr.bp_type, 4);
	assert_int_equal(list.ev[1].attr.bp_len, sizeof(long));
	pmu_event_list_free(&list);
}

static void test_lists_and_groups(void **state)
{
	(void)state;
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX];
	int ret = pmu_parse_events(g_ctx,
				   "task-clock,{cycles,instructions,cpu/event=0x2e,umask=0x41/}:u,"
				   "{cycles,cache-misses}:S,r0444",
				   &list, err, sizeof(err));
	assert_int_equal(ret, 0);
	assert_int_equal(list.n, 7);
	/* task-clock alone */
	assert_int_equal(list.ev[0].leader, 0);
	assert_int_equal(list.ev[0].group_size, 1);
	/* first group: leader 1, three members, :u on each */
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(list.ev[i].leader, 1);
		assert_true(list.ev[i].attr.exclude_kernel);
		assert_false(list.ev[i].attr.exclude_user);
	}
	assert_int_equal(list.ev[1].group_size, 3);
	assert_string_equal(list.ev[1].name, "cycles:u");
	assert_string_equal(list.ev[3].name, "cpu/event=0x2e,umask=0x41/u");
	assert_int_equal(list.ev[3].attr.config, 0x412e);
	/* second group: leader sampling */
	assert_int_equal(list.ev[4].leader, 4);
	assert_int_equal(list.ev[5].leader, 4);
	assert_int_equal(list.ev[4].group_size, 2);
	assert_true(list.ev[4].sample_read);
	/* trailing raw event alone */
	assert_int_equal(list.ev[6].leader, 6);
	assert_int_equal(list.ev[6].attr.config, 0x444);
	pmu_event_list_free(&list);
}

static void test_malformed_lists(void **state)
{
	(void)state;
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{"cycles,,instructions", "empty event name"},
		{"cycles,", "trailing comma"},
		{"{cycles,instructions", "missing '}'"},
		{"cycles}", "'}' without '{'"},
		{"{}", "empty group"},
		{"{cycles,{instructions}}", "cannot nest"},
		{"{cycles,instructions}:z", "invalid modifier 'z'"},
		{"{cycles,bogus-event}", "unknown event 'bogus-event'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pmu_event_list list = {0};
		char err[BASE_ERR_MAX] = "";
		int ret = pmu_parse_events(g_ctx, bad[i].spec, &list, err, sizeof(err));
		if (ret >= 0 || !strstr(err, bad[i].msg))
			fail_msg("'%s': ret %d, message \"%s\", expected \"%s\"", bad[i].spec, ret,
				 err, bad[i].msg);
		assert_int_equal(list.n, 0);
		pmu_event_list_free(&list);
	}
}

static void test_sysfs_unit_and_scale(void **state)
{
	(void)state;
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_parse_events(g_ctx, "power/energy-pkg/,task-clock", &list, err,
					  sizeof(err)),
			 0);
	assert_string_equal(list.ev[0].unit, "Joules");
	assert_true(list.ev[0].scale > 2.3e-10 && list.ev[0].scale < 2.4e-10);
	assert_string_equal(list.ev[1].unit, "msec");
	assert_true(pmu_event_is_clock(&list.ev[1]));
	pmu_event_list_free(&list);
}

static void test_format_place(void **state)
{
	(void)state;
	struct pmu_format f = {.word = 1, .nranges = 2, .ranges = {{4, 5}, {60, 63}}};
	struct perf_event_attr a = {0};
	assert_int_equal(pmu_format_bits(&f), 6);
	assert_int_equal(pmu_format_place(&f, 0x3f, &a), 0);
	assert_int_equal(a.config1, 0x3ULL << 4 | 0xfULL << 60);
	assert_int_equal(a.config, 0);
	assert_int_equal(pmu_format_place(&f, 0x40, &a), -ERANGE);
	struct pmu_format whole = {.word = 0, .nranges = 1, .ranges = {{0, 63}}};
	assert_int_equal(pmu_format_place(&whole, ~0ULL, &a), 0);
	assert_int_equal(a.config, ~0ULL);
}

static void test_cpu_list(void **state)
{
	(void)state;
	int *cpus, n;
	char err[BASE_ERR_MAX];
	assert_int_equal(base_parse_cpu_list("3,0-2,2,7-8", &cpus, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 6);
	int want[] = {0, 1, 2, 3, 7, 8};
	for (int i = 0; i < n; i++)
		assert_int_equal(cpus[i], want[i]);
	free(cpus);
	assert_int_equal(base_parse_cpu_list("2-1", &cpus, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "malformed CPU list"));
	assert_int_equal(base_parse_cpu_list("a", &cpus, &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(base_parse_cpu_list("1,", &cpus, &n, err, sizeof(err)), -EINVAL);
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(pmu_edit_distance("cycles", "cycles"), 0);
	assert_int_equal(pmu_edit_distance("cyles", "cycles"), 1);
	assert_int_equal(pmu_edit_distance("CYCLES", "cycles"), 0);
	assert_int_equal(pmu_edit_distance("", "abc"), 3);
	assert_int_equal(pmu_edit_distance("kitten", "sitting"), 3);
}

static void test_explain_errors(void **state)
{
	(void)state;
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_parse_events(g_ctx, "cycles:pp,r0444", &list, err, sizeof(err)), 0);
	pmu_explain_open_error(g_ctx, &list.ev[0], &list.ev[0].attr, EOPNOTSUPP, 0, -1, err,
			       sizeof(err));
	assert_non_null(strstr(err, "precise sampling"));
	assert_non_null(strstr(err, "PEBS"));
	pmu_explain_open_error(g_ctx, &list.ev[1], &list.ev[1].attr, EACCES, -1, 0, err,
			       sizeof(err));
	assert_non_null(strstr(err, "perf_event_paranoid"));
	assert_non_null(strstr(err, "sysctl"));
	pmu_explain_open_error(g_ctx, &list.ev[1], &list.ev[1].attr, ESRCH, 4242, -1, err,
			       sizeof(err));
	assert_non_null(strstr(err, "process 4242 does not exist"));
	pmu_event_list_free(&list);
}

/* A PMU type no kernel has: perf_event_open fails with ENOENT, as for an event the host lacks. */
#define NO_SUCH_PMU 0x7ffffff0u

static void test_keep_samplable(void **state)
{
	(void)state;
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX], dropped[64];
	assert_int_equal(pmu_parse_events(g_ctx, "cpu-clock,page-faults,{task-clock,context-switches},"
					  "cpu-migrations", &list, err, sizeof(err)), 0);
	list.ev[1].attr.type = NO_SUCH_PMU;
	assert_int_equal(pmu_events_keep_samplable(&list, dropped, sizeof(dropped)), 4);
	assert_string_equal(dropped, "page-faults");
	const char *names[] = {"cpu-clock", "task-clock", "context-switches", "cpu-migrations"};
	int leaders[] = {0, 1, 1, 3};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(list.ev[i].name, names[i]);
		assert_int_equal(list.ev[i].leader, leaders[i]);
	}
	assert_int_equal(list.ev[1].group_size, 2);
	assert_int_equal(pmu_events_keep_samplable(&list, dropped, sizeof(dropped)), 4);
	assert_string_equal(dropped, "");
	pmu_event_list_free(&list);
}

static void test_count_missing_events(void **state)
{
	(void)state;
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX] = "";
	assert_int_equal(pmu_parse_events(g_ctx, "task-clock,page-faults,{cpu-clock,context-switches}",
					  &list, err, sizeof(err)), 0);
	list.ev[1].attr.type = NO_SUCH_PMU;
	list.ev[3].attr.type = NO_SUCH_PMU;
	pid_t self = getpid();
	struct pmu_target t = {.pids = &self, .npids = 1};
	struct pmu_counters *c = NULL;
	if (pmu_counters_open(&c, g_ctx, &list, &t, err, sizeof(err)) < 0)
		fail_msg("open with two missing events failed: %s", err);
	assert_true(pmu_counters_supported(c, 0));
	assert_false(pmu_counters_supported(c, 1));
	assert_true(pmu_counters_supported(c, 2));
	assert_false(pmu_counters_supported(c, 3));
	assert_int_equal(pmu_counters_enable(c), 0);
	for (volatile int i = 0; i < 1000000; i++)
		;
	assert_int_equal(pmu_counters_disable(c), 0);
	struct pmu_count k[4];
	if (pmu_counters_read(c, -1, k, err, sizeof(err)) < 0)
		fail_msg("read failed: %s", err);
	assert_true(k[0].value > 0 && k[0].running > 0); /* task-clock */
	assert_true(k[2].value > 0 && k[2].running > 0); /* cpu-clock, its member missing */
	assert_int_equal(k[1].running, 0);
	assert_int_equal(k[3].running, 0);
	pmu_counters_close(c);
	pmu_event_list_free(&list);

	/* Nothing countable, or a group leader missing: an error naming the event. */
	assert_int_equal(pmu_parse_events(g_ctx, "page-faults", &list, err, sizeof(err)), 0);
	list.ev[0].attr.type = NO_SUCH_PMU;
	assert_int_equal(pmu_counters_open(&c, g_ctx, &list, &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "'page-faults'"));
	pmu_event_list_free(&list);
	assert_int_equal(pmu_parse_events(g_ctx, "task-clock,{page-faults,cpu-clock}", &list, err,
					  sizeof(err)), 0);
	list.ev[1].attr.type = NO_SUCH_PMU;
	assert_int_equal(pmu_counters_open(&c, g_ctx, &list, &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "'page-faults'"));
	pmu_event_list_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_breakpoint_fields),
		cmocka_unit_test(test_lists_and_groups),
		cmocka_unit_test(test_malformed_lists),
		cmocka_unit_test(test_sysfs_unit_and_scale),
		cmocka_unit_test(test_format_place),
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test(test_edit_distance),
		cmocka_unit_test(test_explain_errors),
		cmocka_unit_test(test_keep_samplable),
		cmocka_unit_test(test_count_missing_events),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
