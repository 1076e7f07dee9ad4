/*
 * pmuprof agent: continuous profiling. The record pipeline runs without
 * end; every --interval (with jitter, so a fleet does not export in step)
 * the aggregation is cut, exported as OTLP (and/or written to directories)
 * and reset. Memory stays bounded: the profile is reset each window, the
 * process model forgets exited processes, the binaries' symbol and unwind
 * tables keep to one byte budget (--symbol-cache), and unwind caches are LRU.
 * OTLP/HTTP delivery runs on its own thread (otlp_queue), so windows are
 * cut on time whatever the collector does.
 * SIGINT/SIGTERM export the last window and exit; SIGHUP reopens the log.
 */
#include "cli.h"
#include "engine.h"
#include "otlp.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AGENT_DEFAULT_EVENTS "cycles,cache-misses,branch-misses"
#define AGENT_FALLBACK_EVENTS "cpu-clock"
#define AGENT_DEFAULT_FREQ 19 /* per event and CPU, as low-overhead continuous profilers use */
/*
 * The symbol cache's budget, MiB: the kernel's table (~6 MiB), libc with its
 * debug info (~14 MiB open) and the hot parts of a few more modules.
 */
#define AGENT_DEFAULT_SYMBOL_CACHE_MIB 32
/*
 * Windows waiting for the export thread: a collector that takes more than
 * a few intervals per window is down for all practical purposes, and the
 * spool, bounded in bytes, takes the rest.
 */
#define AGENT_EXPORT_QUEUE 4

struct agent_opts {
	char *events;
	uint64_t period, freq;
	bool callchain;
	const char *cpus, *pids;
	double interval, duration;
	double retry_budget; /* --otlp-retry-budget, seconds; 0: the default */
	const char *endpoint, *spool, *otlp_dir, *pprof_dir, *log_path, *readers;
	bool payload, symbolize;
	size_t ring_pages;
	size_t symbol_cache_mib; /* 0: no bound */
};

struct agent {
	struct agent_opts o;
	struct cli_pipeline p;
	struct otlp_http *http;
	struct otlp_queue *queue;
	double grace; /* s: at exit, how long the queue may still deliver (the OTLP timeout) */
	unsigned not_encoded; /* windows lost before reaching the queue */
	FILE *log;
	unsigned window;
	int64_t window_start_real;
	double window_start;
	uint64_t *last_lost, *last_throttles; /* per event, for per-window deltas */
};

static void agent_usage(FILE *out)
{
	fprintf(out,
		"usage: pmuprof agent [-e EVENTS] [-F HZ | -c PERIOD] [-g] [-a | -C CPUS | -p "
		"PIDS]\n"
		"                     [--interval S] [--otlp-endpoint URL] [--spool DIR]\n"
		"                     [--otlp-dir DIR] [--pprof-dir DIR] [--otlp-payload] [--log "
		"FILE]\n"
		"                     [--duration S] [-m PAGES] [--readers MODE] [--no-symbolize]\n"
		"                     [--otlp-retry-budget S] [--symbol-cache MIB]\n"
		"  continuous profiling: every --interval seconds (default 10, +-10%% jitter) the\n"
		"  profile is exported and reset. Sinks: --otlp-endpoint (or\n"
		"  OTEL_EXPORTER_OTLP_ENDPOINT), --otlp-dir and/or --pprof-dir (one file per "
		"window).\n"
		"  The --spool folder and --log's folder must be yours (or root's) and writable "
		"by\n"
		"  nobody else; --log must not be a symbolic link. Exit status 1 when a window\n"
		"  was lost (neither delivered nor spooled).\n"
		"  Default: every CPU (-a), %s at %d Hz per event.\n"
		"  --symbol-cache bounds what is kept of binaries (symbol tables, debug info,\n"
		"  memos, .debug_frame copies) to MIB mebibytes, least recently used dropped\n"
		"  first (default %d; 0: no bound).\n",
		AGENT_DEFAULT_EVENTS, AGENT_DEFAULT_FREQ, AGENT_DEFAULT_SYMBOL_CACHE_MIB);
}

static int parse_args(int argc, char **argv, struct agent_opts *o)
{
	enum {
		OPT_INTERVAL = 256, OPT_ENDPOINT, OPT_SPOOL, OPT_OTLP_DIR, OPT_PPROF_DIR, OPT_PAYLOAD,
		OPT_LOG, OPT_DURATION, OPT_READERS, OPT_NO_SYMBOLIZE, OPT_RETRY_BUDGET, OPT_SYMBOL_CACHE,
	};
	static const struct option longopts[] = {
		{"event", required_argument, NULL, 'e'},
		{"freq", required_argument, NULL, 'F'},
		{"count", required_argument, NULL, 'c'},
		{"all-cpus", no_argument, NULL, 'a'},
		{"cpu", required_argument, NULL, 'C'},
		{"pid", required_argument, NULL, 'p'},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"otlp-endpoint", required_argument, NULL, OPT_ENDPOINT},
		{"spool", required_argument, NULL, OPT_SPOOL},
		{"otlp-dir", required_argument, NULL, OPT_OTLP_DIR},
		{"pprof-dir", required_argument, NULL, OPT_PPROF_DIR},
		{"otlp-payload", no_argument, NULL, OPT_PAYLOAD},
		{"log", required_argument, NULL, OPT_LOG},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"mmap-pages", required_argument, NULL, 'm'},
		{"readers", required_argument, NULL, OPT_READERS},
		{"no-symbolize", no_argument, NULL, OPT_NO_SYMBOLIZE},
		{"otlp-retry-budget", required_argument, NULL, OPT_RETRY_BUDGET},
		{"symbol-cache", required_argument, NULL, OPT_SYMBOL_CACHE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "e:F:c:gaC:p:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (cli_append_events(&o->events, optarg) < 0)
				return cli_error("agent", "out of memory"), 1;
			break;
		case 'F':
		case 'c':
		case 'm': {
			unsigned long long v = strtoull(optarg, &end, 0);
			if (*end || v == 0 || *optarg == '-')
				return cli_error("agent", "-%c needs a positive number, not '%s'", c,
						 optarg),
				       2;
			if (c == 'F')
				o->freq = v;
			else if (c == 'c')
				o->period = v;
			else if (v & (v - 1))
				return cli_error("agent", "-m needs a power of two, not %s", optarg), 2;
			else
				o->ring_pages = (size_t)v;
			break;
		}
		case 'g': o->callchain = true; break;
		case 'a': break; /* the default */
		case 'C': o->cpus = optarg; break;
		case 'p': o->pids = optarg; break;
		case OPT_INTERVAL:
			if (cli_parse_seconds("agent", "--interval", optarg, &o->interval) < 0)
				return 2;
			break;
		case OPT_DURATION:
			if (cli_parse_seconds("agent", "--duration", optarg, &o->duration) < 0)
				return 2;
			break;
		case OPT_RETRY_BUDGET:
			if (cli_parse_seconds("agent", "--otlp-retry-budget", optarg, &o->retry_budget) < 0)
				return 2;
			break;
		case OPT_ENDPOINT: o->endpoint = optarg; break;
		case OPT_SPOOL: o->spool = optarg; break;
		case OPT_OTLP_DIR: o->otlp_dir = optarg; break;
		case OPT_PPROF_DIR: o->pprof_dir = optarg; break;
		case OPT_PAYLOAD: o->payload = true; break;
		case OPT_LOG: o->log_path = optarg; break;
		case OPT_READERS: o->readers = optarg; break;
		case OPT_NO_SYMBOLIZE: o->symbolize = false; break;
		case OPT_SYMBOL_CACHE: {
			unsigned long long v = strtoull(optarg, &end, 10);
			/* Past 1 TiB is a typo, and MiB << 20 must fit size_t. */
			if (*end || *optarg == '-' || *optarg == '\0' || v > (1ull << 20))
				return cli_error("agent", "--symbol-cache needs mebibytes (0: no bound), "
							  "not '%s'", optarg),
				       2;
			o->symbol_cache_mib = (size_t)v;
			break;
		}
		case 'h': agent_usage(stdout); return -1;
		default:
			cli_option_error("agent", argv, "eFcCpm");
			return 2;
		}
	}
	if (optind < argc)
		return cli_error("agent", "unexpected argument '%s'; the agent profiles CPUs (-a, "
					  "-C) or processes (-p), not a command",
				 argv[optind]),
		       2;
	if (o->period && o->freq)
		return cli_error("agent", "-c and -F are alternatives; choose one"), 2;
	if (o->pids && o->cpus)
		return cli_error("agent", "-p cannot be combined with -C; choose one target"), 2;
	bool env_endpoint = getenv("OTEL_EXPORTER_OTLP_ENDPOINT") ||
			    getenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT");
	if (!o->endpoint && !env_endpoint && !o->otlp_dir && !o->pprof_dir)
		return cli_error("agent", "nowhere to export: give --otlp-endpoint URL (or set "
					  "OTEL_EXPORTER_OTLP_ENDPOINT), --otlp-dir DIR or --pprof-dir DIR"),
		       2;
	return 0;
}

/* interval x [0.9, 1.1): instances started together drift apart. */
static double jittered(double interval)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)cli_realtime_ns();
	return interval * (0.9 + 0.2 * ((double)r / 4294967296.0));
}

/*
 * Opens --log, or reopens it after a rotation (SIGHUP): the new file takes
 * the old one's descriptor, so the FILE the export thread writes to stays
 * valid.
 */
static int open_log(struct agent *a)
{
	char err[512];
	if (!a->o.log_path) {
		a->log = stderr;
		return 0;
	}
	int fd = base_open_log(a->o.log_path, err, sizeof(err));
	if (fd < 0) {
		if (a->log) { /* a rotation: keep logging to the old file */
			fprintf(a->log, "pmuprof agent: cannot reopen the log: %s\n", err);
			return fd;
		}
		cli_error("agent", "%s", err);
		return fd;
	}
	if (a->log) {
		int rc = dup3(fd, fileno(a->log), O_CLOEXEC) < 0 ? -errno : 0;
		close(fd);
		return rc;
	}
	FILE *f = fdopen(fd, "a");
	if (!f) {
		cli_error("agent", "cannot open log '%s': %s", a->o.log_path, strerror(errno));
		close(fd);
		return -ENOMEM;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	a->log = f;
	return 0;
}

/* A window's file in DIR: <window start, ns>-<window number>.<ext>, sortable by time. */
static void window_path(char *buf, size_t len, const char *dir, int64_t start_ns, unsigned n,
			const char *ext)
{
	snprintf(buf, len, "%s/%020lld-%06u.%s", dir, (long long)start_ns, n, ext);
}

/* The window's comments; returns the records lost in it. */
static uint64_t window_comments(struct agent *a, struct pprof *prof)
{
	char head[64];
	snprintf(head, sizeof(head), "pmuprof %s agent window %u", PMUPROF_VERSION, a->window);
	size_t n = a->p.evs.n;
	uint64_t lost = 0;
	struct pprof_event_counts *ev = calloc(n ? n : 1, sizeof(*ev));
	for (size_t i = 0; ev && i < n; i++) {
		const struct eng_event *st = eng_event(a->p.eng, i);
		ev[i] = (struct pprof_event_counts){st->name, agg_samples(a->p.agg, (int)i),
						    st->lost - a->last_lost[i],
						    st->throttles - a->last_throttles[i]};
		lost += st->lost - a->last_lost[i];
		a->last_lost[i] = st->lost;
		a->last_throttles[i] = st->throttles;
	}
	struct pprof_run_comments c = {.head = head, .ev = ev, .nev = ev ? n : 0};
	if (!ev || pprof_add_run_comments(prof, &c) < 0)
		fprintf(a->log, "pmuprof agent: window %u: out of memory: the profile's comments "
			"are incomplete\n", a->window);
	free(ev);
	return lost;
}

/* Cuts the window: exports it to every sink, logs one line, resets. */
static int export_window(struct agent *a)
{
	char err[512];
	struct pprof *prof = agg_profile(a->p.agg);
	double now = cli_mono_s();
	pprof_set_time(prof, a->window_start_real, (int64_t)((now - a->window_start) * 1e9));
	uint64_t lost = window_comments(a, prof);
	size_t samples = 0;
	for (size_t i = 0; i < a->p.evs.n; i++)
		samples += agg_samples(a->p.agg, (int)i);
	size_t distinct = pprof_nsamples(prof);
	int ret = 0;
	char path[4096];
	if (a->o.pprof_dir) {
		window_path(path, sizeof(path), a->o.pprof_dir, a->window_start_real, a->window, "pb.gz");
		if (pprof_write(prof, path, NULL, err, sizeof(err)) < 0) {
			fprintf(a->log, "pmuprof agent: window %u: %s\n", a->window, err);
			ret = -EIO;
		}
	}
	uint8_t *req = NULL;
	size_t len = 0;
	if (a->queue || a->o.otlp_dir) {
		struct cli_otlp_ctx c = {.procs = a->p.procs, .workload = -1};
		if (cli_otlp_encode(&c, prof, a->o.payload, &req, &len, err, sizeof(err)) < 0) {
			fprintf(a->log, "pmuprof agent: window %u: %s\n", a->window, err);
			if (a->queue)
				a->not_encoded++;
			ret = -EIO;
		}
	}
	if (req && a->o.otlp_dir) {
		window_path(path, sizeof(path), a->o.otlp_dir, a->window_start_real, a->window, "otlp");
		if (otlp_write_file(path, req, len, err, sizeof(err)) < 0) {
			fprintf(a->log, "pmuprof agent: window %u: %s\n", a->window, err);
			ret = -EIO;
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	char line[1024];
	int n = snprintf(line, sizeof(line),
			 "pmuprof agent: window %u: %.2f s, %zu samples (%zu distinct stacks), "
			 "%llu lost records, %zu processes, %zu bytes otlp, rss %ld KiB, symbol "
			 "cache %zu KiB",
			 a->window, now - a->window_start, samples, distinct, (unsigned long long)lost,
			 proc_model_size(a->p.procs), len, ru.ru_maxrss,
			 sym_cache_bytes(agg_symbols(a->p.agg)) >> 10);
	if (req && a->queue && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, "; export queued");
	fprintf(a->log, "%s\n", line); /* one call: the export thread's lines do not interleave */
	fflush(a->log);
	if (req && a->queue) {
		/* the queue takes req: the window's start orders it in the spool */
		otlp_queue_push(a->queue, req, len, a->window_start_real, a->window);
		req = NULL;
	}
	free(req);

	/* The next window: an empty profile, exited processes forgotten. */
	if (agg_reset(a->p.agg, err, sizeof(err)) < 0) {
		fprintf(a->log, "pmuprof agent: cannot start window %u: %s\n", a->window + 1, err);
		return -ENOMEM;
	}
	proc_model_forget_exited(a->p.procs);
#ifdef __GLIBC__
	/*
	 * What the window and evicted symbol modules freed stays in malloc's
	 * heaps (fragments of libdw's decompressed sections, of profiles): give
	 * the free pages back so RSS follows what is held, not the peak.
	 */
	malloc_trim(0);
#endif
	a->window++;
	a->window_start = now;
	a->window_start_real = cli_realtime_ns();
	return ret;
}

static int make_dir(const char *dir)
{
	if (!dir || mkdir(dir, 0755) == 0 || errno == EEXIST)
		return 0;
	cli_error("agent", "cannot create '%s': %s", dir, strerror(errno));
	return -errno;
}

int cmd_agent(int argc, char **argv)
{
	struct agent a = {.o = {.interval = 10.0, .symbolize = true, .ring_pages = 128,
				.symbol_cache_mib = AGENT_DEFAULT_SYMBOL_CACHE_MIB}};
	int ret = parse_args(argc, argv, &a.o);
	if (ret != 0) {
		free(a.o.events);
		return ret < 0 ? 0 : ret;
	}
	unsetenv("DEBUGINFOD_URLS"); /* never fetch debug info over the network while profiling */
#ifdef __GLIBC__
	/*
	 * A long-lived process whose symbol cache drops and reads modules: blocks
	 * past 256 KiB (libdw's decompressed debug sections, symbol tables) come
	 * from mmap and go back whole when freed, rather than glibc raising its
	 * threshold to the largest block freed and keeping them in the heap.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
	int status = 1;
	char err[512];
	if (open_log(&a) < 0 || make_dir(a.o.otlp_dir) < 0 || make_dir(a.o.pprof_dir) < 0)
		goto out;
	if (a.o.endpoint || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") ||
	    getenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT")) {
		struct otlp_http_config cfg;
		if (otlp_http_config_from_env(&cfg, a.o.endpoint, a.o.spool, err, sizeof(err)) < 0) {
			cli_error("agent", "%s", err);
			status = 2;
			goto out;
		}
		snprintf(cfg.user_agent, sizeof(cfg.user_agent), "pmuprof/%s", PMUPROF_VERSION);
		cfg.log = a.log;
		if (a.o.retry_budget > 0)
			cfg.retry_budget_ms = (long)(a.o.retry_budget * 1e3);
		if (otlp_http_new(&a.http, &cfg, err, sizeof(err)) < 0 ||
		    otlp_queue_new(&a.queue, a.http, AGENT_EXPORT_QUEUE, a.log, err, sizeof(err)) < 0) {
			cli_error("agent", "%s", err);
			goto out;
		}
		a.grace = cfg.timeout_ms / 1e3;
	}
	struct cli_pipeline_opts po = {
		.cmd = "agent", .events = a.o.events, .default_events = AGENT_DEFAULT_EVENTS,
		.fallback_events = AGENT_FALLBACK_EVENTS, .period = a.o.period,
		.freq = a.o.freq ? a.o.freq : AGENT_DEFAULT_FREQ,
		.rate_given = a.o.period || a.o.freq, .callchain = a.o.callchain,
		.cpus = a.o.cpus, .pids = a.o.pids, .ring_pages = a.o.ring_pages,
		.readers = a.o.readers, .symbolize = a.o.symbolize,
		.symbol_cache_bytes = a.o.symbol_cache_mib << 20,
	};
	if ((status = cli_pipeline_open(&a.p, &po)) != 0)
		goto out;
	status = 1;
	a.last_lost = calloc(a.p.evs.n, sizeof(uint64_t));
	a.last_throttles = calloc(a.p.evs.n, sizeof(uint64_t));
	if (!a.last_lost || !a.last_throttles) {
		cli_error("agent", "out of memory");
		goto out;
	}
	cli_signals_install(-1);
	if (smp_start(a.p.session, err, sizeof(err)) < 0) {
		cli_error("agent", "%s", err);
		goto out;
	}
	double started = cli_mono_s();
	a.window_start = started;
	a.window_start_real = cli_realtime_ns();
	double next_cut = started + jittered(a.o.interval);
	fprintf(a.log, "pmuprof agent: started: %zu event(s) on %d CPU(s), interval %.1f s\n",
		a.p.evs.n, a.p.ncpus, a.o.interval);
	fflush(a.log);
	status = 0;
	struct cli_status status_line;
	cli_status_init(&status_line, "agent");
	for (;;) {
		int sig = cli_signals_take();
		if (sig == SIGHUP) {
			open_log(&a); /* log rotation: keep going */
		} else if (sig) {
			cli_status_clear(&status_line);
			fprintf(a.log, "pmuprof agent: %s: exporting the last window\n", strsignal(sig));
			break;
		}
		double now = cli_mono_s();
		if (a.o.duration > 0 && now - started >= a.o.duration)
			break;
		if (a.o.pids && !cli_any_alive(a.o.pids)) {
			cli_status_clear(&status_line);
			fprintf(a.log, "pmuprof agent: the profiled processes exited\n");
			break;
		}
		if (cli_pipeline_pump(&a.p) < 0) {
			cli_status_clear(&status_line);
			fprintf(a.log, "pmuprof agent: processing samples failed: %s\n",
				strerror(-a.p.error));
			status = 1;
			break;
		}
		if (now >= next_cut) {
			cli_status_clear(&status_line); /* the window's log line may go to this terminal */
			export_window(&a);
			next_cut += jittered(a.o.interval);
			if (next_cut < now)
				next_cut = now + jittered(a.o.interval); /* a slow cut: do not pile up */
		}
		/* 100 ms between pumps, and the cut on time rather than up to a nap late */
		double nap_s = next_cut - cli_mono_s();
		nap_s = nap_s < 0.001 ? 0.001 : nap_s > 0.1 ? 0.1 : nap_s;
		if (cli_pipeline_behind(&a.p))
			nap_s = 0; /* a backlog: catch up first */
		cli_status_update(&status_line, a.p.session);
		struct timespec nap = {0, (long)(nap_s * 1e9)};
		nanosleep(&nap, NULL);
	}
	cli_status_clear(&status_line);
	cli_pipeline_stop(&a.p);
	cli_pipeline_pump(&a.p);
	if (export_window(&a) < 0 && status == 0)
		status = 1;
	if (a.queue) {
		struct otlp_queue_stats st;
		otlp_queue_close(a.queue, a.grace, &st);
		a.queue = NULL;
		size_t files;
		uint64_t bytes;
		otlp_http_spool_usage(a.http, &files, &bytes);
		if (files)
			fprintf(a.log, "pmuprof agent: %zu request(s), %llu bytes wait in the spool for "
				       "the endpoint\n", files, (unsigned long long)bytes);
		unsigned lost = st.lost + a.not_encoded;
		/* the last line: what became of every window, and whether any was lost */
		fprintf(a.log,
			"pmuprof agent: %u windows: %u delivered, %u spooled, %u rejected by the "
			"endpoint, %u lost (neither delivered nor spooled); %u resends\n",
			a.window, st.delivered, st.spooled, st.rejected, lost, st.resends);
		if (lost && status == 0)
			status = 1;
	}
out:
	if (a.queue) /* an exit before the loop: nothing queued */
		otlp_queue_close(a.queue, 0, NULL);
	cli_pipeline_close(&a.p);
	otlp_http_free(a.http);
	if (a.log && a.log != stderr)
		fclose(a.log);
	free(a.last_lost);
	free(a.last_throttles);
	free(a.o.events);
	return status;
}
