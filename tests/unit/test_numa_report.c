/*
 * numa report's tallies and verdicts on constructed inputs (numa record's
 * profile as numa_rep_read gives it): one node says it has no NUMA effects
 * and nothing else; serial first touch then use from both nodes names the
 * object, its first toucher, function and share, the share of accesses from
 * the other node and the function to copy the partitioning of; an
 * interleaved object used by threads that each stay on one node; a thread on
 * one node working on another node's memory; a thread that wanders (judged
 * on its faults after the first touch when it has enough: a thread that
 * pins itself first-touched its TLS elsewhere); a well-placed object; an
 * object balancing moved during the run (when, where to, who placed it);
 * too few accesses with balancing off; perf mem's samples (c2c's) with
 * local and remote data_src.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/perf_event.h>

#include "numa.h"

/* A load's data_src with these mem_lvl bits (PERF_MEM_S: perf's layout). */
static uint64_t load_src(uint64_t lvl)
{
	return PERF_MEM_S(OP, LOAD) | (lvl << PERF_MEM_LVL_SHIFT);
}

#define MAX_SAMPLES 24

struct input {
	struct numa_rep_input in;
	struct numa_rep_sample s[MAX_SAMPLES];
	struct numa_rep_object o[4];
};

static void machine(struct input *x, int nnodes, int balancing)
{
	memset(x, 0, sizeof(*x));
	x->in.nnodes = nnodes;
	x->in.balancing = balancing;
	for (int i = 0; i < nnodes; i++)
		for (int j = 0; j < nnodes; j++)
			x->in.distance[i][j] = i == j ? 10 : 20;
	x->in.samples = x->s;
	x->in.objects = x->o;
}

static void object(struct input *x, const char *name, uint64_t bytes, uint64_t node0,
		   uint64_t node1)
{
	struct numa_rep_object *o = &x->o[x->in.nobjects++];
	*o = (struct numa_rep_object){.pid = 100,
				      .name = name,
				      .start = 0x10000000,
				      .end = 0x10000000 + bytes,
				      .asked = node0 + node1,
				      .stride = 1};
	o->pages_on[0] = node0;
	o->pages_on[1] = node1;
}

static void sample(struct input *x, uint32_t tid, int node, int data_node, const char *obj,
		   const char *func, bool first, uint64_t count)
{
	assert_true(x->in.nsamples < MAX_SAMPLES);
	x->s[x->in.nsamples++] = (struct numa_rep_sample){
		.pid = 100,
		.tid = tid,
		.comm = tid == 100 ? "main" : "worker",
		.node = node,
		.data_node = data_node,
		.object = obj,
		.object_start = 0x10000000,
		.func = func,
		.access = node == data_node ? NUMA_ACCESS_LOCAL : NUMA_ACCESS_REMOTE,
		.first = first,
		.count = count};
}

/* The report's verdicts; *n of them. */
static struct numa_report *judge(const struct input *x, const struct numa_verdict **v, size_t *n)
{
	char err[256];
	struct numa_report *r;
	assert_int_equal(numa_report_new(&r, &x->in, err, sizeof(err)), 0);
	*v = numa_report_verdicts(r, n);
	for (size_t i = 0; i < *n; i++)
		printf("%s: %s\n", numa_verdict_name((*v)[i].kind), (*v)[i].text);
	return r;
}

static void has(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("'%s' is not in '%s'", part, text);
}

static void test_one_node(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 1, 0);
	object(&x, "grid", 64 << 20, 16384, 0);
	sample(&x, 100, 0, 0, "grid", "init_grid", true, 32);
	sample(&x, 101, 0, 0, "grid", "sweep", false, 40);
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, NUMA_V_ONE_NODE);
	has(v[0].text, "one node, so every access is local -> nothing to tune");
	numa_report_free(r);
}

static void test_serial_first_touch(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 2, 1);
	/* Balancing moved half of it by the end: where it is does not hide who placed it. */
	object(&x, "grid", 64 << 20, 8192, 8192);
	x.o[0].moved = x.o[0].moves_to[1] = 16;
	sample(&x, 100, 0, 0, "grid", "init_grid", true, 16);
	sample(&x, 100, 0, 1, "grid", "init_grid", true, 16);
	sample(&x, 101, 0, 0, "grid", "sweep", false, 20);
	sample(&x, 102, 1, 1, "grid", "sweep", false, 15);
	sample(&x, 102, 1, 0, "grid", "sweep", false, 5);
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, NUMA_V_SERIAL_FIRST_TOUCH);
	assert_string_equal(v[0].object, "grid");
	has(v[0].text, "`grid`: 100.0% of its 64.0 MiB first-touched by tid 100 (main) on node 0 "
		       "in init_grid (serial init); 50.0% of its 40 accesses after the first touch "
		       "come from node 1 (50.0%)");
	has(v[0].text, "-> touch it in parallel with the same partitioning as `sweep`");
	numa_report_free(r);
}

static void test_interleaved(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 2, 1);
	object(&x, "buf", 1 << 20, 128, 128);
	sample(&x, 100, 0, 0, "buf", "init", true, 4);
	sample(&x, 100, 0, 1, "buf", "init", true, 4);
	sample(&x, 101, 0, 0, "buf", "work", false, 10);
	sample(&x, 101, 0, 1, "buf", "work", false, 10);
	sample(&x, 102, 1, 0, "buf", "work", false, 10);
	sample(&x, 102, 1, 1, "buf", "work", false, 10);
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	assert_int_equal(n, 1); /* not the threads' remote memory: the object's layout is the fix */
	assert_int_equal(v[0].kind, NUMA_V_INTERLEAVED_PARTITIONED);
	has(v[0].text, "`buf`: its pages are spread over the nodes (node0 50.0%, node1 50.0%) "
		       "while threads that each stay on one node (nodes 0, 1) use it: 50.0% of "
		       "its 40 accesses");
	has(v[0].text, "instead of interleaving");
	numa_report_free(r);
}

static void test_remote_pinned(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 2, 1);
	object(&x, "data", 1 << 20, 256, 0);
	sample(&x, 100, 0, 0, "data", "init", true, 16);
	sample(&x, 101, 1, 0, "data", "work", false, 27);
	sample(&x, 101, 1, 1, "data", "work", false, 3);
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, NUMA_V_REMOTE_PINNED);
	assert_int_equal(v[0].tid, 101);
	has(v[0].text, "tid 101 (worker) runs only on node 1, yet 90.0% of its 30 sampled faults "
		       "are remote (mostly node 0, `data`) -> move the thread to "
		       "node 0 (numactl --cpunodebind=0) or the memory to node 1 (numactl "
		       "--membind=1, migrate_pages, mbind)");
	numa_report_free(r);
}

static void test_wandering_and_well_placed(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 2, 1);
	object(&x, "part", 1 << 20, 128, 128);
	sample(&x, 101, 0, 0, "part", "init", true, 8);
	sample(&x, 102, 1, 1, "part", "init", true, 8);
	sample(&x, 101, 0, 0, "part", "work", false, 20);
	sample(&x, 102, 1, 1, "part", "work", false, 19);
	sample(&x, 102, 0, 1, "part", "work", false, 1);
	sample(&x, 103, 0, 0, "stack", "loop", true, 6);
	sample(&x, 103, 1, 0, "stack", "loop", true, 4);
	/* Its TLS first touched where it was created, then pinned: it does not wander. */
	sample(&x, 104, 0, 0, "tls", "start_thread", true, 3);
	sample(&x, 104, 1, 1, "tls", "work", false, 10);
	/* numa record saw tid 103 move between nodes 5 times. */
	static const struct numa_rep_thread movers[] = {
		{.pid = 100, .tid = 103, .node_switches = 5}};
	x.in.threads = movers;
	x.in.nthreads = 1;
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].kind, NUMA_V_WELL_PLACED);
	has(v[0].text, "`part`: 97.5% of its 40 accesses after the first touch are local (pages: "
		       "node0 50.0%, node1 50.0%) -> well placed");
	/* tid 102 ran 1 of its 28 faults on node 0: under the wandering share. */
	assert_int_equal(v[1].kind, NUMA_V_WELL_PLACED);
	assert_string_equal(v[1].object, "tls");
	assert_int_equal(v[2].kind, NUMA_V_WANDERING);
	assert_int_equal(v[2].tid, 103);
	has(v[2].text, "tid 103 (worker) ran on CPUs of several nodes: node 0 (60.0%), node 1 "
		       "(40.0%) of its 10 sampled faults, moving between them 5 times -> pin it "
		       "(numactl --cpunodebind=0");
	numa_report_free(r);
	/* Not among numa record's movers (it settled on a node): no wandering. */
	x.in.nthreads = 0;
	r = judge(&x, &v, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(v[i].kind, NUMA_V_WANDERING);
	numa_report_free(r);
}

/*
 * Placed on node 0 at its first touch, half moved to node 1 by balancing: spread at the
 * end, yet the serial first touch is the story (not an interleaving).
 */
static void test_serial_then_balanced(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 2, 1);
	object(&x, "grid", 64 << 20, 8192, 8192);
	sample(&x, 100, 0, 0, "grid", "init_grid", true, 32);
	sample(&x, 101, 0, 0, "grid", "sweep", false, 16);
	sample(&x, 102, 1, 0, "grid", "sweep", false, 16); /* remote until moved */
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	assert_true(n >= 1);
	assert_int_equal(v[0].kind, NUMA_V_SERIAL_FIRST_TOUCH);
	numa_report_free(r);
}

/* Attached to running processes (-p, -a): first faults seen, no serial first touch verdict. */
static void test_attached(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 2, 1);
	x.in.attached = true;
	object(&x, "grid", 64 << 20, 16384, 0);
	sample(&x, 101, 0, 0, "grid", "sweep", true, 32);
	sample(&x, 101, 0, 0, "grid", "sweep", false, 10);
	sample(&x, 102, 1, 0, "grid", "sweep", false, 10);
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(v[i].kind, NUMA_V_SERIAL_FIRST_TOUCH);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	numa_report_print(r, out, false);
	fclose(out);
	has(text, "the recording attached to running processes: a page's first fault seen may "
		  "come after its first touch");
	has(text, "  first fault seen: 100.0% of pages by tid 101 (worker) on node 0 in sweep\n");
	free(text);
	numa_report_free(r);
	/* The same, recorded from the start: the serial first touch it is. */
	x.in.attached = false;
	r = judge(&x, &v, &n);
	assert_true(n >= 1);
	assert_int_equal(v[0].kind, NUMA_V_SERIAL_FIRST_TOUCH);
	numa_report_free(r);
}

static void test_moved_by_balancing(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 2, 1);
	/* First-touched on node 0, swept from node 1: 24 of 32 sampled pages moved there. */
	object(&x, "grid", 64 << 20, 4096, 12288);
	x.o[0].moved = 24;
	x.o[0].moves_to[1] = 24;
	x.o[0].moved_after_ns = 1100000000;
	x.o[0].moved_before_ns = 2500000000;
	sample(&x, 100, 0, 0, "grid", "init_grid", true, 32);
	sample(&x, 101, 1, 0, "grid", "sweep", false, 30);
	sample(&x, 101, 1, 1, "grid", "sweep", false, 10);
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	assert_int_equal(
		n, 1); /* not the sweeper's remote memory: the object's placement is the fix */
	assert_int_equal(v[0].kind, NUMA_V_MOVED);
	assert_string_equal(numa_verdict_name(v[0].kind), "moved_by_balancing");
	has(v[0].text,
	    "`grid`: automatic NUMA balancing moved 75.0% of its sampled pages (24 of "
	    "32), mostly to node 1, between 1.10 s and 2.50 s after the start; 100.0% of "
	    "its pages were first-touched by tid 100 (main) on node 0 in init_grid; "
	    "75.0% of its 40 accesses after the first touch were remote -> place it on "
	    "node 1 from the start");
	has(v[0].text, "numactl --membind=1");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	numa_report_print(r, out, false);
	fclose(out);
	has(text, "  moved: 24 sampled pages changed node after their first touch, 24 moves to "
		  "node1 24 (100.0%), between 1.10 s and 2.50 s after the start\n");
	free(text);
	numa_report_free(r);
	/* A few pages moved: not the object's story. */
	x.o[0].moved = x.o[0].moves_to[1] = 4;
	r = judge(&x, &v, &n);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(v[i].kind, NUMA_V_MOVED);
	numa_report_free(r);
}

/* The text report of x, with every row (all) or the most-faulted ones. */
static char *report_text(const struct input *x, bool all)
{
	char err[256], *text = NULL;
	size_t len = 0;
	struct numa_report *r;
	assert_int_equal(numa_report_new(&r, &x->in, err, sizeof(err)), 0);
	FILE *out = open_memstream(&text, &len);
	numa_report_print(r, out, all);
	fclose(out);
	numa_report_free(r);
	return text;
}

static size_t count(const char *text, const char *part)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, part)); p++)
		n++;
	return n;
}

/*
 * A profile of many objects and functions: the report prints the 10 and 15
 * most-faulted and says how many more --all prints; two mappings of one file
 * are told apart by their start; [unknown] (no mapping numa record knew of)
 * was never asked, and says so without a range of 0 B at 0x0.
 */
static void test_rows_and_objects(void **state)
{
	(void)state;
	static char names[18][16], funcs[18][16];
	struct input x;
	machine(&x, 2, 1);
	for (int i = 0; i < 18; i++) {
		snprintf(names[i], sizeof(names[i]), "obj%d", i);
		snprintf(funcs[i], sizeof(funcs[i]), "func%d", i);
		sample(&x, 100, 0, 0, names[i], funcs[i], true, 100 - (uint64_t)i);
	}
	/* The three most-faulted: two mappings of libc and [unknown]. */
	x.s[0].object = x.s[1].object = "/usr/lib/x86_64-linux-gnu/libc.so.6";
	x.s[0].object_start = 0x7f0000000000;
	x.s[1].object_start = 0x7f1000000000;
	x.s[2].object = "[unknown]";
	x.s[2].object_start = 0;
	x.o[0] = (struct numa_rep_object){.pid = 100,
					  .name = x.s[0].object,
					  .start = 0x7f0000000000,
					  .end = 0x7f0000004000,
					  .asked = 4,
					  .stride = 1,
					  .pages_on = {4}};
	/* numa record's comment of an object it never asked: nothing asked, no error. */
	x.o[1] = (struct numa_rep_object){.pid = 100, .name = "[unknown]", .stride = 1};
	x.in.nobjects = 2;
	x.in.objects_recorded = 20; /* the profile keeps the comments of a few */

	char *text = report_text(&x, false);
	printf("%s", text);
	has(text, "/usr/lib/x86_64-linux-gnu/libc.so.6 (pid 100, 16.0 KiB at 0x7f0000000000): ");
	has(text, "/usr/lib/x86_64-linux-gnu/libc.so.6 (pid 100, at 0x7f1000000000): ");
	has(text, "[unknown] (pid 100): 98 pages sampled, 98 faults sampled\n"
		  "  pages by node: not asked (an address in no mapping numa record knew of)\n");
	assert_null(strstr(text, "0 B at 0x0"));
	assert_null(strstr(text, "the process ended before the query"));
	has(text, "obj9 (pid 100, at 0x10000000)");
	assert_null(strstr(text, "obj10 "));
	has(text, "  (8 more objects: --all prints them, --json has them all)\n");
	has(text, "  func14: ");
	assert_null(strstr(text, "func15:"));
	has(text, "  (3 more functions: --all prints them, --json has them all)\n");
	assert_int_equal(count(text, " pages sampled, "), 10);
	free(text);

	text = report_text(&x, true);
	assert_int_equal(count(text, " pages sampled, "), 18);
	has(text, "  func17: ");
	assert_null(strstr(text, "--all prints them"));
	free(text);
}

static void test_too_few(void **state)
{
	(void)state;
	struct input x;
	machine(&x, 2, 0);
	object(&x, "grid", 64 << 20, 16384, 0);
	sample(&x, 100, 0, 0, "grid", "init_grid", true, 32);
	sample(&x, 101, 1, 0, "grid", "sweep", false, 1);
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r = judge(&x, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, NUMA_V_TOO_FEW);
	has(v[0].text, "automatic NUMA balancing was off");
	numa_report_free(r);
}

/* perf mem's samples: local or remote by data_src, objects without their offsets. */
static void test_perf_mem(void **state)
{
	(void)state;
	const uint64_t remote_ram = load_src(PERF_MEM_LVL_HIT | PERF_MEM_LVL_REM_RAM1);
	const uint64_t local_ram = load_src(PERF_MEM_LVL_HIT | PERF_MEM_LVL_LOC_RAM);
	const uint64_t remote_cache = load_src(PERF_MEM_LVL_HIT | PERF_MEM_LVL_REM_CCE1);
	const uint64_t l1 = load_src(PERF_MEM_LVL_HIT | PERF_MEM_LVL_L1);
	struct c2c_sample s[12];
	for (size_t i = 0; i < 12; i++)
		s[i] = (struct c2c_sample){.pid = 100,
					   .tid = 101,
					   .cpu = 1,
					   .node = 1,
					   .func = "work",
					   .data_sym = "table+0x40",
					   .data_src = i < 8    ? remote_ram
						       : i < 9  ? remote_cache
						       : i < 10 ? local_ram
								: l1};
	s[11].data_sym = "[heap]";
	s[11].data_src = 0; /* no level: unknown */
	char err[256];
	struct numa_rep_file *f;
	assert_int_equal(numa_rep_from_mem(&f, s, 12, 2, err, sizeof(err)), 0);
	const struct numa_rep_input *in = numa_rep_input(f);
	assert_true(in->perf_mem);
	assert_int_equal(in->nsamples, 12);
	assert_string_equal(in->samples[0].object, "table");
	assert_string_equal(in->samples[11].object, "[heap]");
	assert_int_equal(in->samples[8].access, NUMA_ACCESS_REMOTE);
	assert_int_equal(in->samples[9].access, NUMA_ACCESS_LOCAL);
	assert_int_equal(in->samples[10].access, NUMA_ACCESS_LOCAL);
	assert_int_equal(in->samples[11].access, NUMA_ACCESS_UNKNOWN);
	const struct numa_verdict *v;
	size_t n;
	struct numa_report *r;
	assert_int_equal(numa_report_new(&r, in, err, sizeof(err)), 0);
	v = numa_report_verdicts(r, &n);
	for (size_t i = 0; i < n; i++)
		printf("%s: %s\n", numa_verdict_name(v[i].kind), v[i].text);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, NUMA_V_REMOTE_PINNED);
	has(v[0].text, "tid 101 (?) runs only on node 1, yet 81.8% of its 11 sampled accesses are "
		       "remote (mostly `table`) -> move the thread to its memory's node");
	numa_report_free(r);
	numa_rep_file_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_node),
		cmocka_unit_test(test_serial_first_touch),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_remote_pinned),
		cmocka_unit_test(test_wandering_and_well_placed),
		cmocka_unit_test(test_moved_by_balancing),
		cmocka_unit_test(test_attached),
		cmocka_unit_test(test_serial_then_balanced),
		cmocka_unit_test(test_too_few),
		cmocka_unit_test(test_rows_and_objects),
		cmocka_unit_test(test_perf_mem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
