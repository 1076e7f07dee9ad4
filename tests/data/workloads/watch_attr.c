/*
 * watch_attr.c - do inherited hardware write watchpoints report the word that
 * was written, before and after they are moved to other words?
 *
 * Two threads write their own word of a 64-byte line a known number of times
 * per phase (thread A word 0, thread B word 1, different counts), and spin
 * between phases so they stay on their CPUs. Before the threads exist, the
 * main thread opens SLOTS write watchpoints per CPU (inherit, sample_period 1,
 * PERF_SAMPLE_IP|TID|ADDR, one ring per CPU as pmuprof c2c watch does); phase
 * p watches words p*SLOTS .. p*SLOTS+SLOTS-1 (mod 4). Between phases the
 * watchpoints move by
 *   static   not at all (words 0 .. SLOTS-1 stay watched),
 *   modify   PERF_EVENT_IOC_MODIFY_ATTRIBUTES while enabled,
 *   dme      disable, PERF_EVENT_IOC_MODIFY_ATTRIBUTES, enable (pmuprof's order),
 *   reopen   close and open again on each thread (inherit),
 *   alternate  not at all, and thread A alone writes word 1 then word 0 in
 *            turn (N each; thread B writes nothing).
 * Each phase prints the samples per (thread, sampled word) beside what was
 * written while the word was watched; exit status 1 on any difference.
 *
 *   watch_attr static|modify|dme|reopen|alternate [--slots N] [--phases N] [--writes N]
 */
#include <errno.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#define WORDS 4
#define MAX_CPUS 64
#define MAX_SLOTS 4
#define RING_PAGES 64

alignas(64) static volatile uint64_t line[8];
alignas(64) static atomic_int phase;    /* the phase the writers run; -1: exit */
alignas(64) static atomic_int done;     /* writers that finished the current phase */
static atomic_int tids[2];
static uint64_t writes[2];              /* per phase: thread A, thread B */

enum mode { STATIC, MODIFY, DME, REOPEN, ALTERNATE };
static enum mode mode;
static int nslots = 2, ncpus;
static int fds[3][MAX_CPUS][MAX_SLOTS]; /* [task][cpu][slot]: task 0 = main (inherit) */
static void *rings[MAX_CPUS];
static size_t ring_size;

static void die(const char *what)
{
	fprintf(stderr, "watch_attr: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void *writer(void *argp)
{
	int me = (int)(intptr_t)argp;
	atomic_store(&tids[me], (int)syscall(SYS_gettid));
	for (int seen = 0;;) {
		int p;
		while ((p = atomic_load(&phase)) == seen)
			; /* spin: stay on the CPU */
		if (p < 0)
			return NULL;
		seen = p;
		for (uint64_t i = 0; i < writes[me]; i++) {
			if (mode == ALTERNATE)
				line[1]++;
			line[me]++;
		}
		atomic_fetch_add(&done, 1);
	}
}

static int word_of(int p, int s)
{
	return mode == STATIC || mode == ALTERNATE ? s : (p * nslots + s) % WORDS;
}

static void attr_for(struct perf_event_attr *a, int p, int s, int disabled)
{
	memset(a, 0, sizeof(*a));
	a->type = PERF_TYPE_BREAKPOINT;
	a->size = sizeof(*a);
	a->bp_type = HW_BREAKPOINT_W;
	a->bp_len = HW_BREAKPOINT_LEN_8;
	a->bp_addr = (uint64_t)(uintptr_t)&line[word_of(p, s)];
	a->sample_period = 1;
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_ADDR;
	a->disabled = disabled;
	a->inherit = 1;
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
}

/* Opens phase p's watchpoints on tasks [0, ntasks) (pid 0 = the caller) and maps a ring per CPU. */
static void open_all(int p, int ntasks)
{
	for (int c = 0; c < ncpus; c++) {
		int leader = -1;
		for (int t = 0; t < ntasks; t++)
			for (int s = 0; s < nslots; s++) {
				struct perf_event_attr a;
				attr_for(&a, p, s, 1);
				pid_t pid = t == 0 ? 0 : atomic_load(&tids[t - 1]);
				int fd = (int)syscall(SYS_perf_event_open, &a, pid, c, -1, 0);
				if (fd < 0)
					die("perf_event_open");
				fds[t][c][s] = fd;
				if (leader < 0) {
					rings[c] = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
					if (rings[c] == MAP_FAILED)
						die("mmap");
					leader = fd;
				} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, leader) < 0) {
					die("PERF_EVENT_IOC_SET_OUTPUT");
				}
			}
	}
}

static void close_all(void)
{
	for (int c = 0; c < ncpus; c++) {
		munmap(rings[c], ring_size);
		for (int t = 0; t < 3; t++)
			for (int s = 0; s < nslots; s++)
				if (fds[t][c][s] >= 0)
					close(fds[t][c][s]);
	}
	memset(fds, -1, sizeof(fds));
}

static void ioctl_all(unsigned long req, void *arg)
{
	for (int c = 0; c < ncpus; c++)
		for (int t = 0; t < 3; t++)
			for (int s = 0; s < nslots; s++)
				if (fds[t][c][s] >= 0 && ioctl(fds[t][c][s], req, arg) < 0)
					die("ioctl");
}

static void modify_all(int p, int disabled)
{
	for (int c = 0; c < ncpus; c++)
		for (int t = 0; t < 3; t++)
			for (int s = 0; s < nslots; s++)
				if (fds[t][c][s] >= 0) {
					struct perf_event_attr a;
					attr_for(&a, p, s, disabled);
					if (ioctl(fds[t][c][s], PERF_EVENT_IOC_MODIFY_ATTRIBUTES, &a) < 0)
						die("PERF_EVENT_IOC_MODIFY_ATTRIBUTES");
				}
}

/* Counts the rings' samples into got[thread A, B, other][word 0..7, outside]. */
static void drain(uint64_t got[3][9], uint64_t *lost)
{
	long page = sysconf(_SC_PAGESIZE);
	for (int c = 0; c < ncpus; c++) {
		struct perf_event_mmap_page *m = rings[c];
		unsigned char *data = (unsigned char *)m + page;
		uint64_t size = ring_size - (size_t)page;
		uint64_t head = __atomic_load_n(&m->data_head, __ATOMIC_ACQUIRE), tail = m->data_tail;
		while (tail < head) {
			unsigned char rec[64];
			struct perf_event_header h;
			for (size_t i = 0; i < sizeof(h); i++)
				((unsigned char *)&h)[i] = data[(tail + i) % size];
			for (size_t i = 0; i < h.size && i < sizeof(rec); i++)
				rec[i] = data[(tail + i) % size];
			if (h.type == PERF_RECORD_SAMPLE) {
				uint64_t addr;
				uint32_t tid;
				memcpy(&tid, rec + sizeof(h) + 8 + 4, 4);
				memcpy(&addr, rec + sizeof(h) + 16, 8);
				int t = (int)tid == atomic_load(&tids[0]) ? 0
					: (int)tid == atomic_load(&tids[1]) ? 1 : 2;
				uint64_t off = addr - (uint64_t)(uintptr_t)line;
				got[t][off < 64 ? off / 8 : 8]++;
			} else if (h.type == PERF_RECORD_LOST) {
				uint64_t n;
				memcpy(&n, rec + sizeof(h) + 8, 8);
				*lost += n;
			}
			tail += h.size;
		}
		__atomic_store_n(&m->data_tail, tail, __ATOMIC_RELEASE);
	}
}

int main(int argc, char **argv)
{
	int phases = 8;
	uint64_t n = 3000;
	const char *ms = argc > 1 ? argv[1] : "";
	mode = !strcmp(ms, "static") ? STATIC : !strcmp(ms, "modify") ? MODIFY
	     : !strcmp(ms, "dme") ? DME : !strcmp(ms, "reopen") ? REOPEN
	     : !strcmp(ms, "alternate") ? ALTERNATE : -1;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--slots"))
			nslots = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--phases"))
			phases = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--writes"))
			n = strtoull(argv[i + 1], NULL, 10);
		else
			mode = -1;
	}
	if ((int)mode < 0 || nslots < 1 || nslots > MAX_SLOTS || phases < 1 || n < 1) {
		fprintf(stderr, "usage: watch_attr static|modify|dme|reopen|alternate "
				"[--slots 1-4] [--phases N] [--writes N]\n");
		return 2;
	}
	writes[0] = n;
	writes[1] = mode == ALTERNATE ? 0 : n + n / 2;
	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus > MAX_CPUS)
		ncpus = MAX_CPUS;
	ring_size = (RING_PAGES + 1) * (size_t)sysconf(_SC_PAGESIZE);
	memset(fds, -1, sizeof(fds));
	open_all(0, 1); /* before the threads: they inherit */
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i) != 0)
			die("pthread_create");
	while (!atomic_load(&tids[0]) || !atomic_load(&tids[1]))
		sched_yield();

	int bad = 0;
	uint64_t total_lost = 0, rotate_ns = 0;
	for (int p = 0; p < phases; p++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (p > 0) {
			switch (mode) {
			case STATIC:
			case ALTERNATE: break;
			case MODIFY: modify_all(p, 0); break;
			case DME: modify_all(p, 1); break;
			case REOPEN: close_all(); open_all(p, 3); break;
			}
		}
		if (p == 0 || mode != MODIFY)
			ioctl_all(PERF_EVENT_IOC_ENABLE, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (p > 0)
			rotate_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec);
		atomic_store(&done, 0);
		atomic_store(&phase, p + 1);
		while (atomic_load(&done) < 2)
			sched_yield();
		/* In modify mode the watchpoints stay enabled (the writers are idle now). */
		if (mode != MODIFY || p == phases - 1)
			ioctl_all(PERF_EVENT_IOC_DISABLE, NULL);
		uint64_t got[3][9] = {{0}}, lost = 0;
		drain(got, &lost);
		total_lost += lost;
		printf("phase %d watch words", p);
		uint64_t want[3][9] = {{0}};
		for (int s = 0; s < nslots; s++) {
			int w = word_of(p, s);
			printf(" %d", w);
			if (mode == ALTERNATE && w < 2)
				want[0][w] = writes[0];
			else if (w < 2)
				want[w][w] = writes[w];
		}
		printf(":");
		int diff = 0;
		for (int t = 0; t < 3; t++)
			for (int w = 0; w < 9; w++) {
				if (got[t][w] || want[t][w])
					printf(" %s@%c %llu/%llu", t == 0 ? "A" : t == 1 ? "B" : "other",
					       w == 8 ? '?' : (char)('0' + w), (unsigned long long)got[t][w],
					       (unsigned long long)want[t][w]);
				diff |= got[t][w] != want[t][w];
			}
		printf("%s%s\n", lost ? " (lost records)" : "", diff ? "  MISMATCH" : "");
		bad |= diff;
	}
	atomic_store(&phase, -1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	close_all();
	printf("%s %s slots=%d: %s (samples/writes per thread@word, ? outside; lost %llu; "
	       "%.0f us per move and enable)\n", argv[0], ms, nslots, bad ? "MISATTRIBUTED" : "exact",
	       (unsigned long long)total_lost, phases > 1 ? (double)rotate_ns / 1e3 / (phases - 1) : 0.0);
	return bad ? 1 : 0;
}
