/*
 * Unit tests of stat -r's averaging (engine/stat_runs.c) and stat --compare's
 * table (engine/stat_compare.c) on counts worked by hand: perf's means in
 * whole events, the "+-" percent of the scaled mean, each run's count in
 * stat's units, no spread per aggregation group; the compare rows' means,
 * percents, Welch's test and delta, and the refusal of different events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* task-clock (msec), page-faults, and an energy count with a sysfs scale of 0.25. */
static const struct pmu_event_list *events(struct pmu_event evs_ev[3], struct pmu_event_list *l)
{
	memset(evs_ev, 0, 3 * sizeof(*evs_ev));
	evs_ev[0].attr.type = PERF_TYPE_SOFTWARE;
	evs_ev[0].attr.config = PERF_COUNT_SW_TASK_CLOCK;
	evs_ev[0].scale = 1.0;
	evs_ev[1].attr.type = PERF_TYPE_SOFTWARE;
	evs_ev[1].attr.config = PERF_COUNT_SW_PAGE_FAULTS;
	evs_ev[1].scale = 1.0;
	evs_ev[2].attr.type = 42;
	evs_ev[2].scale = 0.25;
	*l = (struct pmu_event_list){.ev = evs_ev, .n = 3, .cap = 3};
	return l;
}

static void test_value_units(void **state)
{
	(void)state;
	struct pmu_event ev[3];
	struct pmu_event_list list;
	const struct pmu_event_list *l = events(ev, &list);
	struct pmu_count c = {.value = 3000000, .enabled = 10, .running = 5};
	/* multiplexed at half its time: 6e6 ns scaled, shown in msec */
	assert_float_equal(eng_stat_value(&l->ev[0], &c), 6.0, 1e-12);
	assert_float_equal(eng_stat_value(&l->ev[1], &c), 6e6, 1e-6);
	assert_float_equal(eng_stat_value(&l->ev[2], &c), 1.5e6, 1e-6);
	struct pmu_count never = {.value = 5, .enabled = 10, .running = 0};
	assert_float_equal(eng_stat_value(&l->ev[1], &never), 0.0, 0);
}

/* r over events()'s three, in ngroups groups (0: none), for max_runs runs. */
static void runs_of(struct pmu_event ev[3], struct pmu_event_list *list, size_t ngroups,
		    int max_runs, struct eng_stat_runs *r)
{
	char err[256];
	assert_int_equal(eng_stat_runs_init(r, events(ev, list), ngroups, max_runs, err,
					    sizeof(err)),
			 0);
}

static void test_three_runs(void **state)
{
	(void)state;
	struct pmu_event ev[3];
	struct pmu_event_list list;
	struct eng_stat_runs r;
	runs_of(ev, &list, 0, 3, &r);
	assert_int_equal(r.nslots, 3);
	/* task-clock 2, 4, 6 ms; page faults 100, 150 at half its time (300), 110 */
	const struct pmu_count run[3][3] = {
		{{2000000, 100, 100, 0}, {100, 100, 100, 0}, {8, 1, 1, 0}},
		{{4000000, 200, 200, 1}, {150, 200, 100, 2}, {8, 1, 1, 0}},
		{{6000000, 300, 300, 0}, {110, 100, 100, 0}, {8, 1, 1, 0}},
	};
	for (int k = 0; k < 3; k++)
		assert_int_equal(eng_stat_runs_add(&r, run[k], (k + 1) * 1e9), 0);
	assert_int_equal(eng_stat_runs_add(&r, run[0], 1e9), -ENOSPC);
	assert_int_equal(r.runs, 3);
	/* means in whole events and ns: 12e6/3, 360/3; enabled 400/3 -> 133; losses summed */
	assert_int_equal(r.mean[0].value, 4000000);
	assert_int_equal(r.mean[0].lost, 1);
	assert_int_equal(r.mean[1].value, 120);
	assert_int_equal(r.mean[1].enabled, 133);
	assert_int_equal(r.mean[1].running, 100);
	assert_int_equal(r.mean[1].lost, 2);
	/* task-clock: 2e6, 4e6, 6e6 -> variance 4e12, stderr sqrt(4e12/3), of the mean 4e6 */
	assert_float_equal(r.noise[0], 100.0 * sqrt(4e12 / 3) / 4e6, 1e-9);
	/* faults scaled 100, 300, 110: mean 170, squares 4900+16900+3600 -> variance 12700;
	 * relative to the mean as perf prints it, 120 * 133 / 100 = 159.6 */
	assert_float_equal(r.noise[1], 100.0 * sqrt(12700.0 / 3) / 159.6, 1e-9);
	assert_float_equal(r.noise[2], 0.0, 0);
	/* each run's count as stat prints it: msec, scaled, the sysfs scale applied */
	const double want[3][3] = {{2, 4, 6}, {100, 300, 110}, {2, 2, 2}};
	for (int k = 0; k < 3; k++)
		for (int x = 0; x < 3; x++)
			assert_float_equal(r.run_values[k * 3 + x], want[k][x], 1e-9);
	assert_float_equal(r.wall.mean, 2e9, 1e-3);
	assert_float_equal(eng_runstats_stderr(&r.wall), sqrt(1e18 / 3), 1e-3);
	eng_stat_runs_free(&r);
}

/* Per aggregation group: the means as without, no "+-" (perf prints none there). */
static void test_groups(void **state)
{
	(void)state;
	struct pmu_event ev[3];
	struct pmu_event_list list;
	struct eng_stat_runs r;
	runs_of(ev, &list, 2, 2, &r);
	assert_int_equal(r.nslots, 6);
	struct pmu_count a[6], b[6];
	for (int k = 0; k < 6; k++) {
		a[k] = (struct pmu_count){.value = 10 * (k + 1), .enabled = 5, .running = 5};
		b[k] = (struct pmu_count){.value = 30 * (k + 1), .enabled = 5, .running = 5};
	}
	assert_int_equal(eng_stat_runs_add(&r, a, 1e6), 0);
	assert_int_equal(eng_stat_runs_add(&r, b, 3e6), 0);
	for (int k = 0; k < 6; k++) {
		assert_int_equal(r.mean[k].value, 20 * (k + 1));
		assert_float_equal(r.noise[k], 0.0, 0);
	}
	/* group 1's page faults: 50 then 150 */
	assert_float_equal(r.run_values[4 * 2 + 0], 50, 0);
	assert_float_equal(r.run_values[4 * 2 + 1], 150, 0);
	eng_stat_runs_free(&r);
}

static struct eng_stat_entry entry(const char *name, const char *unit, const double *v, size_t n)
{
	struct eng_stat_entry e = {.values = (double *)v, .n = n};
	snprintf(e.name, sizeof(e.name), "%s", name);
	snprintf(e.unit, sizeof(e.unit), "%s", unit);
	return e;
}

static void test_compare(void **state)
{
	(void)state;
	static const double ca[] = {100, 101, 99, 100}, cb[] = {200, 201, 199, 200};
	static const double ta[] = {1, 1}, tb[] = {2, 2}, one[] = {7};
	struct eng_stat_entry ea[] = {
		entry("cycles", "", ca, 4),
		entry("task-clock", "msec", ta, 2),
		entry("same", "", ca, 4),
		entry("faults", "", NULL, 0),
		entry("once", "", one, 1),
	};
	/* b lists them in another order */
	struct eng_stat_entry eb[] = {
		entry("once", "", one, 1),
		entry("faults", "", NULL, 0),
		entry("same", "", ca, 4),
		entry("task-clock", "msec", tb, 2),
		entry("cycles", "", cb, 4),
	};
	struct eng_stat_result a = {ea, 5}, b = {eb, 5};
	struct eng_stat_cmp_row *rows;
	char err[256];
	assert_int_equal(eng_stat_compare(&a, "A.json", &b, "B.json", &rows, err, sizeof(err)), 0);
	/* cycles: means 100 and 200, variance 2/3 each, stderr sqrt(1/6): 0.408% and 0.204%;
	 * Welch: t = -100 / sqrt(1/3), df = 6, p far below 0.05; delta +100% */
	assert_string_equal(rows[0].entry->name, "cycles");
	assert_int_equal(rows[0].a.n, 4);
	assert_float_equal(rows[0].a.mean, 100, 1e-12);
	assert_float_equal(rows[0].a.pct, 100 * sqrt(1.0 / 6) / 100, 1e-12);
	assert_float_equal(rows[0].b.pct, 100 * sqrt(1.0 / 6) / 200, 1e-12);
	assert_true(rows[0].tested);
	assert_float_equal(rows[0].welch.t, -100 / sqrt(1.0 / 3), 1e-9);
	assert_float_equal(rows[0].welch.df, 6, 1e-9);
	assert_true(rows[0].welch.p < 1e-9);
	assert_true(rows[0].differs);
	assert_float_equal(rows[0].delta_pct, 100, 1e-12);
	/* no spread on either side, different means: p = 0, delta +100% */
	assert_string_equal(rows[1].entry->unit, "msec");
	assert_true(rows[1].tested && rows[1].differs);
	assert_float_equal(rows[1].welch.p, 0, 0);
	assert_float_equal(rows[1].a.pct, 0, 0);
	/* the same samples: p = 1, no delta */
	assert_true(rows[2].tested);
	assert_float_equal(rows[2].welch.p, 1, 1e-12);
	assert_false(rows[2].differs);
	/* not counted: no test, no delta */
	assert_int_equal(rows[3].a.n, 0);
	assert_false(rows[3].tested || rows[3].differs);
	/* one run each: the means, but no test */
	assert_float_equal(rows[4].b.mean, 7, 0);
	assert_float_equal(rows[4].b.pct, 0, 0);
	assert_false(rows[4].tested || rows[4].differs);
	free(rows);
}

static void test_compare_different_events(void **state)
{
	(void)state;
	static const double v[] = {1, 2};
	struct eng_stat_entry ea[] = {entry("cycles", "", v, 2), entry("instructions", "", v, 2)};
	struct eng_stat_entry eb[] = {entry("cycles", "", v, 2), entry("branches", "", v, 2)};
	struct eng_stat_result a = {ea, 2}, b = {eb, 2};
	struct eng_stat_cmp_row *rows = (void *)1;
	char err[256];
	assert_int_equal(eng_stat_compare(&a, "A.json", &b, "B.json", &rows, err, sizeof(err)),
			 -EINVAL);
	assert_null(rows);
	assert_string_equal(err, "A.json and B.json count different events (instructions only "
				 "in A.json; branches only in B.json); compare results of the same "
				 "-e EVENTS");
	/* b's extra event, named from b's side */
	struct eng_stat_result a1 = {ea, 1};
	assert_int_equal(eng_stat_compare(&a1, "A.json", &b, "B.json", &rows, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "(branches only in B.json)"));
	/* Every missing event is named, not the first only. */
	struct eng_stat_entry ec[] = {entry("cycles", "", v, 2), entry("instructions", "", v, 2),
				      entry("branches", "", v, 2)};
	struct eng_stat_result c = {ec, 3}, d = {ec, 1};
	assert_int_equal(eng_stat_compare(&c, "C.json", &d, "D.json", &rows, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "(instructions, branches only in C.json)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_units),
		cmocka_unit_test(test_three_runs),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_compare_different_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
