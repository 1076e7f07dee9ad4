/*
 * sharing.h - what the bench/sharing workloads have in common: two threads
 * started on a worker function with a named thread each, fixed iteration
 * counts, and an optional start-up delay (so `pmuprof c2c watch -p PID` can
 * attach before the threads exist: inherit covers threads created later).
 *
 * Each workload exports the watched object as the global `shared_line`
 * (64-byte aligned) so `pmuprof c2c watch --symbol shared_line` finds it;
 * they are linked -no-pie, so the symbol's address is its run-time address.
 * Workers return their results through `struct sh_arg`, never through the
 * shared line, so the main thread never touches the line itself.
 */
#ifndef PMUPROF_BENCH_SHARING_H
#define PMUPROF_BENCH_SHARING_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../workload.h"

struct sh_arg {
    int index;
    uint64_t iters;
    uint64_t result;
    const char *name; /* thread name as the profiler shows it (<= 15 chars) */
};

static inline void sh_sleep_ms(uint64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Runs fn on two threads (args[0], args[1]) and waits for both; 0 or 1 on error. */
static inline int sh_run2(const char *prog, void *(*fn)(void *), struct sh_arg args[2])
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        int err = pthread_create(&t[i], NULL, fn, &args[i]);
        if (err != 0) {
            fprintf(stderr, "%s: pthread_create: %s\n", prog, strerror(err));
            return 1;
        }
        pthread_setname_np(t[i], args[i].name);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return 0;
}

/* --iters N (default: default_iters) and --delay-ms MS, the delay slept here; returns N. */
static inline uint64_t sh_options(int argc, char **argv, const char *usage, uint64_t default_iters)
{
    uint64_t iters = default_iters, delay = 0;
    const wl_opt opts[] = {
        { "iters", WL_U64, &iters, 0, UINT64_MAX },
        { "delay-ms", WL_U64, &delay, 0, 600000 },
    };
    wl_parse_args(argc, argv, usage, opts, sizeof opts / sizeof opts[0]);
    sh_sleep_ms(delay);
    return iters;
}

/*
 * main() of a two-thread workload: the options, fn on threads named name0
 * and name1 (index 0 and 1), then "PROG: checksum=... iters=...".
 */
static inline int sh_main2(int argc, char **argv, const char *usage, uint64_t default_iters,
                           const char *prog, void *(*fn)(void *), const char *name0,
                           const char *name1)
{
    uint64_t iters = sh_options(argc, argv, usage, default_iters);
    struct sh_arg args[2] = { { 0, iters, 0, name0 }, { 1, iters, 0, name1 } };
    if (sh_run2(prog, fn, args))
        return 1;
    printf("%s: checksum=%llu iters=%llu\n", prog,
           (unsigned long long)(args[0].result + args[1].result), (unsigned long long)iters);
    return 0;
}

#endif /* PMUPROF_BENCH_SHARING_H */
