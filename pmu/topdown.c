/*
 * topdown.c - topdown level 1 where the CPU's sysfs defines it, as perf stat
 * --topdown: Ice Lake and later have slots and four metric events the kernel
 * derives from the PERF_METRICS register (each read as its share of slots,
 * so perf divides it by their sum); older Intel CPUs have slot and bubble
 * counts perf combines by its formulas (the sysfs .scale applied).
 */
#include "pmu_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* perf's order: the columns follow the events (retiring, bad spec, frontend, backend). */
static const char *const td_metric_events[] = {"slots", "topdown-retiring", "topdown-bad-spec",
					       "topdown-fe-bound", "topdown-be-bound"};
static const char *const td_bubble_events[] = {"topdown-total-slots", "topdown-slots-retired",
					       "topdown-recovery-bubbles",
					       "topdown-fetch-bubbles", "topdown-slots-issued"};
#define TD_N 5

/* "{a,b}" or "a,b" of the events pmu has (all of them unless optional), PMU-qualified
 * on a hybrid CPU; false when one it needs is missing. */
static bool td_spec(const struct pmu_sysfs *pmu, const char *const *names, const char *optional,
		    bool group, char *buf, size_t len)
{
	bool qualify = strcmp(pmu->name, "cpu") != 0;
	size_t used = (size_t)snprintf(buf, len, "%s", group ? "{" : "");
	for (int k = 0; k < TD_N; k++) {
		if (!pmu_sysfs_alias(pmu, names[k])) {
			if (optional && strcmp(names[k], optional) == 0)
				continue;
			return false;
		}
		const char *sep = used > (group ? 1u : 0u) ? "," : "";
		if (qualify)
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s/%s/",
						 sep, pmu->name, names[k]);
		else
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s", sep,
						 names[k]);
	}
	if (group && used < len)
		used += (size_t)snprintf(buf + used, len - used, "}");
	return used < len;
}

int pmu_topdown(const struct pmu_ctx *ctx, struct pmu_topdown *td, char *err, size_t errlen)
{
	*td = (struct pmu_topdown){0};
	const struct pmu_sysfs *core = pmu_sysfs_core(ctx);
	/* The metric events count only in a group led by slots (the kernel refuses others). */
	if (core && td_spec(core, td_metric_events, NULL, true, td->events, sizeof(td->events))) {
		td->kind = PMU_TOPDOWN_METRICS;
		return 0;
	}
	/* Not grouped: five events may not fit the counters beside the NMI watchdog's
	 * (perf groups them only without it); multiplexing scales them instead. */
	if (core && td_spec(core, td_bubble_events, "topdown-recovery-bubbles", false,
			    td->events, sizeof(td->events))) {
		td->kind = PMU_TOPDOWN_BUBBLES;
		td->per_core = true;
		return 0;
	}
	td->events[0] = '\0';
	return base_fail(err, errlen, -ENOENT,
			 "this CPU's PMU defines no topdown events (no topdown-* in "
			 "%s/bus/event_source/devices/%s/events); topdown level 1 needs an Intel "
			 "CPU with them",
			 ctx->root, core ? core->name : "cpu");
}
