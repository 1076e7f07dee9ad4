/*
 * A sampling session: events opened per CPU (per task too with -p/a
 * command), one ring per CPU, and the reader threads that drain them.
 *
 * Lifetime (as libperf's evlist): smp_open() opens and maps everything,
 * smp_start() starts the readers then enables, smp_stop() disables and does a
 * last drain, smp_close() unmaps and frees. The consumer calls smp_take()
 * from its own thread at any point between start and close.
 */
#include "sampler.h"
#include "sampler_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_SIZE (256 * 1024)
#define SCRATCH_SIZE 65536 /* a record's size is a u16 */
#define LOAD_POOL 8        /* read-back buffers the consumer keeps for reuse */
/*
 * Past its budget a reader spills; should the spill file fail too (a full
 * disk), it uses memory up to this many budgets, then leaves records in the
 * ring, where the kernel counts what it loses.
 */
#define OVER_BUDGET 4
#define READER_NICE -10

/* Every event samples at least these, so the time is at a fixed place in any record. */
#define BASE_SAMPLE_TYPE                                                                       \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |          \
	 PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD)

struct id_entry {
	uint64_t id;
	int event;
};

/* What one ring's reader keeps about it. */
struct ring_state {
	struct smp_ring ring;
	void *map;
	size_t map_size;
	int slot;               /* index in options.cpus */
	uint64_t prev_drain;    /* start time of the previous drain (reader only) */
	uint64_t watermark;     /* atomic: records older than this are all queued */
	struct smp_chunk *fill; /* chunk being filled (reader only) */
	pthread_mutex_t lock;   /* guards the queue below */
	struct smp_chunk *queue_head, *queue_tail;
};

struct reader {
	struct smp_session *s;
	int index;
	const struct topo_reader *plan;
	int *rings; /* indexes into s->rings */
	int nrings;
	int epfd;
	pthread_t thread;
	bool started;
	pthread_mutex_t pool_lock; /* released chunks come back from the consumer */
	struct smp_chunk *pool;
	size_t allocated; /* bytes of chunks it allocated (reader only; kept until close) */
	size_t budget;    /* what it may allocate before spilling */
	uint64_t max_gap_ns; /* written by the reader only */
	/* What it took from its rings (written by the reader only, read as a snapshot). */
	uint64_t samples, lost, bytes;
	struct smp_spill spill;
	unsigned char *scratch;
	unsigned char *compact; /* a sample with its stack copy cut to the valid bytes */
	char bind_err[256];
};

struct smp_session {
	struct smp_options o;
	struct pmu_event_list events; /* copy, attrs as opened */
	struct pabi_layout *layouts;  /* per event */
	struct pmu_cpus *cpus;        /* o.cpus: a ring's slot is its CPU's index here */
	struct pmu_threads *threads;  /* o.pids, or {-1} for whole CPUs */
	int *fds;                     /* [event][slot][pid], as pmu_open_event lays one out */
	int nfds;
	int *track_fds; /* [slot][pid]: the dummy event that carries the side-band records */
	int ntrack;
	struct id_entry *ids;
	size_t nids;
	struct ring_state *rings; /* one per slot (CPU) */
	int wake_fd; /* eventfd in every reader's epoll set: smp_stop wakes them at once */
	int nrings;
	struct reader *readers;
	int nreaders;
	int stop; /* atomic flag for the readers */
	bool stopped;
	/*
	 * The sampling window on CLOCK_MONOTONIC (the events' clock too): from
	 * smp_start to the deadline (o.stop_after_ns, enforced by the readers, so
	 * a busy consumer cannot stretch it, and samples stamped later are not
	 * taken) or smp_stop, whichever comes first. expired is atomic: a
	 * reader sets it once, and smp_enable then leaves the events off.
	 */
	uint64_t start_ns, deadline_ns, end_ns;
	int expired;
	/*
	 * The kernel refused inherit on a group read at each sample (Linux <
	 * 6.12): such groups follow only the tasks they are opened on, and
	 * notice says so to the user.
	 */
	bool read_no_inherit;
	char notice[BASE_ERR_MAX];
	/* The consumer's: buffers that held spilled chunks read back, for the next ones. */
	unsigned char *load_pool[LOAD_POOL];
	int nload_pool;
	uint64_t spill_unread;
};

/* --- attrs ----------------------------------------------------------------- */

/* Whether event I's counters are inherited: a copy in every thread of the tasks. */
static bool event_inherits(const struct smp_session *s, size_t i)
{
	const struct pmu_event *leader = &s->events.ev[s->events.ev[i].leader];
	bool group_read = leader->sample_read && leader->group_size > 1;
	return s->o.inherit && !(group_read && s->read_no_inherit);
}

static void sampling_attr(const struct smp_session *s, size_t i, bool is_leader,
			  struct perf_event_attr *a)
{
	const struct smp_options *o = &s->o;
	const struct pmu_event_list *evs = &s->events;
	const struct pmu_event *ev = &evs->ev[i];
	const struct pmu_event *leader = &evs->ev[ev->leader];
	*a = ev->attr;
	a->size = sizeof(*a);
	a->sample_type = BASE_SAMPLE_TYPE | o->extra_sample_type;
	/* A tracepoint's samples carry its payload, as perf records them. */
	if (ev->attr.type == PERF_TYPE_TRACEPOINT)
		a->sample_type |= PERF_SAMPLE_RAW;
	if (o->callchain)
		a->sample_type |= PERF_SAMPLE_CALLCHAIN;
	if (o->stack_dump) {
		a->sample_type |= PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = o->regs_user_mask;
		a->sample_stack_user = o->stack_dump;
		a->exclude_callchain_user = 1; /* user frames come from unwinding the copy */
	}
	a->read_format = PERF_FORMAT_ID;
	if (!ev->period_explicit && !(ev->period_default && !o->rate_given)) {
		if (o->period) {
			a->freq = 0;
			a->sample_period = o->period;
		} else {
			a->freq = 1;
			a->sample_freq = o->freq;
		}
	}
	/*
	 * A software event or tracepoint that samples PERIOD at a fixed period
	 * samples every event (the kernel's perf_swevent_event): as perf record
	 * -c, its period comes from the attr instead (the engine reads it there).
	 */
	if (!a->freq && (a->type == PERF_TYPE_SOFTWARE || a->type == PERF_TYPE_TRACEPOINT))
		a->sample_type &= ~(uint64_t)PERF_SAMPLE_PERIOD;
	bool group_read = leader->sample_read && leader->group_size > 1;
	if (group_read) {
		/* Leader sampling: the leader samples and reads the group; members only count. */
		a->read_format |= PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
				  PERF_FORMAT_TOTAL_TIME_RUNNING;
		if (is_leader)
			a->sample_type |= PERF_SAMPLE_READ;
		else
			a->sample_period = 0, a->freq = 0;
	}
	a->sample_id_all = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->disabled = is_leader;
	a->inherit = event_inherits(s, i);
	a->enable_on_exec = is_leader && o->enable_on_exec && !o->start_disabled;
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(o->ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 4);
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = ((const struct id_entry *)a)->id, y = ((const struct id_entry *)b)->id;
	return (x > y) - (x < y);
}

int smp_event_index(const struct smp_session *s, uint64_t id)
{
	size_t lo = 0, hi = s->nids;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nids && s->ids[lo].id == id ? s->ids[lo].event : -1;
}

const struct perf_event_attr *smp_event_attr(const struct smp_session *s, int index)
{
	return &s->events.ev[index].attr;
}

/* --- opening ----------------------------------------------------------------- */

static int map_ring(struct smp_session *s, int slot, int fd, char *err, size_t errlen)
{
	struct ring_state *rs = &s->rings[slot];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = (1 + s->o.ring_pages) * page;
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		int e = errno;
		if (e == EPERM || e == ENOMEM)
			return base_fail(
				err, errlen, -e,
				"cannot map the %zu KiB ring of CPU %d: %s; lower -m (pages per "
				"ring) or raise kernel.perf_event_mlock_kb (sudo sysctl -w "
				"kernel.perf_event_mlock_kb=%zu)",
				size / 1024, s->o.cpus[slot], strerror(e),
				(size / 1024 + 1) * (size_t)s->o.ncpus);
		return base_fail(err, errlen, -e, "cannot map the ring of CPU %d: %s",
				 s->o.cpus[slot], strerror(e));
	}
	rs->map = map;
	rs->map_size = size;
	rs->ring.meta = map;
	rs->ring.data = (unsigned char *)map + page;
	rs->ring.data_size = s->o.ring_pages * page;
	rs->ring.fd = fd;
	rs->ring.cpu = s->o.cpus[slot];
	return 0;
}

/*
 * The side-band event that owns each CPU's ring (also the attr a perf.data
 * file lists for it: readers take its sample_type, read_format and
 * sample_id_all to parse the side-band trailers).
 */
static void tracking_attr(const struct smp_options *o, struct perf_event_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_DUMMY;
	a->sample_type = BASE_SAMPLE_TYPE;
	a->read_format = PERF_FORMAT_ID;
	a->sample_id_all = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->inherit = o->inherit;
	a->disabled = 1;
	a->enable_on_exec = o->enable_on_exec; /* from exec on, even when sampling waits (-D) */
	a->exclude_kernel = 1; /* it counts nothing; this keeps it open under any paranoid level */
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(o->ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 4);
	/*
	 * No build_id: while any event asks the kernel for build ids in MMAP2,
	 * other sessions' MMAP2 records arrive flagged as carrying one over
	 * their inode fields (seen on 6.18), and a concurrent `perf record`
	 * aborts parsing them. Build ids are read from the files instead.
	 */
	a->mmap = a->mmap2 = a->comm = a->comm_exec = a->task = a->ksymbol = 1;
	/* Data-address sampling names heap, stack and anonymous memory through these. */
	a->mmap_data = o->track_data_maps;
}

/*
 * The tracking event: a software dummy per CPU (and task) that samples
 * nothing but carries MMAP2/COMM/FORK/EXIT/KSYMBOL, as perf's tracking
 * event does. It stays enabled while --control or -D disable the sampled
 * events, so mappings made meanwhile are still known. Each CPU's first one
 * owns the CPU's ring; the CPU's others write into it.
 */
static int open_tracking(struct smp_session *s, const struct pmu_ctx *ctx, char *err, size_t errlen)
{
	const struct smp_options *o = &s->o;
	/* Its failures are the first event's to the user, who never asked for a dummy. */
	struct pmu_event dummy = {0};
	snprintf(dummy.name, sizeof(dummy.name), "%s", o->events->ev[0].name);
	struct perf_event_attr *a = &dummy.attr;
	tracking_attr(o, a);
	int ret = pmu_open_event(s->track_fds, NULL, ctx, &dummy, a, s->cpus, s->threads, NULL, 0,
				 err, errlen);
	if (ret < 0)
		return ret;
	s->ntrack = s->cpus->n * s->threads->n;
	for (int slot = 0; slot < s->cpus->n; slot++) {
		const int *fd = &s->track_fds[slot * s->threads->n];
		ret = map_ring(s, slot, fd[0], err, errlen);
		if (ret < 0)
			return ret;
		for (int p = 1; p < s->threads->n; p++)
			if (ioctl(fd[p], PERF_EVENT_IOC_SET_OUTPUT, fd[0]) < 0)
				return base_fail(err, errlen, -errno,
						 "cannot redirect the tracking "
						 "event into the ring of CPU %d: %s",
						 s->cpus->cpu[slot], strerror(errno));
	}
	return 0;
}

/* The kernel refused inherit on the group led by ev: its later opens ask for none. */
static void refused_read_inherit(struct smp_session *s, const struct pmu_event *ev)
{
	struct utsname u;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "this kernel");
	s->read_no_inherit = true;
	snprintf(s->notice, sizeof(s->notice),
		 "Linux %s cannot read a group at each sample in threads created later "
		 "(Linux 6.12 can): '%s' samples only %s; to cover every thread, record whole "
		 "CPUs with -a, or use a newer kernel",
		 u.release, ev->name,
		 s->o.enable_on_exec ? "the command's first thread" : "the threads running now");
}

const char *smp_notice(const struct smp_session *s)
{
	return s->notice;
}

static int open_all(struct smp_session *s, const struct pmu_ctx *ctx, char *err, size_t errlen)
{
	const struct smp_options *o = &s->o;
	size_t per_event = (size_t)s->cpus->n * (size_t)s->threads->n;
	int ret = open_tracking(s, ctx, err, errlen);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < s->events.n; i++) {
		struct pmu_event *ev = &s->events.ev[i];
		bool is_leader = (size_t)ev->leader == i;
		int *fds = &s->fds[i * per_event];
		uint64_t *ids = malloc(per_event * sizeof(*ids));
		if (!ids)
			return base_fail(err, errlen, -ENOMEM, "out of memory");
		struct perf_event_attr a;
		sampling_attr(s, i, is_leader, &a);
		/* A user-only fallback, kept in ev and a, holds on all its CPUs and tasks. */
		ret = pmu_open_event(fds, ids, ctx, ev, &a, s->cpus, s->threads,
				     is_leader ? NULL : &s->fds[(size_t)ev->leader * per_event],
				     PMU_OPEN_USER_FALLBACK, err, errlen);
		for (size_t k = 0; ret >= 0 && k < per_event; k++)
			s->ids[s->nids++] = (struct id_entry){ids[k], (int)i};
		free(ids);
		if (ret < 0)
			return ret;
		if (o->inherit && !a.inherit && !s->read_no_inherit)
			refused_read_inherit(s, ev);
		pabi_layout_from_attr(&s->layouts[i], &a);
		/* The tracking event owns the CPU's ring: everything else joins it. */
		for (size_t k = 0; k < per_event; k++)
			if (ioctl(fds[k], PERF_EVENT_IOC_SET_OUTPUT,
				  s->track_fds[k - k % (size_t)s->threads->n]) < 0)
				return base_fail(
					err, errlen, -errno,
					"cannot redirect event '%s' into the ring of CPU %d: %s",
					ev->name, s->cpus->cpu[k / (size_t)s->threads->n],
					strerror(errno));
	}
	qsort(s->ids, s->nids, sizeof(*s->ids), cmp_id);
	return 0;
}

int smp_open(struct smp_session **out, const struct pmu_ctx *ctx, const struct smp_options *o,
	     char *err, size_t errlen)
{
	if (!o->events || o->events->n == 0 || o->ncpus <= 0 || !o->plan || !o->topo)
		return base_fail(err, errlen, -EINVAL, "nothing to record: no events or no CPUs");
	if (o->ring_pages == 0 || (o->ring_pages & (o->ring_pages - 1)))
		return base_fail(err, errlen, -EINVAL,
				 "ring size must be a power of two pages (-m %zu); try -m 512",
				 o->ring_pages);
	for (size_t i = 0; i < o->events->n; i++) {
		const struct pmu_event *ev = &o->events->ev[i];
		if (ev->sample_read && ev->group_size > 16)
			return base_fail(
				err, errlen, -E2BIG,
				"group led by '%s' has %d events; leader sampling reads at most 16",
				ev->name, ev->group_size);
	}
	struct smp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	s->o = *o;
	s->wake_fd = -1;
	size_t nev = o->events->n;
	int npids = o->pids ? o->npids : 1;
	s->nfds = (int)((size_t)o->ncpus * (size_t)npids * nev);
	s->events.n = s->events.cap = nev;
	s->events.ev = malloc(nev * sizeof(*s->events.ev));
	s->layouts = calloc(nev, sizeof(*s->layouts));
	s->fds = malloc((size_t)s->nfds * sizeof(int));
	s->track_fds = malloc((size_t)o->ncpus * (size_t)npids * sizeof(int));
	s->ids = calloc((size_t)s->nfds, sizeof(*s->ids));
	s->rings = calloc((size_t)o->ncpus, sizeof(*s->rings));
	s->nrings = o->ncpus;
	for (int i = 0; i < o->ncpus && s->rings; i++) {
		pthread_mutex_init(&s->rings[i].lock, NULL);
		s->rings[i].slot = i;
		s->rings[i].ring.fd = -1;
	}
	if (!s->events.ev || !s->layouts || !s->fds || !s->track_fds || !s->ids || !s->rings) {
		smp_close(s);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(s->events.ev, o->events->ev, nev * sizeof(*s->events.ev));
	s->o.events = &s->events;
	for (int i = 0; i < s->nfds; i++)
		s->fds[i] = -1;
	int ret = pmu_cpus_new(&s->cpus, o->cpus, o->ncpus);
	if (ret == 0)
		ret = o->pids ? pmu_threads_new(&s->threads, o->pids, o->npids)
			      : pmu_threads_any(&s->threads);
	if (ret < 0) {
		smp_close(s);
		return base_fail(err, errlen, ret, "out of memory");
	}
	ret = open_all(s, ctx, err, errlen);
	if (ret < 0) {
		smp_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* --- readers --------------------------------------------------------------------- */

static void chunk_reset(struct smp_chunk *c, int reader)
{
	c->next = NULL;
	c->used = 0;
	c->refs = 0;
	c->min_time = UINT64_MAX;
	c->reader = reader;
}

/* A chunk from the pool, else a new one within limit bytes of chunks; NULL otherwise. */
static struct smp_chunk *chunk_get(struct reader *rd, size_t limit)
{
	pthread_mutex_lock(&rd->pool_lock);
	struct smp_chunk *c = rd->pool;
	if (c)
		rd->pool = c->next;
	pthread_mutex_unlock(&rd->pool_lock);
	if (!c) {
		if (rd->allocated + CHUNK_SIZE > limit)
			return NULL;
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		/* Node-local and pre-faulted by this (the reader's) thread. */
		c->data = topo_alloc_local(rd->s->o.topo, rd->plan->node, CHUNK_SIZE);
		if (!c->data) {
			free(c);
			return NULL;
		}
		c->cap = CHUNK_SIZE;
		/* Written by this reader only; smp_get_stats reads it from the consumer. */
		__atomic_store_n(&rd->allocated, rd->allocated + CHUNK_SIZE, __ATOMIC_RELAXED);
	}
	chunk_reset(c, rd->index);
	return c;
}

static void chunk_queue(struct ring_state *rs, struct smp_chunk *c)
{
	pthread_mutex_lock(&rs->lock);
	if (rs->queue_tail)
		rs->queue_tail->next = c;
	else
		rs->queue_head = c;
	rs->queue_tail = c;
	pthread_mutex_unlock(&rs->lock);
}

/* Writes c's records to the spill file and queues where they are; 0 or -errno. */
static int chunk_spill(struct reader *rd, struct ring_state *rs, const struct smp_chunk *c)
{
	struct smp_chunk *d = calloc(1, sizeof(*d));
	uint64_t off = 0;
	int ret = d ? smp_spill_write(&rd->spill, c->data, c->used, &off) : -ENOMEM;
	if (ret < 0) {
		free(d);
		int none = 0;
		__atomic_compare_exchange_n(&rd->spill.error, &none, ret, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		return ret;
	}
	*d = (struct smp_chunk){.used = c->used,
				.reader = rd->index,
				.min_time = c->min_time,
				.spilled = true,
				.spill_off = off};
	chunk_queue(rs, d);
	return 0;
}

/*
 * Queues the ring's filling chunk (if it holds records), where smp_take()
 * will find it, and gives the ring an empty one: from the pool, or new
 * within the budget. With neither (the consumer lags), the records go to
 * the spill file instead and the chunk is filled again; should that fail,
 * memory past the budget is used, up to OVER_BUDGET budgets. Past that the
 * ring has no chunk, and what it holds stays there (the kernel counts what
 * it then loses).
 */
static void chunk_publish(struct reader *rd, struct ring_state *rs)
{
	struct smp_chunk *c = rs->fill;
	if (c && c->used == 0)
		return;
	struct smp_chunk *next = chunk_get(rd, rd->budget);
	if (!next && c && chunk_spill(rd, rs, c) == 0) {
		chunk_reset(c, rd->index);
		return;
	}
	if (!next)
		next = chunk_get(rd, OVER_BUDGET * rd->budget);
	if (c)
		chunk_queue(rs, c);
	rs->fill = next;
}

struct drain_ctx {
	struct reader *rd;
	struct ring_state *rs;
};

/* Every record carries TIME at a fixed place (see BASE_SAMPLE_TYPE). */
static uint64_t record_time(const struct perf_event_header *h)
{
	uint64_t t = 0;
	if (h->type == PERF_RECORD_SAMPLE) {
		/* IDENTIFIER, IP, TID, TIME */
		if (h->size >= sizeof(*h) + 32)
			memcpy(&t, (const unsigned char *)(h + 1) + 24, 8);
	} else if (h->size >= sizeof(*h) + 32) {
		/* trailer: TID, TIME, CPU, IDENTIFIER */
		memcpy(&t, (const unsigned char *)h + h->size - 24, 8);
	}
	return t;
}

/* The running totals smp_get_stats reports (the status line of a long record). */
static void count_record(struct reader *rd, const struct perf_event_header *h)
{
	uint64_t id, n;
	if (h->type == PERF_RECORD_SAMPLE)
		__atomic_store_n(&rd->samples, rd->samples + 1, __ATOMIC_RELAXED);
	else if (pabi_record_loss(h, &id, &n) > 0)
		__atomic_store_n(&rd->lost, rd->lost + n, __ATOMIC_RELAXED);
	__atomic_store_n(&rd->bytes, rd->bytes + h->size, __ATOMIC_RELAXED);
}

static int copy_record(void *arg, const struct perf_event_header *h)
{
	struct drain_ctx *d = arg;
	struct ring_state *rs = d->rs;
	if (h->type == PERF_RECORD_SAMPLE && d->rd->s->o.stack_dump) {
		/* Keep only the valid part of a stack copy: most of 8 KiB is usually unused. */
		int ev = smp_event_index(d->rd->s, pabi_record_id(h));
		size_t n = ev >= 0 ? pabi_sample_compact(&d->rd->s->layouts[ev], h, d->rd->compact)
				   : 0;
		if (n)
			h = (const struct perf_event_header *)d->rd->compact;
	}
	uint64_t t = record_time(h);
	/*
	 * Past the --duration deadline (the events share its clock): the kernel
	 * may still be writing until a reader disables them, and that reader may
	 * be scheduled late on a busy machine; the window stays exact.
	 */
	if (h->type == PERF_RECORD_SAMPLE && d->rd->s->deadline_ns && t > d->rd->s->deadline_ns)
		return 0;
	size_t need = sizeof(struct smp_entry) + h->size;
	if (!rs->fill || rs->fill->cap - rs->fill->used < need) {
		chunk_publish(d->rd, rs);
		if (!rs->fill)
			return -ENOMEM; /* the record stays in the ring; the kernel counts LOST */
	}
	if (t && t < rs->fill->min_time)
		rs->fill->min_time = t;
	count_record(d->rd, h);
	struct smp_entry e = {t, h->size, (uint32_t)rs->ring.cpu};
	memcpy(rs->fill->data + rs->fill->used, &e, sizeof(e));
	memcpy(rs->fill->data + rs->fill->used + sizeof(e), h, h->size);
	rs->fill->used += need;
	return 0;
}

/*
 * Whether the consumer has taken everything queued for the ring. Until it has,
 * a drain keeps its records in the filling chunk: a consumer that lags (a busy
 * CPU shared with many runnable threads) then finds a few full chunks rather
 * than one barely used chunk per drain, so the memory held is what the records
 * need, not a chunk per drain interval.
 */
static bool queue_taken(struct ring_state *rs)
{
	pthread_mutex_lock(&rs->lock);
	bool taken = rs->queue_head == NULL;
	pthread_mutex_unlock(&rs->lock);
	return taken;
}

static void drain_ring(struct reader *rd, struct ring_state *rs, bool last)
{
	uint64_t start = base_mono_ns();
	struct drain_ctx d = {rd, rs};
	smp_ring_read(&rs->ring, rd->scratch, copy_record, &d);
	bool held = !last && rs->fill && rs->fill->used && !queue_taken(rs);
	if (!held)
		chunk_publish(rd, rs);
	/* How long a ring went unread (smp_stats). */
	if (rs->prev_drain && start - rs->prev_drain > rd->max_gap_ns)
		__atomic_store_n(&rd->max_gap_ns, start - rs->prev_drain, __ATOMIC_RELAXED);
	/*
	 * Records stamped before the previous drain began were complete long before
	 * this drain read the ring (a record is written in well under a drain
	 * interval), so once this drain's chunk is queued they all are: publish
	 * that time, with release so the consumer that reads it also sees the
	 * queued chunks. A held chunk leaves the older watermark, which stays true.
	 */
	if (rs->prev_drain && !held)
		__atomic_store_n(&rs->watermark, rs->prev_drain, __ATOMIC_RELEASE);
	rs->prev_drain = start;
}

/* The epoll tag of the session's wake_fd; ring slots are small numbers. */
#define WAKE_SLOT UINT32_MAX

/* Milliseconds until the deadline, at most max (0 when it has passed, max once it was acted on). */
static int ms_to_deadline(const struct smp_session *s, int max)
{
	if (!s->deadline_ns || __atomic_load_n(&s->expired, __ATOMIC_ACQUIRE))
		return max;
	uint64_t now = base_mono_ns();
	if (now >= s->deadline_ns)
		return 0;
	uint64_t ms = (s->deadline_ns - now + 999999) / 1000000;
	return ms < (uint64_t)max ? (int)ms : max;
}

static int ioctl_leaders(struct smp_session *s, unsigned long req);

/* The first reader past the deadline ends the window: the events go off for good. */
static void expire(struct smp_session *s)
{
	int no = 0;
	if (!__atomic_compare_exchange_n(&s->expired, &no, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	(void)ioctl_leaders(s, PERF_EVENT_IOC_DISABLE);
	__atomic_store_n(&s->end_ns, s->deadline_ns, __ATOMIC_RELEASE); /* later samples: dropped */
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct smp_session *s = rd->s;
	if (topo_bind_thread(s->o.topo, rd->plan, rd->bind_err, sizeof(rd->bind_err)) == 0)
		rd->bind_err[0] = 0;
	/*
	 * A reader must run as soon as a ring fills, whatever else is busy on
	 * its CPUs, and it only copies: above normal priority where allowed
	 * (root, CAP_SYS_NICE; Linux's nice is per thread), else as it is.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), READER_NICE);
	struct epoll_event evs[64];
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		/* Wake on a ring's watermark, or every 50 ms so time keeps moving for the merger. */
		int n = epoll_wait(rd->epfd, evs, 64, ms_to_deadline(s, 50));
		if (s->deadline_ns && base_mono_ns() >= s->deadline_ns)
			expire(s);
		for (int i = 0; i < n; i++) {
			/*
			 * Hang-up: every task the event followed has exited, so the ring
			 * gets nothing more, yet it would stay "ready" and turn this loop
			 * into a spin until the session stops. Drained below; not waited on.
			 */
			if (evs[i].data.u32 != WAKE_SLOT && (evs[i].events & (EPOLLHUP | EPOLLERR)))
				epoll_ctl(rd->epfd, EPOLL_CTL_DEL, s->rings[evs[i].data.u32].ring.fd, NULL);
		}
		for (int i = 0; i < rd->nrings; i++)
			drain_ring(rd, &s->rings[rd->rings[i]], false);
	}
	/* Events are disabled by now: this drain empties every ring for good. */
	for (int i = 0; i < rd->nrings; i++) {
		struct ring_state *rs = &s->rings[rd->rings[i]];
		drain_ring(rd, rs, true);
		__atomic_store_n(&rs->watermark, UINT64_MAX, __ATOMIC_RELEASE);
	}
	return NULL;
}

int smp_track(struct smp_session *s, char *err, size_t errlen)
{
	/* A command's tracking starts at its exec (enable_on_exec). */
	for (int i = 0; i < s->ntrack && !s->o.enable_on_exec; i++)
		if (ioctl(s->track_fds[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
			return base_fail(err, errlen, -errno,
					 "cannot enable the tracking event: %s", strerror(errno));
	return 0;
}

int smp_start(struct smp_session *s, char *err, size_t errlen)
{
	const struct topo_plan *plan = s->o.plan;
	s->readers = calloc((size_t)plan->nreaders, sizeof(*s->readers));
	if (!s->readers)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	s->nreaders = plan->nreaders;
	for (int r = 0; r < plan->nreaders; r++)
		smp_spill_init(&s->readers[r].spill);
	s->start_ns = base_mono_ns();
	s->deadline_ns = s->o.stop_after_ns ? s->start_ns + s->o.stop_after_ns : 0;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		return base_fail(err, errlen, -errno, "cannot create an eventfd: %s",
				 strerror(errno));
	for (int r = 0; r < plan->nreaders; r++) {
		struct reader *rd = &s->readers[r];
		rd->s = s;
		rd->index = r;
		rd->plan = &plan->readers[r];
		rd->epfd = -1;
		pthread_mutex_init(&rd->pool_lock, NULL);
		rd->rings = calloc((size_t)rd->plan->ncpus, sizeof(int));
		/* Its share of the memory, and always a chunk per ring and two to spare. */
		size_t total = s->o.buffer_bytes ? s->o.buffer_bytes : SMP_DEFAULT_BUFFER_BYTES;
		rd->budget = total / (size_t)plan->nreaders;
		if (rd->budget < (size_t)(rd->plan->ncpus + 2) * CHUNK_SIZE)
			rd->budget = (size_t)(rd->plan->ncpus + 2) * CHUNK_SIZE;
		/* On the reader's node, as its chunks: the reader writes them for every wrap. */
		rd->scratch = topo_alloc_local(s->o.topo, rd->plan->node, SCRATCH_SIZE);
		rd->compact = topo_alloc_local(s->o.topo, rd->plan->node, SCRATCH_SIZE);
		rd->epfd = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event wake = {.events = EPOLLIN, .data.u32 = WAKE_SLOT};
		if (!rd->rings || !rd->scratch || !rd->compact || rd->epfd < 0 ||
		    epoll_ctl(rd->epfd, EPOLL_CTL_ADD, s->wake_fd, &wake) < 0)
			return base_fail(err, errlen, -ENOMEM, "cannot set up reader %d: %s", r,
					 strerror(errno));
		for (int c = 0; c < rd->plan->ncpus; c++) {
			int slot = pmu_cpus_index(s->cpus, rd->plan->cpus[c]);
			if (slot < 0)
				continue;
			rd->rings[rd->nrings++] = slot;
			struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)slot};
			if (epoll_ctl(rd->epfd, EPOLL_CTL_ADD, s->rings[slot].ring.fd, &ev) < 0)
				return base_fail(err, errlen, -errno,
						 "cannot watch the ring of CPU %d: %s",
						 rd->plan->cpus[c], strerror(errno));
		}
	}
	for (int r = 0; r < s->nreaders; r++) {
		int rc = pthread_create(&s->readers[r].thread, NULL, reader_main, &s->readers[r]);
		if (rc)
			return base_fail(err, errlen, -rc, "cannot start reader thread %d: %s", r,
					 strerror(rc));
		s->readers[r].started = true;
	}
	int ret = smp_track(s, err, errlen);
	if (ret < 0)
		return ret;
	if (!s->o.enable_on_exec && !s->o.start_disabled) {
		ret = smp_enable(s);
		if (ret < 0)
			return base_fail(err, errlen, ret, "cannot enable the events: %s",
					 strerror(-ret));
	}
	return 0;
}

/* ioctl on every group leader; on an inherited event it reaches the children's copies too. */
static int ioctl_leaders(struct smp_session *s, unsigned long req)
{
	for (int i = 0; i < s->nfds; i++) {
		size_t ev = (size_t)i / ((size_t)s->nfds / s->events.n);
		if ((size_t)s->events.ev[ev].leader == ev && s->fds[i] >= 0 &&
		    ioctl(s->fds[i], req, PERF_IOC_FLAG_GROUP) < 0)
			return -errno;
	}
	return 0;
}

int smp_enable(struct smp_session *s)
{
	if (__atomic_load_n(&s->expired, __ATOMIC_ACQUIRE))
		return 0; /* the window is over */
	return ioctl_leaders(s, PERF_EVENT_IOC_ENABLE);
}

int smp_disable(struct smp_session *s)
{
	return ioctl_leaders(s, PERF_EVENT_IOC_DISABLE);
}

int smp_stop(struct smp_session *s)
{
	if (s->stopped)
		return 0;
	for (int i = 0; i < s->nfds; i++)
		if (s->fds[i] >= 0)
			ioctl(s->fds[i], PERF_EVENT_IOC_DISABLE, 0);
	for (int i = 0; i < s->ntrack; i++)
		ioctl(s->track_fds[i], PERF_EVENT_IOC_DISABLE, 0);
	int no = 0;
	if (s->start_ns && __atomic_compare_exchange_n(&s->expired, &no, 1, false, __ATOMIC_ACQ_REL,
						       __ATOMIC_ACQUIRE))
		__atomic_store_n(&s->end_ns,
				 s->deadline_ns && base_mono_ns() > s->deadline_ns ? s->deadline_ns : base_mono_ns(),
				 __ATOMIC_RELEASE);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	/* Never fails on a fresh eventfd; were it to, the readers still wake within 50 ms. */
	if (s->wake_fd >= 0)
		eventfd_write(s->wake_fd, 1);
	for (int r = 0; r < s->nreaders; r++)
		if (s->readers[r].started) {
			pthread_join(s->readers[r].thread, NULL);
			s->readers[r].started = false;
		}
	s->stopped = true;
	return 0;
}

uint64_t smp_window_ns(const struct smp_session *s)
{
	if (!s->start_ns)
		return 0;
	uint64_t end = __atomic_load_n(&s->end_ns, __ATOMIC_ACQUIRE);
	return (end ? end : base_mono_ns()) - s->start_ns;
}

bool smp_window_over(const struct smp_session *s)
{
	return __atomic_load_n(&s->end_ns, __ATOMIC_ACQUIRE) != 0;
}

/* Reads a spilled chunk back into a buffer of the consumer's; on failure it is left empty. */
static void load_spilled(struct smp_session *s, struct smp_chunk *c)
{
	struct smp_spill *sp = &s->readers[c->reader].spill;
	unsigned char *buf = s->nload_pool ? s->load_pool[--s->nload_pool] : malloc(CHUNK_SIZE);
	if (buf && smp_spill_read(sp, c->spill_off, buf, c->used) == 0) {
		c->data = buf;
		c->cap = CHUNK_SIZE;
		return;
	}
	if (!buf)
		(void)smp_spill_read(sp, c->spill_off, NULL, c->used);
	free(buf);
	s->spill_unread++;
	c->used = 0; /* the merger finds no record and gives it back */
}

int smp_take(struct smp_session *s, struct smp_batch *b)
{
	if (!b->per_cpu) {
		b->per_cpu = calloc((size_t)s->nrings, sizeof(*b->per_cpu));
		if (!b->per_cpu)
			return -ENOMEM;
	}
	b->ncpus = s->nrings;
	/* Read before the queues: the readers have stopped and queued everything. */
	b->stopped = s->stopped;
	b->more = false;
	/* Watermarks first, then the queues: what a watermark covers is already queued. */
	uint64_t safe = UINT64_MAX;
	for (int i = 0; i < s->nrings; i++) {
		uint64_t w = __atomic_load_n(&s->rings[i].watermark, __ATOMIC_ACQUIRE);
		if (w < safe)
			safe = w;
	}
	for (int i = 0; i < s->nrings; i++) {
		struct ring_state *rs = &s->rings[i];
		/* At least one chunk, then up to the bound. */
		pthread_mutex_lock(&rs->lock);
		struct smp_chunk *head = rs->queue_head, *last = NULL, *c = head;
		for (size_t bytes = 0; c && !(bytes && bytes + c->used > SMP_TAKE_BYTES);
		     c = c->next) {
			bytes += c->used;
			last = c;
		}
		if (last) {
			last->next = NULL;
			rs->queue_head = c;
			if (!c)
				rs->queue_tail = NULL;
		}
		/* What stays queued is newer than its oldest record: the safe time stays below. */
		if (c) {
			b->more = true;
			if (c->min_time < safe)
				safe = c->min_time;
		}
		pthread_mutex_unlock(&rs->lock);
		b->per_cpu[i] = last ? head : NULL;
		for (c = b->per_cpu[i]; c; c = c->next)
			if (c->spilled && !c->data)
				load_spilled(s, c);
	}
	b->safe_time = safe;
	b->final = b->stopped && !b->more;
	return 0;
}

void smp_chunk_release(struct smp_session *s, struct smp_chunk *c)
{
	if (c->spilled) {
		/* A buffer of the consumer's: kept for the next chunk read back. */
		if (c->data && s->nload_pool < LOAD_POOL)
			s->load_pool[s->nload_pool++] = c->data;
		else
			free(c->data);
		free(c);
		return;
	}
	struct reader *rd = &s->readers[c->reader];
	pthread_mutex_lock(&rd->pool_lock);
	c->next = rd->pool;
	rd->pool = c;
	pthread_mutex_unlock(&rd->pool_lock);
}

void smp_get_stats(const struct smp_session *s, struct smp_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->spill_unread = s->spill_unread;
	for (int r = 0; s->readers && r < s->nreaders; r++) {
		const struct reader *rd = &s->readers[r];
		st->buffer_budget += rd->budget;
		/* Read once the readers stopped, or as a snapshot while they run. */
		st->buffer_bytes += __atomic_load_n(&rd->allocated, __ATOMIC_RELAXED);
		st->spilled_bytes += __atomic_load_n(&rd->spill.bytes, __ATOMIC_RELAXED);
		st->spilled_chunks += __atomic_load_n(&rd->spill.chunks, __ATOMIC_RELAXED);
		st->samples += __atomic_load_n(&rd->samples, __ATOMIC_RELAXED);
		st->lost += __atomic_load_n(&rd->lost, __ATOMIC_RELAXED);
		st->bytes_read += __atomic_load_n(&rd->bytes, __ATOMIC_RELAXED);
		uint64_t gap = __atomic_load_n(&rd->max_gap_ns, __ATOMIC_RELAXED);
		st->max_gap_ns = gap > st->max_gap_ns ? gap : st->max_gap_ns;
		int e = __atomic_load_n(&rd->spill.error, __ATOMIC_RELAXED);
		if (e && !st->spill_error)
			st->spill_error = e;
	}
}

int smp_buffer_summary(const struct smp_session *s, char *buf, size_t len)
{
	struct smp_stats st;
	smp_get_stats(s, &st);
	if (!st.spilled_chunks && !st.spill_error && !st.spill_unread)
		return 0;
	const char *dir = getenv("TMPDIR");
	dir = dir && *dir ? dir : "/tmp";
	int n = snprintf(buf, len, "buffers: processing lagged; ");
	if (st.spilled_chunks && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n,
			      "%.1f MiB of records in %llu chunks waited in a file in %s (memory: "
			      "%.1f of %.1f MiB)%s",
			      (double)st.spilled_bytes / (1 << 20),
			      (unsigned long long)st.spilled_chunks, dir,
			      (double)st.buffer_bytes / (1 << 20),
			      (double)st.buffer_budget / (1 << 20), st.spill_error ? "; " : "");
	if (st.spill_error && n >= 0 && (size_t)n < len)
		n += snprintf(
			buf + n, len - (size_t)n,
			"records could not wait in a file in %s (%s): memory was used instead, "
			"%.1f MiB (at most %.1f); set TMPDIR to a folder with room",
			dir, strerror(-st.spill_error), (double)st.buffer_bytes / (1 << 20),
			(double)(OVER_BUDGET * st.buffer_budget) / (1 << 20));
	if (st.spill_unread && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n,
			      "; %llu chunks could not be read back: their records are lost",
			      (unsigned long long)st.spill_unread);
	return n;
}

/* Adds the pages of buffer [p, p + size) to m's buffer counts. */
static int count_buffer(struct smp_reader_memory *m, const void *p, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	long n = topo_pages_per_node(0, (uintptr_t)p, size, 1, m->buffer_node, SMP_MAX_NODES, NULL);
	m->buffer_pages += (size + page - 1) / page;
	return n < 0 ? (int)n : 0;
}

static int count_chunks(struct smp_reader_memory *m, const struct smp_chunk *c)
{
	int ret = 0;
	for (; c && ret == 0; c = c->next)
		if (!c->spilled) /* a spilled one's memory is in the file */
			ret = count_buffer(m, c->data, c->cap);
	return ret;
}

int smp_reader_memory(struct smp_session *s, int r, struct smp_reader_memory *m)
{
	memset(m, 0, sizeof(*m));
	if (r < 0 || r >= s->nreaders)
		return -EINVAL;
	struct reader *rd = &s->readers[r];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	m->plan = rd->plan;
	int ret = count_buffer(m, rd->scratch, SCRATCH_SIZE);
	if (ret == 0)
		ret = count_buffer(m, rd->compact, SCRATCH_SIZE);
	pthread_mutex_lock(&rd->pool_lock);
	if (ret == 0)
		ret = count_chunks(m, rd->pool);
	pthread_mutex_unlock(&rd->pool_lock);
	for (int i = 0; i < rd->nrings && ret == 0; i++) {
		struct ring_state *rs = &s->rings[rd->rings[i]];
		/*
		 * Read every page first: move_pages finds no node for a page never
		 * faulted in, nor for one NUMA balancing has just made PROT_NONE
		 * (it scans the rings' mapping too).
		 */
		for (size_t off = 0; off < rs->map_size; off += page)
			(void)*(volatile const unsigned char *)((const unsigned char *)rs->map + off);
		long n = topo_pages_per_node(0, (uintptr_t)rs->map, rs->map_size, 1, m->ring_node,
					     SMP_MAX_NODES, NULL);
		ret = n < 0 ? (int)n : 0;
		m->ring_pages += rs->map_size / page;
		pthread_mutex_lock(&rs->lock);
		if (ret == 0)
			ret = count_chunks(m, rs->queue_head);
		pthread_mutex_unlock(&rs->lock);
		if (ret == 0)
			ret = count_chunks(m, rs->fill);
	}
	return ret;
}

int smp_nreaders(const struct smp_session *s)
{
	return s->nreaders;
}

static void free_chunks(const struct smp_session *s, struct smp_chunk *c)
{
	while (c) {
		struct smp_chunk *next = c->next;
		if (c->spilled)
			free(c->data);
		else
			topo_free_local(s->o.topo, c->data, c->cap);
		free(c);
		c = next;
	}
}

void smp_close(struct smp_session *s)
{
	if (!s)
		return;
	if (s->readers)
		smp_stop(s);
	for (int i = 0; s->fds && i < s->nfds; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	for (int i = 0; s->track_fds && i < s->ntrack; i++)
		close(s->track_fds[i]);
	for (int i = 0; s->rings && i < s->nrings; i++) {
		struct ring_state *rs = &s->rings[i];
		if (rs->map)
			munmap(rs->map, rs->map_size);
		free_chunks(s, rs->queue_head);
		free_chunks(s, rs->fill);
		pthread_mutex_destroy(&rs->lock);
	}
	for (int r = 0; s->readers && r < s->nreaders; r++) {
		struct reader *rd = &s->readers[r];
		free_chunks(s, rd->pool);
		if (rd->epfd >= 0)
			close(rd->epfd);
		free(rd->rings);
		topo_free_local(s->o.topo, rd->scratch, SCRATCH_SIZE);
		topo_free_local(s->o.topo, rd->compact, SCRATCH_SIZE);
		smp_spill_close(&rd->spill);
		pthread_mutex_destroy(&rd->pool_lock);
	}
	for (int i = 0; i < s->nload_pool; i++)
		free(s->load_pool[i]);
	free(s->readers);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s->rings);
	free(s->ids);
	free(s->fds);
	free(s->track_fds);
	pmu_cpus_free(s->cpus);
	pmu_threads_free(s->threads);
	free(s->layouts);
	free(s->events.ev);
	free(s);
}

/* --- the events as a perf.data file lists them ------------------------------------ */

int smp_nevents_total(const struct smp_session *s)
{
	return (int)s->events.n + 1;
}

void smp_event_open_attr(const struct smp_session *s, int index, struct perf_event_attr *out,
			 const char **name)
{
	if ((size_t)index >= s->events.n) {
		tracking_attr(&s->o, out);
		*name = "dummy:u"; /* perf's name for a user-space dummy event */
		return;
	}
	const struct pmu_event *ev = &s->events.ev[index];
	/* open_all() kept the privilege fallback in the event, so this is the attr it opened. */
	sampling_attr(s, (size_t)index, ev->leader == index, out);
	*name = ev->name;
}

int smp_event_ids(const struct smp_session *s, int index, uint64_t **ids, size_t *n)
{
	bool tracking = (size_t)index >= s->events.n;
	size_t cap = tracking ? (size_t)s->ntrack : s->nids;
	uint64_t *out = malloc((cap ? cap : 1) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	size_t k = 0;
	if (tracking) {
		/* Its ids were never needed while recording: the kernel has them. */
		for (int i = 0; i < s->ntrack; i++, k++)
			if (ioctl(s->track_fds[i], PERF_EVENT_IOC_ID, &out[k]) < 0) {
				int e = errno;
				free(out);
				return -e;
			}
	} else {
		for (size_t i = 0; i < s->nids; i++)
			if (s->ids[i].event == index)
				out[k++] = s->ids[i].id;
	}
	*ids = out;
	*n = k;
	return 0;
}
