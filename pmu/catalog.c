/*
 * The catalogue of events usable on this host, in `pmuprof list` order:
 * the presets (expanded for this CPU), generic hardware, cache, software,
 * each sysfs PMU, the tracepoints, each libpfm4 PMU.
 * Generic hardware and cache events are probed (as perf list does for cache
 * events) because the kernel knows their names even where no counter exists.
 */
#include "pfm.h"
#include "pmu_internal.h"

#include <string.h>

/* Can this host count the event for the calling task, user space only? */
static bool probe(uint32_t type, uint64_t config)
{
	return pmu_probe_event(type, config) == 0;
}

static int list_builtin(bool do_probe, int (*fn)(const struct pmu_list_entry *, void *),
			void *arg)
{
	int ret;
	/* Aliases share a config with the canonical name listed first; list canonicals only. */
	for (size_t i = 0; i < pmu_generic_events_count; i++) {
		const struct pmu_named_event *g = &pmu_generic_events[i];
		if (!g->desc)
			continue;
		if (g->type == PERF_TYPE_HARDWARE && do_probe && !probe(g->type, g->config))
			continue;
		struct pmu_list_entry e = {
			.group = g->type == PERF_TYPE_HARDWARE ? PMU_LIST_HARDWARE : PMU_LIST_SOFTWARE,
			.name = g->name,
			.desc = g->desc,
		};
		if ((ret = fn(&e, arg)) != 0)
			return ret;
	}
	bool have_hw = !do_probe || pmu_host_has_hw_counters();
	for (unsigned t = 0; t < PERF_COUNT_HW_CACHE_MAX && have_hw; t++) {
		for (unsigned op = 0; op < PERF_COUNT_HW_CACHE_OP_MAX; op++) {
			if (!pmu_cache_op_valid(t, op))
				continue;
			for (unsigned r = 0; r < PERF_COUNT_HW_CACHE_RESULT_MAX; r++) {
				uint64_t config = t | (op << 8) | ((uint64_t)r << 16);
				if (do_probe && !probe(PERF_TYPE_HW_CACHE, config))
					continue;
				char name[PMU_NAME_MAX];
				/* perf's spelling: "LLC-loads" for accesses, "LLC-load-misses". */
				bool miss = r == PERF_COUNT_HW_CACHE_RESULT_MISS;
				snprintf(name, sizeof(name), "%s-%s%s", pmu_cache_types[t].names[0],
					 pmu_cache_ops[op].names[miss ? 0 : 1], miss ? "-misses" : "");
				struct pmu_list_entry e = {.group = PMU_LIST_CACHE, .name = name};
				if ((ret = fn(&e, arg)) != 0)
					return ret;
			}
		}
	}
	return 0;
}

static int list_sysfs(const struct pmu_ctx *ctx, int (*fn)(const struct pmu_list_entry *, void *),
		      void *arg)
{
	int ret;
	for (size_t i = 0; i < ctx->npmus; i++) {
		const struct pmu_sysfs *p = &ctx->pmus[i];
		if (p->type == PERF_TYPE_BREAKPOINT) {
			struct pmu_list_entry e = {
				.group = PMU_LIST_SYSFS,
				.pmu = p->name,
				.name = "mem:ADDR[/LEN][:rwx]",
				.desc = "hardware watchpoint (or breakpoint/bp_addr=A,bp_len=L,bp_type=T/)"};
			if ((ret = fn(&e, arg)) != 0)
				return ret;
		}
		for (size_t a = 0; a < p->naliases; a++) {
			char name[PMU_NAME_MAX + 64];
			snprintf(name, sizeof(name), "%s/%s/", p->name, p->aliases[a].name);
			struct pmu_list_entry e = {.group = PMU_LIST_SYSFS,
						   .pmu = p->name,
						   .name = name,
						   .desc = p->aliases[a].terms};
			if ((ret = fn(&e, arg)) != 0)
				return ret;
		}
		/* The PMU's raw term form, so users see which terms it takes. */
		if (p->nformats) {
			char name[512];
			size_t used = (size_t)snprintf(name, sizeof(name), "%s/", p->name);
			for (size_t f = 0; f < p->nformats && used < sizeof(name); f++)
				used += (size_t)snprintf(name + used, sizeof(name) - used, "%s%s=N",
							 f ? "," : "", p->formats[f].name);
			if (used < sizeof(name))
				snprintf(name + used, sizeof(name) - used, "/");
			struct pmu_list_entry e = {.group = PMU_LIST_SYSFS,
						   .pmu = p->name,
						   .name = name,
						   .desc = "terms placed by format/ (values in hex or decimal)"};
			if ((ret = fn(&e, arg)) != 0)
				return ret;
		}
	}
	return 0;
}

struct pfm_walk {
	int (*fn)(const struct pmu_list_entry *, void *);
	void *arg;
	bool probe;
};

static int pfm_entry(const char *pmu, const char *pmu_desc, const char *event, const char *desc,
		     void *arg)
{
	(void)pmu_desc;
	struct pfm_walk *w = arg;
	if (w->probe) {
		/* libpfm4 lists what the CPU model has; keep what this host really counts. */
		struct perf_event_attr attr;
		char err[BASE_ERR_MAX];
		if (pmu_pfm_encode(event, &attr, sizeof(attr), err, sizeof(err)) < 0 ||
		    !probe(attr.type, attr.config))
			return 0;
	}
	struct pmu_list_entry e = {.group = PMU_LIST_LIBPFM, .pmu = pmu, .name = event, .desc = desc};
	return w->fn(&e, w->arg);
}

int pmu_list_events(const struct pmu_ctx *ctx, bool do_probe,
		    int (*fn)(const struct pmu_list_entry *e, void *arg), void *arg)
{
	/* Presets are listed even where they cannot open, so users see what they would count. */
	int ret = pmu_preset_list(ctx, do_probe && !pmu_host_has_hw_counters(), fn, arg);
	if (ret == 0)
		ret = list_builtin(do_probe, fn, arg);
	if (ret == 0)
		ret = list_sysfs(ctx, fn, arg);
	if (ret == 0)
		ret = pmu_tp_list(fn, arg);
	if (ret == 0 && pmu_pfm_init() == 0) {
		struct pfm_walk w = {fn, arg, do_probe};
		ret = pmu_pfm_foreach(pfm_entry, &w);
	}
	return ret;
}
