/*
 * pmuprof report [FILE]: what a perf user types after recording — the top
 * functions per sample type, read back from the pprof.
 */
#include "cli.h"
#include "export.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"sample-type", required_argument, NULL, 's'},
		{"sort", required_argument, NULL, 'S'},
		{"top", required_argument, NULL, 'n'},
		{"input", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct report_opts ro = {0};
	const char *path = "pmuprof.pb.gz";
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "s:n:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': ro.sample_type = optarg; break;
		case 'S': ro.sort = optarg; break;
		case 'i': path = optarg; break;
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
		case 'h':
			printf("usage: pmuprof report [FILE] [-s TYPE] [--sort comm,dso,sym,srcline] "
			       "[--top N]\n  FILE defaults to pmuprof.pb.gz\n");
			return 0;
		default:
			cli_option_error("report", argv, "sSni");
			return 2;
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		cli_error("report", "one profile at a time; unexpected '%s'", argv[optind]);
		return 2;
	}
	char err[512];
	if (report_print(path, &ro, stdout, err, sizeof(err)) < 0) {
		cli_error("report", "%s", err);
		return 1;
	}
	return 0;
}
