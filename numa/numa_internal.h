/*
 * What numa record (numa.c) and numa report (report.c) share: their hash
 * indexes' entries, and how they print sizes, shares and counts by node.
 */
#ifndef PMUPROF_NUMA_INTERNAL_H
#define PMUPROF_NUMA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"

/*
 * The index in arr (an array of `size`-byte elements indexed by h) of the
 * entry equal to key (eq(ctx, idx, key)), or of a new zeroed one (*added);
 * -ENOMEM.
 */
int64_t numa_index_entry(struct base_htab *h, uint64_t hash, base_htab_eq_fn eq, const void *ctx,
			 const void *key, void **arr, size_t *n, size_t *cap, size_t size,
			 bool *added);

/* "64.0 MiB" */
void numa_human_size(uint64_t bytes, char *buf, size_t len);
/* part of whole in percent, 0 when whole is 0 */
double numa_pct(uint64_t part, uint64_t whole);
/* " node0 8192 (50.0%), node1 8192 (50.0%)" for v[0..nn) (zeros: nodes with 0 too), or " none" */
void numa_print_by_node(FILE *out, const uint64_t *v, int nn, uint64_t whole, bool zeros);

#endif
