/*
 * numa — where memory lives and who touches it, from page faults sampled
 * with their data addresses (numa record).
 *
 * An engine tool (numa_sample) keeps, per sampled page (address >> page
 * shift, per process): the first touch seen in the run (thread, CPU -> node,
 * the stack, the data object the address is in, named through c2c's
 * resolver at that moment of the stream) and every later fault (while
 * automatic NUMA balancing runs, its hinting faults: the thread x node
 * access evidence). numa_query asks the kernel where each sampled page of a
 * process is now (move_pages(2) with nodes == NULL), which the caller does
 * while the address space still exists. numa_finish then tallies per data
 * object and per thread and adds every sample to the profile with the
 * labels node (the faulting CPU's), data_node (the page's at the query),
 * first_touch_node, object and access=local|remote.
 *
 * Depends on engine/ (the tool interface, stacks and the profile), c2c/
 * (data objects and code names), process/ and libnuma (move_pages).
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

struct numa_options {
	struct proc_model *procs; /* the engine's process model (not owned) */
	struct agg *agg;          /* stacks and the profile samples go to; it must symbolize */
	size_t ntypes;            /* the profile's sample types besides samples/count */
	/* The NUMA node of a CPU (-1: unknown). */
	int (*node_of_cpu)(const void *ctx, int cpu);
	const void *node_ctx;
	int nnodes; /* the machine's nodes (1: no NUMA effects, the summary says so) */
};

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
	enum c2c_object_kind kind;
	char *name;          /* "grid", "[heap]", "anon 0x7f..-0x7f.. (64.0 MiB)", a path */
	uint64_t start, end; /* the variable's or the mapping's range */
	uint64_t pages;      /* sampled pages */
	uint64_t faults;     /* samples (each stands for `period` faults) */
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
	int why;
	uint64_t local, remote;             /* faults from the page's node at the query, or not */
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
	uint64_t to_node[NUMA_MAX_NODES]; /* faults by the page's node at the query */
	uint64_t local, remote;
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
 * The pages sampled since the last call, asked once soon after their first
 * touch: a later numa_query that finds one on another node counts a move
 * (automatic NUMA balancing's migrations). The first error, or 0.
 */
int numa_query_new(struct numa_run *r);
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
/* Pages sampled, and the times a page's node changed between two queries. */
uint64_t numa_pages(const struct numa_run *r);
uint64_t numa_moves(const struct numa_run *r);

/* The summary: the machine, balancing, then per object (max_objects 0: all). */
void numa_print(const struct numa_run *r, FILE *out, size_t max_objects);

/* /proc/sys/kernel/numa_balancing: 0 off, 1 on (2: memory tiering), or -errno. */
int numa_balancing(void);

#endif
