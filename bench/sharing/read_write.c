/*
 * read_write.c - read-write false sharing: one thread increments word 0 of
 * a cache line, the other only reads word 1 of the same line; the reader's
 * loads miss because the writer keeps invalidating the line.
 * Expected c2c watch --rw verdict: false sharing (read-write).
 *
 * Hot functions: rw_writer, rw_reader.
 */
#include <stdalign.h>

#include "sharing.h"

static const char usage[] =
    "usage: read_write [--iters N] [--delay-ms MS]\n"
    "  One thread increments word 0 of a line N times, another reads word 1 N times.\n"
    "  --iters N      operations per thread (default 1000000000)\n"
    "  --delay-ms MS  sleep before starting the threads (default 0)\n";

alignas(64) volatile uint64_t shared_line[8];
void *rw_writer(void *argp);
void *rw_reader(void *argp);
static void *rw_worker(void *argp);

__attribute__((noinline)) void *rw_writer(void *argp)
{
    struct sh_arg *a = argp;
    for (uint64_t i = 0; i < a->iters; i++)
        shared_line[0]++;
    a->result = a->iters;
    return NULL;
}

__attribute__((noinline)) void *rw_reader(void *argp)
{
    struct sh_arg *a = argp;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < a->iters; i++)
        sum += shared_line[1]; /* always 0: nobody writes word 1 */
    a->result = sum + a->iters;
    return NULL;
}

static void *rw_worker(void *argp)
{
    const struct sh_arg *a = argp;
    return a->index == 0 ? rw_writer(argp) : rw_reader(argp);
}

int main(int argc, char **argv)
{
    return sh_main2(argc, argv, usage, 1000000000, "read_write", rw_worker, "rw-writer", "rw-reader");
}
