/*
 * pmuprof numa record: page faults sampled with their data addresses through
 * record's pipeline, numa/ as the engine's tool (first touch, later faults,
 * data objects), each sampled page's node asked of the kernel before the
 * memory goes: a command is held at its exit (ptrace), -p/-a processes are
 * asked at the end while they still run. Writes the pprof and prints numa/'s
 * summary. This file parses flags, runs the child and prints.
 */
#include "cli.h"
#include "numa.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "numa record"
#define DEFAULT_OUTPUT "pmuprof-numa.pb.gz"
/* Objects the summary details; the profile has them all. */
#define SUMMARY_OBJECTS 10

struct numa_opts {
	const char *output;
	bool output_given;
	uint64_t period;
	const char *pids;
	bool system_wide;
	double duration;
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
		"      --duration S    stop after S seconds\n");
}

static int parse_args(int argc, char **argv, struct numa_opts *o)
{
	enum { OPT_DURATION = 256 };
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"count", required_argument, NULL, 'c'},
		{"pid", required_argument, NULL, 'p'},
		{"all-cpus", no_argument, NULL, 'a'},
		{"duration", required_argument, NULL, OPT_DURATION},
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
	return 0;
}

struct numa_cmd {
	struct cli_pipeline p;
	struct numa_run *run;
	bool queried; /* the command's pages were asked at its exit */
	int query_err;
};

static int on_sample(void *arg, const struct eng_event *ev, const struct pabi_sample *s)
{
	return numa_sample(((struct numa_cmd *)arg)->run, ev, s);
}

static int node_of_cpu(const void *topo, int cpu)
{
	return topo_cpu_node(topo, cpu);
}

/* The command is exiting, its memory still there: every fault is in, then its pages are asked. */
static void at_exit(void *arg, pid_t pid)
{
	struct numa_cmd *n = arg;
	smp_stop(n->p.session);
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
	if (eng_add_run_comments(n->p.eng, prof, "pmuprof " PMUPROF_VERSION, argc, argv) < 0)
		cli_error(CMD, "out of memory: the profile's comments are incomplete");
	if (pprof_write_output(prof, out, NULL, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		return -1;
	}
	return 0;
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
	struct base_output *out = NULL;
	status = 1;
	struct base_output_opts oo = {.mode = 0644,
				      .what = "profile",
				      .flag = "-o",
				      .flags = o.output_given ? 0 : BASE_OUTPUT_KEEP_OLD};
	if (base_output_open(&out, o.output, &oo, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		goto out;
	}
	/* The pprof on standard output: the command and the summary write to standard error. */
	bool to_stdout = strcmp(o.output, "-") == 0;
	child.stdout_to_stderr = to_stdout;
	if (*o.cmd && cli_child_prepare(&child, o.cmd, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		goto out;
	}
	struct eng_tool tool = {.arg = &n, .sample = on_sample};
	struct cli_pipeline_opts po = {
		.cmd = CMD,
		.events = "page-faults",
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
		.tool = &tool,
		.tool_profiles = true,
	};
	if ((status = cli_pipeline_open(&n.p, &po)) != 0)
		goto out;
	struct base_output *outs[] = {out};
	status = 1;
	if (cli_outputs_ready(CMD, outs, 1, NULL) < 0) {
		status = 2;
		goto out;
	}
	struct numa_options no = {
		.procs = n.p.procs,
		.agg = n.p.agg,
		.ntypes = eng_ntypes(n.p.eng),
		.node_of_cpu = node_of_cpu,
		.node_ctx = n.p.topo,
		.nnodes = topo_nnodes(n.p.topo),
	};
	if (numa_new(&n.run, &no, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		goto out;
	}
	cli_signals_install(child.pid);
	int64_t start_real = cli_realtime_ns();
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
	int pidfd = child.pid > 0 ? cli_pidfd(child.pid) : -1;
	for (;;) {
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
		/* Each new page's node soon after its first touch: the end's query counts moves. */
		(void)numa_query_new(n.run);
		cli_nap(pidfd, 50);
	}
	if (pidfd >= 0)
		close(pidfd);
	smp_stop(n.p.session);
	if (cli_pipeline_pump(&n.p) < 0) {
		cli_error(CMD, "processing samples failed: %s", strerror(-n.p.error));
		status = status ? status : 1;
	}
	/* -p, -a (and a command whose exit was not seen): the processes that still run. */
	if (!n.queried)
		n.query_err = numa_query_all(n.run);
	if (numa_finish(n.run, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		status = status ? status : 1;
		goto out;
	}
	if (n.query_err == -EPERM)
		cli_error(CMD,
			  "the kernel would not say where some pages are (move_pages: %s); "
			  "run as root or as the processes' owner",
			  strerror(EPERM));
	if (write_profile(&n, out, start_real, argc, argv) < 0) {
		status = status ? status : 1;
		goto out;
	}
	FILE *sum = to_stdout ? stderr : stdout;
	numa_print(n.run, sum, SUMMARY_OBJECTS);
	fprintf(sum, "wrote %s\n", to_stdout ? "the profile to standard output" : o.output);
out:
	cli_child_abandon(&child);
	numa_free(n.run);
	cli_pipeline_close(&n.p);
	base_output_close(out);
	return status;
}

int cmd_numa(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "record") == 0)
		return numa_record(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	cli_error("numa", "%s%s%s; the numa command is 'numa record' (pmuprof numa record --help)",
		  argc >= 2 ? "unknown numa command '" : "a numa command is needed",
		  argc >= 2 ? argv[1] : "", argc >= 2 ? "'" : "");
	return 2;
}
