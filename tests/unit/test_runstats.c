/*
 * Unit tests of stat's statistics over repeated runs (engine/stats.c) against
 * values computed by hand: the mean, the sample variance, the standard error
 * of the mean perf stat -r prints as "+-", and its percent of the mean; the
 * regularized incomplete beta function, Student's t two-sided p-values (scipy's
 * 2 * stats.t.sf(2, 10), the t table, closed forms for 1 and 2 degrees of freedom, the
 * density integrated numerically) and Welch's t-test on samples worked by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>

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

static void test_betai(void **state)
{
	(void)state;
	/* I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(a, b) = 1 - I_(1-x)(b, a) */
	assert_float_equal(eng_betai(1, 1, 0.3), 0.3, 1e-12);
	assert_float_equal(eng_betai(3, 1, 0.5), 0.125, 1e-12);
	assert_float_equal(eng_betai(2.5, 4, 0.7), 1 - eng_betai(4, 2.5, 0.3), 1e-12);
	assert_float_equal(eng_betai(2, 3, 0), 0, 0);
	assert_float_equal(eng_betai(2, 3, 1), 1, 0);
}

static void test_student_t(void **state)
{
	(void)state;
	/* scipy: 2 * stats.t.sf(2.0, 10) = 0.0733880347... */
	assert_float_equal(eng_student_t_p2(2.0, 10), 0.07338803477, 1e-9);
	assert_float_equal(eng_student_t_p2(-2.0, 10), 0.07338803477, 1e-9);
	/* the table's t(0.975, 10) = 2.228138852: p = 0.05 */
	assert_float_equal(eng_student_t_p2(2.228138852, 10), 0.05, 1e-8);
	/* df = 1 is Cauchy's: p = 1 - 2 atan(t) / pi; df = 2: p = 1 - t / sqrt(2 + t^2) */
	assert_float_equal(eng_student_t_p2(1.0, 1), 0.5, 1e-12);
	assert_float_equal(eng_student_t_p2(2.0, 2), 1 - 2 / sqrt(6), 1e-12);
	/* the density integrated numerically */
	assert_float_equal(eng_student_t_p2(3.5, 4.5), 0.02054168997, 1e-9);
	assert_float_equal(eng_student_t_p2(0.0, 7), 1.0, 1e-12);
	assert_float_equal(eng_student_t_p2(INFINITY, 7), 0.0, 0);
}

static void test_welch(void **state)
{
	(void)state;
	/* means 3 and 6, variances 2.5 and 10 over 5: t = -3 / sqrt(2.5), df = 6.25 / 1.0625 */
	struct eng_runstats a = of((const double[]){1, 2, 3, 4, 5}, 5);
	struct eng_runstats b = of((const double[]){2, 4, 6, 8, 10}, 5);
	struct eng_welch w;
	assert_int_equal(eng_welch(&a, &b, &w), 0);
	assert_float_equal(w.t, -1.8973665961010275, 1e-12);
	assert_float_equal(w.df, 5.882352941176471, 1e-12);
	/* the t density integrated numerically over |T| >= |t| (Python, 2e5 steps) */
	assert_float_equal(w.p, 0.10753119493, 1e-9);
	/* no spread: equal samples p = 1, distinct ones p = 0 */
	struct eng_runstats c = of((const double[]){7, 7, 7}, 3), d = of((const double[]){8, 8}, 2);
	assert_int_equal(eng_welch(&c, &c, &w), 0);
	assert_float_equal(w.p, 1.0, 0);
	assert_int_equal(eng_welch(&c, &d, &w), 0);
	assert_float_equal(w.p, 0.0, 0);
	/* one run has no variance to test */
	struct eng_runstats one = of((const double[]){7}, 1);
	assert_int_equal(eng_welch(&one, &c, &w), -EDOM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mean_variance_stderr),
		cmocka_unit_test(test_perf_two_runs),
		cmocka_unit_test(test_large_counts),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_betai),
		cmocka_unit_test(test_student_t),
		cmocka_unit_test(test_welch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
