/*
 * Unit tests of the topology module: reader plans on hwloc synthetic
 * machines (so multi-socket, multi-node layouts are tested on a 2-vCPU VM),
 * --readers parsing, the printed descriptions, and, on the real machine,
 * thread pinning and node-local pre-faulted memory; physical addresses by
 * node from a sysfs tree of memory blocks (a 2-node one written here, and
 * this machine's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <hwloc.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology.h"

/* 2 packages x 2 NUMA nodes (one L3 each) x 8 cores x 2 PUs = 64 CPUs. */
#define SYN64 "pack:2 numa:2 l3:1 core:8 pu:2"

static struct topo *load(const char *synthetic)
{
	char err[256] = "";
	struct topo *t = NULL;
	int ret = topo_load(&t, synthetic, err, sizeof(err));
	if (ret != 0)
		fail_msg("topo_load(%s): %d %s", synthetic ? synthetic : "this machine", ret, err);
	return t;
}

static int *iota(int n, int from)
{
	int *v = malloc((size_t)n * sizeof(*v));
	assert_non_null(v);
	for (int i = 0; i < n; i++)
		v[i] = from + i;
	return v;
}

static void plan_ok(struct topo *t, enum topo_reader_mode mode, int count, const int *cpus,
		    int ncpus, struct topo_plan *plan)
{
	char err[256] = "";
	int ret = topo_plan_readers(t, mode, count, cpus, ncpus, plan, err, sizeof(err));
	if (ret != 0)
		fail_msg("topo_plan_readers: %d %s", ret, err);
}

/* r drains exactly lo..hi and runs on alo..ahi. */
static void assert_reader(const struct topo_reader *r, int node, int lo, int hi, int alo, int ahi)
{
	assert_int_equal(r->node, node);
	assert_int_equal(r->ncpus, hi - lo + 1);
	for (int i = 0; i < r->ncpus; i++)
		assert_int_equal(r->cpus[i], lo + i);
	assert_int_equal(r->naffinity, ahi - alo + 1);
	for (int i = 0; i < r->naffinity; i++)
		assert_int_equal(r->affinity[i], alo + i);
}

/* Every CPU of cpus[] is drained by exactly one reader. */
static void assert_partition(const struct topo_plan *plan, const int *cpus, int ncpus)
{
	int total = 0;
	for (int r = 0; r < plan->nreaders; r++)
		total += plan->readers[r].ncpus;
	assert_int_equal(total, ncpus);
	for (int i = 0; i < ncpus; i++) {
		int seen = 0;
		for (int r = 0; r < plan->nreaders; r++)
			for (int j = 0; j < plan->readers[r].ncpus; j++)
				seen += plan->readers[r].cpus[j] == cpus[i];
		assert_int_equal(seen, 1);
	}
}

static char *capture_print(const struct topo *t, const struct topo_plan *plan)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	if (t)
		topo_print(t, f);
	if (plan)
		topo_plan_print(plan, f);
	fclose(f);
	return buf;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* ---- synthetic machines ---- */

static void test_synthetic_basics(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	assert_true(topo_is_synthetic(t));
	assert_int_equal(topo_ncpus(t), 64);
	assert_int_equal(topo_nnodes(t), 4);
	assert_int_equal(topo_cache_line(t), 64);
	assert_int_equal(topo_cpu_node(t, 0), 0);
	assert_int_equal(topo_cpu_node(t, 17), 1);
	assert_int_equal(topo_cpu_node(t, 47), 2);
	assert_int_equal(topo_cpu_node(t, 63), 3);
	assert_int_equal(topo_cpu_node(t, 64), -1);
	assert_int_equal(topo_cpu_node(t, -1), -1);
	topo_free(t);

	/*
	 * The module numbers synthetic CPUs by PU logical index; hwloc gives
	 * synthetic PUs and nodes os_index == logical_index, so both agree.
	 */
	hwloc_topology_t h;
	assert_int_equal(hwloc_topology_init(&h), 0);
	assert_int_equal(hwloc_topology_set_synthetic(h, SYN64), 0);
	assert_int_equal(hwloc_topology_load(h), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(hwloc_get_obj_by_type(h, HWLOC_OBJ_PU, (unsigned)i)->os_index, i);
	for (int i = 0; i < 4; i++)
		assert_int_equal(
			hwloc_get_obj_by_type(h, HWLOC_OBJ_NUMANODE, (unsigned)i)->os_index, i);
	hwloc_topology_destroy(h);
}

static void test_node_plan(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	int *all = iota(64, 0);
	struct topo_plan plan;
	plan_ok(t, TOPO_READERS_NODE, 0, all, 64, &plan);
	assert_int_equal(plan.mode, TOPO_READERS_NODE);
	assert_int_equal(plan.nreaders, 4);
	for (int r = 0; r < 4; r++)
		assert_reader(&plan.readers[r], r, 16 * r, 16 * r + 15, 16 * r, 16 * r + 15);
	assert_partition(&plan, all, 64);
	topo_plan_free(&plan);
	assert_int_equal(plan.nreaders, 0);
	free(all);
	topo_free(t);
}

static void test_l3_plan(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	int *all = iota(64, 0);
	struct topo_plan plan;
	plan_ok(t, TOPO_READERS_L3, 0, all, 64, &plan);
	assert_int_equal(plan.nreaders, 4);
	for (int r = 0; r < 4; r++)
		assert_reader(&plan.readers[r], r, 16 * r, 16 * r + 15, 16 * r, 16 * r + 15);
	topo_plan_free(&plan);
	free(all);
	topo_free(t);

	/* Two L3 per node: l3 and node plans differ. */
	t = load("pack:2 numa:1 l3:2 core:4 pu:1");
	all = iota(16, 0);
	plan_ok(t, TOPO_READERS_L3, 0, all, 16, &plan);
	assert_int_equal(plan.nreaders, 4);
	for (int r = 0; r < 4; r++)
		assert_reader(&plan.readers[r], r / 2, 4 * r, 4 * r + 3, 4 * r, 4 * r + 3);
	topo_plan_free(&plan);
	plan_ok(t, TOPO_READERS_NODE, 0, all, 16, &plan);
	assert_int_equal(plan.nreaders, 2);
	assert_reader(&plan.readers[0], 0, 0, 7, 0, 7);
	assert_reader(&plan.readers[1], 1, 8, 15, 8, 15);
	topo_plan_free(&plan);
	/* Only CPU 5 recorded: one reader, on its whole L3 domain. */
	int five = 5;
	plan_ok(t, TOPO_READERS_L3, 0, &five, 1, &plan);
	assert_int_equal(plan.nreaders, 1);
	assert_reader(&plan.readers[0], 0, 5, 5, 4, 7);
	topo_plan_free(&plan);
	free(all);
	topo_free(t);
}

static void test_cpu_plan(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	int *all = iota(64, 0);
	struct topo_plan plan;
	plan_ok(t, TOPO_READERS_CPU, 0, all, 64, &plan);
	assert_int_equal(plan.nreaders, 64);
	for (int r = 0; r < 64; r++)
		assert_reader(&plan.readers[r], r / 16, r, r, r, r);
	topo_plan_free(&plan);
	free(all);
	topo_free(t);
}

static void test_count_plan(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	int *all = iota(64, 0);
	struct topo_plan plan;
	char err[256];

	plan_ok(t, TOPO_READERS_COUNT, 3, all, 64, &plan);
	assert_int_equal(plan.mode, TOPO_READERS_COUNT);
	assert_int_equal(plan.nreaders, 3);
	assert_reader(&plan.readers[0], -1, 0, 21, 0, 21);  /* nodes 0 and 1 */
	assert_reader(&plan.readers[1], -1, 22, 42, 22, 42); /* nodes 1 and 2 */
	assert_reader(&plan.readers[2], -1, 43, 63, 43, 63); /* nodes 2 and 3 */
	assert_partition(&plan, all, 64);
	topo_plan_free(&plan);

	/* Runs within one node keep the node. */
	plan_ok(t, TOPO_READERS_COUNT, 4, all, 64, &plan);
	assert_int_equal(plan.nreaders, 4);
	for (int r = 0; r < 4; r++)
		assert_reader(&plan.readers[r], r, 16 * r, 16 * r + 15, 16 * r, 16 * r + 15);
	topo_plan_free(&plan);

	/* More readers than CPUs: clamped to one per CPU. */
	plan_ok(t, TOPO_READERS_COUNT, 1000, all, 10, &plan);
	assert_int_equal(plan.nreaders, 10);
	for (int r = 0; r < 10; r++)
		assert_reader(&plan.readers[r], 0, r, r, r, r);
	topo_plan_free(&plan);

	err[0] = '\0';
	assert_int_equal(topo_plan_readers(t, TOPO_READERS_COUNT, 0, all, 64, &plan, err,
					   sizeof(err)),
			 -EINVAL);
	assert_contains(err, "0");
	assert_int_equal(plan.nreaders, 0);
	assert_null(plan.readers);
	free(all);
	topo_free(t);
}

static void test_subset_plan(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	int cpus[32];
	struct topo_plan plan;
	/* Nodes 1 and 3 only, listed out of order. */
	for (int i = 0; i < 16; i++) {
		cpus[i] = 63 - i;
		cpus[16 + i] = 16 + i;
	}
	plan_ok(t, TOPO_READERS_NODE, 0, cpus, 32, &plan);
	assert_int_equal(plan.nreaders, 2);
	assert_reader(&plan.readers[0], 1, 16, 31, 16, 31);
	assert_reader(&plan.readers[1], 3, 48, 63, 48, 63);
	assert_partition(&plan, cpus, 32);
	topo_plan_free(&plan);

	/* COUNT over the subset: runs follow topology order across the gap. */
	plan_ok(t, TOPO_READERS_COUNT, 3, cpus, 32, &plan);
	assert_int_equal(plan.nreaders, 3);
	assert_int_equal(plan.readers[0].ncpus, 11);
	assert_int_equal(plan.readers[1].ncpus, 11);
	assert_int_equal(plan.readers[2].ncpus, 10);
	assert_reader(&plan.readers[0], 1, 16, 26, 16, 26);
	assert_int_equal(plan.readers[1].cpus[0], 27);
	assert_int_equal(plan.readers[1].cpus[4], 31);
	assert_int_equal(plan.readers[1].cpus[5], 48);
	assert_int_equal(plan.readers[1].cpus[10], 53);
	assert_int_equal(plan.readers[1].node, -1);
	assert_reader(&plan.readers[2], 3, 54, 63, 54, 63);
	assert_partition(&plan, cpus, 32);
	topo_plan_free(&plan);

	/* A few CPUs of a node: they alone are drained, the reader runs on the whole node. */
	int few[] = {17, 16, 50, 17};
	plan_ok(t, TOPO_READERS_NODE, 0, few, 4, &plan);
	assert_int_equal(plan.nreaders, 2);
	assert_reader(&plan.readers[0], 1, 16, 17, 16, 31);
	assert_reader(&plan.readers[1], 3, 50, 50, 48, 63);
	topo_plan_free(&plan);
	topo_free(t);
}

static void test_unknown_cpu(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	struct topo_plan plan;
	char err[256] = "";
	int cpus[] = {0, 1, 64};
	assert_int_equal(topo_plan_readers(t, TOPO_READERS_NODE, 0, cpus, 3, &plan, err,
					   sizeof(err)),
			 -EINVAL);
	assert_contains(err, "CPU 64");
	assert_contains(err, "0-63");
	assert_int_equal(plan.nreaders, 0);

	int neg = -3;
	assert_int_equal(topo_plan_readers(t, TOPO_READERS_CPU, 0, &neg, 1, &plan, err,
					   sizeof(err)),
			 -EINVAL);
	assert_contains(err, "CPU -3");

	assert_int_equal(topo_plan_readers(t, TOPO_READERS_NODE, 0, cpus, 0, &plan, err,
					   sizeof(err)),
			 -EINVAL);
	assert_contains(err, "no CPUs");
	topo_free(t);
}

static void test_single_node(void **state)
{
	(void)state;
	struct topo *t = load("numa:1 pu:2");
	int cpus[] = {0, 1};
	struct topo_plan plan;
	assert_int_equal(topo_ncpus(t), 2);
	assert_int_equal(topo_nnodes(t), 1);
	plan_ok(t, TOPO_READERS_NODE, 0, cpus, 2, &plan);
	assert_int_equal(plan.nreaders, 1);
	assert_reader(&plan.readers[0], 0, 0, 1, 0, 1);
	topo_plan_free(&plan);
	/* No L3, no package: one domain for the machine. */
	plan_ok(t, TOPO_READERS_L3, 0, cpus, 2, &plan);
	assert_int_equal(plan.nreaders, 1);
	assert_reader(&plan.readers[0], 0, 0, 1, 0, 1);
	topo_plan_free(&plan);
	topo_free(t);
}

static void test_no_l3(void **state)
{
	(void)state;
	struct topo *t = load("pack:2 core:2 pu:1");
	int cpus[] = {0, 1, 2, 3};
	struct topo_plan plan;
	plan_ok(t, TOPO_READERS_L3, 0, cpus, 4, &plan);
	assert_int_equal(plan.nreaders, 2); /* one per package */
	assert_reader(&plan.readers[0], 0, 0, 1, 0, 1);
	assert_reader(&plan.readers[1], 0, 2, 3, 2, 3);
	topo_plan_free(&plan);
	char *out = capture_print(t, NULL);
	assert_contains(out, "L3 domains: none (l3 readers use one per package)");
	assert_contains(out, "caches: not reported; line size 64 B");
	free(out);
	topo_free(t);
}

static void test_parse_readers(void **state)
{
	(void)state;
	static const struct {
		const char *arg;
		enum topo_reader_mode mode;
		int count;
	} good[] = {
		{"node", TOPO_READERS_NODE, 0}, {"l3", TOPO_READERS_L3, 0},
		{"cpu", TOPO_READERS_CPU, 0},   {"L3", TOPO_READERS_L3, 0},
		{"1", TOPO_READERS_COUNT, 1},   {"16", TOPO_READERS_COUNT, 16},
	};
	static const char *const bad[] = {"", "0", "-1", "abc", "4x", " 4", "+4", "nodes",
					  "99999999999"};
	char err[256];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		enum topo_reader_mode mode = TOPO_READERS_NODE;
		int count = -1;
		assert_int_equal(topo_parse_readers(good[i].arg, &mode, &count, err, sizeof(err)),
				 0);
		assert_int_equal(mode, good[i].mode);
		assert_int_equal(count, good[i].count);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum topo_reader_mode mode;
		int count;
		char quoted[64];
		err[0] = '\0';
		assert_int_equal(topo_parse_readers(bad[i], &mode, &count, err, sizeof(err)),
				 -EINVAL);
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		assert_contains(err, quoted);
		assert_contains(err, "node");
		assert_contains(err, "l3");
		assert_contains(err, "cpu");
		assert_contains(err, "positive number");
		assert_null(strchr(err, '\n'));
	}
}

static void test_bad_synthetic(void **state)
{
	(void)state;
	static const char *const bad[] = {"pack:2 numa:x core:2", "foo", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct topo *t = (struct topo *)(uintptr_t)1; /* must come back NULL */
		char err[256] = "";
		assert_true(topo_load(&t, bad[i], err, sizeof(err)) < 0);
		assert_null(t);
		char quoted[64];
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		assert_contains(err, quoted);
		assert_contains(err, "synthetic");
	}
	topo_free(NULL);
	topo_plan_free(NULL);
}

/* The groups of perf stat's aggregation modes, in perf's order, from CPUs given in any order. */
static void test_group_cpus(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	int cpus[] = {63, 0, 17, 1, 40};
	struct topo_group *g;
	int n;
	char err[256] = "";
	assert_int_equal(topo_group_cpus(t, TOPO_AGGR_NODE, cpus, 5, &g, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	int nodes[] = {0, 1, 2, 3}, sizes[] = {2, 1, 1, 1};
	for (int i = 0; i < n; i++) {
		assert_int_equal(g[i].id.node, nodes[i]);
		assert_int_equal(g[i].id.socket, -1);
		assert_int_equal(g[i].n, sizes[i]);
	}
	assert_int_equal(g[0].idx[0], 1); /* CPU 0 at index 1, CPU 1 at index 3 */
	assert_int_equal(g[0].idx[1], 3);
	assert_int_equal(g[3].idx[0], 0); /* CPU 63 */
	topo_groups_free(g, n);

	assert_int_equal(topo_group_cpus(t, TOPO_AGGR_SOCKET, cpus, 5, &g, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(g[0].id.socket, 0);
	assert_int_equal(g[0].n, 3); /* CPUs 0, 1, 17 */
	assert_int_equal(g[1].id.socket, 1);
	assert_int_equal(g[1].n, 2); /* CPUs 40, 63 */
	assert_int_equal(g[1].id.node, -1);
	topo_groups_free(g, n);

	/* Two PUs per core: CPUs 0 and 1 share core 0; 17 is on core 8, 40 on 20, 63 on 31. */
	assert_int_equal(topo_group_cpus(t, TOPO_AGGR_CORE, cpus, 5, &g, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	int cores[] = {0, 8, 20, 31}, sockets[] = {0, 0, 1, 1};
	for (int i = 0; i < n; i++) {
		assert_int_equal(g[i].id.core, cores[i]);
		assert_int_equal(g[i].id.socket, sockets[i]);
		assert_int_equal(g[i].id.die, 0);
	}
	assert_int_equal(g[0].n, 2);
	topo_groups_free(g, n);

	assert_int_equal(topo_group_cpus(t, TOPO_AGGR_CPU, cpus, 5, &g, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);
	int sorted[] = {0, 1, 17, 40, 63};
	for (int i = 0; i < n; i++) {
		assert_int_equal(g[i].cpu, sorted[i]);
		assert_int_equal(g[i].n, 1);
	}
	topo_groups_free(g, n);

	struct topo_cpu_ids id;
	assert_int_equal(topo_cpu_ids(t, 40, &id), 0);
	assert_int_equal(id.node, 2);
	assert_int_equal(id.socket, 1);
	assert_int_equal(topo_cpu_ids(t, 64, &id), -ENOENT);
	int bad[] = {3, 64};
	assert_int_equal(topo_group_cpus(t, TOPO_AGGR_NODE, bad, 2, &g, &n, err, sizeof(err)),
			 -ENOENT);
	assert_contains(err, "CPU 64");
	assert_null(g);
	topo_free(t);
}

static void test_print(void **state)
{
	(void)state;
	struct topo *t = load(SYN64);
	int *all = iota(64, 0);
	struct topo_plan plan;
	char *out = capture_print(t, NULL);
	assert_contains(out, "machine: synthetic \"" SYN64 "\"");
	assert_contains(out, "packages: 2\n");
	assert_contains(out, "NUMA nodes: 4 (node 0: 1 GiB, PUs 0-15; node 1: 1 GiB, PUs 16-31; "
			     "node 2: 1 GiB, PUs 32-47; node 3: 1 GiB, PUs 48-63)\n");
	assert_contains(out, "L3 domains: 4 (16 MiB each; L3 0: PUs 0-15; L3 1: PUs 16-31;");
	assert_contains(out, "cores: 32, PUs: 64 (2 per core)\n");
	assert_contains(out, "caches: L3 16 MiB; line size 64 B\n");
	free(out);

	plan_ok(t, TOPO_READERS_NODE, 0, all, 64, &plan);
	out = capture_print(NULL, &plan);
	assert_contains(out, "reader 0: node 0, drains CPUs 0-15, runs on CPUs 0-15\n");
	assert_contains(out, "reader 3: node 3, drains CPUs 48-63, runs on CPUs 48-63\n");
	free(out);
	topo_plan_free(&plan);

	plan_ok(t, TOPO_READERS_COUNT, 3, all, 64, &plan);
	out = capture_print(NULL, &plan);
	assert_contains(out, "reader 0: node mixed, drains CPUs 0-21, runs on CPUs 0-21\n");
	free(out);
	topo_plan_free(&plan);

	int scattered[] = {9, 1, 3, 4, 5};
	plan_ok(t, TOPO_READERS_NODE, 0, scattered, 5, &plan);
	out = capture_print(NULL, &plan);
	assert_string_equal(out, "reader 0: node 0, drains CPUs 1,3-5,9, runs on CPUs 0-15\n");
	free(out);
	topo_plan_free(&plan);
	free(all);
	topo_free(t);

	/* Cache sizes and kinds, as a real machine would report them. */
	t = load("pack:1 l3:1(size=32MiB) core:2 l2:1(size=1MiB) l1d:1(size=48KiB) pu:2");
	out = capture_print(t, NULL);
	assert_contains(out, "caches: L1d 48 KiB, L2 1 MiB, L3 32 MiB; line size 64 B\n");
	assert_contains(out, "L3 domains: 1 (32 MiB; L3 0: PUs 0-3)\n");
	free(out);
	topo_free(t);
}

/* ---- the real machine ---- */

static void test_real_machine(void **state)
{
	(void)state;
	struct topo *t = load(NULL);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	assert_false(topo_is_synthetic(t));
	assert_true(topo_ncpus(t) >= 1);
	if (online > 0)
		assert_int_equal(topo_ncpus(t), online);
	assert_true(topo_nnodes(t) >= 1);
	assert_int_equal(topo_cpu_node(t, 0) >= 0, 1);
	assert_true(topo_cache_line(t) >= 16);
	char *out = capture_print(t, NULL);
	assert_contains(out, "machine: this host");
	assert_contains(out, "PUs:");
	free(out);
	topo_free(t);
}

/* expect_node: the node the pages must be on, or -1 to not check. */
static void check_local(struct topo *t, int node, int expect_node, size_t size)
{
	unsigned char *p = topo_alloc_local(t, node, size);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(p[i], 0); /* fresh anonymous memory */
	memset(p, 0xa5, size);
	assert_int_equal(p[size - 1], 0xa5);
	if (expect_node >= 0) {
		/* The pages already exist (pre-faulted) and sit on the node asked for. */
		int where = -1;
		if (get_mempolicy(&where, NULL, 0, p, MPOL_F_NODE | MPOL_F_ADDR) == 0)
			assert_int_equal(where, expect_node);
	}
	topo_free_local(t, p, size);
}

static void test_alloc_local(void **state)
{
	(void)state;
	struct topo *t = load(NULL);
	check_local(t, 0, 0, 1 << 20);
	check_local(t, topo_cpu_node(t, 0), topo_cpu_node(t, 0), (1 << 20) + 1);
	check_local(t, -1, -1, 4096);
	check_local(t, -1, -1, 1);
	/* A node that does not exist still gives (unbound) memory. */
	check_local(t, 4095, -1, 8192);
	assert_null(topo_alloc_local(t, 0, 0));
	topo_free_local(t, NULL, 0);
	topo_free(t);

	/* Synthetic nodes do not exist here: plain memory, never a failure. */
	t = load(SYN64);
	check_local(t, 3, -1, 3 * 4096);
	check_local(t, -1, -1, 100);
	topo_free(t);
}

struct bind_job {
	struct topo *t;
	const struct topo_reader *r;
	int ret;
	char err[256];
	cpu_set_t after;
};

static void *bind_thread(void *arg)
{
	struct bind_job *job = arg;
	job->ret = topo_bind_thread(job->t, job->r, job->err, sizeof(job->err));
	CPU_ZERO(&job->after);
	sched_getaffinity(0, sizeof(job->after), &job->after);
	return NULL;
}

/* Pins a fresh thread (so the test process keeps its own mask) and reads its mask back. */
static void run_bind(struct bind_job *job)
{
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, bind_thread, job), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
}

static void test_bind_thread(void **state)
{
	(void)state;
	struct topo *t = load(NULL);
	int n = topo_ncpus(t);
	cpu_set_t mine;
	CPU_ZERO(&mine);
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	int *cpus = malloc((size_t)n * sizeof(*cpus));
	int ncpus = 0;
	assert_non_null(cpus);
	for (int c = 0; c < CPU_SETSIZE && ncpus < n; c++)
		if (CPU_ISSET(c, &mine))
			cpus[ncpus++] = c;
	struct topo_plan plan;
	plan_ok(t, TOPO_READERS_CPU, 0, cpus, ncpus, &plan);
	for (int i = 0; i < plan.nreaders; i++) {
		struct bind_job job = {.t = t, .r = &plan.readers[i]};
		run_bind(&job);
		if (job.ret != 0)
			fail_msg("topo_bind_thread: %d %s", job.ret, job.err);
		assert_int_equal(CPU_COUNT(&job.after), 1);
		assert_true(CPU_ISSET(plan.readers[i].cpus[0], &job.after));
	}
	topo_plan_free(&plan);

	struct topo_reader empty = {.node = -1};
	char err[256] = "";
	assert_int_equal(topo_bind_thread(t, &empty, err, sizeof(err)), -EINVAL);
	assert_contains(err, "no CPUs");
	free(cpus);
	topo_free(t);

	/* Synthetic: binding is a no-op that succeeds, the mask is untouched. */
	t = load(SYN64);
	int far = 63;
	plan_ok(t, TOPO_READERS_CPU, 0, &far, 1, &plan);
	struct bind_job job = {.t = t, .r = &plan.readers[0]};
	run_bind(&job);
	assert_int_equal(job.ret, 0);
	assert_true(CPU_EQUAL(&job.after, &mine));
	topo_plan_free(&plan);
	topo_free(t);
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_dir(char *path, size_t len, const char *root, const char *sub)
{
	snprintf(path, len, "%s/%s", root, sub);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static void test_phys_map(void **state)
{
	(void)state;
	char root[] = "/tmp/pmuprof-sysfs-XXXXXX", dir[512], err[256];
	assert_non_null(mkdtemp(root));
	struct topo_phys_map *m;
	/* No memory blocks: said, and no map. */
	assert_int_equal(topo_phys_map_load(&m, root, err, sizeof(err)), -ENOENT);
	assert_null(m);
	assert_non_null(strstr(err, "block_size_bytes"));
	/* 128 MiB blocks: node0 holds blocks 0-1 and 4, node1 blocks 8-9 (a hole between). */
	make_dir(dir, sizeof(dir), root, "devices/system/memory");
	put_file(dir, "block_size_bytes", "8000000\n");
	static const char *const blocks[] = {"node0/memory0", "node0/memory1", "node0/memory4",
					     "node1/memory8", "node1/memory9", "node1/power"};
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		char sub[128];
		snprintf(sub, sizeof(sub), "devices/system/node/%s", blocks[i]);
		make_dir(dir, sizeof(dir), root, sub);
	}
	assert_int_equal(topo_phys_map_load(&m, root, err, sizeof(err)), 0);
	assert_int_equal(topo_phys_node(m, 0), 0);
	assert_int_equal(topo_phys_node(m, 0x0fffffff), 0);
	assert_int_equal(topo_phys_node(m, 0x10000000), -1); /* block 2: no node's */
	assert_int_equal(topo_phys_node(m, 0x20000000 + 4096), 0);
	assert_int_equal(topo_phys_node(m, 0x40000000), 1);
	assert_int_equal(topo_phys_node(m, 0x4a3200000ull), -1);
	assert_int_equal(topo_phys_node(NULL, 0), -1);
	topo_phys_map_free(m);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	/* This machine: where it lists memory blocks, its first 1 MiB or 1 GiB is a node's. */
	if (topo_phys_map_load(&m, NULL, err, sizeof(err)) == 0) {
		assert_true(topo_phys_node(m, 0x100000) >= 0 || topo_phys_node(m, 0x40000000) >= 0);
		/* A page of this process: its frame (root sees it) is on move_pages' node. */
		static char page[1 << 16] __attribute__((aligned(4096)));
		page[0] = 1;
		uint64_t addr = (uint64_t)(uintptr_t)page, phys = 1;
		void *p = page;
		int node = -1;
		int fr = move_pages(0, 1, &p, NULL, &node, 0) < 0 ? -errno : 0;
		if (fr == 0)
			fr = topo_page_frames(0, &addr, 1, &phys);
		if (fr < 0) /* an emulator (qemu-user) has no move_pages nor pagemap */
			printf("this process's page nodes or pagemap are not readable here (%s): "
			       "frames not checked\n",
			       strerror(-fr));
		else if (geteuid() == 0)
			assert_int_equal(topo_phys_node(m, phys), node);
		else
			assert_int_equal(phys, 0); /* the frame is hidden from other users */
		topo_phys_map_free(m);
	} else {
		printf("this machine lists no memory blocks: %s\n", err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_basics),
		cmocka_unit_test(test_node_plan),
		cmocka_unit_test(test_l3_plan),
		cmocka_unit_test(test_cpu_plan),
		cmocka_unit_test(test_count_plan),
		cmocka_unit_test(test_subset_plan),
		cmocka_unit_test(test_unknown_cpu),
		cmocka_unit_test(test_single_node),
		cmocka_unit_test(test_no_l3),
		cmocka_unit_test(test_parse_readers),
		cmocka_unit_test(test_bad_synthetic),
		cmocka_unit_test(test_group_cpus),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_real_machine),
		cmocka_unit_test(test_alloc_local),
		cmocka_unit_test(test_bind_thread),
		cmocka_unit_test(test_phys_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
