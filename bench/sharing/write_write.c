/*
 * write_write.c - write-write false sharing: two threads each increment
 * their own 8-byte word of one cache line (shared_line[0] and [1]).
 * Expected c2c watch verdict: false sharing.
 *
 * Hot function: ww_worker.
 */
#include <stdalign.h>

#include "sharing.h"

static const char usage[] =
    "usage: write_write [--iters N] [--delay-ms MS]\n"
    "  Two threads increment adjacent words of one cache line N times each.\n"
    "  --iters N      increments per thread (default 1000000000)\n"
    "  --delay-ms MS  sleep before starting the threads (default 0)\n";

alignas(64) volatile uint64_t shared_line[8];
void *ww_worker(void *argp);

__attribute__((noinline)) void *ww_worker(void *argp)
{
    struct sh_arg *a = argp;
    volatile uint64_t *w = &shared_line[a->index];
    for (uint64_t i = 0; i < a->iters; i++)
        (*w)++;
    a->result = a->iters;
    return NULL;
}

int main(int argc, char **argv)
{
    return sh_main2(argc, argv, usage, 1000000000, "write_write", ww_worker, "ww-writer0", "ww-writer1");
}
