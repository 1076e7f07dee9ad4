/*
 * libpmuprof: the harness API of include/pmuprof/pmuprof.h.
 *
 * Owns: sessions (an event list, the per-thread counter sets opened from it,
 * the read-path decision, the recorder's channel and control fifo), per-thread
 * counter sets (one PERF_FORMAT_GROUP group, pid=0 cpu=-1), the two read
 * paths (the perf mmap page with rdpmc, or arm64's counter registers, and
 * read() of the group leaders), regions
 * (a per-thread table and stack, accumulated under a seqcount so that a report
 * may run while threads work), the text and JSON reports, and the client side
 * of `pmuprof record --control`.
 *
 * No global mutable state: everything hangs off the session; the only shared
 * data are constants.
 */
#include "base.h"
#include "channel.h"
#include "pmu.h"

#include <pmuprof/pmuprof.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define HX_X86 1
#else
#define HX_X86 0
#endif
/* Architectures whose counters user space can read itself (the "rdpmc" path). */
#if HX_X86 || defined(__aarch64__)
#define HX_USER_READ 1
#else
#define HX_USER_READ 0
#endif

#ifndef PMUPROF_LIB_VERSION
#define PMUPROF_LIB_VERSION "unknown"
#endif

#define HX_DEFAULT_HW "instructions:u,cycles:u"
#define HX_DEFAULT_SW "task-clock,page-faults,context-switches"
#define HX_PATH_READS 200       /* reads timed per path when choosing */
#define HX_ACK_TIMEOUT_MS 1000  /* wait for the recorder's "ack\n" */
#define HX_CALIBRATE_NS 2000000 /* least TSC-vs-clock span used to convert ticks */

enum hx_path { HX_READ, HX_RDPMC };
enum hx_mode { HX_AUTO, HX_FORCE_READ, HX_FORCE_RDPMC };

/* One event's counter as the kernel gives it; scaled only when reported. */
struct hx_raw {
	uint64_t value, enabled, running;
};

/* Events [first, first + n) read together by one read() of fd. */
struct hx_group {
	int fd;
	size_t first, n;
};

struct hx_region {
	char *name;
	uint64_t hash;
	bool open; /* owner thread only */
	/*
	 * Written by the owner only, read by reports under the thread's seqcount;
	 * atomics (relaxed: plain moves on x86) only to keep that read race-free.
	 * acc holds value, enabled, running per event.
	 */
	_Atomic uint64_t calls, ticks;
	_Atomic uint64_t acc[];
};

struct hx_frame {
	struct hx_region *r;
	const char *user_name; /* the caller's pointer: end() usually passes the same one */
	uint64_t t0;
};

struct pmuprof_thread {
	struct pmuprof_session *s;
	struct pmuprof_thread *next;
	struct channel *ch; /* the session's, copied so the off case is one load and a branch */
	pid_t pid, tid; /* cached: a forked child opens its own session (see pmuprof.h) */
	int index;
	_Atomic bool live; /* cleared by detach; reports read it (atomic: plain loads on x86) */
	enum hx_path path;
	size_t nev;
	int *fds;
	struct perf_event_mmap_page **pages; /* rdpmc path only */
	size_t page_size;
	struct hx_group *groups;
	size_t ngroups;
	uint64_t *rbuf; /* read() buffer: nr, enabled, running, values[] */
	size_t rbuf_words;
	struct hx_raw *now;   /* scratch for end() and pmuprof_read() */
	struct hx_raw *begin; /* PMUPROF_MAX_DEPTH * nev: counts at each open begin() */
	struct hx_frame stack[PMUPROF_MAX_DEPTH];
	int depth;
	/* Region table: grown by the owner under lock, which reports also take. */
	pthread_mutex_t lock;
	struct hx_region **regions;
	size_t nregions, cap;
	uint32_t *slots; /* open addressing on name hash: region index + 1, 0 = empty */
	size_t nslots;
	_Atomic uint32_t seq; /* odd while the owner updates a region's sums */
	_Atomic uint64_t implicit_ends;
	char err[256];
};

struct pmuprof_session {
	pthread_mutex_t lock; /* threads list, read-path decision, control fifos */
	struct pmu_ctx *ctx;
	struct pmu_event_list events; /* as finally opened: privilege and grouping fallbacks */
	enum hx_mode mode;
	struct channel *ch;
	/* control fifo client */
	char ctl_path[PATH_MAX], ack_path[PATH_MAX];
	int ctl_fd, ack_fd;
	/* threads, in attach order */
	struct pmuprof_thread *threads, **tail;
	int nthreads;
	/* read-path decision, made by the first attach */
	bool decided;
	enum hx_path path;
	char path_note[320];
	char notice[320];
	/* wall clock: TSC ticks when the kernel trusts the TSC, else ns */
	bool use_tsc;
	uint64_t tick0, ns0;
};

static const uint8_t hx_zero_trace[16], hx_zero_span[8];

/* --- small helpers ------------------------------------------------------- */

#if HX_X86
static inline uint64_t hx_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

/* The counter the perf page's time_* fields scale: the TSC. */
static inline uint64_t hx_time_counter(void)
{
	return hx_rdtsc();
}

/* Counter index-1 of the perf page. */
static inline uint64_t hx_rdpmc(uint32_t counter)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdpmc" : "=a"(lo), "=d"(hi) : "c"(counter));
	return lo | (uint64_t)hi << 32;
}

/* x86 keeps loads in order: the seqlock loop needs only the compiler's barrier. */
#define HX_READ_BARRIER() __asm__ __volatile__("" ::: "memory")
#elif defined(__aarch64__)
/* The counter the perf page's time_* fields scale on arm64: the virtual timer's. */
static inline uint64_t hx_time_counter(void)
{
	uint64_t v;
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}

/*
 * Counter index-1 of the perf page (the kernel numbers the cycle counter 31,
 * event counter n as n): PMCCNTR_EL0, else PMEVCNTR<n>_EL0 selected through
 * PMSELR_EL0. EL0 may read them while the task has a mapped event opened
 * with config1 bit 1 and kernel.perf_user_access is 1; a preemption between
 * select and read changes the page's lock, so the seqlock loop retries.
 */
static inline uint64_t hx_rdpmc(uint32_t counter)
{
	uint64_t v;
	if (counter == 31) {
		__asm__ __volatile__("mrs %0, pmccntr_el0" : "=r"(v) : : "memory");
		return v;
	}
	__asm__ __volatile__("msr pmselr_el0, %1\n\tisb\n\tmrs %0, pmxevcntr_el0"
			     : "=r"(v) : "r"((uint64_t)counter) : "memory");
	return v;
}

/* Loads may pass each other on arm64: order the page's fields against its lock. */
#define HX_READ_BARRIER() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif

/* Region wall time: rdtsc (~10 ns) instead of clock_gettime (~30 ns) where it is safe. */
static inline uint64_t hx_ticks(const struct pmuprof_session *s)
{
#if HX_X86
	if (s->use_tsc)
		return hx_rdtsc();
#endif
	(void)s;
	return base_mono_ns();
}

/*
 * The TSC is a wall clock across CPUs only when it is invariant and the
 * kernel found it synchronised, i.e. uses it as its clocksource.
 */
static bool tsc_usable(void)
{
#if HX_X86
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return false;
	char buf[32] = "";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) && strncmp(buf, "tsc", 3) == 0 &&
		  (buf[3] == '\n' || buf[3] == 0);
	fclose(f);
	return ok;
#else
	return false;
#endif
}

/* ns per tick, from the span since the session opened (at least HX_CALIBRATE_NS). */
static double ns_per_tick(const struct pmuprof_session *s)
{
	if (!s->use_tsc)
		return 1.0;
	uint64_t ns, tick;
	do {
		tick = hx_ticks(s);
		ns = base_mono_ns();
	} while (ns - s->ns0 < HX_CALIBRATE_NS);
	return tick > s->tick0 ? (double)(ns - s->ns0) / (double)(tick - s->tick0) : 1.0;
}

static int tfail(pmuprof_thread *t, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int tfail(pmuprof_thread *t, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return ret;
}

static uint64_t hash_name(const char *name)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static double scale_raw(const struct hx_raw *r)
{
	struct pmu_count c = { .value = r->value, .enabled = r->enabled, .running = r->running };
	return pmu_count_scaled(&c);
}

/* --- opening counters ---------------------------------------------------- */

static bool is_leader(const struct pmu_event_list *evs, size_t i)
{
	return (size_t)evs->ev[i].leader == i;
}

/*
 * Opens every event on the calling thread into fds[], leaders disabled, then
 * enables the groups. With `adjust` (the session's trial open) a refused
 * kernel-mode count is retried user-only, as perf does, and kept in `evs`.
 */
static int open_events(const struct pmu_ctx *ctx, struct pmu_event_list *evs, int *fds,
		       bool adjust, char *err, size_t errlen)
{
	for (size_t i = 0; i < evs->n; i++)
		fds[i] = -1;
	int ret = 0;
	for (size_t i = 0; i < evs->n && ret >= 0; i++) {
		struct pmu_event *ev = &evs->ev[i];
		struct perf_event_attr attr = ev->attr;
		attr.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
				   PERF_FORMAT_TOTAL_TIME_RUNNING;
		attr.disabled = is_leader(evs, i);
		attr.inherit = 0;
		attr.enable_on_exec = 0;
		attr.sample_period = 0; /* counting only, whatever the string asked */
		attr.freq = 0;
		attr.sample_type = 0;
#if defined(__aarch64__)
		/*
		 * arm64 (Linux 5.17+): config1 bit 1 asks for user-space reads of the
		 * counter, granted when kernel.perf_user_access is 1. Only CPU PMUs
		 * take these per-task events, and the software ones ignore config1.
		 */
		if (attr.type != PERF_TYPE_SOFTWARE && attr.type != PERF_TYPE_TRACEPOINT &&
		    attr.type != PERF_TYPE_BREAKPOINT)
			attr.config1 |= 2;
#endif
		ret = pmu_open_self(&fds[i], ctx, ev, &attr,
				    is_leader(evs, i) ? NULL : &fds[ev->leader],
				    adjust ? PMU_OPEN_USER_FALLBACK : 0, err, errlen);
	}
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < evs->n; i++)
		if (is_leader(evs, i) && ioctl(fds[i], PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) < 0)
			return base_fail(err, errlen, -errno,
					 "cannot enable the counters of '%s': %s", evs->ev[i].name,
					 strerror(errno));
	return 0;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/*
 * Puts all events in one group when the caller wrote no group, so that one
 * read() returns them all, and checks they open here; when the PMU cannot
 * hold them together they go back to one group each (multiplexed, scaled).
 */
static int trial_open(pmuprof_session *s, char *err, size_t errlen)
{
	struct pmu_event_list *evs = &s->events;
	int *fds = malloc(evs->n * sizeof(int));
	if (!fds)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	bool explicit_groups = false;
	for (size_t i = 0; i < evs->n; i++)
		explicit_groups |= evs->ev[i].group_size > 1;
	int ret;
	if (!explicit_groups && evs->n > 1) {
		for (size_t i = 0; i < evs->n; i++) {
			evs->ev[i].leader = 0;
			evs->ev[i].group_size = i == 0 ? (int)evs->n : 1;
		}
		ret = open_events(s->ctx, evs, fds, true, err, errlen);
		close_fds(fds, evs->n);
		if (ret == -EINVAL || ret == -ENOSPC) {
			for (size_t i = 0; i < evs->n; i++) {
				evs->ev[i].leader = (int)i;
				evs->ev[i].group_size = 1;
			}
			snprintf(s->notice, sizeof(s->notice),
				 "the PMU cannot count these %zu events in one group: they are "
				 "counted separately, multiplexed, and their counts scaled",
				 evs->n);
			ret = open_events(s->ctx, evs, fds, true, err, errlen);
			close_fds(fds, evs->n);
		}
	} else {
		ret = open_events(s->ctx, evs, fds, true, err, errlen);
		close_fds(fds, evs->n);
	}
	free(fds);
	return ret;
}

/* --- read paths ---------------------------------------------------------- */

static int read_groups(pmuprof_thread *t, struct hx_raw *out)
{
	for (size_t g = 0; g < t->ngroups; g++) {
		const struct hx_group *gr = &t->groups[g];
		size_t want = (3 + gr->n) * sizeof(uint64_t);
		ssize_t got = read(gr->fd, t->rbuf, want);
		if (got != (ssize_t)want)
			return tfail(t, got < 0 ? -errno : -EIO, "cannot read counter '%s': %s",
				     t->s->events.ev[gr->first].name,
				     got < 0 ? strerror(errno) : "short read");
		for (size_t k = 0; k < gr->n; k++) {
			out[gr->first + k].value = t->rbuf[3 + k];
			out[gr->first + k].enabled = t->rbuf[1];
			out[gr->first + k].running = t->rbuf[2];
		}
	}
	return 0;
}

#if HX_USER_READ
/*
 * The perf mmap page's self-monitoring protocol (linux/perf_event.h): retry
 * while the kernel updates the page (lock changes); count = offset + the
 * sign-extended counter when the event is on one (index != 0); times
 * extrapolated from the time counter (TSC, CNTVCT_EL0) with
 * time_shift/mult/offset.
 */
static inline void read_page(const volatile struct perf_event_mmap_page *pc, struct hx_raw *out,
			     uint32_t *index)
{
	struct pmu_page_snap snap = {0};
	uint32_t seq;
	do {
		seq = pc->lock;
		HX_READ_BARRIER();
		snap.enabled = pc->time_enabled;
		snap.running = pc->time_running;
		snap.user_time = pc->cap_user_time;
		snap.user_time_short = false;
		if (snap.user_time) {
			snap.tsc = hx_time_counter();
			snap.time_offset = pc->time_offset;
			snap.time_mult = pc->time_mult;
			snap.time_shift = pc->time_shift;
			snap.user_time_short = pc->cap_user_time_short;
			if (snap.user_time_short) {
				snap.time_cycles = pc->time_cycles;
				snap.time_mask = pc->time_mask;
			}
		}
		snap.index = pc->index;
		snap.offset = pc->offset;
		snap.user_rdpmc = pc->cap_user_rdpmc;
		if (snap.user_rdpmc && snap.index) {
			snap.pmc_width = pc->pmc_width;
			snap.pmc = hx_rdpmc(snap.index - 1);
		}
		HX_READ_BARRIER();
	} while (pc->lock != seq);
	pmu_page_compute(&snap, &out->value, &out->enabled, &out->running);
	*index = snap.index;
}

static int read_rdpmc(pmuprof_thread *t, struct hx_raw *out)
{
	uint32_t idx;
	for (size_t i = 0; i < t->nev; i++)
		read_page(t->pages[i], &out[i], &idx);
	return 0;
}
#endif

static inline int read_raw(pmuprof_thread *t, struct hx_raw *out)
{
#if HX_USER_READ
	if (t->path == HX_RDPMC)
		return read_rdpmc(t, out);
#endif
	return read_groups(t, out);
}

static void unmap_pages(pmuprof_thread *t)
{
	if (!t->pages)
		return;
	for (size_t i = 0; i < t->nev; i++)
		if (t->pages[i])
			munmap(t->pages[i], t->page_size);
	free(t->pages);
	t->pages = NULL;
}

#if defined(__aarch64__)
/* kernel.perf_user_access: 1 lets EL0 read the counters of its own events (Linux 5.17+). */
static bool user_access_allowed(void)
{
	char buf[8] = "";
	FILE *f = fopen("/proc/sys/kernel/perf_user_access", "re");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) && buf[0] == '1';
	fclose(f);
	return ok;
}
#endif

/*
 * Whether rdpmc can read every event of t: x86 or arm64, a hardware event, a
 * mapped page that allows user reads, and a counter index seen while counting
 * (a group the PMU cannot schedule never gets one). Maps the pages; `why`
 * says no.
 */
static bool rdpmc_usable(pmuprof_thread *t, char *why, size_t whylen)
{
#if HX_USER_READ
	const struct pmu_event_list *evs = &t->s->events;
	for (size_t i = 0; i < t->nev; i++) {
		uint32_t type = evs->ev[i].attr.type;
		if (type == PERF_TYPE_SOFTWARE || type == PERF_TYPE_TRACEPOINT ||
		    type == PERF_TYPE_BREAKPOINT) {
			snprintf(why, whylen,
				 "'%s' is a software event: the kernel counts it, there is no "
				 "hardware counter for rdpmc to read (its perf mmap page has "
				 "index 0)",
				 evs->ev[i].name);
			return false;
		}
	}
	t->page_size = (size_t)sysconf(_SC_PAGESIZE);
	t->pages = calloc(t->nev, sizeof(*t->pages));
	if (!t->pages) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	for (size_t i = 0; i < t->nev; i++) {
		void *p = mmap(NULL, t->page_size, PROT_READ, MAP_SHARED, t->fds[i], 0);
		if (p == MAP_FAILED) {
			snprintf(why, whylen,
				 "cannot map the perf page of '%s': %s (perf_event_mlock_kb and "
				 "RLIMIT_MEMLOCK limit it)",
				 evs->ev[i].name, strerror(errno));
			return false;
		}
		t->pages[i] = p;
		if (!t->pages[i]->cap_user_rdpmc) {
			snprintf(why, whylen,
				 "the kernel does not allow rdpmc for '%s' (cap_user_rdpmc is 0: "
				 "see %s)",
				 evs->ev[i].name,
				 HX_X86 ? "/sys/bus/event_source/devices/cpu/rdpmc"
					: "/proc/sys/kernel/perf_user_access (1 allows it; Linux 5.17+)");
			return false;
		}
	}
	for (size_t i = 0; i < t->nev; i++) {
		bool seen = false;
		for (int k = 0; k < HX_PATH_READS && !seen; k++) {
			struct hx_raw r;
			uint32_t idx;
			read_page(t->pages[i], &r, &idx);
			seen = idx != 0;
		}
		if (!seen) {
#if defined(__aarch64__)
			/* arm64 sets cap_user_rdpmc but hides the index unless this is 1. */
			if (!user_access_allowed()) {
				snprintf(why, whylen,
					 "the kernel does not let user space read '%s' "
					 "(/proc/sys/kernel/perf_user_access is 0; 1 allows it)",
					 evs->ev[i].name);
				return false;
			}
#endif
			snprintf(why, whylen,
				 "'%s' never got a hardware counter (index 0): the PMU cannot "
				 "schedule its group",
				 evs->ev[i].name);
			return false;
		}
	}
	return true;
#else
	(void)t;
	snprintf(why, whylen, "user-space counter reads exist only on x86 and arm64");
	return false;
#endif
}

/* ns per read on the current path, from HX_PATH_READS reads after a warm-up. */
static double time_path(pmuprof_thread *t)
{
	for (int i = 0; i < 10; i++)
		read_raw(t, t->now);
	uint64_t t0 = base_mono_ns();
	for (int i = 0; i < HX_PATH_READS; i++)
		read_raw(t, t->now);
	return (double)(base_mono_ns() - t0) / HX_PATH_READS;
}

/* Sets t->path. Called with the session lock held: the first attach decides for all. */
static int choose_path(pmuprof_thread *t, char *err, size_t errlen)
{
	pmuprof_session *s = t->s;
	char why[256] = "";
	switch (s->mode) {
	case HX_FORCE_READ:
		t->path = HX_READ;
		if (!s->decided)
			snprintf(s->path_note, sizeof(s->path_note), "forced by PMUPROF_READ=read");
		break;
	case HX_FORCE_RDPMC:
		if (!rdpmc_usable(t, why, sizeof(why)))
			return base_fail(err, errlen, -EOPNOTSUPP,
					 "PMUPROF_READ=rdpmc, but rdpmc cannot read the counters: "
					 "%s; use PMUPROF_READ=read or unset it",
					 why);
		t->path = HX_RDPMC;
		if (!s->decided)
			snprintf(s->path_note, sizeof(s->path_note), "forced by PMUPROF_READ=rdpmc");
		break;
	case HX_AUTO:
		if (s->decided && s->path == HX_READ) {
			t->path = HX_READ; /* no need to map pages */
			break;
		}
		if (!rdpmc_usable(t, why, sizeof(why))) {
			t->path = HX_READ;
			if (!s->decided)
				snprintf(s->path_note, sizeof(s->path_note), "auto: rdpmc unusable: %s",
					 why);
			break;
		}
		if (s->decided) {
			t->path = s->path;
			break;
		}
		t->path = HX_RDPMC;
		double rdpmc_ns = time_path(t);
		t->path = HX_READ;
		double read_ns = time_path(t);
		t->path = rdpmc_ns < read_ns ? HX_RDPMC : HX_READ;
		snprintf(s->path_note, sizeof(s->path_note),
			 "auto: rdpmc %.0f ns vs read() %.0f ns per read, timed at attach", rdpmc_ns,
			 read_ns);
		break;
	}
	if (!s->decided) {
		s->decided = true;
		s->path = t->path;
	}
	if (t->path == HX_READ)
		unmap_pages(t);
	return 0;
}

/* --- sessions ------------------------------------------------------------ */

const char *pmuprof_version(void)
{
	return PMUPROF_LIB_VERSION;
}

static int parse_control_env(pmuprof_session *s, char *err, size_t errlen)
{
	const char *v = getenv("PMUPROF_CONTROL_FIFO");
	if (!v || !*v)
		return 0;
	if (strncmp(v, "fifo:", 5) == 0) /* perf's spelling of --control */
		v += 5;
	const char *comma = strchr(v, ',');
	size_t n = comma ? (size_t)(comma - v) : strlen(v);
	if (n == 0 || n >= sizeof(s->ctl_path) || (comma && strlen(comma + 1) >= sizeof(s->ack_path)))
		return base_fail(err, errlen, -EINVAL,
				 "PMUPROF_CONTROL_FIFO='%s': expected CTLPATH or CTLPATH,ACKPATH",
				 v);
	memcpy(s->ctl_path, v, n);
	s->ctl_path[n] = 0;
	if (comma)
		snprintf(s->ack_path, sizeof(s->ack_path), "%s", comma + 1);
	return 0;
}

/*
 * The default events: HX_DEFAULT_HW as far as this host's PMU counts them
 * (QEMU's arm64 PMU has cycles but no instructions without -icount), the
 * notice naming those it lacks; HX_DEFAULT_SW when it counts none of them.
 */
static int default_events(pmuprof_session *s, char *err, size_t errlen)
{
	char lacks[128];
	int ret = pmu_parse_events(s->ctx, HX_DEFAULT_HW, &s->events, err, errlen);
	if (ret < 0 || pmu_events_keep_countable(&s->events, lacks, sizeof(lacks)) == 0) {
		pmu_event_list_free(&s->events);
		snprintf(s->notice, sizeof(s->notice),
			 "this host exposes no hardware counters: counting the software "
			 "events " HX_DEFAULT_SW " instead");
		return pmu_parse_events(s->ctx, HX_DEFAULT_SW, &s->events, err, errlen);
	}
	if (lacks[0])
		snprintf(s->notice, sizeof(s->notice),
			 "this host's PMU has no %s: counting the other default events", lacks);
	return 0;
}

int pmuprof_session_open(pmuprof_session **out, const char *events, char *err, size_t errlen)
{
	if (!out)
		return base_fail(err, errlen, -EINVAL, "pmuprof_session_open: out is NULL");
	*out = NULL;
	pmuprof_session *s = calloc(1, sizeof(*s));
	if (!s)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->tail = &s->threads;
	s->ctl_fd = s->ack_fd = -1;
	int ret;

	const char *mode = getenv("PMUPROF_READ");
	if (!mode || !*mode || strcmp(mode, "auto") == 0) {
		s->mode = HX_AUTO;
	} else if (strcmp(mode, "rdpmc") == 0) {
		s->mode = HX_FORCE_RDPMC;
	} else if (strcmp(mode, "read") == 0) {
		s->mode = HX_FORCE_READ;
	} else {
		ret = base_fail(err, errlen, -EINVAL,
				"PMUPROF_READ='%s': expected rdpmc, read or auto", mode);
		goto fail;
	}
	if ((ret = parse_control_env(s, err, errlen)) < 0)
		goto fail;
	if ((ret = pmu_ctx_new(&s->ctx, NULL, err, errlen)) < 0)
		goto fail;

	const char *spec = events;
	if (!spec)
		spec = getenv("PMUPROF_EVENTS");
	if (spec && *spec)
		ret = pmu_parse_events(s->ctx, spec, &s->events, err, errlen);
	else
		ret = default_events(s, err, errlen);
	if (ret < 0)
		goto fail;
	if (s->events.n == 0) {
		ret = base_fail(err, errlen, -EINVAL, "no events given to count");
		goto fail;
	}
	if ((ret = trial_open(s, err, errlen)) < 0)
		goto fail;

	s->ch = channel_attach_env();
	s->use_tsc = tsc_usable();
	s->ns0 = base_mono_ns();
	s->tick0 = hx_ticks(s);
	*out = s;
	return 0;
fail:
	pmu_event_list_free(&s->events);
	pmu_ctx_free(s->ctx);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

size_t pmuprof_session_nevents(const pmuprof_session *s)
{
	return s->events.n;
}

const char *pmuprof_session_event_name(const pmuprof_session *s, size_t i)
{
	return i < s->events.n ? s->events.ev[i].name : NULL;
}

/* --- threads ------------------------------------------------------------- */

static void thread_free(pmuprof_thread *t)
{
	if (t->fds)
		close_fds(t->fds, t->nev);
	unmap_pages(t);
	for (size_t i = 0; i < t->nregions; i++) {
		free(t->regions[i]->name);
		free(t->regions[i]);
	}
	free(t->regions);
	free(t->slots);
	free(t->fds);
	free(t->groups);
	free(t->rbuf);
	free(t->now);
	free(t->begin);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int pmuprof_thread_attach(pmuprof_session *s, pmuprof_thread **out, char *err, size_t errlen)
{
	if (!s || !out)
		return base_fail(err, errlen, -EINVAL, "pmuprof_thread_attach: NULL argument");
	*out = NULL;
	pmuprof_thread *t = calloc(1, sizeof(*t));
	if (!t)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	pthread_mutex_init(&t->lock, NULL);
	const struct pmu_event_list *evs = &s->events;
	t->s = s;
	t->ch = s->ch;
	t->pid = getpid();
	t->tid = gettid();
	t->nev = evs->n;
	size_t maxgroup = 1;
	for (size_t i = 0; i < evs->n; i++) {
		if (is_leader(evs, i))
			t->ngroups++;
		if ((size_t)evs->ev[i].group_size > maxgroup)
			maxgroup = (size_t)evs->ev[i].group_size;
	}
	t->rbuf_words = 3 + maxgroup;
	t->fds = malloc(t->nev * sizeof(int));
	t->groups = calloc(t->ngroups, sizeof(*t->groups));
	t->rbuf = calloc(t->rbuf_words, sizeof(uint64_t));
	t->now = calloc(t->nev, sizeof(*t->now));
	t->begin = calloc((size_t)PMUPROF_MAX_DEPTH * t->nev, sizeof(*t->begin));
	if (!t->fds || !t->groups || !t->rbuf || !t->now || !t->begin) {
		thread_free(t);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < t->nev; i++)
		t->fds[i] = -1;
	int ret = open_events(s->ctx, &s->events, t->fds, false, err, errlen);
	if (ret < 0) {
		thread_free(t);
		return ret;
	}
	for (size_t i = 0, g = 0; i < evs->n; i++)
		if (is_leader(evs, i))
			t->groups[g++] = (struct hx_group){ .fd = t->fds[i], .first = i,
							    .n = (size_t)evs->ev[i].group_size };
	pthread_mutex_lock(&s->lock);
	ret = choose_path(t, err, errlen);
	if (ret == 0) {
		t->index = s->nthreads++;
		*s->tail = t;
		s->tail = &t->next;
		t->live = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (ret < 0) {
		thread_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

const char *pmuprof_read_path(const pmuprof_thread *t)
{
	return t->path == HX_RDPMC ? "rdpmc" : "read";
}

const char *pmuprof_thread_error(const pmuprof_thread *t)
{
	return t->err;
}

int pmuprof_read(pmuprof_thread *t, uint64_t *values)
{
	if (!atomic_load_explicit(&t->live, memory_order_relaxed))
		return tfail(t, -EBADF, "pmuprof_read: the thread is detached");
	int ret = read_raw(t, t->now);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < t->nev; i++)
		values[i] = (uint64_t)(scale_raw(&t->now[i]) + 0.5);
	return 0;
}

/* --- regions ------------------------------------------------------------- */

static struct hx_region *find_region(const pmuprof_thread *t, const char *name, uint64_t h)
{
	if (!t->nslots)
		return NULL;
	for (size_t i = h & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
		uint32_t slot = t->slots[i];
		if (!slot)
			return NULL;
		struct hx_region *r = t->regions[slot - 1];
		if (r->hash == h && strcmp(r->name, name) == 0)
			return r;
	}
}

static void slot_insert(uint32_t *slots, size_t nslots, uint64_t h, uint32_t value)
{
	size_t i = h & (nslots - 1);
	while (slots[i])
		i = (i + 1) & (nslots - 1);
	slots[i] = value;
}

/* New region (the slow path: first begin of a name on this thread). */
static struct hx_region *add_region(pmuprof_thread *t, const char *name, uint64_t h)
{
	struct hx_region *r = calloc(1, sizeof(*r) + 3 * t->nev * sizeof(r->acc[0]));
	char *copy = strdup(name);
	if (!r || !copy) {
		free(r);
		free(copy);
		return NULL;
	}
	r->name = copy;
	r->hash = h;
	pthread_mutex_lock(&t->lock);
	if (t->nregions == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct hx_region **regions = realloc(t->regions, cap * sizeof(*regions));
		uint32_t *slots = calloc(2 * cap, sizeof(*slots));
		if (!regions || !slots) {
			if (regions)
				t->regions = regions;
			free(slots);
			pthread_mutex_unlock(&t->lock);
			free(r->name);
			free(r);
			return NULL;
		}
		for (size_t i = 0; i < t->nregions; i++)
			slot_insert(slots, 2 * cap, regions[i]->hash, (uint32_t)i + 1);
		free(t->slots);
		t->regions = regions;
		t->slots = slots;
		t->cap = cap;
		t->nslots = 2 * cap;
	}
	t->regions[t->nregions] = r;
	slot_insert(t->slots, t->nslots, h, (uint32_t)t->nregions + 1);
	t->nregions++;
	pthread_mutex_unlock(&t->lock);
	return r;
}

int pmuprof_region_begin(pmuprof_thread *t, const char *name)
{
	if (!atomic_load_explicit(&t->live, memory_order_relaxed))
		return tfail(t, -EBADF, "pmuprof_region_begin: the thread is detached");
	if (!name)
		return tfail(t, -EINVAL, "pmuprof_region_begin: the region name is NULL");
	if (t->depth == PMUPROF_MAX_DEPTH)
		return tfail(t, -E2BIG, "region '%s': regions nest at most %d deep", name,
			     PMUPROF_MAX_DEPTH);
	uint64_t h = hash_name(name);
	struct hx_region *r = find_region(t, name, h);
	if (!r && !(r = add_region(t, name, h)))
		return tfail(t, -ENOMEM, "region '%s': out of memory", name);
	if (r->open)
		return tfail(t, -EBUSY, "region '%s' is already open on this thread", name);
	if (t->ch)
		channel_write_as(t->ch, t->pid, t->tid, CHANNEL_REGION_BEGIN, name, hx_zero_trace,
				 hx_zero_span);
	struct hx_frame *f = &t->stack[t->depth];
	int ret = read_raw(t, t->begin + (size_t)t->depth * t->nev);
	if (ret < 0)
		return ret;
	f->t0 = hx_ticks(t->s); /* last: the region's time starts after the read */
	f->r = r;
	f->user_name = name;
	r->open = true;
	t->depth++;
	return 0;
}

static inline void acc_add(_Atomic uint64_t *p, uint64_t d)
{
	/* Single writer: a relaxed load and store, not a locked read-modify-write. */
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

int pmuprof_region_end(pmuprof_thread *t, const char *name)
{
	uint64_t t1 = hx_ticks(t->s); /* first: the region's time ends before the read */
	if (!atomic_load_explicit(&t->live, memory_order_relaxed))
		return tfail(t, -EBADF, "pmuprof_region_end: the thread is detached");
	int ret = read_raw(t, t->now);
	if (t->depth == 0)
		return tfail(t, -EINVAL, "pmuprof_region_end('%s'): no region is open on this thread",
			     name ? name : "(null)");
	struct hx_frame *f = &t->stack[t->depth - 1];
	struct hx_region *r = f->r;
	if (!name || (name != f->user_name && strcmp(name, r->name) != 0))
		return tfail(t, -EINVAL,
			     "pmuprof_region_end('%s'): the innermost open region is '%s' "
			     "(regions must nest)",
			     name ? name : "(null)", r->name);
	t->depth--;
	r->open = false;
	if (ret < 0)
		return ret; /* the call is dropped, not half counted */
	const struct hx_raw *b = t->begin + (size_t)t->depth * t->nev;
	uint32_t seq = atomic_load_explicit(&t->seq, memory_order_relaxed);
	atomic_store_explicit(&t->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	acc_add(&r->calls, 1);
	acc_add(&r->ticks, t1 - f->t0);
	for (size_t i = 0; i < t->nev; i++) {
		acc_add(&r->acc[3 * i], t->now[i].value - b[i].value);
		acc_add(&r->acc[3 * i + 1], t->now[i].enabled - b[i].enabled);
		acc_add(&r->acc[3 * i + 2], t->now[i].running - b[i].running);
	}
	atomic_store_explicit(&t->seq, seq + 2, memory_order_release);
	if (t->ch)
		channel_write_as(t->ch, t->pid, t->tid, CHANNEL_REGION_END, r->name, hx_zero_trace,
				 hx_zero_span);
	return 0;
}

int pmuprof_set_trace_context(pmuprof_thread *t, const uint8_t trace_id[16],
			      const uint8_t span_id[8])
{
	if (t->ch)
		channel_write_as(t->ch, t->pid, t->tid, CHANNEL_TRACE, "",
				 trace_id ? trace_id : hx_zero_trace,
				 span_id ? span_id : hx_zero_span);
	return 0;
}

int pmuprof_thread_detach(pmuprof_thread *t)
{
	if (!atomic_load_explicit(&t->live, memory_order_relaxed))
		return tfail(t, -EBADF, "pmuprof_thread_detach: the thread is already detached");
	while (t->depth > 0) {
		const char *name = t->stack[t->depth - 1].r->name;
		if (pmuprof_region_end(t, name) < 0) {
			t->depth--; /* counters unreadable: drop it, keep ending the rest */
			t->stack[t->depth].r->open = false;
		}
		t->implicit_ends++;
	}
	pthread_mutex_lock(&t->lock);
	t->live = false;
	close_fds(t->fds, t->nev);
	unmap_pages(t);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* --- reports ------------------------------------------------------------- */

/* One region on one thread, copied out of the live table. */
struct hx_row {
	const char *name; /* the region's copy: lives until the session closes */
	const pmuprof_thread *t;
	uint64_t calls;
	double time_ns;
	struct hx_raw *acc; /* nev */
};

/* Regions summed over threads, in order of first appearance. */
struct hx_sum {
	const char *name;
	uint32_t threads;
	uint64_t calls;
	double time_ns;
	double *counts;              /* nev: sum of per-thread scaled counts */
	uint64_t *enabled, *running; /* nev: for the share of time each event was counted */
};

struct hx_snapshot {
	size_t nev;
	struct hx_row *rows;
	size_t nrows, rows_cap;
	struct hx_sum *sums;
	size_t nsums;
};

static void snapshot_free(struct hx_snapshot *sn)
{
	for (size_t i = 0; i < sn->nrows; i++)
		free(sn->rows[i].acc);
	for (size_t i = 0; i < sn->nsums; i++) {
		free(sn->sums[i].counts);
		free(sn->sums[i].enabled);
		free(sn->sums[i].running);
	}
	free(sn->sums);
	free(sn->rows);
	memset(sn, 0, sizeof(*sn));
}

/* Copies one region's sums consistently (retries while the owner is mid-update). */
static void copy_region(pmuprof_thread *t, struct hx_region *r, size_t nev, uint64_t *calls,
			uint64_t *ticks, struct hx_raw *acc)
{
	for (;;) {
		uint32_t s1 = atomic_load_explicit(&t->seq, memory_order_acquire);
		if (s1 & 1) {
			sched_yield();
			continue;
		}
		*calls = atomic_load_explicit(&r->calls, memory_order_relaxed);
		*ticks = atomic_load_explicit(&r->ticks, memory_order_relaxed);
		for (size_t i = 0; i < nev; i++) {
			acc[i].value = atomic_load_explicit(&r->acc[3 * i], memory_order_relaxed);
			acc[i].enabled = atomic_load_explicit(&r->acc[3 * i + 1], memory_order_relaxed);
			acc[i].running = atomic_load_explicit(&r->acc[3 * i + 2], memory_order_relaxed);
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&t->seq, memory_order_relaxed) == s1)
			return;
	}
}

static int add_row(struct hx_snapshot *sn, pmuprof_thread *t, struct hx_region *r, double npt)
{
	if (sn->nrows == sn->rows_cap) {
		size_t cap = sn->rows_cap ? 2 * sn->rows_cap : 32;
		struct hx_row *rows = realloc(sn->rows, cap * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		sn->rows = rows;
		sn->rows_cap = cap;
	}
	struct hx_raw *acc = calloc(sn->nev, sizeof(*acc));
	if (!acc)
		return -ENOMEM;
	uint64_t calls, ticks;
	copy_region(t, r, sn->nev, &calls, &ticks, acc);
	if (calls == 0) { /* begun, never ended yet */
		free(acc);
		return 0;
	}
	sn->rows[sn->nrows++] = (struct hx_row){ .name = r->name, .t = t, .calls = calls,
						 .time_ns = (double)ticks * npt, .acc = acc };
	return 0;
}

static int add_to_sums(struct hx_snapshot *sn, const struct hx_row *row)
{
	size_t nev = sn->nev;
	struct hx_sum *sum = NULL;
	for (size_t k = 0; k < sn->nsums && !sum; k++)
		if (strcmp(sn->sums[k].name, row->name) == 0)
			sum = &sn->sums[k];
	if (!sum) {
		sum = &sn->sums[sn->nsums++]; /* sums has room for every row */
		sum->name = row->name;
		sum->counts = calloc(nev, sizeof(double));
		sum->enabled = calloc(nev, sizeof(uint64_t));
		sum->running = calloc(nev, sizeof(uint64_t));
		if (!sum->counts || !sum->enabled || !sum->running)
			return -ENOMEM;
	}
	sum->threads++;
	sum->calls += row->calls;
	sum->time_ns += row->time_ns;
	for (size_t e = 0; e < nev; e++) {
		sum->counts[e] += scale_raw(&row->acc[e]);
		sum->enabled[e] += row->acc[e].enabled;
		sum->running[e] += row->acc[e].running;
	}
	return 0;
}

/* Call with the session lock held. only_t / only_name narrow the copy. */
static int snapshot_take(pmuprof_session *s, const pmuprof_thread *only_t, const char *only_name,
			 struct hx_snapshot *sn)
{
	memset(sn, 0, sizeof(*sn));
	sn->nev = s->events.n;
	double npt = ns_per_tick(s);
	int ret = 0;
	for (pmuprof_thread *t = s->threads; t && ret == 0; t = t->next) {
		if (only_t && t != only_t)
			continue;
		pthread_mutex_lock(&t->lock); /* the owner grows its table under it */
		for (size_t i = 0; i < t->nregions && ret == 0; i++)
			if (!only_name || strcmp(t->regions[i]->name, only_name) == 0)
				ret = add_row(sn, t, t->regions[i], npt);
		pthread_mutex_unlock(&t->lock);
	}
	if (ret == 0 && sn->nrows) {
		sn->sums = calloc(sn->nrows, sizeof(*sn->sums));
		if (!sn->sums)
			ret = -ENOMEM;
	}
	for (size_t i = 0; i < sn->nrows && ret == 0; i++)
		ret = add_to_sums(sn, &sn->rows[i]);
	if (ret < 0)
		snapshot_free(sn);
	return ret;
}

int pmuprof_region_get(pmuprof_session *s, const pmuprof_thread *t, const char *name,
		       struct pmuprof_region_info *info, uint64_t *counts)
{
	if (!s || !name)
		return -EINVAL;
	struct hx_snapshot sn;
	pthread_mutex_lock(&s->lock);
	int ret = snapshot_take(s, t, name, &sn);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	if (sn.nsums == 0) {
		snapshot_free(&sn);
		return -ENOENT;
	}
	const struct hx_sum *sum = &sn.sums[0];
	if (info) {
		info->calls = sum->calls;
		info->time_ns = (uint64_t)(sum->time_ns + 0.5);
		info->threads = sum->threads;
	}
	if (counts)
		for (size_t e = 0; e < sn.nev; e++)
			counts[e] = (uint64_t)(sum->counts[e] + 0.5);
	snapshot_free(&sn);
	return 0;
}

/* "read", "rdpmc" or "mixed" over the attached threads; the decision when none. */
static const char *session_path(const pmuprof_session *s)
{
	if (!s->decided)
		return "none";
	bool rdpmc = false, rd = false;
	for (const pmuprof_thread *t = s->threads; t; t = t->next) {
		rdpmc |= t->path == HX_RDPMC;
		rd |= t->path == HX_READ;
	}
	if (rdpmc && rd)
		return "mixed";
	return rdpmc || (!rd && s->path == HX_RDPMC) ? "rdpmc" : "read";
}

/* 1234567 -> "1,234,567" */
static void fmt_count(char *buf, size_t len, double v)
{
	char digits[32];
	snprintf(digits, sizeof(digits), "%.0f", v < 0 ? 0 : v);
	size_t n = strlen(digits), o = 0;
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = 0;
}

static void print_cells(FILE *out, size_t nev, const double *counts, const uint64_t *enabled,
			const uint64_t *running, const int *width)
{
	for (size_t e = 0; e < nev; e++) {
		char cell[48];
		if (running[e] == 0 && enabled[e] > 0)
			snprintf(cell, sizeof(cell), "<not counted>");
		else
			fmt_count(cell, sizeof(cell), counts[e]);
		fprintf(out, "  %*s", width[e], cell);
	}
	fputc('\n', out);
}

static void report_notes(pmuprof_session *s, const struct hx_snapshot *sn, FILE *out)
{
	for (size_t i = 0; i < sn->nsums; i++) {
		const struct hx_sum *sum = &sn->sums[i];
		for (size_t e = 0; e < sn->nev; e++)
			if (sum->running[e] < sum->enabled[e])
				fprintf(out,
					"note: '%s' was counted %.1f%% of the time in region '%s' "
					"(multiplexed): its count is a scaled estimate\n",
					s->events.ev[e].name,
					100.0 * (double)sum->running[e] / (double)sum->enabled[e],
					sum->name);
	}
	for (pmuprof_thread *t = s->threads; t; t = t->next) {
		uint64_t n = atomic_load(&t->implicit_ends);
		if (n)
			fprintf(out, "note: thread %d was detached inside %llu region%s, ended there\n",
				(int)t->tid, (unsigned long long)n, n == 1 ? "" : "s");
	}
}

static int report_text(pmuprof_session *s, const struct hx_snapshot *sn, FILE *out,
		       unsigned flags)
{
	size_t nev = sn->nev;
	int *w = calloc(nev, sizeof(int));
	double *c = calloc(nev, sizeof(double));
	uint64_t *en = calloc(nev, sizeof(uint64_t)), *run = calloc(nev, sizeof(uint64_t));
	if (!w || !c || !en || !run) {
		free(w), free(c), free(en), free(run);
		return -ENOMEM;
	}
	fprintf(out, "pmuprof %s: %d thread%s; events ", pmuprof_version(), s->nthreads,
		s->nthreads == 1 ? "" : "s");
	for (size_t e = 0; e < nev; e++)
		fprintf(out, "%s%s", e ? "," : "", s->events.ev[e].name);
	fprintf(out, "; read path: %s", session_path(s));
	if (s->path_note[0])
		fprintf(out, " (%s)", s->path_note);
	fputc('\n', out);
	if (s->notice[0])
		fprintf(out, "note: %s\n", s->notice);

	int namew = flags & PMUPROF_REPORT_THREADS ? 14 : 6;
	for (size_t i = 0; i < sn->nsums; i++)
		if ((int)strlen(sn->sums[i].name) > namew)
			namew = (int)strlen(sn->sums[i].name);
	fprintf(out, "%-*s  %7s  %10s  %12s", namew, "region", "threads", "calls", "time ms");
	for (size_t e = 0; e < nev; e++) {
		char head[PMU_NAME_MAX + 8];
		const struct pmu_event *ev = &s->events.ev[e];
		snprintf(head, sizeof(head), "%s%s", ev->name, pmu_event_is_clock(ev) ? " ns" : "");
		w[e] = (int)strlen(head) < 13 ? 13 : (int)strlen(head);
		fprintf(out, "  %*s", w[e], head);
	}
	fputc('\n', out);
	for (size_t i = 0; i < sn->nsums; i++) {
		const struct hx_sum *sum = &sn->sums[i];
		fprintf(out, "%-*s  %7u  %10llu  %12.3f", namew, sum->name, sum->threads,
			(unsigned long long)sum->calls, sum->time_ns / 1e6);
		print_cells(out, nev, sum->counts, sum->enabled, sum->running, w);
		for (size_t k = 0; k < sn->nrows && (flags & PMUPROF_REPORT_THREADS); k++) {
			const struct hx_row *row = &sn->rows[k];
			if (strcmp(row->name, sum->name) != 0)
				continue;
			char label[32];
			snprintf(label, sizeof(label), "  tid %d", (int)row->t->tid);
			fprintf(out, "%-*s  %7s  %10llu  %12.3f", namew, label, "",
				(unsigned long long)row->calls, row->time_ns / 1e6);
			for (size_t e = 0; e < nev; e++) {
				c[e] = scale_raw(&row->acc[e]);
				en[e] = row->acc[e].enabled;
				run[e] = row->acc[e].running;
			}
			print_cells(out, nev, c, en, run, w);
		}
	}
	if (sn->nsums == 0)
		fprintf(out, "(no region completed)\n");
	report_notes(s, sn, out);
	free(w), free(c), free(en), free(run);
	return 0;
}

static void json_counts(FILE *out, size_t nev, const double *counts, const uint64_t *enabled,
			const uint64_t *running)
{
	fprintf(out, "\"counts\": [");
	for (size_t e = 0; e < nev; e++)
		fprintf(out, "%s%.0f", e ? ", " : "", counts[e]);
	fprintf(out, "], \"running\": [");
	for (size_t e = 0; e < nev; e++)
		fprintf(out, "%s%.4f", e ? ", " : "",
			enabled[e] ? (double)running[e] / (double)enabled[e] : 0.0);
	fprintf(out, "]");
}

static int report_json(pmuprof_session *s, const struct hx_snapshot *sn, FILE *out)
{
	size_t nev = sn->nev;
	double *c = calloc(nev, sizeof(double));
	uint64_t *en = calloc(nev, sizeof(uint64_t)), *run = calloc(nev, sizeof(uint64_t));
	if (!c || !en || !run) {
		free(c), free(en), free(run);
		return -ENOMEM;
	}
	fprintf(out, "{\n  \"pmuprof_version\": ");
	base_json_string(out, pmuprof_version());
	fprintf(out, ",\n  \"events\": [");
	for (size_t e = 0; e < nev; e++) {
		fprintf(out, "%s", e ? ", " : "");
		base_json_string(out, s->events.ev[e].name);
	}
	fprintf(out, "],\n  \"read_path\": ");
	base_json_string(out, session_path(s));
	fprintf(out, ",\n  \"read_path_reason\": ");
	base_json_string(out, s->path_note);
	fprintf(out, ",\n  \"notice\": ");
	base_json_string(out, s->notice);
	fprintf(out, ",\n  \"threads\": [");
	int first_t = 1;
	for (const pmuprof_thread *t = s->threads; t; t = t->next) {
		fprintf(out, "%s\n    {\"index\": %d, \"tid\": %d, \"read_path\": \"%s\", "
			     "\"attached\": %s, \"implicit_ends\": %llu, \"regions\": [",
			first_t ? "" : ",", t->index, (int)t->tid, pmuprof_read_path(t),
			atomic_load(&t->live) ? "true" : "false",
			(unsigned long long)atomic_load(&t->implicit_ends));
		first_t = 0;
		int first_r = 1;
		for (size_t k = 0; k < sn->nrows; k++) {
			const struct hx_row *row = &sn->rows[k];
			if (row->t != t)
				continue;
			for (size_t e = 0; e < nev; e++) {
				c[e] = scale_raw(&row->acc[e]);
				en[e] = row->acc[e].enabled;
				run[e] = row->acc[e].running;
			}
			fprintf(out, "%s\n      {\"name\": ", first_r ? "" : ",");
			base_json_string(out, row->name);
			fprintf(out, ", \"calls\": %llu, \"time_ns\": %.0f, ",
				(unsigned long long)row->calls, row->time_ns);
			json_counts(out, nev, c, en, run);
			fprintf(out, "}");
			first_r = 0;
		}
		fprintf(out, "%s]}", first_r ? "" : "\n    ");
	}
	free(c);
	free(en);
	free(run);
	fprintf(out, "%s],\n  \"regions\": [", first_t ? "" : "\n  ");
	for (size_t i = 0; i < sn->nsums; i++) {
		const struct hx_sum *sum = &sn->sums[i];
		fprintf(out, "%s\n    {\"name\": ", i ? "," : "");
		base_json_string(out, sum->name);
		fprintf(out, ", \"threads\": %u, \"calls\": %llu, \"time_ns\": %.0f, ", sum->threads,
			(unsigned long long)sum->calls, sum->time_ns);
		json_counts(out, nev, sum->counts, sum->enabled, sum->running);
		fprintf(out, "}");
	}
	fprintf(out, "%s]\n}\n", sn->nsums ? "\n  " : "");
	return 0;
}

int pmuprof_session_report(pmuprof_session *s, FILE *out, unsigned flags)
{
	if (!s || !out)
		return -EINVAL;
	struct hx_snapshot sn;
	pthread_mutex_lock(&s->lock);
	int ret = snapshot_take(s, NULL, NULL, &sn);
	if (ret == 0) {
		ret = flags & PMUPROF_REPORT_JSON ? report_json(s, &sn, out)
						  : report_text(s, &sn, out, flags);
		snapshot_free(&sn);
	}
	pthread_mutex_unlock(&s->lock);
	if (ret == 0 && (fflush(out) != 0 || ferror(out)))
		ret = -EIO;
	return ret;
}

struct report_fill {
	pmuprof_session *s;
	unsigned flags;
};

static int fill_report(int fd, void *arg, const char **why)
{
	(void)why;
	struct report_fill *r = arg;
	int dfd = dup(fd);
	FILE *f = dfd >= 0 ? fdopen(dfd, "w") : NULL;
	if (!f) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		return -e;
	}
	int ret = pmuprof_session_report(r->s, f, r->flags);
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

/* $PMUPROF_REPORT ("-": stderr), written as every output is (base.h): never left truncated. */
static int write_report_env(pmuprof_session *s, char *err, size_t errlen)
{
	const char *path = getenv("PMUPROF_REPORT");
	if (!path || !*path)
		return 0;
	size_t n = strlen(path);
	unsigned flags = n > 5 && strcmp(path + n - 5, ".json") == 0 ? PMUPROF_REPORT_JSON
								       : PMUPROF_REPORT_THREADS;
	if (strcmp(path, "-") == 0) {
		int ret = pmuprof_session_report(s, stderr, flags);
		return ret < 0 ? base_fail(err, errlen, ret, "cannot write the report to stderr: %s",
					   strerror(-ret))
			       : 0;
	}
	struct report_fill r = {s, flags};
	struct base_output_opts opts = {.mode = 0644, .what = "report", .flag = "PMUPROF_REPORT"};
	return base_write_file(path, &opts, fill_report, &r, err, errlen);
}

int pmuprof_session_close(pmuprof_session *s)
{
	if (!s)
		return 0;
	char err[BASE_ERR_MAX];
	int ret = write_report_env(s, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "pmuprof: %s\n", err);
	for (pmuprof_thread *t = s->threads, *next; t; t = next) {
		next = t->next;
		thread_free(t);
	}
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	if (s->ack_fd >= 0)
		close(s->ack_fd);
	if (s->ch)
		channel_close(s->ch);
	pmu_event_list_free(&s->events);
	pmu_ctx_free(s->ctx);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

/* --- sampling control: the client of `pmuprof record --control` ----------- */

/*
 * perf's protocol: a command line on the control fifo, "ack\n" back on the
 * ack fifo. The fifos stay open for the session: the ack fifo is opened
 * read-write so that it never reports a hang-up and the recorder always has
 * a reader to write to; stale acks (after a timeout) are drained first.
 */
static int control_send(pmuprof_session *s, const char *cmd, char *err, size_t errlen)
{
	if (!s)
		return base_fail(err, errlen, -EINVAL, "pmuprof_sampling_*: the session is NULL");
	if (!s->ctl_path[0])
		return base_fail(err, errlen, -ENOTCONN,
				 "sampling %s: not running under `pmuprof record --control` "
				 "(PMUPROF_CONTROL_FIFO is not set)",
				 cmd);
	int ret = 0;
	pthread_mutex_lock(&s->lock);
	if (s->ack_path[0] && s->ack_fd < 0) {
		s->ack_fd = open(s->ack_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (s->ack_fd < 0) {
			ret = base_fail(err, errlen, -errno, "cannot open the ack fifo %s: %s",
					s->ack_path, strerror(errno));
			goto out;
		}
	}
	if (s->ctl_fd < 0) {
		s->ctl_fd = open(s->ctl_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (s->ctl_fd < 0) {
			ret = base_fail(err, errlen, -errno,
					"cannot open the control fifo %s: %s%s", s->ctl_path,
					strerror(errno),
					errno == ENXIO ? " (the recorder is not reading it: has "
							 "`pmuprof record` exited?)"
						       : "");
			goto out;
		}
	}
	char buf[64];
	if (s->ack_fd >= 0)
		while (read(s->ack_fd, buf, sizeof(buf)) > 0)
			;
	char line[16];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);
	ssize_t w = write(s->ctl_fd, line, (size_t)n);
	if (w != n) {
		int e = w < 0 ? errno : EIO;
		ret = base_fail(err, errlen, e == EAGAIN ? -EAGAIN : -e,
				"cannot send '%s' to the control fifo %s: %s", cmd, s->ctl_path,
				e == EAGAIN  ? "the fifo is full (is the recorder stuck?)"
				: e == EPIPE ? "the recorder has exited"
					     : strerror(e));
		if (e == EPIPE) {
			close(s->ctl_fd);
			s->ctl_fd = -1;
		}
		goto out;
	}
	if (s->ack_fd < 0)
		goto out;
	uint64_t deadline = base_mono_ns() + (uint64_t)HX_ACK_TIMEOUT_MS * 1000000u;
	size_t got = 0;
	for (;;) {
		uint64_t now = base_mono_ns();
		if (now >= deadline) {
			ret = base_fail(err, errlen, -ETIMEDOUT,
					"sampling %s: no ack from the recorder on %s within %d ms",
					cmd, s->ack_path, HX_ACK_TIMEOUT_MS);
			goto out;
		}
		struct pollfd p = { .fd = s->ack_fd, .events = POLLIN };
		int pr = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (pr < 0 && errno != EINTR) {
			ret = base_fail(err, errlen, -errno, "cannot wait on %s: %s", s->ack_path,
					strerror(errno));
			goto out;
		}
		if (pr <= 0)
			continue;
		ssize_t r = read(s->ack_fd, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			continue;
		got += (size_t)r;
		buf[got] = 0;
		char *nl = strchr(buf, '\n');
		if (!nl) {
			if (got == sizeof(buf) - 1)
				got = 0; /* junk without a newline: start over */
			continue;
		}
		*nl = 0;
		if (strcmp(buf, "ack") == 0)
			goto out;
		ret = base_fail(err, errlen, -EPROTO,
				"sampling %s: the recorder answered '%s', not 'ack'", cmd, buf);
		goto out;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int pmuprof_sampling_enable(pmuprof_session *s, char *err, size_t errlen)
{
	return control_send(s, "enable", err, errlen);
}

int pmuprof_sampling_disable(pmuprof_session *s, char *err, size_t errlen)
{
	return control_send(s, "disable", err, errlen);
}
