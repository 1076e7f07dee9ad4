/*
 * The sampling pipeline that `record` and `agent` share, set up and torn
 * down in one place: events (pmu/), CPUs and the reader plan (topology/),
 * the session (sampler/), the process model and the engine that takes the
 * session's records (engine/engine.h). Errors are printed here as one line
 * for the user.
 */
#include "cli.h"
#include "engine.h"
#include "pmu.h"
#include "sampler.h"
#include "topology.h"
#include "version.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A --perf-data failure costs the file, not the profile: said once, then it stops. */
static void pdw_failed(struct cli_pipeline *p, int ret, const char *err)
{
	if (p->pdw_error)
		return;
	p->pdw_error = ret;
	cli_error(p->cmd, "%s", err);
}

static int pump_once(struct cli_pipeline *p)
{
	/*
	 * Label events first: the merger lags by its safe time, so every event a
	 * program published before the samples it is about to emit is read now.
	 * Running out of memory here costs labels (counted as lost), not samples.
	 */
	(void)lbl_drain(agg_labels(p->agg));
	int ret = eng_pump(p->eng);
	if (ret < 0 && !p->error)
		p->error = ret;
	const char *why;
	int tee = eng_perf_data_error(p->eng, &why);
	if (tee < 0)
		pdw_failed(p, tee, why);
	return ret;
}

int cli_pipeline_pump(struct cli_pipeline *p)
{
	return p->defer && !p->stopped ? 0 : pump_once(p);
}

int cli_pipeline_catch_up(struct cli_pipeline *p)
{
	int ret;
	do
		ret = pump_once(p);
	while (ret == 0 && eng_behind(p->eng));
	return ret;
}

bool cli_pipeline_behind(const struct cli_pipeline *p)
{
	return eng_behind(p->eng);
}

void cli_pipeline_stop(struct cli_pipeline *p)
{
	smp_stop(p->session);
	p->stopped = true;
}

int cli_pipeline_finish_perf_data(struct cli_pipeline *p, uint64_t *size)
{
	char err[BASE_ERR_MAX];
	if (!p->pdw || p->pdw_error)
		return p->pdw_error;
	int ret = pabi_pdw_finish(p->pdw, size, err, sizeof(err));
	if (ret < 0)
		pdw_failed(p, ret, err);
	return ret;
}

/*
 * --perf-data: the temporary file, created before anything is opened so an
 * unwritable directory fails at once.
 */
static int open_perf_data(struct cli_pipeline *p, const struct cli_pipeline_opts *o, char *err,
			  size_t errlen)
{
	/* "pmuprof record -e ...", as perf's header names perf itself first. */
	const char **argv = calloc((size_t)o->argc + 1, sizeof(char *));
	if (!argv)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	argv[0] = "pmuprof";
	for (int i = 0; i < o->argc; i++)
		argv[i + 1] = o->argv[i];
	struct pabi_pdw_info info = {.version = "pmuprof " PMUPROF_VERSION,
				     .argc = o->argc + 1,
				     .argv = argv,
				     .clockid = CLOCK_MONOTONIC};
	int ret = pabi_pdw_open(&p->pdw, o->perf_data, &info, err, errlen);
	free(argv);
	return ret;
}

/*
 * Every event with all its ids (the tracking dummy's too: the side-band
 * records carry those, so synthesized records get the dummy's layout and
 * first id).
 */
static int perf_data_tables(struct cli_pipeline *p, struct pabi_layout *track,
			    struct pabi_sample_id *sid, char *err, size_t errlen)
{
	int nev = smp_nevents_total(p->session), ret = 0;
	for (int i = 0; i < nev && ret == 0; i++) {
		struct perf_event_attr attr;
		const char *name;
		uint64_t *ids = NULL;
		size_t n = 0;
		smp_event_open_attr(p->session, i, &attr, &name);
		if ((ret = smp_event_ids(p->session, i, &ids, &n)) < 0)
			return base_fail(err, errlen, ret, "cannot read the ids of event '%s': %s",
					 name, strerror(-ret));
		ret = pabi_pdw_add_event(p->pdw, &attr, name, ids, n, err, errlen);
		if (i == nev - 1) { /* the tracking event, last */
			pabi_layout_from_attr(track, &attr);
			sid->id = n ? ids[0] : 0;
		}
		free(ids);
	}
	return ret;
}

/*
 * Processes already running have mappings no record will announce: their
 * records are synthesized from /proc once, as perf does, for the model and
 * the perf.data alike (data mappings too where data addresses are sampled, as
 * perf record --data). A command's exec and mappings come from the kernel.
 */
static int synthesize(struct cli_pipeline *p, const struct cli_pipeline_opts *o, bool data,
		      const struct pabi_layout *track, const struct pabi_sample_id *sid, char *err,
		      size_t errlen)
{
	int ret = 0;
	if (p->pdw) /* perf report needs it; the model keeps no pid -1 map */
		ret = eng_synthesize_kernel(p->eng, track, sid, err, errlen);
	if (ret < 0 || (o->child && !o->cpu_wide))
		return ret;
	if (!o->pids && !o->tid)
		return eng_synthesize(p->eng, -1, data, track, sid, err, errlen);
	char *copy = strdup(o->pids ? o->pids : o->tid), *save = NULL;
	if (!copy)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	for (char *t = strtok_r(copy, ",", &save); t && ret == 0; t = strtok_r(NULL, ",", &save)) {
		ret = eng_synthesize(p->eng, (pid_t)atoi(t), data, track, sid, err, errlen);
		if (ret == -ENOENT || ret == -ESRCH)
			ret = 0; /* it ended since: -p stops when none is left */
	}
	free(copy);
	return ret;
}

static int topo_node_of_cpu(const void *topo, int cpu)
{
	return topo_cpu_node(topo, cpu);
}

static int open_engine(struct cli_pipeline *p, const struct cli_pipeline_opts *o, char *err,
		       size_t errlen)
{
	char cache_dir[PATH_MAX];
	struct eng_options eo = {
		.profile = !o->tool_profiles,
		.symbolize = o->symbolize,
		.tool = o->tool,
		.symbol_cache_bytes = o->symbol_cache_bytes,
		.debug_cache_dir = cli_cache_dir(cache_dir, sizeof(cache_dir)),
		.perf_data = p->pdw,
	};
	if (topo_nnodes(p->topo) > 1) {
		eo.node_of_cpu = topo_node_of_cpu;
		eo.node_ctx = p->topo;
	}
	eng_source_from_session(&p->src, p->session);
	int ret = eng_new(&p->eng, &p->src, p->procs, &eo, err, errlen);
	if (ret == 0)
		p->agg = eng_agg(p->eng);
	return ret;
}

/* mem_also: the host's data-address events after the others; the notice says which or why none. */
static void add_mem_events(struct cli_pipeline *p, const struct cli_pipeline_opts *o)
{
	size_t before = p->evs.n;
	char why[BASE_ERR_MAX];
	if (pmu_mem_events(p->ctx, true, true, 0, &p->evs, why, sizeof(why)) < 0) {
		p->evs.n = before;
		snprintf(p->mem_notice, sizeof(p->mem_notice),
			 "no PEBS load latency nor AMD IBS on this host: the accesses are page "
			 "faults only (NUMA balancing's hinting faults)");
		return;
	}
	if (p->evs.ev[before].cpu_wide_only && !o->cpu_wide) {
		p->evs.n = before;
		snprintf(p->mem_notice, sizeof(p->mem_notice),
			 "%s samples whole CPUs: its loads and stores are used with -a; here the "
			 "accesses are page faults only",
			 p->evs.ev[before].name);
		return;
	}
	char names[256] = "";
	size_t k = 0;
	for (size_t i = before; i < p->evs.n; i++) {
		struct pmu_event *ev = &p->evs.ev[i];
		if (!ev->period_explicit) {
			ev->attr.freq = 1;
			ev->attr.sample_freq = PMU_MEM_DEFAULT_FREQ;
			ev->period_explicit = true;
		}
		if (k < sizeof(names))
			k += (size_t)snprintf(names + k, sizeof(names) - k, "%s%s", k ? ", " : "",
					      ev->name);
	}
	snprintf(p->mem_notice, sizeof(p->mem_notice),
		 "loads and stores with their data addresses too: %s (%d Hz)", names,
		 PMU_MEM_DEFAULT_FREQ);
}

int cli_pipeline_open(struct cli_pipeline *p, const struct cli_pipeline_opts *o)
{
	char err[BASE_ERR_MAX];
	memset(p, 0, sizeof(*p));
	p->workload = -1;
	p->cmd = o->cmd;
	if (pmu_ctx_new(&p->ctx, NULL, err, sizeof(err)) < 0)
		goto fail;
	int ret = o->mem ? pmu_mem_events(p->ctx, true, true, o->ldlat, &p->evs, err, sizeof(err))
			 : pmu_parse_events(p->ctx, o->events ? o->events : o->default_events,
					    &p->evs, err, sizeof(err));
	if (ret == 0 && o->mem_also)
		add_mem_events(p, o);
	if (ret < 0)
		goto fail;
	if (!o->events && !o->mem) {
		/* Default events: sample those the host has; an explicit -e fails on open instead. */
		char dropped[BASE_ERR_MAX];
		if (pmu_events_keep_samplable(&p->evs, dropped, sizeof(dropped)) == 0) {
			fprintf(stderr, "pmuprof %s: this host cannot sample %s (no hardware PMU, or one "
					"without these events); sampling %s instead\n", o->cmd, dropped,
				o->fallback_events);
			if (pmu_parse_events(p->ctx, o->fallback_events, &p->evs, err, sizeof(err)) < 0)
				goto fail;
		} else if (dropped[0]) {
			fprintf(stderr, "pmuprof %s: this host cannot sample %s; sampling the other "
					"default events\n", o->cmd, dropped);
		}
	}
	if (p->evs.notice[0]) /* a preset's fallback, an ignored ldlat, ... */
		fprintf(stderr, "pmuprof %s: %s\n", o->cmd, p->evs.notice);
	bool cpu_wide_only = false;
	uint64_t extra_sample_type = o->sample_type_extra;
	for (size_t i = 0; i < p->evs.n; i++) {
		cpu_wide_only |= p->evs.ev[i].cpu_wide_only;
		extra_sample_type |= p->evs.ev[i].sample_type_extra;
	}
	if ((o->cpus ? base_parse_cpu_list(o->cpus, &p->cpus, &p->ncpus, err, sizeof(err))
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
		.freq = o->period ? 0 : o->freq, .rate_given = o->rate_given,
		.callchain = o->callchain,
		.ring_pages = o->ring_pages, .topo = p->topo, .plan = &p->plan,
		.stack_dump = o->stack_dump, .start_disabled = o->start_disabled,
		.regs_user_mask = o->stack_dump ? uw_sample_regs_mask() : 0,
		.extra_sample_type = extra_sample_type,
		/* Data addresses fall in heap, stack and anonymous mappings too. */
		.track_data_maps = (extra_sample_type & PERF_SAMPLE_ADDR) != 0,
		.stop_after_ns = o->stop_after_ns, .buffer_bytes = o->buffer_bytes,
	};
	if (o->pids || o->tid) {
		if (cli_resolve_threads(o->pids ? o->pids : o->tid, !o->pids, &p->tids, &p->ntids,
					err, sizeof(err)) < 0)
			goto fail;
		if (o->tid) {
			p->tids[0] = (pid_t)atoi(o->tid);
			p->ntids = 1;
		}
		so.pids = p->tids;
		so.npids = p->ntids;
		so.inherit = o->pids != NULL;
		p->workload = p->tids[0];
	} else if (o->child && o->cpu_wide) {
		/* -a/-C with a command: every process on the CPUs while the command runs. */
		p->workload = o->child->pid;
	} else if (o->child) {
		/* The command, stopped before exec: follow it and its children from exec on. */
		p->workload = o->child->pid;
		so.pids = &p->workload;
		so.npids = 1;
		so.inherit = true;
		so.enable_on_exec = true;
	}
	if (cpu_wide_only && so.pids) {
		/*
		 * AMD IBS cannot follow a task: like perf mem/c2c record there, record
		 * every process on the CPUs while the target runs; the report's pid
		 * labels and the c2c report's threads tell the target's samples apart.
		 */
		fprintf(stderr, "pmuprof %s: %s samples whole CPUs (it cannot follow a task): "
				"recording every process while the target runs\n", o->cmd,
			p->evs.ev[0].name);
		so.pids = NULL;
		so.npids = 0;
		so.enable_on_exec = false;
	}
	if (o->perf_data && open_perf_data(p, o, err, sizeof(err)) < 0)
		goto fail;
	if (smp_open(&p->session, p->ctx, &so, err, sizeof(err)) < 0)
		goto fail;
	if (*smp_notice(p->session))
		fprintf(stderr, "pmuprof %s: %s\n", o->cmd, smp_notice(p->session));
	struct pabi_layout track = {0};
	struct pabi_sample_id sid = {.cpu = (uint32_t)p->cpus[0]};
	if (p->pdw && perf_data_tables(p, &track, &sid, err, sizeof(err)) < 0)
		goto fail;
	if (open_engine(p, o, err, sizeof(err)) < 0 ||
	    smp_track(p->session, err, sizeof(err)) < 0 ||
	    synthesize(p, o, so.track_data_maps, &track, &sid, err, sizeof(err)) < 0)
		goto fail;
	p->defer = o->defer;
	return 0;
fail:
	cli_error(o->cmd, "%s", err);
	return 1;
}

void cli_pipeline_close(struct cli_pipeline *p)
{
	pabi_pdw_close(p->pdw); /* removes the temporary file unless it was finished */
	eng_free(p->eng);       /* gives its chunks back before the session goes */
	smp_close(p->session);
	proc_model_free(p->procs);
	topo_plan_free(&p->plan);
	topo_free(p->topo);
	pmu_event_list_free(&p->evs);
	pmu_ctx_free(p->ctx);
	free(p->cpus);
	free(p->tids);
	memset(p, 0, sizeof(*p));
}
