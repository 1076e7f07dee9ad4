/*
 * What numa record (numa.c) and numa report (report.c) share: their hash
 * indexes' entries, and how they print sizes, shares and counts by node.
 */
#ifndef PMUPROF_NUMA_INTERNAL_H
#define PMUPROF_NUMA_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base.h"

/*
 * The index in arr (an array of `size`-byte elements indexed by h) of the
 * entry equal to key (eq(ctx, idx, key)), or of a new zeroed one (*added);
 * -ENOMEM.
 */
int64_t numa_index_entry(struct base_htab *h, uint64_t hash, base_htab_eq_fn eq, const void *ctx,
			 const void *key, void **arr, size_t *n, size_t *cap, size_t size,
			 bool *added);

struct numa_run;
/*
 * The kernel moved pid's pages of [addr, addr + len) to node `to` (-1:
 * unknown) at `time` (a migration tracepoint): each sampled page in it
 * records the move. 0 or -ENOMEM.
 */
int numa_page_moved(struct numa_run *r, pid_t pid, uint64_t addr, uint64_t len, int to,
		    uint64_t time);

/* Said where a recording attached to running processes (-p, -a), before its first faults. */
#define NUMA_ATTACHED_NOTE                                                                         \
	"the recording attached to running processes: a page's first fault seen may come after "   \
	"its first touch, which the recording did not see (its thread, node and function are "     \
	"the first fault's)"

/* "64.0 MiB" */
void numa_human_size(uint64_t bytes, char *buf, size_t len);

/* The English ordinal suffix of n: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st. */
static inline const char *numa_ordinal(uint64_t n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	return n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
}
/* part of whole in percent, 0 when whole is 0 */
double numa_pct(uint64_t part, uint64_t whole);
/* " node0 8192 (50.0%), node1 8192 (50.0%)" for v[0..nn) (zeros: nodes with 0 too), or " none" */
void numa_print_by_node(FILE *out, const uint64_t *v, int nn, uint64_t whole, bool zeros);
/*
 * " 24 moves to node1 24 (100.0%), between 0.41 s and 1.90 s after the
 * start\n": moves of sampled pages by destination node, and when (from the
 * last query before the first move to the first query after the last).
 */
void numa_print_moves(FILE *out, const uint64_t *to, int nn, uint64_t moves, uint64_t after_ns,
		      uint64_t before_ns);
/*
 * Why numa record never asks where an object named `name` is: [kernel] and
 * [unknown] (an address in no mapping it knew of) are no memory of a process
 * that move_pages could ask about. NULL for any other object.
 */
const char *numa_never_asked(const char *name);
/*
 * Why asking a process's pages got no node: err ESRCH (the process was gone),
 * EINVAL (move_pages on a process that has exited and is not reaped yet: its
 * memory is gone), 0 (never asked: it ended before the query), else strerror.
 */
const char *numa_unanswered(int err);
/* The process ended before its pages were asked (numa_unanswered's first three). */
static inline bool numa_ended(int err)
{
	return err == 0 || err == ESRCH || err == EINVAL;
}

#endif
