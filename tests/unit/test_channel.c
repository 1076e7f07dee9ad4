/*
 * The recorder channel (channel/channel.c) and the label timeline built from it
 * (engine/labels.c).
 *
 * Channel: one writer in order with every field intact; 4 threads x 10,000
 * events against a reader draining concurrently — none lost when the ring
 * holds them all, and with a small ring every event either delivered whole
 * or counted lost, per-thread order kept; overrun accounting on a tiny ring;
 * a writer that claims a slot and never publishes it (skipped after the
 * stuck timeout, counted); attach_env refusing a missing, malformed or
 * foreign fd; bad capacities. Timeline: nesting (innermost wins), unmatched
 * ends, per-thread isolation, trace context, late events, pruning of
 * threads and the bound on pending events, draining a channel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "engine.h"

#define NTHREADS 4
#define PER_THREAD 10000

static struct channel *attach_to(const struct channel *ch)
{
	char num[16];
	snprintf(num, sizeof(num), "%d", channel_fd(ch));
	setenv(CHANNEL_ENV, num, 1);
	struct channel *w = channel_attach_env();
	unsetenv(CHANNEL_ENV);
	assert_non_null(w);
	return w;
}

static struct channel *create(size_t capacity)
{
	char err[256] = "";
	struct channel *ch = NULL;
	if (channel_create(&ch, capacity, err, sizeof(err)) != 0)
		fail_msg("channel_create: %s", err);
	return ch;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* --- channel --------------------------------------------------------------------- */

static void test_single_writer(void **state)
{
	(void)state;
	struct channel *ch = create(1024);
	struct channel *w = attach_to(ch);
	uint8_t trace[16], span[8];
	memset(trace, 0xab, sizeof(trace));
	memset(span, 0xcd, sizeof(span));
	uint64_t t0 = now_ns();
	char name[16];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		channel_write(w, i % 3 == 2 ? CHANNEL_TRACE : CHANNEL_REGION_BEGIN, name,
			      i % 3 == 2 ? trace : NULL, i % 3 == 2 ? span : NULL);
	}
	/* A name longer than the slot is cut, and terminated. */
	char longname[100];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	channel_write(w, CHANNEL_REGION_END, longname, NULL, NULL);
	uint64_t t1 = now_ns();

	struct channel_event ev[200];
	uint64_t lost = 99;
	assert_int_equal(channel_read(ch, ev, 200, &lost), 101);
	assert_int_equal(lost, 0);
	uint64_t prev = 0;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		assert_string_equal(ev[i].name, name);
		assert_int_equal(ev[i].seq, (uint64_t)i + 1);
		assert_int_equal(ev[i].pid, (uint32_t)getpid());
		assert_int_equal(ev[i].tid, (uint32_t)gettid());
		assert_true(ev[i].time >= t0 && ev[i].time <= t1 && ev[i].time >= prev);
		prev = ev[i].time;
		if (i % 3 == 2) {
			assert_int_equal(ev[i].kind, CHANNEL_TRACE);
			assert_memory_equal(ev[i].trace_id, trace, 16);
			assert_memory_equal(ev[i].span_id, span, 8);
		} else {
			assert_int_equal(ev[i].kind, CHANNEL_REGION_BEGIN);
			static const uint8_t zero[16];
			assert_memory_equal(ev[i].trace_id, zero, 16);
		}
	}
	assert_int_equal(strlen(ev[100].name), CHANNEL_NAME_MAX - 1);
	/* Nothing more; a second read returns nothing and loses nothing. */
	assert_int_equal(channel_read(ch, ev, 200, &lost), 0);
	assert_int_equal(lost, 0);
	/* Writing to no channel (not under record) is a no-op. */
	channel_write(NULL, CHANNEL_REGION_BEGIN, "x", NULL, NULL);
	channel_close(w);
	channel_close(ch);
}

struct writer_arg {
	struct channel *w;
	int index;
	pthread_barrier_t *go;
	uint32_t tid;
};

/* Payload derived from (thread, n): a torn copy would not match. */
static void payload(int thread, uint32_t n, uint8_t trace[16], uint8_t span[8], char *name)
{
	for (int i = 0; i < 16; i++)
		trace[i] = (uint8_t)(thread * 31 + n * 7 + (uint32_t)i);
	for (int i = 0; i < 8; i++)
		span[i] = (uint8_t)(n >> (i % 4 * 8));
	snprintf(name, CHANNEL_NAME_MAX, "t%d-%u", thread, n);
}

static void *writer(void *p)
{
	struct writer_arg *a = p;
	a->tid = (uint32_t)gettid();
	pthread_barrier_wait(a->go);
	uint8_t trace[16], span[8];
	char name[CHANNEL_NAME_MAX];
	for (uint32_t n = 0; n < PER_THREAD; n++) {
		payload(a->index, n, trace, span, name);
		channel_write(a->w, CHANNEL_TRACE, name, trace, span);
	}
	return NULL;
}

struct check {
	int64_t last[NTHREADS]; /* last n seen per thread */
	uint64_t got, lost;
};

static void check_events(struct check *c, const struct writer_arg *args,
			 const struct channel_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int t;
		unsigned num;
		assert_int_equal(sscanf(ev[i].name, "t%d-%u", &t, &num), 2);
		assert_true(t >= 0 && t < NTHREADS);
		uint8_t trace[16], span[8];
		char name[CHANNEL_NAME_MAX];
		payload(t, num, trace, span, name);
		assert_string_equal(ev[i].name, name);
		assert_memory_equal(ev[i].trace_id, trace, 16);
		assert_memory_equal(ev[i].span_id, span, 8);
		assert_int_equal(ev[i].kind, CHANNEL_TRACE);
		/* Threads may not have stored their tid yet when an early event is read. */
		uint32_t tid = __atomic_load_n(&args[t].tid, __ATOMIC_RELAXED);
		assert_true(tid == 0 || ev[i].tid == tid);
		assert_true((int64_t)num > c->last[t]); /* per-thread order kept */
		c->last[t] = num;
	}
	c->got += n;
}

static void run_threads(size_t capacity, struct check *c)
{
	struct channel *ch = create(capacity);
	struct channel *w = attach_to(ch);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, NTHREADS + 1);
	struct writer_arg args[NTHREADS];
	pthread_t th[NTHREADS];
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < NTHREADS; i++) {
		c->last[i] = -1;
		args[i] = (struct writer_arg){.w = w, .index = i, .go = &go};
		assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
	}
	pthread_barrier_wait(&go);
	static struct channel_event ev[256];
	/* Drain while they write, then until everything is accounted for. */
	uint64_t deadline = now_ns() + 60ULL * 1000000000ULL;
	while (c->got + c->lost < (uint64_t)NTHREADS * PER_THREAD) {
		if (now_ns() > deadline)
			fail_msg("events unaccounted for: %llu delivered + %llu lost of %d",
				 (unsigned long long)c->got, (unsigned long long)c->lost,
				 NTHREADS * PER_THREAD);
		uint64_t lost;
		size_t n = channel_read(ch, ev, 256, &lost);
		check_events(c, args, ev, n);
		c->lost += lost;
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	uint64_t lost;
	assert_int_equal(channel_read(ch, ev, 256, &lost), 0);
	assert_int_equal(lost, 0);
	pthread_barrier_destroy(&go);
	channel_close(w);
	channel_close(ch);
}

static void test_threads_none_lost(void **state)
{
	(void)state;
	struct check c;
	run_threads(65536, &c); /* holds all 40,000 */
	assert_int_equal(c.lost, 0);
	assert_int_equal(c.got, NTHREADS * PER_THREAD);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(c.last[i], PER_THREAD - 1);
}

static void test_threads_small_ring(void **state)
{
	(void)state;
	struct check c;
	run_threads(64, &c); /* writers lap the reader: whole or counted, never torn */
	print_message("64-slot ring: %llu delivered, %llu lost\n", (unsigned long long)c.got,
		      (unsigned long long)c.lost);
	assert_int_equal(c.got + c.lost, NTHREADS * PER_THREAD);
	assert_true(c.got > 0);
}

static void test_overrun(void **state)
{
	(void)state;
	struct channel *ch = create(8);
	struct channel *w = attach_to(ch);
	char name[16];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		channel_write(w, CHANNEL_REGION_BEGIN, name, NULL, NULL);
	}
	struct channel_event ev[32];
	uint64_t lost = 0;
	/* The last 8 survive, in order; the first 12 are counted. */
	assert_int_equal(channel_read(ch, ev, 32, &lost), 8);
	assert_int_equal(lost, 12);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "e%d", 12 + i);
		assert_string_equal(ev[i].name, name);
	}
	/* A partial read resumes where it stopped. */
	for (int i = 0; i < 3; i++)
		channel_write(w, CHANNEL_REGION_END, "x", NULL, NULL);
	assert_int_equal(channel_read(ch, ev, 2, &lost), 2);
	assert_int_equal(lost, 0);
	assert_int_equal(channel_read(ch, ev, 32, &lost), 1);
	assert_int_equal(lost, 0);
	assert_int_equal(ev[0].seq, 23);
	channel_close(w);
	channel_close(ch);
}

/*
 * A writer that claimed a slot and died before publishing it: white-box, the
 * test claims through the header's write index (second cache line).
 */
static void test_abandoned_slot(void **state)
{
	(void)state;
	struct channel *ch = create(16);
	struct channel *w = attach_to(ch);
	void *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, channel_fd(ch), 0);
	assert_true(map != MAP_FAILED);
	uint64_t *write_index = (uint64_t *)((char *)map + 64);
	channel_write(w, CHANNEL_REGION_BEGIN, "first", NULL, NULL);
	__atomic_fetch_add(write_index, 1, __ATOMIC_RELAXED); /* claimed, never published */
	channel_write(w, CHANNEL_REGION_BEGIN, "third", NULL, NULL);

	struct channel_event ev[4];
	uint64_t lost = 0;
	assert_int_equal(channel_read(ch, ev, 4, &lost), 1);
	assert_string_equal(ev[0].name, "first");
	assert_int_equal(lost, 0);
	/* It may still be in flight: the reader waits... */
	assert_int_equal(channel_read(ch, ev, 4, &lost), 0);
	assert_int_equal(lost, 0);
	/* ...but not forever. */
	struct timespec nap = {0, 600 * 1000 * 1000};
	nanosleep(&nap, NULL);
	assert_int_equal(channel_read(ch, ev, 4, &lost), 1);
	assert_int_equal(lost, 1);
	assert_string_equal(ev[0].name, "third");
	munmap(map, 4096);
	channel_close(w);
	channel_close(ch);
}

static void expect_no_attach(const char *value)
{
	if (value)
		setenv(CHANNEL_ENV, value, 1);
	else
		unsetenv(CHANNEL_ENV);
	struct channel *w = channel_attach_env();
	if (w)
		fail_msg("attached with %s=%s", CHANNEL_ENV, value ? value : "(unset)");
	unsetenv(CHANNEL_ENV);
}

static void test_attach_env(void **state)
{
	(void)state;
	char num[16];
	expect_no_attach(NULL);
	expect_no_attach("");
	expect_no_attach("abc");
	expect_no_attach("-1");
	expect_no_attach("3x");
	expect_no_attach("99999999999999999999");
	expect_no_attach("4000"); /* not open */
	/* An open fd of another kind: a pipe, a regular file. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	snprintf(num, sizeof(num), "%d", p[0]);
	expect_no_attach(num);
	close(p[0]);
	close(p[1]);
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 1 << 20), 0);
	snprintf(num, sizeof(num), "%d", fileno(f));
	expect_no_attach(num);
	fclose(f);
	/* A memfd with the channel's name but no header (zeroes: bad magic). */
	int fd = memfd_create("pmuprof-channel", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	snprintf(num, sizeof(num), "%d", fd);
	expect_no_attach(num);
	close(fd);
	/* A real channel whose file was cut short of its slots. */
	struct channel *ch = create(1024);
	fd = dup(channel_fd(ch));
	assert_int_equal(ftruncate(fd, 8192), 0);
	snprintf(num, sizeof(num), "%d", fd);
	expect_no_attach(num);
	close(fd);
	channel_close(ch);
}

static void test_bad_capacity(void **state)
{
	(void)state;
	char err[256] = "";
	struct channel *ch = NULL;
	size_t bad[] = {0, 1, 3, 1000, (size_t)1 << 30};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(channel_create(&ch, bad[i], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "power of two"));
	}
	assert_int_equal(channel_fd(NULL), -1);
	channel_close(NULL);
}

/* --- timeline ---------------------------------------------------------------------- */

static struct channel_event E(uint32_t pid, uint32_t tid, uint64_t time, enum channel_kind kind,
			      const char *name) {
	struct channel_event e;
	memset(&e, 0, sizeof(e));
	e.pid = pid;
	e.tid = tid;
	e.time = time;
	e.kind = kind;
	if (name)
		snprintf(e.name, sizeof(e.name), "%s", name);
	return e;
}

/* The region of (pid, tid) at t, "" for none. */
static const char *
region_at(struct lbl_timeline *tl, uint32_t pid, uint32_t tid, uint64_t t)
{
	const char *r;
	const uint8_t *trace, *span;
	lbl_lookup(tl, pid, tid, t, &r, &trace, &span);
	return r ? r : "";
}

static void test_timeline_nesting(void **state)
{
	(void)state;
	struct lbl_timeline *tl;
	assert_int_equal(lbl_new(&tl), 0);
	struct channel_event ev[] = {
		E(1, 1, 10, CHANNEL_REGION_BEGIN, "outer"),
		E(1, 1, 20, CHANNEL_REGION_BEGIN, "inner"),
		E(1, 1, 30, CHANNEL_REGION_END, "inner"),
		E(1, 1, 40, CHANNEL_REGION_END, "outer"),
		E(1, 1, 50, CHANNEL_REGION_END, "nothing-open"),
		E(1, 1, 60, CHANNEL_REGION_BEGIN, "a"),
		E(1, 1, 70, CHANNEL_REGION_BEGIN, "b"),
		E(1, 1, 80, CHANNEL_REGION_END, "zzz"), /* unknown name: closes nothing */
		E(1, 1, 90, CHANNEL_REGION_END, "a"),   /* closes a and b left open inside it */
	};
	assert_int_equal(lbl_add(tl, ev, sizeof(ev) / sizeof(ev[0])), 0);
	assert_string_equal(region_at(tl, 1, 1, 5), "");
	assert_string_equal(region_at(tl, 1, 1, 10), "outer"); /* at the event's time: in */
	assert_string_equal(region_at(tl, 1, 1, 15), "outer");
	assert_string_equal(region_at(tl, 1, 1, 25), "inner"); /* innermost wins */
	assert_string_equal(region_at(tl, 1, 1, 35), "outer");
	assert_string_equal(region_at(tl, 1, 1, 45), "");
	assert_string_equal(region_at(tl, 1, 1, 55), "");
	assert_string_equal(region_at(tl, 1, 1, 75), "b");
	assert_string_equal(region_at(tl, 1, 1, 85), "b");
	assert_string_equal(region_at(tl, 1, 1, 95), "");
	struct lbl_stats st;
	lbl_get_stats(tl, &st);
	assert_int_equal(st.events, 9);
	assert_int_equal(st.unmatched_ends, 2);
	assert_int_equal(st.late, 0);
	lbl_free(tl);
}

static void test_timeline_threads_and_trace(void **state)
{
	(void)state;
	struct lbl_timeline *tl;
	assert_int_equal(lbl_new(&tl), 0);
	struct channel_event ev[] = {
		E(1, 1, 10, CHANNEL_REGION_BEGIN, "one"),
		E(1, 2, 12, CHANNEL_REGION_BEGIN, "two"),
		E(7, 1, 14, CHANNEL_REGION_BEGIN, "other-process"), /* same tid, another pid */
		E(1, 2, 16, CHANNEL_TRACE, NULL),
		E(1, 2, 30, CHANNEL_TRACE, NULL), /* zeroes: cleared */
		E(1, 2, 40, 99, "bogus"),
	};
	memset(ev[3].trace_id, 0x11, 16);
	memset(ev[3].span_id, 0x22, 8);
	assert_int_equal(lbl_add(tl, ev, sizeof(ev) / sizeof(ev[0])), 0);
	const char *r;
	const uint8_t *trace, *span;
	assert_true(lbl_lookup(tl, 1, 1, 20, &r, &trace, &span));
	assert_string_equal(r, "one");
	assert_null(trace);
	assert_null(span);
	assert_true(lbl_lookup(tl, 1, 2, 20, &r, &trace, &span));
	assert_string_equal(r, "two");
	assert_non_null(trace);
	assert_int_equal(trace[0], 0x11);
	assert_int_equal(trace[15], 0x11);
	assert_int_equal(span[7], 0x22);
	assert_true(lbl_lookup(tl, 7, 1, 20, &r, &trace, &span));
	assert_string_equal(r, "other-process");
	assert_false(lbl_lookup(tl, 1, 3, 20, &r, &trace, &span)); /* never heard of */
	assert_null(r);
	assert_true(lbl_lookup(tl, 1, 2, 35, &r, &trace, &span));
	assert_string_equal(r, "two");
	assert_null(trace);
	struct lbl_stats st;
	lbl_get_stats(tl, &st);
	assert_int_equal(st.bad, 1);
	assert_int_equal(st.events, 5);
	lbl_free(tl);
}

static void test_timeline_late_events(void **state)
{
	(void)state;
	struct lbl_timeline *tl;
	assert_int_equal(lbl_new(&tl), 0);
	struct channel_event a = E(1, 1, 10, CHANNEL_REGION_BEGIN, "early");
	assert_int_equal(lbl_add(tl, &a, 1), 0);
	assert_string_equal(region_at(tl, 1, 1, 100), "early");
	/* Published late (its writer was preempted): affects later samples only. */
	struct channel_event b[] = {
		E(1, 1, 50, CHANNEL_REGION_BEGIN, "late"),
		E(1, 1, 150, CHANNEL_REGION_END, "late"),
	};
	assert_int_equal(lbl_add(tl, b, 2), 0);
	assert_string_equal(region_at(tl, 1, 1, 120), "late");
	assert_string_equal(region_at(tl, 1, 1, 160), "early");
	struct lbl_stats st;
	lbl_get_stats(tl, &st);
	assert_int_equal(st.late, 1);
	lbl_free(tl);
}

static void test_timeline_pruning(void **state)
{
	(void)state;
	struct lbl_timeline *tl;
	assert_int_equal(lbl_new(&tl), 0);
	/* 1000 short-lived threads, each in and out of a region; one stays inside. */
	for (uint32_t tid = 1; tid <= 1000; tid++) {
		struct channel_event ev[] = {
			E(1, tid, tid * 10, CHANNEL_REGION_BEGIN, "r"),
			E(1, tid, tid * 10 + 5, CHANNEL_REGION_END, "r"),
		};
		assert_int_equal(lbl_add(tl, ev, tid == 500 ? 1 : 2), 0);
	}
	struct lbl_stats st;
	lbl_get_stats(tl, &st);
	assert_int_equal(st.threads, 1000);
	/* A sample beyond all of them: no later sample can be older, so history folds. */
	assert_string_equal(region_at(tl, 1, 999, 100000), "");
	assert_int_equal(lbl_add(tl, NULL, 0), 0);
	lbl_get_stats(tl, &st);
	assert_int_equal(st.threads, 1); /* only tid 500, still inside "r" */
	assert_string_equal(region_at(tl, 1, 500, 100001), "r");

	/* A thread that publishes without ever being sampled: pending stays bounded. */
	struct channel_event *many = calloc(100000, sizeof(*many));
	assert_non_null(many);
	for (uint32_t i = 0; i < 100000; i++)
		many[i] = E(1, 2000, 200000 + i, i % 2 ? CHANNEL_REGION_END : CHANNEL_REGION_BEGIN,
			    "x");
	assert_int_equal(lbl_add(tl, many, 100000), 0);
	lbl_get_stats(tl, &st);
	assert_int_equal(st.folded_early, 100000 - 16384);
	free(many);
	lbl_free(tl);
}

static void test_timeline_drain(void **state)
{
	(void)state;
	struct channel *ch = create(4096);
	struct channel *w = attach_to(ch);
	struct lbl_timeline *tl;
	assert_int_equal(lbl_new(&tl), 0);
	assert_int_equal(lbl_drain(tl), 0); /* no channel: nothing to do */
	lbl_set_channel(tl, ch);
	static const uint8_t trace[16] = {1, 2, 3}, span[8] = {4, 5};
	channel_write(w, CHANNEL_REGION_BEGIN, "drained", NULL, NULL);
	channel_write(w, CHANNEL_TRACE, NULL, trace, span);
	/* More than one drain batch. */
	for (int i = 0; i < 1500; i++)
		channel_write(w, i % 2 ? CHANNEL_REGION_END : CHANNEL_REGION_BEGIN, "inner", NULL,
			      NULL);
	uint64_t t = now_ns();
	assert_int_equal(lbl_drain(tl), 0);
	const char *r;
	const uint8_t *tr, *sp;
	assert_true(lbl_lookup(tl, (uint32_t)getpid(), (uint32_t)gettid(), t, &r, &tr, &sp));
	assert_string_equal(r, "drained");
	assert_memory_equal(tr, trace, 16);
	assert_memory_equal(sp, span, 8);
	struct lbl_stats st;
	lbl_get_stats(tl, &st);
	assert_int_equal(st.channel_read, 1502);
	assert_int_equal(st.channel_lost, 0);
	char line[256];
	assert_true(lbl_summary(tl, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "events read 1502, lost 0"));
	lbl_free(tl);
	channel_close(w);
	channel_close(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_writer),
		cmocka_unit_test(test_threads_none_lost),
		cmocka_unit_test(test_threads_small_ring),
		cmocka_unit_test(test_overrun),
		cmocka_unit_test(test_abandoned_slot),
		cmocka_unit_test(test_attach_env),
		cmocka_unit_test(test_bad_capacity),
		cmocka_unit_test(test_timeline_nesting),
		cmocka_unit_test(test_timeline_threads_and_trace),
		cmocka_unit_test(test_timeline_late_events),
		cmocka_unit_test(test_timeline_pruning),
		cmocka_unit_test(test_timeline_drain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
