/*
 * phased.c - sharing in one phase only: two threads first increment private
 * counters on lines of their own, then adjacent words of shared_line
 * (write-write false sharing), then private counters again. A tool that
 * samples only part of the run must still find the middle phase.
 * Expected c2c watch verdict: false sharing.
 *
 * Hot functions: ph_private, ph_shared.
 */
#include <stdalign.h>

#include "sharing.h"

static const char usage[] =
    "usage: phased [--iters N] [--delay-ms MS]\n"
    "  Two threads: N private increments, N shared-line increments, N private again.\n"
    "  --iters N      increments per thread and phase (default 300000000)\n"
    "  --delay-ms MS  sleep before starting the threads (default 0)\n";

alignas(64) volatile uint64_t shared_line[8];
struct private_word {
    alignas(64) volatile uint64_t v;
};
static struct private_word private_words[2];
void ph_private(volatile uint64_t *w, uint64_t iters);
void ph_shared(volatile uint64_t *w, uint64_t iters);
static void *ph_worker(void *argp);

__attribute__((noinline)) void ph_private(volatile uint64_t *w, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        (*w)++;
}

__attribute__((noinline)) void ph_shared(volatile uint64_t *w, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++)
        (*w)++;
}

static void *ph_worker(void *argp)
{
    struct sh_arg *a = argp;
    ph_private(&private_words[a->index].v, a->iters);
    ph_shared(&shared_line[a->index], a->iters);
    ph_private(&private_words[a->index].v, a->iters);
    a->result = 3 * a->iters;
    return NULL;
}

int main(int argc, char **argv)
{
    return sh_main2(argc, argv, usage, 300000000, "phased", ph_worker, "ph-worker0", "ph-worker1");
}
