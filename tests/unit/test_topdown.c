/*
 * Unit tests of topdown level 1 (pmu/topdown.c, pmu_metrics): the events
 * chosen on synthetic sysfs trees (tests/data/sysfs-topdown: icelake and
 * alderlake's cpu_core with slots and the PERF_METRICS events, skylake with
 * the older slot and bubble events, skylake-norecovery without recovery
 * bubbles; tests/data/sysfs with one topdown event but no slots, and an AMD
 * tree with none), parsed as stat parses them; and perf stat's shares over
 * known counts against values worked by hand from perf's formulas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pmu.h"

static struct pmu_ctx *open_tree(const char *sub, char *root, size_t len)
{
	char err[BASE_ERR_MAX];
	snprintf(root, len, "%s/%s", TEST_DATA_DIR, sub);
	struct pmu_ctx *ctx = NULL;
	if (pmu_ctx_new(&ctx, root, err, sizeof(err)) < 0)
		fail_msg("%s: %s", root, err);
	return ctx;
}

/* The tree's topdown events, parsed as stat parses them. */
static void topdown_events(const char *sub, struct pmu_topdown *td, struct pmu_event_list *l)
{
	char root[512], err[BASE_ERR_MAX];
	struct pmu_ctx *ctx = open_tree(sub, root, sizeof(root));
	assert_int_equal(pmu_topdown(ctx, td, err, sizeof(err)), 0);
	*l = (struct pmu_event_list){0};
	if (pmu_parse_events(ctx, td->events, l, err, sizeof(err)) < 0)
		fail_msg("%s: '%s': %s", sub, td->events, err);
	pmu_ctx_free(ctx);
}

static void test_detect_metrics(void **state)
{
	(void)state;
	struct pmu_topdown td;
	struct pmu_event_list l;
	topdown_events("sysfs-topdown/icelake", &td, &l);
	assert_int_equal(td.kind, PMU_TOPDOWN_METRICS);
	assert_false(td.per_core);
	assert_string_equal(td.events, "{slots,topdown-retiring,topdown-bad-spec,topdown-fe-bound,"
				       "topdown-be-bound}");
	/* one group led by slots (fixed counter 3, umask 0x4), the metrics umask 0x80-0x83 */
	assert_int_equal(l.n, 5);
	const uint64_t config[] = {0x400, 0x8000, 0x8100, 0x8200, 0x8300};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(l.ev[i].attr.type, 4);
		assert_int_equal(l.ev[i].attr.config, config[i]);
		assert_int_equal(l.ev[i].leader, 0);
	}
	assert_int_equal(l.ev[0].group_size, 5);
	pmu_event_list_free(&l);

	/* hybrid: the core PMU's, named on it */
	topdown_events("sysfs-topdown/alderlake", &td, &l);
	assert_int_equal(td.kind, PMU_TOPDOWN_METRICS);
	assert_string_equal(td.events, "{cpu_core/slots/,cpu_core/topdown-retiring/,"
				       "cpu_core/topdown-bad-spec/,cpu_core/topdown-fe-bound/,"
				       "cpu_core/topdown-be-bound/}");
	assert_int_equal(l.n, 5);
	assert_int_equal(l.ev[1].attr.config, 0x8000);
	assert_int_equal(l.ev[4].leader, 0);
	pmu_event_list_free(&l);
}

static void test_detect_bubbles(void **state)
{
	(void)state;
	struct pmu_topdown td;
	struct pmu_event_list l;
	topdown_events("sysfs-topdown/skylake", &td, &l);
	assert_int_equal(td.kind, PMU_TOPDOWN_BUBBLES);
	assert_true(td.per_core);
	assert_string_equal(td.events, "topdown-total-slots,topdown-slots-retired,"
				       "topdown-recovery-bubbles,topdown-fetch-bubbles,"
				       "topdown-slots-issued");
	assert_int_equal(l.n, 5);
	/* event=0x3c,any=1 with its .scale */
	assert_int_equal(l.ev[0].attr.config, 0x3c | 1u << 21);
	assert_float_equal(l.ev[0].scale, 2.0, 0);
	/* event=0xd,umask=0x3,cmask=1,any=1 */
	assert_int_equal(l.ev[2].attr.config, 0x30d | 1u << 21 | 1u << 24);
	assert_float_equal(l.ev[2].scale, 2.0, 0);
	assert_float_equal(l.ev[1].scale, 1.0, 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(l.ev[i].leader, (int)i);
	pmu_event_list_free(&l);

	topdown_events("sysfs-topdown/skylake-norecovery", &td, &l);
	assert_int_equal(td.kind, PMU_TOPDOWN_BUBBLES);
	assert_string_equal(td.events, "topdown-total-slots,topdown-slots-retired,"
				       "topdown-fetch-bubbles,topdown-slots-issued");
	pmu_event_list_free(&l);
}

static void test_detect_none(void **state)
{
	(void)state;
	char root[512], err[BASE_ERR_MAX], want[1024];
	struct pmu_topdown td;
	/* topdown-retiring alone, without slots: nothing the kernel would count */
	struct pmu_ctx *ctx = open_tree("sysfs", root, sizeof(root));
	assert_int_equal(pmu_topdown(ctx, &td, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want),
		 "this CPU's PMU defines no topdown events (no topdown-* in "
		 "%s/bus/event_source/devices/cpu/events); topdown level 1 needs an Intel CPU "
		 "with them",
		 root);
	assert_string_equal(err, want);
	assert_string_equal(td.events, "");
	pmu_ctx_free(ctx);
	/* an AMD core PMU */
	ctx = open_tree("sysfs-ibs/zen5", root, sizeof(root));
	assert_int_equal(pmu_topdown(ctx, &td, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/sysfs-ibs/zen5/bus/event_source/devices/cpu/events)"));
	pmu_ctx_free(ctx);
}

/* Each event's metrics: its value and unit (NULL: none), and whether perf colours it. */
struct want {
	const char *unit;
	double value;
	bool colored;
};

/* No metric beside any of five events. */
static const struct want NONE[5];

static void check_metrics(const struct pmu_event_list *l, const struct pmu_count *c,
			  const struct want *w)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pmu_metric m[PMU_METRICS_MAX];
		int nm = pmu_metrics(l->ev, c, l->n, i, 1e9, m);
		if (!w[i].unit) {
			if (nm != 0)
				fail_msg("%s: metric %s %f, expected none", l->ev[i].name, m[0].unit,
					 m[0].value);
			continue;
		}
		if (nm != 1 || strcmp(m[0].unit, w[i].unit) != 0)
			fail_msg("%s: %d metrics (%s), expected %s", l->ev[i].name, nm,
				 nm ? m[0].unit : "-", w[i].unit);
		assert_float_equal(m[0].value, w[i].value, 1e-9);
		assert_string_equal(m[0].fmt, "%8.1f%%");
		if (m[0].colored != w[i].colored)
			fail_msg("%s: colored %d", l->ev[i].name, m[0].colored);
	}
}

/*
 * PERF_METRICS: the kernel reads each metric event as its share of slots; perf divides
 * each by their sum. Retiring 300, bad speculation 100, frontend 250 (counted half its
 * time: 125 scaled to 250), backend 350, sum 1000: 30 %, 10 %, 25 %, 35 %; frontend and
 * backend past perf's 20 % are coloured, bad speculation at 10 % is not.
 */
static void test_metrics_shares(void **state)
{
	(void)state;
	struct pmu_topdown td;
	struct pmu_event_list l;
	topdown_events("sysfs-topdown/icelake", &td, &l);
	struct pmu_count c[5] = {
		{4000, 10, 10, 0}, {300, 10, 10, 0}, {100, 10, 10, 0}, {125, 10, 5, 0},
		{350, 10, 10, 0},
	};
	const struct want w[5] = {
		{NULL, 0, false},
		{"Retiring", 30.0, false},
		{"Bad Speculation", 10.0, false},
		{"Frontend Bound", 25.0, true},
		{"Backend Bound", 35.0, true},
	};
	check_metrics(&l, c, w);
	/* retiring 900 of 1000: 90 %, perf's green */
	c[1].value = 900;
	c[2].value = 25;
	c[3] = (struct pmu_count){25, 10, 10, 0};
	c[4].value = 50;
	const struct want w2[5] = {
		{NULL, 0, false},
		{"Retiring", 90.0, true},
		{"Bad Speculation", 2.5, false},
		{"Frontend Bound", 2.5, false},
		{"Backend Bound", 5.0, false},
	};
	check_metrics(&l, c, w2);
	/* perf shows them only when two or more counted (else a rate, without task-clock none) */
	c[2].value = c[3].value = c[4].value = 0;
	check_metrics(&l, c, NONE);
	pmu_event_list_free(&l);
}

/*
 * The older events, by perf's formulas with the sysfs .scale: total slots 1000 x 2 =
 * 2000; retired 600, issued 1000, recovery bubbles 50 x 2 = 100, fetch bubbles 400.
 * retiring 600/2000 = 30 %; bad speculation (1000 - 600 + 100)/2000 = 25 %;
 * frontend 400/2000 = 20 % (not past 20 %: no colour); backend 1 - 0.75 = 25 %.
 */
static void test_bubbles_formulas(void **state)
{
	(void)state;
	struct pmu_topdown td;
	struct pmu_event_list l;
	topdown_events("sysfs-topdown/skylake", &td, &l);
	/* total-slots, slots-retired, recovery-bubbles, fetch-bubbles, slots-issued */
	struct pmu_count c[5] = {
		{1000, 10, 10, 0}, {600, 10, 10, 0}, {50, 10, 10, 0}, {400, 10, 10, 0},
		{1000, 10, 10, 0},
	};
	const struct want w[5] = {
		{NULL, 0, false},
		{"retiring", 30.0, false},
		{"bad speculation", 25.0, true},
		{"frontend bound", 20.0, false},
		{"backend bound", 25.0, true},
	};
	check_metrics(&l, c, w);
	/* issued below retired by 0.5 % of the slots: perf's sanitize makes it 0, and
	 * backend is 1 - (0.30 + 0 + 0.20) */
	c[2].value = 0;
	c[4].value = 590;
	const struct want w2[5] = {
		{NULL, 0, false},
		{"retiring", 30.0, false},
		{"bad speculation", 0.0, false},
		{"frontend bound", 20.0, false},
		{"backend bound", 50.0, true},
	};
	check_metrics(&l, c, w2);
	/* total slots never counted: perf's shares are 0, backend bound not shown */
	c[0].running = 0;
	const struct want zero[5] = {
		{NULL, 0, false},
		{"retiring", 0.0, false},
		{"bad speculation", 0.0, false},
		{"frontend bound", 0.0, false},
		{NULL, 0, false},
	};
	check_metrics(&l, c, zero);
	pmu_event_list_free(&l);

	/* Without recovery bubbles: bad speculation (1000 - 600)/2000 = 20 %, backend the rest
	 * 1 - 0.7 = 30 %, named as perf names it then. */
	topdown_events("sysfs-topdown/skylake-norecovery", &td, &l);
	struct pmu_count c3[4] = {
		{1000, 10, 10, 0}, {600, 10, 10, 0}, {400, 10, 10, 0}, {1000, 10, 10, 0}};
	const struct want w3[4] = {
		{NULL, 0, false},
		{"retiring", 30.0, false},
		{"frontend bound", 20.0, false},
		{"backend bound/bad spec", 30.0, true},
	};
	check_metrics(&l, c3, w3);
	pmu_event_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_metrics),
		cmocka_unit_test(test_detect_bubbles),
		cmocka_unit_test(test_detect_none),
		cmocka_unit_test(test_metrics_shares),
		cmocka_unit_test(test_bubbles_formulas),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
