/*
 * numa_sweep MB SECONDS CPUS0 CPUS1: touches MB MiB first from CPUS0 (node 0's
 * CPUs: the pages land there), then sweeps them from CPUS1 (node 1's) for
 * SECONDS. With automatic NUMA balancing on, the kernel migrates the pages to
 * node 1 (migrate:mm_migrate_pages, sched:sched_move_numa, pgmigrate_success).
 */
#include "base.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int pin(const char *list)
{
	char err[BASE_ERR_MAX];
	int *cpus, n;
	if (base_parse_cpu_list(list, &cpus, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "numa_sweep: %s\n", err);
		return -1;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	for (int i = 0; i < n; i++)
		CPU_SET(cpus[i], &set);
	free(cpus);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		perror("numa_sweep: sched_setaffinity");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: numa_sweep MB SECONDS CPUS0 CPUS1\n");
		return 2;
	}
	size_t len = (size_t)atol(argv[1]) << 20;
	double seconds = atof(argv[2]);
	volatile unsigned char *buf =
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || pin(argv[3]) < 0)
		return 1;
	for (size_t i = 0; i < len; i += 4096)
		buf[i] = 1;
	if (pin(argv[4]) < 0)
		return 1;
	uint64_t end = base_mono_ns() + (uint64_t)(seconds * 1e9), sweeps = 0;
	unsigned sum = 0;
	while (base_mono_ns() < end) {
		for (size_t i = 0; i < len; i += 4096)
			sum += buf[i]++;
		sweeps++;
	}
	printf("numa_sweep: %llu sweeps of %zu MiB (%u)\n", (unsigned long long)sweeps, len >> 20,
	       sum);
	return 0;
}
