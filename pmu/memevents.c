/*
 * Data-address sampling events for memory profiling (c2c record, mem record):
 * which events give each sample a data address, a data source and a latency
 * on this host, chosen as `perf mem record` / `perf c2c record` choose them.
 *
 * Intel: PEBS load latency and precise stores, through the core PMUs' named
 * events (events/mem-loads, events/mem-stores, events/mem-loads-aux), so the
 * kernel's own encodings are used on every model. AMD: IBS op sampling
 * (ibs_op PMU), one event for loads and stores. Neither: an error that says
 * what is missing and which methods still work.
 */
#include "pmu_internal.h"

#include <errno.h>
#include <string.h>

/* What every memory sample carries beyond the sampler's own fields. */
#define MEM_SAMPLE_EXTRA                                                                   \
	(PERF_SAMPLE_ADDR | PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_WEIGHT | PERF_SAMPLE_PHYS_ADDR)
/* The sampler's base fields (sampler/session.c), so the attr is complete on its own. */
#define MEM_SAMPLE_BASE                                                                    \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |          \
	 PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD)

/* AMD IBS load-latency filter limits (cycles), as the kernel checks them. */
#define IBS_LDLAT_MIN 128
#define IBS_LDLAT_MAX 2048

/* Core PMUs that may carry PEBS memory events: plain x86, and both halves of a hybrid. */
static const char *const pebs_pmus[] = {"cpu", "cpu_core", "cpu_atom"};

static bool has_pebs_loads(const struct pmu_sysfs *p)
{
	/* The kernel lists mem-loads only with PEBS; max_precise 0 says it is unusable. */
	return p && pmu_sysfs_alias(p, "mem-loads") && p->max_precise != 0;
}

static void mark_mem_event(struct pmu_event *ev, unsigned precise, const char *suffix)
{
	ev->attr.precise_ip = precise;
	ev->attr.sample_type = MEM_SAMPLE_BASE | MEM_SAMPLE_EXTRA;
	ev->sample_type_extra = MEM_SAMPLE_EXTRA;
	size_t l = strlen(ev->name);
	snprintf(ev->name + l, sizeof(ev->name) - l, "%s", suffix);
}

/* Parses `spec` (one event or one group) and marks what it added. */
static int add_pebs(const struct pmu_ctx *ctx, const struct pmu_sysfs *p, const char *spec,
		    struct pmu_event_list *out, char *err, size_t errlen)
{
	size_t from = out->n;
	int ret = pmu_parse_events(ctx, spec, out, err, errlen);
	if (ret < 0)
		return ret;
	/* perf's :P, per PMU; 1 (PEBS on) where the kernel does not publish the maximum. */
	unsigned precise = p->max_precise > 0 ? (unsigned)p->max_precise : 1;
	for (size_t i = from; i < out->n; i++)
		mark_mem_event(&out->ev[i], precise, "P");
	return 0;
}

static int pebs_events(const struct pmu_ctx *ctx, bool loads, bool stores, uint32_t ldlat,
		       struct pmu_event_list *out, char *err, size_t errlen)
{
	bool stores_found = false;
	for (size_t i = 0; i < sizeof(pebs_pmus) / sizeof(pebs_pmus[0]); i++) {
		const struct pmu_sysfs *p = pmu_sysfs_find(ctx, pebs_pmus[i]);
		if (!has_pebs_loads(p))
			continue;
		char spec[256];
		int ret;
		if (loads) {
			char load[128];
			if (pmu_sysfs_format(p, "ldlat"))
				snprintf(load, sizeof(load), "%s/mem-loads,ldlat=%u/", p->name,
					 ldlat ? ldlat : PMU_MEM_DEFAULT_LDLAT);
			else
				snprintf(load, sizeof(load), "%s/mem-loads/", p->name);
			/* Sapphire Rapids and Alder Lake P-cores: load latency needs the aux leader. */
			if (pmu_sysfs_alias(p, "mem-loads-aux"))
				snprintf(spec, sizeof(spec), "{%s/mem-loads-aux/,%s}", p->name, load);
			else
				snprintf(spec, sizeof(spec), "%s", load);
			if ((ret = add_pebs(ctx, p, spec, out, err, errlen)) < 0)
				return ret;
		}
		if (stores && pmu_sysfs_alias(p, "mem-stores")) {
			stores_found = true;
			snprintf(spec, sizeof(spec), "%s/mem-stores/", p->name);
			if ((ret = add_pebs(ctx, p, spec, out, err, errlen)) < 0)
				return ret;
		}
	}
	if (stores && !stores_found)
		return base_fail(
			err, errlen, -EOPNOTSUPP,
			"this host has PEBS load latency (cpu/mem-loads/) but its core PMU "
			"lists no mem-stores event, so stores cannot be sampled; sample loads "
			"only");
	return 0;
}

static int ibs_event(const struct pmu_ctx *ctx, const struct pmu_sysfs *ibs, uint32_t ldlat,
		     struct pmu_event_list *out, char *err, size_t errlen)
{
	/* One op-sampling event: IBS tags both loads and stores with address and source. */
	char spec[64];
	const struct pmu_format *lat = pmu_sysfs_format(ibs, "ldlat");
	char notice[BASE_ERR_MAX] = "";
	if (ldlat && lat) {
		if (ldlat < IBS_LDLAT_MIN || ldlat > IBS_LDLAT_MAX)
			return base_fail(
				err, errlen, -EINVAL,
				"load-latency threshold %u is outside what AMD IBS filters "
				"(%u..%u cycles); give a value in that range or 0 for no "
				"filter",
				ldlat, IBS_LDLAT_MIN, IBS_LDLAT_MAX);
		snprintf(spec, sizeof(spec), "ibs_op/ldlat=%u/", ldlat);
	} else {
		snprintf(spec, sizeof(spec), "ibs_op//");
		if (ldlat)
			snprintf(notice, sizeof(notice),
				 "load-latency threshold %u ignored: this kernel's ibs_op PMU has no "
				 "ldlat filter (it needs Zen 5 and Linux 6.15 or later); every "
				 "sampled op is kept",
				 ldlat);
	}
	/* The parser rejects empty terms, so build the event here rather than from spec. */
	size_t idx = out->n;
	if (ldlat && lat) {
		int ret = pmu_parse_events(ctx, spec, out, err, errlen);
		if (ret < 0)
			return ret;
	} else {
		int ret = pmu_parse_events(ctx, "ibs_op/config=0/", out, err, errlen);
		if (ret < 0)
			return ret;
		snprintf(out->ev[idx].name, sizeof(out->ev[idx].name), "%s", spec);
	}
	struct pmu_event *ev = &out->ev[idx];
	mark_mem_event(ev, 0, "");
	/* Older kernels refuse exclude_* on IBS: keep the sampler from adding them. */
	ev->priv_explicit = true;
	ev->cpu_wide_only = true;
	if (*notice) {
		size_t used = strlen(out->notice);
		snprintf(out->notice + used, sizeof(out->notice) - used, "%s%s", used ? "; " : "",
			 notice);
	}
	return 0;
}

int pmu_mem_events(const struct pmu_ctx *ctx, bool loads, bool stores, uint32_t ldlat,
		   struct pmu_event_list *out, char *err, size_t errlen)
{
	if (!loads && !stores)
		return base_fail(err, errlen, -EINVAL,
				 "nothing to sample: ask for loads, stores or both");
	size_t before = out->n;
	char notice_before[sizeof(out->notice)];
	memcpy(notice_before, out->notice, sizeof(notice_before));
	bool pebs = false;
	for (size_t i = 0; i < sizeof(pebs_pmus) / sizeof(pebs_pmus[0]); i++)
		pebs |= has_pebs_loads(pmu_sysfs_find(ctx, pebs_pmus[i]));
	const struct pmu_sysfs *ibs = pmu_sysfs_find(ctx, "ibs_op");
	int ret;
	if (pebs)
		ret = pebs_events(ctx, loads, stores, ldlat, out, err, errlen);
	else if (ibs)
		ret = ibs_event(ctx, ibs, ldlat, out, err, errlen);
	else
		ret = base_fail(
			err, errlen, -EOPNOTSUPP,
			"no PEBS load-latency (cpu/mem-loads/) and no AMD IBS (ibs_op) PMU "
			"on this host, so data addresses cannot be sampled here; use "
			"`pmuprof record -e sharing` to find the code, `pmuprof c2c watch` to "
			"confirm the line, or import a perf c2c capture from a PEBS/IBS host "
			"with `pmuprof import --c2c`");
	if (ret < 0) {
		out->n = before;
		memcpy(out->notice, notice_before, sizeof(notice_before));
	}
	return ret;
}
