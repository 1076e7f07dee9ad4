/*
 * libpmuprof (harness/harness.c) against deterministic software oracles.
 *
 * Page faults: a loop writing one byte to each of N fresh, non-huge pages
 * takes exactly N faults, so a region around it must count exactly N —
 * per call, summed over calls, in nested regions (outer = own + inner),
 * per thread and summed over threads, and consistently while another thread
 * reads the sums (each call faults once: calls == faults in every snapshot).
 * Reports: text (read path, regions, per-thread rows) and JSON, validated by
 * a small parser and compared with pmuprof_region_get. PMUPROF_READ forcing
 * (read works; rdpmc on software events is refused with the reason; with a
 * hardware PMU, rdpmc and read agree within 0.5 % on a fixed loop), errors
 * (bad events, bad nesting, re-entry, depth, detached threads), the control
 * fifo client against a fake recorder (ack, no ack, no reader, no fifo),
 * the sample-label channel, and $PMUPROF_REPORT at close. The rdpmc path's
 * arithmetic (pmu_page_compute) on synthetic mmap-page snapshots against
 * linux/perf_event.h's formulas computed in 128 bits, hardware or not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pmuprof/pmuprof.h>

#include "channel.h"
#include "pmu.h"
#include "pmu_internal.h"

#define NPAGES 64

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Fresh anonymous pages, one fault each when written (no THP, no pre-fault). */
static char *fresh_pages(size_t n)
{
	char *p = mmap(NULL, n * page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(madvise(p, n * page_size(), MADV_NOHUGEPAGE), 0);
	return p;
}

/*
 * Not instrumented under ASan: its shadow checks would fault in shadow pages
 * inside the measured region and break the one-fault-per-page oracle.
 */
#define NO_ASAN __attribute__((no_sanitize_address))

static void NO_ASAN __attribute__((noinline)) touch(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((volatile char *)p)[i * page_size()] = 1;
}

static void clear_env(void)
{
	unsetenv("PMUPROF_READ");
	unsetenv("PMUPROF_EVENTS");
	unsetenv("PMUPROF_REPORT");
	unsetenv("PMUPROF_CONTROL_FIFO");
	unsetenv(CHANNEL_ENV);
}

static pmuprof_session *open_session(const char *events)
{
	char err[512] = "";
	pmuprof_session *s = NULL;
	if (pmuprof_session_open(&s, events, err, sizeof(err)) != 0)
		fail_msg("pmuprof_session_open(%s): %s", events, err);
	return s;
}

static pmuprof_thread *attach(pmuprof_session *s)
{
	char err[512] = "";
	pmuprof_thread *t = NULL;
	if (pmuprof_thread_attach(s, &t, err, sizeof(err)) != 0)
		fail_msg("pmuprof_thread_attach: %s", err);
	return t;
}

/* One call of region `name` around touching n fresh pages. */
static void region_touch(pmuprof_thread *t, const char *name, size_t n)
{
	char *p = fresh_pages(n);
	assert_int_equal(pmuprof_region_begin(t, name), 0);
	touch(p, n);
	assert_int_equal(pmuprof_region_end(t, name), 0);
	munmap(p, n * page_size());
}

/*
 * Runs the code paths once so that their own first-touch faults (stack,
 * fresh heap in the thread's frames and read buffers) happen outside the
 * measured regions.
 */
static void warm_up(pmuprof_thread *t)
{
	char name[8];
	for (int d = 0; d < 4; d++) {
		snprintf(name, sizeof(name), "w%d", d);
		assert_int_equal(pmuprof_region_begin(t, name), 0);
	}
	char *p = fresh_pages(1);
	touch(p, 1);
	munmap(p, page_size());
	for (int d = 3; d >= 0; d--) {
		snprintf(name, sizeof(name), "w%d", d);
		assert_int_equal(pmuprof_region_end(t, name), 0);
	}
}

static int event_index(pmuprof_session *s, const char *name)
{
	for (size_t i = 0; i < pmuprof_session_nevents(s); i++)
		if (strcmp(pmuprof_session_event_name(s, i), name) == 0)
			return (int)i;
	fail_msg("no event %s in the session", name);
	return -1;
}

static bool json_valid(const char *doc);

/* --- counting ------------------------------------------------------------ */

static void test_read_page_faults(void **state)
{
	(void)state;
	clear_env();
	pmuprof_session *s = open_session("page-faults,task-clock");
	pmuprof_thread *t = attach(s);
	assert_string_equal(pmuprof_read_path(t), "read");
	uint64_t a[2], b[2];
	char *p = fresh_pages(NPAGES);
	assert_int_equal(pmuprof_read(t, a), 0);
	touch(p, NPAGES);
	assert_int_equal(pmuprof_read(t, b), 0);
	munmap(p, NPAGES * page_size());
	p = fresh_pages(NPAGES);
	assert_int_equal(pmuprof_read(t, a), 0); /* again, now that the paths are warm */
	touch(p, NPAGES);
	assert_int_equal(pmuprof_read(t, b), 0);
	munmap(p, NPAGES * page_size());
	assert_int_equal(b[0] - a[0], NPAGES);
	assert_true(b[1] > a[1]); /* task-clock ns advanced */
	pmuprof_session_close(s);
}

static void test_region_page_faults_exact(void **state)
{
	(void)state;
	clear_env();
	pmuprof_session *s = open_session("page-faults,task-clock");
	pmuprof_thread *t = attach(s);
	warm_up(t);
	region_touch(t, "touch", NPAGES); /* first call creates the region: warm it too */
	struct pmuprof_region_info info;
	uint64_t first[2];
	assert_int_equal(pmuprof_region_get(s, t, "touch", &info, first), 0);
	assert_int_equal(info.calls, 1);
	for (int i = 0; i < 3; i++)
		region_touch(t, "touch", NPAGES);
	uint64_t c[2];
	assert_int_equal(pmuprof_region_get(s, t, "touch", &info, c), 0);
	assert_int_equal(info.calls, 4);
	assert_int_equal(info.threads, 1);
	assert_int_equal(c[0] - first[0], 3 * NPAGES); /* exactly: the oracle is deterministic */
	assert_true(first[0] >= NPAGES);
	assert_true(info.time_ns > 0);
	assert_true(c[1] > 0);
	/* Same totals through the all-threads view. */
	uint64_t all[2];
	assert_int_equal(pmuprof_region_get(s, NULL, "touch", &info, all), 0);
	assert_int_equal(all[0], c[0]);
	assert_int_equal(pmuprof_region_get(s, NULL, "nowhere", &info, all), -ENOENT);
	pmuprof_session_close(s);
}

static void test_nested_regions(void **state)
{
	(void)state;
	clear_env();
	pmuprof_session *s = open_session("page-faults");
	pmuprof_thread *t = attach(s);
	warm_up(t);
	const size_t own = 16, inner = 8;
	/* Create both regions first: under ASan a new region's heap faults in its parent. */
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "outer" : "inner";
		assert_int_equal(pmuprof_region_begin(t, name), 0);
		assert_int_equal(pmuprof_region_end(t, name), 0);
	}
	for (int rep = 0; rep < 3; rep++) {
		/* Mapped outside the regions (ASan's mmap/munmap hooks fault in shadow pages). */
		char *p = fresh_pages(own), *q1 = fresh_pages(inner), *q2 = fresh_pages(inner);
		assert_int_equal(pmuprof_region_begin(t, "outer"), 0);
		touch(p, own);
		assert_int_equal(pmuprof_region_begin(t, "inner"), 0);
		touch(q1, inner);
		assert_int_equal(pmuprof_region_end(t, "inner"), 0);
		assert_int_equal(pmuprof_region_begin(t, "inner"), 0);
		touch(q2, inner);
		assert_int_equal(pmuprof_region_end(t, "inner"), 0);
		assert_int_equal(pmuprof_region_end(t, "outer"), 0);
		munmap(p, own * page_size());
		munmap(q1, inner * page_size());
		munmap(q2, inner * page_size());
	}
	struct pmuprof_region_info oi, ii;
	uint64_t oc, ic;
	assert_int_equal(pmuprof_region_get(s, t, "outer", &oi, &oc), 0);
	assert_int_equal(pmuprof_region_get(s, t, "inner", &ii, &ic), 0);
	assert_int_equal(oi.calls, 1 + 3);
	assert_int_equal(ii.calls, 1 + 6);
	assert_int_equal(ic, 6 * inner);
	assert_int_equal(oc, 3 * own + ic); /* outer = its own pages + inner's, exactly */
	assert_true(oi.time_ns >= ii.time_ns);
	pmuprof_session_close(s);
}

struct worker_arg {
	pmuprof_session *s;
	pmuprof_thread *t;
	size_t pages;
	pthread_barrier_t *done; /* keeps every thread alive until all attached */
};

static void *worker(void *arg)
{
	struct worker_arg *w = arg;
	char err[512];
	if (pmuprof_thread_attach(w->s, &w->t, err, sizeof(err)) != 0) {
		fprintf(stderr, "attach: %s\n", err);
		w->t = NULL;
		pthread_barrier_wait(w->done);
		return NULL;
	}
	warm_up(w->t);
	char *p = fresh_pages(w->pages);
	pmuprof_region_begin(w->t, "work");
	touch(p, w->pages);
	pmuprof_region_end(w->t, "work");
	munmap(p, w->pages * page_size());
	pthread_barrier_wait(w->done);
	pmuprof_thread_detach(w->t);
	return NULL;
}

static void test_threads_aggregated(void **state)
{
	(void)state;
	clear_env();
	pmuprof_session *s = open_session("page-faults");
	enum { N = 4 };
	pthread_t th[N];
	struct worker_arg w[N];
	pthread_barrier_t done;
	pthread_barrier_init(&done, NULL, N);
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker_arg){ .s = s, .pages = (size_t)(i + 1) * 10, .done = &done };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&done);
	uint64_t sum = 0;
	for (int i = 0; i < N; i++) {
		assert_non_null(w[i].t);
		struct pmuprof_region_info info;
		uint64_t c;
		assert_int_equal(pmuprof_region_get(s, w[i].t, "work", &info, &c), 0);
		assert_int_equal(c, w[i].pages); /* exactly, its first call included */
		assert_int_equal(info.calls, 1);
		sum += c;
	}
	struct pmuprof_region_info info;
	uint64_t total;
	assert_int_equal(pmuprof_region_get(s, NULL, "work", &info, &total), 0);
	assert_int_equal(info.threads, N);
	assert_int_equal(info.calls, N);
	assert_int_equal(total, sum);
	assert_int_equal(total, 10 + 20 + 30 + 40);

	/* The JSON report lists every thread, and the summed region. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(pmuprof_session_report(s, f, PMUPROF_REPORT_JSON), 0);
	fclose(f);
	int tids = 0;
	for (const char *q = buf; (q = strstr(q, "\"tid\":")); q++)
		tids++;
	assert_int_equal(tids, N);
	assert_non_null(strstr(buf, "\"attached\": false"));
	const char *r = strstr(buf, "\n  \"regions\": [");
	assert_non_null(r);
	assert_non_null(strstr(r, "{\"name\": \"work\", \"threads\": 4, \"calls\": 4,"));
	assert_true(json_valid(buf));
	free(buf);
	pmuprof_session_close(s);
}

/* One fault per call: a consistent copy always has faults == calls. */
struct ticker {
	pmuprof_session *s;
	atomic_bool stop;
	atomic_int ready;
	long calls;
};

static void *ticker_main(void *arg)
{
	struct ticker *k = arg;
	pmuprof_thread *t = attach(k->s);
	warm_up(t);
	enum { MAXPAGES = 4096 };
	char *p = fresh_pages(MAXPAGES);
	/* Create the region outside the measured calls (its first call pays the table). */
	pmuprof_region_begin(t, "tick");
	pmuprof_region_end(t, "tick");
	pmuprof_region_begin(t, "tick");
	pmuprof_region_end(t, "tick"); /* 2 calls, 0 faults so far (warm) */
	atomic_store(&k->ready, 1);
	long i = 0;
	while (!atomic_load(&k->stop) && i < MAXPAGES) {
		pmuprof_region_begin(t, "tick");
		touch(p + (size_t)i * page_size(), 1);
		pmuprof_region_end(t, "tick");
		i++;
	}
	k->calls = i;
	munmap(p, MAXPAGES * page_size());
	return NULL;
}

static void test_report_while_running(void **state)
{
	(void)state;
	clear_env();
	struct ticker *k = calloc(1, sizeof(*k));
	assert_non_null(k);
	k->s = open_session("page-faults");
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, ticker_main, k), 0);
	while (!atomic_load(&k->ready))
		sched_yield();
	/* Mismatches are kept, and asserted once the thread is joined. */
	int snapshots = 0, torn = 0, backwards = 0;
	uint64_t last = 0;
	for (int i = 0; i < 2000; i++) {
		struct pmuprof_region_info info;
		uint64_t c;
		if (pmuprof_region_get(k->s, NULL, "tick", &info, &c) != 0)
			continue;
		/* Two warm calls without faults, then one fault per call. */
		torn += c + 2 != info.calls;
		backwards += info.calls < last;
		last = info.calls;
		snapshots++;
	}
	atomic_store(&k->stop, true);
	pthread_join(th, NULL);
	assert_int_equal(torn, 0);
	assert_int_equal(backwards, 0);
	assert_true(snapshots > 0);
	struct pmuprof_region_info info;
	uint64_t c;
	assert_int_equal(pmuprof_region_get(k->s, NULL, "tick", &info, &c), 0);
	assert_int_equal(info.calls, (uint64_t)k->calls + 2);
	assert_int_equal(c, (uint64_t)k->calls);
	pmuprof_session_close(k->s);
	free(k);
}

/* --- reports ------------------------------------------------------------- */

/* A minimal JSON validator: the whole grammar, no values kept. */
static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_value(const char *p);

static const char *json_string_end(const char *p)
{
	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_value(const char *p)
{
	p = json_ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = json_string_end(json_ws(p));
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_value(p);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == ',') {
				p++;
				continue;
			}
			return *p == close ? p + 1 : NULL;
		}
	}
	if (*p == '"')
		return json_string_end(p);
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
		return p + 4;
	if (strncmp(p, "false", 5) == 0)
		return p + 5;
	char *end;
	strtod(p, &end);
	return end > p && (*p == '-' || (*p >= '0' && *p <= '9')) ? end : NULL;
}

static bool json_valid(const char *doc)
{
	const char *end = json_value(doc);
	return end && *json_ws(end) == 0;
}

/* The first number of the "counts" array of region `name` in the summed list. */
static double json_region_count(const char *doc, const char *name, int event)
{
	const char *sums = strstr(doc, "\n  \"regions\": [");
	assert_non_null(sums);
	char key[64];
	snprintf(key, sizeof(key), "{\"name\": \"%s\"", name);
	const char *r = strstr(sums, key);
	assert_non_null(r);
	const char *c = strstr(r, "\"counts\": [");
	assert_non_null(c);
	c += strlen("\"counts\": [");
	for (int i = 0; i < event; i++) {
		c = strchr(c, ',');
		assert_non_null(c);
		c++;
	}
	return strtod(c, NULL);
}

static char *report(pmuprof_session *s, unsigned flags)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(pmuprof_session_report(s, f, flags), 0);
	fclose(f);
	return buf;
}

static void test_reports(void **state)
{
	(void)state;
	clear_env();
	pmuprof_session *s = open_session("page-faults,task-clock");
	pmuprof_thread *t = attach(s);
	warm_up(t);
	region_touch(t, "alpha \"quoted\"", 5);
	region_touch(t, "beta", 7);
	region_touch(t, "beta", 7);

	char *text = report(s, PMUPROF_REPORT_TEXT | PMUPROF_REPORT_THREADS);
	assert_non_null(strstr(text, "read path: read ("));
	assert_non_null(strstr(text, "events page-faults,task-clock"));
	assert_non_null(strstr(text, "region"));
	assert_non_null(strstr(text, "task-clock ns"));
	const char *beta = strstr(text, "\nbeta ");
	assert_non_null(beta);
	unsigned threads;
	unsigned long long calls;
	double ms;
	assert_int_equal(sscanf(beta, " beta %u %llu %lf", &threads, &calls, &ms), 3);
	assert_int_equal(threads, 1);
	assert_int_equal(calls, 2);
	char tid[32];
	snprintf(tid, sizeof(tid), "  tid %d ", (int)gettid());
	assert_non_null(strstr(text, tid));
	free(text);

	char *json = report(s, PMUPROF_REPORT_JSON);
	if (!json_valid(json))
		fail_msg("invalid JSON:\n%s", json);
	assert_non_null(strstr(json, "\"read_path\": \"read\""));
	assert_non_null(strstr(json, "\"events\": [\"page-faults\", \"task-clock\"]"));
	assert_non_null(strstr(json, "\"name\": \"alpha \\\"quoted\\\"\""));
	uint64_t c[2];
	struct pmuprof_region_info info;
	assert_int_equal(pmuprof_region_get(s, NULL, "beta", &info, c), 0);
	assert_int_equal((uint64_t)json_region_count(json, "beta", 0), c[0]);
	assert_int_equal((uint64_t)json_region_count(json, "beta", 1), c[1]);
	assert_true(c[0] >= 14);
	free(json);
	pmuprof_session_close(s);
}

static void test_report_env_at_close(void **state)
{
	(void)state;
	clear_env();
	char dir[] = "/tmp/pmuprof-harness-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/report.json", dir);
	setenv("PMUPROF_REPORT", path, 1);
	pmuprof_session *s = open_session("page-faults");
	pmuprof_thread *t = attach(s);
	region_touch(t, "at-exit", 3);
	assert_int_equal(pmuprof_session_close(s), 0);
	unsetenv("PMUPROF_REPORT");
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	assert_true(json_valid(buf));
	assert_non_null(strstr(buf, "\"name\": \"at-exit\""));
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */

	/* An unwritable target: close says so, and fails. */
	setenv("PMUPROF_REPORT", "/nonexistent-dir/report.txt", 1);
	s = open_session("page-faults");
	assert_true(pmuprof_session_close(s) < 0);
	unsetenv("PMUPROF_REPORT");
}

/* --- read paths ---------------------------------------------------------- */

static void test_read_forced(void **state)
{
	(void)state;
	clear_env();
	setenv("PMUPROF_READ", "read", 1);
	pmuprof_session *s = open_session("page-faults");
	pmuprof_thread *t = attach(s);
	assert_string_equal(pmuprof_read_path(t), "read");
	warm_up(t);
	region_touch(t, "r", 1);
	region_touch(t, "r", NPAGES);
	uint64_t c;
	struct pmuprof_region_info info;
	assert_int_equal(pmuprof_region_get(s, t, "r", &info, &c), 0);
	assert_int_equal(c, NPAGES + 1);
	char *text = report(s, PMUPROF_REPORT_TEXT);
	assert_non_null(strstr(text, "read path: read (forced by PMUPROF_READ=read)"));
	free(text);
	pmuprof_session_close(s);

	setenv("PMUPROF_READ", "sometimes", 1);
	char err[512] = "";
	assert_true(pmuprof_session_open(&s, "page-faults", err, sizeof(err)) < 0);
	assert_null(s);
	assert_non_null(strstr(err, "PMUPROF_READ='sometimes'"));
	clear_env();
}

static void test_rdpmc_refused_on_software_events(void **state)
{
	(void)state;
	clear_env();
	setenv("PMUPROF_READ", "rdpmc", 1);
	pmuprof_session *s = open_session("task-clock,page-faults");
	pmuprof_thread *t = NULL;
	char err[512] = "";
	assert_int_equal(pmuprof_thread_attach(s, &t, err, sizeof(err)), -EOPNOTSUPP);
	assert_null(t);
	assert_non_null(strstr(err, "PMUPROF_READ=rdpmc"));
	assert_non_null(strstr(err, "'task-clock' is a software event"));
	assert_non_null(strstr(err, "PMUPROF_READ=read"));
	pmuprof_session_close(s);
	/* Auto: the same events fall back to read() and say why. */
	clear_env();
	s = open_session("task-clock,page-faults");
	t = attach(s);
	assert_string_equal(pmuprof_read_path(t), "read");
	char *text = report(s, PMUPROF_REPORT_TEXT);
	assert_non_null(strstr(text, "read path: read (auto: rdpmc unusable: 'task-clock' is a "
				     "software event"));
	free(text);
	pmuprof_session_close(s);
}

/* 2 instructions per iteration; the same on both paths. */
static void __attribute__((noinline)) fixed_loop(long n)
{
#if defined(__x86_64__)
	__asm__ __volatile__("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
#else
	for (volatile long i = 0; i < n; i++)
		;
#endif
}

static void test_rdpmc_matches_read_on_hardware(void **state)
{
	(void)state;
	clear_env();
	if (!pmu_host_has_hw_counters())
		skip(); /* no hardware PMU here: rdpmc has nothing to read (printed by main) */
	setenv("PMUPROF_READ", "rdpmc", 1);
	char err[512] = "";
	pmuprof_session *sr = NULL, *sd = NULL;
	pmuprof_thread *tr = NULL, *td = NULL;
	/* A PMU may lack instructions (QEMU's arm64 one without -icount): then cycles. */
	const char *ev = "instructions:u";
	if (pmuprof_session_open(&sr, ev, err, sizeof(err)) != 0) {
		print_message("no %s here (%s): comparing cycles:u\n", ev, err);
		ev = "cycles:u";
		assert_int_equal(pmuprof_session_open(&sr, ev, err, sizeof(err)), 0);
	}
	if (pmuprof_thread_attach(sr, &tr, err, sizeof(err)) != 0) {
		fprintf(stderr, "SKIP rdpmc consistency: %s\n", err);
		pmuprof_session_close(sr);
		clear_env();
		skip();
	}
	setenv("PMUPROF_READ", "read", 1);
	sd = open_session(ev);
	td = attach(sd);
	clear_env();
	const long n = 10 * 1000 * 1000;
	for (int i = 0; i < 3; i++) {
		pmuprof_region_begin(tr, "loop");
		pmuprof_region_begin(td, "loop");
		fixed_loop(n);
		pmuprof_region_end(td, "loop");
		pmuprof_region_end(tr, "loop");
	}
	uint64_t a, b;
	assert_int_equal(pmuprof_region_get(sr, tr, "loop", NULL, &a), 0);
	assert_int_equal(pmuprof_region_get(sd, td, "loop", NULL, &b), 0);
	double diff = a > b ? (double)(a - b) / (double)b : (double)(b - a) / (double)b;
	print_message("rdpmc %llu vs read %llu %s: %.3f%% apart\n", (unsigned long long)a,
		      (unsigned long long)b, ev, diff * 100);
	if (diff >= 0.005)
		fail_msg("rdpmc %llu vs read %llu %s: %.3f%%", (unsigned long long)a,
			 (unsigned long long)b, ev, diff * 100);
	if (strcmp(ev, "instructions:u") == 0)
		assert_true(b >= 3 * 2 * (uint64_t)n);
	pmuprof_session_close(sr);
	pmuprof_session_close(sd);
}

/* --- errors -------------------------------------------------------------- */

static void test_errors(void **state)
{
	(void)state;
	clear_env();
	char err[512] = "";
	pmuprof_session *s = (pmuprof_session *)&err; /* must be reset to NULL */
	assert_true(pmuprof_session_open(&s, "page-faults,instrucshuns", err, sizeof(err)) < 0);
	assert_null(s);
	assert_non_null(strstr(err, "instrucshuns"));
	if (!pmu_host_has_hw_counters()) {
		err[0] = 0;
		assert_true(pmuprof_session_open(&s, "instructions:u", err, sizeof(err)) < 0);
		assert_non_null(strstr(err, "instructions"));
	}

	s = open_session("page-faults");
	pmuprof_thread *t = attach(s);
	assert_int_equal(pmuprof_region_end(t, "a"), -EINVAL);
	assert_non_null(strstr(pmuprof_thread_error(t), "no region is open"));
	assert_int_equal(pmuprof_region_begin(t, "a"), 0);
	assert_int_equal(pmuprof_region_begin(t, "b"), 0);
	assert_int_equal(pmuprof_region_end(t, "a"), -EINVAL);
	assert_non_null(strstr(pmuprof_thread_error(t), "innermost open region is 'b'"));
	assert_int_equal(pmuprof_region_begin(t, "a"), -EBUSY);
	assert_non_null(strstr(pmuprof_thread_error(t), "'a' is already open"));
	assert_int_equal(pmuprof_region_end(t, "b"), 0);
	assert_int_equal(pmuprof_region_end(t, "a"), 0);
	assert_int_equal(pmuprof_region_begin(t, NULL), -EINVAL);

	char name[16];
	for (int d = 0; d < PMUPROF_MAX_DEPTH; d++) {
		snprintf(name, sizeof(name), "d%d", d);
		assert_int_equal(pmuprof_region_begin(t, name), 0);
	}
	assert_int_equal(pmuprof_region_begin(t, "too-deep"), -E2BIG);
	/* Detach ends the open regions and the report says so. */
	assert_int_equal(pmuprof_thread_detach(t), 0);
	struct pmuprof_region_info info;
	assert_int_equal(pmuprof_region_get(s, t, "d0", &info, NULL), 0);
	assert_int_equal(info.calls, 1);
	uint64_t v;
	assert_int_equal(pmuprof_read(t, &v), -EBADF);
	assert_int_equal(pmuprof_region_begin(t, "x"), -EBADF);
	char *text = report(s, PMUPROF_REPORT_TEXT);
	assert_non_null(strstr(text, "was detached inside 32 regions"));
	free(text);
	pmuprof_session_close(s);
}

static void test_default_events(void **state)
{
	(void)state;
	clear_env();
	setenv("PMUPROF_EVENTS", "page-faults,context-switches", 1);
	pmuprof_session *s = open_session(NULL);
	assert_int_equal(pmuprof_session_nevents(s), 2);
	assert_string_equal(pmuprof_session_event_name(s, 1), "context-switches");
	assert_null(pmuprof_session_event_name(s, 2));
	pmuprof_session_close(s);
	clear_env();
	/*
	 * The defaults: instructions:u and cycles:u as far as the PMU counts them
	 * (QEMU's arm64 PMU has no instructions without -icount), the note naming
	 * what it lacks; software events when it counts neither.
	 */
	bool has_inst = pmu_probe_event(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS) == 0;
	bool has_cycles = pmu_probe_event(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES) == 0;
	s = open_session(NULL);
	char *text = report(s, PMUPROF_REPORT_TEXT);
	if (!has_inst && !has_cycles) {
		assert_int_equal(event_index(s, "task-clock"), 0);
		assert_non_null(strstr(text, "note: this host exposes no hardware counters"));
	} else {
		assert_int_equal(pmuprof_session_nevents(s), (size_t)has_inst + has_cycles);
		assert_string_equal(pmuprof_session_event_name(s, 0),
				    has_inst ? "instructions:u" : "cycles:u");
		if (!has_inst || !has_cycles)
			assert_non_null(strstr(text, has_inst ? "PMU has no cycles:u"
							      : "PMU has no instructions:u"));
		else
			assert_null(strstr(text, "note: "));
	}
	free(text);
	pmuprof_session_close(s);
}

/* --- sampling control ------------------------------------------------------ */

struct fake_recorder {
	char ctl[128], ack[128];
	bool answer;
	char got[256]; /* the commands received */
	atomic_bool stop;
};

/* perf's side: the control fifo opened read-write, one "ack\n" per command line. */
static void *recorder_main(void *arg)
{
	struct fake_recorder *r = arg;
	int ctl = open(r->ctl, O_RDWR | O_NONBLOCK);
	int ack = r->ack[0] ? open(r->ack, O_RDWR) : -1;
	size_t used = 0;
	while (!atomic_load(&r->stop)) {
		char c;
		ssize_t n = read(ctl, &c, 1);
		if (n != 1) {
			usleep(1000);
			continue;
		}
		if (used + 1 < sizeof(r->got))
			r->got[used++] = c;
		if (c == '\n' && r->answer && ack >= 0)
			(void)!write(ack, "ack\n", 4);
	}
	close(ctl);
	if (ack >= 0)
		close(ack);
	return NULL;
}

static void test_control_fifo(void **state)
{
	(void)state;
	clear_env();
	char err[512] = "";
	pmuprof_session *s = open_session("page-faults");
	assert_int_equal(pmuprof_sampling_enable(s, err, sizeof(err)), -ENOTCONN);
	assert_non_null(strstr(err, "PMUPROF_CONTROL_FIFO"));
	pmuprof_session_close(s);

	char dir[] = "/tmp/pmuprof-ctl-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct fake_recorder r = { .answer = true };
	snprintf(r.ctl, sizeof(r.ctl), "%s/ctl", dir);
	snprintf(r.ack, sizeof(r.ack), "%s/ack", dir);
	assert_int_equal(mkfifo(r.ctl, 0600), 0);
	assert_int_equal(mkfifo(r.ack, 0600), 0);
	char env[300];
	snprintf(env, sizeof(env), "%s,%s", r.ctl, r.ack);

	/* No recorder reading yet: the fifo has no reader. */
	setenv("PMUPROF_CONTROL_FIFO", env, 1);
	s = open_session("page-faults");
	assert_int_equal(pmuprof_sampling_enable(s, err, sizeof(err)), -ENXIO);
	assert_non_null(strstr(err, "has `pmuprof record` exited?"));
	pmuprof_session_close(s);

	/* A recorder that acknowledges. */
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, recorder_main, &r), 0);
	usleep(20000);
	s = open_session("page-faults");
	assert_int_equal(pmuprof_sampling_enable(s, err, sizeof(err)), 0);
	assert_int_equal(pmuprof_sampling_disable(s, err, sizeof(err)), 0);
	assert_int_equal(pmuprof_sampling_enable(s, err, sizeof(err)), 0);
	pmuprof_session_close(s);
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	assert_string_equal(r.got, "enable\ndisable\nenable\n");

	/* One that never acknowledges: a bounded wait, then -ETIMEDOUT. */
	memset(r.got, 0, sizeof(r.got));
	r.answer = false;
	atomic_store(&r.stop, false);
	assert_int_equal(pthread_create(&th, NULL, recorder_main, &r), 0);
	usleep(20000);
	s = open_session("page-faults");
	uint64_t t0 = now_ns();
	assert_int_equal(pmuprof_sampling_disable(s, err, sizeof(err)), -ETIMEDOUT);
	uint64_t waited = now_ns() - t0;
	assert_true(waited >= 900000000ull && waited < 3000000000ull);
	assert_non_null(strstr(err, "no ack"));
	pmuprof_session_close(s);
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	assert_string_equal(r.got, "disable\n");

	/* Without an ack fifo the command is only sent. */
	memset(r.got, 0, sizeof(r.got));
	r.ack[0] = 0;
	atomic_store(&r.stop, false);
	assert_int_equal(pthread_create(&th, NULL, recorder_main, &r), 0);
	usleep(20000);
	setenv("PMUPROF_CONTROL_FIFO", r.ctl, 1);
	s = open_session("page-faults");
	assert_int_equal(pmuprof_sampling_enable(s, err, sizeof(err)), 0);
	pmuprof_session_close(s);
	usleep(20000);
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	assert_string_equal(r.got, "enable\n");

	clear_env();
	snprintf(env, sizeof(env), "%s/ctl", dir);
	unlink(env);
	snprintf(env, sizeof(env), "%s/ack", dir);
	unlink(env);
	assert_int_equal(rmdir(dir), 0);
}

/* --- the sample-label channel ---------------------------------------------- */

static void test_channel_events(void **state)
{
	(void)state;
	clear_env();
	char err[256] = "";
	struct channel *ch = NULL;
	if (channel_create(&ch, 64, err, sizeof(err)) != 0)
		fail_msg("channel_create: %s", err);
	char num[16];
	snprintf(num, sizeof(num), "%d", channel_fd(ch));
	setenv(CHANNEL_ENV, num, 1);
	pmuprof_session *s = open_session("page-faults");
	unsetenv(CHANNEL_ENV);
	pmuprof_thread *t = attach(s);
	const uint8_t trace[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	const uint8_t span[8] = { 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x1, 0x2 };
	uint64_t t0 = now_ns();
	assert_int_equal(pmuprof_set_trace_context(t, trace, span), 0);
	assert_int_equal(pmuprof_region_begin(t, "outer"), 0);
	assert_int_equal(pmuprof_region_begin(t, "inner"), 0);
	assert_int_equal(pmuprof_region_end(t, "inner"), 0);
	assert_int_equal(pmuprof_region_end(t, "outer"), 0);
	assert_int_equal(pmuprof_set_trace_context(t, NULL, NULL), 0);
	uint64_t t1 = now_ns();
	struct channel_event ev[16];
	uint64_t lost = 0;
	size_t n = channel_read(ch, ev, 16, &lost);
	assert_int_equal(n, 6);
	assert_int_equal(lost, 0);
	const uint32_t kinds[6] = {CHANNEL_TRACE,      CHANNEL_REGION_BEGIN, CHANNEL_REGION_BEGIN,
				   CHANNEL_REGION_END, CHANNEL_REGION_END,   CHANNEL_TRACE};
	const char *names[6] = { "", "outer", "inner", "inner", "outer", "" };
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ev[i].kind, kinds[i]);
		assert_string_equal(ev[i].name, names[i]);
		assert_int_equal(ev[i].tid, (uint32_t)gettid());
		assert_int_equal(ev[i].pid, (uint32_t)getpid());
		assert_true(ev[i].time >= t0 && ev[i].time <= t1);
		assert_true(i == 0 || ev[i].time >= ev[i - 1].time);
	}
	assert_memory_equal(ev[0].trace_id, trace, 16);
	assert_memory_equal(ev[0].span_id, span, 8);
	const uint8_t zero[16] = { 0 };
	assert_memory_equal(ev[5].trace_id, zero, 16);
	pmuprof_session_close(s);
	channel_close(ch);
}

/* The uapi header's time formula, exactly: (cyc * mult) >> shift, plus the offset (mod 2^64). */
static uint64_t ref_delta(uint64_t cyc, uint32_t mult, uint16_t shift, uint64_t offset)
{
	return (uint64_t)(((unsigned __int128)cyc * mult) >> shift) + offset;
}

static void test_page_arithmetic(void **state)
{
	(void)state;
	uint64_t v, e, r;
	/* A 48-bit counter: bits above 47 are the sign, whatever rdpmc left there. */
	struct pmu_page_snap s = {.index = 3, .user_rdpmc = true, .pmc_width = 48, .offset = 1000,
				  .pmc = 0x0000fffffffffff0ull, .enabled = 7, .running = 5};
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(v, 1000 - 16);
	assert_int_equal(e, 7);
	assert_int_equal(r, 5);
	s.pmc = 0xabcd000000000005ull;
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(v, 1005);
	/* The kernel keeps offset so that offset + counter is the count: a negative offset. */
	s.offset = (uint64_t)-(int64_t)0x7fffffff0000ull;
	s.pmc = 0x7fffffff0000ull + 12345;
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(v, 12345);
	/* Full width: no extension; width 0 (an old kernel): none either. */
	s = (struct pmu_page_snap){.index = 1, .user_rdpmc = true, .pmc_width = 64, .offset = 1,
				   .pmc = UINT64_MAX - 1};
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(v, UINT64_MAX);
	s.pmc_width = 0;
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(v, UINT64_MAX);
	/* Not on a counter (index 0), or rdpmc not allowed: offset alone. */
	s = (struct pmu_page_snap){.index = 0, .user_rdpmc = true, .pmc_width = 48, .offset = 777,
				   .pmc = 99};
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(v, 777);
	s.index = 2;
	s.user_rdpmc = false;
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(v, 777);

	/* Times: enabled always moves on, running only on a counter. */
	s = (struct pmu_page_snap){.index = 2, .user_rdpmc = true, .pmc_width = 48, .enabled = 100,
				   .running = 60, .user_time = true, .tsc = 123456789,
				   .time_mult = 1024, .time_shift = 10,
				   .time_offset = (uint64_t)-100000000};
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(e, 100 + 23456789);
	assert_int_equal(r, 60 + 23456789);
	s.index = 0;
	pmu_page_compute(&s, &v, &e, &r);
	assert_int_equal(e, 100 + 23456789);
	assert_int_equal(r, 60);
	/* Random pages against the formula in 128 bits (a TSC of up to 2^63, shifts up to 31). */
	uint64_t x = 0x853c49e6748fea9bull;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t y = x * 0x2545f4914f6cdd1dull;
		s = (struct pmu_page_snap){.index = 1, .user_time = true, .tsc = x >> 1,
					   .time_mult = (uint32_t)y, .time_shift = (uint16_t)(y >> 32) % 32,
					   .time_offset = y, .enabled = y >> 40, .running = y >> 41};
		pmu_page_compute(&s, &v, &e, &r);
		uint64_t d = ref_delta(s.tsc, s.time_mult, s.time_shift, s.time_offset);
		assert_int_equal(e, s.enabled + d);
		assert_int_equal(r, s.running + d);
	}
	/* cap_user_time_short: the TSC counts on from time_cycles, wrapped at time_mask. */
	s = (struct pmu_page_snap){.index = 1, .user_time = true, .user_time_short = true,
				   .tsc = 0x123456789ull, .time_cycles = 0x120000000ull,
				   .time_mask = 0xffffffull, .time_mult = 3u << 20,
				   .time_shift = 21, .time_offset = 0};
	pmu_page_compute(&s, &v, &e, &r);
	uint64_t cyc = 0x120000000ull + ((0x123456789ull - 0x120000000ull) & 0xffffffull);
	assert_int_equal(e, ref_delta(cyc, 3u << 20, 21, 0));
}

int main(void)
{
	if (!pmu_host_has_hw_counters())
		fprintf(stderr, "note: this host exposes no hardware PMU: the rdpmc/read "
				"consistency check on instructions:u is skipped\n");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_page_faults),
		cmocka_unit_test(test_region_page_faults_exact),
		cmocka_unit_test(test_nested_regions),
		cmocka_unit_test(test_threads_aggregated),
		cmocka_unit_test(test_report_while_running),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_report_env_at_close),
		cmocka_unit_test(test_read_forced),
		cmocka_unit_test(test_rdpmc_refused_on_software_events),
		cmocka_unit_test(test_rdpmc_matches_read_on_hardware),
		cmocka_unit_test(test_page_arithmetic),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_default_events),
		cmocka_unit_test(test_control_fifo),
		cmocka_unit_test(test_channel_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
