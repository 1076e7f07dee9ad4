/*
 * engine — from record streams to profiles: the time-ordered merge of
 * per-CPU streams (merge.c), each thread's region and trace labels over
 * time (labels.c), and the aggregation of samples into a pprof with
 * symbols, unwound stacks and labels (aggregate.c).
 *
 * Depends on sampler/ (chunks), process/, symbols/, unwind/, profile/ and
 * c2c/ (memory-sample labels); cli/ drives it.
 */
#ifndef PMUPROF_ENGINE_H
#define PMUPROF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "c2c.h"
#include "process.h"
#include "profile.h"
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

#endif
