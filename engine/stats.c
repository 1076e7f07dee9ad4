/*
 * Statistics over repeated runs (stat -r, stat --compare): perf stat's
 * running mean and standard error, and Welch's t-test with Student's t
 * distribution through the regularized incomplete beta function.
 */
#include "engine.h"

#include <errno.h>
#include <math.h>

/* Welford's update, as perf's update_stats: no cancellation between large sums. */
void eng_runstats_add(struct eng_runstats *s, double v)
{
	s->n++;
	double delta = v - s->mean;
	s->mean += delta / (double)s->n;
	s->m2 += delta * (v - s->mean);
}

double eng_runstats_variance(const struct eng_runstats *s)
{
	return s->n < 2 ? 0.0 : s->m2 / (double)(s->n - 1);
}

double eng_runstats_stderr(const struct eng_runstats *s)
{
	return s->n < 2 ? 0.0 : sqrt(eng_runstats_variance(s) / (double)s->n);
}

double eng_runstats_rel_pct(double sd, double avg)
{
	return avg != 0.0 ? 100.0 * sd / avg : 0.0;
}

/*
 * The continued fraction of the incomplete beta function, by the modified Lentz method:
 * converges fast for x < (a + 1) / (a + b + 2) (eng_betai swaps the arguments otherwise).
 */
static double betacf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	double h = d;
	for (int m = 1; m <= 300; m++) {
		/* the even step, then the odd one */
		double aa = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
		d = 1.0 + aa * d;
		d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		h *= d * c;
		aa = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
		d = 1.0 + aa * d;
		d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		double del = d * c;
		h *= del;
		if (fabs(del - 1.0) < eps)
			break;
	}
	return h;
}

double eng_betai(double a, double b, double x)
{
	if (x <= 0.0)
		return 0.0;
	if (x >= 1.0)
		return 1.0;
	/* x^a (1-x)^b / (a B(a, b)), in logarithms for large a and b */
	double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1.0) / (a + b + 2.0))
		return front * betacf(a, b, x) / a;
	return 1.0 - front * betacf(b, a, 1.0 - x) / b;
}

double eng_student_t_p2(double t, double df)
{
	if (isinf(t))
		return 0.0;
	return eng_betai(df / 2.0, 0.5, df / (df + t * t));
}

int eng_welch(const struct eng_runstats *a, const struct eng_runstats *b, struct eng_welch *w)
{
	if (a->n < 2 || b->n < 2)
		return -EDOM;
	double va = eng_runstats_variance(a) / (double)a->n;
	double vb = eng_runstats_variance(b) / (double)b->n;
	double diff = a->mean - b->mean;
	if (va + vb == 0.0) {
		/* No spread at all: equal samples cannot differ, distinct ones certainly do. */
		*w = (struct eng_welch){.t = diff == 0.0 ? 0.0 : copysign(INFINITY, diff),
					.df = (double)(a->n + b->n - 2),
					.p = diff == 0.0 ? 1.0 : 0.0};
		return 0;
	}
	w->t = diff / sqrt(va + vb);
	/* Welch-Satterthwaite degrees of freedom */
	w->df = (va + vb) * (va + vb) /
		(va * va / (double)(a->n - 1) + vb * vb / (double)(b->n - 1));
	w->p = eng_student_t_p2(w->t, w->df);
	return 0;
}
