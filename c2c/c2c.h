/*
 * c2c — memory-access analysis: perf c2c's cache-line report built from
 * samples with data addresses and data sources (c2c.c), the names of a
 * sample's code and data addresses (c2c_resolve.c), and c2c watch's
 * watchpoint evidence and its sharing verdict.
 *
 * Depends on perfabi/ (data_src decoding), sampler/ (watchpoint hits),
 * process/ and symbols/.
 */
#ifndef PMUPROF_C2C_H
#define PMUPROF_C2C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "perfabi.h"
#include "process.h"
#include "sampler.h"
#include "symbols.h"

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
	int32_t cpu, node; /* -1: unknown */
	uint64_t ip;
	bool ip_kernel; /* ip ran in the kernel (the sample's cpumode) */
	const char *func, *file;
	uint32_t line;        /* 0: unknown */
	uint64_t addr;        /* data address (0: none) */
	const char *data_sym; /* what addr resolves to: "sym+0x8", "[heap]", "[stack]", "anon" */
	uint64_t data_src;
	uint64_t weight;
	bool is_store; /* used when data_src names neither load nor store */
	bool nomap;    /* data or code address did not resolve */
};

enum c2c_verdict {
	C2C_NONE,
	C2C_FALSE_SHARING, /* different offsets, written by one thread, touched by another */
	C2C_TRUE_SHARING,  /* one offset written by one thread, touched by another */
	C2C_MIXED,         /* both */
};
const char *c2c_verdict_name(enum c2c_verdict v);

/*
 * The one definition of sharing, for the sample report and c2c watch alike.
 * An access: thread tid wrote and/or read location loc (an offset or a word)
 * of one line. Each caller decides what counts as a write or a read.
 */
struct c2c_access {
	uint32_t loc, tid;
	bool wrote, read;
};
struct c2c_sharing {
	enum c2c_verdict verdict;
	bool same_written; /* true sharing by writes: one location written by two threads */
	bool diff_written; /* false sharing by writes: two threads write different locations */
	size_t nwriters;   /* distinct writing threads */
};
/*
 * As perf c2c reads its per-offset table: a location one thread writes and
 * another touches is true sharing; a thread writing one location while another
 * thread touches a different one is false sharing; a line with both is
 * C2C_MIXED (neither hides the other). Whether the threads contended at all
 * (HITM, peer transfers) is the caller's evidence, not this function's.
 */
void c2c_sharing_judge(const struct c2c_access *a, size_t n, struct c2c_sharing *out);

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
	uint32_t offset; /* within the line */
	struct c2c_stats st;
	uint64_t weight;            /* sum of sample weights (load latency; stores mostly 0) */
	struct c2c_thread *threads; /* by tid, ascending */
	size_t nthreads;
	int32_t *cpus, *nodes; /* ascending, distinct */
	size_t ncpus, nnodes;
	struct c2c_code *code; /* by hitm+peer, then samples, descending */
	size_t ncode;
};

struct c2c_line {
	uint64_t addr;  /* line address */
	char *data_sym; /* data_sym of its lowest-offset sample that has one */
	struct c2c_stats st;
	uint64_t weight;
	enum c2c_verdict verdict;
	size_t nwriters;        /* distinct storing threads */
	struct c2c_offset *off; /* ascending offset */
	size_t noff;
};

struct c2c_options {
	uint32_t line_size; /* power of two; 0: 64 */
};

struct c2c_report {
	uint32_t line_size;
	struct c2c_stats total; /* every sample, including dropped ones */
	struct c2c_line *lines; /* sorted: tot_hitm, then tot_peer + rmt_hit, desc */
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
 * c2c_sharing_judge's verdict on the hits, in words: "false sharing (...)",
 * "true sharing (...)", "true+false sharing (...)" or "none (only one thread
 * touches the line)"; *out NULL when no hit was seen at all: zero hits are no
 * evidence either way, so there is no verdict. 0 or -ENOMEM.
 */
int c2c_watch_verdict(const struct c2c_watch_tally *t, const char **out);
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
 * The data object holding addr in process pid, through the process model as
 * it stands now: a global or static variable of a mapped file (also in the
 * anonymous .bss tail after the file's mapping), else the mapping itself
 * (a file, [heap], [stack], an anonymous one). 0, or -ENOENT for a file
 * mapping whose load bias is unknown (a FILE object without vaddr).
 */
enum c2c_object_kind {
	C2C_OBJ_UNKNOWN, /* no mapping holds it */
	C2C_OBJ_KERNEL,
	C2C_OBJ_SYMBOL, /* name: the variable's */
	C2C_OBJ_FILE,   /* name: the mapped file's path */
	C2C_OBJ_HEAP,
	C2C_OBJ_STACK, /* the main thread's; other threads' stacks are anonymous */
	C2C_OBJ_ANON,  /* name: NULL, perf's "//anon", the kernel's "[anon:NAME]", "/dev/zero" */
};
struct c2c_object {
	enum c2c_object_kind kind;
	const char *name;    /* the resolver's or the process model's string */
	uint64_t start, end; /* run-time range: the variable's, else the mapping's */
	uint64_t vaddr;      /* SYMBOL, FILE: addr as an ELF vaddr of the file */
};
int c2c_data_object(struct c2c_resolver *r, pid_t pid, uint64_t addr, struct c2c_object *o);
/*
 * The run-time address of the global or static variable `name` in process
 * pid, which runs now (its maps are read into the resolver's process model):
 * looked up in the executable first (a copy-relocated variable lives there),
 * then in every other file it maps, in address order, and placed at that
 * file's load bias (PIE and shared libraries too). 0 with *addr and *file
 * (the model's string), -ENOENT when no mapped file has it, or -errno.
 */
int c2c_symbol_address(struct c2c_resolver *r, pid_t pid, const char *name, uint64_t *addr,
		       uint64_t *size, const char **file);

#endif
