/*
 * metrics.c - perf stat's shadow metrics: what a count means beside the
 * others counted with it (instructions per cycle, miss ratios, MPKI, rates).
 */
#include "pmu.h"

/* Scaled count of the first event counting (type, config) that ran; 0 if none did. */
static double base_count(const struct pmu_event *ev, const struct pmu_count *counts, size_t n,
			 uint32_t type, uint64_t config)
{
	for (size_t k = 0; k < n; k++)
		if (ev[k].attr.type == type && ev[k].attr.config == config && counts[k].running > 0)
			return pmu_count_scaled(&counts[k]);
	return 0;
}

/* m[*k] = num * factor / den when the base was counted; fmt is perf's for the metric. */
static void ratio(struct pmu_metric *m, int *k, double num, double den, double factor,
		  const char *unit, const char *fmt)
{
	if (den > 0)
		m[(*k)++] = (struct pmu_metric){ factor * num / den, unit, fmt };
}

int pmu_metrics(const struct pmu_event *ev, const struct pmu_count *counts, size_t n, size_t i,
		double wall_ns, struct pmu_metric m[PMU_METRICS_MAX])
{
	if (counts[i].running == 0)
		return 0;
	double v = pmu_count_scaled(&counts[i]);
	double clock = base_count(ev, counts, n, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK);
	if (clock == 0)
		clock = base_count(ev, counts, n, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK);
	int k = 0;
	if (pmu_event_is_clock(&ev[i])) {
		ratio(m, &k, v, wall_ns, 1, "CPUs utilized", "%8.3f");
		return k;
	}
	uint64_t config = ev[i].attr.config;
	if (ev[i].attr.type == PERF_TYPE_HARDWARE && config == PERF_COUNT_HW_CPU_CYCLES) {
		ratio(m, &k, v, clock, 1, "GHz", "%8.3f"); /* cycles per ns of task time */
		return k;
	}
	double insns = base_count(ev, counts, n, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS);
	double cycles = base_count(ev, counts, n, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES);
	double front = base_count(ev, counts, n, PERF_TYPE_HARDWARE,
				  PERF_COUNT_HW_STALLED_CYCLES_FRONTEND);
	double back = base_count(ev, counts, n, PERF_TYPE_HARDWARE,
				 PERF_COUNT_HW_STALLED_CYCLES_BACKEND);
	if (ev[i].attr.type == PERF_TYPE_HARDWARE && config == PERF_COUNT_HW_INSTRUCTIONS) {
		ratio(m, &k, v, cycles, 1, "insn per cycle", "%7.2f ");
		/* perf's: the larger of the two stalls, per instruction */
		if (front > 0 || back > 0)
			ratio(m, &k, front > back ? front : back, v, 1, "stalled cycles per insn",
			      "%7.2f ");
		return k;
	}
	if (ev[i].attr.type == PERF_TYPE_HARDWARE &&
	    (config == PERF_COUNT_HW_STALLED_CYCLES_FRONTEND ||
	     config == PERF_COUNT_HW_STALLED_CYCLES_BACKEND)) {
		ratio(m, &k, v, cycles, 100,
		      config == PERF_COUNT_HW_STALLED_CYCLES_FRONTEND ? "frontend cycles idle"
								      : "backend cycles idle",
		      "%7.2f%%");
		return k;
	}
	/* A miss: its share of what it missed out of, and per thousand instructions. */
	static const struct {
		uint64_t miss, of;
		const char *share, *share_fmt, *mpki;
	} misses[] = {
		{ PERF_COUNT_HW_CACHE_MISSES, PERF_COUNT_HW_CACHE_REFERENCES, "of all cache refs",
		  "%8.3f %%", "cache-misses MPKI" },
		{ PERF_COUNT_HW_BRANCH_MISSES, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, "of all branches",
		  "%7.2f%%", "branch-misses MPKI" },
	};
	for (size_t x = 0; x < sizeof(misses) / sizeof(misses[0]); x++) {
		if (ev[i].attr.type != PERF_TYPE_HARDWARE || config != misses[x].miss)
			continue;
		ratio(m, &k, v, base_count(ev, counts, n, PERF_TYPE_HARDWARE, misses[x].of), 100,
		      misses[x].share, misses[x].share_fmt);
		ratio(m, &k, v, insns, 1000, misses[x].mpki, "%8.3f");
		return k;
	}
	/* Anything else: a rate per second of task time, as perf shows for software events. */
	if (clock > 0) {
		double per_sec = v / (clock / 1e9);
		if (per_sec >= 1e6)
			m[k++] = (struct pmu_metric){ per_sec / 1e6, "M/sec", "%8.3f" };
		else if (per_sec >= 1e3)
			m[k++] = (struct pmu_metric){ per_sec / 1e3, "K/sec", "%8.3f" };
		else
			m[k++] = (struct pmu_metric){ per_sec, "/sec", "%8.3f" };
	}
	return k;
}
