/*
 * pmuprof c2c record: `perf c2c record`'s counterpart. Owns its options
 * (-o names the perf.data file, as in perf; --pprof the profile; --ldlat);
 * the recording is `pmuprof record --mem --perf-data FILE`: the host's
 * data-address sampling events (PEBS load latency and stores, AMD IBS; a
 * host without them gets one line naming what is missing), every record
 * written as perf.data for `pmuprof c2c report` (or perf's), and the
 * samples as a pprof labelled cacheline / offset / data_src / weight.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "c2c record"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pmuprof c2c record [-o perf.data] [--pprof FILE] [--ldlat CYCLES]\n"
		"                          [record options: -a, -C, -p, --duration, ...] [-- CMD ...]\n"
		"  Samples loads and stores with their data addresses (Intel PEBS load latency\n"
		"  and stores, AMD IBS), then read the cache lines with pmuprof c2c report.\n"
		"  -o, --output FILE   the perf.data to write (default perf.data)\n"
		"      --pprof FILE    the samples as a pprof too (default pmuprof.pb.gz)\n"
		"      --ldlat CYCLES  loads slower than CYCLES only (default 30)\n"
		"  Other options are pmuprof record's (pmuprof record --help).\n");
}

int cmd_c2c_record(int argc, char **argv)
{
	const char *data = "perf.data", *pprof = NULL;
	/* record's argv: "record --mem --perf-data F -o P" + ours minus -o/--pprof. */
	char **rv = calloc((size_t)argc + 8, sizeof(char *));
	if (!rv) {
		cli_error(CMD, "out of memory");
		return 1;
	}
	int rc = 0, i = 1;
	rv[rc++] = CMD; /* record names itself by argv[0] in its messages */
	rv[rc++] = "--mem";
	int fixed = rc;
	rc += 4; /* --perf-data F -o P, filled below */
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			free(rv);
			return 0;
		}
		const char **dst = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ? &data
				   : strcmp(a, "--pprof") == 0				 ? &pprof
											 : NULL;
		if (dst) {
			if (i + 1 >= argc) {
				cli_error(CMD, "%s needs a file name", a);
				free(rv);
				return 2;
			}
			*dst = argv[++i];
			continue;
		}
		rv[rc++] = argv[i];
	}
	for (; i < argc; i++) /* "--" and the command */
		rv[rc++] = argv[i];
	rv[fixed] = "--perf-data";
	rv[fixed + 1] = (char *)data;
	rv[fixed + 2] = "-o";
	rv[fixed + 3] = (char *)(pprof ? pprof : "pmuprof.pb.gz");
	int status = cmd_record(rc, rv);
	if (status == 0)
		fprintf(stderr, "pmuprof %s: read it with: pmuprof c2c report -i %s\n", CMD, data);
	free(rv);
	return status;
}
