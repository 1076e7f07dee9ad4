/*
 * Counting sets: every event of a list opened on every slot of a target
 * (one slot per CPU for cpu-wide counting, one per task otherwise), in the
 * style of libperf's evlist. Groups are opened leader first and read in one
 * read() with PERF_FORMAT_GROUP; counts carry time_enabled/time_running so
 * multiplexed events can be scaled. An event the host lacks (no such
 * hardware event, no PMU) is left out and reported as unsupported, as perf
 * stat prints "<not supported>", unless nothing at all can be counted or it
 * leads a group (perf refuses those too).
 */
#include "pmu_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct pmu_counters {
	struct pmu_event_list events; /* our copy, attrs as opened */
	int nslots;                   /* cpus->n * threads->n: one of them is the list {-1} */
	struct pmu_cpus *cpus;
	struct pmu_threads *threads;
	int *fds;       /* [event * nslots + slot], as pmu_open_event lays out one event's */
	uint64_t *ids;  /* kernel ids, same layout, to match group read entries */
	bool group_read; /* false when the kernel refused PERF_FORMAT_GROUP with inherit */
	int *opened;     /* per event: slots it opened on */
	int *refused;    /* per event: slots where the host does not support it */
};

static int *fd_at(struct pmu_counters *c, int slot, size_t ev)
{
	return &c->fds[ev * (size_t)c->nslots + (size_t)slot];
}

static void close_all(struct pmu_counters *c)
{
	for (size_t i = 0; i < (size_t)c->nslots * c->events.n; i++) {
		if (c->fds[i] >= 0)
			close(c->fds[i]);
		c->fds[i] = -1;
	}
}

static uint64_t read_format_for(const struct pmu_counters *c, const struct pmu_event *leader)
{
	uint64_t rf = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING |
		      PERF_FORMAT_ID;
	if (c->group_read && leader->group_size > 1)
		rf |= PERF_FORMAT_GROUP;
	return rf;
}

/*
 * Opens every event on every slot. Where the host lacks an event it is left
 * out (counted in refused); any other failure, and one of a group's leader,
 * ends the open. When nothing opened at all, the first unsupported event's
 * error is returned.
 */
static int open_all(struct pmu_counters *c, const struct pmu_ctx *ctx, const struct pmu_target *t,
		    char *err, size_t errlen)
{
	int first = 0, total = 0;
	char scratch[BASE_ERR_MAX];
	for (size_t i = 0; i < c->events.n; i++) {
		struct pmu_event *ev = &c->events.ev[i];
		const struct pmu_event *leader = &c->events.ev[ev->leader];
		bool is_leader = (size_t)ev->leader == i;
		struct perf_event_attr attr = ev->attr;
		attr.read_format = read_format_for(c, leader);
		attr.disabled = is_leader;
		attr.inherit = t->inherit;
		attr.enable_on_exec = is_leader && t->enable_on_exec;
		/* A group's leader must open everywhere: its members have nothing else to join. */
		unsigned flags = PMU_OPEN_USER_FALLBACK |
				 (is_leader && ev->group_size > 1 ? 0 : PMU_OPEN_SKIP_UNSUPPORTED);
		int ret = pmu_open_event(fd_at(c, 0, i), &c->ids[i * (size_t)c->nslots], ctx, ev,
					 &attr, c->cpus, c->threads,
					 is_leader ? NULL : fd_at(c, 0, (size_t)ev->leader), flags,
					 first ? scratch : err, first ? sizeof(scratch) : errlen);
		if (ret < 0 &&
		    (!pmu_errno_unsupported(-ret) || !(flags & PMU_OPEN_SKIP_UNSUPPORTED))) {
			if (first) /* this message, not the earlier one */
				snprintf(err, errlen, "%s", scratch);
			return ret;
		}
		if (ret < 0)
			first = first ? first : ret;
		c->opened[i] = ret > 0 ? ret : 0;
		c->refused[i] = c->nslots - c->opened[i];
		total += c->opened[i];
	}
	return total ? 0 : first;
}

int pmu_counters_open(struct pmu_counters **out, const struct pmu_ctx *ctx,
		      const struct pmu_event_list *list, const struct pmu_target *t, char *err,
		      size_t errlen)
{
	if (list->n == 0)
		return base_fail(err, errlen, -EINVAL, "no events to count");
	struct pmu_counters *c = calloc(1, sizeof(*c));
	if (!c)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	bool cpu_wide = t->pids == NULL;
	c->nslots = cpu_wide ? t->ncpus : t->npids;
	c->group_read = true;
	c->events.n = c->events.cap = list->n;
	c->events.ev = malloc(list->n * sizeof(*list->ev));
	c->fds = malloc((size_t)(c->nslots > 0 ? c->nslots : 1) * list->n * sizeof(int));
	c->ids = calloc((size_t)(c->nslots > 0 ? c->nslots : 1) * list->n, sizeof(uint64_t));
	c->opened = calloc(list->n, sizeof(*c->opened));
	c->refused = calloc(list->n, sizeof(*c->refused));
	int lists = cpu_wide ? pmu_cpus_new(&c->cpus, t->cpus, t->ncpus) : pmu_cpus_any(&c->cpus);
	if (lists == 0)
		lists = cpu_wide ? pmu_threads_any(&c->threads)
				 : pmu_threads_new(&c->threads, t->pids, t->npids);
	if (lists < 0 || !c->events.ev || !c->fds || !c->ids || !c->opened || !c->refused) {
		pmu_counters_close(c);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(c->events.ev, list->ev, list->n * sizeof(*list->ev));
	for (size_t i = 0; i < (size_t)c->nslots * list->n; i++)
		c->fds[i] = -1;
	if (c->nslots == 0) {
		pmu_counters_close(c);
		return base_fail(err, errlen, -EINVAL, "no CPUs or tasks to count on");
	}

	int ret = open_all(c, ctx, t, err, errlen);
	if (ret == -EINVAL && t->inherit) {
		/* Kernels before 4.13 refuse PERF_FORMAT_GROUP with inherit: read one by one. */
		close_all(c);
		c->group_read = false;
		ret = open_all(c, ctx, t, err, errlen);
	}
	if (ret < 0) {
		pmu_counters_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

static int ioctl_leaders(struct pmu_counters *c, unsigned long req)
{
	for (int s = 0; s < c->nslots; s++)
		for (size_t i = 0; i < c->events.n; i++)
			if ((size_t)c->events.ev[i].leader == i && *fd_at(c, s, i) >= 0 &&
			    ioctl(*fd_at(c, s, i), req, PERF_IOC_FLAG_GROUP) < 0)
				return -errno;
	return 0;
}

int pmu_counters_enable(struct pmu_counters *c)
{
	return ioctl_leaders(c, PERF_EVENT_IOC_ENABLE);
}

int pmu_counters_disable(struct pmu_counters *c)
{
	return ioctl_leaders(c, PERF_EVENT_IOC_DISABLE);
}

int pmu_counters_nslots(const struct pmu_counters *c)
{
	return c->nslots;
}

const struct pmu_event_list *pmu_counters_events(const struct pmu_counters *c)
{
	return &c->events;
}

bool pmu_counters_supported(const struct pmu_counters *c, size_t i)
{
	return c->opened[i] > 0 || c->refused[i] == 0;
}

double pmu_count_scaled(const struct pmu_count *k)
{
	if (k->running == 0)
		return 0.0;
	if (k->running >= k->enabled)
		return (double)k->value;
	return (double)k->value * ((double)k->enabled / (double)k->running);
}

static void add_count(struct pmu_count *out, uint64_t value, uint64_t enabled, uint64_t running)
{
	out->value += value;
	out->enabled += enabled;
	out->running += running;
}

/* One slot: group leaders read their whole group at once, others their own fd. */
static int read_slot(struct pmu_counters *c, int s, struct pmu_count *out, char *err,
		     size_t errlen)
{
	size_t n = c->events.n;
	for (size_t i = 0; i < n; i++) {
		const struct pmu_event *ev = &c->events.ev[i];
		bool grouped = c->group_read && c->events.ev[ev->leader].group_size > 1;
		if (grouped && (size_t)ev->leader != i)
			continue; /* read with its leader */
		if (*fd_at(c, s, i) < 0)
			continue; /* unsupported on this slot: nothing counted */
		/* Group layout: nr, enabled, running, {value, id}[nr]. Single: value, en, run, id. */
		size_t members = 0;
		for (size_t m = i; grouped && m < i + (size_t)ev->group_size; m++)
			members += *fd_at(c, s, m) >= 0;
		uint64_t buf[3 + 2 * 64];
		size_t want = grouped ? (3 + 2 * members) * 8 : 4 * 8;
		if (want > sizeof(buf))
			return base_fail(err, errlen, -E2BIG, "group of '%s' is too large to read",
					 ev->name);
		ssize_t got = read(*fd_at(c, s, i), buf, want);
		if (got != (ssize_t)want)
			return base_fail(err, errlen, got < 0 ? -errno : -EIO,
					 "cannot read counter '%s': %s", ev->name,
					 got < 0 ? strerror(errno) : "short read");
		if (!grouped) {
			add_count(&out[i], buf[0], buf[1], buf[2]);
			continue;
		}
		for (uint64_t k = 0; k < buf[0]; k++) {
			uint64_t value = buf[3 + 2 * k], id = buf[4 + 2 * k];
			for (size_t m = i; m < i + (size_t)ev->group_size; m++)
				if (c->ids[m * (size_t)c->nslots + (size_t)s] == id)
					add_count(&out[m], value, buf[1], buf[2]);
		}
	}
	return 0;
}

int pmu_counters_read_slots(struct pmu_counters *c, const int *slots, int n,
			    struct pmu_count *out, char *err, size_t errlen)
{
	memset(out, 0, c->events.n * sizeof(*out));
	for (int k = 0; k < n; k++) {
		if (slots[k] < 0 || slots[k] >= c->nslots)
			return base_fail(err, errlen, -EINVAL, "no counting slot %d (the set has %d)",
					 slots[k], c->nslots);
		int ret = read_slot(c, slots[k], out, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int pmu_counters_read(struct pmu_counters *c, int slot, struct pmu_count *out, char *err,
		      size_t errlen)
{
	if (slot >= 0)
		return pmu_counters_read_slots(c, &slot, 1, out, err, errlen);
	memset(out, 0, c->events.n * sizeof(*out));
	for (int s = 0; s < c->nslots; s++) {
		int ret = read_slot(c, s, out, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void pmu_counters_close(struct pmu_counters *c)
{
	if (!c)
		return;
	if (c->fds)
		close_all(c);
	free(c->fds);
	free(c->ids);
	free(c->opened);
	free(c->refused);
	pmu_cpus_free(c->cpus);
	pmu_threads_free(c->threads);
	free(c->events.ev);
	free(c);
}
