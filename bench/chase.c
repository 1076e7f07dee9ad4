/*
 * chase.c - dependent pointer chasing over a buffer larger than the LLC.
 *
 * The buffer is an array of 64-byte nodes (one per cache line) linked into a
 * single random cycle with Sattolo's algorithm, so every step is a dependent
 * load that misses the caches (and usually the TLB). Fixed work: --steps
 * loads, independent of machine speed.
 *
 * Hot function: chase_walk.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

/* One node per 64-byte cache line. */
struct node {
    alignas(64) struct node *next;
    char pad[64 - sizeof(struct node *)];
};
_Static_assert(sizeof(struct node) == 64, "node must be one cache line");

/* Non-static so the symbols are global and easy to find for a profiler. */
int chase_build(struct node *nodes, size_t n, uint64_t seed);
struct node *chase_walk(struct node *p, uint64_t steps);

static const char usage[] =
    "usage: chase [--mb N] [--steps N]\n"
    "  Pointer-chase a random cyclic permutation of 64-byte nodes.\n"
    "  --mb N      buffer size in MiB (default 64; should exceed the LLC)\n"
    "  --steps N   number of dependent loads (default 20000000)\n";

/*
 * Link nodes[0..n) into one cycle visiting every node (Sattolo's algorithm
 * produces a uniformly random cyclic permutation). Returns 0 on success.
 */
__attribute__((noinline)) int chase_build(struct node *nodes, size_t n, uint64_t seed)
{
    size_t *perm = malloc(n * sizeof *perm);
    if (perm == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;

    wl_rng rng = wl_rng_init(seed);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)wl_rng_below(&rng, i); /* j < i: Sattolo, not Fisher-Yates */
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    /* perm is a single n-cycle: i -> perm[i]. */
    for (size_t i = 0; i < n; i++)
        nodes[i].next = &nodes[perm[i]];

    free(perm);
    return 0;
}

/* The hot loop: `steps` dependent loads. Returns the node reached. */
__attribute__((noinline)) struct node *chase_walk(struct node *p, uint64_t steps)
{
    while (steps--)
        p = p->next;
    return p;
}

int main(int argc, char **argv)
{
    uint64_t mb = 64, steps = 20000000;
    const wl_opt opts[] = {
        { "mb", WL_U64, &mb, 1, 1 << 20 },
        { "steps", WL_U64, &steps, 0, UINT64_MAX },
    };
    wl_parse_args(argc, argv, usage, opts, sizeof opts / sizeof opts[0]);

    size_t n = (size_t)(mb << 20) / sizeof(struct node);
    struct node *nodes = aligned_alloc(64, n * sizeof *nodes);
    if (nodes == NULL || chase_build(nodes, n, WL_SEED) != 0) {
        fprintf(stderr, "chase: out of memory for %llu MiB\n", (unsigned long long)mb);
        return 1;
    }

    struct node *end = chase_walk(&nodes[0], steps);

    /* Index of the final node depends on every step: the work cannot be elided. */
    printf("chase: checksum=%zu mb=%llu steps=%llu\n", (size_t)(end - nodes),
           (unsigned long long)mb, (unsigned long long)steps);
    free(nodes);
    return 0;
}
