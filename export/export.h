/*
 * export — from per-CPU record streams to profiles.
 *
 * Owns: the time-ordered merge of per-CPU streams (merge.c), the process
 * model that side-band records build (process.c), symbolization (symbols.c),
 * aggregation of samples into a pprof (aggregate.c, pprof.c) and reports
 * (report.c). This is the module's public header; pprof.h, symbols.h and
 * report.h detail its parts and are included from here.
 *
 * Depends on sampler/ for the record layout and chunks; never the reverse.
 */
#ifndef PMUPROF_EXPORT_H
#define PMUPROF_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "pprof.h"
#include "report.h"
#include "sampler.h"
#include "symbols.h"
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
 * Takes what the source has and emits, in (time, arrival) order, every record
 * older than the source's safe time (all of them once the source is final),
 * like perf's ordered events flushed at each finished round. Records newer
 * than the safe time wait for a later call, so memory stays bounded by what
 * arrives in about one drain interval.
 */
int mrg_pump(struct mrg *m, int (*fn)(void *arg, const struct mrg_record *r), void *arg);
size_t mrg_pending(const struct mrg *m);
/* The source wrapping a sampler session. */
void mrg_source_from_session(struct mrg_source *src, struct smp_session *s);

/* --- process model ------------------------------------------------------------- */

struct proc_map {
	uint64_t start, end, pgoff;
	const char *filename; /* owned by the model */
	char build_id[41];    /* hex from MMAP2, "" if the kernel gave none */
	uint32_t prot, flags;
	uint64_t cookie; /* the consumer's id for this mapping (pprof mapping id); 0 = none yet */
};

struct proc_model;
int proc_model_new(struct proc_model **out);
void proc_model_free(struct proc_model *m);

/* Side-band records, applied in time order. */
int proc_on_mmap(struct proc_model *m, pid_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		 const char *filename, const char *build_id, uint32_t prot, uint32_t flags);
int proc_on_comm(struct proc_model *m, pid_t pid, pid_t tid, const char *comm, bool exec);
int proc_on_fork(struct proc_model *m, pid_t pid, pid_t ppid, pid_t tid, pid_t ptid);
void proc_on_exit(struct proc_model *m, pid_t pid, pid_t tid);
/* The record-level entry point: applies MMAP/MMAP2/COMM/FORK/EXIT, ignores the rest. */
int proc_apply_record(struct proc_model *m, const struct perf_event_header *h);

/* Reads /proc/PID/maps and the thread names of a process that already runs (-p, -a). */
int proc_synthesize(struct proc_model *m, pid_t pid);
/* The same for every process of the system (-a, -C). */
int proc_synthesize_all(struct proc_model *m);

struct proc_map *proc_find_map(struct proc_model *m, pid_t pid, uint64_t addr);
/* The mapping just below map (from proc_find_map of the same pid), or NULL. */
struct proc_map *proc_prev_map(struct proc_model *m, pid_t pid, const struct proc_map *map);
/* The mapping just above map, or the lowest when map is NULL; NULL past the last. */
struct proc_map *proc_next_map(struct proc_model *m, pid_t pid, const struct proc_map *map);
/*
 * A number that changes whenever any process's mappings may have changed
 * (mmap, exec, fork, forgetting exited processes): what was resolved through
 * the maps under one number holds while it stays.
 */
uint64_t proc_maps_generation(const struct proc_model *m);
/* Thread name (COMM) of tid, else of its process, else NULL. */
const char *proc_comm(const struct proc_model *m, pid_t pid, pid_t tid);
/*
 * Frees the processes and threads that exited (call between aggregation
 * windows, when no sample of theirs can still be in flight). Returns how
 * many processes were forgotten, or -ENOMEM (the model is then smaller but
 * consistent).
 */
int proc_model_forget_exited(struct proc_model *m);
/* Processes the model knows. */
size_t proc_model_size(const struct proc_model *m);
/* Executable path of a process (its first file mapping after the last exec), or NULL. */
const char *proc_exe(const struct proc_model *m, pid_t pid);

/* --- the profile's comments (comments.c) ------------------------------------- */

/* The longest comment line; a longer one is cut and ends in "...". */
#define EXP_COMMENT_MAX (64 * 1024)

struct exp_event_counts {
	const char *name;
	uint64_t samples, lost, throttles;
};

struct exp_run_comments {
	const char *head;  /* "pmuprof VERSION", or the agent's "... agent window N" */
	int argc;          /* the command line, after "HEAD:" (argc 0: none) */
	char **argv;
	const struct exp_event_counts *ev;
	size_t nev;
	uint64_t unattributed_lost;      /* lost samples no listed event claims */
	uint64_t unattributed_throttles; /* throttle events no listed event claims */
};

/*
 * Adds "HEAD: ARGV...", "samples: NAME=N; ..." and one line
 * "lost samples: N (per event); throttle events: M (per event)", each
 * count once. 0 or -ENOMEM.
 */
int exp_add_run_comments(struct pprof *prof, const struct exp_run_comments *c);

/* --- aggregation: samples to a pprof ------------------------------------------- */

struct agg_options {
	const char *const *event_names; /* sample type names, in -e order */
	const char *const *event_units; /* per event ("count", "nanoseconds"); NULL: count */
	size_t nevents;
	int64_t period;  /* the first event's -c period, or 0 when sampled by frequency */
	bool symbolize;  /* false: addresses and mappings only (--no-symbolize) */
	bool dwarf;      /* unwind user stacks from sampled registers + stack (unwind.h) */
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
	const char *debug_cache_dir; /* plain copies of compressed debug files (sym_cache_set_debug_dir) */
	/*
	 * Samples with a data address get the labels cacheline, offset, data_src
	 * and weight (c2c_sample_labels); the caller passes the weight as perf
	 * reports it (smp_sample.weight: WEIGHT_STRUCT's low 32 bits).
	 */
	bool mem_labels;
	uint32_t line_size; /* 0: 64 */
};

struct agg;
int agg_new(struct agg **out, const struct agg_options *o, struct proc_model *procs,
	    char *err, size_t errlen);
void agg_free(struct agg *a);
/* One sample of event `event` (index into event_names). */
int agg_add_sample(struct agg *a, int event, const struct smp_sample *s);
/* A side-band record, after the process model applied it: drops stale unwind state. */
void agg_on_sideband(struct agg *a, const struct perf_event_header *h);
/* Comment lines about unwinding (stacks, frames, time, why unwinds stopped); 0 if none. */
int agg_unwind_summary(const struct agg *a, char *buf, size_t len);
/* Comment line about symbolization (distinct addresses, time); 0 if none. */
int agg_symbolize_summary(const struct agg *a, char *buf, size_t len);
/*
 * Starts a new window (the agent): an empty profile, the same options;
 * symbol and unwind caches are kept. The previous profile is freed.
 */
int agg_reset(struct agg *a, char *err, size_t errlen);
/* The underlying builder, to set comments, times and write it out. */
struct pprof *agg_profile(struct agg *a);
/* The symbol cache samples are symbolized with (NULL with symbolize off), for c2c_resolve. */
struct sym_cache;
struct sym_cache *agg_symbols(struct agg *a);
uint64_t agg_samples(const struct agg *a, int event);

/* --- labels: each thread's region and trace context over time (labels.c) -------- */

/*
 * Built from the recorder channel's events (pmu/channel.h), looked up per
 * sample by (pid, tid, time). Regions nest per thread; the `region` label is
 * the innermost open region (pprof's -tagfocus then selects exactly the code
 * that region ran; the outer ones are the stack's business). Trace context
 * is the last PMU_CH_TRACE of the thread (all-zero trace id: none).
 *
 * Samples reach lbl_lookup in time order (the merger's), so each thread
 * keeps its state at a cursor plus the events not yet reached; events at or
 * before a lookup's time are folded into the state and dropped, and events
 * before the latest lookup time of all threads are folded by lbl_add, so
 * memory is bounded by what arrives within the merger's lag. An event that
 * arrives late (older than a lookup already answered) applies from the next
 * lookup on; it is counted. Not thread-safe: one consumer.
 */
struct pmu_channel;
struct pmu_channel_event;
struct lbl_timeline;

struct lbl_stats {
	uint64_t channel_read;   /* events lbl_drain read from the channel */
	uint64_t channel_lost;   /* lost by the channel (overrun, abandoned writes) or to no memory */
	uint64_t events;         /* accepted by lbl_add */
	uint64_t late;           /* older than a lookup already answered for their thread */
	uint64_t unmatched_ends; /* REGION_END with no open region of that name */
	uint64_t bad;            /* unknown kind: ignored */
	uint64_t folded_early;   /* applied early to bound memory (a thread without samples) */
	size_t threads;          /* threads with state now */
};

int lbl_new(struct lbl_timeline **out);
void lbl_free(struct lbl_timeline *tl);
/* Events in the channel's order (per thread in time order); 0 or -ENOMEM. */
int lbl_add(struct lbl_timeline *tl, const struct pmu_channel_event *ev, size_t n);
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
void lbl_set_channel(struct lbl_timeline *tl, struct pmu_channel *ch);
int lbl_drain(struct lbl_timeline *tl);
/*
 * Attaches a timeline to an aggregation after agg_new (for callers whose
 * agg_options are built elsewhere, as record's pipeline); NULL detaches.
 */
void agg_set_labels(struct agg *a, struct lbl_timeline *tl);
/* The attached timeline, or NULL (the pipeline drains it before each merge). */
struct lbl_timeline *agg_labels(const struct agg *a);

/* --- memsrc + c2c: perf_mem_data_src decoding and the cache-line report ------ */
/* (section owned by memsrc.c and c2c.c; appended for issue 7, "2. Which line") */

/* The access's opcode class (PERF_MEM_OP_*; the first set bit wins, as in perf). */
enum memsrc_op {
	MEMSRC_OP_NONE,   /* no op bit set */
	MEMSRC_OP_NA,
	MEMSRC_OP_LOAD,
	MEMSRC_OP_STORE,
	MEMSRC_OP_PFETCH,
	MEMSRC_OP_EXEC,
};

/* Where the data came from: mem_lvl_num when set (newer kernels), else the old mem_lvl bits. */
enum memsrc_level {
	MEMSRC_LVL_NA,
	MEMSRC_LVL_L1,
	MEMSRC_LVL_LFB,     /* line fill buffer / miss address buffer */
	MEMSRC_LVL_L2,
	MEMSRC_LVL_L3,
	MEMSRC_LVL_L4,
	MEMSRC_LVL_ANY_CACHE, /* a cache, level unknown (AMD IBS peer transfers) */
	MEMSRC_LVL_REMOTE_CACHE,
	MEMSRC_LVL_RAM,     /* local RAM unless `remote` */
	MEMSRC_LVL_REMOTE_RAM,
	MEMSRC_LVL_PMEM,
	MEMSRC_LVL_CXL,
	MEMSRC_LVL_IO,
	MEMSRC_LVL_UNCACHED,
	MEMSRC_LVL_OTHER,   /* a level number perf has no name for */
};

/* One data_src, every field of union perf_mem_data_src split out. */
struct memsrc {
	uint64_t raw;
	enum memsrc_op op;
	enum memsrc_level level;
	uint16_t lvl;      /* PERF_MEM_LVL_* bits (old namespace) */
	uint8_t lvl_num;   /* PERF_MEM_LVLNUM_* (0: not given) */
	uint8_t hops;      /* PERF_MEM_HOPS_* (0: not given) */
	uint8_t snoop;     /* PERF_MEM_SNOOP_* bits */
	uint8_t snoopx;    /* PERF_MEM_SNOOPX_* bits */
	uint8_t lock;      /* PERF_MEM_LOCK_* bits */
	uint8_t dtlb;      /* PERF_MEM_TLB_* bits */
	uint8_t blk;       /* PERF_MEM_BLK_* bits */
	bool remote;
	bool hit, miss;    /* of the level (mem_lvl HIT/MISS) */
	bool snoop_na, snoop_none, snoop_hit, snoop_miss, hitm, fwd, peer;
	bool locked, lock_na;
	bool tlb_hit, tlb_miss, tlb_na;
	bool blk_data, blk_addr;
};

void memsrc_decode(uint64_t data_src, struct memsrc *out);
/*
 * perf's renderings of each field, as `perf mem report` / `perf script -F
 * data_src` print them; each returns strlen of the full text (snprintf-like,
 * always NUL-terminated when len > 0). memsrc_lvl_str: current perf ("L1 hit",
 * "Remote Cache (1 hop) hit", "Remote core, same node Any cache hit"); with
 * legacy, perf <= 6.2's "old bits or lvl_num" form ("L1 or L1 hit",
 * "Local RAM or RAM hit") that this host's perf 6.1 prints.
 */
size_t memsrc_op_str(uint64_t data_src, char *buf, size_t len);
size_t memsrc_lvl_str(uint64_t data_src, bool legacy, char *buf, size_t len);
size_t memsrc_snoop_str(uint64_t data_src, char *buf, size_t len);   /* "HitM", "None or Peer" */
size_t memsrc_tlb_str(uint64_t data_src, char *buf, size_t len);     /* "L1 or L2 hit" */
size_t memsrc_lock_str(uint64_t data_src, char *buf, size_t len);    /* "Yes", "No", "N/A" */
size_t memsrc_blk_str(uint64_t data_src, char *buf, size_t len);     /* " N/A", " Data", " Data Addr" */
/* perf script's "|OP LOAD|LVL L1 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A". */
size_t memsrc_str(uint64_t data_src, bool legacy, char *buf, size_t len);

/* perf c2c's counters (c2c_stats in perf's mem-events.h), same meanings. */
struct c2c_stats {
	uint64_t nr_entries;
	uint64_t locks, blk_data, blk_addr;
	uint64_t load, ld_noadrs, ld_uncache, ld_io, ld_fbhit, ld_l1hit, ld_l2hit, ld_llchit;
	uint64_t ld_miss, ld_excl, ld_shared, lcl_dram, rmt_dram, rmt_hit;
	uint64_t lcl_hitm, rmt_hitm, tot_hitm;
	uint64_t lcl_peer, rmt_peer, tot_peer;
	uint64_t store, st_noadrs, st_uncache, st_l1hit, st_l1miss, st_na;
	uint64_t noparse, nomap;
};

/*
 * Adds one sample to st exactly as perf's c2c_decode_stats does (Intel
 * HITM, Arm/AMD peer, Skylake's bare remote bit); where the old level bits
 * are empty the level comes from lvl_num/remote. mapped: both the data and
 * the code address resolved to a mapping. 0 if the sample counts for a
 * cache line, -EINVAL if perf would drop it (no address, unparsable, no map).
 */
int c2c_classify(struct c2c_stats *st, uint64_t data_src, uint64_t daddr, bool mapped);
void c2c_stats_add(struct c2c_stats *to, const struct c2c_stats *from);

/* One memory sample as the c2c report takes it (strings copied; NULL: unknown). */
struct c2c_sample {
	uint32_t pid, tid;
	int32_t cpu, node;      /* -1: unknown */
	uint64_t ip;
	bool ip_kernel;         /* ip ran in the kernel (the sample's cpumode) */
	const char *func, *file;
	uint32_t line;          /* 0: unknown */
	uint64_t addr;          /* data address (0: none) */
	const char *data_sym;   /* what addr resolves to: "sym+0x8", "[heap]", "[stack]", "anon" */
	uint64_t data_src;
	uint64_t weight;
	bool is_store;          /* used when data_src names neither load nor store */
	bool nomap;             /* data or code address did not resolve */
};

enum c2c_verdict {
	C2C_NONE,
	C2C_FALSE_SHARING,  /* different offsets, written by one thread, touched by another */
	C2C_TRUE_SHARING,   /* one offset written by one thread, touched by another */
	C2C_MIXED,          /* both */
};
const char *c2c_verdict_name(enum c2c_verdict v);

struct c2c_thread {
	uint32_t pid, tid;
	uint64_t loads, stores;
};

struct c2c_code {
	uint64_t ip;
	char *func, *file;
	uint32_t line;
	uint64_t loads, stores, hitm, peer;
};

struct c2c_offset {
	uint32_t offset;            /* within the line */
	struct c2c_stats st;
	uint64_t weight;            /* sum of sample weights (load latency; stores mostly 0) */
	struct c2c_thread *threads; /* by tid, ascending */
	size_t nthreads;
	int32_t *cpus, *nodes;      /* ascending, distinct */
	size_t ncpus, nnodes;
	struct c2c_code *code;      /* by hitm+peer, then samples, descending */
	size_t ncode;
};

struct c2c_line {
	uint64_t addr;              /* line address */
	char *data_sym;             /* data_sym of its lowest-offset sample that has one */
	struct c2c_stats st;
	uint64_t weight;
	enum c2c_verdict verdict;
	size_t nwriters;            /* distinct storing threads */
	struct c2c_offset *off;     /* ascending offset */
	size_t noff;
};

struct c2c_options {
	uint32_t line_size; /* power of two; 0: 64 */
};

struct c2c_report {
	uint32_t line_size;
	struct c2c_stats total;     /* every sample, including dropped ones */
	struct c2c_line *lines;     /* sorted: tot_hitm, then tot_peer + rmt_hit, desc */
	size_t nlines;
};

/* Samples of attr carry what the report needs: a data address and its data source. */
bool c2c_attr_has_data_addresses(const struct perf_event_attr *attr);

/* Builds the report from n samples; 0, -EINVAL (bad line size, err set) or -ENOMEM. */
int c2c_build(struct c2c_report *r, const struct c2c_sample *s, size_t n,
	      const struct c2c_options *opt, char *err, size_t errlen);
void c2c_report_free(struct c2c_report *r);
/* The "Shared Data Cache Line Table" and "Cacheline details" (max_lines 0: all). 0 or -EIO. */
int c2c_print(const struct c2c_report *r, FILE *out, size_t max_lines);

/* pprof labels of one sample: cacheline "0x...", offset, data_src (perf text), weight. */
struct c2c_labels {
	char cacheline[24];
	uint64_t offset;
	char data_src[160];
	uint64_t weight;
};
void c2c_sample_labels(const struct c2c_sample *s, uint32_t line_size, struct c2c_labels *out);

/*
 * c2c watch's evidence (c2c.c): hits of the sampler's watchpoints tallied
 * per word x thread (write windows [0], read-write windows [1]) and per code
 * location, and the verdict drawn from them. x86 has no read-only
 * watchpoints: a read is a read-write hit of a thread that never hit the
 * word in a write window.
 */
struct c2c_watch_row {
	int word;
	uint32_t pid, tid;
	uint64_t hits[2];
	char comm[17]; /* "" until the caller names the thread */
};
struct c2c_watch_loc {
	uint64_t ip;
	uint32_t pid;
	int word;
	bool rw;
	uint64_t hits;
};
struct c2c_watch_tally {
	struct c2c_watch_row *rows;
	size_t nrows, caprows;
	struct c2c_watch_loc *locs;
	size_t nlocs, caplocs;
};
/* Counts one hit: the row it went to (a new one zeroed), or NULL when out of memory. */
struct c2c_watch_row *c2c_watch_add(struct c2c_watch_tally *t, const struct smp_watch_hit *h);
/*
 * "false sharing (...)", "true sharing (...)" or "none (only one thread
 * touches the line)"; NULL when no hit was seen at all: zero hits are no
 * evidence either way, so there is no verdict.
 */
const char *c2c_watch_verdict(const struct c2c_watch_tally *t);
void c2c_watch_tally_free(struct c2c_watch_tally *t);

/*
 * c2c_resolve.c: names for a sample's code address (func, file, line) and
 * data address (data_sym: "counter+0x8", [heap], [stack], anon, [kernel],
 * [unknown]) through the process model as it stands now, so call it at the
 * sample's place in the time-ordered stream. The strings are the
 * resolver's and live until it is freed.
 */
struct c2c_resolver;
int c2c_resolver_new(struct c2c_resolver **out, struct proc_model *procs, struct sym_cache *syms);
void c2c_resolver_free(struct c2c_resolver *r);
void c2c_resolve(struct c2c_resolver *r, struct c2c_sample *s);
/*
 * The run-time address of the global or static variable `name` in process
 * pid, which runs now (its maps are read into the resolver's process model):
 * looked up in the executable first (a copy-relocated variable lives there),
 * then in every other file it maps, in address order, and placed at that
 * file's load bias (PIE and shared libraries too). 0 with *addr and *file
 * (the model's string), -ENOENT when no mapped file has it, or -errno.
 */
int c2c_symbol_address(struct c2c_resolver *r, pid_t pid, const char *name, uint64_t *addr,
		       const char **file);

/* --- a long-running process's log ----------------------------------------- */

/*
 * Opens path for appending (O_APPEND, created 0644), relative to its opened
 * folder, which must be the user's or root's and writable by nobody else;
 * a symbolic link is refused, never followed (as root, a link planted in a
 * shared folder would append the log to any file). The fd, or -errno with a
 * one-line message naming the cause and the fix.
 */
int exp_open_log(const char *path, char *err, size_t errlen);

#endif
