/*
 * pmuprof c2c report: perf c2c report's cache-line tables for a perf.data
 * file holding data-address samples (perf c2c record, perf mem record,
 * pmuprof c2c record; PEBS load latency / stores, AMD IBS, Arm SPE),
 * with code and data symbols, and optionally the same samples as a pprof
 * labelled cacheline / offset / data_src / weight. Owns the options; the
 * work is the import pipeline's (import.c).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "c2c report"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pmuprof c2c report [-i perf.data] [-N LINES | --all] [--line-size BYTES]\n"
		"                          [-o OUT.pb.gz] [--no-symbolize]\n"
		"  Cache lines ranked by HITM, then peer and remote transfers, each with its\n"
		"  offsets, threads, CPUs, code and data symbols and a sharing verdict.\n"
		"  -i, --input FILE      perf.data with ADDR + DATA_SRC samples (default perf.data;\n"
		"                        \"-\" reads a pipe)\n"
		"  -N, --lines N         detail the N hottest lines (default 20)\n"
		"      --all             detail every line\n"
		"      --line-size BYTES cache line size (default 64)\n"
		"  -o, --output FILE     also write the samples as a pprof with the labels\n"
		"                        cacheline, offset, data_src and weight\n"
		"      --no-symbolize    addresses only\n");
}

enum { OPT_ALL = 256, OPT_LINE_SIZE, OPT_NO_SYMBOLIZE };

int cmd_c2c_report(int argc, char **argv)
{
	struct cli_import_opts o = {.cmd = CMD, .path = "perf.data", .symbolize = true,
				    .c2c = true, .c2c_lines = 20, .argc = argc, .argv = argv};
	static const struct option longopts[] = {
		{"input", required_argument, NULL, 'i'},
		{"lines", required_argument, NULL, 'N'},
		{"all", no_argument, NULL, OPT_ALL},
		{"line-size", required_argument, NULL, OPT_LINE_SIZE},
		{"output", required_argument, NULL, 'o'},
		{"no-symbolize", no_argument, NULL, OPT_NO_SYMBOLIZE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	unsigned long v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:N:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o.path = optarg; break;
		case 'o': o.output = optarg; break;
		case OPT_ALL: o.c2c_lines = 0; break;
		case OPT_NO_SYMBOLIZE: o.symbolize = false; break;
		case 'N':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v == 0) {
				cli_error(CMD, "-N %s: expected a positive number of lines", optarg);
				return 2;
			}
			o.c2c_lines = v;
			break;
		case OPT_LINE_SIZE:
			v = strtoul(optarg, &end, 0);
			if (*end || v < 8 || v > 4096 || (v & (v - 1))) {
				cli_error(CMD, "--line-size %s: expected a power of two from 8 to 4096",
					  optarg);
				return 2;
			}
			o.line_size = (uint32_t)v;
			break;
		case 'h': usage(stdout); return 0;
		default:
			cli_option_error(CMD, argv, "i,input,N,lines,line-size,o,output");
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		cli_error(CMD, "unexpected argument '%s' (the input is -i FILE)", argv[optind]);
		return 2;
	}
	return cli_import_run(&o);
}
