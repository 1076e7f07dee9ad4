/*
 * threads.c - a fixed amount of compute split over N threads.
 *
 * --iters iterations of spin's LCG loop in total, split evenly over
 * --threads threads (the main thread only waits), so the work, and the number
 * of samples a profiler takes at a fixed period, do not depend on N: what
 * grows with N is only the number of threads a profiler has to track. Each
 * thread's stack holds nothing but its loop, keeping the workload's own RSS
 * small next to the profiler's.
 *
 * Hot function: threads_loop.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "workload.h"

#define MAX_THREADS 1024

/* Non-static so the symbols are global and easy to find for a profiler. */
uint64_t threads_loop(uint64_t iters, uint64_t seed);

static const char usage[] =
    "usage: threads [--threads N] [--iters TOTAL]\n"
    "  Split TOTAL loop iterations evenly over N threads.\n"
    "  --threads N    worker threads, 1..1024 (default 8)\n"
    "  --iters TOTAL  iterations over all threads (default 1500000000)\n";

struct worker {
    uint64_t iters, seed, result;
};

__attribute__((noinline)) uint64_t threads_loop(uint64_t iters, uint64_t seed)
{
    uint64_t x = seed, acc = 0;
    for (uint64_t i = 0; i < iters; i++) {
        x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        acc += (x >> 29) ^ (acc << 3) ^ i;
    }
    return acc ^ x;
}

static void *threads_worker(void *arg)
{
    struct worker *w = arg;
    w->result = threads_loop(w->iters, w->seed);
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t nthreads = 8, iters = 1500000000;
    const wl_opt opts[] = {
        { "threads", WL_U64, &nthreads, 1, MAX_THREADS },
        { "iters", WL_U64, &iters, 0, UINT64_MAX },
    };
    wl_parse_args(argc, argv, usage, opts, sizeof opts / sizeof opts[0]);

    static pthread_t tids[MAX_THREADS];
    static struct worker workers[MAX_THREADS];
    for (uint64_t t = 0; t < nthreads; t++) {
        /* The remainder goes to the first threads: the total stays exact. */
        workers[t].iters = iters / nthreads + (t < iters % nthreads);
        workers[t].seed = WL_SEED + t;
        int err = pthread_create(&tids[t], NULL, threads_worker, &workers[t]);
        if (err != 0) {
            fprintf(stderr, "threads: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    uint64_t acc = 0;
    for (uint64_t t = 0; t < nthreads; t++) {
        pthread_join(tids[t], NULL);
        acc ^= workers[t].result;
    }
    printf("threads: checksum=%016llx threads=%llu iters=%llu\n", (unsigned long long)acc,
           (unsigned long long)nthreads, (unsigned long long)iters);
    return 0;
}
