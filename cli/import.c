/*
 * pmuprof import: a perf.data file (perf record, perf mem, perf c2c; file or
 * pipe mode) through the same export pipeline as record: process model,
 * aggregation, pprof and optionally OTLP.
 *
 * Records are delivered in perf's order: each FINISHED_ROUND flushes the
 * queued records up to the newest time of the previous round, sorted by
 * time (ties in file order), and records without a time are delivered at
 * once, as perf's ordered events do. Nothing is synthesized from /proc:
 * the file describes another moment and maybe another host.
 */
#include "base.h"
#include "cli.h"
#include "export.h"
#include "otlp.h"
#include "perfdata_format.h"
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

struct pending {
	struct smp_pd_record r;
	uint64_t seq;
	void *copy; /* owned copy of a record handed out in the reader's scratch buffer */
};

struct pid_count {
	uint32_t pid;
	uint64_t n;
};

struct import {
	struct smp_perfdata *pd;
	struct proc_model *procs;
	struct agg *agg;
	size_t nev;
	uint64_t *samples, *lost, *throttles;
	uint64_t unknown_id, bad, unattributed_lost, user_records;
	struct pending *q;
	size_t nq, qcap;
	uint64_t seq, max_time, flush_limit;
	struct pid_count *pids; /* samples per process, to name the main binary */
	size_t npids, pidcap;
	int error;
	bool c2c;                  /* --c2c: collect memory samples for the cache-line report */
	bool profile;              /* samples go to the pprof (c2c report without -o: no pprof) */
	struct c2c_sample *mem;    /* samples with a data address and a data source */
	size_t nmem, memcap;
	struct c2c_resolver *names; /* code and data symbols of mem (NULL: --no-symbolize) */
	int *agg_of;               /* perf.data event -> sample type (-1: a side-band dummy) */
};

/* perf's (and pmuprof's) side-band carrier: it samples nothing, so it is no sample type. */
static bool is_dummy(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_SOFTWARE && a->config == PERF_COUNT_SW_DUMMY;
}

/* --c2c: a sample that carries ADDR and DATA_SRC joins the cache-line report. */
static void collect_mem(struct import *im, const struct smp_pd_event *e, const struct smp_sample *s)
{
	if ((e->attr.sample_type & (PERF_SAMPLE_ADDR | PERF_SAMPLE_DATA_SRC)) !=
	    (PERF_SAMPLE_ADDR | PERF_SAMPLE_DATA_SRC))
		return;
	if (im->nmem == im->memcap) {
		size_t cap = im->memcap ? im->memcap * 2 : 256;
		struct c2c_sample *g = realloc(im->mem, cap * sizeof(*g));
		if (!g) {
			im->error = -ENOMEM;
			return;
		}
		im->mem = g;
		im->memcap = cap;
	}
	int32_t cpu = (e->attr.sample_type & PERF_SAMPLE_CPU) ? (int32_t)s->cpu : -1;
	/*
	 * perf counts a data address outside every known mapping as "no map", and
	 * looks it up in the maps of the sample's mode: a sample taken in the kernel
	 * resolves its data address among kernel maps, which hold no user memory
	 * (nor the kernel's direct map) — so only user-mode samples can map.
	 */
	bool ip_kernel = smp_addr_is_kernel(smp_mode_of_misc(s->misc), s->ip);
	bool mapped = s->addr && !ip_kernel &&
		      proc_find_map(im->procs, (pid_t)s->pid, s->addr) != NULL;
	im->mem[im->nmem++] = (struct c2c_sample){
		.pid = s->pid, .tid = s->tid, .cpu = cpu, .node = smp_perfdata_cpu_node(im->pd, cpu),
		.ip = s->ip, .ip_kernel = ip_kernel, .addr = s->addr, .data_src = s->data_src,
		.weight = s->weight, /* the latency for WEIGHT_STRUCT (smp_parse_sample) */
		.is_store = strstr(e->name, "store") != NULL, .nomap = !mapped,
	};
	if (im->names)
		c2c_resolve(im->names, &im->mem[im->nmem - 1]);
}

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

static void count_pid(struct import *im, uint32_t pid)
{
	for (size_t i = 0; i < im->npids; i++)
		if (im->pids[i].pid == pid) {
			im->pids[i].n++;
			return;
		}
	if (im->npids == im->pidcap) {
		size_t cap = im->pidcap ? 2 * im->pidcap : 16;
		struct pid_count *n = realloc(im->pids, cap * sizeof(*n));
		if (!n)
			return; /* only the choice of main binary suffers */
		im->pids = n;
		im->pidcap = cap;
	}
	im->pids[im->npids++] = (struct pid_count){pid, 1};
}

static void deliver(struct import *im, const struct smp_pd_record *r)
{
	const struct perf_event_header *h = r->h;
	if (h->type == PERF_RECORD_SAMPLE) {
		if (r->event < 0) {
			im->unknown_id++;
			return;
		}
		const struct smp_pd_event *e = smp_perfdata_event(im->pd, (size_t)r->event);
		struct smp_sample s;
		if (smp_parse_sample(&e->layout, h, &s) < 0) {
			im->bad++;
			return;
		}
		/* perf leaves PERIOD out of fixed-period events: the attr holds it. */
		if (!(e->attr.sample_type & PERF_SAMPLE_PERIOD))
			s.period = e->attr.freq ? 1 : e->attr.sample_period;
		im->samples[r->event]++;
		count_pid(im, s.pid);
		int ret = !im->profile || im->agg_of[r->event] < 0
				  ? 0 : agg_add_sample(im->agg, im->agg_of[r->event], &s);
		if (ret < 0 && !im->error)
			im->error = ret;
		if (im->c2c)
			collect_mem(im, e, &s);
		return;
	}
	uint64_t id, n;
	int loss = smp_record_loss(h, &id, &n);
	if (loss < 0) {
		im->bad++;
		return;
	}
	if (loss > 0) {
		/* LOST names its event by id in the body; LOST_SAMPLES by its trailer. */
		int ev = h->type == PERF_RECORD_LOST ? smp_perfdata_event_of_id(im->pd, id) : r->event;
		if (ev < 0 && im->nev == 1)
			ev = 0;
		if (ev >= 0)
			im->lost[ev] += n;
		else
			im->unattributed_lost += n;
		return;
	}
	if (h->type == PERF_RECORD_THROTTLE) {
		im->throttles[r->event >= 0 ? r->event : 0]++;
		return;
	}
	if ((h->type == PERF_RECORD_MMAP || h->type == PERF_RECORD_MMAP2) && h->size >= 16) {
		/*
		 * pid -1: perf's kernel and module maps. The model keeps processes
		 * only; kernel addresses are symbolized as on the live path.
		 */
		int32_t pid;
		memcpy(&pid, h + 1, sizeof(pid));
		if (pid == -1)
			return;
	}
	if (proc_apply_record(im->procs, h) < 0)
		im->bad++;
	agg_on_sideband(im->agg, h);
}

static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	if (x->r.time != y->r.time)
		return x->r.time < y->r.time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Delivers the queued records with time <= limit in time order; the rest stay queued. */
static void flush(struct import *im, uint64_t limit)
{
	if (!im->nq)
		return;
	qsort(im->q, im->nq, sizeof(*im->q), cmp_pending);
	size_t i = 0;
	for (; i < im->nq && im->q[i].r.time <= limit; i++) {
		deliver(im, &im->q[i].r);
		free(im->q[i].copy);
	}
	memmove(im->q, im->q + i, (im->nq - i) * sizeof(*im->q));
	im->nq -= i;
}

static int queue(struct import *im, const struct smp_pd_record *r)
{
	if (im->nq == im->qcap) {
		size_t cap = im->qcap ? 2 * im->qcap : 4096;
		struct pending *n = realloc(im->q, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		im->q = n;
		im->qcap = cap;
	}
	struct pending *p = &im->q[im->nq];
	p->r = *r;
	p->seq = im->seq++;
	p->copy = NULL;
	if (r->scratch) {
		if (!(p->copy = malloc(r->h->size)))
			return -ENOMEM;
		memcpy(p->copy, r->h, r->h->size);
		p->r.h = p->copy;
	}
	im->nq++;
	if (r->time > im->max_time)
		im->max_time = r->time;
	return 0;
}

static int event_of_id(void *ctx, uint64_t id, bool *per_thread)
{
	struct import *im = ctx;
	int ev = smp_perfdata_event_of_id(im->pd, id);
	*per_thread = ev >= 0 && smp_perfdata_event(im->pd, (size_t)ev)->attr.inherit;
	return ev < 0 ? -1 : im->agg_of[ev];
}

static int run_records(struct import *im, char *err, size_t errlen)
{
	struct smp_pd_record r;
	int ret;
	while ((ret = smp_perfdata_next(im->pd, &r, err, errlen)) > 0) {
		uint32_t type = r.h->type;
		if (type == PERFDATA_FINISHED_ROUND) {
			flush(im, im->flush_limit);
			im->flush_limit = im->max_time;
			continue;
		}
		if (type == PERFDATA_COMPRESSED || type == PERFDATA_COMPRESSED2)
			return pmu_fail(err, errlen, -ENOTSUP, "record at offset %llu is zstd-compressed "
					"(perf record -z); decompress with `perf inject -i IN -o OUT` "
					"first", (unsigned long long)r.offset);
		if (type >= PERFDATA_USER_TYPE_START) { /* perf's bookkeeping: read at open */
			im->user_records++;
			continue;
		}
		if (r.time == 0) {
			deliver(im, &r);
			continue;
		}
		if (queue(im, &r) < 0)
			return pmu_fail(err, errlen, -ENOMEM, "out of memory");
	}
	if (ret < 0)
		return ret;
	flush(im, UINT64_MAX);
	if (im->error)
		return pmu_fail(err, errlen, im->error, "aggregating samples: %s",
				strerror(-im->error));
	return 0;
}

static bool is_clock(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_SOFTWARE &&
	       (a->config == PERF_COUNT_SW_CPU_CLOCK || a->config == PERF_COUNT_SW_TASK_CLOCK);
}

static void add_comments(struct import *im, struct pprof *prof, int argc, char **argv)
{
	char line[512];
	struct exp_event_counts *ev = calloc(im->nev ? im->nev : 1, sizeof(*ev));
	size_t n = 0;
	uint64_t dummy_lost = 0, dummy_throttled = 0;
	for (size_t i = 0; ev && i < im->nev; i++) {
		if (im->agg_of[i] < 0) { /* side-band dummies: counted, not listed */
			dummy_lost += im->lost[i];
			dummy_throttled += im->throttles[i];
			continue;
		}
		ev[n++] = (struct exp_event_counts){smp_perfdata_event(im->pd, i)->name,
						    im->samples[i], im->lost[i], im->throttles[i]};
	}
	struct exp_run_comments c = {.head = "pmuprof " PMUPROF_VERSION, .argc = argc,
				     .argv = argv, .ev = ev, .nev = n,
				     .unattributed_lost = im->unattributed_lost + dummy_lost,
				     .unattributed_throttles = dummy_throttled};
	if (!ev || exp_add_run_comments(prof, &c) < 0)
		cli_error("import", "out of memory: the profile's comments are incomplete");
	free(ev);
	if (im->bad || im->unknown_id) {
		snprintf(line, sizeof(line), "malformed records skipped: %llu; samples of unknown "
			 "event id: %llu", (unsigned long long)im->bad,
			 (unsigned long long)im->unknown_id);
		pprof_add_comment(prof, line);
	}
	if (agg_symbolize_summary(im->agg, line, sizeof(line)) > 0)
		pprof_add_comment(prof, line);
}

static uint32_t main_pid(const struct import *im)
{
	uint32_t best = 0;
	uint64_t n = 0;
	for (size_t i = 0; i < im->npids; i++)
		if (im->pids[i].n > n && im->pids[i].pid != 0 && im->pids[i].pid != (uint32_t)-1)
			best = im->pids[i].pid, n = im->pids[i].n;
	return best;
}

static int write_otlp(struct import *im, struct base_output *out, pid_t workload,
		      const struct pprof *prof)
{
	char err[PMU_ERR_MAX];
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
	uint64_t lost = im->unattributed_lost, throttled = 0;
	fprintf(stderr, "pmuprof %s: samples", cmd);
	for (size_t i = 0, shown = 0; i < im->nev; i++) {
		lost += im->lost[i];
		throttled += im->throttles[i];
		if (im->agg_of[i] < 0)
			continue;
		cli_format_count((double)im->samples[i], buf, sizeof(buf));
		fprintf(stderr, "%s %s %s", shown++ ? "," : "", smp_perfdata_event(im->pd, i)->name,
			buf);
	}
	fprintf(stderr, "; lost %llu; throttled %llu; wrote %s (%.1f KiB)\n",
		(unsigned long long)lost, (unsigned long long)throttled, output,
		(double)bytes / 1024.0);
	if (im->bad || im->unknown_id)
		fprintf(stderr, "pmuprof %s: skipped %llu malformed records and %llu samples of "
			"unknown event ids\n", cmd, (unsigned long long)im->bad,
			(unsigned long long)im->unknown_id);
}

static void import_free(struct import *im)
{
	free(im->mem);
	c2c_resolver_free(im->names);
	for (size_t i = 0; i < im->nq; i++)
		free(im->q[i].copy);
	free(im->q);
	agg_free(im->agg);
	proc_model_free(im->procs);
	smp_perfdata_close(im->pd);
	free(im->samples);
	free(im->lost);
	free(im->throttles);
	free(im->pids);
	free(im->agg_of);
}

static int file_node_of_cpu(const void *pd, int cpu)
{
	return smp_perfdata_cpu_node(pd, cpu);
}

int cli_import_run(const struct cli_import_opts *o)
{
	char err[PMU_ERR_MAX];
	struct import im = {.c2c = o->c2c, .profile = o->output != NULL};
	int status = 1;
	const char **names = NULL, **units = NULL;
	struct base_output *out = NULL, *otlp_out = NULL;
	if (o->c2c && o->output && strcmp(o->output, "-") == 0) {
		cli_error(o->cmd, "-o - would mix the pprof with the report on standard output; "
				  "give -o a file name");
		return 2;
	}
	if (smp_perfdata_open(&im.pd, o->path, err, sizeof(err)) < 0) {
		cli_error(o->cmd, "%s", err);
		return 1;
	}
	im.nev = smp_perfdata_nevents(im.pd);
	bool data_addresses = false;
	for (size_t i = 0; i < im.nev; i++)
		data_addresses |= c2c_attr_has_data_addresses(&smp_perfdata_event(im.pd, i)->attr);
	if (im.c2c && !data_addresses) {
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
	im.samples = calloc(im.nev, sizeof(uint64_t));
	im.lost = calloc(im.nev, sizeof(uint64_t));
	im.throttles = calloc(im.nev, sizeof(uint64_t));
	names = calloc(im.nev, sizeof(char *));
	units = calloc(im.nev, sizeof(char *));
	im.agg_of = calloc(im.nev, sizeof(int));
	if (!im.samples || !im.lost || !im.throttles || !names || !units || !im.agg_of ||
	    proc_model_new(&im.procs) < 0) {
		cli_error(o->cmd, "out of memory");
		goto out;
	}
	/* Sample types: every event but the side-band dummies (all of them if that is all). */
	size_t ntypes = 0, ndummy = 0;
	for (size_t i = 0; i < im.nev; i++)
		ndummy += is_dummy(&smp_perfdata_event(im.pd, i)->attr);
	const struct perf_event_attr *first = NULL;
	bool have_cpu = true; /* a cpu label only when every event sampled it */
	for (size_t i = 0; i < im.nev; i++) {
		const struct smp_pd_event *e = smp_perfdata_event(im.pd, i);
		im.agg_of[i] = -1;
		if (ndummy < im.nev && is_dummy(&e->attr))
			continue;
		im.agg_of[i] = (int)ntypes;
		names[ntypes] = e->name;
		units[ntypes++] = is_clock(&e->attr) ? "nanoseconds" : "count";
		have_cpu &= !!(e->attr.sample_type & PERF_SAMPLE_CPU);
		if (!first)
			first = &e->attr;
	}
	char cache_dir[PATH_MAX];
	struct agg_options ao = {
		.event_names = names, .event_units = units, .nevents = ntypes,
		.period = first->freq ? 0 : (int64_t)first->sample_period,
		.symbolize = o->symbolize, .cpu_label = have_cpu,
		.event_of_id = event_of_id, .id_ctx = &im,
		.mem_labels = true, .line_size = o->line_size,
		.debug_cache_dir = cli_cache_dir(cache_dir, sizeof(cache_dir)),
	};
	if (have_cpu && smp_perfdata_nnodes(im.pd) > 1) {
		ao.node_of_cpu = file_node_of_cpu;
		ao.node_ctx = im.pd;
	}
	if (agg_new(&im.agg, &ao, im.procs, err, sizeof(err)) < 0) {
		cli_error(o->cmd, "%s", err);
		goto out;
	}
	if (im.c2c && o->symbolize &&
	    c2c_resolver_new(&im.names, im.procs, agg_symbols(im.agg)) < 0) {
		cli_error(o->cmd, "out of memory");
		goto out;
	}
	int ret = run_records(&im, err, sizeof(err));
	if (ret < 0) {
		cli_error(o->cmd, "%s: %s", o->path, err);
		goto out;
	}
	if (im.c2c) {
		struct c2c_report rep;
		struct c2c_options co = {.line_size = o->line_size};
		if (c2c_build(&rep, im.mem, im.nmem, &co, err, sizeof(err)) < 0) {
			cli_error(o->cmd, "%s", err);
			goto out;
		}
		ret = c2c_print(&rep, stdout, o->c2c_lines);
		c2c_report_free(&rep);
		if (ret < 0 || fflush(stdout) != 0) {
			cli_error(o->cmd, "cannot write the report to stdout: %s", strerror(errno));
			goto out;
		}
	}
	if (!o->output) {
		status = 0;
		goto out;
	}
	struct pprof *prof = agg_profile(im.agg);
	pid_t workload = (pid_t)main_pid(&im);
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
	free(names);
	free(units);
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
