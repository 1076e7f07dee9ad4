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
 * CPU's node against the page's.
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
#include <unistd.h>

#include "numa.h"

#define NCPU 2
#define ID_FAULTS 100
#define ID_DUMMY 300
#define ANON_PAGES 16
#define HUGE (2u << 20)
#define SAMPLE_TYPE                                                                                \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |            \
	 PERF_SAMPLE_ADDR | PERF_SAMPLE_CPU | PERF_SAMPLE_DATA_PAGE_SIZE)
#define TRAILER_TYPE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU)

struct script {
	struct smp_chunk *chunks[NCPU];
	bool taken;
	struct perf_event_attr attr[2];
};

static int script_take(void *src, struct smp_batch *b)
{
	struct script *s = src;
	if (!b->per_cpu)
		b->per_cpu = calloc(NCPU, sizeof(*b->per_cpu));
	b->ncpus = NCPU;
	for (int c = 0; c < NCPU; c++)
		b->per_cpu[c] = s->taken ? NULL : s->chunks[c];
	b->safe_time = UINT64_MAX;
	b->final = s->taken;
	s->taken = true;
	return 0;
}

static void script_release(void *src, struct smp_chunk *c)
{
	(void)src;
	free(c->data);
	free(c);
}

static void script_attr(void *ctx, size_t i, struct perf_event_attr *out, const char **name)
{
	static const char *const names[] = {"page-faults", "dummy:u"};
	*out = ((struct script *)ctx)->attr[i];
	*name = names[i];
}

static int of_id(uint64_t id)
{
	return id == ID_FAULTS ? 0 : id == ID_DUMMY ? 1 : -1;
}

static int script_event_of(void *ctx, const struct perf_event_header *h)
{
	(void)ctx;
	return of_id(pabi_record_id(h));
}

static int script_event_of_id(void *ctx, uint64_t id)
{
	(void)ctx;
	return of_id(id);
}

struct rec {
	uint64_t w[32];
	size_t n;
};

static void w64(struct rec *r, uint64_t v)
{
	r->w[++r->n] = v;
}

static void w32x2(struct rec *r, uint32_t a, uint32_t b)
{
	w64(r, (uint64_t)b << 32 | a);
}

static void put(struct script *s, int cpu, uint64_t time, struct rec *r, uint32_t type)
{
	struct perf_event_header h = {type, 0, (uint16_t)(8 * (r->n + 1))};
	memcpy(&r->w[0], &h, 8);
	struct smp_chunk **c = &s->chunks[cpu];
	if (!*c) {
		*c = calloc(1, sizeof(**c));
		(*c)->cap = 8192;
		(*c)->data = calloc(1, (*c)->cap);
	}
	struct smp_entry e = {time, h.size, (uint32_t)cpu};
	memcpy((*c)->data + (*c)->used, &e, sizeof(e));
	memcpy((*c)->data + (*c)->used + sizeof(e), r->w, h.size);
	(*c)->used += sizeof(e) + h.size;
}

static void fault(struct script *s, int cpu, uint32_t tid, uint64_t time, uint64_t addr,
		  uint64_t page_size)
{
	struct rec r = {.n = 0};
	w64(&r, ID_FAULTS);
	w64(&r, 0x1234); /* ip: no mapping, no function */
	w32x2(&r, (uint32_t)getpid(), tid);
	w64(&r, time);
	w64(&r, addr);
	w32x2(&r, (uint32_t)cpu, 0);
	w64(&r, page_size);
	put(s, cpu, time, &r, PERF_RECORD_SAMPLE);
}

static void mmap2(struct script *s, uint64_t addr, uint64_t len, uint64_t time, const char *file)
{
	struct rec r = {.n = 0};
	uint32_t pid = (uint32_t)getpid();
	w32x2(&r, pid, pid);
	w64(&r, addr);
	w64(&r, len);
	w64(&r, 0);
	w32x2(&r, 0, 0);
	w64(&r, 0);
	w64(&r, 0);
	w32x2(&r, 3 /* PROT_READ | PROT_WRITE */, 2 /* MAP_PRIVATE */);
	char name[16] = {0};
	snprintf(name, sizeof(name), "%s", file);
	memcpy(&r.w[r.n + 1], name, 16);
	r.n += 2;
	w32x2(&r, pid, pid); /* the trailer: TID, TIME, CPU, IDENTIFIER */
	w64(&r, time);
	w32x2(&r, 0, 0);
	w64(&r, ID_DUMMY);
	put(s, 0, time, &r, PERF_RECORD_MMAP2);
}

static int node_is_cpu(const void *ctx, int cpu)
{
	(void)ctx;
	return cpu;
}

struct fixture {
	struct script s;
	struct eng_source src;
	struct proc_model *procs;
	struct eng *e;
	struct numa_run *run;
};

static int forward(void *arg, const struct eng_event *ev, const struct pabi_sample *smp)
{
	return numa_sample(((struct fixture *)arg)->run, ev, smp);
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
	for (int i = 0; i < 2; i++) {
		f.s.attr[i].size = sizeof(f.s.attr[i]);
		f.s.attr[i].sample_id_all = 1;
		f.s.attr[i].type = PERF_TYPE_SOFTWARE;
		f.s.attr[i].sample_type = TRAILER_TYPE;
	}
	f.s.attr[0].config = PERF_COUNT_SW_PAGE_FAULTS;
	f.s.attr[0].sample_type = SAMPLE_TYPE;
	f.s.attr[0].sample_period = 1;
	f.s.attr[1].config = PERF_COUNT_SW_DUMMY;
	f.src = (struct eng_source){
		.records = {script_take, script_release, &f.s},
		.nevents = 2,
		.attr = script_attr,
		.event_of = script_event_of,
		.event_of_id = script_event_of_id,
		.ctx = &f.s,
	};
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
	struct eng_tool tool = {.arg = &f, .sample = forward};
	struct eng_options o = {.profile = false, .symbolize = true, .tool = &tool};
	assert_int_equal(proc_model_new(&f.procs), 0);
	assert_int_equal(eng_new(&f.e, &f.src, f.procs, &o, err, sizeof(err)), 0);
	struct numa_options no = {
		.procs = f.procs,
		.agg = eng_agg(f.e),
		.ntypes = eng_ntypes(f.e),
		.node_of_cpu = node_is_cpu,
		.nnodes = 2,
	};
	assert_int_equal(numa_new(&f.run, &no, err, sizeof(err)), 0);
	assert_int_equal(eng_run(f.e, err, sizeof(err)), 0);
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

	numa_free(f.run);
	eng_free(f.e);
	proc_model_free(f.procs);
	munmap(anon, ANON_PAGES * (size_t)ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_objects_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
