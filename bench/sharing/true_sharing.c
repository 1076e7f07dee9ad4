/*
 * true_sharing.c - true sharing: two threads atomically increment the same
 * word (shared_line[0]); the data really is shared.
 * Expected c2c watch verdict: true sharing.
 *
 * Hot function: ts_worker.
 */
#include <stdalign.h>

#include "sharing.h"

static const char usage[] =
    "usage: true_sharing [--iters N] [--delay-ms MS]\n"
    "  Two threads atomically increment the same word N times each.\n"
    "  --iters N      increments per thread (default 100000000)\n"
    "  --delay-ms MS  sleep before starting the threads (default 0)\n";

alignas(64) uint64_t shared_line[8];
void *ts_worker(void *argp);

__attribute__((noinline)) void *ts_worker(void *argp)
{
    struct sh_arg *a = argp;
    for (uint64_t i = 0; i < a->iters; i++)
        __atomic_fetch_add(&shared_line[0], 1, __ATOMIC_RELAXED);
    a->result = a->iters;
    return NULL;
}

int main(int argc, char **argv)
{
    return sh_main2(argc, argv, usage, 100000000, "true_sharing", ts_worker, "ts-worker0", "ts-worker1");
}
