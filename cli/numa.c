/*
 * pmuprof numa record: page faults sampled with their data addresses through
 * record's pipeline, numa/ as the engine's tool (first touch, later faults,
 * data objects), each sampled page's node asked of the kernel before the
 * memory goes: a command is held at its exit (ptrace), -p/-a processes are
 * asked at the end while they still run. Writes the pprof and prints numa/'s
 * summary. pmuprof numa report: numa/'s report of that pprof, or of a perf mem
 * recording through import's path. This file parses flags, runs the child and
 * prints.
 */
#include "cli.h"
#include "numa.h"
#include "otlp.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "numa record"
#define DEFAULT_OUTPUT "pmuprof-numa.pb.gz"
/* How long a command may outlive the SIGINT at the end of --duration (as record). */
#define DURATION_GRACE_S 0.5
/* Objects the summary details; the profile has them all. */
#define SUMMARY_OBJECTS 10

struct numa_opts {
	const char *output;
	bool output_given;
	uint64_t period;
	const char *pids;
	bool system_wide;
	double duration;
	bool alloc; /* --alloc: name heap blocks by the code that allocated them */
	const char *otlp_file; /* --otlp: the same profile as an OTLP request */
	char **cmd;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pmuprof numa record [-o FILE] [-c N] [--duration S] (-p PID[,PID] | -a | "
		"-- CMD ...)\n"
		"  Samples page faults with their data addresses and call chains: each sampled\n"
		"  page's first touch (thread, node, function, data object), later faults (NUMA\n"
		"  balancing's hinting faults while it runs), and the node the page is on at the\n"
		"  end (move_pages). Prints a summary per data object; writes a pprof labelled\n"
		"  node, data_node, first_touch_node, object and access=local|remote.\n"
		"  -o, --output FILE   the pprof (default " DEFAULT_OUTPUT ")\n"
		"  -c, --count N       sample one fault in N (default every fault)\n"
		"  -p, --pid PID       processes that run now (their pages asked at the end)\n"
		"  -a, --all-cpus      every process\n"
		"      --duration S    stop after S seconds\n"
		"      --otlp FILE     also write the profile as an OTLP ExportProfilesServiceRequest\n"
		"      --alloc         name heap blocks by the code that allocated them: the command\n"
		"                      runs with libpmuprof_alloc.so preloaded (allocations from\n"
		"                      PMUPROF_ALLOC_MIN bytes, default 65536, and about one per\n"
		"                      PMUPROF_ALLOC_SAMPLE bytes of smaller ones, default 524288)\n");
}

static int parse_args(int argc, char **argv, struct numa_opts *o)
{
	enum { OPT_DURATION = 256, OPT_ALLOC, OPT_OTLP };
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"count", required_argument, NULL, 'c'},
		{"pid", required_argument, NULL, 'p'},
		{"all-cpus", no_argument, NULL, 'a'},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"alloc", no_argument, NULL, OPT_ALLOC},
		{"otlp", required_argument, NULL, OPT_OTLP},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:c:p:ah", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			o->output_given = true;
			break;
		case 'c':
			errno = 0;
			o->period = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || o->period == 0 || optarg[0] == '-')
				return cli_error(CMD,
						 "-c needs a positive count of faults (one "
						 "sampled in N), not '%s'",
						 optarg),
				       2;
			break;
		case 'p':
			o->pids = optarg;
			break;
		case 'a':
			o->system_wide = true;
			break;
		case OPT_ALLOC:
			o->alloc = true;
			break;
		case OPT_OTLP:
			o->otlp_file = optarg;
			break;
		case OPT_DURATION:
			if (cli_parse_seconds(CMD, "--duration", optarg, &o->duration) < 0)
				return 2;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			cli_option_error(CMD, argv, "ocp");
			return 2;
		}
	}
	o->cmd = argv + optind;
	int targets = !!o->pids + o->system_wide + !!*o->cmd;
	if (targets == 0)
		return cli_error(CMD, "nothing to record: give a command (pmuprof numa record -- "
				      "CMD), -p PID or -a"),
		       2;
	if (targets > 1)
		return cli_error(CMD, "choose one target: a command, -p PID or -a"), 2;
	if (o->pids) {
		/* A malformed list is a usage error; a process that is gone fails the run later. */
		char err[BASE_ERR_MAX];
		pid_t *tids = NULL;
		int n;
		int rc = cli_resolve_threads(o->pids, false, &tids, &n, err, sizeof(err));
		free(tids);
		if (rc == -EINVAL)
			return cli_error(CMD, "%s", err), 2;
	}
	if (o->alloc && !*o->cmd)
		return cli_error(CMD, "--alloc preloads a library into the command it runs: give a "
				      "command (-- CMD), not -p or -a"),
		       2;
	return 0;
}

struct numa_cmd {
	struct cli_pipeline p;
	struct numa_run *run;
	struct numa_kernel *kernel; /* the NUMA tracepoints' hits and /proc/vmstat */
	struct topo_phys_map *phys; /* the node of a migrated page's new frame, or NULL */
	bool queried; /* the command's pages were asked at its exit */
	int query_err;
};

static int on_sample(void *arg, const struct eng_event *ev, const struct pabi_sample *s)
{
	struct numa_cmd *n = arg;
	/* The NUMA tracepoints sample ADDR too (every event does here): they are no page fault. */
	if (ev->attr.type == PERF_TYPE_TRACEPOINT)
		return numa_kernel_sample(n->kernel, ev, s);
	return numa_sample(n->run, ev, s);
}

static int node_of_cpu(const void *topo, int cpu)
{
	return topo_cpu_node(topo, cpu);
}

/* The command is exiting, its memory still there: every fault is in, then its pages are asked. */
static void at_exit(void *arg, pid_t pid)
{
	struct numa_cmd *n = arg;
	cli_pipeline_stop(&n->p);
	numa_kernel_window(n->kernel, true);
	cli_pipeline_pump(&n->p);
	n->query_err = numa_query(n->run, pid);
	n->queried = true;
}

static int write_profile(struct numa_cmd *n, struct base_output *out, int64_t start_real, int argc,
			 char **argv)
{
	char err[BASE_ERR_MAX];
	struct pprof *prof = agg_profile(n->p.agg);
	const char *exe = proc_exe(n->p.procs, n->p.workload);
	if (exe && pprof_find_mapping(prof, exe))
		pprof_set_main_mapping(prof, pprof_find_mapping(prof, exe));
	pprof_set_time(prof, start_real, (int64_t)smp_window_ns(n->p.session));
	/* argv is cmd_numa's from "record" on; the word before it is "numa": the whole command. */
	if (eng_add_run_comments(n->p.eng, prof, "pmuprof " PMUPROF_VERSION, argc + 1, argv - 1) < 0)
		cli_error(CMD, "out of memory: the profile's comments are incomplete");
	if (pprof_write_output(prof, out, NULL, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		return -1;
	}
	return 0;
}

/*
 * libpmuprof_alloc.so for --alloc: the build tree's when this pmuprof is the
 * build tree's, else the installed one; -ENOENT (err says where it looked).
 */
static int alloc_preload_path(const char **path, char *err, size_t errlen)
{
	char self[4096] = "";
	(void)base_proc_exe(0, self, sizeof(self));
	*path = strcmp(self, PMUPROF_BUILD_EXE) == 0 ? PMUPROF_ALLOC_PRELOAD_BUILD
						     : PMUPROF_ALLOC_PRELOAD_INSTALLED;
	if (access(*path, R_OK) == 0)
		return 0;
	return base_fail(err, errlen, -ENOENT,
			 "--alloc needs libpmuprof_alloc.so, not found at %s: install pmuprof "
			 "(cmake --install) or run the pmuprof of the build tree that built it",
			 *path);
}

/* LD_PRELOAD for the child: the allocation library first, the caller's after it. */
static int preload_env(const char *lib, char **saved, char *err, size_t errlen)
{
	const char *old = getenv("LD_PRELOAD");
	*saved = old ? strdup(old) : NULL;
	char *v = malloc(strlen(lib) + (old ? strlen(old) + 2 : 1));
	if (!v || (old && !*saved)) {
		free(v);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	sprintf(v, old && *old ? "%s:%s" : "%s", lib, old);
	int ret = setenv("LD_PRELOAD", v, 1) < 0 ? -errno : 0;
	free(v);
	return ret < 0 ? base_fail(err, errlen, ret, "cannot set LD_PRELOAD: %s", strerror(-ret))
		       : 0;
}

static void preload_restore(char *saved)
{
	if (saved)
		setenv("LD_PRELOAD", saved, 1);
	else
		unsetenv("LD_PRELOAD");
	free(saved);
}

/* The profile as an OTLP request (the same samples and labels), to --otlp's file. */
static int write_otlp(struct numa_cmd *n, struct base_output *out, char **cmd)
{
	char err[BASE_ERR_MAX];
	struct cli_otlp_ctx c = {.procs = n->p.procs, .workload = n->p.workload, .argv = cmd};
	uint8_t *req = NULL;
	size_t len = 0;
	int ret = cli_otlp_encode(&c, agg_profile(n->p.agg), false, &req, &len, err, sizeof(err));
	if (ret == 0)
		ret = otlp_write_output(out, req, len, err, sizeof(err));
	if (ret < 0)
		cli_error(CMD, "%s", err);
	free(req);
	return ret;
}

static int numa_record(int argc, char **argv)
{
	struct numa_opts o = {.output = DEFAULT_OUTPUT};
	int status = parse_args(argc, argv, &o);
	if (status != 0)
		return status < 0 ? 0 : status;
	unsetenv("DEBUGINFOD_URLS"); /* libdw would fetch debug info over the network */
	char err[BASE_ERR_MAX];
	struct numa_cmd n = {0};
	struct cli_child child = {.pid = -1, .go_fd = -1, .err_fd = -1};
	struct cli_labels labels = {.child_fd = -1};
	struct base_output *out = NULL, *otlp_out = NULL;
	status = 1;
	struct base_output_opts oo = {.mode = 0644,
				      .what = "profile",
				      .flag = "-o",
				      .flags = o.output_given ? 0 : BASE_OUTPUT_KEEP_OLD};
	struct base_output_opts otlp_oo = {.mode = 0644, .what = "OTLP file", .flag = "--otlp"};
	if (base_output_open(&out, o.output, &oo, err, sizeof(err)) < 0 ||
	    (o.otlp_file && base_output_open(&otlp_out, o.otlp_file, &otlp_oo, err, sizeof(err)) < 0)) {
		cli_error(CMD, "%s", err);
		goto out;
	}
	if (o.otlp_file && strcmp(o.otlp_file, o.output) == 0) {
		cli_error(CMD, "--otlp and -o name the same file '%s': give two", o.output);
		status = 2;
		goto out;
	}
	/* The pprof on standard output: the command and the summary write to standard error. */
	bool to_stdout = strcmp(o.output, "-") == 0 || (o.otlp_file && strcmp(o.otlp_file, "-") == 0);
	child.stdout_to_stderr = to_stdout;
	char *saved_preload = NULL;
	const char *lib = NULL;
	if (o.alloc) {
		if (alloc_preload_path(&lib, err, sizeof(err)) < 0 ||
		    preload_env(lib, &saved_preload, err, sizeof(err)) < 0) {
			cli_error(CMD, "%s", err);
			status = 2;
			goto out;
		}
		if (cli_labels_open(&labels, CMD) < 0) {
			preload_restore(saved_preload);
			status = 1;
			goto out;
		}
	}
	int prep = *o.cmd ? cli_child_prepare(&child, o.cmd, err, sizeof(err)) : 0;
	if (o.alloc) {
		preload_restore(saved_preload);
		cli_labels_forked(&labels);
	}
	if (prep < 0) {
		cli_error(CMD, "%s", err);
		goto out;
	}
	/* The NUMA tracepoints this kernel has, beside the page faults; without them, say why once. */
	char events[256] = "page-faults", tps[200], why[BASE_ERR_MAX];
	if (numa_kernel_events(tps, sizeof(tps), why, sizeof(why)) == 0 && tps[0])
		snprintf(events, sizeof(events), "page-faults,%s", tps);
	else
		fprintf(stderr, "pmuprof %s: no NUMA tracepoints (page migrations, task moves are "
				"counted from /proc/vmstat only): %s\n",
			CMD, why[0] ? why : "this kernel has none");
	struct eng_tool tool = {.arg = &n, .sample = on_sample};
	struct cli_pipeline_opts po = {
		.cmd = CMD,
		.events = events,
		.period = o.period ? o.period : 1,
		.callchain = true,
		.pids = o.pids,
		.child = child.pid > 0 ? &child : NULL,
		.cpu_wide = o.system_wide,
		.ring_pages = 512,
		.symbolize = true,
		.stop_after_ns = (uint64_t)(o.duration * 1e9),
		.argc = argc,
		.argv = argv,
		.sample_type_extra = PERF_SAMPLE_ADDR | PERF_SAMPLE_DATA_PAGE_SIZE,
		.mem_also = true,
		.tool = &tool,
		.tool_profiles = true,
	};
	if ((status = cli_pipeline_open(&n.p, &po)) != 0)
		goto out;
	struct base_output *outs[] = {out, otlp_out};
	status = 1;
	if (cli_outputs_ready(CMD, outs, otlp_out ? 2 : 1, NULL) < 0) {
		status = 2;
		goto out;
	}
	if (labels.tl)
		agg_set_labels(n.p.agg, labels.tl); /* the pipeline drains the channel before each merge */
	struct numa_options no = {
		.allocs = labels.tl,
		.procs = n.p.procs,
		.agg = n.p.agg,
		.ntypes = eng_ntypes(n.p.eng),
		.node_of_cpu = node_of_cpu,
		.node_ctx = n.p.topo,
		.nnodes = topo_nnodes(n.p.topo),
		.distance = topo_node_distance,
		.self = getpid(),
		.attached = o.pids || o.system_wide,
	};
	struct numa_kernel_options ko = {
		.procs = n.p.procs,
		.agg = n.p.agg,
		.ntypes = no.ntypes,
		.node_of_cpu = node_of_cpu,
		.node_ctx = n.p.topo,
		.self = no.self,
	};
	/* Without memory blocks in sysfs, a migrated page's node comes from the next query. */
	if (topo_phys_map_load(&n.phys, NULL, err, sizeof(err)) < 0)
		n.phys = NULL;
	ko.phys = no.phys = n.phys;
	int opened = numa_new(&n.run, &no, err, sizeof(err));
	ko.run = n.run;
	if (opened < 0 || numa_kernel_new(&n.kernel, &ko, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		goto out;
	}
	cli_signals_install(child.pid);
	int64_t start_real = cli_realtime_ns();
	numa_kernel_window(n.kernel, false);
	if (smp_start(n.p.session, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		goto out;
	}
	status = 0;
	if (child.pid > 0) {
		int e = cli_child_go_held(&child);
		if (e < 0) {
			cli_error(CMD, "cannot run '%s': %s; check the command name and PATH",
				  o.cmd[0], strerror(-e));
			cli_child_abandon(&child);
			status = e == -ENOENT ? 127 : 126;
			goto out;
		}
	}
	if (n.p.mem_notice[0])
		fprintf(stderr, "pmuprof %s: %s\n", CMD, n.p.mem_notice);
	int pidfd = child.pid > 0 ? cli_pidfd(child.pid) : -1;
	double stopping = 0;
	for (;;) {
		/* As record: at the end of --duration the command is asked to stop (SIGINT). */
		if (child.pid > 0 && !stopping && o.duration > 0 && smp_window_over(n.p.session)) {
			kill(child.pid, SIGINT);
			stopping = cli_mono_s();
		}
		if (child.pid > 0 && stopping && cli_mono_s() - stopping >= DURATION_GRACE_S) {
			/* It outlives the request: its pages are asked now, and it runs on, untraced. */
			at_exit(&n, child.pid);
			int u = cli_child_unhold(&child);
			fprintf(stderr, "pmuprof %s: '%s' (pid %d) is still running %.1f s after SIGINT at "
					"the end of --duration; its pages were asked then%s\n",
				CMD, o.cmd[0], (int)child.pid, DURATION_GRACE_S,
				u == 0 ? ", and it runs on" : "");
			child.pid = -1; /* not waited for */
			status = 0;
			break;
		}
		if (child.pid > 0) {
			int r = cli_child_poll_held(&child, at_exit, &n, &status);
			if (r < 0) { /* lost track of it: it runs on, untraced */
				cli_error(CMD, "cannot follow '%s': %s", o.cmd[0], strerror(-r));
				status = 1;
				child.pid = -1;
				break;
			}
			if (r > 0) {
				child.pid = -1;
				break;
			}
		} else if (cli_signals_pending() || (o.pids && !cli_any_alive(o.pids)) ||
			   (o.duration > 0 && smp_window_over(n.p.session))) {
			break; /* -p, -a: a command's end comes through its exit stop */
		}
		if (cli_pipeline_pump(&n.p) < 0)
			break;
		/* Each new page's node soon after its first touch, then its moves. */
		(void)numa_track(n.run);
		cli_nap(pidfd, 50);
	}
	if (pidfd >= 0)
		close(pidfd);
	cli_pipeline_stop(&n.p);
	numa_kernel_window(n.kernel, true);
	if (cli_pipeline_pump(&n.p) < 0) {
		cli_error(CMD, "processing samples failed: %s", strerror(-n.p.error));
		status = status ? status : 1;
	}
	/* -p, -a (and a command whose exit was not seen): the processes that still run. */
	if (!n.queried)
		n.query_err = numa_query_all(n.run);
	if (numa_finish(n.run, err, sizeof(err)) < 0 ||
	    numa_kernel_finish(n.kernel, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		status = status ? status : 1;
		goto out;
	}
	if (n.query_err == -EPERM)
		cli_error(CMD,
			  "the kernel would not say where some pages are (move_pages: %s); "
			  "run as root or as the processes' owner",
			  strerror(EPERM));
	if (write_profile(&n, out, start_real, argc, argv) < 0 ||
	    (otlp_out && write_otlp(&n, otlp_out, o.cmd) < 0)) {
		status = status ? status : 1;
		goto out;
	}
	FILE *sum = to_stdout ? stderr : stdout;
	numa_print(n.run, sum, SUMMARY_OBJECTS);
	numa_kernel_print(n.kernel, sum);
	uint64_t lost, throttled;
	eng_loss_totals(n.p.eng, &lost, &throttled);
	if (lost || throttled)
		fprintf(sum, "lost %" PRIu64 " samples, throttled %" PRIu64 " times: the counts above "
			     "miss those faults and tracepoint hits (fewer with -c N: one fault in N)\n",
			lost, throttled);
	fprintf(sum, "wrote %s\n", to_stdout ? "the profile to standard output" : o.output);
out:
	cli_child_abandon(&child);
	numa_free(n.run);
	numa_kernel_free(n.kernel);
	topo_phys_map_free(n.phys);
	cli_pipeline_close(&n.p);
	cli_labels_close(&labels, CMD);
	base_output_close(otlp_out);
	base_output_close(out);
	return status;
}

static void report_usage(FILE *out)
{
	fprintf(out,
		"usage: pmuprof numa report [FILE] [--all] [--json] [-o OUT.pb.gz]\n"
		"  Reads numa record's profile (default " DEFAULT_OUTPUT ") or a perf mem\n"
		"  recording (perf.data with data addresses and data_src): per data object and\n"
		"  function, pages by node, who first-touched them, who accesses them (local and\n"
		"  remote); the thread x node matrix; threads that wander across nodes; and a\n"
		"  verdict per finding with the fix it suggests.\n"
		"      --all           every data object and function (default: the 10 and 15\n"
		"                      most-faulted)\n"
		"      --json          the report as JSON (keys in the README), every row\n"
		"  -o, --output FILE   the profile again, its verdicts added as comments (a\n"
		"                      perf.data: its samples as pmuprof import writes them)\n");
}

static int numa_report(int argc, char **argv)
{
	static const char *const RCMD = "numa report";
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"all", no_argument, NULL, 'A'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	bool json = false, all = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'A':
			all = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			report_usage(stdout);
			return 0;
		default:
			cli_option_error(RCMD, argv, "o");
			return 2;
		}
	}
	if (argc - optind > 1) {
		cli_error(RCMD, "one profile at a time, not '%s' and '%s'", argv[optind],
			  argv[optind + 1]);
		return 2;
	}
	const char *path = optind < argc ? argv[optind] : DEFAULT_OUTPUT;
	if (pabi_perfdata_probe(path)) {
		struct cli_import_opts io = {.cmd = RCMD,
					     .path = path,
					     .output = output,
					     .symbolize = true,
					     .numa = true,
					     .numa_json = json,
					     .numa_all = all,
					     .argc = argc,
					     .argv = argv};
		return cli_import_run(&io);
	}
	char err[BASE_ERR_MAX];
	struct numa_rep_file *f = NULL;
	struct numa_report *rep = NULL;
	struct base_output *out = NULL;
	int status = 1;
	struct base_output_opts oo = {.mode = 0644, .what = "profile", .flag = "-o"};
	if (output && base_output_open(&out, output, &oo, err, sizeof(err)) < 0) {
		cli_error(RCMD, "%s", err);
		return 1;
	}
	struct base_output *outs[] = {out};
	if (out && cli_outputs_ready(RCMD, outs, 1, path) < 0) {
		status = 2;
		goto done;
	}
	if (numa_rep_read(&f, path, err, sizeof(err)) < 0 ||
	    numa_report_new(&rep, numa_rep_input(f), err, sizeof(err)) < 0 ||
	    (out && numa_report_write(f, rep, out, err, sizeof(err)) < 0)) {
		cli_error(RCMD, "%s", err);
		goto done;
	}
	/* The profile on standard output: the report goes to standard error. */
	FILE *text = output && strcmp(output, "-") == 0 ? stderr : stdout;
	json ? numa_report_print_json(rep, text) : numa_report_print(rep, text, all);
	status = fflush(text) == 0 ? 0 : 1;
	if (status)
		cli_error(RCMD, "cannot write the report: %s", strerror(errno));
done:
	numa_report_free(rep);
	numa_rep_file_free(f);
	base_output_close(out);
	return status;
}

int cmd_numa(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "record") == 0)
		return numa_record(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return numa_report(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "pages") == 0)
		return cli_numa_pages(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		report_usage(stdout);
		cli_numa_pages_usage(stdout);
		return 0;
	}
	cli_error("numa",
		  "%s%s%s; the numa commands are 'numa record', 'numa report' and 'numa pages' "
		  "(pmuprof numa --help)",
		  argc >= 2 ? "unknown numa command '" : "a numa command is needed",
		  argc >= 2 ? argv[1] : "", argc >= 2 ? "'" : "");
	return 2;
}
