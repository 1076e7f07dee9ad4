/*
 * numa_serial - serial first touch, then parallel use: the main thread,
 * pinned to node 0, first-touches a 64 MiB global `grid` in init_grid; then
 * one thread per node (the first two nodes; both on node 0 on a one-node
 * machine), pinned to that node's CPUs, sweeps its half of the grid for the
 * given seconds (default 2). At the end it prints its own oracle: where
 * every grid page is (move_pages of its own pages), and who ran where:
 *   init tid=T node=0
 *   sweeper tid=T node=N half=H sweeps=S
 *   oracle pages=16384 node0=A node1=B unplaced=C
 *   oracle half=H pages=8192 node0=A node1=B unplaced=C
 */
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define GRID_BYTES (64u << 20)
#define N (GRID_BYTES / sizeof(double))
#define MAX_NODES 64

/* Aligned to a huge page: no page of it is shared with another variable. */
double grid[N] __attribute__((aligned(2 << 20)));

static double seconds = 2.0;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pin_to_node(int node)
{
	struct bitmask *cpus = numa_allocate_cpumask();
	int ret = numa_node_to_cpus(node, cpus);
	if (ret == 0)
		ret = numa_sched_setaffinity(0, cpus);
	numa_free_cpumask(cpus);
	return ret;
}

struct sweeper {
	pthread_t thread;
	int node, half;
	long tid, sweeps;
};

void init_grid(void);
void sweep(struct sweeper *s);

__attribute__((noinline)) void init_grid(void)
{
	for (size_t i = 0; i < N; i++)
		grid[i] = (double)i;
}

__attribute__((noinline)) void sweep(struct sweeper *s)
{
	size_t from = (size_t)s->half * (N / 2), to = from + N / 2;
	double end = now() + seconds;
	while (now() < end) {
		for (size_t i = from; i < to; i += 8)
			grid[i] += 1.0;
		s->sweeps++;
	}
}

static void *run(void *arg)
{
	struct sweeper *s = arg;
	s->tid = syscall(SYS_gettid);
	if (pin_to_node(s->node) < 0)
		perror("numa_serial: pin");
	sweep(s);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		seconds = atof(argv[1]);
	if (numa_available() < 0) {
		fprintf(stderr, "numa_serial: no NUMA support in this kernel\n");
		return 77;
	}
	int nodes = numa_max_node() + 1;
	if (pin_to_node(0) < 0)
		perror("numa_serial: pin");
	printf("init tid=%ld node=0\n", (long)syscall(SYS_gettid));
	init_grid();
	struct sweeper sw[2];
	for (int i = 0; i < 2; i++) {
		sw[i] = (struct sweeper){.node = nodes > 1 ? i : 0, .half = i};
		if (pthread_create(&sw[i].thread, NULL, run, &sw[i]) != 0)
			return 1;
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(sw[i].thread, NULL);
		printf("sweeper tid=%ld node=%d half=%d sweeps=%ld\n", sw[i].tid, sw[i].node,
		       sw[i].half, sw[i].sweeps);
	}
	/* The oracle: where each page of the grid is now. */
	long page = sysconf(_SC_PAGESIZE);
	size_t npages = GRID_BYTES / (size_t)page;
	void **addrs = malloc(npages * sizeof(*addrs));
	int *status = malloc(npages * sizeof(*status));
	if (!addrs || !status)
		return 1;
	for (size_t i = 0; i < npages; i++)
		addrs[i] = (char *)grid + i * (size_t)page;
	if (move_pages(0, npages, addrs, NULL, status, 0) < 0) {
		perror("numa_serial: move_pages");
		return 1;
	}
	/* The whole grid, then each sweeper's half. */
	for (int half = -1; half < 2; half++) {
		size_t from = half < 0 ? 0 : (size_t)half * npages / 2;
		size_t to = half < 0 ? npages : from + npages / 2;
		unsigned long by_node[MAX_NODES] = {0}, unplaced = 0;
		for (size_t i = from; i < to; i++) {
			if (status[i] >= 0 && status[i] < MAX_NODES)
				by_node[status[i]]++;
			else
				unplaced++;
		}
		printf("oracle");
		if (half >= 0)
			printf(" half=%d", half);
		printf(" pages=%zu", to - from);
		for (int n = 0; n < nodes && n < MAX_NODES; n++)
			printf(" node%d=%lu", n, by_node[n]);
		printf(" unplaced=%lu\n", unplaced);
	}
	fflush(stdout);
	free(addrs);
	free(status);
	return 0;
}
