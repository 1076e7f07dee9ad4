/*
 * Watchpoints: hardware breakpoints (PERF_TYPE_BREAKPOINT) on the 8-byte
 * words of a small range, sampled on every hit, for c2c watch.
 *
 * Owns: opening the breakpoints per (thread, CPU) with inherit, one ring per
 * CPU (the CPU's other breakpoints redirected into it with SET_OUTPUT —
 * per-task inherited events cannot be mmapped with cpu == -1), rotating the
 * words across the few debug registers window by window, and the time each
 * word was armed (to turn hit counts into rates). Pacing is the caller's.
 */
#include "sampler.h"

#include <errno.h>
#include <linux/hw_breakpoint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SCRATCH_SIZE 65536

struct smp_watch {
	struct smp_watch_options o;
	int nwords, nslots;
	struct pmu_cpus *cpus; /* online CPUs: rings[c] and maps[c] are cpus->cpu[c]'s */
	struct pmu_threads *threads;
	int *fds;               /* [slot][cpu][thread] as pmu_open_event lays out, -1: not open */
	struct smp_ring *rings; /* per CPU */
	void **maps;
	size_t map_size;
	struct perf_event_attr attr; /* template; bp_addr/bp_type set per slot */
	uint64_t window;             /* index of the current window */
	int slot_word[SMP_WATCH_SLOTS];
	bool slot_rw;
	bool armed, exec_pending, modify;
	uint64_t armed_since;
	struct smp_watch_stats st;
	unsigned char *scratch;
	struct pabi_layout layout;
};

/* Which words and which access type window `k` covers: all slots distinct when nwords >= slots. */
static void window_plan(struct smp_watch *w, uint64_t k)
{
	uint64_t g = w->o.rw ? k / 2 : k;
	w->slot_rw = w->o.rw && (k % 2) == 1;
	for (int s = 0; s < w->nslots; s++)
		w->slot_word[s] = (int)((g * (uint64_t)w->nslots + (uint64_t)s) % (uint64_t)w->nwords);
}

static void slot_attr(const struct smp_watch *w, int s, struct perf_event_attr *a)
{
	*a = w->attr;
	a->bp_addr = w->o.addr + 8u * (uint64_t)w->slot_word[s];
	a->bp_type = w->slot_rw ? HW_BREAKPOINT_RW : HW_BREAKPOINT_W;
}

static int *fd_at(struct smp_watch *w, int t, int c, int s)
{
	return &w->fds[((size_t)s * (size_t)w->cpus->n + (size_t)c) * (size_t)w->threads->n +
		       (size_t)t];
}

static size_t nfds(const struct smp_watch *w)
{
	if (!w->threads || !w->cpus)
		return 0;
	return (size_t)w->threads->n * (size_t)w->cpus->n * (size_t)w->nslots;
}

static void close_events(struct smp_watch *w)
{
	for (int c = 0; w->cpus && c < w->cpus->n && w->maps; c++) {
		if (w->maps[c])
			munmap(w->maps[c], w->map_size);
		w->maps[c] = NULL;
	}
	for (size_t i = 0; w->fds && i < nfds(w); i++) {
		if (w->fds[i] >= 0)
			close(w->fds[i]);
		w->fds[i] = -1;
	}
}

/* Maps CPU c's ring on its first open watchpoint; the CPU's others write into it. */
static int map_cpu_ring(struct smp_watch *w, int c, char *err, size_t errlen)
{
	int leader = -1;
	for (int s = 0; s < w->nslots; s++)
		for (int t = 0; t < w->threads->n; t++) {
			int fd = *fd_at(w, t, c, s);
			if (fd < 0)
				continue; /* the thread exited meanwhile */
			if (leader >= 0) {
				if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, leader) < 0)
					return base_fail(err, errlen, -errno,
							 "cannot redirect a watchpoint into CPU "
							 "%d's ring: %s",
							 w->cpus->cpu[c], strerror(errno));
				continue;
			}
			void *m =
				mmap(NULL, w->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (m == MAP_FAILED)
				return base_fail(err, errlen, -errno,
						 "cannot map the watchpoint ring of CPU %d: %s "
						 "(raise /proc/sys/kernel/perf_event_mlock_kb)",
						 w->cpus->cpu[c], strerror(errno));
			w->maps[c] = m;
			w->rings[c] = (struct smp_ring){
				.meta = m,
				.data = (unsigned char *)m + sysconf(_SC_PAGESIZE),
				.data_size = w->map_size - (size_t)sysconf(_SC_PAGESIZE),
				.fd = fd,
				.cpu = w->cpus->cpu[c],
			};
			leader = fd;
		}
	return 0;
}

/* A watchpoint as perf's event syntax names it, for messages. */
static void bp_event(const struct perf_event_attr *a, struct pmu_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->attr = *a;
	ev->group_size = 1;       /* alone: its own leader, index 0 */
	ev->priv_explicit = true; /* user space only, never widened */
	snprintf(ev->name, sizeof(ev->name), "mem:%#llx/8:%s", (unsigned long long)a->bp_addr,
		 a->bp_type == HW_BREAKPOINT_RW ? "rw" : "w");
}

/* Opens the current window's breakpoints on every (thread, CPU) and maps one ring per CPU. */
static int open_events(struct smp_watch *w, bool on_exec, char *err, size_t errlen)
{
	free(w->fds);
	w->fds = malloc(nfds(w) * sizeof(int));
	if (!w->fds)
		return base_fail(err, errlen, -ENOMEM, "out of memory for watchpoint descriptors");
	memset(w->fds, -1, nfds(w) * sizeof(int));
	int ret = 0;
	for (int s = 0; s < w->nslots && ret >= 0; s++) {
		struct perf_event_attr a;
		struct pmu_event ev;
		slot_attr(w, s, &a);
		a.enable_on_exec = on_exec;
		bp_event(&a, &ev);
		/* The breakpoint PMU is the kernel's own: no sysfs view needed to explain it. */
		ret = pmu_open_event(fd_at(w, 0, 0, s), NULL, NULL, &ev, &a, w->cpus, w->threads,
				     NULL, PMU_OPEN_SKIP_EXITED, err, errlen);
	}
	for (int c = 0; c < w->cpus->n && ret >= 0; c++)
		ret = map_cpu_ring(w, c, err, errlen);
	if (ret < 0)
		close_events(w);
	return ret < 0 ? ret : 0;
}

static int for_each_fd(struct smp_watch *w, unsigned long req)
{
	int ret = 0;
	for (size_t i = 0; i < nfds(w); i++)
		if (w->fds[i] >= 0 && ioctl(w->fds[i], req, 0) < 0 && ret == 0 && errno != ESRCH)
			ret = -errno;
	return ret;
}

int smp_watch_open(struct smp_watch **out, const struct smp_watch_options *o, char *err,
		   size_t errlen)
{
	if (o->addr % 8 || o->len == 0 || o->len % 8 || o->len > 8 * SMP_WATCH_MAX_WORDS)
		return base_fail(
			err, errlen, -EINVAL,
			"watch range 0x%llx+%u must be 8-byte aligned, a multiple of 8 bytes "
			"and at most %d bytes",
			(unsigned long long)o->addr, o->len, 8 * SMP_WATCH_MAX_WORDS);
	struct smp_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	w->o = *o;
	w->nwords = (int)(o->len / 8);
	int slots = o->slots >= 1 && o->slots <= SMP_WATCH_SLOTS ? o->slots : SMP_WATCH_SLOTS;
	w->nslots = w->nwords < slots ? w->nwords : slots;
	size_t pages = o->ring_pages ? o->ring_pages : 128; /* 512 KiB: within perf_event_mlock_kb */
	w->map_size = (pages + 1) * (size_t)sysconf(_SC_PAGESIZE);
	w->modify = !o->reopen; /* until the kernel refuses */
	int ret = pmu_cpus_online(&w->cpus, err, errlen);
	if (ret < 0)
		goto fail;
	w->rings = calloc((size_t)w->cpus->n, sizeof(*w->rings));
	w->maps = calloc((size_t)w->cpus->n, sizeof(*w->maps));
	w->scratch = malloc(SCRATCH_SIZE);
	if (!w->rings || !w->maps || !w->scratch) {
		ret = base_fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	struct perf_event_attr *a = &w->attr;
	a->type = PERF_TYPE_BREAKPOINT;
	a->size = sizeof(*a);
	a->bp_len = HW_BREAKPOINT_LEN_8;
	a->sample_period = 1; /* every hit is a sample */
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR;
	a->disabled = 1;
	a->inherit = 1; /* threads and children created later */
	a->exclude_kernel = 1; /* the kernel's own copies to user memory are not the program's */
	a->exclude_hv = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->wakeup_events = 0;
	pabi_layout_from_attr(&w->layout, a);
	window_plan(w, 0);
	if (o->enable_on_exec) {
		/* A stopped child has one thread; what it execs and spawns inherits. */
		if ((ret = pmu_threads_new(&w->threads, &o->pid, 1)) < 0) {
			ret = base_fail(err, errlen, ret, "out of memory");
			goto fail;
		}
	} else if ((ret = pmu_threads_of(&w->threads, o->pid, err, errlen)) < 0) {
		goto fail;
	}
	ret = open_events(w, o->enable_on_exec, err, errlen);
	if (ret < 0)
		goto fail;
	w->exec_pending = o->enable_on_exec;
	*out = w;
	return 0;
fail:
	smp_watch_close(w);
	return ret;
}

int smp_watch_arm(struct smp_watch *w, char *err, size_t errlen)
{
	if (w->armed)
		return 0;
	if (w->exec_pending) {
		w->exec_pending = false; /* exec enabled them: the window started then */
	} else {
		int ret = for_each_fd(w, PERF_EVENT_IOC_ENABLE);
		if (ret < 0)
			return base_fail(err, errlen, ret, "cannot enable the watchpoints: %s",
					 strerror(-ret));
	}
	w->armed = true;
	w->armed_since = base_mono_ns();
	return 0;
}

struct drain_ctx {
	struct smp_watch *w;
	int (*fn)(void *arg, const struct smp_watch_hit *h);
	void *arg;
};

static int on_record(void *argp, const struct perf_event_header *h)
{
	struct drain_ctx *d = argp;
	struct smp_watch *w = d->w;
	uint64_t id, lost;
	if (pabi_record_loss(h, &id, &lost) == 1) {
		w->st.lost += lost;
		return 0;
	}
	if (h->type != PERF_RECORD_SAMPLE)
		return 0;
	struct pabi_sample s;
	if (pabi_parse_sample(&w->layout, h, &s) < 0)
		return 0;
	if (s.addr < w->o.addr || s.addr >= w->o.addr + w->o.len)
		return 0;
	struct smp_watch_hit hit = {
		.ip = s.ip, .time = s.time, .addr = s.addr, .pid = s.pid, .tid = s.tid,
		.word = (int)((s.addr - w->o.addr) / 8), .rw = w->slot_rw,
	};
	w->st.hits++;
	return d->fn ? d->fn(d->arg, &hit) : 0;
}

/* Points the open breakpoints at the next window's words, or reopens them on every thread. */
static int rotate(struct smp_watch *w, char *err, size_t errlen)
{
	uint64_t next = w->window + 1;
	window_plan(w, next);
	if (w->nwords <= w->nslots && !w->o.rw) {
		w->window = next;
		return 0; /* every word is always watched */
	}
	/*
	 * Modify by default, as the kernel provides it for this: its samples name
	 * the written word as exactly as reopened watchpoints' do
	 * (tests/lab/test_watch_attr.py), it is cheaper (in the lab 10-46 ms
	 * against 123-136 ms per rotation of 6 events; bench/sharing's write_write
	 * ran 10.6 s watched, 103.8 s with --reopen) and forked processes stay
	 * watched.
	 */
	if (w->modify) {
		int ret = 0;
		for (int t = 0; t < w->threads->n && ret == 0; t++)
			for (int c = 0; c < w->cpus->n && ret == 0; c++)
				for (int s = 0; s < w->nslots && ret == 0; s++) {
					int fd = *fd_at(w, t, c, s);
					struct perf_event_attr a;
					slot_attr(w, s, &a);
					/* Must equal the kernel's copy, which exec cleared enable_on_exec in. */
					a.enable_on_exec = 0;
					if (fd >= 0 && ioctl(fd, PERF_EVENT_IOC_MODIFY_ATTRIBUTES, &a) < 0 &&
					    errno != ESRCH)
						ret = -errno;
				}
		if (ret == 0) {
			w->window = next;
			return 0;
		}
		/* Older kernels refuse to modify inherited events: reopen from now on. */
		w->modify = false;
	}
	close_events(w);
	pmu_threads_free(w->threads);
	w->threads = NULL;
	int ret = pmu_threads_of(&w->threads, w->o.pid, err, errlen);
	if (ret < 0)
		return ret; /* -ESRCH: the process is gone */
	ret = open_events(w, false, err, errlen);
	if (ret < 0)
		return ret;
	w->window = next;
	return 0;
}

int smp_watch_disarm(struct smp_watch *w, int (*fn)(void *arg, const struct smp_watch_hit *h),
		     void *arg, char *err, size_t errlen)
{
	if (w->armed) {
		for_each_fd(w, PERF_EVENT_IOC_DISABLE);
		uint64_t dt = base_mono_ns() - w->armed_since;
		w->st.armed_ns += dt;
		for (int s = 0; s < w->nslots; s++)
			w->st.word_ns[w->slot_word[s]][w->slot_rw] += dt;
		w->st.windows++;
		w->armed = false;
	}
	struct drain_ctx d = {w, fn, arg};
	for (int c = 0; c < w->cpus->n; c++) {
		if (!w->maps[c])
			continue;
		long r = smp_ring_read(&w->rings[c], w->scratch, on_record, &d);
		if (r < 0)
			return base_fail(err, errlen, (int)r,
					 "cannot read the watchpoint ring of CPU %d",
					 w->cpus->cpu[c]);
	}
	return rotate(w, err, errlen);
}

#define PROBE_WRITES 1000

/* A counting write watchpoint on the caller's own 8-byte word, disabled. */
static int probe_open(const volatile uint64_t *word, char *err, size_t errlen)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_W;
	a.bp_addr = (uint64_t)(uintptr_t)word;
	a.bp_len = HW_BREAKPOINT_LEN_8;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	struct pmu_event ev;
	bp_event(&a, &ev);
	int fd = -1;
	int ret = pmu_open_self(&fd, NULL, &ev, &a, NULL, 0, err, errlen);
	return ret < 0 ? ret : fd;
}

/*
 * Resets and enables fds[0..n) (watching w[0..n)), writes w[0] PROBE_WRITES
 * times (with two: w[1], then w[0], in turn, so whichever watchpoint the
 * emulator checks first, a stale flag of the other shows), disables them and
 * reads their counts.
 */
static int probe_run(const int *fds, int n, volatile uint64_t *w, uint64_t *counts, char *err,
		     size_t errlen)
{
	int ret = 0;
	for (int i = 0; i < n && ret == 0; i++)
		if (ioctl(fds[i], PERF_EVENT_IOC_RESET, 0) < 0 ||
		    ioctl(fds[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
			ret = -errno;
	for (int i = 0; i < PROBE_WRITES && ret == 0; i++) {
		if (n == 2)
			w[1] = (uint64_t)i + 1;
		w[0] = (uint64_t)i + 1;
	}
	for (int i = 0; i < n && ret == 0; i++)
		if (ioctl(fds[i], PERF_EVENT_IOC_DISABLE, 0) < 0)
			ret = -errno;
	for (int i = 0; i < n && ret == 0; i++)
		if (read(fds[i], &counts[i], sizeof(counts[i])) != (ssize_t)sizeof(counts[i]))
			ret = -EIO;
	if (ret < 0)
		return base_fail(err, errlen, ret, "cannot run the watchpoint probe: %s",
				 strerror(-ret));
	return 0;
}

int smp_watch_probe(struct smp_watch_probe *out, char *err, size_t errlen)
{
	/* Words of our own stack, written through a volatile pointer so each store happens. */
	uint64_t words[2] = {0, 0};
	volatile uint64_t *p = words;
	uint64_t counts[2] = {0, 0};
	int fds[2] = {-1, -1};
	int ret = fds[0] = probe_open(&p[0], err, errlen);
	if (ret >= 0)
		ret = probe_run(fds, 1, p, counts, err, errlen);
	if (ret >= 0 && counts[0] == 0)
		ret = base_fail(
			err, errlen, -ENOTSUP,
			"hardware watchpoints do not fire on this host (a probe watchpoint saw "
			"0 of %d writes pmuprof made to its own word; typical of VMs that do "
			"not pass debug registers through): a sharing verdict is impossible here",
			PROBE_WRITES);
	if (ret >= 0)
		ret = fds[1] = probe_open(&p[1], err, errlen);
	if (ret >= 0)
		ret = probe_run(fds, 2, p, counts, err, errlen);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (ret < 0)
		return ret;
	*out = (struct smp_watch_probe){
		.slots = counts[0] > PROBE_WRITES || counts[1] > PROBE_WRITES ? 1 : SMP_WATCH_SLOTS,
		.pair_writes = PROBE_WRITES,
		.pair_hits = {counts[0], counts[1]},
	};
	return 0;
}

void smp_watch_get_stats(const struct smp_watch *w, struct smp_watch_stats *out)
{
	*out = w->st;
	out->modify = w->modify;
	out->slots = w->nslots;
}

void smp_watch_close(struct smp_watch *w)
{
	if (!w)
		return;
	close_events(w);
	free(w->fds);
	pmu_threads_free(w->threads);
	pmu_cpus_free(w->cpus);
	free(w->rings);
	free(w->maps);
	free(w->scratch);
	free(w);
}
