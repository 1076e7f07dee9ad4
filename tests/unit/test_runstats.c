/*
 * Unit tests of stat's statistics over repeated runs (engine/stats.c) against
 * values computed by hand: the mean, the sample variance, the standard error
 * of the mean perf stat -r prints as "+-", and its percent of the mean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine.h"

static struct eng_runstats of(const double *v, size_t n)
{
	struct eng_runstats s = {0};
	for (size_t i = 0; i < n; i++)
		eng_runstats_add(&s, v[i]);
	return s;
}

static void test_mean_variance_stderr(void **state)
{
	(void)state;
	/* Sum 40, mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; variance 32/7. */
	const double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
	struct eng_runstats s = of(v, 8);
	assert_int_equal(s.n, 8);
	assert_float_equal(s.mean, 5.0, 1e-12);
	assert_float_equal(eng_runstats_variance(&s), 32.0 / 7.0, 1e-12);
	/* sqrt((32/7)/8) = sqrt(4/7) */
	assert_float_equal(eng_runstats_stderr(&s), 0.7559289460184544, 1e-12);
	assert_float_equal(eng_runstats_rel_pct(eng_runstats_stderr(&s), s.mean),
			   15.118578920369089, 1e-9);
}

/* perf stat -r 2 printing 60 page faults ( +- 2.50% ): runs of 59 and 62. */
static void test_perf_two_runs(void **state)
{
	(void)state;
	struct eng_runstats s = of((const double[]){59, 62}, 2);
	assert_float_equal(s.mean, 60.5, 1e-12);
	assert_float_equal(eng_runstats_variance(&s), 4.5, 1e-12);
	assert_float_equal(eng_runstats_stderr(&s), 1.5, 1e-12);
	/* relative to the mean perf prints, whole events */
	assert_float_equal(eng_runstats_rel_pct(eng_runstats_stderr(&s), 60.0), 2.5, 1e-12);
}

/* Large counts close together: Welford's update keeps the digits a sum of squares loses. */
static void test_large_counts(void **state)
{
	(void)state;
	struct eng_runstats s = of((const double[]){1e12 + 1, 1e12 + 2, 1e12 + 3}, 3);
	assert_float_equal(s.mean, 1e12 + 2, 1e-3);
	assert_float_equal(eng_runstats_variance(&s), 1.0, 1e-6);
}

static void test_degenerate(void **state)
{
	(void)state;
	struct eng_runstats none = {0}, one = of((const double[]){42}, 1);
	assert_float_equal(eng_runstats_variance(&none), 0.0, 0);
	assert_float_equal(eng_runstats_stderr(&none), 0.0, 0);
	assert_float_equal(one.mean, 42.0, 0);
	assert_float_equal(eng_runstats_stderr(&one), 0.0, 0);
	assert_float_equal(eng_runstats_rel_pct(1.0, 0.0), 0.0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mean_variance_stderr),
		cmocka_unit_test(test_perf_two_runs),
		cmocka_unit_test(test_large_counts),
		cmocka_unit_test(test_degenerate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
