/*
 * A plain C benchmark harness using libpmuprof: counters around named,
 * nested regions on several threads, a report at the end, and sampling
 * switched on only around the measured loop when run under
 * `pmuprof record --control`.
 *
 *   pmuprof_example_harness [-e EVENTS] [--threads N] [--pages N] [--iters N] [--json]
 *
 * Regions: "setup" touches N fresh pages (N page faults, a software oracle),
 * "solve" runs `iters` steps of a small kernel, each inside a nested "step".
 * Worker threads run "worker" regions of their own. Build:
 *   cc harness.c $(pkg-config --cflags --libs pmuprof) -pthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* madvise, MADV_NOHUGEPAGE under -std=c11 */
#endif
#include <pmuprof/pmuprof.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct worker {
	pmuprof_session *s;
	long iters;
	int status;
	char err[256];
};

/* Deterministic work the compiler cannot drop. */
static uint64_t kernel(uint64_t x, long n)
{
	for (long i = 0; i < n; i++)
		x = x * 6364136223846793005u + 1442695040888963407u;
	return x;
}

static int touch_pages(size_t npages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, npages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, npages * page, MADV_NOHUGEPAGE); /* one fault per page */
	for (size_t i = 0; i < npages; i++)
		p[i * page] = 1;
	munmap(p, npages * page);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pmuprof_thread *t;
	/* Each thread opens its own counters: they count this thread only. */
	if (pmuprof_thread_attach(w->s, &t, w->err, sizeof(w->err)) < 0) {
		w->status = 1;
		return NULL;
	}
	volatile uint64_t sink;
	pmuprof_region_begin(t, "worker");
	sink = kernel((uint64_t)w->iters, w->iters * 1000);
	pmuprof_region_end(t, "worker");
	(void)sink;
	pmuprof_thread_detach(t); /* its regions stay in the session's report */
	return NULL;
}

int main(int argc, char **argv)
{
	const char *events = NULL; /* NULL: $PMUPROF_EVENTS, else the library's default */
	int nthreads = 2;
	long npages = 256, iters = 100;
	unsigned flags = PMUPROF_REPORT_TEXT | PMUPROF_REPORT_THREADS;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
			events = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--pages") == 0 && i + 1 < argc)
			npages = atol(argv[++i]);
		else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
			iters = atol(argv[++i]);
		else if (strcmp(argv[i], "--json") == 0)
			flags = PMUPROF_REPORT_JSON;
		else {
			fprintf(stderr, "usage: %s [-e EVENTS] [--threads N] [--pages N] "
					"[--iters N] [--json]\n",
				argv[0]);
			return 2;
		}
	}
	if (nthreads < 0 || nthreads > 64 || npages < 0 || iters < 0) {
		fprintf(stderr, "%s: --threads 0..64, --pages and --iters >= 0\n", argv[0]);
		return 2;
	}

	char err[512];
	pmuprof_session *s;
	pmuprof_thread *t;
	if (pmuprof_session_open(&s, events, err, sizeof(err)) < 0) {
		fprintf(stderr, "harness: %s\n", err);
		return 1;
	}
	if (pmuprof_thread_attach(s, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "harness: %s\n", err);
		pmuprof_session_close(s);
		return 1;
	}
	int status = 0;

	pmuprof_region_begin(t, "setup");
	int ret = touch_pages((size_t)npages);
	pmuprof_region_end(t, "setup");
	if (ret < 0) {
		fprintf(stderr, "harness: cannot map %ld pages: %s\n", npages, strerror(-ret));
		status = 1;
	}

	/* A trace context: under `pmuprof record` the samples below carry it. */
	static const uint8_t trace_id[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	static const uint8_t span_id[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
	pmuprof_set_trace_context(t, trace_id, span_id);

	/* Sample only the measured loop when the recorder offers --control. */
	ret = pmuprof_sampling_enable(s, err, sizeof(err));
	if (ret < 0 && ret != -ENOTCONN)
		fprintf(stderr, "harness: %s\n", err);
	volatile uint64_t sink = 1;
	if (pmuprof_region_begin(t, "solve") < 0) {
		fprintf(stderr, "harness: %s\n", pmuprof_thread_error(t));
		status = 1;
	}
	for (long i = 0; i < iters; i++) {
		pmuprof_region_begin(t, "step");
		sink = kernel(sink, 10000);
		pmuprof_region_end(t, "step");
	}
	if (pmuprof_region_end(t, "solve") < 0) {
		fprintf(stderr, "harness: %s\n", pmuprof_thread_error(t));
		status = 1;
	}
	ret = pmuprof_sampling_disable(s, err, sizeof(err));
	if (ret < 0 && ret != -ENOTCONN)
		fprintf(stderr, "harness: %s\n", err);
	pmuprof_set_trace_context(t, NULL, NULL);

	pthread_t tids[64];
	struct worker w[64];
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .s = s, .iters = iters };
		if (pthread_create(&tids[i], NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "harness: cannot start thread %d\n", i);
			nthreads = i;
			status = 1;
			break;
		}
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(tids[i], NULL);
		if (w[i].status) {
			fprintf(stderr, "harness: thread %d: %s\n", i, w[i].err);
			status = 1;
		}
	}

	if (pmuprof_session_report(s, stdout, flags) < 0) {
		fprintf(stderr, "harness: cannot write the report\n");
		status = 1;
	}
	if (pmuprof_session_close(s) < 0) /* also writes $PMUPROF_REPORT when set */
		status = 1;
	return status;
}
