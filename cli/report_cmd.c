/*
 * pmuprof report [FILE]: what a perf user types after recording — the top
 * functions per sample type, read back from the pprof, or from a perf.data.
 */
#include "cli.h"
#include "engine.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* Prints report's usage. */
static void report_usage(void)
{
	printf("usage: pmuprof report [FILE] [-e TYPE] [-s KEY[,KEY...]] [--[no-]children] "
	       "[--top N]\n"
	       "                      [--comm|--pid|--tid|--dso|--symbols LIST] "
	       "[--percent-limit P]\n"
	       "                      [-g caller|callee[,THRESHOLD]]\n"
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
	       "  -g, --call-graph caller|callee[,THRESHOLD]  each row's call graph as a "
	       "tree: its\n"
	       "                    callees (caller) or callers (callee), branches below "
	       "THRESHOLD\n"
	       "                    percent of the total (default 0.5) hidden\n"
	       "  --max-inflated SIZE  largest size a gzipped profile may inflate to "
	       "(default 4G)\n"
	       "  --folded [-e TYPE] [-o FILE]  folded stacks (flamegraph.pl, speedscope)\n"
	       "  --no-inline       a view's frames are functions only, inline frames folded "
	       "into them\n"
	       "  --flamegraph OUT.html  interactive flame graph of every sample type, one "
	       "file\n"
	       "  --flamegraph OUT.svg   static flame graph of one sample type (-e TYPE)\n");
}

int cmd_report(int argc, char **argv)
{
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
		{"call-graph", required_argument, NULL, 'g'},
		{"folded", no_argument, NULL, OPT_FOLDED},
		{"flamegraph", required_argument, NULL, OPT_FLAMEGRAPH},
		{"no-inline", no_argument, NULL, OPT_NO_INLINE},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pprof_report_opts ro = {0};
	const char *path = "pmuprof.pb.gz";
	const char *short_sort = NULL; /* -s VALUE: sort keys, or the old spelling of -e */
	struct cli_view view = {0};
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "e:s:g:n:i:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': ro.sample_type = optarg; break;
		case 's': short_sort = optarg; break;
		case 'S': ro.sort = optarg; break;
		case 'g': ro.call_graph = optarg; break;
		case 'i': path = optarg; break;
		case 'o': view.output = optarg; break;
		case OPT_FOLDED: view.folded = true; break;
		case OPT_FLAMEGRAPH: view.flamegraph = optarg; break;
		case OPT_NO_INLINE: view.no_inline = true; break;
		case 'n': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n <= 0) {
				cli_error("report", "--top needs a positive number, not '%s'", optarg);
				return 2;
			}
			ro.top = (int)n;
			break;
		}
		case OPT_MAX_INFLATED:
			if (!(ro.max_inflated = parse_size(optarg))) {
				cli_error("report", "--max-inflated needs a size in bytes such as 512M or "
					  "8G, not '%s'", optarg);
				return 2;
			}
			break;
		case OPT_CHILDREN: ro.children = 1; break;
		case OPT_NO_CHILDREN: ro.children = -1; break;
		case OPT_COMM: ro.comms = optarg; break;
		case OPT_PID: ro.pids = optarg; break;
		case OPT_TID: ro.tids = optarg; break;
		case OPT_DSO: ro.dsos = optarg; break;
		case OPT_SYMBOLS: ro.symbols = optarg; break;
		case OPT_PERCENT_LIMIT: {
			char *end;
			double p = strtod(optarg, &end);
			if (end == optarg || *end || !(p >= 0 && p <= 100)) {
				cli_error("report", "--percent-limit needs a percentage from 0 to "
					  "100, not '%s'", optarg);
				return 2;
			}
			ro.percent_limit = p;
			break;
		}
		case 'h':
			report_usage();
			return 0;
		default:
			cli_option_error("report", argv, "esgnio");
			return 2;
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		cli_error("report", "one profile at a time; unexpected '%s'", argv[optind]);
		return 2;
	}
	if (view.output && !view.folded) {
		cli_error("report", "-o names the --folded output; the table goes to standard "
			  "output (redirect it)");
		return 2;
	}
	if ((view.folded || view.flamegraph) && (rc = cli_view_open(&view, path)) != 0)
		return rc;
	char err[512], cache_dir[PATH_MAX];
	struct eng_read_opts rd = {
		.symbolize = true,
		.debug_cache_dir = cli_cache_dir(cache_dir, sizeof(cache_dir)),
		.max_inflated = ro.max_inflated,
	};
	struct pprof_read *pr;
	rc = eng_read_profile(&pr, path, &rd, err, sizeof(err));
	if (rc == 0 && short_sort && !ro.sample_type &&
	    pprof_read_has_sample_type(pr, short_sort)) {
		/* perf's -s is --sort; -s TYPE once chose the sample type and still does. */
		fprintf(stderr, "pmuprof report: notice: -s %s reads as the sample type; -s now "
			"means --sort KEYS as in perf: write -e %s\n", short_sort, short_sort);
		ro.sample_type = short_sort;
	} else if (!ro.sort) {
		ro.sort = short_sort;
	}
	if (rc == 0 && view.out) {
		rc = cli_view_write(&view, pr, path, ro.sample_type);
		pprof_read_free(pr);
		cli_view_close(&view);
		return rc;
	}
	if (rc == 0) {
		rc = pprof_report_print_read(pr, path, &ro, stdout, err, sizeof(err));
		pprof_read_free(pr);
	}
	cli_view_close(&view);
	if (rc == -EFBIG) {
		cli_error("report", "%s; if the profile is genuine, raise the limit with "
			  "--max-inflated SIZE (e.g. --max-inflated 16G)", err);
		return 1;
	}
	if (rc < 0) {
		cli_error("report", "%s", err);
		return 1;
	}
	return 0;
}
