/*
 * A tracepoint's fields, read from each hit: sample SYS:NAME on every CPU
 * (every hit, as perf record does for tracepoints) while a command runs,
 * and print the hits and the sum of one integer field over them.
 *
 *   build/examples/tracepoint_fields migrate:mm_migrate_pages succeeded -- CMD [ARG...]
 *
 * (root: tracefs and system-wide tracepoints). The hit's payload is the
 * sample's RAW part; its layout is the tracepoint's format file in tracefs
 * (pmu_tp_format_read), and pmu_tp_field_int reads a field out of it,
 * checked against the payload's size.
 */
#include "engine.h"
#include "pmu.h"
#include "sampler.h"
#include "topology.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct summer {
	const struct pmu_tp_field *field;
	unsigned long hits, unreadable;
	uint64_t sum;
};

static int add_field(void *arg, const struct eng_event *ev, const struct pabi_sample *s)
{
	(void)ev;
	struct summer *sm = arg;
	uint64_t v;
	sm->hits++;
	if (pmu_tp_field_int(sm->field, s->raw, s->raw_size, &v) < 0)
		sm->unreadable++;
	else
		sm->sum += v;
	return 0;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: tracepoint_fields SYS:NAME FIELD -- CMD [ARG...]\n");
		return 2;
	}
	char err[BASE_ERR_MAX] = "out of memory", sys[PMU_NAME_MAX];
	snprintf(sys, sizeof(sys), "%s", argv[1]);
	char *name = strchr(sys, ':');
	struct pmu_ctx *ctx = NULL;
	struct pmu_event_list evs = {0};
	struct pmu_tp_format fmt = {0};
	int *cpus = NULL, ncpus = 0;
	struct topo *topo = NULL;
	struct topo_plan plan = {0};
	struct smp_session *session = NULL;
	struct proc_model *procs = NULL;
	struct eng_source src;
	struct eng *eng = NULL;
	struct summer sm = {0};
	pid_t child = -1;
	int status = 1;

	/* The event, its format (where FIELD lies in a hit's payload), the CPUs. */
	if (!name) {
		snprintf(err, sizeof(err), "'%s' is not SYS:NAME", argv[1]);
		goto out;
	}
	*name++ = 0;
	if (pmu_ctx_new(&ctx, NULL, err, sizeof(err)) < 0 ||
	    pmu_parse_events(ctx, argv[1], &evs, err, sizeof(err)) < 0 ||
	    pmu_tp_format_read(&fmt, sys, name, err, sizeof(err)) < 0 ||
	    pmu_online_cpus(&cpus, &ncpus, err, sizeof(err)) < 0 ||
	    topo_load(&topo, NULL, err, sizeof(err)) < 0 ||
	    topo_plan_readers(topo, TOPO_READERS_NODE, 0, cpus, ncpus, &plan, err, sizeof(err)) < 0)
		goto out;
	if (!(sm.field = pmu_tp_field(&fmt, argv[2]))) {
		snprintf(err, sizeof(err), "%s has no field '%s'", argv[1], argv[2]);
		goto out;
	}
	/* Every task on every CPU; no period given, so the tracepoint's own: every hit. */
	struct smp_options so = {.events = &evs,
				 .cpus = cpus,
				 .ncpus = ncpus,
				 .ring_pages = 64,
				 .topo = topo,
				 .plan = &plan};
	if (smp_open(&session, ctx, &so, err, sizeof(err)) < 0 || proc_model_new(&procs) < 0)
		goto out;
	struct eng_tool tool = {.arg = &sm, .sample = add_field};
	struct eng_options eo = {.tool = &tool};
	eng_source_from_session(&src, session);
	if (eng_new(&eng, &src, procs, &eo, err, sizeof(err)) < 0 ||
	    smp_start(session, err, sizeof(err)) < 0)
		goto out;
	if ((child = fork()) == 0) {
		execvp(argv[4], argv + 4);
		fprintf(stderr, "tracepoint_fields: cannot run %s: %s\n", argv[4], strerror(errno));
		_exit(127);
	}
	int wstatus = 0;
	while (child > 0 && waitpid(child, &wstatus, WNOHANG) == 0) {
		if (eng_pump(eng) < 0)
			break;
		nap_ms(50);
	}
	smp_stop(session);
	if (child < 0 || eng_pump(eng) < 0)
		goto out;
	printf("%s: %lu hits, sum of %s %llu (%lu unreadable)\n", argv[1], sm.hits, argv[2],
	       (unsigned long long)sm.sum, sm.unreadable);
	status = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && sm.unreadable == 0 ? 0 : 1;
	if (status)
		snprintf(err, sizeof(err), "the command failed, or a hit's field was unreadable");
out:
	if (status)
		fprintf(stderr, "tracepoint_fields: %s\n", err);
	eng_free(eng);
	smp_close(session);
	proc_model_free(procs);
	topo_plan_free(&plan);
	topo_free(topo);
	pmu_tp_format_free(&fmt);
	pmu_event_list_free(&evs);
	pmu_ctx_free(ctx);
	free(cpus);
	return status;
}
