/*
 * two_process.c - false sharing between processes: the page holding
 * shared_line is replaced by a MAP_SHARED anonymous page before fork, so
 * parent and child see the same line; the parent increments word 0, the
 * child word 1.
 * Expected c2c watch verdict: false sharing (inherit follows the child).
 *
 * Hot function: tp_worker.
 */
#include <stdalign.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sharing.h"

static const char usage[] =
    "usage: two_process [--iters N] [--delay-ms MS]\n"
    "  Parent and forked child increment adjacent words of one shared line N times each.\n"
    "  --iters N      increments per process (default 1000000000)\n"
    "  --delay-ms MS  sleep before forking (default 0)\n";

/* A page of its own, so mapping shared memory over it replaces nothing else. */
alignas(4096) volatile uint64_t shared_line[512];
void tp_worker(int index, uint64_t iters);

__attribute__((noinline)) void tp_worker(int index, uint64_t iters)
{
    volatile uint64_t *w = &shared_line[index];
    for (uint64_t i = 0; i < iters; i++)
        (*w)++;
}

int main(int argc, char **argv)
{
    uint64_t iters = sh_options(argc, argv, usage, 1000000000);
    void *page = (void *)shared_line;
    if (mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
        MAP_FAILED) {
        perror("two_process: mmap");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("two_process: fork");
        return 1;
    }
    if (pid == 0) {
        tp_worker(1, iters);
        _exit(0);
    }
    tp_worker(0, iters);
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "two_process: the child failed\n");
        return 1;
    }
    printf("two_process: checksum=%llu iters=%llu\n", (unsigned long long)(2 * iters),
           (unsigned long long)iters);
    return 0;
}
