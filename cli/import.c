/*
 * pmuprof import: a perf.data file (perf record, perf mem, perf c2c; file or
 * pipe mode) through the engine record uses (engine.h: its order, its rules),
 * to a pprof and optionally OTLP; with --c2c (and c2c report) the samples
 * with data addresses also make perf c2c's cache-line report, with numa
 * (numa report on a perf mem recording) numa/'s report. Nothing is
 * synthesized from /proc: the file describes another moment and maybe
 * another host.
 */
#include "base.h"
#include "cli.h"
#include "engine.h"
#include "numa.h"
#include "otlp.h"
#include "pmu.h"
#include "sampler.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_OUTPUT "pmuprof.pb.gz"

struct import {
	struct pabi_perfdata *pd;
	struct proc_model *procs;
	struct eng_source src;
	struct eng *eng;
	struct c2c_collect mem; /* --c2c: the samples of the cache-line report */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pmuprof import FILE [-o OUT.pb.gz] [--otlp FILE] [--no-symbolize] [--c2c]\n"
		"  Converts a perf.data file (perf record, file or pipe mode; \"-\" reads stdin)\n"
		"  into a pprof profile with one sample type per recorded event.\n"
		"  -o, --output FILE   pprof output (default " DEFAULT_OUTPUT ")\n"
		"      --otlp FILE     also write an OTLP ExportProfilesServiceRequest\n"
		"      --no-symbolize  addresses and mappings only\n"
		"      --c2c           print a perf c2c-style cache-line report of the samples that\n"
		"                      carry data addresses (perf mem / perf c2c recordings)\n");
}

static void add_comments(struct import *im, struct pprof *prof, int argc, char **argv)
{
	char line[512];
	if (eng_add_run_comments(im->eng, prof, "pmuprof " PMUPROF_VERSION, argc, argv) < 0)
		cli_error("import", "out of memory: the profile's comments are incomplete");
	if (eng_skipped_summary(im->eng, line, sizeof(line)) > 0)
		pprof_add_comment(prof, line);
	if (agg_symbolize_summary(eng_agg(im->eng), line, sizeof(line)) > 0)
		pprof_add_comment(prof, line);
}

static int write_otlp(struct import *im, struct base_output *out, pid_t workload,
		      const struct pprof *prof)
{
	char err[BASE_ERR_MAX];
	struct cli_otlp_ctx c = {.procs = im->procs, .workload = workload, .argv = NULL};
	uint8_t *req = NULL;
	size_t len = 0;
	int ret = cli_otlp_encode(&c, prof, false, &req, &len, err, sizeof(err));
	if (ret == 0)
		ret = otlp_write_output(out, req, len, err, sizeof(err));
	if (ret < 0)
		cli_error("import", "%s", err);
	free(req);
	return ret;
}

static void print_summary(const struct import *im, const char *cmd, const char *output,
			  size_t bytes)
{
	char buf[64];
	struct eng_stats st;
	eng_get_stats(im->eng, &st);
	uint64_t lost, throttled;
	eng_loss_totals(im->eng, &lost, &throttled);
	fprintf(stderr, "pmuprof %s: samples", cmd);
	for (size_t i = 0, shown = 0; i < eng_nevents(im->eng); i++) {
		const struct eng_event *e = eng_event(im->eng, i);
		if (e->type < 0)
			continue;
		cli_format_count((double)e->samples, buf, sizeof(buf));
		fprintf(stderr, "%s %s %s", shown++ ? "," : "", e->name, buf);
	}
	fprintf(stderr, "; lost %llu; throttled %llu; wrote %s (%.1f KiB)\n",
		(unsigned long long)lost, (unsigned long long)throttled, output,
		(double)bytes / 1024.0);
	if (st.bad || st.unknown_id)
		fprintf(stderr,
			"pmuprof %s: skipped %llu malformed records and %llu samples of "
			"unknown event ids\n",
			cmd, (unsigned long long)st.bad, (unsigned long long)st.unknown_id);
}

static void import_free(struct import *im)
{
	c2c_collect_free(&im->mem);
	eng_free(im->eng);
	eng_source_free(&im->src);
	proc_model_free(im->procs);
	pabi_perfdata_close(im->pd);
}

/* numa/'s report of the perf mem samples, on standard output; -1 with the error printed. */
static int print_numa(const struct import *im, const struct cli_import_opts *o)
{
	char err[BASE_ERR_MAX];
	struct numa_rep_file *f = NULL;
	struct numa_report *rep = NULL;
	int ret = -1;
	if (numa_rep_from_mem(&f, im->mem.s, im->mem.n, pabi_perfdata_nnodes(im->pd), err,
			      sizeof(err)) < 0 ||
	    numa_report_new(&rep, numa_rep_input(f), err, sizeof(err)) < 0) {
		cli_error(o->cmd, "%s", err);
		goto out;
	}
	o->numa_json ? numa_report_print_json(rep, stdout)
		     : numa_report_print(rep, stdout, o->numa_all);
	if (fflush(stdout) != 0)
		cli_error(o->cmd, "cannot write the report to stdout: %s", strerror(errno));
	else
		ret = 0;
out:
	numa_report_free(rep);
	numa_rep_file_free(f);
	return ret;
}

int cli_import_run(const struct cli_import_opts *o)
{
	char err[BASE_ERR_MAX];
	struct import im = {.mem = {.node_of_cpu = eng_perfdata_node_of_cpu}};
	int status = 1;
	struct base_output *out = NULL, *otlp_out = NULL;
	bool collect = o->c2c || o->numa;
	if (collect && o->output && strcmp(o->output, "-") == 0) {
		cli_error(o->cmd, "-o - would mix the pprof with the report on standard output; "
				  "give -o a file name");
		return 2;
	}
	if (pabi_perfdata_open(&im.pd, o->path, err, sizeof(err)) < 0) {
		cli_error(o->cmd, "%s", err);
		return 1;
	}
	bool data_addresses = false;
	for (size_t i = 0; i < pabi_perfdata_nevents(im.pd); i++)
		data_addresses |= c2c_attr_has_data_addresses(&pabi_perfdata_event(im.pd, i)->attr);
	if (o->numa && !data_addresses) {
		cli_error(o->cmd,
			  "%s has no data addresses (no event samples ADDR and DATA_SRC): "
			  "record them with 'perf mem record' (Intel PEBS, AMD IBS, Arm SPE), "
			  "or sample page faults with 'pmuprof numa record'",
			  o->path);
		goto out;
	}
	if (o->c2c && !data_addresses) {
		cli_error(o->cmd, "%s has no data addresses (no event samples ADDR and DATA_SRC): "
				  "record them with 'pmuprof c2c record' or 'perf c2c record' (Intel "
				  "PEBS, AMD IBS); without those, 'pmuprof c2c watch' proves false "
				  "sharing with watchpoints", o->path);
		goto out;
	}
	/* Outputs before the work: a path that cannot be written fails at once. */
	struct base_output_opts pprof_opts = {.mode = 0644, .what = "profile", .flag = "-o",
					      .flags = o->keep_old ? BASE_OUTPUT_KEEP_OLD : 0};
	struct base_output_opts otlp_opts = {.mode = 0644, .what = "OTLP file", .flag = "--otlp"};
	if ((o->output && base_output_open(&out, o->output, &pprof_opts, err, sizeof(err)) < 0) ||
	    (o->otlp && base_output_open(&otlp_out, o->otlp, &otlp_opts, err, sizeof(err)) < 0)) {
		cli_error(o->cmd, "%s", err);
		goto out;
	}
	struct base_output *outs[] = {out, otlp_out};
	if (cli_outputs_ready(o->cmd, outs, 2, o->path) < 0) {
		status = 2;
		goto out;
	}
	char cache_dir[PATH_MAX];
	im.mem.node_ctx = im.pd;
	struct eng_tool tool = {.arg = &im.mem, .sample = collect ? c2c_collect_sample : NULL};
	struct eng_options eo = {
		.profile = o->output != NULL,
		.symbolize = o->symbolize,
		.line_size = o->line_size,
		.debug_cache_dir = cli_cache_dir(cache_dir, sizeof(cache_dir)),
		.tool = &tool,
	};
	if (pabi_perfdata_nnodes(im.pd) > 1) {
		eo.node_of_cpu = eng_perfdata_node_of_cpu;
		eo.node_ctx = im.pd;
	}
	if (proc_model_new(&im.procs) < 0 || eng_source_from_perfdata(&im.src, im.pd) < 0) {
		cli_error(o->cmd, "out of memory");
		goto out;
	}
	if (eng_new(&im.eng, &im.src, im.procs, &eo, err, sizeof(err)) < 0) {
		cli_error(o->cmd, "%s", err);
		goto out;
	}
	im.mem.procs = im.procs;
	if (collect && o->symbolize &&
	    c2c_resolver_new(&im.mem.names, im.procs, agg_symbols(eng_agg(im.eng))) < 0) {
		cli_error(o->cmd, "out of memory");
		goto out;
	}
	if (eng_run(im.eng, err, sizeof(err)) < 0) {
		cli_error(o->cmd, "%s: %s", o->path, err);
		goto out;
	}
	if (o->c2c) {
		struct c2c_report rep;
		struct c2c_options co = {.line_size = o->line_size};
		if (c2c_build(&rep, im.mem.s, im.mem.n, &co, err, sizeof(err)) < 0) {
			cli_error(o->cmd, "%s", err);
			goto out;
		}
		int ret = c2c_print(&rep, stdout, o->c2c_lines);
		c2c_report_free(&rep);
		if (ret < 0 || fflush(stdout) != 0) {
			cli_error(o->cmd, "cannot write the report to stdout: %s", strerror(errno));
			goto out;
		}
	}
	if (o->numa && print_numa(&im, o) < 0)
		goto out;
	if (!o->output) {
		status = 0;
		goto out;
	}
	struct pprof *prof = agg_profile(eng_agg(im.eng));
	pid_t workload = eng_main_pid(im.eng);
	const char *exe = workload ? proc_exe(im.procs, workload) : NULL;
	if (exe && pprof_find_mapping(prof, exe))
		pprof_set_main_mapping(prof, pprof_find_mapping(prof, exe));
	add_comments(&im, prof, o->argc, o->argv);
	size_t written = 0;
	if (pprof_write_output(prof, out, &written, err, sizeof(err)) < 0) {
		cli_error(o->cmd, "%s", err);
		goto out;
	}
	if (otlp_out && write_otlp(&im, otlp_out, workload ? workload : -1, prof) < 0)
		goto out;
	print_summary(&im, o->cmd, strcmp(o->output, "-") ? o->output : "standard output", written);
	status = 0;
out:
	base_output_close(otlp_out);
	base_output_close(out);
	import_free(&im);
	return status;
}

enum { OPT_OTLP = 256, OPT_NO_SYMBOLIZE, OPT_C2C };

int cmd_import(int argc, char **argv)
{
	struct cli_import_opts o = {.cmd = "import", .output = DEFAULT_OUTPUT, .keep_old = true,
				    .symbolize = true,
				    .c2c_lines = 20, .argc = argc, .argv = argv};
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"otlp", required_argument, NULL, OPT_OTLP},
		{"no-symbolize", no_argument, NULL, OPT_NO_SYMBOLIZE},
		{"c2c", no_argument, NULL, OPT_C2C},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.output = optarg;
			o.keep_old = false;
			break;
		case OPT_OTLP: o.otlp = optarg; break;
		case OPT_NO_SYMBOLIZE: o.symbolize = false; break;
		case OPT_C2C: o.c2c = true; break;
		case 'h': usage(stdout); return 0;
		default:
			cli_option_error("import", argv, "o,output,otlp");
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		cli_error("import", "expected one perf.data file (see pmuprof import --help)");
		return 2;
	}
	o.path = argv[optind];
	return cli_import_run(&o);
}
