/*
 * branchy.c - unpredictable, data-dependent conditional branches.
 *
 * An array of random bytes is scanned --rounds times; each byte picks one of
 * two different computations. The pattern (1 Mi random bits by default) is far
 * too long for a branch predictor to learn, so about half of these branches
 * mispredict. An empty asm with a "memory" clobber on one side keeps gcc from
 * if-converting the branch into a cmov.
 *
 * Hot function: branchy_run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

/* Non-static so the symbols are global and easy to find for a profiler. */
void branchy_fill(uint8_t *data, size_t n, uint64_t seed);
uint64_t branchy_run(const uint8_t *data, size_t n, uint64_t rounds);

static const char usage[] =
    "usage: branchy [--n N] [--rounds R]\n"
    "  Scan N random bytes R times, branching on each byte.\n"
    "  --n N        number of elements (default 1048576)\n"
    "  --rounds R   number of passes over the data (default 40)\n";

/* Fill data[0..n) with fixed-seed random bytes. */
__attribute__((noinline)) void branchy_fill(uint8_t *data, size_t n, uint64_t seed)
{
    wl_rng rng = wl_rng_init(seed);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(wl_rng_next(&rng) >> 56);
}

/* The hot loop: one data-dependent conditional jump per element. */
__attribute__((noinline)) uint64_t branchy_run(const uint8_t *data, size_t n, uint64_t rounds)
{
    uint64_t acc = 1;
    for (uint64_t r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            uint64_t b = data[i];
            if (b & 0x80) {
                /* taken side: multiply-accumulate */
                acc = acc * 31 + b;
                __asm__ volatile("" ::: "memory"); /* forbid if-conversion */
            } else {
                /* other side: shift/xor mixing */
                acc ^= (acc >> 7) + b * b + r;
            }
        }
    }
    return acc;
}

int main(int argc, char **argv)
{
    uint64_t n = 1u << 20, rounds = 40;
    const wl_opt opts[] = {
        { "n", WL_U64, &n, 1, (uint64_t)1 << 40 },
        { "rounds", WL_U64, &rounds, 0, UINT64_MAX },
    };
    wl_parse_args(argc, argv, usage, opts, sizeof opts / sizeof opts[0]);

    uint8_t *data = malloc((size_t)n);
    if (data == NULL) {
        fprintf(stderr, "branchy: out of memory for %llu elements\n", (unsigned long long)n);
        return 1;
    }
    branchy_fill(data, (size_t)n, WL_SEED);

    uint64_t acc = branchy_run(data, (size_t)n, rounds);

    printf("branchy: checksum=%016llx n=%llu rounds=%llu\n", (unsigned long long)acc,
           (unsigned long long)n, (unsigned long long)rounds);
    free(data);
    return 0;
}
