/*
 * mix.c - the three behaviours of chase, branchy and falseshare in sequence,
 * each in its own noinline function so a profiler can split the run into
 * three clearly separated hot spots:
 *
 *   mix_chase       cache/TLB-missing dependent loads (64 MiB random cycle)
 *   mix_branchy     unpredictable data-dependent branches
 *   mix_falseshare  2 threads incrementing counters in one cache line
 *                   (runs on both threads: main + one helper)
 *
 * Default sizes take roughly 1-2 s in total; --scale F multiplies the amount
 * of work of each phase (buffer sizes stay the same), and --chase, --branchy
 * and --falseshare F multiply one phase's on top: two runs that differ in one
 * phase give a profile diff with a known answer.
 */
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

/* Default work per phase at --scale 1, balanced so that each phase takes
 * a similar share of the ~1.2-1.3 s run (measured on an AMD EPYC VM). */
#define CHASE_MB 64
#define CHASE_STEPS 2500000.0
#define BRANCHY_N (1u << 20)
#define BRANCHY_ROUNDS 100.0
#define FS_THREADS 2
#define FS_ITERS 200000000.0

struct node;
/* Non-static so the symbols are global and easy to find for a profiler. */
int mix_chase_build(struct node *nodes, size_t n, uint64_t seed);
size_t mix_chase(struct node *nodes, uint64_t steps);
void mix_branchy_fill(uint8_t *data, size_t n, uint64_t seed);
uint64_t mix_branchy(const uint8_t *data, size_t n, uint64_t rounds);
uint64_t mix_falseshare(volatile uint64_t *counter, uint64_t iters);

static const char usage[] =
    "usage: mix [--scale F]\n"
    "  Run a pointer-chase, a branchy and a false-sharing phase in sequence.\n"
    "  --scale F       multiply the work of every phase by F > 0 (default 1)\n"
    "  --chase F       multiply the pointer-chase phase's work by F (default 1)\n"
    "  --branchy F     multiply the branchy phase's work by F (default 1)\n"
    "  --falseshare F  multiply the false-sharing phase's work by F (default 1)\n";

/* Convert a scaled amount of work to an iteration count (at least 1). */
static uint64_t scaled(double base, double scale)
{
    double v = round(base * scale);
    return v < 1.0 ? 1 : (uint64_t)v;
}

/* ------------------------------------------------------------ chase -- */

struct node {
    alignas(64) struct node *next;
    char pad[64 - sizeof(struct node *)];
};

/* Link nodes[0..n) into one random cycle (Sattolo's algorithm). */
__attribute__((noinline)) int mix_chase_build(struct node *nodes, size_t n, uint64_t seed)
{
    size_t *perm = malloc(n * sizeof *perm);
    if (perm == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    wl_rng rng = wl_rng_init(seed);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)wl_rng_below(&rng, i);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        nodes[i].next = &nodes[perm[i]];
    free(perm);
    return 0;
}

/* Hot phase 1: `steps` dependent loads. Returns the index reached. */
__attribute__((noinline)) size_t mix_chase(struct node *nodes, uint64_t steps)
{
    struct node *p = &nodes[0];
    while (steps--)
        p = p->next;
    return (size_t)(p - nodes);
}

/* ---------------------------------------------------------- branchy -- */

__attribute__((noinline)) void mix_branchy_fill(uint8_t *data, size_t n, uint64_t seed)
{
    wl_rng rng = wl_rng_init(seed);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(wl_rng_next(&rng) >> 56);
}

/* Hot phase 2: one unpredictable conditional jump per element. */
__attribute__((noinline)) uint64_t mix_branchy(const uint8_t *data, size_t n, uint64_t rounds)
{
    uint64_t acc = 1;
    for (uint64_t r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            uint64_t b = data[i];
            if (b & 0x80) {
                acc = acc * 31 + b;
                __asm__ volatile("" ::: "memory"); /* forbid if-conversion */
            } else {
                acc ^= (acc >> 7) + b * b + r;
            }
        }
    }
    return acc;
}

/* ------------------------------------------------------- falseshare -- */

static alignas(64) volatile uint64_t fs_counters[FS_THREADS]; /* same cache line */

struct fs_arg {
    volatile uint64_t *counter;
    uint64_t iters;
};

/* Hot phase 3: increment this thread's counter `iters` times. Runs on every
 * falseshare thread (the main thread included), so all samples of the phase
 * land in this function. */
__attribute__((noinline)) uint64_t mix_falseshare(volatile uint64_t *counter, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        (*counter)++;
    return *counter;
}

static void *fs_thread(void *argp)
{
    const struct fs_arg *a = argp;
    mix_falseshare(a->counter, a->iters);
    return NULL;
}

/* Run mix_falseshare on FS_THREADS threads: FS_THREADS-1 helpers plus the
 * calling thread. Returns the sum of all counters (FS_THREADS * iters). */
static uint64_t run_falseshare(uint64_t iters)
{
    pthread_t tids[FS_THREADS];
    struct fs_arg args[FS_THREADS];
    for (int t = 1; t < FS_THREADS; t++) {
        args[t].counter = &fs_counters[t];
        args[t].iters = iters;
        int err = pthread_create(&tids[t], NULL, fs_thread, &args[t]);
        if (err != 0) {
            fprintf(stderr, "mix: pthread_create: %s\n", strerror(err));
            exit(1);
        }
    }
    uint64_t sum = mix_falseshare(&fs_counters[0], iters);
    for (int t = 1; t < FS_THREADS; t++) {
        pthread_join(tids[t], NULL);
        sum += fs_counters[t];
    }
    return sum;
}

/* ------------------------------------------------------------- main -- */

int main(int argc, char **argv)
{
    double scale = 1.0, chase = 1.0, branchy = 1.0, falseshare = 1.0;
    const wl_opt opts[] = {
        { "scale", WL_DOUBLE, &scale, 0, 0 },
        { "chase", WL_DOUBLE, &chase, 0, 0 },
        { "branchy", WL_DOUBLE, &branchy, 0, 0 },
        { "falseshare", WL_DOUBLE, &falseshare, 0, 0 },
    };
    wl_parse_args(argc, argv, usage, opts, sizeof opts / sizeof opts[0]);
    if (scale * chase > 1e6 || scale * branchy > 1e6 || scale * falseshare > 1e6) {
        fprintf(stderr, "mix: --scale times a phase's factor too large (max 1e6)\n");
        return 2;
    }

    size_t n_nodes = ((size_t)CHASE_MB << 20) / sizeof(struct node);
    struct node *nodes = aligned_alloc(64, n_nodes * sizeof *nodes);
    uint8_t *data = malloc(BRANCHY_N);
    if (nodes == NULL || data == NULL || mix_chase_build(nodes, n_nodes, WL_SEED) != 0) {
        fprintf(stderr, "mix: out of memory\n");
        return 1;
    }
    mix_branchy_fill(data, BRANCHY_N, WL_SEED ^ 1);

    size_t c1 = mix_chase(nodes, scaled(CHASE_STEPS, scale * chase));
    uint64_t c2 = mix_branchy(data, BRANCHY_N, scaled(BRANCHY_ROUNDS, scale * branchy));
    uint64_t c3 = run_falseshare(scaled(FS_ITERS, scale * falseshare));

    printf("mix: checksum=%016llx chase=%zu branchy=%016llx falseshare=%llu scale=%g\n",
           (unsigned long long)(c1 ^ c2 ^ c3), c1, (unsigned long long)c2,
           (unsigned long long)c3, scale);
    free(data);
    free(nodes);
    return 0;
}
