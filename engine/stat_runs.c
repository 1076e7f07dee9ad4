/*
 * stat -r N: the counts of N runs of a command averaged as perf stat does
 * (each count's mean in whole events, its standard error relative to that
 * mean), with each run's count kept for stat --compare's test.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>

double eng_stat_value(const struct pmu_event *ev, const struct pmu_count *c)
{
	double v = pmu_count_scaled(c) * ev->scale;
	return pmu_event_is_clock(ev) ? v / 1e6 : v;
}

int eng_stat_runs_init(struct eng_stat_runs *r, const struct pmu_event_list *evs,
		       size_t ngroups, int max_runs, char *err, size_t errlen)
{
	*r = (struct eng_stat_runs){.evs = evs,
				    .nslots = (ngroups ? ngroups : 1) * evs->n,
				    .grouped = ngroups > 0,
				    .max_runs = max_runs > 0 ? max_runs : 1};
	size_t n = r->nslots ? r->nslots : 1;
	r->sum = calloc(n, sizeof(*r->sum));
	r->mean = calloc(n, sizeof(*r->mean));
	r->spread = calloc(n, sizeof(*r->spread));
	r->noise = calloc(n, sizeof(*r->noise));
	r->run_values = calloc(n * (size_t)r->max_runs, sizeof(*r->run_values));
	if (!r->sum || !r->mean || !r->spread || !r->noise || !r->run_values) {
		eng_stat_runs_free(r);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	return 0;
}

int eng_stat_runs_add(struct eng_stat_runs *r, const struct pmu_count *counts, double wall_ns)
{
	if (r->runs >= r->max_runs)
		return -ENOSPC;
	size_t run = (size_t)r->runs++;
	uint64_t n = (uint64_t)r->runs;
	for (size_t k = 0; k < r->nslots; k++) {
		struct pmu_count *s = &r->sum[k];
		s->value += counts[k].value;
		s->enabled += counts[k].enabled;
		s->running += counts[k].running;
		s->lost += counts[k].lost;
		eng_runstats_add(&r->spread[k], pmu_count_scaled(&counts[k]));
		r->run_values[k * (size_t)r->max_runs + run] =
			eng_stat_value(&r->evs->ev[k % r->evs->n], &counts[k]);
		/* As perf: the mean in whole events, the "+-" relative to that mean; the
		 * losses are the runs' total. */
		r->mean[k] = (struct pmu_count){.value = s->value / n,
						.enabled = s->enabled / n,
						.running = s->running / n,
						.lost = s->lost};
		/* perf prints no spread for an aggregation group's count */
		r->noise[k] = r->grouped ? 0.0
					 : eng_runstats_rel_pct(eng_runstats_stderr(&r->spread[k]),
							      pmu_count_scaled(&r->mean[k]));
	}
	eng_runstats_add(&r->wall, wall_ns);
	return 0;
}

void eng_stat_runs_free(struct eng_stat_runs *r)
{
	free(r->sum);
	free(r->mean);
	free(r->spread);
	free(r->noise);
	free(r->run_values);
	*r = (struct eng_stat_runs){0};
}
