/*
 * metrics.c - perf stat's shadow metrics: what a count means beside the
 * others counted with it (instructions per cycle, miss ratios, MPKI, rates).
 */
#include "pmu.h"

#include <string.h>

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
		m[(*k)++] = (struct pmu_metric){ factor * num / den, unit, fmt, false };
}

/* A topdown event by its sysfs name, bare ("topdown-retiring") or on a PMU ("cpu_core/.../"). */
static bool td_is(const struct pmu_event *ev, const char *name)
{
	const char *n = ev->name, *slash = strchr(n, '/');
	size_t len = strlen(name);
	if (slash)
		n = slash + 1;
	return strncmp(n, name, len) == 0 && n[len] == (slash ? '/' : '\0');
}

/* As perf counts a topdown event: scaled for multiplexing, the sysfs .scale applied;
 * the first of that name that ran, 0 if none did. */
static double td_count(const struct pmu_event *ev, const struct pmu_count *counts, size_t n,
		       const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (td_is(&ev[k], name) && counts[k].running > 0)
			return pmu_count_scaled(&counts[k]) * ev[k].scale;
	return 0;
}

/* perf's: a small negative from counting skew is 0. */
static double td_sanitize(double x)
{
	return x < 0 && x >= -0.02 ? 0.0 : x;
}

/* x as a share of topdown's total slots; 0 without them, as perf. */
static double td_share(double x, double total)
{
	return total > 0 ? x / total : 0.0;
}

/*
 * perf's topdown level 1 beside event i (the columns of perf stat --topdown), in m[*k];
 * false where perf shows none, and then, as perf, what it shows beside any other event.
 * perf colours a share past its threshold (retiring above 70 %, bad speculation above
 * 10 %, frontend or backend bound above 20 %).
 */
static bool td_metrics(const struct pmu_event *ev, const struct pmu_count *counts, size_t n,
		       size_t i, struct pmu_metric *m, int *k)
{
	static const struct {
		const char *event, *unit;
		double threshold;
	} shares[] = {
		{"topdown-retiring", "Retiring", 0.7},
		{"topdown-bad-spec", "Bad Speculation", 0.1},
		{"topdown-fe-bound", "Frontend Bound", 0.2},
		{"topdown-be-bound", "Backend Bound", 0.2},
	};
	/* PERF_METRICS: each event is its share of slots; their sum stands for slots, and
	 * perf shows them only when two or more counted. */
	for (size_t x = 0; x < sizeof(shares) / sizeof(shares[0]); x++) {
		if (!td_is(&ev[i], shares[x].event))
			continue;
		double sum = 0;
		int counted = 0;
		for (size_t y = 0; y < sizeof(shares) / sizeof(shares[0]); y++) {
			double c = td_count(ev, counts, n, shares[y].event);
			sum += c;
			counted += c > 0;
		}
		if (counted < 2)
			return false;
		double r = td_count(ev, counts, n, shares[x].event) / sum;
		m[(*k)++] = (struct pmu_metric){100 * r, shares[x].unit, "%8.1f%%",
						r > shares[x].threshold};
		return true;
	}
	/* The older events: shares of topdown-total-slots by perf's formulas. */
	bool retired = td_is(&ev[i], "topdown-slots-retired"),
	     recovery = td_is(&ev[i], "topdown-recovery-bubbles"),
	     fetch = td_is(&ev[i], "topdown-fetch-bubbles"),
	     issued = td_is(&ev[i], "topdown-slots-issued");
	if (!retired && !recovery && !fetch && !issued)
		return false;
	/* perf's: each share 0 without total slots, and backend bound then not shown */
	double total = td_count(ev, counts, n, "topdown-total-slots");
	if (issued && total <= 0)
		return false;
	double ret = td_share(td_count(ev, counts, n, "topdown-slots-retired"), total);
	double bad = td_sanitize(td_share(td_count(ev, counts, n, "topdown-slots-issued") -
						  td_count(ev, counts, n, "topdown-slots-retired") +
						  td_count(ev, counts, n, "topdown-recovery-bubbles"),
					  total));
	double fe = td_share(td_count(ev, counts, n, "topdown-fetch-bubbles"), total);
	double sum = ret + bad + fe, be = sum == 0 ? 0 : td_sanitize(1.0 - sum);
	if (retired) {
		m[(*k)++] = (struct pmu_metric){100 * ret, "retiring", "%8.1f%%", ret > 0.7};
	} else if (recovery) {
		m[(*k)++] = (struct pmu_metric){100 * bad, "bad speculation", "%8.1f%%", bad > 0.1};
	} else if (fetch) {
		m[(*k)++] = (struct pmu_metric){100 * fe, "frontend bound", "%8.1f%%", fe > 0.2};
	} else {
		/* without recovery bubbles, bad speculation is in what is left */
		bool have_recovery = false;
		for (size_t y = 0; y < n; y++)
			have_recovery |= td_is(&ev[y], "topdown-recovery-bubbles");
		m[(*k)++] = (struct pmu_metric){100 * be,
						have_recovery ? "backend bound"
							      : "backend bound/bad spec",
						"%8.1f%%", be > 0.2};
	}
	return true;
}

int pmu_metrics(const struct pmu_event *ev, const struct pmu_count *counts, size_t n, size_t i,
		double wall_ns, struct pmu_metric m[PMU_METRICS_MAX])
{
	if (counts[i].running == 0)
		return 0;
	int k = 0;
	if (td_metrics(ev, counts, n, i, m, &k))
		return k;
	double v = pmu_count_scaled(&counts[i]);
	double clock = base_count(ev, counts, n, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK);
	if (clock == 0)
		clock = base_count(ev, counts, n, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK);
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
			m[k++] = (struct pmu_metric){ per_sec / 1e6, "M/sec", "%8.3f", false };
		else if (per_sec >= 1e3)
			m[k++] = (struct pmu_metric){ per_sec / 1e3, "K/sec", "%8.3f", false };
		else
			m[k++] = (struct pmu_metric){ per_sec, "/sec", "%8.3f", false };
	}
	return k;
}
