/*
 * spin.c - deterministic compute loop for instruction-count comparisons.
 *
 * spin_loop runs --iters iterations of branch-free integer arithmetic on
 * registers only (no memory traffic beyond the stack), so the retired
 * instruction count is a fixed function of --iters.
 *
 * --touch-mb M additionally allocates M MiB and writes one byte per 4 KiB
 * page exactly once, giving a deterministic number of page faults (about
 * M * 256, plus the program's fixed startup faults). Transparent huge pages
 * are disabled for that region so faults stay at 4 KiB granularity.
 *
 * Hot function: spin_loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "workload.h"

#define TOUCH_STRIDE 4096u

/* Non-static so the symbols are global and easy to find for a profiler. */
uint64_t spin_loop(uint64_t iters);
uint64_t spin_touch(uint64_t mb);

static const char usage[] =
    "usage: spin [--iters N] [--touch-mb M]\n"
    "  Fixed integer-arithmetic loop, optionally touching fresh memory.\n"
    "  --iters N      loop iterations (default 200000000)\n"
    "  --touch-mb M   malloc M MiB and write one byte per 4 KiB page (default 0)\n";

/* The hot loop: an LCG step and a multiply/xorshift mix per iteration. */
__attribute__((noinline)) uint64_t spin_loop(uint64_t iters)
{
    uint64_t x = WL_SEED, acc = 0;
    for (uint64_t i = 0; i < iters; i++) {
        x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        acc += (x >> 29) ^ (acc << 3) ^ i;
    }
    return acc ^ x;
}

/* Write one byte to every 4 KiB page of a fresh M MiB allocation. */
__attribute__((noinline)) uint64_t spin_touch(uint64_t mb)
{
    size_t bytes = (size_t)mb << 20;
    unsigned char *buf = aligned_alloc(TOUCH_STRIDE, bytes);
    if (buf == NULL) {
        fprintf(stderr, "spin: out of memory for %llu MiB\n", (unsigned long long)mb);
        exit(1);
    }
    /* Keep 4 KiB faults even where THP is "always"; failure is harmless. */
    (void)madvise(buf, bytes, MADV_NOHUGEPAGE);

    for (size_t off = 0; off < bytes; off += TOUCH_STRIDE)
        ((volatile unsigned char *)buf)[off] = (unsigned char)(off >> 12);

    uint64_t sum = 0;
    for (size_t off = 0; off < bytes; off += TOUCH_STRIDE)
        sum += buf[off];
    free(buf);
    return sum;
}

int main(int argc, char **argv)
{
    uint64_t iters = 200000000, touch_mb = 0;
    const wl_opt opts[] = {
        { "iters", WL_U64, &iters, 0, UINT64_MAX },
        { "touch-mb", WL_U64, &touch_mb, 0, 1 << 20 },
    };
    wl_parse_args(argc, argv, usage, opts, sizeof opts / sizeof opts[0]);

    uint64_t touched = touch_mb ? spin_touch(touch_mb) : 0;
    uint64_t acc = spin_loop(iters);

    printf("spin: checksum=%016llx iters=%llu touch_mb=%llu touched_sum=%llu\n",
           (unsigned long long)acc, (unsigned long long)iters,
           (unsigned long long)touch_mb, (unsigned long long)touched);
    return 0;
}
