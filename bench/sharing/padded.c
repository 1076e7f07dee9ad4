/*
 * padded.c - no sharing: like write_write, but each thread's word is on a
 * line of its own (shared_line[0].v and shared_line[1].v are 64 bytes apart).
 * Watching `shared_line` (64 bytes) sees only thread 0.
 * Expected c2c watch verdict: none.
 *
 * Hot function: pad_worker.
 */
#include <stdalign.h>

#include "sharing.h"

static const char usage[] =
    "usage: padded [--iters N] [--delay-ms MS]\n"
    "  Two threads increment words on different cache lines N times each.\n"
    "  --iters N      increments per thread (default 1000000000)\n"
    "  --delay-ms MS  sleep before starting the threads (default 0)\n";

struct padded_word {
    alignas(64) volatile uint64_t v;
};
struct padded_word shared_line[2];
void *pad_worker(void *argp);

__attribute__((noinline)) void *pad_worker(void *argp)
{
    struct sh_arg *a = argp;
    volatile uint64_t *w = &shared_line[a->index].v;
    for (uint64_t i = 0; i < a->iters; i++)
        (*w)++;
    a->result = a->iters;
    return NULL;
}

int main(int argc, char **argv)
{
    return sh_main2(argc, argv, usage, 1000000000, "padded", pad_worker, "pad-writer0", "pad-writer1");
}
