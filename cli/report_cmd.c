/*
 * pmuprof report [FILE]: what a perf user types after recording — the top
 * functions per sample type, read back from the pprof, or from a perf.data.
 * pmuprof diff BASELINE FILE: the same options, two profiles compared as
 * perf diff compares them, and the differential views.
 */
#include "cli.h"
#include "engine.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_MAX_INFLATED = 256,
	OPT_CHILDREN,
	OPT_NO_CHILDREN,
	OPT_COMM,
	OPT_PID,
	OPT_TID,
	OPT_DSO,
	OPT_SYMBOLS,
	OPT_PERCENT_LIMIT,
	OPT_FOLDED,
	OPT_FLAMEGRAPH,
	OPT_NO_INLINE,
};

/* "512M", "4G", "4GiB", "1000000": bytes (K, M, G, T are powers of 1024); 0 on a bad size. */
static uint64_t parse_size(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return 0;
	const char *units = "KMGT", *u = *end ? strchr(units, *end) : NULL;
	if (u) {
		int shift = 10 * (int)(u - units + 1);
		if (v > UINT64_MAX >> shift)
			return 0;
		v <<= shift;
		end++;
		if (*end == 'i')
			end++;
	}
	if (*end == 'B')
		end++;
	return *end ? 0 : v;
}

/* Whether s is a comma list of positive decimal ids, as perf's --pid and --tid take. */
static bool id_list(const char *s)
{
	for (;;) {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (end == s || errno || v <= 0 || *s == '+' || *s == ' ' || (*end && *end != ','))
			return false;
		if (!*end)
			return true;
		s = end + 1;
	}
}

/* Prints diff's usage. */
static void diff_usage(void)
{
	printf("usage: pmuprof diff BASELINE FILE [-e TYPE] [-s KEY[,KEY...]] [--top N]\n"
	       "                    [--comm|--pid|--tid|--dso|--symbols LIST] "
	       "[--percent-limit P]\n"
	       "                    [--max-inflated SIZE] [--folded [-o FILE] | --flamegraph "
	       "OUT]\n"
	       "  BASELINE, FILE: pprofs or perf.data files; FILE is compared against "
	       "BASELINE\n"
	       "  Per event both have: each row's share of its profile's total (self, as perf\n"
	       "  diff), the change in points (Delta) and the ratio of the shares, largest\n"
	       "  change first. A profile against itself is all zeros.\n"
	       "  -e, --event TYPE  one sample type (event) only\n"
	       "  -s, --sort KEYS   group by dso, sym, srcline, comm, pid, tid, cpu, node, "
	       "region,\n"
	       "                    any label, or stack: whole stacks (default dso,sym, as "
	       "perf diff)\n"
	       "  --top N           rows per event (default 20)\n"
	       "  --comm, --pid, --tid, --dso, --symbols LIST, --percent-limit P: as in "
	       "report\n"
	       "                    (a row is hidden where both shares are below P)\n"
	       "  --folded [-e TYPE] [-o FILE]  \"stack BASELINE FILE\" lines, as flamegraph.pl "
	       "reads\n"
	       "                    for a differential flame graph\n"
	       "  --flamegraph OUT.html|OUT.svg  differential flame graph: FILE's widths, red "
	       "where\n"
	       "                    a frame's share grew, blue where it shrank\n"
	       "  --no-inline       frames are functions only, inline frames folded into "
	       "them (as perf)\n");
}

/* Prints report's usage. */
static void report_usage(void)
{
	printf("usage: pmuprof report [FILE] [-e TYPE] [-s KEY[,KEY...]] [--[no-]children] "
	       "[--top N]\n"
	       "                      [--comm|--pid|--tid|--dso|--symbols LIST] "
	       "[--percent-limit P]\n"
	       "                      [-g [graph|none,][caller|callee][,THRESHOLD]]\n"
	       "                      [--max-inflated SIZE] [--folded [-o FILE] | --flamegraph OUT]\n"
	       "  FILE: a pprof or a perf.data (default pmuprof.pb.gz)\n"
	       "  -e, --event TYPE  one sample type (event) only, e.g. -e cycles (also "
	       "--sample-type)\n"
	       "  -s, --sort KEYS   group by comm, pid, tid, dso, sym, srcline, cpu, node, "
	       "region,\n"
	       "                    cacheline, offset or any label; labels alone give perf "
	       "report's\n"
	       "                    overhead table (default sym)\n"
	       "  --children        a Children and a Self column, sorted by children (the "
	       "default\n"
	       "                    with call graphs); --no-children: one Overhead column, "
	       "self\n"
	       "  --comm, --pid, --tid LIST  only the samples of these threads (comma lists, "
	       "as perf)\n"
	       "  --dso, --symbols LIST      only the rows of frames in these files or "
	       "functions;\n"
	       "                             shares stay of the whole total, as perf's\n"
	       "  --percent-limit P          hide rows below P percent\n"
	       "  -g, --call-graph [OPTS]  each row's call graph as a tree, perf's options "
	       "in any\n"
	       "                    order: its callees (caller, the default) or callers "
	       "(callee);\n"
	       "                    graph (shares of the total) or none; branches below "
	       "THRESHOLD\n"
	       "                    percent of the total (default 0.5) hidden\n"
	       "  --max-inflated SIZE  largest size a gzipped profile may inflate to "
	       "(default 4G)\n"
	       "  --folded [-e TYPE] [-o FILE]  folded stacks (flamegraph.pl, speedscope)\n"
	       "  --no-inline       frames are functions only, inline frames folded into "
	       "them (as perf)\n"
	       "  --flamegraph OUT.html  interactive flame graph of every sample type, one "
	       "file\n"
	       "  --flamegraph OUT.svg   static flame graph of one sample type (-e TYPE)\n");
}

/* report (one profile) or diff (a baseline, then the profile): the same options. */
static int report_or_diff(const char *cmd, int argc, char **argv)
{
	bool diff = strcmp(cmd, "diff") == 0;
	static const struct option longopts[] = {
		{"event", required_argument, NULL, 'e'},
		{"sample-type", required_argument, NULL, 'e'},
		{"sort", required_argument, NULL, 'S'},
		{"top", required_argument, NULL, 'n'},
		{"input", required_argument, NULL, 'i'},
		{"max-inflated", required_argument, NULL, OPT_MAX_INFLATED},
		{"children", no_argument, NULL, OPT_CHILDREN},
		{"no-children", no_argument, NULL, OPT_NO_CHILDREN},
		{"comm", required_argument, NULL, OPT_COMM},
		{"comms", required_argument, NULL, OPT_COMM},
		{"pid", required_argument, NULL, OPT_PID},
		{"tid", required_argument, NULL, OPT_TID},
		{"dso", required_argument, NULL, OPT_DSO},
		{"dsos", required_argument, NULL, OPT_DSO},
		{"symbols", required_argument, NULL, OPT_SYMBOLS},
		{"percent-limit", required_argument, NULL, OPT_PERCENT_LIMIT},
		{"call-graph", optional_argument, NULL, 'g'},
		{"folded", no_argument, NULL, OPT_FOLDED},
		{"flamegraph", required_argument, NULL, OPT_FLAMEGRAPH},
		{"no-inline", no_argument, NULL, OPT_NO_INLINE},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pprof_report_opts ro = {0};
	const char *path = "pmuprof.pb.gz", *baseline_path = NULL;
	const char *short_sort = NULL; /* -s VALUE: sort keys, or the old spelling of -e */
	struct cli_view view = {.cmd = cmd};
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "e:s:g::n:i:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': ro.sample_type = optarg; break;
		case 's': short_sort = optarg; break;
		case 'S': ro.sort = optarg; break;
		case 'g':
			/*
			 * perf's -g takes its value as the next word too ("-g caller", "-g none"):
			 * a word that reads as one, or that names no file (then -g says what
			 * it takes); a profile's name after a bare -g stays the profile.
			 */
			ro.call_graph = optarg ? optarg : "";
			if (!optarg && optind < argc && argv[optind][0] != '-' &&
			    (pprof_report_is_call_graph(argv[optind]) ||
			     access(argv[optind], F_OK) != 0))
				ro.call_graph = argv[optind++];
			break;
		case 'i': path = optarg; break;
		case 'o': view.output = optarg; break;
		case OPT_FOLDED: view.folded = true; break;
		case OPT_FLAMEGRAPH: view.flamegraph = optarg; break;
		case OPT_NO_INLINE: view.no_inline = true; break;
		case 'n': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n <= 0) {
				cli_error(cmd, "--top needs a positive number, not '%s'", optarg);
				return 2;
			}
			ro.top = (int)n;
			break;
		}
		case OPT_MAX_INFLATED:
			if (!(ro.max_inflated = parse_size(optarg))) {
				cli_error(cmd, "--max-inflated needs a size in bytes such as 512M or "
					  "8G, not '%s'", optarg);
				return 2;
			}
			break;
		case OPT_CHILDREN: ro.children = 1; break;
		case OPT_NO_CHILDREN: ro.children = -1; break;
		case OPT_COMM: ro.comms = optarg; break;
		case OPT_PID:
		case OPT_TID:
			if (!id_list(optarg)) {
				cli_error(cmd, "%s needs a comma list of %s ids such as 1234,1240, not "
					  "'%s'", c == OPT_PID ? "--pid" : "--tid",
					  c == OPT_PID ? "process" : "thread", optarg);
				return 2;
			}
			if (c == OPT_PID)
				ro.pids = optarg;
			else
				ro.tids = optarg;
			break;
		case OPT_DSO: ro.dsos = optarg; break;
		case OPT_SYMBOLS: ro.symbols = optarg; break;
		case OPT_PERCENT_LIMIT: {
			char *end;
			double p = strtod(optarg, &end);
			if (end == optarg || *end || !(p >= 0 && p <= 100)) {
				cli_error(cmd, "--percent-limit needs a percentage from 0 to "
					  "100, not '%s'", optarg);
				return 2;
			}
			ro.percent_limit = p;
			break;
		}
		case 'h':
			if (diff)
				diff_usage();
			else
				report_usage();
			return 0;
		default:
			cli_option_error(cmd, argv, "esgnio");
			return 2;
		}
	}
	if (diff && argc - optind != 2) {
		cli_error(cmd, "%s: give the baseline and the profile to compare with it, "
			  "e.g. pmuprof diff before.pb.gz after.pb.gz",
			  argc - optind < 2 ? "two profiles needed" : "more than two profiles");
		return 2;
	}
	if (diff && (ro.call_graph || ro.children)) {
		cli_error(cmd, "%s: diff compares self shares, as perf diff; call graphs are "
			  "report's (-g in pmuprof report FILE)",
			  ro.call_graph ? "-g" : "--children/--no-children");
		return 2;
	}
	if (diff)
		baseline_path = argv[optind++];
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		cli_error(cmd, "one profile at a time; unexpected '%s'", argv[optind]);
		return 2;
	}
	if (view.output && !view.folded) {
		cli_error(cmd, view.flamegraph ? "-o names the --folded output; --flamegraph "
						 "OUT names its own"
					       : "-o names the --folded output; the table goes to "
						 "standard output (redirect it)");
		return 2;
	}
	/* The views draw every sample: a table's option given with one would do nothing. */
	const char *table_only = short_sort || ro.sort ? "-s/--sort"
				 : ro.top ? "--top"
				 : ro.percent_limit > 0 ? "--percent-limit"
				 : ro.comms || ro.pids || ro.tids ? "--comm/--pid/--tid"
				 : ro.dsos || ro.symbols ? "--dso/--symbols"
				 : ro.call_graph ? "-g"
				 : ro.children ? "--children/--no-children" : NULL;
	if ((view.folded || view.flamegraph) && table_only) {
		cli_error(cmd, "%s shapes the table; %s draws every sample of the event (the "
			  "HTML page filters by its labels): give one or the other",
			  table_only, view.folded ? "--folded" : "--flamegraph");
		return 2;
	}
	ro.no_inline = view.no_inline;
	view.baseline_path = baseline_path;
	if ((view.folded || view.flamegraph) && (rc = cli_view_open(&view, path)) != 0)
		return rc;
	char err[512], cache_dir[PATH_MAX];
	struct eng_read_opts rd = {
		.symbolize = true,
		.debug_cache_dir = cli_cache_dir(cache_dir, sizeof(cache_dir)),
		.max_inflated = ro.max_inflated,
	};
	struct pprof_read *pr = NULL, *baseline = NULL;
	if (baseline_path)
		rc = eng_read_profile(&baseline, baseline_path, &rd, err, sizeof(err));
	else
		rc = 0;
	if (rc == 0)
		rc = eng_read_profile(&pr, path, &rd, err, sizeof(err));
	if (rc == 0 && !diff && short_sort && !ro.sample_type &&
	    pprof_read_has_sample_type(pr, short_sort)) {
		/* perf's -s is --sort; -s TYPE once chose the sample type and still does. */
		fprintf(stderr, "pmuprof report: notice: -s %s reads as the sample type; -s now "
			"means --sort KEYS as in perf: write -e %s\n", short_sort, short_sort);
		ro.sample_type = short_sort;
	} else if (!ro.sort) {
		ro.sort = short_sort;
	}
	if (rc == 0 && view.out) {
		view.baseline = baseline;
		rc = cli_view_write(&view, pr, path, ro.sample_type);
		pprof_read_free(pr);
		pprof_read_free(baseline);
		cli_view_close(&view);
		return rc;
	}
	if (rc == 0 && diff)
		rc = pprof_diff_print(baseline, baseline_path, pr, path, &ro, stdout, err,
				      sizeof(err));
	else if (rc == 0)
		rc = pprof_report_print_read(pr, path, &ro, stdout, err, sizeof(err));
	pprof_read_free(pr);
	pprof_read_free(baseline);
	cli_view_close(&view);
	if (rc == -EFBIG) {
		cli_error(cmd, "%s; if the profile is genuine, raise the limit with "
			  "--max-inflated SIZE (e.g. --max-inflated 16G)", err);
		return 1;
	}
	if (rc < 0) {
		cli_error(cmd, "%s", err);
		return 1;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	return report_or_diff("report", argc, argv);
}

int cmd_diff(int argc, char **argv)
{
	return report_or_diff("diff", argc, argv);
}
