/*
 * The sampler's readers (sampler/session.c) with a consumer that lags: while
 * nobody takes the queued chunks for a second, the readers still drain the rings
 * every 50 ms, yet hold about as many chunks as the records fill, not one chunk per
 * drain; and whatever the consumer's pace, a record taken later is never older than
 * the safe time an earlier take promised (the merger's ordering contract).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "pmu.h"
#include "sampler.h"
#include "topology.h"

struct rig {
	struct pmu_ctx *ctx;
	struct pmu_event_list evs;
	int cpus[1];
	struct topo *topo;
	struct topo_plan plan;
	struct smp_session *s;
};

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds of this thread's CPU time (cpu-clock's samples), however busy the machine is. */
static void spin(double seconds)
{
	volatile unsigned long x = 0;
	for (double end = cpu_s() + seconds; cpu_s() < end;)
		for (int i = 0; i < 10000; i++)
			x += (unsigned long)i;
}

/* cpu-clock every 0.1 ms of this process on CPU 0 (where it is pinned), one reader. */
static int rig_open(struct rig *r)
{
	char err[BASE_ERR_MAX];
	memset(r, 0, sizeof(*r));
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	pid_t self = getpid();
	if (sched_setaffinity(0, sizeof(one), &one) < 0) {
		print_message("SKIP: cannot run on CPU 0: %s\n", strerror(errno));
		return -1;
	}
	assert_int_equal(pmu_ctx_new(&r->ctx, NULL, err, sizeof(err)), 0);
	assert_int_equal(pmu_parse_events(r->ctx, "cpu-clock", &r->evs, err, sizeof(err)), 0);
	assert_int_equal(topo_load(&r->topo, NULL, err, sizeof(err)), 0);
	int ret = topo_plan_readers(r->topo, TOPO_READERS_COUNT, 1, r->cpus, 1, &r->plan, err,
				    sizeof(err));
	assert_int_equal(ret, 0);
	struct smp_options so = {.events = &r->evs,
				 .cpus = r->cpus,
				 .ncpus = 1,
				 .pids = &self,
				 .npids = 1,
				 .period = 100000,
				 .rate_given = true,
				 .ring_pages = 64,
				 .topo = r->topo,
				 .plan = &r->plan};
	if (smp_open(&r->s, r->ctx, &so, err, sizeof(err)) < 0) {
		print_message("SKIP: cannot sample cpu-clock here: %s\n", err);
		return -1;
	}
	assert_int_equal(smp_start(r->s, err, sizeof(err)), 0);
	return 0;
}

static void rig_close(struct rig *r)
{
	smp_close(r->s);
	topo_plan_free(&r->plan);
	topo_free(r->topo);
	pmu_event_list_free(&r->evs);
	pmu_ctx_free(r->ctx);
}

/* The newest record time take_all saw. */
static uint64_t newest;

/* Records in a chunk list; each one's time is checked against the floor, then released. */
static size_t take_all(struct smp_session *s, const struct smp_batch *b, uint64_t floor,
		       uint64_t *late)
{
	size_t n = 0;
	for (int cpu = 0; cpu < b->ncpus; cpu++)
		for (struct smp_chunk *c = b->per_cpu[cpu], *next; c; c = next) {
			next = c->next;
			for (size_t off = 0; off + sizeof(struct smp_entry) <= c->used;) {
				struct smp_entry e;
				memcpy(&e, c->data + off, sizeof(e));
				if (e.time && e.time < floor)
					(*late)++;
				if (e.time > newest)
					newest = e.time;
				n++;
				off += sizeof(e) + e.size;
			}
			smp_chunk_release(s, c);
		}
	return n;
}

static void test_lagging_consumer_holds_few_chunks(void **state)
{
	(void)state;
	struct rig r;
	if (rig_open(&r) < 0) {
		skip();
		return;
	}
	/* A second of samples (~10,000 records, some 600 KiB), 20 drains or more, no take. */
	spin(1.0);
	struct smp_reader_memory m;
	assert_int_equal(smp_reader_memory(r.s, 0, &m), 0);
	long page = sysconf(_SC_PAGESIZE);
	size_t mib = m.buffer_pages * (size_t)page >> 20;
	print_message("buffers after 1 s without a take: %zu pages (%zu MiB)\n", m.buffer_pages,
		      mib);
	/* Records need ~3 chunks of 256 KiB; one chunk per drain would be ~20 (5 MiB). */
	assert_true(mib < 2);
	/*
	 * Held records are not lost: the last drain queues them, so the newest
	 * record taken is from the end of the spinning, not from before the
	 * chunk was held. (How many there are depends on the machine's timer:
	 * an emulated arm64 guest fires cpu-clock far less often.)
	 */
	uint64_t spun = base_mono_ns();
	struct smp_batch b = {0};
	uint64_t late = 0;
	newest = 0;
	assert_int_equal(smp_take(r.s, &b), 0);
	size_t n = take_all(r.s, &b, 0, &late);
	smp_stop(r.s);
	do {
		assert_int_equal(smp_take(r.s, &b), 0);
		n += take_all(r.s, &b, 0, &late);
	} while (!b.final);
	print_message("%zu records, the newest %.1f ms before the spinning ended\n", n,
		      newest < spun ? (double)(spun - newest) / 1e6 : 0.0);
	assert_true(n > 0);
	assert_true(newest + 100000000ull > spun);
	free(b.per_cpu);
	rig_close(&r);
}

static void test_takes_keep_the_safe_time(void **state)
{
	(void)state;
	struct rig r;
	if (rig_open(&r) < 0) {
		skip();
		return;
	}
	/* Takes at uneven intervals, some shorter than a drain, some longer. */
	struct smp_batch b = {0};
	uint64_t floor = 0, late = 0;
	size_t n = 0;
	static const double pace[] = {0.01, 0.12, 0.03, 0.2, 0.005, 0.08, 0.15, 0.02};
	for (int i = 0; i < 24; i++) {
		spin(pace[i % 8]);
		assert_int_equal(smp_take(r.s, &b), 0);
		n += take_all(r.s, &b, floor, &late);
		assert_true(b.safe_time == UINT64_MAX || b.safe_time >= floor);
		if (b.safe_time != UINT64_MAX)
			floor = b.safe_time;
	}
	smp_stop(r.s);
	do { /* a take hands over a bounded part (SMP_TAKE_BYTES per ring) */
		assert_int_equal(smp_take(r.s, &b), 0);
		n += take_all(r.s, &b, floor, &late);
	} while (!b.final);
	print_message("%zu records, %llu older than a safe time already given\n", n,
		      (unsigned long long)late);
	assert_true(n > 1000);
	assert_int_equal(late, 0);
	free(b.per_cpu);
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lagging_consumer_holds_few_chunks),
		cmocka_unit_test(test_takes_keep_the_safe_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
