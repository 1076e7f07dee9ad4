/*
 * numa/'s page table through the engine's path: a synthetic source (two
 * CPUs on two nodes, page-fault samples with data addresses and data page
 * sizes, MMAP2 records of an anonymous mapping of this very process, a
 * [heap] and a [stack]) delivered by the engine to numa_sample. Checked:
 * the first touch of a page is the earliest fault in time, not the first
 * delivered by a CPU; a fault on a mapped huge page counts on the page at
 * its start; each address is named by its object (the anonymous mapping by
 * its range, [heap], [stack]); numa_query places every page of the
 * anonymous mapping where move_pages says it is (the test's own oracle) and
 * says why the unmapped ones are not; local and remote follow the faulting
 * CPU's node against the page's. The PMU's loads (PEBS, IBS: samples with
 * DATA_SRC) are accesses, local or remote by their data_src where it names
 * a level, never a page's first touch; a thread's moves between nodes are
 * counted in time order; a page the kernel reports migrated (a tracepoint)
 * moved at that time: a fault before it is on the node before (unknown
 * when no query had found one), a fault after on the new one; an anonymous
 * mapping merged with its neighbour and a heap that grew stay one object;
 * an address in no mapping and a process gone before the query say why
 * their pages have no node.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "numa.h"
#include "numa_internal.h"
#include "synth.h"

#define ID_FAULTS 100
#define ID_DUMMY 300
#define ID_LOADS 200
#define ANON_PAGES 16
#define HUGE (2u << 20)
#define SAMPLE_TYPE                                                                                \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |            \
	 PERF_SAMPLE_ADDR | PERF_SAMPLE_CPU | PERF_SAMPLE_DATA_PAGE_SIZE)
#define TRAILER_TYPE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU)

/* A fault of process pid. */
static void fault_of(struct synth_script *s, pid_t pid, int cpu, uint32_t tid, uint64_t time,
		     uint64_t addr, uint64_t page_size)
{
	struct synth_rec r = {.n = 0};
	synth_w64(&r, ID_FAULTS);
	synth_w64(&r, 0x1234); /* ip: no mapping, no function */
	synth_w32x2(&r, (uint32_t)pid, tid);
	synth_w64(&r, time);
	synth_w64(&r, addr);
	synth_w32x2(&r, (uint32_t)cpu, 0);
	synth_w64(&r, page_size);
	synth_put(s, 0, cpu, time, &r, PERF_RECORD_SAMPLE);
}

static void fault(struct synth_script *s, int cpu, uint32_t tid, uint64_t time, uint64_t addr,
		  uint64_t page_size)
{
	fault_of(s, getpid(), cpu, tid, time, addr, page_size);
}

/* A load the PMU sampled (the DATA_SRC word before DATA_PAGE_SIZE, as the kernel writes them). */
static void load(struct synth_script *s, int cpu, uint32_t tid, uint64_t time, uint64_t addr,
		 uint64_t data_src)
{
	struct synth_rec r = {.n = 0};
	synth_w64(&r, ID_LOADS);
	synth_w64(&r, 0x1234);
	synth_w32x2(&r, (uint32_t)getpid(), tid);
	synth_w64(&r, time);
	synth_w64(&r, addr);
	synth_w32x2(&r, (uint32_t)cpu, 0);
	synth_w64(&r, data_src);
	synth_w64(&r, 0);
	synth_put(s, 0, cpu, time, &r, PERF_RECORD_SAMPLE);
}

/* A mapping of this process, read and write. */
static void mmap2(struct synth_script *s, uint64_t addr, uint64_t len, uint64_t time,
		  const char *file)
{
	synth_mmap2(s, 0, 0, getpid(), addr, len, 3 /* PROT_READ | PROT_WRITE */, time, file,
		    ID_DUMMY);
}

static int node_is_cpu(const void *ctx, int cpu)
{
	(void)ctx;
	return cpu;
}

struct fixture {
	struct synth_script s;
	struct eng_source src;
	struct proc_model *procs;
	struct eng *e;
	struct numa_run *run;
};

static int forward(void *arg, const struct eng_event *ev, const struct pabi_sample *smp)
{
	return numa_sample(((struct fixture *)arg)->run, ev, smp);
}

/* The source of page faults (with addresses) and of the mappings (dummy:u). */
static void faults_source(struct fixture *f)
{
	static const uint64_t ids[] = {ID_FAULTS, ID_DUMMY};
	static const char *const names[] = {"page-faults", "dummy:u"};
	synth_init(&f->s, &f->src, 2, ids, names);
	for (int i = 0; i < 2; i++) {
		f->s.attr[i].type = PERF_TYPE_SOFTWARE;
		f->s.attr[i].sample_type = TRAILER_TYPE;
	}
	f->s.attr[0].config = PERF_COUNT_SW_PAGE_FAULTS;
	f->s.attr[0].sample_type = SAMPLE_TYPE;
	f->s.attr[0].sample_period = 1;
	f->s.attr[1].config = PERF_COUNT_SW_DUMMY;
}

/* The engine delivers f's script to numa_sample (nnodes nodes, node = CPU). */
static void run_engine_nodes(struct fixture *f, int nnodes)
{
	char err[BASE_ERR_MAX];
	struct eng_tool tool = {.arg = f, .sample = forward};
	struct eng_options o = {.profile = false, .symbolize = true, .tool = &tool};
	assert_int_equal(proc_model_new(&f->procs), 0);
	assert_int_equal(eng_new(&f->e, &f->src, f->procs, &o, err, sizeof(err)), 0);
	struct numa_options no = {
		.procs = f->procs,
		.agg = eng_agg(f->e),
		.ntypes = eng_ntypes(f->e),
		.node_of_cpu = node_is_cpu,
		.nnodes = nnodes,
	};
	assert_int_equal(numa_new(&f->run, &no, err, sizeof(err)), 0);
	assert_int_equal(eng_run(f->e, err, sizeof(err)), 0);
}

static void run_engine(struct fixture *f)
{
	run_engine_nodes(f, 2);
}

static void fixture_free(struct fixture *f)
{
	numa_free(f->run);
	eng_free(f->e);
	proc_model_free(f->procs);
}

static const struct numa_object *object_named(const struct numa_run *r, const char *prefix)
{
	size_t n;
	const struct numa_object *o = numa_objects(r, &n);
	for (size_t i = 0; i < n; i++)
		if (strncmp(o[i].name, prefix, strlen(prefix)) == 0)
			return &o[i];
	return NULL;
}

static void test_pages_objects_nodes(void **state)
{
	(void)state;
	long ps = sysconf(_SC_PAGESIZE);
	/* Real memory of this process, every page touched: move_pages places each. */
	char *anon = mmap(NULL, ANON_PAGES * (size_t)ps, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(anon != MAP_FAILED);
	memset(anon, 1, ANON_PAGES * (size_t)ps);
	/* Room no longer mapped: its pages have no node. */
	char *gone = mmap(NULL, 2 * HUGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(gone != MAP_FAILED);
	munmap(gone, 2 * HUGE);
	uint64_t heap = ((uint64_t)(uintptr_t)gone + HUGE - 1) & ~(uint64_t)(HUGE - 1);
	uint64_t stack = heap + HUGE / 2;

	struct fixture f = {0};
	faults_source(&f);
	uint64_t a = (uint64_t)(uintptr_t)anon;
	mmap2(&f.s, a, ANON_PAGES * (uint64_t)ps, 1, "//anon");
	mmap2(&f.s, heap, HUGE / 2, 2, "[heap]");
	mmap2(&f.s, stack, HUGE / 4, 3, "[stack]");
	/* Page 0: tid 11 on node 1 first (CPU 1's list), then tid 12 on node 0. */
	fault(&f.s, 0, 12, 20, a + 0x20, 0);
	fault(&f.s, 1, 11, 10, a + 0x10, 0);
	fault(&f.s, 0, 12, 30, a + (uint64_t)ps, 0);
	/* The heap's huge page: its first touch, then a hinting fault further in. */
	fault(&f.s, 0, 12, 40, heap, 0);
	fault(&f.s, 1, 11, 50, heap + 5 * (uint64_t)ps, HUGE);
	fault(&f.s, 0, 12, 60, stack + 8, 0);

	char err[BASE_ERR_MAX];
	run_engine(&f);
	assert_int_equal(numa_pages(f.run), 4); /* anon 0 and 1, the heap's huge page, the stack */
	numa_query(f.run, getpid());
	assert_int_equal(numa_finish(f.run, err, sizeof(err)), 0);

	/* The oracle: where the kernel has the anonymous pages. */
	void *pages[ANON_PAGES];
	int status[ANON_PAGES];
	for (int i = 0; i < ANON_PAGES; i++)
		pages[i] = anon + (size_t)i * (size_t)ps;
	assert_int_equal(move_pages(0, ANON_PAGES, pages, NULL, status, 0), 0);
	int node = status[0];
	assert_true(node >= 0 && node < NUMA_MAX_NODES);

	char name[96];
	snprintf(name, sizeof(name), "anon 0x%llx-0x%llx (64.0 KiB)", (unsigned long long)a,
		 (unsigned long long)(a + ANON_PAGES * (uint64_t)ps));
	const struct numa_object *ob = object_named(f.run, "anon ");
	assert_non_null(ob);
	assert_string_equal(ob->name, name);
	assert_int_equal(ob->pages, 2);
	assert_int_equal(ob->faults, 3);
	assert_int_equal(ob->range_asked, ANON_PAGES);
	for (int i = 0; i < ANON_PAGES; i++)
		assert_int_equal(status[i], node);
	assert_int_equal(ob->pages_on[node], ANON_PAGES);
	/* The earliest fault first-touched page 0, though CPU 0's later one came first in its list. */
	assert_int_equal(ob->ntouchers, 2);
	assert_int_equal(ob->touchers[0].pages, 1);
	bool by11 = ob->touchers[0].tid == 11 ? true : ob->touchers[1].tid == 11;
	assert_true(by11);
	const struct numa_toucher *t11 =
		ob->touchers[0].tid == 11 ? &ob->touchers[0] : &ob->touchers[1];
	assert_int_equal(t11->node, 1);
	/* Tid 12 faulted from node 0, tid 11 from node 1, against the pages' node. */
	assert_int_equal(ob->local, node == 0 ? 2 : node == 1 ? 1 : 0);
	assert_int_equal(ob->remote, 3 - ob->local);

	const struct numa_object *hp = object_named(f.run, "[heap]");
	assert_non_null(hp);
	assert_int_equal(hp->pages, 1); /* the hinting fault is on the huge page's first page */
	assert_int_equal(hp->faults, 2);
	assert_int_equal(hp->pages_unplaced, 1);
	assert_int_equal(hp->why, EFAULT);
	assert_int_equal(hp->local + hp->remote, 0);
	const struct numa_object *st = object_named(f.run, "[stack]");
	assert_non_null(st);
	assert_int_equal(st->kind, C2C_OBJ_STACK);
	assert_int_equal(st->pages, 1);

	size_t nt;
	const struct numa_thread *th = numa_threads(f.run, &nt);
	assert_int_equal(nt, 2);
	for (size_t i = 0; i < nt; i++)
		assert_int_equal(th[i].faults, th[i].tid == 11 ? 2 : 4);

	fixture_free(&f);
	munmap(anon, ANON_PAGES * (size_t)ps);
}

static void test_pmu_accesses_and_thread_moves(void **state)
{
	(void)state;
	long ps = sysconf(_SC_PAGESIZE);
	enum { PAGES = 6 };
	char *anon = mmap(NULL, PAGES * (size_t)ps, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(anon != MAP_FAILED);
	memset(anon, 1, PAGES * (size_t)ps);
	struct fixture f = {0};
	static const uint64_t ids[] = {ID_FAULTS, ID_LOADS, ID_DUMMY};
	static const char *const names[] = {"page-faults", "cpu/mem-loads/P", "dummy:u"};
	synth_init(&f.s, &f.src, 3, ids, names);
	f.s.attr[0].type = PERF_TYPE_SOFTWARE;
	f.s.attr[0].config = PERF_COUNT_SW_PAGE_FAULTS;
	f.s.attr[0].sample_type = SAMPLE_TYPE;
	f.s.attr[0].sample_period = 1;
	f.s.attr[1].type = PERF_TYPE_RAW;
	f.s.attr[1].config = 0x1cd;
	f.s.attr[1].sample_type = SAMPLE_TYPE | PERF_SAMPLE_DATA_SRC;
	f.s.attr[1].sample_period = 1;
	f.s.attr[2].type = PERF_TYPE_SOFTWARE;
	f.s.attr[2].config = PERF_COUNT_SW_DUMMY;
	f.s.attr[2].sample_type = TRAILER_TYPE;
	uint64_t a = (uint64_t)(uintptr_t)anon, page = (uint64_t)ps;
	mmap2(&f.s, a, PAGES * page, 1, "//anon");
	const uint64_t load_op = PERF_MEM_S(OP, LOAD) | PERF_MEM_S(LVL, HIT);
	/* Page 0: first touched from node 0, then loaded from node 1: remote RAM, then L1. */
	fault(&f.s, 0, 12, 10, a, 0);
	load(&f.s, 1, 13, 20, a + 8, load_op | PERF_MEM_S(LVL, REM_RAM1));
	load(&f.s, 1, 13, 30, a + 16, load_op | PERF_MEM_S(LVL, L1));
	/* Page 1: the PMU's load is its first sample (no level: node against node); no first touch. */
	load(&f.s, 0, 14, 40, a + page, PERF_MEM_S(LVL, NA));
	load(&f.s, 0, 14, 45, 0, load_op | PERF_MEM_S(LVL, L1)); /* an op with no address */
	/* Tid 15 faults on pages 2-5 from nodes 0, 1, 0, 1: three moves. */
	for (int i = 0; i < 4; i++)
		fault(&f.s, i % 2, 15, 100 + 10 * (uint64_t)i, a + (2 + (uint64_t)i) * page, 0);

	char err[BASE_ERR_MAX];
	run_engine(&f);
	assert_int_equal(numa_pages(f.run), PAGES);
	assert_int_equal(numa_query(f.run, getpid()), 0);
	assert_int_equal(numa_finish(f.run, err, sizeof(err)), 0);

	void *pages[PAGES];
	int status[PAGES];
	for (int i = 0; i < PAGES; i++)
		pages[i] = anon + (size_t)i * (size_t)ps;
	assert_int_equal(move_pages(0, PAGES, pages, NULL, status, 0), 0);
	int node = status[0];
	for (int i = 0; i < PAGES; i++)
		assert_int_equal(status[i], node);

	const struct numa_object *ob = object_named(f.run, "anon ");
	assert_non_null(ob);
	assert_int_equal(ob->pages, PAGES);
	assert_int_equal(ob->faults, 8); /* 5 faults and 3 loads; the op with no address is not */
	assert_int_equal(ob->pmu_accesses, 3);
	/* First touches: tid 12's page and tid 15's four; page 1's first sample was a load. */
	assert_int_equal(ob->ntouchers, 3); /* tid 15 on node 0 and on node 1, 2 pages each */
	assert_int_equal(ob->touchers[0].tid, 15);
	assert_int_equal(ob->touchers[1].tid, 15);
	assert_int_equal(ob->touchers[0].pages + ob->touchers[1].pages, 4);
	assert_int_not_equal(ob->touchers[0].node, ob->touchers[1].node);
	assert_int_equal(ob->touchers[2].tid, 12);
	assert_int_equal(ob->touchers[2].pages, 1);
	/* The loads by data_src (remote RAM, L1), the one without a level by node. */
	uint64_t local = (node == 0) * (1 + 1 + 2) + 1 + (node == 1) * 2;
	assert_int_equal(ob->local, local);
	assert_int_equal(ob->remote, 8 - local);
	assert_int_equal(ob->later_remote, 1 + (node != 0));
	assert_int_equal(ob->later_local, 1 + (node == 0));

	size_t nt;
	const struct numa_thread *th = numa_threads(f.run, &nt);
	assert_int_equal(nt, 4);
	for (size_t i = 0; i < nt; i++)
		assert_int_equal(th[i].node_switches, th[i].tid == 15 ? 3 : 0);

	fixture_free(&f);
	munmap(anon, PAGES * (size_t)ps);
}

static void test_tracepoint_move(void **state)
{
	(void)state;
	long ps = sysconf(_SC_PAGESIZE);
	char *anon =
		mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(anon != MAP_FAILED);
	memset(anon, 1, (size_t)ps);
	int node;
	void *pg = anon;
	assert_int_equal(move_pages(0, 1, &pg, NULL, &node, 0), 0);
	assert_true(node >= 0 && node < 2);
	struct fixture f = {0};
	faults_source(&f);
	uint64_t a = (uint64_t)(uintptr_t)anon;
	mmap2(&f.s, a, (uint64_t)ps, 1, "//anon");
	/* First touch from node 0; faults from node 1 before and after the migration at 25. */
	fault(&f.s, 0, 12, 10, a, 0);
	fault(&f.s, 1, 13, 20, a + 8, 0);
	fault(&f.s, 1, 13, 30, a + 16, 0);

	char err[BASE_ERR_MAX];
	/* One node: its pages are not asked as samples come, so the tracepoint is first. */
	run_engine_nodes(&f, 1);
	/* Its pages other than the sampled one, and another process's: no move. */
	assert_int_equal(numa_page_moved(f.run, getpid(), a + (uint64_t)ps, (uint64_t)ps, node, 24),
			 0);
	assert_int_equal(numa_page_moved(f.run, getpid() + 1, a, (uint64_t)ps, node, 24), 0);
	assert_int_equal(numa_moves(f.run), 0);
	/* The kernel reports the page mapped again on `node` at 25, before any query of it. */
	assert_int_equal(numa_page_moved(f.run, getpid(), a, (uint64_t)ps, node, 25), 0);
	assert_int_equal(numa_moves(f.run), 1);
	/* The query finds it where the tracepoint said: the same move, not a second. */
	assert_int_equal(numa_query(f.run, getpid()), 0);
	assert_int_equal(numa_moves(f.run), 1);
	assert_int_equal(numa_finish(f.run, err, sizeof(err)), 0);

	const struct numa_object *ob = object_named(f.run, "anon ");
	assert_non_null(ob);
	assert_int_equal(ob->pages_moved, 1);
	assert_int_equal(ob->moves, 1);
	assert_int_equal(ob->moves_to[node], 1);
	/* The faults at 10 and 20 came before the move, from a node no query knew: unknown. */
	assert_int_equal(ob->local + ob->remote, 1);
	assert_int_equal(ob->local, node == 1);

	fixture_free(&f);
	munmap(anon, (size_t)ps);
}

static void test_mappings_grow(void **state)
{
	(void)state;
	const uint64_t a = 0x7f0000100000, heap = 0x560000000000, page = 4096;
	struct fixture f = {0};
	faults_source(&f);
	/* An anonymous mapping, then one below it that the kernel merged with it. */
	mmap2(&f.s, a + 16 * page, 16 * page, 1, "//anon");
	fault(&f.s, 0, 12, 10, a + 16 * page, 0);
	mmap2(&f.s, a, 32 * page, 15, "//anon");
	fault(&f.s, 0, 12, 20, a, 0);
	/* The heap, then grown by brk. */
	mmap2(&f.s, heap, page, 30, "[heap]");
	fault(&f.s, 0, 12, 31, heap, 0);
	mmap2(&f.s, heap, 3 * page, 32, "[heap]");
	fault(&f.s, 0, 12, 33, heap + 2 * page, 0);

	char err[BASE_ERR_MAX];
	run_engine(&f);
	assert_int_equal(numa_finish(f.run, err, sizeof(err)), 0);
	size_t n;
	const struct numa_object *ob = numa_objects(f.run, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ob[i].pages, 2);
		if (ob[i].kind == C2C_OBJ_HEAP) {
			assert_string_equal(ob[i].name, "[heap]");
			assert_int_equal(ob[i].start, heap);
			assert_int_equal(ob[i].end, heap + 3 * page);
		} else {
			assert_int_equal(ob[i].start, a);
			assert_int_equal(ob[i].end, a + 32 * page);
			assert_string_equal(ob[i].name,
					    "anon 0x7f0000100000-0x7f0000120000 (128.0 KiB)");
		}
	}
	fixture_free(&f);
}

/*
 * The summary of an address in no mapping ([unknown]: never asked, no range
 * of 0 B at 0x0) and of a process that exited before the query (move_pages
 * on it, not reaped yet, fails with EINVAL): one line says why its pages
 * have no node.
 */
static void test_unasked_and_exited(void **state)
{
	(void)state;
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	siginfo_t si;
	/* Exited, not reaped: a zombie, its memory gone. */
	assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);

	struct fixture f = {0};
	faults_source(&f);
	const uint64_t a = 0x7f0000000000;
	synth_mmap2(&f.s, 0, 0, child, a, 4 << 12, 3, 1, "//anon", ID_DUMMY);
	fault_of(&f.s, child, 0, (uint32_t)child, 10, a, 0);
	fault(&f.s, 1, 11, 20, 0x100000, 0); /* no mapping */

	char err[BASE_ERR_MAX];
	run_engine(&f);
	assert_int_equal(numa_pages(f.run), 2);
	assert_int_equal(numa_query(f.run, child), -EINVAL);
	numa_query(f.run, getpid());
	assert_int_equal(numa_finish(f.run, err, sizeof(err)), 0);
	const struct numa_object *ob = object_named(f.run, "anon ");
	assert_non_null(ob);
	assert_int_equal(ob->range_err, EINVAL);
	assert_int_equal(ob->pages_unqueried, 1);
	assert_int_equal(ob->why, EINVAL);

	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	numa_print(f.run, out, 0);
	fclose(out);
	printf("%s", text);
	char line[160];
	snprintf(line, sizeof(line),
		 "[unknown] (pid %d): 1 pages sampled, 1 faults sampled\n"
		 "  pages by node: not asked (an address in no mapping numa record knew of)\n"
		 "  first touch:",
		 (int)getpid());
	if (!strstr(text, line))
		fail_msg("'%s' is not in '%s'", line, text);
	assert_null(strstr(text, "0 B at 0x0"));
	if (!strstr(text, "  pages by node at the end: unknown (the process had exited, its "
			  "memory gone)\n  first touch:"))
		fail_msg("the exited process's object: '%s'", text);
	assert_null(strstr(text, "Invalid argument"));
	free(text);

	fixture_free(&f);
	assert_int_equal(waitpid(child, NULL, 0), child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_objects_nodes),
		cmocka_unit_test(test_pmu_accesses_and_thread_moves),
		cmocka_unit_test(test_tracepoint_move),
		cmocka_unit_test(test_mappings_grow),
		cmocka_unit_test(test_unasked_and_exited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
