/*
 * Unit tests of perf stat's shadow metrics (pmu/metrics.c) against values
 * computed by hand: CPUs utilized, GHz, insn per cycle, miss ratios and
 * MPKI, rates per second of task time; multiplexed counts are scaled, a base
 * event is found whatever its modifiers, and a missing base gives no metric.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "pmu.h"

static struct pmu_event event(uint32_t type, uint64_t config)
{
	struct pmu_event e;
	memset(&e, 0, sizeof(e));
	e.attr.type = type;
	e.attr.config = config;
	e.scale = 1.0;
	return e;
}

#define SW(c) event(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_##c)
#define HW(c) event(PERF_TYPE_HARDWARE, PERF_COUNT_HW_##c)
#define FULL(v) ((struct pmu_count){ .value = (v), .enabled = 1000, .running = 1000 })

/* The metrics of event i: exactly nm of them, with these values and units. */
static void expect(const struct pmu_event *ev, const struct pmu_count *c, size_t n, size_t i,
		   double wall_ns, int nm, const double *values, const char *const *units)
{
	struct pmu_metric m[PMU_METRICS_MAX];
	assert_int_equal(pmu_metrics(ev, c, n, i, wall_ns, m), nm);
	for (int k = 0; k < nm; k++) {
		double d = m[k].value - values[k], tol = 1e-12 * (values[k] > 1 ? values[k] : 1);
		if (d > tol || d < -tol)
			fail_msg("metric %d (%s) is %.15g, expected %.15g", k, m[k].unit, m[k].value,
				 values[k]);
		assert_string_equal(m[k].unit, units[k]);
	}
}

static void test_perf_stat_defaults(void **state)
{
	(void)state;
	const struct pmu_event ev[] = {
		SW(TASK_CLOCK), SW(CONTEXT_SWITCHES), SW(CPU_MIGRATIONS), SW(PAGE_FAULTS),
		HW(CPU_CYCLES), HW(INSTRUCTIONS), HW(CACHE_MISSES), HW(CACHE_REFERENCES),
		HW(BRANCH_MISSES), HW(BRANCH_INSTRUCTIONS),
	};
	const struct pmu_count c[] = {
		FULL(2000000000), /* 2 s of task time */
		FULL(10), FULL(4000000), FULL(3000),
		/* cycles ran half the time (multiplexed): 3e9 scales to 6e9 */
		{ .value = 3000000000, .enabled = 2000, .running = 1000 },
		FULL(9000000000), FULL(250000), FULL(1000000), FULL(10000000), FULL(2000000000),
	};
	size_t n = sizeof(ev) / sizeof(ev[0]);
	double wall = 1e9; /* 1 s elapsed */
	expect(ev, c, n, 0, wall, 1, (double[]){ 2.0 }, (const char *[]){ "CPUs utilized" });
	expect(ev, c, n, 1, wall, 1, (double[]){ 5.0 }, (const char *[]){ "/sec" });
	expect(ev, c, n, 2, wall, 1, (double[]){ 2.0 }, (const char *[]){ "M/sec" });
	expect(ev, c, n, 3, wall, 1, (double[]){ 1.5 }, (const char *[]){ "K/sec" });
	expect(ev, c, n, 4, wall, 1, (double[]){ 3.0 }, (const char *[]){ "GHz" });
	expect(ev, c, n, 5, wall, 1, (double[]){ 1.5 }, (const char *[]){ "insn per cycle" });
	expect(ev, c, n, 6, wall, 2, (double[]){ 25.0, 250000 * 1000.0 / 9e9 },
	       (const char *[]){ "of all cache refs", "cache-misses MPKI" });
	/* references: no metric of its own but a rate, as perf */
	expect(ev, c, n, 7, wall, 1, (double[]){ 500.0 }, (const char *[]){ "K/sec" });
	expect(ev, c, n, 8, wall, 2, (double[]){ 0.5, 1e7 * 1000.0 / 9e9 },
	       (const char *[]){ "of all branches", "branch-misses MPKI" });
	/* no wall time: no CPUs utilized */
	expect(ev, c, n, 0, 0, 0, NULL, NULL);
}

static void test_missing_bases(void **state)
{
	(void)state;
	/*
	 * cpu-clock stands in for task-clock; a cycles event that never ran is
	 * passed over for one with modifiers that did; cache-misses without
	 * references or instructions has no metric.
	 */
	struct pmu_event ev[] = { SW(CPU_CLOCK), HW(CPU_CYCLES), HW(CPU_CYCLES),
				  HW(INSTRUCTIONS), HW(CACHE_MISSES) };
	ev[2].attr.exclude_kernel = 1;
	struct pmu_count c[] = { FULL(500000000), { 0 }, FULL(1000000000), FULL(500000000),
				 FULL(7) };
	size_t n = sizeof(ev) / sizeof(ev[0]);
	expect(ev, c, n, 1, 1e9, 0, NULL, NULL); /* never ran */
	expect(ev, c, n, 2, 1e9, 1, (double[]){ 2.0 }, (const char *[]){ "GHz" });
	expect(ev, c, n, 3, 1e9, 1, (double[]){ 0.5 }, (const char *[]){ "insn per cycle" });
	expect(ev, c, n, 4, 1e9, 1, (double[]){ 7 * 1000.0 / 5e8 },
	       (const char *[]){ "cache-misses MPKI" });
	/* without any clock, cycles has no GHz */
	expect(ev + 1, c + 1, n - 1, 1, 1e9, 0, NULL, NULL);
	/* instructions:u beside instructions: each its own ratio to the cycles */
	struct pmu_event ipc[] = { HW(CPU_CYCLES), HW(INSTRUCTIONS), HW(INSTRUCTIONS) };
	ipc[2].attr.exclude_kernel = 1;
	const struct pmu_count ipc_c[] = { FULL(1000000000), FULL(2000000000), FULL(500000000) };
	expect(ipc, ipc_c, 3, 1, 1e9, 1, (double[]){ 2.0 }, (const char *[]){ "insn per cycle" });
	expect(ipc, ipc_c, 3, 2, 1e9, 1, (double[]){ 0.5 }, (const char *[]){ "insn per cycle" });
	/* without cycles, instructions has none */
	expect(ev + 3, c + 3, 2, 0, 1e9, 0, NULL, NULL);
}

/* Stalled cycles: per instruction (the larger stall) beside instructions, idle % of cycles. */
static void test_stalls(void **state)
{
	(void)state;
	const struct pmu_event ev[] = { HW(CPU_CYCLES), HW(INSTRUCTIONS),
					HW(STALLED_CYCLES_FRONTEND), HW(STALLED_CYCLES_BACKEND) };
	const struct pmu_count c[] = { FULL(1000), FULL(800), FULL(300), FULL(100) };
	expect(ev, c, 4, 1, 1e9, 2, (double[]){ 0.8, 300.0 / 800 },
	       (const char *[]){ "insn per cycle", "stalled cycles per insn" });
	expect(ev, c, 4, 2, 1e9, 1, (double[]){ 30.0 }, (const char *[]){ "frontend cycles idle" });
	expect(ev, c, 4, 3, 1e9, 1, (double[]){ 10.0 }, (const char *[]){ "backend cycles idle" });
	/* the backend's alone is the larger */
	expect(ev, c, 2, 1, 1e9, 1, (double[]){ 0.8 }, (const char *[]){ "insn per cycle" });
	const struct pmu_event back[] = { HW(INSTRUCTIONS), HW(STALLED_CYCLES_BACKEND) };
	const struct pmu_count bc[] = { FULL(800), FULL(400) };
	expect(back, bc, 2, 0, 1e9, 1, (double[]){ 0.5 },
	       (const char *[]){ "stalled cycles per insn" });
	/* without cycles, no idle share */
	expect(back, bc, 2, 1, 1e9, 0, NULL, NULL);
}

/* perf's formats of each metric's value: the text the layouts print. */
static void test_formats(void **state)
{
	(void)state;
	const struct pmu_event ev[] = { SW(TASK_CLOCK),		HW(CPU_CYCLES),
					HW(INSTRUCTIONS),	HW(BRANCH_MISSES),
					HW(BRANCH_INSTRUCTIONS), HW(CACHE_MISSES),
					HW(CACHE_REFERENCES),	HW(STALLED_CYCLES_FRONTEND) };
	const struct pmu_count c[] = { FULL(1000000000), FULL(2000000000), FULL(3000000000),
				       FULL(1234),	 FULL(100000),	   FULL(5),
				       FULL(40),	 FULL(500000000) };
	static const char *const want[] = { "   1.000", "   2.000", "   1.50 ", "   1.23%",
					    NULL,	"  12.500 %", NULL,	 "  25.00%" };
	for (size_t i = 0; i < 8; i++) {
		struct pmu_metric m[PMU_METRICS_MAX];
		char buf[64];
		if (!want[i])
			continue;
		assert_true(pmu_metrics(ev, c, 8, i, 1e9, m) > 0);
		snprintf(buf, sizeof(buf), m[0].fmt, m[0].value);
		assert_string_equal(buf, want[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perf_stat_defaults),
		cmocka_unit_test(test_missing_bases),
		cmocka_unit_test(test_stalls),
		cmocka_unit_test(test_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
