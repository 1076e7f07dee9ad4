/*
 * profile — pprof profiles (profile.proto): the builder (string table,
 * mappings, functions, locations, samples aggregated by identical stack and
 * labels), the gzipped writer through base's output, reading a profile back,
 * the run's comment lines (comments.c), and `pmuprof report`'s tables
 * (report.c): per sample type, the top entries by children or self share,
 * each event's value, and per-entry ratios per 1k of the first event; and
 * `pmuprof diff`'s (diff.c): two profiles' rows joined, their shares compared.
 * Uses protobuf-c code generated from proto/profile.proto, and zlib.
 *
 * Ids handed out are 1-based and unique per table, as pprof requires;
 * string_table[0] is "". The written profile numbers locations and functions
 * in the order it lists them (sorted for gzip), not as handed out. Returns 0
 * or a negative errno with a message.
 */
#ifndef PMUPROF_PROFILE_H
#define PMUPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct base_output; /* base.h */

struct pprof;

struct pprof_value_type {
	const char *type; /* e.g. "samples", "cycles" */
	const char *unit; /* e.g. "count" */
};

int pprof_new(struct pprof **out, const struct pprof_value_type *types, size_t ntypes,
	      char *err, size_t errlen);
void pprof_free(struct pprof *p);

struct pprof_mapping_desc {
	uint64_t start, limit, offset;
	const char *filename; /* may be NULL */
	const char *build_id; /* hex GNU build id, may be NULL */
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};
/* Deduplicated by (start, limit, offset, filename). Returns the id, 0 on out of memory. */
uint64_t pprof_add_mapping(struct pprof *p, const struct pprof_mapping_desc *m);
/*
 * Sets the has_* flags of mapping id from m (its other fields are ignored),
 * for a mapping added before its file was read. 0, or -EINVAL for no such id.
 */
int pprof_set_mapping_flags(struct pprof *p, uint64_t id, const struct pprof_mapping_desc *m);

/* Deduplicated by all four fields. Returns the id, 0 on out of memory. */
uint64_t pprof_add_function(struct pprof *p, const char *name, const char *system_name,
			    const char *filename, int64_t start_line);

struct pprof_line {
	uint64_t function_id;
	int64_t line; /* 0 when unknown */
};
/*
 * A location: an address inside a mapping (mapping_id 0 for none) with its
 * lines, innermost inline frame first. Deduplicated by (mapping_id, address)
 * (callers give one address one set of lines); address 0 means "no address",
 * and such locations are deduplicated by their lines too. Returns the id, 0 on
 * OOM or on an unknown mapping or function id.
 */
uint64_t pprof_add_location(struct pprof *p, uint64_t mapping_id, uint64_t address,
			    const struct pprof_line *lines, size_t nlines);
/*
 * Gives location id, added with an address and no lines, its lines: for
 * locations added before they were symbolized. 0, -EINVAL (no such location,
 * one without an address or with lines already, an unknown function id) or
 * -ENOMEM.
 */
int pprof_set_location_lines(struct pprof *p, uint64_t id, const struct pprof_line *lines,
			     size_t nlines);

struct pprof_label {
	const char *key;
	const char *str;      /* string label, or NULL for a numeric one */
	int64_t num;
	const char *num_unit; /* may be NULL */
};
/*
 * Adds values[0..ntypes) to the sample with this stack (leaf first) and these
 * labels, creating it if new. Identical (stack, labels) pairs aggregate.
 */
int pprof_add_sample(struct pprof *p, const uint64_t *location_ids, size_t nlocations,
		     const int64_t *values, const struct pprof_label *labels, size_t nlabels);
/*
 * The same in two steps, for callers that label many samples alike (one
 * thread's): a label set is interned once (in any order; *id 0 for none),
 * and samples are added with its id.
 */
int pprof_add_label_set(struct pprof *p, const struct pprof_label *labels, size_t nlabels,
			uint32_t *id);
int pprof_add_sample_labelled(struct pprof *p, const uint64_t *location_ids, size_t nlocations,
			      const int64_t *values, uint32_t label_set);

/* pprof reads mapping[0] as the main binary: list this mapping first. */
void pprof_set_main_mapping(struct pprof *p, uint64_t mapping_id);
/* The first mapping of this file name, 0 if none. */
uint64_t pprof_find_mapping(const struct pprof *p, const char *filename);

void pprof_set_period(struct pprof *p, const char *type, const char *unit, int64_t period);
void pprof_set_time(struct pprof *p, int64_t time_nanos, int64_t duration_nanos);
void pprof_set_default_sample_type(struct pprof *p, const char *type);
int pprof_add_comment(struct pprof *p, const char *text);
/*
 * A comment known only while the profile is written (pmuprof's own CPU time,
 * encoding and compression included): fill(arg, buf, width + 1) writes its
 * text once everything before it is encoded and compressed, or when
 * pprof_encode ends; width bytes are reserved (shorter text is padded with
 * spaces). pprof_clear_comments drops it. 0, -EINVAL (width not in
 * 24..4096) or -ENOMEM.
 */
typedef void (*pprof_late_fn)(void *arg, char *buf, size_t len);
int pprof_add_late_comment(struct pprof *p, size_t width, pprof_late_fn fill, void *arg);
/* Drops the comments added so far (a profile written more than once, e.g. snapshots). */
void pprof_clear_comments(struct pprof *p);

size_t pprof_nsamples(const struct pprof *p); /* distinct samples so far */

/* Serialises (uncompressed profile.proto bytes, malloc'd) — also for OTLP's original_payload. */
int pprof_encode(const struct pprof *p, uint8_t **buf, size_t *len, char *err, size_t errlen);
/* Gzipped to an output (base.h: replaced atomically, or written in place); *written: bytes. */
int pprof_write_output(const struct pprof *p, struct base_output *out, size_t *written, char *err,
		       size_t errlen);
/* The same to a name, opened and closed here. */
int pprof_write(const struct pprof *p, const char *path, size_t *written, char *err,
		size_t errlen);

/* --- reading back ------------------------------------------------------------ */

/* Opaque decoded profile (protobuf-c's Perftools__Profiles__Profile underneath). */
struct pprof_read;
/*
 * A gzipped profile inflates to at most max_inflated bytes (0: the default,
 * PPROF_MAX_INFLATED); a larger one fails with -EFBIG, so a small file
 * cannot take all memory. `name` only labels error messages.
 */
#define PPROF_MAX_INFLATED (4ULL << 30)
int pprof_read_mem(struct pprof_read **out, const char *name, const uint8_t *buf, size_t len,
		   uint64_t max_inflated, char *err, size_t errlen);
int pprof_read_file(struct pprof_read **out, const char *path, uint64_t max_inflated, char *err,
		    size_t errlen);
void pprof_read_free(struct pprof_read *r);
/* The decoded message, for callers that include profile.pb-c.h. */
const void *pprof_read_message(const struct pprof_read *r);
/* Whether the profile has a sample type of this name (e.g. "cycles"). */
bool pprof_read_has_sample_type(const struct pprof_read *r, const char *type);
/*
 * Whether a and b sample the same events (their types but "samples"): "samples" counts
 * the samples of every event, so two profiles' counts compare only where this holds.
 */
bool pprof_read_same_events(const struct pprof_read *a, const struct pprof_read *b);
/*
 * The profile read, with comments[0..n) added after its own, gzipped to an
 * output (replaced atomically or written in place). 0 or -errno, err set.
 */
int pprof_read_write_output(const struct pprof_read *r, const char *const *comments, size_t n,
			    struct base_output *out, char *err, size_t errlen);
/*
 * pprof's CheckValid and the builder's promises: string 0 empty, every
 * string index in the table, one value per sample type, mapping, function
 * and location ids 1..n, every reference resolving. 0, or -EINVAL with err
 * naming the first violation. (Reading accepts any ids, as pprof does.)
 */
int pprof_check_valid(const struct pprof_read *r, char *err, size_t errlen);

/* --- the profile's comments (comments.c) ------------------------------------- */

/* The longest comment line; a longer one is cut and ends in "...". */
#define PPROF_COMMENT_MAX (64 * 1024)

struct pprof_event_counts {
	const char *name;
	uint64_t samples, lost, throttles;
};

struct pprof_run_comments {
	const char *head; /* "pmuprof VERSION", or the agent's "... agent window N" */
	int argc;         /* the command line, after "HEAD:" (argc 0: none) */
	char **argv;
	const struct pprof_event_counts *ev;
	size_t nev;
	uint64_t unattributed_lost;      /* lost samples no listed event claims */
	uint64_t unattributed_throttles; /* throttle events no listed event claims */
	bool counts_only; /* counts (stat): no samples, nothing lost: the command line only */
};

/*
 * Adds "HEAD: ARGV...", "samples: NAME=N; ..." and one line
 * "lost samples: N (per event); throttle events: M (per event)", each
 * count once (counts_only: the first line only). 0 or -ENOMEM.
 */
int pprof_add_run_comments(struct pprof *prof, const struct pprof_run_comments *c);

/* --- report: a profile read back and printed (report.c) --------------------- */

struct pprof_report_opts {
	const char *sample_type; /* -e TYPE: one sample type, NULL for all (except samples) */
	/* --sort keys, comma separated: dso, sym, srcline or a label (node, cpu, comm, pid,
	 * tid, region, ...); default "sym" */
	const char *sort;
	int top;          /* rows per sample type, default 20 when 0 */
	/* --children 1, --no-children -1; 0: children where samples have call graphs, as perf */
	int children;
	/*
	 * perf's filters, comma lists (NULL: all): samples of these comm, pid and tid labels;
	 * rows of frames in these dsos (file name or path) and of these symbols. Shares stay
	 * of the whole total, as perf's; rows below percent_limit (percent) are not shown.
	 */
	const char *comms, *pids, *tids, *dsos, *symbols;
	double percent_limit;
	/*
	 * -g as perf's: each row's call graph as a text tree, NULL for none. Comma-separated
	 * graph|none, caller|callee and a THRESHOLD percent (default 0.5) below which
	 * branches are hidden; "" is graph,0.5,caller.
	 */
	const char *call_graph;
	uint64_t max_inflated; /* bytes a gzipped profile may inflate to; 0: PPROF_MAX_INFLATED */
	bool no_inline; /* a location is its outermost function only (perf's --no-inline) */
};

/* Whether spec reads as -g's value: its first option is one of perf's words or a number. */
bool pprof_report_is_call_graph(const char *spec);
/* Reads the profile at path (-EFBIG: it inflates past max_inflated) and prints its tables. */
int pprof_report_print(const char *path, const struct pprof_report_opts *opts, FILE *out, char *err,
		       size_t errlen);
/* The same for a profile already read (pprof_read_mem); `path` names it in messages. */
struct pprof_read;
int pprof_report_print_read(const struct pprof_read *pr, const char *path,
			    const struct pprof_report_opts *opts, FILE *out, char *err,
			    size_t errlen);

/* --- diff: two profiles compared (diff.c) ------------------------------------- */

/*
 * Prints perf diff's tables of baseline against pr: per sample type both have (or
 * opts->sample_type), each row's self share of its profile's total in both, the change
 * in points and the ratio of the shares, sorted by the largest change. Rows are grouped
 * by opts->sort (default "dso,sym"; "stack" for whole stacks) under opts' filters, at
 * most opts->top of them (default 20); opts->percent_limit hides rows below it in both.
 * Paths name the profiles. 0 or -errno with err set (-EINVAL: no type in common).
 */
int pprof_diff_print(const struct pprof_read *baseline, const char *baseline_path,
		     const struct pprof_read *pr, const char *path,
		     const struct pprof_report_opts *opts, FILE *out, char *err, size_t errlen);

#endif
