/*
 * stat's counts as a pprof: one sample type per counted event, one sample
 * per aggregation group with the group's ids as numeric labels, on one
 * frame naming what was counted (pprof shows no sample without a location).
 */
#include "base.h"
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The group's labels: its ids in the mode (and the CPU's node for -A, where
 * the machine has nodes). How many, or 0 for a CPU the topology does not know.
 */
static size_t group_labels(const struct eng_stat_counts *c, const struct topo_group *g,
			   struct pprof_label *l, char *err, size_t errlen)
{
	switch (c->mode) {
	case TOPO_AGGR_NODE:
		l[0] = (struct pprof_label){.key = "node", .num = g->id.node, .num_unit = "node"};
		return 1;
	case TOPO_AGGR_SOCKET:
		l[0] = (struct pprof_label){
			.key = "socket", .num = g->id.socket, .num_unit = "socket"};
		return 1;
	case TOPO_AGGR_CORE:
		l[0] = (struct pprof_label){
			.key = "socket", .num = g->id.socket, .num_unit = "socket"};
		l[1] = (struct pprof_label){.key = "die", .num = g->id.die, .num_unit = "die"};
		l[2] = (struct pprof_label){.key = "core", .num = g->id.core, .num_unit = "core"};
		return 3;
	case TOPO_AGGR_CPU: {
		struct topo_cpu_ids id = {.node = -1};
		l[0] = (struct pprof_label){.key = "cpu", .num = g->cpu, .num_unit = "cpu"};
		if (!c->topo || topo_cpu_ids(c->topo, g->cpu, &id) < 0) {
			base_fail(err, errlen, -ENOENT,
				  "stat profile: the topology does not know CPU %d", g->cpu);
			return 0;
		}
		if (id.node < 0)
			return 1;
		l[1] = (struct pprof_label){.key = "node", .num = id.node, .num_unit = "node"};
		return 2;
	}
	}
	return 0;
}

/*
 * Per event, one comment on the share of its enabled time it ran (over all
 * groups): a multiplexed event's values are estimates, scaled by
 * enabled/running as stat prints them.
 */
static int event_comment(struct pprof *p, const struct eng_stat_counts *c, size_t i)
{
	const struct pmu_event *ev = &c->evs->ev[i];
	char line[PMU_NAME_MAX + 160];
	if (c->supported && !c->supported[i]) {
		snprintf(line, sizeof(line), "event %s: not supported by this host, left out",
			 ev->name);
		return pprof_add_comment(p, line);
	}
	uint64_t enabled = 0, running = 0;
	for (size_t g = 0; g < (c->groups ? c->ngroups : 1); g++) {
		enabled += c->counts[g * c->evs->n + i].enabled;
		running += c->counts[g * c->evs->n + i].running;
	}
	if (running == 0)
		snprintf(line, sizeof(line), "event %s: not counted (it never ran), value 0",
			 ev->name);
	else if (running < enabled)
		snprintf(line, sizeof(line),
			 "event %s: multiplexed, counted %.2f%% of its enabled time; "
			 "values scaled by enabled/running",
			 ev->name, 100.0 * (double)running / (double)enabled);
	else
		snprintf(line, sizeof(line),
			 "event %s: counted all of its enabled time, not scaled", ev->name);
	int ret = pprof_add_comment(p, line);
	/* The value is the count; a sysfs scale (energy counts to Joules) is for the reader. */
	if (ret == 0 && ev->scale != 1.0 && !pmu_event_is_clock(ev)) {
		snprintf(line, sizeof(line), "event %s: one count is %g %s", ev->name, ev->scale,
			 ev->unit);
		ret = pprof_add_comment(p, line);
	}
	return ret;
}

int eng_stat_profile(struct pprof **out, const struct eng_stat_counts *c, char *err, size_t errlen)
{
	*out = NULL;
	size_t nev = c->evs->n, ngroups = c->groups ? c->ngroups : 1;
	struct pprof_value_type *types = calloc(nev + 1, sizeof(*types));
	size_t *col = calloc(nev + 1, sizeof(*col)); /* event -> value index; SIZE_MAX: none */
	int64_t *values = calloc(nev + 1, sizeof(*values));
	struct pprof *p = NULL;
	int ret = 0;
	if (!types || !col || !values) {
		ret = base_fail(err, errlen, -ENOMEM, "stat profile: out of memory");
		goto out;
	}
	size_t ntypes = 0;
	for (size_t i = 0; i < nev; i++) {
		const struct pmu_event *ev = &c->evs->ev[i];
		col[i] = SIZE_MAX;
		if (c->supported && !c->supported[i])
			continue;
		col[i] = ntypes;
		/* Clocks count nanoseconds: pprof shows them as time. */
		types[ntypes++] = (struct pprof_value_type){
			ev->name, pmu_event_is_clock(ev) ? "nanoseconds" : "count"};
	}
	if (ntypes == 0) {
		ret = base_fail(err, errlen, -EINVAL, "stat profile: no event was counted");
		goto out;
	}
	if ((ret = pprof_new(&p, types, ntypes, err, errlen)) < 0)
		goto out;
	/*
	 * The frame's mapping says its functions are known: without one, pprof
	 * invents a mapping and complains that the main binary has no file name.
	 */
	struct pprof_mapping_desc md = {.has_functions = true};
	uint64_t mid = pprof_add_mapping(p, &md);
	uint64_t fid = pprof_add_function(p, c->what, c->what, NULL, 0);
	struct pprof_line line = {fid, 0};
	uint64_t loc = mid && fid ? pprof_add_location(p, mid, 0, &line, 1) : 0;
	if (!loc)
		goto nomem;
	for (size_t g = 0; g < ngroups; g++) {
		struct pprof_label l[3];
		size_t nl = c->groups ? group_labels(c, &c->groups[g], l, err, errlen) : 0;
		if (c->groups && nl == 0) {
			ret = -ENOENT;
			goto out;
		}
		for (size_t i = 0; i < nev; i++)
			if (col[i] != SIZE_MAX)
				values[col[i]] =
					(int64_t)(pmu_count_scaled(&c->counts[g * nev + i]) + 0.5);
		if (pprof_add_sample(p, &loc, 1, values, l, nl) < 0)
			goto nomem;
	}
	pprof_set_default_sample_type(p, types[0].type);
	pprof_set_time(p, c->time_nanos, c->duration_nanos);
	struct pprof_run_comments rc = {
		.head = c->head, .argc = c->argc, .argv = c->argv, .counts_only = true};
	if (pprof_add_run_comments(p, &rc) < 0)
		goto nomem;
	for (size_t i = 0; i < nev; i++)
		if (event_comment(p, c, i) < 0)
			goto nomem;
	ret = 0;
	goto out;
nomem:
	ret = base_fail(err, errlen, -ENOMEM, "stat profile: out of memory");
out:
	if (ret < 0)
		pprof_free(p);
	else
		*out = p;
	free(types);
	free(col);
	free(values);
	return ret;
}
