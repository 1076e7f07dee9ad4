/*
 * pmuprof stat: count events for a command (with its threads and children),
 * for running processes, or for CPUs, and print them in perf stat's layouts
 * (human, -x SEP, -j) so existing scripts keep working; --pprof and --otlp
 * write the same counts as profiles (engine/stat_profile.c).
 */
#include "base.h"
#include "cli.h"
#include "engine.h"
#include "otlp.h"
#include "pmu.h"
#include "topology.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

/* As perf stat: software events, then hardware ones (<not supported> where missing). */
#define DEFAULT_EVENTS                                                                  \
	"task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions,"      \
	"cache-misses,cache-references,branch-misses"

struct stat_opts {
	char *events;     /* joined -e arguments, NULL for the defaults */
	bool system_wide; /* -a */
	const char *cpus; /* -C */
	const char *pids; /* -p */
	const char *tids; /* -t */
	bool per_thread;  /* --per-thread: one line per thread of -p or -t */
	char (*thread_name)[32]; /* --per-thread: "comm-tid" of each counted thread */
	bool aggr;        /* --per-node, --per-socket, --per-core or -A: one line per group */
	enum topo_aggr aggr_mode;
	const char *aggr_flag; /* the flag that chose it, for messages */
	const char *sep;  /* -x */
	bool json;        /* -j */
	const char *output;
	const char *pprof_file; /* --pprof: the counts as a pprof */
	const char *otlp_file;  /* --otlp: the same profile as an OTLP request */
	int repeat;             /* -r: runs of the command, 1 without the flag */
	const char *compare;    /* --compare A: the baseline, cmd[0] the other result */
	long interval_ms;       /* -I: print the counts every interval_ms, 0 without */
	bool metric_only;       /* --metric-only: the derived metrics alone, as perf */
	bool topdown;           /* --topdown: topdown level 1's events and shares */
	char **cmd;
};

static void stat_usage(FILE *out)
{
	fprintf(out,
		"usage: pmuprof stat [-e EVENTS] [-a | -C CPUS | -p PID[,PID] | -t TID[,TID]]\n"
		"                    [-r N | -I MS]\n"
		"                    [--per-node | --per-socket | --per-core | -A | --per-thread]\n"
		"                    [-x SEP | -j] [--metric-only] [--topdown]\n"
		"                    [-o FILE] [--pprof FILE] [--otlp FILE] [--] [CMD [ARGS...]]\n"
		"       pmuprof stat --compare A.json B.json\n"
		"  -e, --event EVENTS       events to count (default: " DEFAULT_EVENTS ")\n"
		"  -a, --all-cpus           count every CPU (system wide)\n"
		"  -C, --cpu CPUS           count these CPUs only, e.g. 0-3,6\n"
		"  -p, --pid PIDS           attach to running processes (all their threads)\n"
		"  -t, --tid TIDS           attach to running threads (these threads only)\n"
		"  --per-thread             one line per thread (with -p or -t), as perf\n"
		"  --per-node               one line per NUMA node (with -a or -C)\n"
		"  --per-socket             one line per socket (with -a or -C)\n"
		"  --per-core               one line per core (with -a or -C)\n"
		"  -A, --no-aggr            one line per CPU instead of the sum (with -a or -C)\n"
		"  -I, --interval-print MS  print the counts of every MS ms (10 or more)\n"
		"  -r, --repeat N           run the command N times: each count's mean and its\n"
		"                           standard error as a percent of it (perf's \"( +- x%% )\")\n"
		"  --compare A.json B.json  compare two results written with -j -o FILE (with -r N:\n"
		"                           each run's count): means +- perf's percent, the delta\n"
		"                           and Welch's t-test p-value; \"~\" when p > 0.05\n"
		"  --metric-only            only the derived metrics (insn per cycle, miss shares,\n"
		"                           stalls), one column each, as perf stat --metric-only\n"
		"  --topdown                topdown level 1 as perf stat --topdown: retiring, bad\n"
		"                           speculation, frontend and backend bound, in percent of\n"
		"                           the pipeline's slots (Intel CPUs whose sysfs defines\n"
		"                           topdown events; the older ones per core, with -a)\n"
		"  -x, --field-separator S  CSV-like output as perf stat -x\n"
		"  -j, --json               one JSON object per line as perf stat -j\n"
		"  -o, --output FILE        write the counts to FILE instead of stderr ('-': stdout)\n"
		"  --pprof FILE             also write the counts as a gzipped pprof ('-': stdout)\n"
		"                           (a sample per group, labels node, socket, core, cpu)\n"
		"  --otlp FILE              also write them as an OTLP profiles request\n"
		"With -a, -C or -p, a command only sets the duration (e.g. -- sleep 5);\n"
		"without one, counting runs until Ctrl-C (or, with -p, until the processes exit).\n");
}

enum {
	OPT_PER_NODE = 256,
	OPT_PER_SOCKET,
	OPT_PER_CORE,
	OPT_PPROF,
	OPT_OTLP,
	OPT_COMPARE,
	OPT_METRIC_ONLY,
	OPT_PER_THREAD,
	OPT_TOPDOWN
};

/* As perf stat: the last of --per-node, --per-socket, --per-core and -A wins. */
static void set_aggr(struct stat_opts *o, enum topo_aggr mode, const char *flag)
{
	o->aggr = true;
	o->aggr_mode = mode;
	o->aggr_flag = flag;
}

static int parse_args(int argc, char **argv, struct stat_opts *o)
{
	static const struct option longopts[] = {
		{"event", required_argument, NULL, 'e'},
		{"all-cpus", no_argument, NULL, 'a'},
		{"cpu", required_argument, NULL, 'C'},
		{"pid", required_argument, NULL, 'p'},
		{"tid", required_argument, NULL, 't'},
		{"per-thread", no_argument, NULL, OPT_PER_THREAD},
		{"no-aggr", no_argument, NULL, 'A'},
		{"per-node", no_argument, NULL, OPT_PER_NODE},
		{"per-socket", no_argument, NULL, OPT_PER_SOCKET},
		{"per-core", no_argument, NULL, OPT_PER_CORE},
		{"field-separator", required_argument, NULL, 'x'},
		{"json", no_argument, NULL, 'j'},
		{"output", required_argument, NULL, 'o'},
		{"pprof", required_argument, NULL, OPT_PPROF},
		{"otlp", required_argument, NULL, OPT_OTLP},
		{"repeat", required_argument, NULL, 'r'},
		{"interval-print", required_argument, NULL, 'I'},
		{"compare", required_argument, NULL, OPT_COMPARE},
		{"metric-only", no_argument, NULL, OPT_METRIC_ONLY},
		{"topdown", no_argument, NULL, OPT_TOPDOWN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+e:aC:p:t:Ax:jo:r:I:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (cli_append_events(&o->events, optarg) < 0)
				return cli_error("stat", "out of memory"), 1;
			break;
		case 'a': o->system_wide = true; break;
		case 'C': o->cpus = optarg; break;
		case 'p': o->pids = optarg; break;
		case 't': o->tids = optarg; break;
		case OPT_PER_THREAD: o->per_thread = true; break;
		case 'A': set_aggr(o, TOPO_AGGR_CPU, "-A"); break;
		case OPT_PER_NODE: set_aggr(o, TOPO_AGGR_NODE, "--per-node"); break;
		case OPT_PER_SOCKET: set_aggr(o, TOPO_AGGR_SOCKET, "--per-socket"); break;
		case OPT_PER_CORE: set_aggr(o, TOPO_AGGR_CORE, "--per-core"); break;
		case 'x': o->sep = optarg; break;
		case 'j': o->json = true; break;
		case 'o': o->output = optarg; break;
		case OPT_PPROF: o->pprof_file = optarg; break;
		case OPT_OTLP: o->otlp_file = optarg; break;
		case OPT_COMPARE: o->compare = optarg; break;
		case OPT_METRIC_ONLY: o->metric_only = true; break;
		case OPT_TOPDOWN: o->topdown = true; break;
		case 'r': {
			char *end;
			errno = 0;
			long n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 || n > INT_MAX)
				return cli_error("stat", "-r %s: the repeat count must be a positive "
							 "integer, e.g. -r 5", optarg),
				       2;
			o->repeat = (int)n;
			break;
		}
		case 'I': {
			char *end;
			errno = 0;
			long ms = strtol(optarg, &end, 10);
			/* perf's floor: shorter intervals cost more than they show. */
			if (errno || end == optarg || *end || ms < 10)
				return cli_error("stat", "-I %s: the interval must be 10 ms or more, e.g. "
							 "-I 100",
						 optarg),
				       2;
			o->interval_ms = ms;
			break;
		}
		case 'h': stat_usage(stdout); return -1;
		default:
			cli_option_error("stat", argv, "eCptxorI");
			return 2;
		}
	}
	o->cmd = argv + optind;
	if (!o->repeat)
		o->repeat = 1;
	if (o->compare && (!o->cmd[0] || o->cmd[1]))
		return cli_error("stat", "--compare takes two files: pmuprof stat --compare A.json "
					 "B.json"),
		       2;
	if (o->compare)
		return 0;
	if (o->sep && o->json)
		return cli_error("stat", "-x and -j are alternatives; choose one"), 2;
	if (o->sep && !*o->sep)
		return cli_error("stat", "-x needs a non-empty separator, e.g. -x ,"), 2;
	int targets = !!o->system_wide + !!o->cpus + !!o->pids + !!o->tids;
	if (targets > 1 && !(o->system_wide && o->cpus))
		return cli_error("stat", "-p, -t and -a or -C do not combine; choose one target"), 2;
	/* perf's rule: threads are known when they are the target. */
	if (o->per_thread && !o->pids && !o->tids)
		return cli_error("stat", "--per-thread: only with -p PID or -t TID (the threads "
					 "counted); add one"),
		       2;
	if (o->per_thread && (o->aggr || o->pprof_file || o->otlp_file))
		return cli_error("stat", "--per-thread cannot be combined with %s",
				 o->aggr ? o->aggr_flag : o->pprof_file ? "--pprof" : "--otlp"),
		       2;
	/* perf's rule and words: counts split by CPU exist only for counters bound to CPUs. */
	if (o->aggr && !o->system_wide && !o->cpus)
		return cli_error("stat", "%s: no-aggregation and per-node/socket/core modes only "
				 "available in system-wide mode; add -a (or -C CPUS)", o->aggr_flag),
		       2;
	if (o->topdown && o->events)
		return cli_error("stat", "--topdown counts its own events; count -e EVENTS in "
					 "another run"),
		       2;
	if (o->repeat > 1 && o->metric_only) /* perf's rule */
		return cli_error("stat", "--metric-only is not supported with -r"), 2;
	if (o->repeat > 1 && o->interval_ms)
		return cli_error("stat", "-r and -I are alternatives; choose one"), 2;
	if (o->repeat > 1 && !*o->cmd)
		return cli_error("stat", "-r repeats a command: give one (pmuprof stat -r %d -- CMD)",
				 o->repeat),
		       2;
	if (!*o->cmd && !o->system_wide && !o->cpus && !o->pids && !o->tids)
		return cli_error("stat", "nothing to count: give a command (pmuprof stat -- CMD), "
					 "or -a, -C CPUS or -p PID"),
		       2;
	return 0;
}

/* --- targets --------------------------------------------------------------- */

/* --- output ---------------------------------------------------------------- */

/* What is printed: one run's counts, or the mean of -r's runs with their spread. */
struct stat_summary {
	const struct pmu_count *counts; /* [group * nev + event]: the runs' mean */
	const double *noise; /* the same shape: perf's "+-" percent (0 per group); NULL: one run */
	const double *run_values; /* [slot * run_stride + run]: each run's count as printed */
	size_t run_stride;
	int runs;
	double wall_ns;    /* the mean elapsed time */
	double wall_se_ns; /* its standard error (runs > 1) */
	const struct rusage *ru; /* the command's user and sys times; NULL: not printed */
	bool interval;  /* -I: one interval's counts, after its time; no header or footer */
	double time_s;  /* -I: the interval's end, seconds since counting began */
	int tick;       /* -I: the interval's number, from 0 */
};

struct result {
	const struct pmu_event *ev;
	bool supported; /* false: the host lacks it ("<not supported>") */
	struct pmu_count count;
	double value; /* scaled, in display units (msec for clocks, sysfs .scale applied) */
};

static void value_text(const struct result *r, char *buf, size_t len, bool human)
{
	if (!r->supported) {
		snprintf(buf, len, "<not supported>");
		return;
	}
	if (r->count.running == 0) {
		snprintf(buf, len, "<not counted>");
		return;
	}
	if (pmu_event_is_clock(r->ev))
		snprintf(buf, len, "%.2f", r->value);
	else if (human && r->ev->scale == 1.0)
		cli_format_count(r->value, buf, len);
	else if (r->ev->scale != 1.0)
		snprintf(buf, len, "%.2f", r->value);
	else
		snprintf(buf, len, "%.0f", r->value);
}

/*
 * perf prints 100.00 for an event it did not open (unsupported) or that was never enabled
 * (a thread that did not run), 0.00 for one enabled that never ran.
 */
static double pcnt_running(const struct result *r)
{
	const struct pmu_count *c = &r->count;
	if (!r->supported || c->enabled == c->running)
		return 100.0;
	return 100.0 * (double)c->running / (double)c->enabled;
}

/*
 * perf stat's aggregation columns, sep included, for group g in the chosen layout (empty
 * without aggregation): human "N0        2 ", "S0-D0-C1           1 ", "CPU1       ";
 * -x "N0,2,", "CPU1,"; -j "\"node\" : \"N0\", \"aggregate-number\" : 2, ", "\"cpu\" : \"1\", ".
 */
static void aggr_prefix(const struct stat_opts *o, const struct topo_group *g, char *buf,
			size_t len)
{
	buf[0] = '\0';
	if (!g)
		return;
	if (o->per_thread) {
		/* perf's: the comm right-aligned in 16, '-', the tid left-aligned in 8 */
		const char *name = o->thread_name[g->idx[0]], *dash = strrchr(name, '-');
		int clen = (int)(dash - name);
		if (o->json)
			snprintf(buf, len, "\"thread\" : \"%s\", ", name);
		else if (o->sep)
			snprintf(buf, len, "%s%s", name, o->sep);
		else
			snprintf(buf, len, "%*.*s-%-8s ", clen < 16 ? 16 : clen, clen, name,
				 dash + 1);
		return;
	}
	const struct topo_cpu_ids *id = &g->id;
	static const char *const json_key[] = {[TOPO_AGGR_NODE] = "node",
					       [TOPO_AGGR_SOCKET] = "socket",
					       [TOPO_AGGR_CORE] = "core"};
	char name[64];
	switch (o->aggr_mode) {
	case TOPO_AGGR_NODE: snprintf(name, sizeof(name), "N%d", id->node); break;
	case TOPO_AGGR_SOCKET: snprintf(name, sizeof(name), "S%d", id->socket); break;
	case TOPO_AGGR_CORE:
		snprintf(name, sizeof(name), "S%d-D%d-C%d", id->socket, id->die, id->core);
		break;
	case TOPO_AGGR_CPU: snprintf(name, sizeof(name), "CPU%d", g->cpu); break;
	}
	if (o->json) {
		if (o->aggr_mode == TOPO_AGGR_CPU)
			snprintf(buf, len, "\"cpu\" : \"%d\", ", g->cpu);
		else
			snprintf(buf, len, "\"%s\" : \"%s\", \"aggregate-number\" : %d, ",
				 json_key[o->aggr_mode], name, g->n);
		return;
	}
	if (o->sep) {
		if (o->aggr_mode == TOPO_AGGR_CPU)
			snprintf(buf, len, "%s%s", name, o->sep);
		else
			snprintf(buf, len, "%s%s%d%s", name, o->sep, g->n, o->sep);
		return;
	}
	/* perf's widths: the id's number left-aligned (5, 8 or 7 columns), the CPU count in 4. */
	switch (o->aggr_mode) {
	case TOPO_AGGR_NODE: snprintf(buf, len, "N%-5d %4d ", id->node, g->n); break;
	case TOPO_AGGR_SOCKET: snprintf(buf, len, "S%-5d %4d ", id->socket, g->n); break;
	case TOPO_AGGR_CORE:
		snprintf(buf, len, "S%d-D%d-C%-8d %4d ", id->socket, id->die, id->core, g->n);
		break;
	case TOPO_AGGR_CPU: snprintf(buf, len, "CPU%-7d ", g->cpu); break;
	}
}

/* perf's metric column: " # ", the value in the metric's format, the unit (padded to 35). */
static void metric_std(FILE *out, const struct pmu_metric *m, bool pad)
{
	int n = fprintf(out, " # ");
	n += fprintf(out, m->fmt, m->value);
	if (pad)
		fprintf(out, " %-*s", 35 - n - 1, m->unit);
	else
		fprintf(out, " %s", m->unit);
}

/* As perf -x: the value in the metric's format, its digits only ("  12.34%" -> "12.34"). */
static const char *metric_csv(const struct pmu_metric *m, char *buf, size_t len)
{
	snprintf(buf, len, m->fmt, m->value);
	char *v = buf + strspn(buf, " ");
	v[strspn(v, "0123456789.-")] = '\0';
	return v;
}

/* One event line (and its extra metric lines) in the chosen layout, after prefix. */
static void print_event(FILE *out, const struct stat_opts *o, const char *prefix,
			const struct result *e, const struct pmu_metric *m, int nm,
			const struct stat_summary *sum, size_t slot)
{
	const double *noise = sum->noise ? &sum->noise[slot] : NULL;
	char val[64];
	double pcnt = pcnt_running(e);
	if (o->json) {
		value_text(e, val, sizeof(val), false);
		fprintf(out, "{%s", prefix);
		if (e->count.running)
			fprintf(out, "\"counter-value\" : \"%f\", ", e->value);
		else
			fprintf(out, "\"counter-value\" : \"%s\", ", val);
		fprintf(out, "\"unit\" : \"%s\", \"event\" : \"%s\", ", e->ev->unit, e->ev->name);
		if (noise)
			fprintf(out, "\"variance\" : %.2f, ", *noise);
		fprintf(out, "\"event-runtime\" : %llu, \"pcnt-running\" : %.2f",
			(unsigned long long)e->count.running, pcnt);
		if (nm > 0)
			fprintf(out, ", \"metric-value\" : %f, \"metric-unit\" : \"%s\"", m[0].value,
				m[0].unit);
		else if (!e->supported) /* perf's shape for an unsupported event */
			fprintf(out, ", \"metric-value\" : %f, \"metric-unit\" : \"\"", 0.0);
		/* Beyond perf's fields: each run's count, for stat --compare's test. */
		if (noise && e->count.running) {
			const double *v = &sum->run_values[slot * sum->run_stride];
			fprintf(out, ", \"run-values\" : [");
			for (int r = 0; r < sum->runs; r++)
				fprintf(out, "%s%f", r ? ", " : "", v[r]);
			fprintf(out, "]");
		}
		fprintf(out, "}\n");
		for (int k = 1; k < nm; k++)
			fprintf(out, "{%s\"metric-value\" : %f, \"metric-unit\" : \"%s\"}\n", prefix,
				m[k].value, m[k].unit);
		return;
	}
	if (o->sep) {
		const char *s = o->sep;
		value_text(e, val, sizeof(val), false);
		fprintf(out, "%s%s%s%s%s%s", prefix, val, s, e->ev->unit, s, e->ev->name);
		if (noise)
			fprintf(out, "%s%.2f%%", s, *noise);
		fprintf(out, "%s%llu%s%.2f%s", s, (unsigned long long)e->count.running, s, pcnt, s);
		if (nm > 0)
			fprintf(out, "%s%s%s", metric_csv(&m[0], val, sizeof(val)), s, m[0].unit);
		else
			fprintf(out, "%s", s);
		fprintf(out, "\n");
		for (int k = 1; k < nm; k++)
			fprintf(out, "%s%s%s%s%s%s%s%s%s\n", prefix, s, s, s, s, s,
				metric_csv(&m[k], val, sizeof(val)), s, m[k].unit);
		return;
	}
	value_text(e, val, sizeof(val), true);
	/* perf's columns: value 18, unit 4, event 32, then the metric in 35 (" # %8.3f %-23s"). */
	fprintf(out, "%s%18s %-4s %-32s", prefix, val, e->ev->unit[0] ? e->ev->unit : "",
		e->ev->name);
	if (nm > 0)
		metric_std(out, &m[0], true);
	else
		fprintf(out, "%35s", "");
	if (noise && *noise != 0.0)
		fprintf(out, "  ( +-%6.2f%% )", *noise);
	if (e->count.running && e->count.running < e->count.enabled)
		fprintf(out, " (%.2f%%)", pcnt);
	fprintf(out, "\n");
	for (int k = 1; k < nm; k++) {
		fprintf(out, "%s%18s %-4s %-32s", prefix, "", "", "");
		metric_std(out, &m[k], false);
		fprintf(out, "\n");
	}
}

static void fill_results(const struct pmu_counters *ctrs, const struct pmu_count *counts,
			 struct result *r)
{
	const struct pmu_event_list *evs = pmu_counters_events(ctrs);
	for (size_t i = 0; i < evs->n; i++) {
		r[i].ev = &evs->ev[i];
		r[i].supported = pmu_counters_supported(ctrs, i);
		r[i].count = counts[i];
		r[i].value = eng_stat_value(&evs->ev[i], &counts[i]);
	}
}

/* perf's wording: "for 'CMD ARGS'", "for 'system wide'", "for process id '42'". */
static void describe_target(const struct stat_opts *o, char *buf, size_t len)
{
	if (o->system_wide && !o->cpus) {
		snprintf(buf, len, "'system wide'");
	} else if (o->cpus) {
		snprintf(buf, len, "'CPU(s) %s'", o->cpus);
	} else if (o->pids) {
		snprintf(buf, len, "process id '%s'", o->pids);
	} else if (o->tids) {
		snprintf(buf, len, "thread id '%s'", o->tids);
	} else {
		size_t used = (size_t)snprintf(buf, len, "'");
		for (char **a = o->cmd; *a && used < len; a++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", a == o->cmd ? "" : " ",
						 *a);
		if (used < len)
			snprintf(buf + used, len - used, "'");
	}
}

/*
 * The counts of each group (one group, the sum, without aggregation), group by group:
 * (*out)[g * nev + i] is event i in group g. 0, or -errno with the error printed.
 */
static int read_counts(struct pmu_counters *ctrs, const struct topo_group *groups, int ngroups,
		       struct pmu_count **out)
{
	size_t nev = pmu_counters_events(ctrs)->n, ng = groups ? (size_t)ngroups : 1;
	char err[BASE_ERR_MAX];
	int ret = 0;
	*out = calloc(ng * nev, sizeof(**out));
	if (!*out)
		ret = base_fail(err, sizeof(err), -ENOMEM, "out of memory");
	for (size_t g = 0; g < ng && ret == 0; g++) {
		struct pmu_count *c = &(*out)[g * nev];
		ret = groups ? pmu_counters_read_slots(ctrs, groups[g].idx, groups[g].n, c, err,
						       sizeof(err))
			     : pmu_counters_read(ctrs, -1, c, err, sizeof(err));
	}
	if (ret < 0)
		cli_error("stat", "%s", err);
	return ret;
}

/* What starts a line: -I's time, then the aggregation's columns (aggr_prefix). */
static void line_prefix(const struct stat_opts *o, const struct stat_summary *sum,
			const struct topo_group *g, char *buf, size_t len)
{
	int used = 0;
	if (sum->interval && o->json)
		used = snprintf(buf, len, "\"interval\" : %.9f, ", sum->time_s);
	else if (sum->interval)
		used = snprintf(buf, len, "%16.9f%s", sum->time_s, o->sep ? o->sep : " ");
	aggr_prefix(o, g, buf + used, len - (size_t)used);
}

/*
 * perf's --metric-only: no rates per second or CPUs utilized, a miss share named by its
 * event ("branch-misses of all branches"), each metric in a column of 20 (or its name's
 * width, plus one) under a line of their names; -x and -j as perf writes them.
 */
static void print_metrics_only(FILE *out, const struct stat_opts *o,
			       const struct pmu_event_list *evs, const struct stat_summary *sum,
			       const struct topo_group *groups, size_t ng)
{
	enum { COLUMN = 20 };
	for (int pass = sum->interval && sum->tick > 0 ? 1 : 0; pass <= (int)ng; pass++) {
		/* pass 0: the names; then one line per group */
		size_t g = pass ? (size_t)pass - 1 : 0;
		if (pass == 0 && o->json)
			continue;
		char prefix[192];
		line_prefix(o, sum, groups ? &groups[g] : NULL, prefix, sizeof(prefix));
		size_t plen = strlen(prefix);
		if (o->json && plen >= 2)
			plen -= 2; /* its ", " goes before a metric */
		if (pass == 0 && !o->sep)
			fprintf(out, "%*s", (int)plen, "");
		else if (pass > 0 && o->json)
			fprintf(out, "{%.*s", (int)plen, prefix);
		else if (pass > 0)
			fprintf(out, "%s", prefix);
		bool first = plen == 0;
		for (size_t i = 0; i < evs->n; i++) {
			struct pmu_metric m[PMU_METRICS_MAX];
			int nm = pmu_metrics(evs->ev, &sum->counts[g * evs->n], evs->n, i,
					     sum->wall_ns, m);
			for (int k = 0; k < nm; k++) {
				if (strstr(m[k].unit, "/sec") || strstr(m[k].unit, "CPUs utilized"))
					continue;
				char unit[256], val[64];
				snprintf(unit, sizeof(unit), "%s%s%s",
					 strncmp(m[k].unit, "of all", 6) ? "" : evs->ev[i].name,
					 strncmp(m[k].unit, "of all", 6) ? "" : " ", m[k].unit);
				int w = strlen(unit) > COLUMN ? (int)strlen(unit) + 1 : COLUMN;
				/* perf widens a coloured value's column by its escapes ("\033[31m",
				 * "\033[m"), printed or not */
				if (m[k].colored)
					w += 8;
				if (pass == 0 && o->sep)
					fprintf(out, "%s%s", unit, o->sep);
				else if (pass == 0)
					fprintf(out, "%*s ", COLUMN, unit);
				else if (o->json)
					fprintf(out, "%s\"%s\" : \"%s\"", first ? "" : ", ", unit,
						metric_csv(&m[k], val, sizeof(val)));
				else if (o->sep)
					fprintf(out, "%s%s", metric_csv(&m[k], val, sizeof(val)),
						o->sep);
				else {
					snprintf(val, sizeof(val), m[k].fmt, m[k].value);
					fprintf(out, "%*s ", w, val);
				}
				first = false;
			}
		}
		fprintf(out, "%s\n", pass > 0 && o->json ? "}" : "");
	}
}

/*
 * The counts of each group (one group and no prefix without aggregation), in perf's order:
 * per CPU (-A) event by event, each event's CPUs together; per node, socket or core group by
 * group, each group's events together.
 */
static int print_all(FILE *out, const struct stat_opts *o, struct pmu_counters *ctrs,
		     const struct stat_summary *sum, const struct topo_group *groups, int ngroups)
{
	const struct pmu_count *counts = sum->counts;
	const struct pmu_event_list *evs = pmu_counters_events(ctrs);
	size_t ng = groups ? (size_t)ngroups : 1;
	struct result *r = calloc(ng * evs->n, sizeof(*r));
	if (!r) {
		cli_error("stat", "out of memory");
		return -ENOMEM;
	}
	for (size_t g = 0; g < ng; g++)
		fill_results(ctrs, &counts[g * evs->n], &r[g * evs->n]);
	bool human = !o->json && !o->sep;
	/* As perf: the time column's title every 25 intervals. */
	if (human && sum->interval && sum->tick % 25 == 0)
		fprintf(out, "#%*s %18s %-4s %s\n", 15, "time", "counts", "unit", "events");
	if (human && !sum->interval) {
		char target[512];
		describe_target(o, target, sizeof(target));
		fprintf(out, "\n Performance counter stats for %s", target);
		if (sum->runs > 1)
			fprintf(out, " (%d runs)", sum->runs);
		fprintf(out, ":\n\n");
	}
	bool event_outer = groups && (o->aggr_mode == TOPO_AGGR_CPU || o->per_thread);
	size_t nouter = event_outer ? evs->n : ng, ninner = event_outer ? ng : evs->n;
	size_t *order = calloc(ng, sizeof(*order));
	if (!order) {
		free(r);
		cli_error("stat", "out of memory");
		return -ENOMEM;
	}
	if (o->metric_only) {
		print_metrics_only(out, o, evs, sum, groups, ng);
		nouter = 0;
	}
	for (size_t a = 0; a < nouter; a++) {
		/* As perf --per-thread: each event's threads by count, the largest first. */
		for (size_t x = 0; x < ng; x++) {
			size_t y = x;
			for (; o->per_thread && y > 0 &&
			       r[order[y - 1] * evs->n + a].value < r[x * evs->n + a].value;
			     y--)
				order[y] = order[y - 1];
			order[y] = x;
		}
		for (size_t b = 0; b < ninner; b++) {
			size_t g = event_outer ? order[b] : a, i = event_outer ? a : b;
			char prefix[192];
			line_prefix(o, sum, groups ? &groups[g] : NULL, prefix, sizeof(prefix));
			struct pmu_metric m[PMU_METRICS_MAX];
			int nm = pmu_metrics(evs->ev, &counts[g * evs->n], evs->n, i, sum->wall_ns,
					     m);
			print_event(out, o, prefix, &r[g * evs->n + i], m, nm, sum,
				    g * evs->n + i);
		}
	}
	if (o->metric_only && !o->sep && !sum->interval)
		fputc('\n', out); /* perf ends --metric-only with a blank line */
	if (sum->interval) {
		/* no footer */
	} else if (human && sum->runs > 1) {
		/* perf's precision: two digits beyond the first significant one of the error. */
		double avg = sum->wall_ns / 1e9, se = sum->wall_se_ns / 1e9;
		int prec = se > 1 ? 0 : se > 1e-9 ? (int)lround(ceil(-log10(se))) + 2 : 9;
		fprintf(out, "\n %17.*f +- %.*f seconds time elapsed", prec, avg, prec, se);
		double pct = eng_runstats_rel_pct(se, avg);
		if (pct != 0.0)
			fprintf(out, "  ( +-%6.2f%% )", pct);
		fprintf(out, "\n\n");
	} else if (human) {
		const struct rusage *ru = sum->ru;
		fprintf(out, "\n %17.9f seconds time elapsed\n", sum->wall_ns / 1e9);
		if (ru)
			fprintf(out, "\n %17.9f seconds user\n %17.9f seconds sys\n",
				(double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6,
				(double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6);
		fprintf(out, "\n");
	}
	free(order);
	free(r);
	return 0;
}

/*
 * Where the text goes: stderr, or -o's output (replaced atomically, or written in place:
 * base.h) through a stream of its own. 0, or -errno with the error printed.
 */
static int text_begin(struct base_output *out, FILE **f)
{
	*f = stderr;
	if (!out)
		return 0;
	char err[BASE_ERR_MAX];
	int fd, dup_fd = -1;
	int ret = base_output_begin(out, &fd, err, sizeof(err));
	if (ret == 0 && ((dup_fd = dup(fd)) < 0 || !(*f = fdopen(dup_fd, "w")))) {
		ret = base_output_fail(out, "writing", -errno, NULL, err, sizeof(err));
		if (dup_fd >= 0)
			close(dup_fd);
	}
	if (ret < 0)
		cli_error("stat", "%s", err);
	return ret;
}

/*
 * Closes text_begin's stream; with ret 0 (all printed) commits -o's output, else what is
 * begun is dropped when out is closed. 0, or -errno with the error printed.
 */
static int text_end(struct base_output *out, FILE *f, int ret)
{
	if (!out)
		return ret;
	char err[BASE_ERR_MAX];
	int werr = ferror(f) ? EIO : 0;
	if (fclose(f) != 0 && !werr)
		werr = errno;
	if (ret < 0)
		return ret;
	ret = werr ? base_output_fail(out, "writing", -werr, NULL, err, sizeof(err))
		   : base_output_commit(out, err, sizeof(err));
	if (ret < 0)
		cli_error("stat", "%s", err);
	return ret;
}

/* What the profiles' one frame names: the command, or the CPUs or processes counted. */
static void counted_what(const struct stat_opts *o, char *buf, size_t len)
{
	if (o->cpus) {
		snprintf(buf, len, "CPUs %s", o->cpus);
	} else if (o->system_wide) {
		snprintf(buf, len, "all CPUs");
	} else if (o->pids) {
		snprintf(buf, len, "%s %s", strchr(o->pids, ',') ? "pids" : "pid", o->pids);
	} else {
		const char *slash = strrchr(o->cmd[0], '/');
		snprintf(buf, len, "%s", slash ? slash + 1 : o->cmd[0]);
	}
}

/* --pprof and --otlp: the counts as one profile, written to each; 0 or -1 (errors printed). */
static int write_profiles(const struct stat_opts *o, struct base_output *pprof_out,
			  struct base_output *otlp_out, struct pmu_counters *ctrs,
			  const struct pmu_count *counts, const struct topo_group *groups,
			  int ngroups, const struct topo *topo, int64_t start_real, double wall_ns,
			  int argc, char **argv)
{
	const struct pmu_event_list *evs = pmu_counters_events(ctrs);
	char err[BASE_ERR_MAX], what[512];
	bool *supported = calloc(evs->n, sizeof(*supported));
	if (!supported) {
		cli_error("stat", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < evs->n; i++)
		supported[i] = pmu_counters_supported(ctrs, i);
	counted_what(o, what, sizeof(what));
	struct eng_stat_counts c = {
		.evs = evs,
		.supported = supported,
		.counts = counts,
		.groups = groups,
		.ngroups = groups ? (size_t)ngroups : 0,
		.mode = o->aggr_mode,
		.topo = topo,
		.what = what,
		.time_nanos = start_real,
		.duration_nanos = (int64_t)wall_ns,
		.head = "pmuprof " PMUPROF_VERSION,
		.argc = argc,
		.argv = argv,
	};
	struct pprof *prof = NULL;
	int ret = eng_stat_profile(&prof, &c, err, sizeof(err));
	free(supported);
	if (ret < 0) {
		cli_error("stat", "%s", err);
		return -1;
	}
	/* Each output on its own: one that fails does not cost the other. */
	if (pprof_out && pprof_write_output(prof, pprof_out, NULL, err, sizeof(err)) < 0) {
		cli_error("stat", "%s", err);
		ret = -1;
	}
	if (otlp_out) {
		struct cli_otlp_ctx oc = {.workload = -1};
		uint8_t *req = NULL;
		size_t len = 0;
		if (cli_otlp_encode(&oc, prof, false, &req, &len, err, sizeof(err)) < 0 ||
		    otlp_write_output(otlp_out, req, len, err, sizeof(err)) < 0) {
			cli_error("stat", "%s", err);
			ret = -1;
		}
		free(req);
	}
	pprof_free(prof);
	return ret;
}

/* --- the command ------------------------------------------------------------ */

/*
 * --per-thread: a group of one counting slot per thread (the slots are the tids, in order),
 * and each thread's "comm-tid" as perf names it. 0, or -ENOMEM with the error printed.
 */
static int stat_thread_groups(struct stat_opts *o, const pid_t *tids, int n,
			      struct topo_group **groups, int *ngroups)
{
	*groups = calloc((size_t)n, sizeof(**groups));
	o->thread_name = calloc((size_t)n, sizeof(*o->thread_name));
	if (!*groups || !o->thread_name) {
		cli_error("stat", "out of memory");
		return -ENOMEM;
	}
	*ngroups = n;
	for (int k = 0; k < n; k++) {
		struct topo_group *g = &(*groups)[k];
		g->id = (struct topo_cpu_ids){-1, -1, -1, -1};
		g->cpu = -1;
		g->n = 1;
		if (!(g->idx = malloc(sizeof(*g->idx)))) {
			cli_error("stat", "out of memory");
			return -ENOMEM;
		}
		g->idx[0] = k;
		char comm[17];
		/* a thread gone since is still named by its id */
		if (base_proc_comm(tids[k], tids[k], comm, sizeof(comm)) < 0)
			snprintf(comm, sizeof(comm), "?");
		snprintf(o->thread_name[k], sizeof(o->thread_name[k]), "%s-%d", comm, (int)tids[k]);
	}
	return 0;
}

/* A CPU that is not online would fail later with a bare EINVAL: name it now. */
static int check_cpus_online(const int *cpus, int ncpus)
{
	char err[BASE_ERR_MAX];
	int *online, nonline;
	if (pmu_online_cpus(&online, &nonline, err, sizeof(err)) < 0) {
		cli_error("stat", "%s", err);
		return -1;
	}
	int ret = 0;
	for (int i = 0; i < ncpus && ret == 0; i++) {
		bool found = false;
		for (int j = 0; j < nonline; j++)
			found |= online[j] == cpus[i];
		if (!found) {
			cli_error("stat", "CPU %d is not online (online CPUs: %d-%d); choose CPUs with -C",
				  cpus[i], online[0], online[nonline - 1]);
			ret = -1;
		}
	}
	free(online);
	return ret;
}

/*
 * --topdown: this CPU's topdown events (pmu_topdown) in place of -e, shown as perf shows
 * them: the metrics alone; the older events per core, which perf counts system wide only.
 * 0, or how pmuprof exits, with the error printed.
 */
static int stat_topdown(const struct pmu_ctx *ctx, struct stat_opts *o)
{
	char err[BASE_ERR_MAX];
	struct pmu_topdown td;
	if (pmu_topdown(ctx, &td, err, sizeof(err)) < 0) {
		cli_error("stat", "--topdown: %s", err);
		return 1;
	}
	if (td.per_core) {
		if (!o->system_wide && !o->cpus) {
			cli_error("stat", "--topdown: this CPU's topdown events (%s) count per core, "
					  "system wide; add -a (or -C CPUS)",
				  td.events);
			return 2;
		}
		if (o->aggr && o->aggr_mode != TOPO_AGGR_CORE) {
			cli_error("stat", "--topdown: this CPU's topdown events count per core; "
					  "drop %s",
				  o->aggr_flag);
			return 2;
		}
		set_aggr(o, TOPO_AGGR_CORE, "--topdown");
	}
	if (!(o->events = strdup(td.events))) {
		cli_error("stat", "out of memory");
		return 1;
	}
	o->metric_only = true;
	return 0;
}

static int choose_events(struct pmu_ctx *ctx, const struct stat_opts *o,
			 struct pmu_event_list *evs)
{
	char err[BASE_ERR_MAX];
	const char *spec = o->events ? o->events : DEFAULT_EVENTS;
	if (pmu_parse_events(ctx, spec, evs, err, sizeof(err)) < 0) {
		cli_error("stat", "%s", err);
		return -EINVAL;
	}
	if (evs->notice[0]) /* e.g. a preset that fell back to generic events */
		fprintf(stderr, "pmuprof stat: %s\n", evs->notice);
	return 0;
}

/* --- stat --compare ---------------------------------------------------------- */

/* A mean as stat prints it: msec and small values with decimals, counts whole. */
static void mean_text(const struct eng_stat_side *sd, const char *unit, char *buf, size_t len)
{
	if (sd->n == 0) {
		snprintf(buf, len, "<not supported>");
		return;
	}
	int used = snprintf(buf, len, unit[0] || sd->mean < 100 ? "%.2f" : "%.0f", sd->mean);
	if (sd->n > 1 && used > 0 && (size_t)used < len)
		snprintf(buf + used, len - used, " +- %.2f%%", sd->pct);
}

/*
 * benchstat's table for two stat -j results (eng_stat_compare): per event each one's mean
 * +- perf's percent, the delta and Welch's p-value over the runs, "~" for the delta when
 * p > 0.05.
 */
static int stat_compare(const char *path_a, const char *path_b)
{
	char err[BASE_ERR_MAX];
	struct eng_stat_result a = {0}, b = {0};
	struct eng_stat_cmp_row *rows = NULL;
	int ret = 1;
	if (eng_stat_result_load(path_a, &a, err, sizeof(err)) < 0 ||
	    eng_stat_result_load(path_b, &b, err, sizeof(err)) < 0 ||
	    eng_stat_compare(&a, path_a, &b, path_b, &rows, err, sizeof(err)) < 0) {
		cli_error("stat", "--compare: %s", err);
		goto out;
	}
	int wname = 5;
	for (size_t i = 0; i < a.n; i++) {
		const struct eng_stat_entry *e = &a.e[i];
		int w = (int)strlen(e->name) + (e->unit[0] ? (int)strlen(e->unit) + 3 : 0);
		wname = w > wname ? w : wname;
	}
	printf("%-*s  %-24s  %-24s  %8s\n", wname, "event", path_a, path_b, "delta");
	for (size_t i = 0; i < a.n; i++) {
		const struct eng_stat_cmp_row *row = &rows[i];
		const struct eng_stat_entry *e = row->entry;
		char name[256], ta[64], tb[64], delta[32] = "", test[64] = "";
		snprintf(name, sizeof(name), e->unit[0] ? "%s (%s)" : "%s", e->name, e->unit);
		mean_text(&row->a, e->unit, ta, sizeof(ta));
		mean_text(&row->b, e->unit, tb, sizeof(tb));
		if (row->a.n && row->b.n) {
			if (row->differs)
				snprintf(delta, sizeof(delta), "%+.2f%%", row->delta_pct);
			else
				snprintf(delta, sizeof(delta), "~");
			if (row->tested)
				snprintf(test, sizeof(test), "(p=%.3f n=%zu+%zu)", row->welch.p,
					 row->a.n, row->b.n);
			else
				snprintf(test, sizeof(test), "(n=%zu+%zu: a test needs -r 2 or more)",
					 row->a.n, row->b.n);
		}
		char line[512];
		int n = snprintf(line, sizeof(line), "%-*s  %-24s  %-24s  %8s  %s", wname, name, ta,
				 tb, delta, test);
		while (n > 0 && (size_t)n < sizeof(line) && line[n - 1] == ' ')
			line[--n] = '\0';
		printf("%s\n", line);
	}
	ret = 0;
out:
	free(rows);
	eng_stat_result_free(&a);
	eng_stat_result_free(&b);
	return ret;
}

/* False once every -p process (or -t thread) has exited; true for other targets. */
static bool targets_alive(const struct stat_opts *o)
{
	return !(o->pids || o->tids) || cli_any_alive(o->pids ? o->pids : o->tids);
}

/* True once pid has exited (not reaped: cli_child_wait does that). */
static bool child_ended(pid_t pid)
{
	siginfo_t si = {0};
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != 0;
}

/*
 * -I: prints the counts of each interval to f until the command ends (pid > 0), or without
 * one until a signal or every -p target's exit; the last, shorter interval too, as perf.
 * 0, or -errno with the error printed.
 */
static int stat_ticks(const struct stat_opts *o, struct pmu_counters *ctrs, pid_t pid,
		      double start, const struct topo_group *groups, int ngroups, FILE *f)
{
	size_t nslots = (groups ? (size_t)ngroups : 1) * pmu_counters_events(ctrs)->n;
	struct pmu_count *prev = calloc(nslots, sizeof(*prev));
	struct pmu_count *delta = calloc(nslots, sizeof(*delta));
	int pidfd = pid > 0 ? cli_pidfd(pid) : -1, ret = 0;
	double last = start;
	bool ended = false;
	if (!prev || !delta) {
		cli_error("stat", "out of memory");
		ret = -ENOMEM;
	}
	for (int tick = 0; ret == 0 && !ended; tick++) {
		double next = start + (tick + 1) * (double)o->interval_ms / 1e3, left;
		while (!ended && (left = (next - cli_mono_s()) * 1e3) > 0) {
			/* Without a pidfd, naps of 10 ms at most look for the command's end. */
			if (cli_nap(pidfd, pid > 0 && pidfd < 0 && left > 10 ? 10 : left) == 1)
				ended = true;
			else if (pid > 0)
				ended = child_ended(pid);
			else
				ended = cli_signals_pending() || !targets_alive(o);
		}
		double now = cli_mono_s();
		struct pmu_count *cur;
		if ((ret = read_counts(ctrs, groups, ngroups, &cur)) < 0)
			break;
		for (size_t k = 0; k < nslots; k++) {
			delta[k] = (struct pmu_count){.value = cur[k].value - prev[k].value,
						      .enabled = cur[k].enabled - prev[k].enabled,
						      .running = cur[k].running - prev[k].running,
						      .lost = cur[k].lost - prev[k].lost};
			prev[k] = cur[k];
		}
		free(cur);
		struct stat_summary sum = {.counts = delta,
					   .runs = 1,
					   .wall_ns = (now - last) * 1e9,
					   .interval = true,
					   .time_s = now - start,
					   .tick = tick};
		last = now;
		if ((ret = print_all(f, o, ctrs, &sum, groups, ngroups)) == 0)
			fflush(f);
	}
	if (pidfd >= 0)
		close(pidfd);
	free(prev);
	free(delta);
	return ret;
}

/* What one run leaves: its counters (open still, for their event list), counts and times. */
struct stat_run {
	struct pmu_counters *ctrs;
	struct pmu_count *counts; /* read_counts' shape */
	double wall_ns;
	int64_t start_real;
	struct rusage ru;
};

/*
 * One counting period: the command run once (counted itself, or timing -a, -C or -p), or,
 * without one, until Ctrl-C or every -p target's exit, with -I's intervals printed to ticks.
 * *status is the command's exit status, or how pmuprof exits after an error, which is
 * printed and returns -1.
 */
static int stat_run_once(const struct stat_opts *o, const struct pmu_ctx *ctx,
			 const struct pmu_event_list *evs, struct pmu_target target,
			 const struct topo_group *groups, int ngroups, FILE *ticks,
			 struct stat_run *r, int *status)
{
	char err[BASE_ERR_MAX];
	struct cli_child child = {.pid = -1, .go_fd = -1, .err_fd = -1};
	*status = 1;
	if (*o->cmd) {
		/* The counts own standard output (-o -): the command writes its own to stderr. */
		child.stdout_to_stderr = (o->output && strcmp(o->output, "-") == 0) ||
					 (o->pprof_file && strcmp(o->pprof_file, "-") == 0) ||
					 (o->otlp_file && strcmp(o->otlp_file, "-") == 0);
		if (cli_child_prepare(&child, o->cmd, err, sizeof(err)) < 0) {
			cli_error("stat", "%s", err);
			return -1;
		}
		if (!o->system_wide && !o->cpus && !o->pids && !o->tids) {
			/* Count the command itself: follow its threads and children, start at exec. */
			target.pids = &child.pid;
			target.npids = 1;
			target.inherit = true;
			target.enable_on_exec = true;
		}
	}
	if (pmu_counters_open(&r->ctrs, ctx, evs, &target, err, sizeof(err)) < 0) {
		cli_error("stat", "%s", err);
		goto fail;
	}
	cli_signals_install(child.pid);
	if (!target.enable_on_exec && pmu_counters_enable(r->ctrs) < 0) {
		cli_error("stat", "cannot enable counters: %s", strerror(errno));
		goto fail;
	}
	double start = cli_mono_s();
	r->start_real = cli_realtime_ns();
	*status = 0;
	if (child.pid > 0) {
		int e = cli_child_go(&child);
		if (e < 0) {
			cli_error("stat", "cannot run '%s': %s; check the command name and PATH",
				  o->cmd[0], strerror(-e));
			*status = e == -ENOENT ? 127 : 126;
			goto fail;
		}
		int tret = o->interval_ms ? stat_ticks(o, r->ctrs, child.pid, start, groups,
						       ngroups, ticks)
					  : 0;
		if (cli_child_wait(child.pid, status, &r->ru) < 0) {
			cli_error("stat", "cannot wait for the command: %s", strerror(errno));
			*status = 1;
		}
		child.pid = -1;
		if (tret < 0) {
			*status = 1;
			return -1;
		}
	} else if (o->interval_ms) {
		if (stat_ticks(o, r->ctrs, -1, start, groups, ngroups, ticks) < 0) {
			*status = 1;
			return -1;
		}
	} else {
		/* No command: count until a signal, or until every -p target has exited. */
		while (!cli_signals_pending() && targets_alive(o))
			usleep(100 * 1000);
	}
	r->wall_ns = (cli_mono_s() - start) * 1e9;
	pmu_counters_disable(r->ctrs);
	if (read_counts(r->ctrs, groups, ngroups, &r->counts) < 0) {
		if (*status == 0)
			*status = 1;
		return -1;
	}
	return 0;
fail:
	cli_child_abandon(&child);
	return -1;
}

int cmd_stat(int argc, char **argv)
{
	struct stat_opts o = {0};
	int ret = parse_args(argc, argv, &o);
	if (ret != 0 || o.compare) {
		free(o.events);
		return ret < 0 ? 0 : ret > 0 ? ret : stat_compare(o.compare, o.cmd[0]);
	}
	char err[BASE_ERR_MAX];
	struct pmu_ctx *ctx = NULL;
	struct pmu_event_list evs = {0};
	struct stat_run run = {0};
	FILE *text = NULL; /* stderr, or -o's stream (text_begin) */
	struct eng_stat_runs runs = {0};
	int *cpus = NULL, ncpus = 0;
	struct topo *topo = NULL;
	struct topo_group *groups = NULL;
	int ngroups = 0;
	pid_t *tids = NULL;
	int ntids = 0;
	int status = 1;
	struct base_output *out = NULL, *pprof_out = NULL, *otlp_out = NULL;

	/* The outputs first: a path that cannot be written fails now, not after the workload. */
	struct base_output_opts out_opts = {.mode = 0644, .what = "counts", .flag = "-o"};
	struct base_output_opts pprof_opts = {.mode = 0644, .what = "profile", .flag = "--pprof"};
	struct base_output_opts otlp_opts = {.mode = 0644, .what = "OTLP file", .flag = "--otlp"};
	if ((o.output && base_output_open(&out, o.output, &out_opts, err, sizeof(err)) < 0) ||
	    (o.pprof_file &&
	     base_output_open(&pprof_out, o.pprof_file, &pprof_opts, err, sizeof(err)) < 0) ||
	    (o.otlp_file &&
	     base_output_open(&otlp_out, o.otlp_file, &otlp_opts, err, sizeof(err)) < 0)) {
		cli_error("stat", "%s", err);
		goto out;
	}
	struct base_output *outs[] = {out, pprof_out, otlp_out};
	if (cli_outputs_ready("stat", outs, 3, NULL) < 0) {
		status = 2;
		goto out;
	}
	if (pmu_ctx_new(&ctx, NULL, err, sizeof(err)) < 0) {
		cli_error("stat", "%s", err);
		goto out;
	}
	if (o.topdown && (ret = stat_topdown(ctx, &o)) != 0) {
		status = ret;
		goto out;
	}
	if (choose_events(ctx, &o, &evs) < 0)
		goto out;

	struct pmu_target target = {0};
	bool cpu_wide = o.system_wide || o.cpus;
	if (cpu_wide) {
		ret = o.cpus ? base_parse_cpu_list(o.cpus, &cpus, &ncpus, err, sizeof(err))
			     : pmu_online_cpus(&cpus, &ncpus, err, sizeof(err));
		if (ret < 0) {
			cli_error("stat", "%s", err);
			status = 2;
			goto out;
		}
		if (check_cpus_online(cpus, ncpus) < 0) {
			status = 2;
			goto out;
		}
		target.cpus = cpus;
		target.ncpus = ncpus;
		/* Groups of counting slots (the indexes into cpus[]) by the machine's topology. */
		if (o.aggr && (topo_load(&topo, NULL, err, sizeof(err)) < 0 ||
			       topo_group_cpus(topo, o.aggr_mode, cpus, ncpus, &groups, &ngroups, err,
					       sizeof(err)) < 0)) {
			cli_error("stat", "%s: %s", o.aggr_flag, err);
			goto out;
		}
	} else if (o.pids || o.tids) {
		if (cli_resolve_threads(o.pids ? o.pids : o.tids, !o.pids, &tids, &ntids, err,
					sizeof(err)) < 0) {
			cli_error("stat", "%s", err);
			status = 2;
			goto out;
		}
		target.pids = tids;
		target.npids = ntids;
		target.inherit = true;
		if (o.per_thread && stat_thread_groups(&o, tids, ntids, &groups, &ngroups) < 0)
			goto out;
	}
	if (eng_stat_runs_init(&runs, &evs, groups ? (size_t)ngroups : 0, o.repeat, err,
			       sizeof(err)) < 0) {
		cli_error("stat", "%s", err);
		goto out;
	}
	/* -I prints as it counts: its text is begun first. */
	if (o.interval_ms && text_begin(out, &text) < 0)
		goto out;
	int64_t start_real = 0;
	while (runs.runs < o.repeat) {
		pmu_counters_close(run.ctrs);
		free(run.counts);
		run = (struct stat_run){0};
		if (stat_run_once(&o, ctx, &evs, target, groups, ngroups, text, &run, &status) < 0)
			goto out;
		if (runs.runs == 0)
			start_real = run.start_real;
		eng_stat_runs_add(&runs, run.counts, run.wall_ns);
		if (cli_signals_pending()) /* Ctrl-C: the runs so far are the result */
			break;
	}
	/* As perf: user and sys times are the command's, shown when it is what is counted once. */
	struct stat_summary sum = {
		.counts = runs.mean,
		.noise = runs.runs > 1 ? runs.noise : NULL,
		.run_values = runs.run_values,
		.run_stride = (size_t)runs.max_runs,
		.runs = runs.runs,
		.wall_ns = runs.wall.mean,
		.wall_se_ns = eng_runstats_stderr(&runs.wall),
		.ru = runs.runs == 1 && *o.cmd && !cpu_wide && !o.pids && !o.tids ? &run.ru : NULL,
	};
	/* The text first: a profile that cannot be written does not cost the counts. */
	if (!text && text_begin(out, &text) < 0)
		goto out;
	ret = o.interval_ms ? 0 : print_all(text, &o, run.ctrs, &sum, groups, ngroups);
	ret = text_end(out, text, ret);
	text = NULL;
	if (ret < 0 ||
	    ((pprof_out || otlp_out) &&
	     write_profiles(&o, pprof_out, otlp_out, run.ctrs, runs.mean, groups, ngroups, topo,
			    start_real, runs.wall.mean, argc, argv) < 0)) {
		if (status == 0)
			status = 1;
	}

out:
	if (text && text != stderr)
		fclose(text);
	base_output_close(out);
	base_output_close(pprof_out);
	base_output_close(otlp_out);
	free(run.counts);
	pmu_counters_close(run.ctrs);
	eng_stat_runs_free(&runs);
	pmu_event_list_free(&evs);
	pmu_ctx_free(ctx);
	topo_groups_free(groups, ngroups);
	free(o.thread_name);
	topo_free(topo);
	free(cpus);
	free(tids);
	free(o.events);
	return status;
}
