/*
 * numa_cases - NUMA placements with known answers, one per mode, on a 64 MiB
 * global `grid` (K = the machine's nodes; a one-node machine runs every mode
 * on node 0):
 *   parallel    K threads, thread i pinned to node i, each first-touches part
 *               i of K in touch_part, then sweeps it: each part on its node
 *   interleave  the main thread (node 0) touches the grid in init_grid under
 *               set_mempolicy(MPOL_INTERLEAVE, every node): 1/K on each node;
 *               then K threads, thread i pinned to node i, sweep part i of K
 *               (bound to the other nodes with MPOL_F_NUMA_BALANCING:
 *               balancing scans the grid but never moves it to them): (K-1)/K
 *               of each one's accesses remote
 *   mbind       the grid bound to the last node (mbind), touched in init_grid
 *               by the main thread on node 0: all on the last node
 *   remote      the grid on node 0 (MPOL_BIND with MPOL_F_NUMA_BALANCING:
 *               balancing scans it but never moves it), swept by a thread
 *               pinned to the last node: all its accesses remote
 *   balance     the grid first-touched on node 0 (default policy), swept by a
 *               thread pinned to the last node: automatic NUMA balancing, where
 *               on, moves it there
 * Sweeps last the given seconds (default 2). At the end it prints its own
 * oracle: who ran where, where every page of the grid (and of each part) is
 * by move_pages of its own pages, and /proc/vmstat's NUMA counters' change
 * over the run:
 *   case MODE nodes=K
 *   thread tid=T node=N role=init|part|sweeper part=P
 *   oracle pages=16384 node0=A node1=B unplaced=C
 *   oracle part=P pages=N node0=A ... unplaced=C
 *   vmstat numa_pages_migrated=D pgmigrate_success=E numa_hint_faults=F
 */
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef MPOL_F_NUMA_BALANCING
#define MPOL_F_NUMA_BALANCING (1 << 13)
#endif

#define GRID_BYTES (64u << 20)
#define N (GRID_BYTES / sizeof(double))
#define MAX_NODES 64

/* Aligned to a huge page: no page of it is shared with another variable. */
double grid[N] __attribute__((aligned(2 << 20)));

static double seconds = 2.0;
static int nodes = 1;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin_to_node(int node)
{
	struct bitmask *cpus = numa_allocate_cpumask();
	if (numa_node_to_cpus(node, cpus) < 0 || numa_sched_setaffinity(0, cpus) < 0)
		perror("numa_cases: pin");
	numa_free_cpumask(cpus);
}

struct worker {
	pthread_t thread;
	int node, part, nparts;
	long tid;
	const char *role;
	int policy; /* set_mempolicy mode for this thread; MPOL_DEFAULT: none */
	unsigned policy_flags;
	unsigned long policy_mask;
	pthread_barrier_t *ready; /* parallel: every part touched before the sweeps */
};

void init_grid(void);
void touch_part(size_t from, size_t to);
void sweep(size_t from, size_t to);

__attribute__((noinline)) void init_grid(void)
{
	for (size_t i = 0; i < N; i++)
		grid[i] = (double)i;
}

__attribute__((noinline)) void touch_part(size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		grid[i] = (double)i;
}

__attribute__((noinline)) void sweep(size_t from, size_t to)
{
	double end = now() + seconds;
	while (now() < end)
		for (size_t i = from; i < to; i += 8)
			grid[i] += 1.0;
}

/* The thread's memory policy; MPOL_F_NUMA_BALANCING is 5.15's: without it, the plain mode. */
static void set_policy(int mode, unsigned flags, unsigned long mask)
{
	if (mode == MPOL_DEFAULT)
		return;
	if (set_mempolicy(mode | (int)flags, &mask, MAX_NODES) < 0 &&
	    (!(errno == EINVAL && flags) || set_mempolicy(mode, &mask, MAX_NODES) < 0))
		perror("numa_cases: set_mempolicy");
}

static void part_range(const struct worker *w, size_t *from, size_t *to)
{
	*from = (size_t)w->part * (N / (size_t)w->nparts);
	*to = *from + N / (size_t)w->nparts;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	w->tid = syscall(SYS_gettid);
	pin_to_node(w->node);
	set_policy(w->policy, w->policy_flags, w->policy_mask);
	size_t from, to;
	part_range(w, &from, &to);
	if (w->ready) {
		touch_part(from, to);
		pthread_barrier_wait(w->ready);
	}
	sweep(from, to);
	return NULL;
}

/* /proc/vmstat's value of name, 0 where the kernel has no such counter. */
static unsigned long vmstat(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	unsigned long v, found = 0;
	while (f && fscanf(f, "%63s %lu", key, &v) == 2)
		if (strcmp(key, name) == 0)
			found = v;
	if (f)
		fclose(f);
	return found;
}

static const char *const counters[] = {"numa_pages_migrated", "pgmigrate_success",
				       "numa_hint_faults"};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

/* Pages of grid[from, to) by node, as move_pages says now. */
static int print_oracle(const char *what, int part, size_t from, size_t to)
{
	long page = sysconf(_SC_PAGESIZE);
	char *lo = (char *)&grid[from], *hi = (char *)&grid[to];
	size_t npages = (size_t)(hi - lo) / (size_t)page;
	void **addrs = malloc(npages * sizeof(*addrs));
	int *status = malloc(npages * sizeof(*status));
	int ret = -1;
	if (!addrs || !status)
		goto out;
	for (size_t i = 0; i < npages; i++)
		addrs[i] = lo + i * (size_t)page;
	if (move_pages(0, npages, addrs, NULL, status, 0) < 0) {
		perror("numa_cases: move_pages");
		goto out;
	}
	unsigned long by_node[MAX_NODES] = {0}, unplaced = 0;
	for (size_t i = 0; i < npages; i++) {
		if (status[i] >= 0 && status[i] < MAX_NODES)
			by_node[status[i]]++;
		else
			unplaced++;
	}
	printf("%s", what);
	if (part >= 0)
		printf(" part=%d", part);
	printf(" pages=%zu", npages);
	for (int n = 0; n < nodes && n < MAX_NODES; n++)
		printf(" node%d=%lu", n, by_node[n]);
	printf(" unplaced=%lu\n", unplaced);
	ret = 0;
out:
	free(addrs);
	free(status);
	return ret;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (argc > 2)
		seconds = atof(argv[2]);
	if (numa_available() < 0) {
		fprintf(stderr, "numa_cases: no NUMA support in this kernel\n");
		return 77;
	}
	nodes = numa_max_node() + 1;
	int last = nodes - 1;
	unsigned long before[NCOUNTERS];
	for (size_t i = 0; i < NCOUNTERS; i++)
		before[i] = vmstat(counters[i]);
	pin_to_node(0);
	long main_tid = syscall(SYS_gettid);
	struct worker w[MAX_NODES];
	int nworkers = 0;
	if (strcmp(mode, "parallel") == 0) {
		pthread_barrier_t ready;
		pthread_barrier_init(&ready, NULL, (unsigned)nodes);
		for (int i = 0; i < nodes && i < MAX_NODES; i++)
			w[nworkers++] = (struct worker){.node = i, .part = i, .nparts = nodes,
							.role = "part", .ready = &ready};
		for (int i = 0; i < nworkers; i++)
			if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0)
				return 1;
		for (int i = 0; i < nworkers; i++)
			pthread_join(w[i].thread, NULL);
		pthread_barrier_destroy(&ready);
	} else if (strcmp(mode, "interleave") == 0 || strcmp(mode, "mbind") == 0) {
		unsigned long all = nodes >= 64 ? ~0ul : (1ul << nodes) - 1, one = 1ul << last;
		if (mode[0] == 'i')
			set_policy(MPOL_INTERLEAVE, 0, all);
		else if (mbind(grid, GRID_BYTES, MPOL_BIND, &one, MAX_NODES, 0) < 0)
			perror("numa_cases: mbind");
		init_grid();
		if (mode[0] == 'i' && set_mempolicy(MPOL_DEFAULT, NULL, 0) < 0)
			perror("numa_cases: set_mempolicy");
		for (int i = 0; mode[0] == 'i' && nodes > 1 && i < nodes && i < MAX_NODES; i++)
			w[nworkers++] = (struct worker){.node = i,
							.part = i,
							.nparts = nodes,
							.role = "sweeper",
							.policy = MPOL_BIND,
							.policy_flags = MPOL_F_NUMA_BALANCING,
							.policy_mask = all & ~(1ul << i)};
		for (int i = 0; i < nworkers; i++)
			if (pthread_create(&w[i].thread, NULL, run, &w[i]) != 0)
				return 1;
		for (int i = 0; i < nworkers; i++)
			pthread_join(w[i].thread, NULL);
	} else if (strcmp(mode, "remote") == 0 || strcmp(mode, "balance") == 0) {
		struct worker s = {.node = last, .nparts = 1, .role = "sweeper"};
		if (mode[0] == 'r') {
			/* Both threads bound to node 0: the sweeper's hinting faults never move it. */
			s.policy = MPOL_BIND;
			s.policy_flags = MPOL_F_NUMA_BALANCING;
			s.policy_mask = 1;
			set_policy(s.policy, s.policy_flags, s.policy_mask);
		}
		init_grid();
		w[nworkers++] = s;
		if (pthread_create(&w[0].thread, NULL, run, &w[0]) != 0)
			return 1;
		pthread_join(w[0].thread, NULL);
	} else {
		fprintf(stderr, "usage: numa_cases parallel|interleave|mbind|remote|balance "
				"[SECONDS]\n");
		return 2;
	}
	printf("case %s nodes=%d\n", mode, nodes);
	if (strcmp(mode, "parallel") != 0)
		printf("thread tid=%ld node=0 role=init part=0\n", main_tid);
	for (int i = 0; i < nworkers; i++)
		printf("thread tid=%ld node=%d role=%s part=%d\n", w[i].tid, w[i].node, w[i].role,
		       w[i].part);
	if (print_oracle("oracle", -1, 0, N) < 0)
		return 1;
	for (int i = 0; i < nworkers && nworkers > 1; i++) {
		size_t from, to;
		part_range(&w[i], &from, &to);
		if (print_oracle("oracle", w[i].part, from, to) < 0)
			return 1;
	}
	printf("vmstat");
	for (size_t i = 0; i < NCOUNTERS; i++)
		printf(" %s=%lu", counters[i], vmstat(counters[i]) - before[i]);
	printf("\n");
	fflush(stdout);
	return 0;
}
