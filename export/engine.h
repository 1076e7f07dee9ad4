/*
 * The engine: one path for every record, whatever its source.
 *
 * A source (the live sampler session, a perf.data file in file or pipe
 * mode, a synthetic one in tests) hands over chunks of records and its
 * table of events; the merger (merge.c) puts the records in time order, and
 * the engine applies the per-record rules once, for every source:
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
 */
#ifndef PMUPROF_ENGINE_H
#define PMUPROF_ENGINE_H

#include "export.h"

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
int eng_source_from_perfdata(struct eng_source *src, struct smp_perfdata *pd);
void eng_source_free(struct eng_source *src);

/* What a source's event is to the engine. */
struct eng_event {
	struct perf_event_attr attr;
	const char *name;
	struct smp_layout layout;
	int type;        /* sample type index in the profile, -1: a side-band dummy */
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
	int (*sample)(void *arg, const struct eng_event *ev, const struct smp_sample *s);
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
	bool profile;     /* add samples to the pprof (c2c report without -o: symbols only) */
	bool symbolize;
	size_t symbol_cache_bytes; /* sym_cache_set_budget; 0: unbounded */
	const char *debug_cache_dir;
	uint32_t line_size; /* cache line of the mem labels; 0: 64 */
	/* The NUMA node of a CPU (see agg_options); NULL: no node label. */
	int (*node_of_cpu)(const void *ctx, int cpu);
	const void *node_ctx;
	const struct eng_tool *tool; /* NULL: the engine's rules only */
};

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
 * The run's comments (exp_add_run_comments): HEAD and the command line, then
 * samples, lost and throttles per sample type; a side-band dummy's losses
 * and throttles are no sample type's. 0 or -ENOMEM.
 */
int eng_add_run_comments(const struct eng *e, struct pprof *prof, const char *head, int argc,
			 char **argv);
/* The profile's comment on skipped records (malformed, unknown event); 0 when none was. */
int eng_skipped_summary(const struct eng *e, char *buf, size_t len);
/* The process with the most samples (pid 0 and -1 aside): the main binary's; 0 if none. */
pid_t eng_main_pid(const struct eng *e);

#endif
