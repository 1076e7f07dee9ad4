/*
 * falseshare.c - false sharing between threads.
 *
 * T threads each increment their own counter N times. By default the
 * counters are adjacent 8-byte words in the same cache line, so the line
 * ping-pongs between cores although no data is logically shared. With
 * --padded each counter sits on its own 64-byte line and the effect goes
 * away. Counters are volatile, so every increment is a real load + store.
 *
 * Hot function: falseshare_worker.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "workload.h"

#define MAX_THREADS 64

static const char usage[] =
    "usage: falseshare [--threads T] [--iters N] [--padded]\n"
    "  Each of T threads increments its own counter N times.\n"
    "  --threads T   number of threads, 1..64 (default 2)\n"
    "  --iters N     increments per thread (default 100000000)\n"
    "  --padded      give each counter its own 64-byte cache line\n";

/* Non-static so the symbols are global and easy to find for a profiler. */
void *falseshare_worker(void *argp);

/* Adjacent counters: 8 per cache line (threads 0-7 share the first line). */
static alignas(64) volatile uint64_t packed[MAX_THREADS];

/* One counter per cache line. */
struct padded_counter {
    alignas(64) volatile uint64_t v;
};
static struct padded_counter padded[MAX_THREADS];

struct worker_arg {
    volatile uint64_t *counter;
    uint64_t iters;
};

/* The hot loop: one load + add + store per iteration on this thread's counter. */
__attribute__((noinline)) void *falseshare_worker(void *argp)
{
    const struct worker_arg *arg = argp;
    volatile uint64_t *c = arg->counter;
    for (uint64_t i = 0; i < arg->iters; i++)
        (*c)++;
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t nthreads = 2, iters = 100000000;
    int use_padded = 0;
    const wl_opt opts[] = {
        { "threads", WL_U64, &nthreads, 1, MAX_THREADS },
        { "iters", WL_U64, &iters, 0, UINT64_MAX },
        { "padded", WL_FLAG, &use_padded, 0, 0 },
    };
    wl_parse_args(argc, argv, usage, opts, sizeof opts / sizeof opts[0]);

    pthread_t tids[MAX_THREADS];
    struct worker_arg args[MAX_THREADS];
    for (uint64_t t = 0; t < nthreads; t++) {
        args[t].counter = use_padded ? &padded[t].v : &packed[t];
        args[t].iters = iters;
        int err = pthread_create(&tids[t], NULL, falseshare_worker, &args[t]);
        if (err != 0) {
            fprintf(stderr, "falseshare: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }

    uint64_t sum = 0;
    for (uint64_t t = 0; t < nthreads; t++) {
        pthread_join(tids[t], NULL);
        sum += *args[t].counter;
    }

    /* sum == threads * iters (mod 2^64): deterministic, and depends on every store. */
    printf("falseshare: checksum=%llu threads=%llu iters=%llu padded=%d\n",
           (unsigned long long)sum, (unsigned long long)nthreads,
           (unsigned long long)iters, use_padded);
    return 0;
}
