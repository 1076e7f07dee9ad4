/*
 * harness_cost: what libpmuprof costs a harness, per read path — one
 * pmuprof_read() and one pmuprof_region_begin/end pair — side by side with a
 * bare read() of a perf group opened by hand (what Google Benchmark's
 * PerfCounters::Snapshot does) and the clock. Prints a markdown table of the
 * median ns per call (each call timed, the ops interleaved), and checks the
 * target "a begin/end pair costs at most 2 reads + 50 ns" with the pair and
 * two reads timed back to back (N x B calls of each).
 *
 *   harness_cost [--events hw|sw] [--iters N] [--batches B]
 *
 * Events: hw = instructions:u,cycles:u (the library's default where the host
 * has a PMU), sw = task-clock,page-faults,context-switches (its fallback).
 */
#include <pmuprof/pmuprof.h>

#include <errno.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCHES 1000

struct opts {
	bool hw;
	long iters;
	int batches;
};

struct bare {
	int fds[3];
	int n;
	size_t size; /* bytes one group read returns */
	uint64_t buf[3 + 3];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct op {
	const char *what, *path;
	int (*fn)(void *);
	void *arg;
	int64_t *ns; /* one sample per call */
	double median;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_of(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return (double)v[n / 2];
}

/*
 * Every call timed on its own, the ops interleaved call by call, so that
 * preemptions and drift on a shared VM hit them alike and the median drops
 * them; the clock's own cost (a back-to-back pair) is subtracted.
 */
static int measure_all(const struct opts *o, struct op *ops, size_t nops)
{
	size_t n = (size_t)o->iters * (size_t)o->batches;
	int64_t *clk = malloc(n * sizeof(int64_t));
	if (!clk)
		return -1;
	for (size_t k = 0; k < nops; k++) {
		ops[k].ns = malloc(n * sizeof(int64_t));
		if (!ops[k].ns)
			return -1;
		for (long i = 0; i < o->iters / 10; i++) /* warm-up */
			ops[k].fn(ops[k].arg);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		clk[i] = (int64_t)(now_ns() - t0);
		for (size_t k = 0; k < nops; k++) {
			t0 = now_ns();
			ops[k].fn(ops[k].arg);
			ops[k].ns[i] = (int64_t)(now_ns() - t0);
		}
	}
	double clock_cost = median_of(clk, n);
	free(clk);
	for (size_t k = 0; k < nops; k++) {
		ops[k].median = median_of(ops[k].ns, n) - clock_cost;
		free(ops[k].ns);
	}
	return 0;
}

static int open_bare(struct bare *g, bool hw, uint64_t read_format)
{
	static const uint64_t hw_cfg[] = { PERF_COUNT_HW_INSTRUCTIONS, PERF_COUNT_HW_CPU_CYCLES };
	static const uint64_t sw_cfg[] = { PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_PAGE_FAULTS,
					   PERF_COUNT_SW_CONTEXT_SWITCHES };
	g->n = hw ? 2 : 3;
	for (int i = 0; i < g->n; i++) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.type = hw ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE;
		a.config = hw ? hw_cfg[i] : sw_cfg[i];
		a.exclude_kernel = hw;
		a.exclude_hv = hw;
		a.read_format = read_format;
		long fd = syscall(SYS_perf_event_open, &a, 0, -1, i ? g->fds[0] : -1, 0);
		if (fd < 0)
			return -errno;
		g->fds[i] = (int)fd;
	}
	int extra = (read_format & PERF_FORMAT_TOTAL_TIME_ENABLED ? 1 : 0) +
		    (read_format & PERF_FORMAT_TOTAL_TIME_RUNNING ? 1 : 0);
	g->size = (size_t)(1 + extra + g->n) * sizeof(uint64_t);
	return 0;
}

static void close_bare(struct bare *g)
{
	for (int i = 0; i < g->n; i++)
		close(g->fds[i]);
}

static int op_bare(void *arg)
{
	struct bare *g = arg;
	return read(g->fds[0], g->buf, g->size) == (ssize_t)g->size ? 0 : -1;
}

static int op_clock(void *arg)
{
	struct timespec *ts = arg;
	return clock_gettime(CLOCK_MONOTONIC, ts);
}

struct lib {
	pmuprof_thread *t;
	uint64_t v[8];
};

static int op_read(void *arg)
{
	struct lib *l = arg;
	return pmuprof_read(l->t, l->v);
}

static int op_pair(void *arg)
{
	struct lib *l = arg;
	pmuprof_region_begin(l->t, "bench");
	return pmuprof_region_end(l->t, "bench");
}

/*
 * pair - 2 reads, timed back to back in every iteration so that the noise of
 * the ~1 us syscalls (other tenants, frequency) hits both alike; the median
 * over all iterations of the difference (robust to preemptions). `g`
 * compares with two bare read()s of a group instead of two pmuprof_read().
 */
static double paired_overhead(const struct opts *o, struct lib *l, struct bare *g)
{
	size_t n = (size_t)o->iters * (size_t)o->batches;
	int64_t *d = malloc(n * sizeof(*d));
	if (!d)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t ta = now_ns();
		op_pair(l);
		uint64_t tb = now_ns();
		if (g) {
			op_bare(g);
			op_bare(g);
		} else {
			op_read(l);
			op_read(l);
		}
		uint64_t tc = now_ns();
		d[i] = (int64_t)(tb - ta) - (int64_t)(tc - tb);
	}
	double m = median_of(d, n);
	free(d);
	return m;
}

static void row(const struct op *op, double bare)
{
	printf("| %-48s | %-5s | %8.1f | %6.2f |\n", op->what, op->path, op->median,
	       op->median / bare);
}

/* A session forced onto `path`, with its thread; false (why says it) when unusable here. */
static bool open_path(const char *path, const char *events, pmuprof_session **s, struct lib *l,
		      char *why, size_t whylen)
{
	setenv("PMUPROF_READ", path, 1);
	bool ok = pmuprof_session_open(s, events, why, whylen) == 0;
	if (ok && pmuprof_thread_attach(*s, &l->t, why, whylen) < 0) {
		pmuprof_session_close(*s);
		ok = false;
	}
	unsetenv("PMUPROF_READ");
	return ok;
}

int main(int argc, char **argv)
{
	struct opts o = { .iters = 20000, .batches = 11 };
	const char *which = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			which = argv[++i];
		else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
			o.iters = atol(argv[++i]);
		else if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc)
			o.batches = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: harness_cost [--events hw|sw] [--iters N] "
					"[--batches B]\n");
			return 2;
		}
	}
	if (o.iters < 10 || o.batches < 1 || o.batches > MAX_BATCHES) {
		fprintf(stderr, "harness_cost: --iters >= 10, 1 <= --batches <= %d\n", MAX_BATCHES);
		return 2;
	}
	struct bare g, gt;
	if (which) {
		o.hw = strcmp(which, "hw") == 0;
		if (!o.hw && strcmp(which, "sw") != 0) {
			fprintf(stderr, "harness_cost: --events hw or sw\n");
			return 2;
		}
	} else {
		/* hw where the host counts instructions, as the library's own default. */
		o.hw = open_bare(&g, true, PERF_FORMAT_GROUP) == 0;
		if (o.hw)
			close_bare(&g);
	}
	const char *events = o.hw ? "instructions:u,cycles:u" : "task-clock,page-faults,context-switches";
	if (open_bare(&g, o.hw, PERF_FORMAT_GROUP) < 0 ||
	    open_bare(&gt, o.hw, PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
					  PERF_FORMAT_TOTAL_TIME_RUNNING) < 0) {
		fprintf(stderr, "harness_cost: cannot open %s: %s\n", events, strerror(errno));
		return 1;
	}
	struct timespec ts;
	struct op ops[8] = {
		{ .what = "bare read() of the group (= gbench Snapshot)", .path = "read",
		  .fn = op_bare, .arg = &g },
		{ .what = "bare read() of the group, + enabled/running", .path = "read",
		  .fn = op_bare, .arg = &gt },
		{ .what = "clock_gettime(CLOCK_MONOTONIC)", .path = "-", .fn = op_clock, .arg = &ts },
	};
	size_t nops = 3;
	/* One path at a time beside the bare groups: both sessions and both groups at once
	 * would need 8 counters, more than a PMU of 7 (QEMU's arm64 PMUv3) has, and a session
	 * whose group got no counter cannot be read by rdpmc. The bare rows shown are the
	 * first round's. */
	const char *paths[] = { "read", "rdpmc" };
	bool usable[2] = { false, false };
	double over[2] = { 0, 0 }, over_bare[2] = { 0, 0 };
	char why[2][512] = { "", "" };
	for (int p = 0; p < 2; p++) {
		pmuprof_session *s;
		struct lib l = { 0 };
		if (!open_path(paths[p], events, &s, &l, why[p], sizeof(why[p])))
			continue;
		struct op round[5] = {
			ops[0], ops[1], ops[2],
			{ .what = "pmuprof_read", .path = paths[p], .fn = op_read, .arg = &l },
			{ .what = "pmuprof_region_begin + pmuprof_region_end", .path = paths[p],
			  .fn = op_pair, .arg = &l },
		};
		if (measure_all(&o, round, 5) < 0) {
			fprintf(stderr, "harness_cost: out of memory\n");
			return 1;
		}
		if (nops == 3)
			memcpy(ops, round, 3 * sizeof(*ops));
		ops[nops++] = round[3];
		ops[nops++] = round[4];
		over[p] = paired_overhead(&o, &l, NULL);
		over_bare[p] = paired_overhead(&o, &l, &gt);
		usable[p] = true;
		pmuprof_session_close(s);
	}
	int status = usable[0] ? 0 : 1; /* the read path works everywhere */

	printf("harness_cost: events %s; %ld calls of each, interleaved call by call; "
	       "median ns per call (clock cost subtracted)\n\n",
	       events, o.iters * o.batches);
	printf("| %-48s | %-5s | %8s | %6s |\n", "operation", "path", "ns/call", "x bare");
	printf("|%s|%s|%s|%s|\n", "--------------------------------------------------", "-------",
	       "----------", "--------");
	for (size_t k = 0; k < nops; k++)
		row(&ops[k], ops[0].median);
	printf("\n");
	for (int p = 0; p < 2; p++) {
		if (!usable[p]) {
			printf("path %s: not usable here: %s\n", paths[p], why[p]);
			continue;
		}
		printf("path %s: pair - 2 pmuprof_read = %+.1f ns (target <= +50 ns: %s); "
		       "pair - 2 bare read() = %+.1f ns (timed back to back)\n",
		       paths[p], over[p], over[p] <= 50 ? "met" : "NOT met", over_bare[p]);
	}
	close_bare(&g);
	close_bare(&gt);
	/* The automatic choice: what a harness gets with PMUPROF_READ unset. */
	pmuprof_session *as;
	pmuprof_thread *t;
	char err[512];
	if (pmuprof_session_open(&as, events, err, sizeof(err)) == 0) {
		if (pmuprof_thread_attach(as, &t, err, sizeof(err)) == 0)
			printf("automatic choice: %s\n", pmuprof_read_path(t));
		pmuprof_session_close(as);
	}
	printf("Google Benchmark: its PerfCounters::Snapshot is one read() of the group leader "
	       "(the first row); Debian's libbenchmark 1.7.1 is built without libpfm, so its "
	       "--benchmark_perf_counters is unsupported there and cannot be timed itself\n");
	return status;
}
