/*
 * pmuprof record: sample events per CPU for a command, processes, threads or
 * the whole system, and write a pprof profile with one sample type per event.
 *
 * The pipeline (see DESIGN.md): pmu/ parses the events, topology/ plans the
 * reader threads, sampler/ opens the rings and drains them, engine/ merges
 * the per-CPU streams in time order, models processes, symbolizes and
 * aggregates. This file only wires them and runs the child.
 */
#include "base.h"
#include "cli.h"
#include "engine.h"
#include "otlp.h"
#include "pmu.h"
#include "sampler.h"
#include "topology.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_EVENTS "cycles,cache-misses,branch-misses"
#define FALLBACK_EVENTS "cpu-clock"
#define DEFAULT_FREQ 4000 /* as perf record */
#define DEFAULT_OUTPUT "pmuprof.pb.gz"
/* How long a command may outlive SIGINT/SIGTERM (or --duration) before we stop without it. */
#define SIGNAL_GRACE_S 0.5

struct record_opts {
	const char *name; /* for messages: "record", or "c2c record" when that runs it */
	char *events;
	uint64_t period, freq;
	bool callchain;
	uint32_t stack_dump; /* --call-graph dwarf[,SIZE] */
	const char *output;
	bool output_given;            /* -o: no .old kept (only the default name's) */
	struct base_output *out;      /* -o, opened before the workload starts */
	struct base_output *otlp_out; /* --otlp, likewise */
	bool system_wide;
	const char *cpus, *pids, *tid;
	double duration;
	size_t ring_pages;
	size_t buffer_bytes; /* --buffer-mib; 0: the sampler's default */
	const char *readers;
	bool verbose; /* -v: where each reader's memory is */
	bool symbolize;
	const char *otlp_file;     /* --otlp FILE */
	const char *otlp_endpoint; /* --otlp-endpoint URL */
	const char *spool;         /* --spool DIR */
	bool otlp_payload;         /* --otlp-payload */
	const char *control;       /* --control fifo:CTL[,ACK] */
	long delay_ms;             /* -D: -1 waits for "enable", N > 0 enables after N ms */
	bool no_labels;            /* --no-labels: no channel for region / trace labels */
	const char *perf_data;     /* --perf-data FILE: the raw records too, as perf.data */
	bool mem;                  /* --mem: data-address sampling (PEBS / IBS) */
	uint64_t ldlat;            /* --ldlat: load-latency threshold in cycles (0: default) */
	char **cmd;
	int argc;
	char **argv;
};

static void record_usage(FILE *out)
{
	fprintf(out,
		"usage: pmuprof record [-e EVENTS] [-c PERIOD | -F FREQ] [-g | --call-graph fp|dwarf|none]\n"
		"                      [-o FILE] [-a | -C CPUS | -p PID[,PID] | -t TID] [--duration S]\n"
		"                      [-m PAGES] [--readers node|l3|cpu|N] [-v] [--no-symbolize]\n"
		"                      [--perf-data FILE] [--mem [--ldlat CYCLES]] [-- CMD ...]\n"
		"  -e, --event EVENTS     events to sample (default " DEFAULT_EVENTS "), each its own\n"
		"                         sample type; '{a,b}:S' samples a and reads b at each sample\n"
		"  -c, --count PERIOD     sample every PERIOD events\n"
		"  -F, --freq HZ          sample HZ times a second per event and CPU (default %d)\n"
		"  -g                     record call chains with frame pointers\n"
		"      --call-graph dwarf[,SIZE]  unwind user stacks from SIZE bytes copied per\n"
		"                         sample (default 8192) with DWARF CFI: full stacks\n"
		"                         through code built without frame pointers\n"
		"  -o, --output FILE      the pprof to write (default " DEFAULT_OUTPUT ", the previous\n"
		"                         one kept as " DEFAULT_OUTPUT ".old); '-' writes it to\n"
		"                         standard output (the command's own output then goes to\n"
		"                         standard error)\n"
		"      --perf-data FILE   also write every record as perf.data (perf report/script,\n"
		"                         pmuprof import read it)\n"
		"      --mem              sample data addresses instead of -e events, as perf mem\n"
		"                         record: Intel PEBS load latency and stores, AMD IBS;\n"
		"                         samples get cacheline/offset/data_src/weight labels\n"
		"      --ldlat CYCLES     loads slower than CYCLES only (default 30)\n"
		"  -a, --all-cpus         every process on every CPU (with a command: while it runs)\n"
		"  -C, --cpu CPUS         every process on these CPUs (likewise)\n"
		"  -p, --pid PIDS         running processes (all their threads, and new ones)\n"
		"  -t, --tid TID          one running thread\n"
		"      --duration S       sample for S seconds (10, 10s, 500ms, 2m), also with a\n"
		"                         command (which then gets SIGINT)\n"
		"  -m, --mmap-pages N     data pages per CPU ring, a power of two (default 512)\n"
		"      --buffer-mib N     memory for records read but not yet processed (default\n"
		"                         16); beyond it they wait in a file in $TMPDIR\n"
		"      --readers MODE     reader threads: one per NUMA node (default), per L3,\n"
		"                         per CPU, or a fixed count\n"
		"  -v, --verbose          at the end, each reader's node and CPUs and the NUMA\n"
		"                         nodes of its rings' and buffers' pages\n"
		"      --no-symbolize     addresses only; pprof symbolizes later by build id\n"
		"      --otlp FILE        also write the profile as an OTLP ExportProfilesServiceRequest\n"
		"      --otlp-endpoint URL  also POST it to URL/v1development/profiles (OTLP/HTTP;\n"
		"                         OTEL_EXPORTER_OTLP_* variables apply)\n"
		"      --otlp-payload     attach the gzipped pprof to the OTLP request\n"
		"      --spool DIR        where undeliverable OTLP requests wait for the endpoint\n"
		"      --control fifo:CTL[,ACK]  commands enable, disable, snapshot, stop, ping (perf's\n"
		"                         protocol; each acked on ACK); the workload finds the fifos\n"
		"                         in PMUPROF_CONTROL_FIFO (libpmuprof's sampling calls use it)\n"
		"  -D, --delay MS         start sampling after MS ms; -1: only on 'enable'\n"
		"      --no-labels        offer the command no channel for libpmuprof's region\n"
		"                         and trace-context sample labels\n",
		DEFAULT_FREQ);
}

static int parse_u64_arg(const char *cmd, const char *opt, const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *end || !*s || *s == '-' || x == 0) {
		cli_error(cmd, "%s needs a positive number, not '%s'", opt, s);
		return -1;
	}
	*v = x;
	return 0;
}

/* "dwarf" or "dwarf,SIZE": SIZE bytes of stack per sample, 8-byte aligned, at most 65528. */
static int parse_stack_size(const char *cmd, const char *arg, uint32_t *size)
{
	uint64_t v = 8192; /* perf's default */
	if (arg[5] == ',' && parse_u64_arg(cmd, "--call-graph dwarf,SIZE", arg + 6, &v) < 0)
		return -1;
	if (v > 65528 || v % 8) {
		cli_error(cmd, "--call-graph dwarf,SIZE needs a multiple of 8 up to 65528, not "
				    "%llu", (unsigned long long)v);
		return -1;
	}
	*size = (uint32_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct record_opts *o)
{
	enum {
		OPT_CALL_GRAPH = 256, OPT_DURATION, OPT_READERS, OPT_NO_SYMBOLIZE, OPT_OTLP,
		OPT_OTLP_ENDPOINT, OPT_OTLP_PAYLOAD, OPT_SPOOL, OPT_CONTROL, OPT_NO_LABELS,
		OPT_PERF_DATA, OPT_MEM, OPT_LDLAT, OPT_BUFFER_MIB,
	};
	static const struct option longopts[] = {
		{"event", required_argument, NULL, 'e'},
		{"count", required_argument, NULL, 'c'},
		{"freq", required_argument, NULL, 'F'},
		{"call-graph", required_argument, NULL, OPT_CALL_GRAPH},
		{"output", required_argument, NULL, 'o'},
		{"all-cpus", no_argument, NULL, 'a'},
		{"cpu", required_argument, NULL, 'C'},
		{"pid", required_argument, NULL, 'p'},
		{"tid", required_argument, NULL, 't'},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"mmap-pages", required_argument, NULL, 'm'},
		{"readers", required_argument, NULL, OPT_READERS},
		{"buffer-mib", required_argument, NULL, OPT_BUFFER_MIB},
		{"verbose", no_argument, NULL, 'v'},
		{"no-symbolize", no_argument, NULL, OPT_NO_SYMBOLIZE},
		{"otlp", required_argument, NULL, OPT_OTLP},
		{"otlp-endpoint", required_argument, NULL, OPT_OTLP_ENDPOINT},
		{"otlp-payload", no_argument, NULL, OPT_OTLP_PAYLOAD},
		{"spool", required_argument, NULL, OPT_SPOOL},
		{"control", required_argument, NULL, OPT_CONTROL},
		{"no-labels", no_argument, NULL, OPT_NO_LABELS},
		{"perf-data", required_argument, NULL, OPT_PERF_DATA},
		{"mem", no_argument, NULL, OPT_MEM},
		{"ldlat", required_argument, NULL, OPT_LDLAT},
		{"delay", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	uint64_t v;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+e:c:F:go:aC:p:t:m:D:hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (cli_append_events(&o->events, optarg) < 0)
				return cli_error(o->name, "out of memory"), 1;
			break;
		case 'c':
			if (parse_u64_arg(o->name, "-c", optarg, &o->period) < 0)
				return 2;
			break;
		case 'F':
			if (parse_u64_arg(o->name, "-F", optarg, &o->freq) < 0)
				return 2;
			break;
		case 'g': o->callchain = true; break;
		case OPT_CALL_GRAPH:
			if (strcmp(optarg, "fp") == 0)
				o->callchain = true;
			else if (strcmp(optarg, "none") == 0)
				o->callchain = false;
			else if (strcmp(optarg, "dwarf") == 0 || strncmp(optarg, "dwarf,", 6) == 0) {
				if (parse_stack_size(o->name, optarg, &o->stack_dump) < 0)
					return 2;
			} else
				return cli_error(o->name, "--call-graph takes fp, dwarf[,SIZE] or "
							   "none, not '%s'",
						 optarg),
				       2;
			break;
		case 'o':
			o->output = optarg;
			o->output_given = true;
			break;
		case 'a': o->system_wide = true; break;
		case 'C': o->cpus = optarg; break;
		case 'p': o->pids = optarg; break;
		case 't': o->tid = optarg; break;
		case OPT_DURATION:
			if (cli_parse_seconds(o->name, "--duration", optarg, &o->duration) < 0)
				return 2;
			break;
		case 'm':
			if (parse_u64_arg(o->name, "-m", optarg, &v) < 0)
				return 2;
			if (v & (v - 1))
				return cli_error(o->name, "-m needs a power of two, not %s", optarg),
				       2;
			o->ring_pages = (size_t)v;
			break;
		case OPT_READERS: o->readers = optarg; break;
		case OPT_BUFFER_MIB:
			if (parse_u64_arg(o->name, "--buffer-mib", optarg, &v) < 0)
				return 2;
			if (v == 0 || v > 1 << 20)
				return cli_error(o->name, "--buffer-mib needs 1 to 1048576, not %s",
						 optarg),
				       2;
			o->buffer_bytes = (size_t)v << 20;
			break;
		case 'v': o->verbose = true; break;
		case OPT_NO_SYMBOLIZE: o->symbolize = false; break;
		case OPT_OTLP: o->otlp_file = optarg; break;
		case OPT_OTLP_ENDPOINT: o->otlp_endpoint = optarg; break;
		case OPT_OTLP_PAYLOAD: o->otlp_payload = true; break;
		case OPT_SPOOL: o->spool = optarg; break;
		case OPT_CONTROL: o->control = optarg; break;
		case OPT_NO_LABELS: o->no_labels = true; break;
		case OPT_PERF_DATA: o->perf_data = optarg; break;
		case OPT_MEM: o->mem = true; break;
		case OPT_LDLAT:
			if (parse_u64_arg(o->name, "--ldlat", optarg, &o->ldlat) < 0)
				return 2;
			if (o->ldlat > 65535)
				return cli_error(o->name, "--ldlat takes at most 65535 cycles"), 2;
			break;
		case 'D': {
			char *end;
			o->delay_ms = strtol(optarg, &end, 10);
			if (*end || (o->delay_ms < 0 && o->delay_ms != -1))
				return cli_error(o->name, "-D takes milliseconds, or -1 to start "
							   "disabled until 'enable' on --control, not '%s'",
						 optarg),
				       2;
			break;
		}
		case 'h': record_usage(stdout); return -1;
		default:
			cli_option_error(o->name, argv, "ecFoCptmD");
			return 2;
		}
	}
	o->cmd = argv + optind;
	if (o->period && o->freq)
		return cli_error(o->name, "-c and -F are alternatives; choose one"), 2;
	if (o->mem && o->events)
		return cli_error(o->name, "--mem chooses the host's memory-sampling events; drop -e"),
		       2;
	if (o->ldlat && !o->mem)
		return cli_error(o->name, "--ldlat applies to --mem"), 2;
	int targets = !!o->pids + !!o->tid + !!(o->system_wide || o->cpus);
	if (targets > 1)
		return cli_error(o->name, "choose one target: -a/-C, -p or -t"), 2;
	if (!*o->cmd && targets == 0)
		return cli_error(o->name, "nothing to record: give a command (pmuprof record -- "
					   "CMD), or -a, -C CPUS, -p PID or -t TID"),
		       2;
	if (*o->cmd && (o->pids || o->tid))
		return cli_error(o->name, "a command cannot be combined with -p or -t; "
					   "use --duration to bound the recording"),
		       2;
	return 0;
}

/* --- recording ---------------------------------------------------------------- */

/* --otlp / --otlp-endpoint: the same profile as an OTLP request, to a file and/or a collector. */
static int write_otlp(const struct record_opts *o, struct cli_pipeline *p, const struct pprof *prof)
{
	char err[512];
	struct cli_otlp_ctx c = {.procs = p->procs, .workload = p->workload, .argv = o->cmd};
	uint8_t *req = NULL;
	size_t len = 0;
	int ret = cli_otlp_encode(&c, prof, o->otlp_payload, &req, &len, err, sizeof(err));
	if (ret == 0 && o->otlp_out)
		ret = otlp_write_output(o->otlp_out, req, len, err, sizeof(err));
	if (ret == 0 && o->otlp_endpoint)
		ret = cli_otlp_post(o->otlp_endpoint, o->spool, req, len, o->name, err, sizeof(err));
	if (ret < 0)
		cli_error(o->name, "%s", err);
	free(req);
	return ret;
}

/* Comments: the command line, version, and the loss and throttling counts. */
/* Room for the CPU comment: "pmuprof cpu: user 12345.678 s, ..." with counts up to 2^64. */
#define CPU_COMMENT_WIDTH 128

/*
 * Our own cost, all threads (readers included), children excluded, up to
 * the moment the rest of the profile has been encoded, compressed and
 * written (a pprof late comment).
 */
static void cpu_comment(void *pipeline, char *buf, size_t len)
{
	const struct cli_pipeline *p = pipeline;
	uint64_t total = 0;
	for (size_t i = 0; i < eng_nevents(p->eng); i++)
		total += eng_event(p->eng, i)->samples;
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0) {
		snprintf(buf, len, "pmuprof cpu: unknown (%s)", strerror(errno));
		return;
	}
	double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	snprintf(buf, len, "pmuprof cpu: user %.3f s, sys %.3f s, %.3f us per sample (%llu samples)",
		 user, sys, total ? (user + sys) * 1e6 / (double)total : 0.0,
		 (unsigned long long)total);
}

static void add_comments(struct pprof *prof, const struct record_opts *o, struct cli_pipeline *p)
{
	if (eng_add_run_comments(p->eng, prof, "pmuprof " PMUPROF_VERSION, o->argc, o->argv) < 0)
		cli_error(o->name, "out of memory: the profile's comments are incomplete");
	char line[BASE_ERR_MAX];
	if (smp_buffer_summary(p->session, line, sizeof(line)) > 0 &&
	    pprof_add_comment(prof, line) < 0)
		cli_error(o->name, "out of memory: the profile's comments are incomplete");
	/* Filled while the profile is written, so that the figure includes the writing. */
	if (pprof_add_late_comment(prof, CPU_COMMENT_WIDTH, cpu_comment, p) < 0)
		cli_error(o->name, "out of memory: the profile's comments are incomplete");
}

static void print_summary(const struct record_opts *o, const struct cli_pipeline *p, size_t bytes,
			  uint64_t perf_data_bytes, double finish_s)
{
	const struct pmu_event_list *evs = &p->evs;
	const struct eng *e = p->eng;
	char buf[64];
	uint64_t lost, throttled;
	eng_loss_totals(e, &lost, &throttled);
	fprintf(stderr, "pmuprof record: samples");
	for (size_t i = 0, shown = 0; i < evs->n; i++) {
		const struct pmu_event *ev = &evs->ev[i];
		if ((size_t)ev->leader != i && evs->ev[ev->leader].sample_read)
			continue; /* a read-only member: named with its leader */
		cli_format_count((double)eng_event(e, i)->samples, buf, sizeof(buf));
		fprintf(stderr, "%s %s %s", shown++ ? "," : "", ev->name, buf);
		if (!ev->sample_read || ev->group_size < 2)
			continue;
		for (size_t m = i + 1; m < evs->n && (size_t)evs->ev[m].leader == i; m++)
			fprintf(stderr, "%s%s", m == i + 1 ? " (" : ", ", evs->ev[m].name);
		fprintf(stderr, " read at each)");
	}
	fprintf(stderr, "; lost %llu; throttled %llu; wrote %s (%.1f KiB)",
		(unsigned long long)lost, (unsigned long long)throttled,
		strcmp(o->output, "-") ? o->output : "standard output", (double)bytes / 1024.0);
	if (perf_data_bytes)
		fprintf(stderr, " and %s (%.1f KiB)", o->perf_data,
			(double)perf_data_bytes / 1024.0);
	fprintf(stderr, " %.0f ms after the end\n", finish_s * 1e3);
	/*
	 * The readers never wait for processing, so what the kernel lost did not
	 * fit in its rings between two drains: more room is the fix.
	 */
	struct smp_stats st;
	char line[BASE_ERR_MAX];
	smp_get_stats(p->session, &st);
	if (lost)
		fprintf(stderr,
			"pmuprof record: the kernel lost %llu samples: its rings (%zu page%s per "
			"CPU) filled up between two reads (the longest %.0f ms apart); give them "
			"more room, e.g. -m %zu, or sample less often (-c/-F)\n",
			(unsigned long long)lost, o->ring_pages, o->ring_pages == 1 ? "" : "s",
			(double)st.max_gap_ns / 1e6, o->ring_pages * 4);
	if ((st.spill_error || st.spill_unread) &&
	    smp_buffer_summary(p->session, line, sizeof(line)) > 0)
		fprintf(stderr, "pmuprof record: %s\n", line);
}

/* " N0=12 N1=3": pages per node, as /proc/PID/numa_maps writes them. */
static void format_nodes(const unsigned long *per_node, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	for (int n = 0; n < SMP_MAX_NODES && used < len; n++)
		if (per_node[n])
			used += (size_t)snprintf(buf + used, len - used, " N%d=%lu", n, per_node[n]);
	/* Untouched pages, or a mapping move_pages cannot look into (perf rings on 6.18). */
	if (!used)
		snprintf(buf, len, " no node known");
}

/* -v: each reader's node and CPUs, and the nodes its pages are really on. */
static void print_readers(const struct record_opts *o, struct smp_session *s)
{
	for (int r = 0; r < smp_nreaders(s); r++) {
		struct smp_reader_memory m;
		int ret = smp_reader_memory(s, r, &m);
		if (ret < 0) {
			cli_error(o->name, "cannot find reader %d's pages: %s", r, strerror(-ret));
			return;
		}
		char cpus[256] = "", rings[512], buffers[512];
		for (int i = 0, used = 0; i < m.plan->ncpus && used < (int)sizeof(cpus); i++)
			used += snprintf(cpus + used, sizeof(cpus) - (size_t)used, "%s%d", i ? "," : "",
					 m.plan->cpus[i]);
		format_nodes(m.ring_node, rings, sizeof(rings));
		format_nodes(m.buffer_node, buffers, sizeof(buffers));
		fprintf(stderr, "pmuprof %s: reader %d node %d cpus %s: rings %zu pages:%s; "
				"buffers %zu pages:%s\n",
			o->name, r, m.plan->node, cpus, m.ring_pages, rings, m.buffer_pages, buffers);
	}
}

/* Comments, times and the main mapping, then the pprof itself; also for a --control snapshot. */
static int write_profile(const struct record_opts *o, struct cli_pipeline *p, int64_t start_real,
			 double start, size_t *written)
{
	char err[BASE_ERR_MAX], line[512];
	struct pprof *prof = agg_profile(p->agg);
	const char *exe = proc_exe(p->procs, p->workload);
	if (exe && pprof_find_mapping(prof, exe))
		pprof_set_main_mapping(prof, pprof_find_mapping(prof, exe));
	/* The profile's duration is the sampling window; what came after is said apart. */
	uint64_t window = smp_window_ns(p->session);
	pprof_set_time(prof, start_real, (int64_t)window);
	pprof_clear_comments(prof);
	add_comments(prof, o, p);
	if (smp_window_over(p->session)) {
		snprintf(line, sizeof(line), "sampling window %.3f s; processing after it %.0f ms",
			 (double)window / 1e9, (cli_mono_s() - start - (double)window / 1e9) * 1e3);
		pprof_add_comment(prof, line);
	}
	if (agg_unwind_summary(p->agg, line, sizeof(line)) > 0)
		pprof_add_comment(prof, line);
	if (agg_symbolize_summary(p->agg, line, sizeof(line)) > 0)
		pprof_add_comment(prof, line);
	if (eng_skipped_summary(p->eng, line, sizeof(line)) > 0)
		pprof_add_comment(prof, line);
	if (lbl_summary(agg_labels(p->agg), line, sizeof(line)) > 0)
		pprof_add_comment(prof, line);
	if (pprof_write_output(prof, o->out, written, err, sizeof(err)) < 0) {
		cli_error(o->name, "%s", err);
		return -1;
	}
	return 0;
}

/*
 * Commands read per pass of the main loop: a writer that never stops still
 * leaves the loop time to drain the rings and to see a stop.
 */
#define CONTROL_BUDGET 256

/*
 * Executes the control commands waiting on the fifo; returns the last one
 * seen. Snapshots asked in one pass are one profile, acked once written;
 * a stop in the same pass supersedes them (the final profile follows).
 */
static enum cli_control_cmd handle_control(struct cli_control *c, const struct record_opts *o,
					   struct cli_pipeline *p, int64_t start_real, double start)
{
	enum cli_control_cmd cmd, last = CLI_CTL_NONE;
	unsigned snapshots = 0;
	for (int n = 0; n < CONTROL_BUDGET && (cmd = cli_control_poll(c)) != CLI_CTL_NONE; n++) {
		last = cmd;
		switch (cmd) {
		case CLI_CTL_ENABLE: smp_enable(p->session); break;
		case CLI_CTL_DISABLE: smp_disable(p->session); break;
		case CLI_CTL_SNAPSHOT:
			snapshots++;
			continue; /* acked below */
		case CLI_CTL_UNKNOWN:
			cli_error(o->name, "--control: unknown command '%s' (enable, disable, "
					    "snapshot, stop, ping)", c->last);
			break;
		default:
			break;
		}
		cli_control_ack(c);
		if (cmd == CLI_CTL_STOP)
			break;
	}
	if (snapshots && last != CLI_CTL_STOP && base_output_in_place(o->out)) {
		/* A stream takes one profile: a second would follow the first in it. */
		cli_error(o->name, "--control snapshot: -o %s is a stream, which takes only the "
				   "final profile; record to a file for snapshots", o->output);
	} else if (snapshots && last != CLI_CTL_STOP) {
		/* The profile so far, replacing the last; recording goes on. */
		cli_pipeline_catch_up(p);
		write_profile(o, p, start_real, start, NULL);
	}
	for (; snapshots; snapshots--)
		cli_control_ack(c);
	return last;
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o = {.name = argv[0], .output = DEFAULT_OUTPUT, .ring_pages = 512, .symbolize = true,
				.argc = argc, .argv = argv};
	int ret = parse_args(argc, argv, &o);
	if (ret != 0) {
		free(o.events);
		return ret < 0 ? 0 : ret;
	}
	/* libdw would fetch missing debug info over the network: never while profiling. */
	unsetenv("DEBUGINFOD_URLS");
	char err[BASE_ERR_MAX];
	struct cli_pipeline p = {0};
	struct cli_child child = {.pid = -1, .go_fd = -1, .err_fd = -1};
	struct cli_control control = {.ctl_fd = -1, .ack_fd = -1};
	struct cli_labels labels = {.child_fd = -1};
	int status = 1;

	/* Outputs first: a path that cannot be written fails now, not after the workload. */
	struct base_output_opts pprof_opts = {
		.mode = 0644, .what = "profile", .flag = "-o",
		.flags = o.output_given ? 0 : BASE_OUTPUT_KEEP_OLD};
	struct base_output_opts otlp_opts = {.mode = 0644, .what = "OTLP file", .flag = "--otlp"};
	if (base_output_open(&o.out, o.output, &pprof_opts, err, sizeof(err)) < 0 ||
	    (o.otlp_file && base_output_open(&o.otlp_out, o.otlp_file, &otlp_opts, err,
					     sizeof(err)) < 0)) {
		cli_error(o.name, "%s", err);
		goto out;
	}
	/* An output owns standard output: the command writes its own to standard error. */
	child.stdout_to_stderr = strcmp(o.output, "-") == 0 ||
				 (o.otlp_file && strcmp(o.otlp_file, "-") == 0) ||
				 (o.perf_data && strcmp(o.perf_data, "-") == 0);

	if (o.control && cli_control_open(&control, o.control, err, sizeof(err)) < 0) {
		cli_error(o.name, "%s", err);
		status = 2;
		goto out;
	}
	/* The workload finds the control fifos (for libpmuprof) in its environment. */
	if (o.control)
		setenv("PMUPROF_CONTROL_FIFO", control.paths, 1);
	if (*o.cmd && !o.no_labels)
		cli_labels_open(&labels, o.name);
	int prep = *o.cmd ? cli_child_prepare(&child, o.cmd, err, sizeof(err)) : 0;
	unsetenv("PMUPROF_CONTROL_FIFO");
	cli_labels_forked(&labels);
	if (prep < 0) {
		cli_error(o.name, "%s", err);
		goto out;
	}
	struct cli_pipeline_opts po = {
		.cmd = o.name, .events = o.events, .default_events = DEFAULT_EVENTS,
		.fallback_events = FALLBACK_EVENTS, .period = o.period,
		.freq = o.freq ? o.freq : DEFAULT_FREQ, .rate_given = o.period || o.freq,
		.callchain = o.callchain,
		.stack_dump = o.stack_dump, .cpus = o.cpus, .pids = o.pids, .tid = o.tid,
		.child = child.pid > 0 ? &child : NULL, .cpu_wide = o.system_wide || o.cpus,
		.ring_pages = o.ring_pages, .buffer_bytes = o.buffer_bytes,
		.readers = o.readers, .symbolize = o.symbolize, .start_disabled = o.delay_ms != 0,
		.perf_data = o.perf_data, .argc = argc, .argv = argv,
		.mem = o.mem, .ldlat = (uint32_t)o.ldlat,
		.stop_after_ns = (uint64_t)(o.duration * 1e9), .defer = o.stack_dump != 0,
	};
	if ((status = cli_pipeline_open(&p, &po)) != 0)
		goto out;
	struct base_output *outs[] = {o.out, o.otlp_out, pabi_pdw_output(p.pdw)};
	if (cli_outputs_ready(o.name, outs, 3, NULL) < 0) {
		status = 2;
		goto out;
	}
	agg_set_labels(p.agg, labels.tl);
	status = 1;

	cli_signals_install(child.pid);
	int64_t start_real = cli_realtime_ns();
	double start = cli_mono_s();
	if (smp_start(p.session, err, sizeof(err)) < 0) {
		cli_error(o.name, "%s", err);
		goto out;
	}
	status = 0;
	if (child.pid > 0) {
		int e = cli_child_go(&child);
		if (e < 0) {
			cli_error(o.name, "cannot run '%s': %s; check the command name and PATH",
				  o.cmd[0], strerror(-e));
			cli_child_abandon(&child);
			status = e == -ENOENT ? 127 : 126;
			goto out;
		}
	}
	/* Pump the merger until the workload ends, a signal, or the duration. */
	int pidfd = child.pid > 0 ? cli_pidfd(child.pid) : -1; /* wakes the loop as the child ends */
	/*
	 * A signal (already forwarded), the end of --duration or a --control
	 * stop ends the recording: the command is asked to stop too, and its
	 * exit status is ours if it stops within SIGNAL_GRACE_S.
	 */
	double stopping = 0;
	bool stop_asked = false;
	struct cli_status status_line;
	cli_status_init(&status_line, o.name);
	char stop_why[64] = "";
	int status_if_left = 0;
	for (;;) {
		if (child.pid > 0 && cli_child_poll(child.pid, &status) != 0) {
			child.pid = -1;
			break;
		}
		int sig = cli_signals_pending();
		bool over = o.duration > 0 && smp_window_over(p.session);
		if ((sig || over || stop_asked) && child.pid <= 0)
			break;
		if ((sig || over || stop_asked) && !stopping) {
			int send = sig ? 0 : over ? SIGINT : SIGTERM;
			if (send)
				kill(child.pid, send);
			snprintf(stop_why, sizeof(stop_why), "SIG%s%s", sigabbrev_np(sig ? sig : send),
				 sig ? "" : over ? " at the end of --duration" : " for --control stop");
			status_if_left = sig ? 128 + sig : over ? 0 : 128 + SIGTERM;
			stopping = cli_mono_s();
		}
		/* As perf: a command that outlives the request keeps running, unrecorded. */
		if (stopping && cli_mono_s() - stopping >= SIGNAL_GRACE_S) {
			cli_status_clear(&status_line);
			fprintf(stderr, "pmuprof %s: '%s' (pid %d) is still running %.1f s after %s; "
					"recording stopped, leaving it running\n",
				o.name, o.cmd[0], (int)child.pid, SIGNAL_GRACE_S, stop_why);
			status = status_if_left;
			child.pid = -1; /* not waited for */
			break;
		}
		if (o.pids && !cli_any_alive(o.pids))
			break;
		if (o.delay_ms > 0 && (cli_mono_s() - start) * 1e3 >= (double)o.delay_ms) {
			smp_enable(p.session);
			o.delay_ms = 0;
		}
		if (handle_control(&control, &o, &p, start_real, start) == CLI_CTL_STOP)
			stop_asked = true; /* as perf: the session ends, so does the workload */
		if (cli_pipeline_pump(&p) < 0)
			break;
		cli_status_update(&status_line, p.session);
		cli_nap(pidfd, cli_pipeline_behind(&p) ? 0 : 50);
	}
	cli_status_clear(&status_line);
	if (pidfd >= 0)
		close(pidfd);
	double ended = cli_mono_s();
	cli_pipeline_stop(&p);
	if (cli_pipeline_pump(&p) < 0) {
		cli_error(o.name, "processing samples failed: %s", strerror(-p.error));
		status = status ? status : 1;
	}
	/* perf.data first: on a full disk its temporary file goes before the pprof is written. */
	uint64_t perf_data_bytes = 0;
	if (cli_pipeline_finish_perf_data(&p, &perf_data_bytes) < 0)
		status = status ? status : 1;
	size_t written = 0;
	if (write_profile(&o, &p, start_real, start, &written) < 0) {
		status = status ? status : 1;
		goto out;
	}
	struct pprof *prof = agg_profile(p.agg);
	if ((o.otlp_file || o.otlp_endpoint) && write_otlp(&o, &p, prof) < 0)
		status = status ? status : 1;
	print_summary(&o, &p, written, perf_data_bytes, cli_mono_s() - ended);
	if (o.verbose)
		print_readers(&o, p.session);

out:
	cli_child_abandon(&child);
	cli_control_close(&control);
	cli_pipeline_close(&p);
	cli_labels_close(&labels, o.name);
	base_output_close(o.otlp_out);
	base_output_close(o.out);
	free(o.events);
	return status;
}
