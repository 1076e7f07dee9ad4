/*
 * The merger on interleaved synthetic per-CPU streams: time order across
 * CPUs, nothing emitted past the safe time until a later batch, arrival
 * order kept for equal times, every chunk given back, and an MMAP2 read from
 * one CPU applied before a later sample read from another CPU's ring; then
 * many batches of rings slightly out of order against a stable sort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define NCPU 2
#define MAX_BATCHES 40

/* A scripted source: per batch, a chunk per CPU and a safe time. */
struct script {
	struct smp_chunk *chunks[MAX_BATCHES][NCPU];
	uint64_t safe[MAX_BATCHES];
	int nbatches, next;
	int released, created;
};

static int script_take(void *src, struct smp_batch *b)
{
	struct script *s = src;
	if (!b->per_cpu)
		b->per_cpu = calloc(NCPU, sizeof(*b->per_cpu));
	b->ncpus = NCPU;
	int i = s->next < s->nbatches ? s->next++ : -1;
	for (int c = 0; c < NCPU; c++)
		b->per_cpu[c] = i >= 0 ? s->chunks[i][c] : NULL;
	b->safe_time = i >= 0 ? s->safe[i] : UINT64_MAX;
	b->final = i < 0; /* scripted batches exhausted: the stream has ended */
	return 0;
}

static void script_release(void *src, struct smp_chunk *c)
{
	struct script *s = src;
	s->released++;
	free(c->data);
	free(c);
}

static struct smp_chunk *chunk_new(struct script *s)
{
	struct smp_chunk *c = calloc(1, sizeof(*c));
	c->cap = 8192;
	c->data = calloc(1, c->cap);
	s->created++;
	return c;
}

static void chunk_add(struct smp_chunk *c, uint32_t cpu, uint64_t time,
		      const struct perf_event_header *h)
{
	struct smp_entry e = {time, h->size, cpu};
	memcpy(c->data + c->used, &e, sizeof(e));
	memcpy(c->data + c->used + sizeof(e), h, h->size);
	c->used += sizeof(e) + h->size;
}

/* A minimal sample: header + IDENTIFIER, IP, TID, TIME, CPU, PERIOD. */
static void sample_rec(uint64_t words[7], uint32_t pid, uint64_t ip, uint64_t time, uint32_t cpu)
{
	struct perf_event_header h = {PERF_RECORD_SAMPLE, 0, 56};
	memcpy(&words[0], &h, 8);
	words[1] = 1;
	words[2] = ip;
	words[3] = (uint64_t)pid << 32 | pid;
	words[4] = time;
	words[5] = cpu;
	words[6] = 1;
}

struct seen {
	uint64_t times[64];
	uint32_t cpus[64];
	uint64_t ips[64];
	int n;
	struct proc_model *procs;
	int mapped[64]; /* for samples: did the process model know the ip's mapping? */
};

static int on_rec(void *arg, const struct mrg_record *r)
{
	struct seen *s = arg;
	s->times[s->n] = r->time;
	s->cpus[s->n] = r->cpu;
	s->ips[s->n] = 0;
	if (r->h->type == PERF_RECORD_SAMPLE) {
		uint64_t ip;
		memcpy(&ip, (const unsigned char *)(r->h + 1) + 8, 8);
		s->ips[s->n] = ip;
		if (s->procs)
			s->mapped[s->n] = proc_find_map(s->procs, 42, ip) != NULL;
	} else if (s->procs) {
		proc_apply_record(s->procs, r->h);
	}
	s->n++;
	return 0;
}

static void test_order_and_safe_time(void **state)
{
	(void)state;
	struct script sc = {.nbatches = 3};
	uint64_t w[7];
	/* batch 0: cpu0 t=10,30,50  cpu1 t=20,40,60; safe 45 */
	for (int b = 0; b < 3; b++)
		for (int c = 0; c < NCPU; c++)
			sc.chunks[b][c] = chunk_new(&sc);
	uint64_t t0[] = {10, 30, 50}, t1[] = {20, 40, 60};
	for (int i = 0; i < 3; i++) {
		sample_rec(w, 1, 0x100 + (uint64_t)i, t0[i], 0);
		chunk_add(sc.chunks[0][0], 0, t0[i], (void *)w);
		sample_rec(w, 1, 0x200 + (uint64_t)i, t1[i], 1);
		chunk_add(sc.chunks[0][1], 1, t1[i], (void *)w);
	}
	sc.safe[0] = 45;
	/* batch 1: cpu1 has a late record at t=55 (before 60 already pending); cpu0 empty chunk */
	sample_rec(w, 1, 0x300, 55, 1);
	chunk_add(sc.chunks[1][1], 1, 55, (void *)w);
	sc.safe[1] = 58;
	/* batch 2: equal times on both CPUs keep arrival order (cpu0 first) */
	sample_rec(w, 1, 0x400, 70, 0);
	chunk_add(sc.chunks[2][0], 0, 70, (void *)w);
	sample_rec(w, 1, 0x401, 70, 1);
	chunk_add(sc.chunks[2][1], 1, 70, (void *)w);
	sc.safe[2] = 1000;

	struct mrg_source src = {script_take, script_release, &sc};
	struct mrg *m;
	assert_int_equal(mrg_new(&m, &src), 0);
	struct seen s = {0};
	assert_int_equal(mrg_pump(m, on_rec, &s), 0);
	/* only < 45 */
	assert_int_equal(s.n, 4);
	uint64_t want1[] = {10, 20, 30, 40};
	for (int i = 0; i < 4; i++)
		assert_int_equal(s.times[i], want1[i]);
	assert_int_equal(mrg_pending(m), 2);
	assert_int_equal(mrg_pump(m, on_rec, &s), 0);
	uint64_t want2[] = {50, 55};
	assert_int_equal(s.n, 6);
	for (int i = 0; i < 2; i++)
		assert_int_equal(s.times[4 + i], want2[i]);
	assert_int_equal(mrg_pump(m, on_rec, &s), 0);
	assert_int_equal(mrg_pump(m, on_rec, &s), 0); /* final: drains the rest */
	assert_int_equal(s.n, 9);
	assert_int_equal(s.times[6], 60);
	assert_int_equal(s.ips[7], 0x400);
	assert_int_equal(s.ips[8], 0x401);
	for (int i = 1; i < s.n; i++)
		assert_true(s.times[i - 1] <= s.times[i]);
	assert_int_equal(mrg_pending(m), 0);
	mrg_free(m);
	assert_int_equal(sc.released, sc.created); /* every chunk went back */
}

static void test_mmap_applies_across_cpus(void **state)
{
	(void)state;
	struct script sc = {.nbatches = 2};
	for (int b = 0; b < 2; b++)
		for (int c = 0; c < NCPU; c++)
			sc.chunks[b][c] = chunk_new(&sc);
	uint64_t w[7];
	/* CPU1's ring is drained first: a sample before the mmap and one after it. */
	sample_rec(w, 42, 0x400100, 90, 1);
	chunk_add(sc.chunks[0][1], 1, 90, (void *)w);
	sample_rec(w, 42, 0x400200, 150, 1);
	chunk_add(sc.chunks[0][1], 1, 150, (void *)w);
	sc.safe[0] = 80; /* CPU0 not drained past 80 yet: nothing may go out */
	/* CPU0's MMAP2 at t=100 arrives in the next batch. */
	struct {
		struct perf_event_header h;
		uint32_t pid, tid;
		uint64_t addr, len, pgoff;
		uint32_t maj, min;
		uint64_t ino, gen;
		uint32_t prot, flags;
		char name[16];
		uint64_t trailer[4];
	} mm = {{PERF_RECORD_MMAP2, 0, sizeof(mm)}, 42, 42, 0x400000, 0x1000, 0, 8, 1, 1, 0, 5, 2,
		"/bin/prog", {42, 100, 0, 1}};
	chunk_add(sc.chunks[1][0], 0, 100, &mm.h);
	sc.safe[1] = 200;

	struct proc_model *procs;
	assert_int_equal(proc_model_new(&procs), 0);
	struct mrg_source src = {script_take, script_release, &sc};
	struct mrg *m;
	assert_int_equal(mrg_new(&m, &src), 0);
	struct seen s = {.procs = procs};
	assert_int_equal(mrg_pump(m, on_rec, &s), 0);
	assert_int_equal(s.n, 0); /* held back: below CPU0's watermark nothing is known */
	assert_int_equal(mrg_pump(m, on_rec, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.times[0], 90);
	assert_int_equal(s.mapped[0], 0); /* before the mmap: unknown */
	assert_int_equal(s.times[1], 100);
	assert_int_equal(s.times[2], 150);
	assert_int_equal(s.mapped[2], 1); /* after it, on another CPU: mapped */
	mrg_free(m);
	assert_int_equal(sc.released, sc.created);
	proc_model_free(procs);
}

struct ips {
	uint64_t *v;
	size_t n;
};

static int on_rec_ip(void *arg, const struct mrg_record *r)
{
	struct ips *s = arg;
	memcpy(&s->v[s->n++], (const unsigned char *)(r->h + 1) + 8, 8);
	return 0;
}

struct ref {
	uint64_t time, ip;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (x->ip > y->ip) - (x->ip < y->ip); /* ips grow with arrival */
}

/*
 * 40 batches of 60 records per CPU, each ring's times increasing but for a
 * few neighbours swapped (and equal times across CPUs), every batch after the
 * previous safe time: the output is exactly a stable sort of the arrivals.
 */
static void test_many_runs_against_stable_sort(void **state)
{
	(void)state;
	enum { BATCHES = MAX_BATCHES, PER = 60 };
	struct script sc = {.nbatches = BATCHES};
	static struct ref want[BATCHES * NCPU * PER];
	size_t nwant = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull, w[7];
	for (int b = 0; b < BATCHES; b++) {
		for (int c = 0; c < NCPU; c++) {
			sc.chunks[b][c] = chunk_new(&sc);
			uint64_t t[PER];
			for (int i = 0; i < PER; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				t[i] = (uint64_t)b * 1000 + (uint64_t)i * 16 + x % 8; /* ties across CPUs */
			}
			for (int i = 1; i < PER; i++) { /* a few records written out of order */
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				if (x % 10 == 0) {
					uint64_t tmp = t[i];
					t[i] = t[i - 1];
					t[i - 1] = tmp;
				}
			}
			for (int i = 0; i < PER; i++) {
				uint64_t ip = 1 + nwant; /* arrival order */
				sample_rec(w, 1, ip, t[i], (uint32_t)c);
				chunk_add(sc.chunks[b][c], (uint32_t)c, t[i], (void *)w);
				want[nwant++] = (struct ref){t[i], ip};
			}
		}
		sc.safe[b] = (uint64_t)(b + 1) * 1000;
	}
	qsort(want, nwant, sizeof(*want), ref_cmp);

	struct mrg_source src = {script_take, script_release, &sc};
	struct mrg *m;
	assert_int_equal(mrg_new(&m, &src), 0);
	struct ips got = {calloc(nwant, sizeof(uint64_t)), 0};
	for (int b = 0; b <= BATCHES; b++) {
		assert_int_equal(mrg_pump(m, on_rec_ip, &got), 0);
		if (b < BATCHES)
			assert_int_equal(got.n, (size_t)(b + 1) * NCPU * PER); /* all below the safe time */
	}
	assert_int_equal(got.n, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_int_equal(got.v[i], want[i].ip);
	mrg_free(m);
	assert_int_equal(sc.released, sc.created);
	free(got.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_safe_time),
		cmocka_unit_test(test_mmap_applies_across_cpus),
		cmocka_unit_test(test_many_runs_against_stable_sort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
