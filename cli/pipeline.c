/*
 * The sampling pipeline that `record` and `agent` share, set up and torn
 * down in one place: events (pmu/), CPUs and the reader plan (topology/),
 * the session (sampler/), the process model, aggregation and merger
 * (export/). Errors are printed here as one line for the user.
 */
#include "cli.h"
#include "export.h"
#include "pmu.h"
#include "sampler.h"
#include "topology.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int on_record(void *arg, const struct mrg_record *r)
{
	struct cli_pipeline *p = arg;
	const struct perf_event_header *h = r->h;
	if (h->type != PERF_RECORD_SAMPLE) {
		if (proc_apply_record(p->procs, h) < 0)
			p->bad_records++;
		agg_on_sideband(p->agg, h);
		return 0;
	}
	int ev = smp_event_index(p->session, smp_record_id(h));
	struct smp_sample s;
	if (ev < 0 || smp_parse_sample(smp_event_layout(p->session, ev), h, &s) < 0) {
		p->bad_records++;
		return 0;
	}
	int ret = agg_add_sample(p->agg, ev, &s);
	if (ret < 0 && !p->error)
		p->error = ret;
	return 0;
}

static int event_of_id(void *ctx, uint64_t id)
{
	return smp_event_index(ctx, id);
}

int cli_pipeline_pump(struct cli_pipeline *p)
{
	/*
	 * Label events first: the merger lags by its safe time, so every event a
	 * program published before the samples it is about to emit is read now.
	 * Running out of memory here costs labels (counted as lost), not samples.
	 */
	(void)lbl_drain(agg_labels(p->agg));
	int ret = mrg_pump(p->merger, on_record, p);
	return ret < 0 ? ret : p->error;
}

/* Processes already running have mappings no record will announce: read /proc. */
static void synthesize(struct cli_pipeline *p, const struct cli_pipeline_opts *o)
{
	if (o->pids) {
		char *copy = strdup(o->pids), *save = NULL;
		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
		     t = strtok_r(NULL, ",", &save))
			proc_synthesize(p->procs, (pid_t)atoi(t));
		free(copy);
	} else if (o->tid) {
		proc_synthesize(p->procs, (pid_t)atoi(o->tid));
	} else if (!o->child) {
		proc_synthesize_all(p->procs);
	}
}

static int open_agg(struct cli_pipeline *p, const struct cli_pipeline_opts *o,
		    const struct smp_options *so, char *err, size_t errlen)
{
	p->names = calloc(p->evs.n, sizeof(char *));
	p->units = calloc(p->evs.n, sizeof(char *));
	if (!p->names || !p->units)
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	for (size_t i = 0; i < p->evs.n; i++) {
		p->names[i] = p->evs.ev[i].name;
		p->units[i] = pmu_event_is_clock(&p->evs.ev[i]) ? "nanoseconds" : "count";
	}
	struct agg_options ao = {
		.event_names = (const char *const *)p->names,
		.event_units = (const char *const *)p->units,
		.nevents = p->evs.n, .period = (int64_t)o->period, .symbolize = o->symbolize,
		.cpu_label = true, .event_of_id = event_of_id, .id_ctx = p->session,
		.dwarf = o->stack_dump != 0, .regs_user_mask = so->regs_user_mask,
	};
	int ret = agg_new(&p->agg, &ao, p->procs, err, errlen);
	if (ret < 0)
		return ret;
	struct mrg_source src;
	mrg_source_from_session(&src, p->session);
	if (mrg_new(&p->merger, &src) < 0)
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	return 0;
}

int cli_pipeline_open(struct cli_pipeline *p, const struct cli_pipeline_opts *o)
{
	char err[PMU_ERR_MAX];
	memset(p, 0, sizeof(*p));
	p->workload = -1;
	if (pmu_ctx_new(&p->ctx, NULL, err, sizeof(err)) < 0)
		goto fail;
	const char *spec = o->events;
	if (!spec) {
		spec = o->default_events;
		if (!pmu_host_has_hw_counters()) {
			fprintf(stderr, "pmuprof %s: this host exposes no hardware counters; sampling %s "
					"instead\n", o->cmd, o->fallback_events);
			spec = o->fallback_events;
		}
	}
	if (pmu_parse_events(p->ctx, spec, &p->evs, err, sizeof(err)) < 0)
		goto fail;
	if ((o->cpus ? pmu_parse_cpu_list(o->cpus, &p->cpus, &p->ncpus, err, sizeof(err))
		     : pmu_online_cpus(&p->cpus, &p->ncpus, err, sizeof(err))) < 0)
		goto fail;
	if (topo_load(&p->topo, NULL, err, sizeof(err)) < 0)
		goto fail;
	enum topo_reader_mode mode = TOPO_READERS_NODE;
	int count = 0;
	if (o->readers && topo_parse_readers(o->readers, &mode, &count, err, sizeof(err)) < 0) {
		cli_error(o->cmd, "%s", err);
		return 2;
	}
	if (topo_plan_readers(p->topo, mode, count, p->cpus, p->ncpus, &p->plan, err, sizeof(err)) < 0)
		goto fail;
	if (proc_model_new(&p->procs) < 0) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	struct smp_options so = {
		.events = &p->evs, .cpus = p->cpus, .ncpus = p->ncpus, .period = o->period,
		.freq = o->period ? 0 : o->freq, .callchain = o->callchain,
		.ring_pages = o->ring_pages, .topo = p->topo, .plan = &p->plan,
		.stack_dump = o->stack_dump, .start_disabled = o->start_disabled,
		.regs_user_mask = o->stack_dump ? uw_sample_regs_mask() : 0,
	};
	if (o->pids || o->tid) {
		if (cli_resolve_threads(o->pids ? o->pids : o->tid, &p->tids, &p->ntids, err,
					sizeof(err)) < 0)
			goto fail;
		if (o->tid) {
			p->tids[0] = (pid_t)atoi(o->tid);
			p->ntids = 1;
		}
		so.pids = p->tids;
		so.npids = p->ntids;
		so.inherit = o->pids != NULL;
		p->workload = p->tids[0];
	} else if (o->child) {
		/* The command, stopped before exec: follow it and its children from exec on. */
		p->workload = o->child->pid;
		so.pids = &p->workload;
		so.npids = 1;
		so.inherit = true;
		so.enable_on_exec = true;
	}
	if (smp_open(&p->session, p->ctx, &so, err, sizeof(err)) < 0)
		goto fail;
	synthesize(p, o);
	if (open_agg(p, o, &so, err, sizeof(err)) < 0)
		goto fail;
	return 0;
fail:
	cli_error(o->cmd, "%s", err);
	return 1;
}

void cli_pipeline_close(struct cli_pipeline *p)
{
	mrg_free(p->merger); /* gives its chunks back before the session goes */
	agg_free(p->agg);
	smp_close(p->session);
	proc_model_free(p->procs);
	topo_plan_free(&p->plan);
	topo_free(p->topo);
	pmu_event_list_free(&p->evs);
	pmu_ctx_free(p->ctx);
	free(p->names);
	free(p->units);
	free(p->cpus);
	free(p->tids);
	memset(p, 0, sizeof(*p));
}
