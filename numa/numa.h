/*
 * numa — where memory lives and who touches it, from page faults sampled
 * with their data addresses (numa record).
 *
 * An engine tool (numa_sample) keeps, per sampled page (address >> page
 * shift, per process): the first touch seen in the run (thread, CPU -> node,
 * the stack, the data object the address is in, named through c2c's
 * resolver at that moment of the stream) and every later fault (while
 * automatic NUMA balancing runs, its hinting faults: the thread x node
 * access evidence); and, where the host samples data addresses with its
 * PMU (PEBS load latency and stores, AMD IBS), those loads and stores as
 * accesses, local or remote by their data_src. numa_track asks the kernel where the sampled pages are
 * during the run (topology's move_pages without moving), which records when
 * one moved; numa_query asks once more for a process at its end, while its
 * address space still exists. numa_finish then tallies per data object and
 * per thread and adds every sample to the profile with the labels node (the
 * faulting CPU's), data_node (the page's at that fault, as the queries knew
 * it), first_touch_node, object and access=local|remote.
 *
 * Depends on engine/ (the tool interface, stacks and the profile), c2c/
 * (data objects and code names), process/ and topology/ (where pages are).
 */
#ifndef PMUPROF_NUMA_H
#define PMUPROF_NUMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "c2c.h"
#include "engine.h"

/* Nodes tallied per object and thread; higher node numbers count as unknown. */
#define NUMA_MAX_NODES 64

enum numa_access { NUMA_ACCESS_UNKNOWN, NUMA_ACCESS_LOCAL, NUMA_ACCESS_REMOTE };
/*
 * A PMU sample's access by its data_src, as perf mem reports it: remote RAM
 * and remote caches remote, local RAM and this node's caches local, no level
 * unknown.
 */
enum numa_access numa_access_of_data_src(uint64_t data_src);

struct numa_options {
	struct proc_model *procs; /* the engine's process model (not owned) */
	/*
	 * The channel's timeline when the command runs with libpmuprof_alloc.so
	 * (numa record --alloc): an address in a reported heap block names that
	 * block and the code that allocated it. NULL: none (not owned).
	 */
	struct lbl_timeline *allocs;
	struct agg *agg;          /* stacks and the profile samples go to; it must symbolize */
	size_t ntypes;            /* the profile's sample types besides samples/count */
	/* The NUMA node of a CPU (-1: unknown). */
	int (*node_of_cpu)(const void *ctx, int cpu);
	const void *node_ctx;
	int nnodes; /* the machine's nodes (1: no NUMA effects, the summary says so) */
	/* The recorder's own process, whose samples (-a) are left out; 0: none. */
	pid_t self;
	/*
	 * -p, -a: the processes ran before the recording, so a page's first
	 * sampled fault is the first seen, not necessarily its first touch.
	 */
	bool attached;
	/* Physical memory by node: places a page move_pages does not (NULL: none; not owned). */
	const struct topo_phys_map *phys;
	int (*distance)(int a, int b); /* the nodes' distance, 0 unknown (NULL: none known) */
};

/* The profile's comments numa report reads (numa_finish adds them, report.c parses them). */
#define NUMA_COMMENT "numa:"
#define NUMA_COMMENT_OBJECT "numa object:"
/* Objects, most faults first, whose placement and moves the profile's comments keep. */
#define NUMA_COMMENT_OBJECTS 8
/*
 * Threads that move between nodes: a fault from a CPU of another node than
 * the thread's fault before at least NUMA_WANDER_SWITCHES times, the last
 * of them in the second half of the time between its first and last fault.
 * A thread that pins itself after it started settles there (the lab saw the
 * scheduler move one 4 times before, in its first milliseconds). The profile
 * keeps NUMA_COMMENT_THREADS of them, most moves first.
 */
#define NUMA_COMMENT_THREAD "numa thread:"
#define NUMA_WANDER_SWITCHES 2
#define NUMA_COMMENT_THREADS 16

/* A thread that first-touched pages of an object, at one node and function. */
struct numa_toucher {
	uint32_t tid;
	int node;         /* -1: unknown */
	const char *func; /* NULL: unknown */
	const char *comm;
	uint64_t pages;
};

struct numa_object {
	pid_t pid;
	enum c2c_object_kind kind; /* HEAP or ANON for an allocation */
	bool allocation; /* a block libpmuprof_alloc.so reported: name and range are its */
	char *name;          /* "grid", "[heap]", "anon 0x7f..-0x7f.. (64.0 MiB)", a path */
	uint64_t start, end; /* the variable's or the mapping's range */
	uint64_t pages;      /* sampled pages */
	uint64_t faults;     /* samples (each stands for `period` faults or accesses) */
	uint64_t pmu_accesses; /* of them, the PMU's loads and stores (PEBS, IBS) */
	/*
	 * The whole range at the last query (every page of it, or every
	 * range_stride-th of a huge one): sampling misses pages a fault did
	 * not announce, as the rest of a transparent huge page.
	 */
	uint64_t pages_on[NUMA_MAX_NODES];  /* present pages by node */
	uint64_t range_asked, range_absent; /* pages asked; not present or no longer mapped */
	uint64_t range_stride;
	int range_err; /* errno when the kernel could not say (ESRCH: the process ended) */
	uint64_t pages_unplaced;  /* sampled pages queried without a node (errno in why) */
	uint64_t pages_unqueried; /* sampled pages never queried (why says why, 0: never asked) */
	uint64_t pages_moved;     /* sampled pages two queries found on different nodes */
	uint64_t moves;           /* their moves (a page may move more than once) */
	uint64_t moves_to[NUMA_MAX_NODES];        /* by the node moved to */
	uint64_t moved_after_ns, moved_before_ns; /* the moves' span, from the run's start */
	int why;
	/* Faults from the node the page was on at the fault (as the queries knew it), or not. */
	uint64_t local, remote;
	uint64_t later_local, later_remote; /* the same for faults after each page's first touch */
	struct numa_toucher *touchers;      /* by pages, descending */
	size_t ntouchers;
};

struct numa_thread {
	pid_t pid;
	uint32_t tid;
	char comm[16];
	uint64_t faults;
	uint64_t on_node[NUMA_MAX_NODES]; /* faults by the faulting CPU's node */
	uint64_t to_node[NUMA_MAX_NODES]; /* faults by the page's node at the fault */
	uint64_t local, remote;
	uint64_t node_switches; /* samples on another node than its sample before */
	uint64_t first_ns, last_ns, switch_ns; /* its first and last sample, its last switch */
	int last_node;
};

struct numa_run;
int numa_new(struct numa_run **out, const struct numa_options *o, char *err, size_t errlen);
void numa_free(struct numa_run *r);

/*
 * The engine tool's sample callback (arg: the run): samples with a data
 * address are kept, others ignored. 0 or -ENOMEM.
 */
int numa_sample(void *arg, const struct eng_event *ev, const struct pabi_sample *s);

/*
 * Where each sampled page of process pid and every page of its sampled
 * objects are now, by move_pages(2) without moving; a page already queried
 * is asked again (a sampled page whose node changed counts as a move). 0,
 * or -errno when the kernel could not say (kept as the reason: -ESRCH when
 * the process is gone).
 */
int numa_query(struct numa_run *r, pid_t pid);
/*
 * Called often while the run goes on: the pages sampled since the last call
 * are asked now, soon after their first touch, and on a machine of several
 * nodes every sampled page is asked again every TRACK_INTERVAL (200 ms) or
 * less often, so the passes take at most 2 % of the time. A query that
 * finds a page on another node than the query before records a move between
 * the two (automatic NUMA balancing's migrations): a fault's page is on the
 * node the last query before it found. The first error, or 0.
 */
int numa_track(struct numa_run *r);
/* numa_query for every process with sampled pages; the first error, or 0. */
int numa_query_all(struct numa_run *r);

/*
 * After the last sample and query: the tallies per object and thread, and
 * every sample added to the profile with its labels. 0 or -errno, err set.
 */
int numa_finish(struct numa_run *r, char *err, size_t errlen);
/* Data objects by faults, descending (valid after numa_finish, until numa_free). */
const struct numa_object *numa_objects(const struct numa_run *r, size_t *n);
const struct numa_thread *numa_threads(const struct numa_run *r, size_t *n);
/* Pages sampled, and the moves: the times a page's node changed between two queries. */
uint64_t numa_pages(const struct numa_run *r);
uint64_t numa_moves(const struct numa_run *r);

/* The summary: the machine, balancing, then per object (max_objects 0: all). */
void numa_print(const struct numa_run *r, FILE *out, size_t max_objects);

/* --- placement now: where an object's pages are (pages.c, numa pages) ----------- */

struct numa_placement {
	char name[160]; /* the variable, "ADDR-END", or the mapping: "FILE START-END", "anon START-END" */
	char file[160];      /* the file defining the variable ("" otherwise) */
	pid_t pid;
	uint64_t addr, len;
	uint64_t unmapped;                /* bytes of a range no mapping covers (not asked) */
	uint64_t on_node[NUMA_MAX_NODES]; /* present pages by node */
	uint64_t asked, absent;           /* pages asked; those with no node (not faulted in) */
	uint64_t stride;                  /* every stride-th page asked (1: all) */
};

/*
 * The pages of the global or static variable `symbol` of running process pid
 * (its run-time address and size, PIE and shared libraries too), or of
 * [addr, addr + len), or of every mapping with pages present (*out malloc'd,
 * most pages first). 0, or -errno with err naming the cause and the fix
 * (-ESRCH: no such process, -EPERM: another user's, -ENOENT: no such symbol,
 * -EFAULT: nothing of the range is mapped; a part unmapped is out->unmapped).
 */
int numa_place_symbol(pid_t pid, const char *symbol, struct numa_placement *out, char *err,
		      size_t errlen);
int numa_place_range(pid_t pid, uint64_t addr, uint64_t len, struct numa_placement *out, char *err,
		     size_t errlen);
int numa_place_maps(pid_t pid, struct numa_placement **out, size_t *n, char *err, size_t errlen);
/* A table: object, size, present pages, pages and share per node (nnodes columns), absent. */
void numa_placement_print(const struct numa_placement *p, size_t n, int nnodes, FILE *out);

/* --- the kernel's NUMA activity during the run (kernel.c) -------------------------- */

/* mm_migrate_pages, sched_move_numa, _swap_numa, _stick_numa, remove_migration_pte, _pmd */
#define NUMA_KERNEL_TP 6
#define NUMA_KERNEL_VMSTAT 7 /* /proc/vmstat counters kept */

struct numa_kernel_options {
	struct proc_model *procs; /* thread names (not owned) */
	/*
	 * numa record's pages: a page migration the kernel reports with its
	 * address (remove_migration_pte/_pmd) is that page's move, timed by the
	 * tracepoint; phys names the node it went to (NULL: the next query
	 * does). Neither owned; run NULL: none.
	 */
	struct numa_run *run;
	const struct topo_phys_map *phys;
	pid_t self;               /* the recorder's own process, whose hits are left out; 0: none */
	struct agg *agg;          /* stacks, and the profile the hits go to */
	size_t ntypes;            /* the profile's sample types besides samples/count */
	int (*node_of_cpu)(const void *ctx, int cpu);
	const void *node_ctx;
};

struct numa_kernel_stats {
	uint64_t hits[NUMA_KERNEL_TP]; /* per tracepoint */
	uint64_t migrated;             /* pages mm_migrate_pages moved (succeeded) */
	uint64_t migrated_balancing;   /* of those, for NUMA balancing (reason numa_misplaced) */
	uint64_t migrate_failed;
	uint64_t migrated_mapped; /* pages remove_migration_pte/_pmd reported mapped again, moved */
	bool vmstat_ok;
	/* numa_hint_faults, numa_hint_faults_local, numa_pages_migrated, pgmigrate_success,
	 * pgmigrate_fail, numa_pte_updates, numa_huge_pte_updates: before, and after - before */
	uint64_t vmstat_before[NUMA_KERNEL_VMSTAT], vmstat_delta[NUMA_KERNEL_VMSTAT];
};

struct numa_kernel;
/*
 * The NUMA tracepoints this kernel has, as an event list for -e ("" when
 * none; why then says why, e.g. tracefs not mounted or not readable). 0, or
 * -ENOSPC when buf is too short.
 */
int numa_kernel_events(char *buf, size_t len, char *why, size_t whylen);
/* Reads the tracepoints' formats. */
int numa_kernel_new(struct numa_kernel **out, const struct numa_kernel_options *o, char *err,
		    size_t errlen);
/*
 * /proc/vmstat's counters at the sampling's start (end false) and end (end
 * true, once): call them next to enabling and disabling the tracepoints, so
 * both count the same window.
 */
void numa_kernel_window(struct numa_kernel *k, bool end);
void numa_kernel_free(struct numa_kernel *k);
/* An engine sample: one of the NUMA tracepoints is counted, its fields read, kept; others ignored. */
int numa_kernel_sample(struct numa_kernel *k, const struct eng_event *ev,
		       const struct pabi_sample *s);
/* After the run (closing the window if the caller did not): every hit added to the profile (labels: reason, pages_migrated, src_node, dst_node). */
int numa_kernel_finish(struct numa_kernel *k, char *err, size_t errlen);
const struct numa_kernel_stats *numa_kernel_stats(const struct numa_kernel *k);
/* The summary's lines: migrations, task moves, the machine's counters. */
void numa_kernel_print(const struct numa_kernel *k, FILE *out);

/* /proc/sys/kernel/numa_balancing: 0 off, 1 on (2: memory tiering), or -errno. */
int numa_balancing(void);

/* --- numa report (report.c): numa record's profile read back, tallied and judged --- */

/* One (aggregated) sample of numa record's profile, or one perf mem sample. */
struct numa_rep_sample {
	pid_t pid;
	uint32_t tid;
	const char *comm;
	int node;      /* the faulting CPU's; -1 unknown */
	int data_node; /* the page's at the fault, as numa record's queries knew it; -1 unknown */
	const char *object;
	uint64_t object_start;   /* with the name, the object (two mappings of a file share it) */
	const char *func; /* the leaf address's function (not an inlined one); NULL unknown */
	bool first;              /* its page's first sampled fault: the first touch */
	enum numa_access access; /* node against data_node, or perf mem's data_src */
	uint64_t count;          /* sampled faults */
};

/* A thread numa record saw move between nodes (NUMA_COMMENT_THREAD). */
struct numa_rep_thread {
	pid_t pid;
	uint32_t tid;
	uint64_t node_switches;
};

/* An object's range and its pages by node at numa record's last query. */
struct numa_rep_object {
	pid_t pid;
	const char *name;
	uint64_t start, end;
	uint64_t pages_on[NUMA_MAX_NODES];
	uint64_t asked, absent, stride;
	int err; /* errno when the kernel could not say */
	uint64_t moved;                           /* sampled pages that changed node */
	uint64_t moves_to[NUMA_MAX_NODES];        /* their moves by the node moved to */
	uint64_t moved_after_ns, moved_before_ns; /* when, from the run's start */
};

struct numa_rep_input {
	int nnodes;
	bool perf_mem; /* perf mem's samples: each an access, none a first touch */
	int balancing; /* numa_balancing() at the recording: 0, 1, 2, or -errno */
	uint64_t moves;
	/* numa record -p/-a: a page's first sampled fault is the first seen, maybe not its touch */
	bool attached;
	/* Objects numa record saw; the first NUMA_COMMENT_OBJECTS of them are in objects. */
	uint64_t objects_recorded;
	int distance[NUMA_MAX_NODES][NUMA_MAX_NODES]; /* 0: unknown */
	const struct numa_rep_sample *samples;
	size_t nsamples;
	const struct numa_rep_object *objects;
	size_t nobjects;
	/* numa record's threads that moved between nodes (perf mem: none known, threads judged on shares) */
	const struct numa_rep_thread *threads;
	size_t nthreads;
};

/*
 * numa record's profile read back: its samples and its NUMA comments. A
 * profile that is not numa record's fails with -EINVAL, err naming the
 * cause and the fix.
 */
struct numa_rep_file;
int numa_rep_read(struct numa_rep_file **out, const char *path, char *err, size_t errlen);
/*
 * perf mem's samples (c2c's collection from a perf.data with ADDR and
 * DATA_SRC) as the report's input: each an access, local or remote by its
 * data_src (remote RAM and remote caches are remote; no level: unknown), its
 * object the data symbol without its offset; nnodes: the file's NUMA
 * topology. The samples' strings must outlive the file.
 */
int numa_rep_from_mem(struct numa_rep_file **out, const struct c2c_sample *s, size_t n, int nnodes,
		      char *err, size_t errlen);
const struct numa_rep_input *numa_rep_input(const struct numa_rep_file *f);
void numa_rep_file_free(struct numa_rep_file *f);

enum numa_verdict_kind {
	NUMA_V_ONE_NODE,
	NUMA_V_SERIAL_FIRST_TOUCH,      /* one thread placed it, threads of other nodes use it */
	NUMA_V_INTERLEAVED_PARTITIONED, /* spread over nodes, used by threads that each stay on one */
	NUMA_V_REMOTE_PINNED,           /* a thread on one node working on another node's memory */
	NUMA_V_WANDERING,               /* a thread whose faults came from CPUs of several nodes */
	NUMA_V_MOVED,                   /* balancing moved much of it during the run */
	NUMA_V_WELL_PLACED,
	NUMA_V_TOO_FEW, /* no object had enough accesses to judge */
};

struct numa_verdict {
	enum numa_verdict_kind kind;
	const char *object; /* NULL: a thread's or the run's */
	pid_t pid;
	uint32_t tid;   /* 0: an object's or the run's */
	char text[768]; /* the finding with its numbers, then "->" and the fix */
};

/* The tallies per object, function and thread and the verdicts, from an input. */
struct numa_report;
int numa_report_new(struct numa_report **out, const struct numa_rep_input *in, char *err,
		    size_t errlen);
void numa_report_free(struct numa_report *r);
const struct numa_verdict *numa_report_verdicts(const struct numa_report *r, size_t *n);
/* "serial_first_touch", ...: the JSON's verdict kinds. */
const char *numa_verdict_name(enum numa_verdict_kind k);
void numa_report_print(const struct numa_report *r, FILE *out, bool all); /* all: every row */
void numa_report_print_json(const struct numa_report *r, FILE *out);
/* The profile read, with the report's verdicts added as comments. */
struct base_output;
int numa_report_write(const struct numa_rep_file *f, const struct numa_report *r,
		      struct base_output *out, char *err, size_t errlen);

#endif
