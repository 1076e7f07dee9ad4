/*
 * engine — from record streams to profiles: one path for every record,
 * whatever its source.
 *
 * A source (the live sampler session, a perf.data file in file or pipe
 * mode, a synthetic one in tests) hands over chunks of records and its
 * table of events; the merger (merge.c) puts the records in time order, and
 * the engine (engine.c) applies the per-record rules once, for every source:
 *   - a SAMPLE is parsed with its event's layout; its period comes from the
 *     attr when the event does not sample it (perf's fixed-period events);
 *     it is aggregated under its event's sample type (side-band dummies
 *     have none);
 *   - MMAP/MMAP2, COMM, FORK and EXIT update the process model (maps with
 *     pid -1, perf's kernel and module maps, are not a process's) and drop
 *     stale unwind state (agg_on_sideband);
 *   - LOST and LOST_SAMPLES are counted against their event (by the id in
 *     LOST's body, by the record's own event for LOST_SAMPLES; a one-event
 *     source claims all), THROTTLE against its event;
 * then calls the tool's callback of that record type, as perf's struct
 * perf_tool. The profile's sample types, units, period, labels and
 * unwinding follow from the events' attrs, so a recording and its
 * perf.data give the same profile.
 *
 * Also here: each thread's region and trace labels over time (labels.c),
 * the aggregation of samples into a pprof with symbols, unwound stacks and
 * labels (aggregate.c), c2c report's sample collection, a tool callback
 * (c2c_collect.c), and stat's counts as a pprof (stat_profile.c).
 *
 * Depends on sampler/ (chunks), channel/, process/, symbols/, unwind/,
 * profile/, c2c/ and topology/ (stat's groups); cli/ drives it.
 */
#ifndef PMUPROF_ENGINE_H
#define PMUPROF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "c2c.h"
#include "channel.h"
#include "process.h"
#include "profile.h"
#include "sampler.h"
#include "symbols.h"
#include "topology.h"
#include "unwind.h"

/* --- merge: per-CPU streams in timestamp order --------------------------------- */

/* Where the merger gets chunks: the sampler session, or a synthetic source in tests. */
struct mrg_source {
	int (*take)(void *src, struct smp_batch *batch);
	void (*release)(void *src, struct smp_chunk *chunk);
	void *src;
};

struct mrg_record {
	const struct perf_event_header *h;
	uint64_t time;
	uint32_t cpu;
};

struct mrg;
int mrg_new(struct mrg **out, const struct mrg_source *src);
void mrg_free(struct mrg *m);
/*
 * Takes what the source has (all it still holds once it has stopped) and
 * emits, in (time, arrival) order, every record older than the source's
 * safe time (all of them once the source is final),
 * like perf's ordered events flushed at each finished round. Records newer
 * than the safe time wait for a later call, so memory stays bounded by what
 * arrives in about one drain interval.
 */
int mrg_pump(struct mrg *m, int (*fn)(void *arg, const struct mrg_record *r), void *arg);
size_t mrg_pending(const struct mrg *m);
/* The source held more than the last pump took (a backlog being caught up). */
bool mrg_behind(const struct mrg *m);
/* The source said it is final and every record was emitted. */
bool mrg_final(const struct mrg *m);
/* The source wrapping a sampler session. */
void mrg_source_from_session(struct mrg_source *src, struct smp_session *s);

/* --- aggregation: samples to a pprof ------------------------------------------- */

struct agg_options {
	const char *const *event_names; /* sample type names, in -e order */
	const char *const *event_units; /* per event ("count", "nanoseconds"); NULL: count */
	size_t nevents;
	int64_t period;          /* the first event's -c period, or 0 when sampled by frequency */
	bool symbolize;          /* false: addresses and mappings only (--no-symbolize) */
	bool dwarf;              /* unwind user stacks from sampled registers + stack (unwind.h) */
	uint64_t regs_user_mask; /* the registers sampled with the stack (dwarf) */
	bool cpu_label;
	/*
	 * The NUMA node of a CPU, for a "node" label on every sample (-1:
	 * unknown); NULL on a one-node machine, where the label says nothing.
	 */
	int (*node_of_cpu)(const void *ctx, int cpu);
	const void *node_ctx;
	/*
	 * Leader sampling: which event a group-read counter id belongs to (-1:
	 * none), and whether that counter has a copy per thread (inherited: each
	 * thread counts on its own) or is one per CPU or task (whoever runs
	 * there moves it on), which decides what a delta is taken against.
	 */
	int (*event_of_id)(void *ctx, uint64_t id, bool *per_thread);
	void *id_ctx;
	struct lbl_timeline *labels; /* region / trace labels (labels.c below); NULL: none */
	size_t symbol_cache_bytes; /* the symbol cache's byte budget (sym_cache_set_budget); 0: none */
	const char *
		debug_cache_dir; /* plain copies of compressed debug files (sym_cache_set_debug_dir) */
	/*
	 * Samples with a data address get the labels cacheline, offset, data_src
	 * and weight (c2c_sample_labels); the caller passes the weight as perf
	 * reports it (pabi_sample.weight: WEIGHT_STRUCT's low 32 bits).
	 */
	bool mem_labels;
	uint32_t line_size; /* 0: 64 */
};

struct agg;
int agg_new(struct agg **out, const struct agg_options *o, struct proc_model *procs, char *err,
	    size_t errlen);
void agg_free(struct agg *a);
/* One sample of event `event` (index into event_names). */
int agg_add_sample(struct agg *a, int event, const struct pabi_sample *s);
/*
 * The stack agg_add_sample would give s, as location ids of agg_profile
 * (leaf first; at most AGG_MAX_STACK), for a tool that adds the sample
 * itself later, under labels known only then (numa record's page nodes).
 */
#define AGG_MAX_STACK 512
size_t agg_sample_stack(struct agg *a, const struct pabi_sample *s, uint64_t *locs);
/* A side-band record, after the process model applied it: drops stale unwind state. */
void agg_on_sideband(struct agg *a, const struct perf_event_header *h);
/* Comment lines about unwinding (stacks, frames, time, why unwinds stopped); 0 if none. */
int agg_unwind_summary(const struct agg *a, char *buf, size_t len);
/*
 * Comment line about symbolization (distinct addresses, time), as of the
 * last agg_profile; 0 if none.
 */
int agg_symbolize_summary(const struct agg *a, char *buf, size_t len);
/*
 * Starts a new window (the agent): an empty profile, the same options;
 * symbol and unwind caches are kept. The previous profile is freed.
 */
int agg_reset(struct agg *a, char *err, size_t errlen);
/*
 * The underlying builder, to set comments, times and write it out, with
 * every location symbolized: addresses are only recorded while samples come
 * in, and the ones new since the last call are looked up here, once each,
 * module by module (a module's tables and DWARF are dropped once its
 * addresses are done, or under symbol_cache_bytes when the budget needs
 * them). Every writer of the profile gets it from here, after the
 * last sample; a location whose lookup runs out of memory stays unnamed.
 */
struct pprof *agg_profile(struct agg *a);
/* The symbol cache samples are symbolized with (NULL with symbolize off), for c2c_resolve. */
struct sym_cache;
struct sym_cache *agg_symbols(struct agg *a);
uint64_t agg_samples(const struct agg *a, int event);

/* --- labels: each thread's region and trace context over time (labels.c) -------- */

/*
 * Built from the recorder channel's events (channel/channel.h), looked up per
 * sample by (pid, tid, time). Regions nest per thread; the `region` label is
 * the innermost open region (pprof's -tagfocus then selects exactly the code
 * that region ran; the outer ones are the stack's business). Trace context
 * is the last CHANNEL_TRACE of the thread (all-zero trace id: none).
 *
 * Samples reach lbl_lookup in time order (the merger's), so each thread
 * keeps its state at a cursor plus the events not yet reached; events at or
 * before a lookup's time are folded into the state and dropped, and events
 * before the latest lookup time of all threads are folded by lbl_add, so
 * memory is bounded by what arrives within the merger's lag. An event that
 * arrives late (older than a lookup already answered) applies from the next
 * lookup on; it is counted. Not thread-safe: one consumer.
 */
struct lbl_timeline;

struct lbl_stats {
	uint64_t channel_read; /* events lbl_drain read from the channel */
	uint64_t channel_lost; /* lost by the channel (overrun, abandoned writes) or to no memory */
	uint64_t events;       /* accepted by lbl_add */
	uint64_t late;         /* older than a lookup already answered for their thread */
	uint64_t unmatched_ends; /* REGION_END with no open region of that name */
	uint64_t bad;            /* unknown kind: ignored */
	uint64_t allocs;         /* CHANNEL_ALLOC and CHANNEL_FREE, handed to lbl_allocs' index */
	uint64_t folded_early;   /* applied early to bound memory (a thread without samples) */
	size_t threads;          /* threads with state now */
};

int lbl_new(struct lbl_timeline **out);
void lbl_free(struct lbl_timeline *tl);
/* Events in the channel's order (per thread in time order); 0 or -ENOMEM. */
int lbl_add(struct lbl_timeline *tl, const struct channel_event *ev, size_t n);
/*
 * The labels of a sample of (pid, tid) at `time`: the innermost region
 * (NULL: none) and the trace context (16 and 8 bytes; NULL: none). The
 * pointers stay valid until the next lbl_add or lbl_lookup. True if any.
 */
bool lbl_lookup(struct lbl_timeline *tl, uint32_t pid, uint32_t tid, uint64_t time,
		const char **region, const uint8_t **trace_id, const uint8_t **span_id);
void lbl_get_stats(const struct lbl_timeline *tl, struct lbl_stats *st);
/* One comment line: channel events read and lost, late and unmatched events (0: nothing happened). */
int lbl_summary(const struct lbl_timeline *tl, char *buf, size_t len);
/*
 * The recorder channel the timeline drains (not owned; NULL: none). Call
 * lbl_drain before merging each batch of records: an event published
 * before a sample's time is in the channel by the time the merger, which
 * lags by its safe time, emits that sample. 0 or -ENOMEM.
 */
void lbl_set_channel(struct lbl_timeline *tl, struct channel *ch);
int lbl_drain(struct lbl_timeline *tl);
/*
 * Attaches a timeline to an aggregation after agg_new (for callers whose
 * agg_options are built elsewhere, as record's pipeline); NULL detaches.
 */
void agg_set_labels(struct agg *a, struct lbl_timeline *tl);
/* The attached timeline, or NULL (the pipeline drains it before each merge). */
struct lbl_timeline *agg_labels(const struct agg *a);

/* --- allocations: heap blocks libpmuprof_alloc.so reported (allocs.c) ----------- */

/*
 * The channel's CHANNEL_ALLOC and CHANNEL_FREE events, which lbl_add hands
 * here (lbl_allocs gives the index, NULL until the first one arrives): per
 * process, which allocation covered an address at a time, and the return
 * addresses of the code that made it.
 */
struct eng_alloc {
	uint32_t pid, tid; /* who allocated */
	uint64_t addr, len;
	uint64_t time, freed; /* CLOCK_MONOTONIC ns; freed is UINT64_MAX while live */
	uint32_t how;         /* enum channel_alloc_how */
	uint32_t nips;
	uint64_t ips[CHANNEL_ALLOC_IPS]; /* the allocating call's return address first */
};

struct eng_allocs_stats {
	uint64_t allocs, freed;
	uint64_t unmatched_frees; /* a FREE of no live allocation (its ALLOC was lost) */
	uint64_t bad;             /* an empty or wrapping range: dropped */
};

struct eng_allocs;
int eng_allocs_new(struct eng_allocs **out);
void eng_allocs_free(struct eng_allocs *a);
/* One CHANNEL_ALLOC or CHANNEL_FREE event; 0, -EINVAL for another kind, -ENOMEM. */
int eng_allocs_add(struct eng_allocs *a, const struct channel_event *ev);
/* The allocation of process pid live at `time` that holds addr (the newest if several), or NULL. */
const struct eng_alloc *eng_allocs_find(struct eng_allocs *a, uint32_t pid, uint64_t addr,
					uint64_t time);
void eng_allocs_get_stats(const struct eng_allocs *a, struct eng_allocs_stats *st);
/* The allocations the timeline's channel reported, or NULL when none arrived. */
struct eng_allocs *lbl_allocs(const struct lbl_timeline *tl);

/* --- the engine (engine.c) --------------------------------------------------- */

/* Where records and their events come from. */
struct eng_source {
	struct mrg_source records; /* chunks of records, each after its smp_entry */
	size_t nevents;
	/* Event i's attr as opened or recorded, and its name (valid as long as the source). */
	void (*attr)(void *ctx, size_t i, struct perf_event_attr *out, const char **name);
	/* The event of a record (sample or side-band), -1 when unknown. */
	int (*event_of)(void *ctx, const struct perf_event_header *h);
	/* The event of an id (LOST's body, group reads), -1 when unknown. */
	int (*event_of_id)(void *ctx, uint64_t id);
	void *ctx;
	/* Private state of the perf.data source (eng_source_from_perfdata). */
	struct eng_pd_source *pd;
};

/* The live session's rings. */
void eng_source_from_session(struct eng_source *src, struct smp_session *s);
/*
 * A perf.data file: its records in rounds (each FINISHED_ROUND releases the
 * records up to the newest time of the round before, as perf's ordered
 * events), each round copied into chunks (memory: about one round), perf's
 * own user records skipped. 0 or -ENOMEM; free it with eng_source_free
 * after the engine.
 */
int eng_source_from_perfdata(struct eng_source *src, struct pabi_perfdata *pd);
void eng_source_free(struct eng_source *src);

/* What a source's event is to the engine. */
struct eng_event {
	struct perf_event_attr attr;
	const char *name;
	struct pabi_layout layout;
	int type; /* sample type index in the profile, -1: a side-band dummy */
	uint64_t samples, lost, throttles;
};

/*
 * Callbacks after the engine's own rules (any may be NULL); a negative
 * return stops the pump and is returned by it.
 */
struct eng_tool {
	void *arg;
	/* Every record, as delivered, before its rules (record's --perf-data). */
	int (*record)(void *arg, const struct perf_event_header *h);
	int (*sample)(void *arg, const struct eng_event *ev, const struct pabi_sample *s);
	int (*mmap)(void *arg, const struct perf_event_header *h); /* MMAP and MMAP2 */
	int (*comm)(void *arg, const struct perf_event_header *h);
	int (*fork)(void *arg, const struct perf_event_header *h);
	int (*exit)(void *arg, const struct perf_event_header *h);
	int (*lost)(void *arg, int ev, uint64_t n); /* ev -1: no event claims it */
	int (*throttle)(void *arg, int ev, bool unthrottle);
	/* After each pump: the records up to the source's safe time were delivered. */
	int (*finished_round)(void *arg);
};

struct eng_options {
	bool profile; /* add samples to the pprof (c2c report without -o: symbols only) */
	bool symbolize;
	size_t symbol_cache_bytes; /* sym_cache_set_budget; 0: unbounded */
	const char *debug_cache_dir;
	uint32_t line_size; /* cache line of the mem labels; 0: 64 */
	/* The NUMA node of a CPU (see agg_options); NULL: no node label. */
	int (*node_of_cpu)(const void *ctx, int cpu);
	const void *node_ctx;
	const struct eng_tool *tool; /* NULL: the engine's rules only */
	/*
	 * record --perf-data (not owned; NULL: none): every record delivered is
	 * written to it byte for byte, in delivery order, with a FINISHED_ROUND
	 * after each pump. A write failure costs the file, not the profile: the
	 * tee stops and eng_perf_data_error says why.
	 */
	struct pabi_pdw *perf_data;
};

/* --- a profile to read: pprof or perf.data (read_profile.c) --- */

struct eng_read_opts {
	bool symbolize;              /* a perf.data's addresses (a pprof is read as it is) */
	const char *debug_cache_dir; /* where fetched debug files are kept; NULL: none */
	uint64_t max_inflated;       /* a gzipped pprof's limit (pprof_read_file); 0: default */
};
/*
 * The profile at path: a pprof (gzipped or not) as pprof_read_file reads it,
 * or a perf.data file (file mode, pabi_perfdata_probe) aggregated into one
 * the way `pmuprof import` does. 0, or -errno with err set (-EFBIG: the pprof
 * inflates past max_inflated).
 */
int eng_read_profile(struct pprof_read **out, const char *path, const struct eng_read_opts *o,
		     char *err, size_t errlen);
/* A perf.data's NUMA node of a CPU (its HEADER_NUMA_TOPOLOGY), for eng_options.node_of_cpu. */
int eng_perfdata_node_of_cpu(const void *pd, int cpu);

struct eng;
/*
 * An engine over src (not owned) and procs (the process model, not owned):
 * events, sample types and the aggregation. 0, or -errno with err set.
 */
int eng_new(struct eng **out, const struct eng_source *src, struct proc_model *procs,
	    const struct eng_options *o, char *err, size_t errlen);
void eng_free(struct eng *e);
/*
 * Delivers what the source has, in time order, up to its safe time (all of
 * it once it is final). 0, a tool's negative return, or -errno (with no
 * memory to aggregate a sample: the first such error, the pump goes on).
 */
int eng_pump(struct eng *e);
/* The last pump left records in the source: pump again soon rather than wait. */
bool eng_behind(const struct eng *e);
/*
 * One record from outside the source, delivered now through the same rules
 * and tool as the source's: the records synthesized from /proc for the
 * processes that already run, before the first pump. 0 or a tool's
 * negative return.
 */
int eng_apply(struct eng *e, const struct perf_event_header *h);
/*
 * The records of processes that already run (pid; -1: every process; data:
 * their data mappings too), synthesized from /proc (pabi_synthesize) with
 * the trailer l and sid, and
 * applied with eng_apply; and the kernel's own map, which only a perf.data
 * needs. 0, -ENOENT / -ESRCH when the process is gone, or -errno.
 */
int eng_synthesize(struct eng *e, pid_t pid, bool data, const struct pabi_layout *l,
		   const struct pabi_sample_id *sid, char *err, size_t errlen);
int eng_synthesize_kernel(struct eng *e, const struct pabi_layout *l,
			  const struct pabi_sample_id *sid, char *err, size_t errlen);
/* The perf.data tee's first failure (0: none) and its message. */
int eng_perf_data_error(const struct eng *e, const char **msg);
/* Drains a source that ends by itself (a file) to its end; 0 or -errno with err set. */
int eng_run(struct eng *e, char *err, size_t errlen);

size_t eng_nevents(const struct eng *e);
const struct eng_event *eng_event(const struct eng *e, size_t i);
/* Sample types (events that are not side-band dummies). */
size_t eng_ntypes(const struct eng *e);
struct agg *eng_agg(struct eng *e);
/* Samples of unknown events, malformed records, losses no event claims. */
struct eng_stats {
	uint64_t unknown_id, bad, unattributed_lost;
};
void eng_get_stats(const struct eng *e, struct eng_stats *st);
/* Samples lost and throttle events of the whole run, attributed or not. */
void eng_loss_totals(const struct eng *e, uint64_t *lost, uint64_t *throttles);
/*
 * The run's comments (pprof_add_run_comments): HEAD and the command line, then
 * samples, lost and throttles per sample type; a side-band dummy's losses
 * and throttles are no sample type's. 0 or -ENOMEM.
 */
int eng_add_run_comments(const struct eng *e, struct pprof *prof, const char *head, int argc,
			 char **argv);
/* The profile's comment on skipped records (malformed, unknown event); 0 when none was. */
int eng_skipped_summary(const struct eng *e, char *buf, size_t len);
/* The process with the most samples (pid 0 and -1 aside): the main binary's; 0 if none. */
pid_t eng_main_pid(const struct eng *e);

/* --- stat's counts as a pprof (stat_profile.c) -------------------------------- */

/* What pmuprof stat counted, per aggregation group. */
struct eng_stat_counts {
	const struct pmu_event_list *evs; /* as counted (pmu_counters_events) */
	const bool *supported;            /* per event; false: the host lacks it; NULL: all */
	/* counts[g * evs->n + i]: event i in group g, as read (not yet scaled) */
	const struct pmu_count *counts;
	const struct topo_group *groups; /* NULL: one group, the sum, without labels */
	size_t ngroups;
	enum topo_aggr mode;
	const struct topo *topo; /* TOPO_AGGR_CPU: each CPU's node */
	const char *what;        /* the one frame: "sleep", "all CPUs", "CPUs 0-3", "pid 42" */
	int64_t time_nanos, duration_nanos;
	const char *head; /* the comments' "pmuprof VERSION" */
	int argc;         /* the command line, for the comments */
	char **argv;
};

/*
 * The counts as a pprof: one sample type per supported event (its name;
 * unit "count", "nanoseconds" for clocks), each value scaled by
 * enabled/running as stat prints it; one sample per group on the one frame
 * `what`, labelled node (--per-node), socket (--per-socket), socket, die and
 * core (--per-core), or cpu and node (-A), every label with its unit; the
 * run's comments and one comment per event on its multiplexing. 0 or
 * -errno, err set.
 */
int eng_stat_profile(struct pprof **out, const struct eng_stat_counts *c, char *err, size_t errlen);

/* --- statistics over repeated runs: stat -r, stat --compare (stats.c) --------- */

/* A running mean and sum of squared deviations (Welford), as perf stat's struct stats. */
struct eng_runstats {
	uint64_t n;
	double mean;
	double m2;
};

void eng_runstats_add(struct eng_runstats *s, double v);
/* The sample variance (n - 1 in the denominator); 0 below two values. */
double eng_runstats_variance(const struct eng_runstats *s);
/* The standard error of the mean, sqrt(variance / n): perf stat -r's "+-"; 0 below two values. */
double eng_runstats_stderr(const struct eng_runstats *s);
/* sd as a percent of avg (0 when avg is 0): perf's "( +- x.xx% )". */
double eng_runstats_rel_pct(double sd, double avg);
/* The regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1. */
double eng_betai(double a, double b, double x);
/* Student's t distribution with df degrees of freedom: P(|T| >= |t|), the two-sided p-value. */
double eng_student_t_p2(double t, double df);

/* Welch's t-test of two samples' means (variances not assumed equal). */
struct eng_welch {
	double t, df, p; /* p: two-sided */
};
/* 0, or -EDOM when a sample has fewer than two values. */
int eng_welch(const struct eng_runstats *a, const struct eng_runstats *b, struct eng_welch *w);

/* --- stat --compare's inputs: stat -j results (stat_result.c) ------------------ */

/* One counted event (of one aggregation group) of a stat -j result. */
struct eng_stat_entry {
	char name[200]; /* the event, after its group where there is one ("node N0 cycles") */
	char unit[32];
	double *values; /* each run's count ("run-values"), or the one count */
	size_t n;       /* 0: not supported, or not counted */
};

struct eng_stat_result {
	struct eng_stat_entry *e;
	size_t n;
};

/*
 * Reads what stat -j wrote to path (pmuprof's, with -r's "run-values", or perf's);
 * 0, or -errno with a message naming the file, the line and the fix.
 */
int eng_stat_result_load(const char *path, struct eng_stat_result *r, char *err, size_t errlen);
void eng_stat_result_free(struct eng_stat_result *r);

/* --- stat --compare's table (stat_compare.c) ----------------------------------- */

/*
 * benchstat's table for two stat -j results, in numbers, one row per event in
 * a's order; name_a and name_b (the files) name them in the error. 0; -EINVAL
 * when they count different events; -ENOMEM. *rows (a->n of them) is freed by
 * the caller and points into a.
 */
struct eng_stat_side {
	size_t n;    /* the runs; 0: not supported, or not counted */
	double mean; /* of the runs' counts */
	double pct;  /* the mean's standard error as a percent of it (0 below two runs) */
};
struct eng_stat_cmp_row {
	const struct eng_stat_entry *entry; /* a's: the event's name and unit */
	struct eng_stat_side a, b;
	bool tested;           /* both have two runs or more: welch holds the test */
	struct eng_welch welch;
	bool differs;          /* tested, p <= 0.05 and a's mean not 0: delta_pct holds */
	double delta_pct;      /* (b - a) / a, percent */
};
int eng_stat_compare(const struct eng_stat_result *a, const char *name_a,
		     const struct eng_stat_result *b, const char *name_b,
		     struct eng_stat_cmp_row **rows, char *err, size_t errlen);

/* --- stat -r: the counts of repeated runs averaged (stat_runs.c) ------------- */

/* A count in the units stat prints: msec for clocks, the sysfs .scale applied. */
double eng_stat_value(const struct pmu_event *ev, const struct pmu_count *c);

/* Counting slots: [group * evs->n + event], one group without aggregation. */
struct eng_stat_runs {
	const struct pmu_event_list *evs;
	size_t nslots;
	bool grouped; /* aggregation groups: perf prints no "+-" for them (noise 0) */
	int max_runs, runs;
	struct pmu_count *sum;
	struct pmu_count *mean;      /* as perf: whole events; the losses are the runs' total */
	struct eng_runstats *spread; /* of each slot's scaled count */
	double *noise;      /* perf's "+-": the mean's standard error, percent of the mean */
	double *run_values; /* [slot * max_runs + run]: each run's count, eng_stat_value's */
	struct eng_runstats wall; /* the runs' elapsed time, ns */
};
/* ngroups 0: no aggregation. 0, or -ENOMEM with err set. */
int eng_stat_runs_init(struct eng_stat_runs *r, const struct pmu_event_list *evs,
		       size_t ngroups, int max_runs, char *err, size_t errlen);
/* One run's counts (nslots, as read) and elapsed time; mean and noise follow. 0, or
 * -ENOSPC after max_runs. */
int eng_stat_runs_add(struct eng_stat_runs *r, const struct pmu_count *counts, double wall_ns);
void eng_stat_runs_free(struct eng_stat_runs *r);

/* --- c2c report's samples, an engine tool (c2c_collect.c) -------------------- */

/*
 * Every sample whose event carries a data address and its data source,
 * named (code and data symbols) at its place in the time-ordered stream,
 * when the process model holds the maps of that moment.
 */
struct c2c_collect {
	struct proc_model *procs;
	struct c2c_resolver *names; /* NULL: addresses only */
	/* The NUMA node of a CPU (-1: unknown); NULL: unknown. */
	int (*node_of_cpu)(const void *ctx, int cpu);
	const void *node_ctx;
	struct c2c_sample *s; /* what was collected */
	size_t n, cap;
};

/* An eng_tool.sample callback (arg: the collector); 0 or -ENOMEM. */
int c2c_collect_sample(void *arg, const struct eng_event *ev, const struct pabi_sample *s);
void c2c_collect_free(struct c2c_collect *c);

#endif
