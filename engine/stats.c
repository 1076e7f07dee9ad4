/*
 * Statistics over repeated runs (stat -r, stat --compare): perf stat's
 * running mean and standard error, and Welch's t-test with Student's t
 * distribution through the regularized incomplete beta function.
 */
#include "engine.h"

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
