/*
 * A first read of pmuprof's insides: sample every CPU with cpu-clock for a
 * while and print each sample as the engine delivers it, in time order.
 *
 *   build/examples/engine_samples [SECONDS]      (root, or perf_event_paranoid <= 0)
 *
 * The path is record's without the profile: pmu/ turns the event string into
 * an attr, topology/ plans which reader thread drains which CPU's ring,
 * sampler/ opens the events and copies records out of the rings, engine/
 * merges the per-CPU streams by time, applies side-band records to the
 * process model (process/) and calls a tool for each sample, as perf's
 * struct perf_tool. Every call returns 0 or a negative errno and fills err.
 */
#include "engine.h"
#include "pmu.h"
#include "sampler.h"
#include "topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct printer {
	struct proc_model *procs; /* names of the threads the samples ran in */
	unsigned long n;
};

/* The tool's sample callback: one line per sample, as `perf script` prints it. */
static int print_sample(void *arg, const struct eng_event *ev, const struct pabi_sample *s)
{
	struct printer *p = arg;
	const char *comm = proc_comm(p->procs, (pid_t)s->pid, (pid_t)s->tid);
	if (p->n++ < 20)
		printf("%16s %6u/%-6u [%03u] %llu.%06llu: %s ip %#llx\n", comm ? comm : "?", s->pid,
		       s->tid, s->cpu, (unsigned long long)(s->time / 1000000000),
		       (unsigned long long)(s->time % 1000000000 / 1000), ev->name,
		       (unsigned long long)s->ip);
	return 0;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	char err[BASE_ERR_MAX] = "out of memory";
	struct pmu_ctx *ctx = NULL;
	struct pmu_event_list evs = {0};
	int *cpus = NULL, ncpus = 0;
	struct topo *topo = NULL;
	struct topo_plan plan = {0};
	struct smp_session *session = NULL;
	struct proc_model *procs = NULL;
	struct eng_source src;
	struct eng *eng = NULL;
	int status = 1;

	/* The event, the CPUs, and one reader per NUMA node. */
	if (pmu_ctx_new(&ctx, NULL, err, sizeof(err)) < 0 ||
	    pmu_parse_events(ctx, "cpu-clock", &evs, err, sizeof(err)) < 0 ||
	    pmu_online_cpus(&cpus, &ncpus, err, sizeof(err)) < 0 ||
	    topo_load(&topo, NULL, err, sizeof(err)) < 0 ||
	    topo_plan_readers(topo, TOPO_READERS_NODE, 0, cpus, ncpus, &plan, err, sizeof(err)) < 0)
		goto out;
	/* Every task on every CPU (pids NULL), 1000 samples a second each, for `seconds`. */
	struct smp_options so = {.events = &evs,
				 .cpus = cpus,
				 .ncpus = ncpus,
				 .freq = 1000,
				 .ring_pages = 64,
				 .topo = topo,
				 .plan = &plan,
				 .stop_after_ns = (uint64_t)(seconds * 1e9)};
	if (smp_open(&session, ctx, &so, err, sizeof(err)) < 0 || proc_model_new(&procs) < 0)
		goto out;
	/* The engine over the session; the tool prints; no profile is built. */
	struct printer printer = {.procs = procs};
	struct eng_tool tool = {.arg = &printer, .sample = print_sample};
	struct eng_options eo = {.tool = &tool};
	eng_source_from_session(&src, session);
	if (eng_new(&eng, &src, procs, &eo, err, sizeof(err)) < 0)
		goto out;
	/* Processes that already run: their names and maps, from /proc, as perf synthesizes. */
	struct pabi_layout none = {0};
	struct pabi_sample_id no_id = {0};
	if (smp_track(session, err, sizeof(err)) < 0 ||
	    eng_synthesize(eng, -1, false, &none, &no_id, err, sizeof(err)) < 0 ||
	    smp_start(session, err, sizeof(err)) < 0)
		goto out;
	/* Drain as record does: pump every 50 ms; the readers end the window themselves. */
	while (!smp_window_over(session)) {
		if (eng_pump(eng) < 0)
			break;
		nap_ms(50);
	}
	smp_stop(session);
	if (eng_pump(eng) < 0)
		goto out;
	const struct eng_event *ev = eng_event(eng, 0);
	printf("%lu samples of %s (the first 20 printed), %llu lost\n", printer.n, ev->name,
	       (unsigned long long)ev->lost);
	status = 0;
out:
	if (status)
		fprintf(stderr, "engine_samples: %s\n", err);
	eng_free(eng); /* gives its chunks back before the session goes */
	smp_close(session);
	proc_model_free(procs);
	topo_plan_free(&plan);
	topo_free(topo);
	pmu_event_list_free(&evs);
	pmu_ctx_free(ctx);
	free(cpus);
	return status;
}
