/*
 * Heap allocations over time (engine.h, "allocations"): what libpmuprof's
 * preload library (harness/preload/alloc_preload.c) reported on the recorder
 * channel, so that a sampled data address names the allocation holding it
 * at the sample's time, and the code that made it.
 *
 * One array of every allocation, kept sorted by (pid, start, time) except
 * for a short unsorted tail of the newest ones, which is sorted and merged in
 * when it reaches ALC_TAIL: an allocation costs amortized O(n / ALC_TAIL)
 * moves, a lookup a binary search plus the tail. Addresses are reused after
 * a free, so a lookup takes the allocation that was live at the given time.
 * The preload's events come from the program's memory and are not trusted:
 * ranges that wrap are dropped, counts are clamped by the channel.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ALC_TAIL 64

struct eng_allocs {
	struct eng_alloc *v;
	size_t n, cap;
	size_t sorted; /* v[0, sorted) is in (pid, addr, time) order */
	uint64_t max_len;
	struct eng_allocs_stats st;
};

int eng_allocs_new(struct eng_allocs **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void eng_allocs_free(struct eng_allocs *a)
{
	if (!a)
		return;
	free(a->v);
	free(a);
}

static int cmp_alloc(const void *pa, const void *pb)
{
	const struct eng_alloc *a = pa, *b = pb;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->time < b->time ? -1 : a->time > b->time;
}

/* Sorts the tail and merges it into the sorted prefix (from the back, in place). */
static int settle(struct eng_allocs *a)
{
	if (a->sorted == a->n)
		return 0;
	size_t tail = a->n - a->sorted;
	struct eng_alloc *t = malloc(tail * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t, a->v + a->sorted, tail * sizeof(*t));
	qsort(t, tail, sizeof(*t), cmp_alloc);
	size_t i = a->sorted, j = tail, k = a->n;
	while (j > 0) {
		if (i > 0 && cmp_alloc(&a->v[i - 1], &t[j - 1]) > 0)
			a->v[--k] = a->v[--i];
		else
			a->v[--k] = t[--j];
	}
	free(t);
	a->sorted = a->n;
	return 0;
}

/* The first index of the sorted prefix not before (pid, addr). */
static size_t lower_bound(const struct eng_allocs *a, uint32_t pid, uint64_t addr)
{
	size_t lo = 0, hi = a->sorted;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct eng_alloc *m = &a->v[mid];
		if (m->pid < pid || (m->pid == pid && m->addr < addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool live_at(const struct eng_alloc *e, uint64_t time)
{
	return e->time <= time && time < e->freed;
}

/* The allocation starting exactly at addr that is live now (no free seen yet). */
static struct eng_alloc *find_live_start(struct eng_allocs *a, uint32_t pid, uint64_t addr)
{
	for (size_t i = a->n; i-- > a->sorted;)
		if (a->v[i].pid == pid && a->v[i].addr == addr && a->v[i].freed == UINT64_MAX)
			return &a->v[i];
	for (size_t i = lower_bound(a, pid, addr); i < a->sorted; i++) {
		struct eng_alloc *e = &a->v[i];
		if (e->pid != pid || e->addr != addr)
			break;
		if (e->freed == UINT64_MAX)
			return e;
	}
	return NULL;
}

int eng_allocs_add(struct eng_allocs *a, const struct channel_event *ev)
{
	const struct channel_alloc *in = &ev->alloc;
	if (ev->kind == CHANNEL_FREE) {
		struct eng_alloc *e = find_live_start(a, ev->pid, in->addr);
		if (e && ev->time >= e->time) {
			e->freed = ev->time;
			a->st.freed++;
		} else {
			a->st.unmatched_frees++;
		}
		return 0;
	}
	if (ev->kind != CHANNEL_ALLOC)
		return -EINVAL;
	if (!in->len || in->addr + in->len < in->addr) {
		a->st.bad++;
		return 0;
	}
	/* A second ALLOC at a live start: the free was lost (overrun); the old one ends here. */
	struct eng_alloc *old = find_live_start(a, ev->pid, in->addr);
	if (old)
		old->freed = ev->time;
	if (a->n == a->sorted + ALC_TAIL && settle(a) < 0)
		return -ENOMEM;
	if (BASE_GROW(a->v, a->cap, a->n + 1) < 0)
		return -ENOMEM;
	struct eng_alloc *e = &a->v[a->n++];
	*e = (struct eng_alloc){.pid = ev->pid,
				.tid = ev->tid,
				.addr = in->addr,
				.len = in->len,
				.time = ev->time,
				.freed = UINT64_MAX,
				.how = in->how,
				.nips = in->nips < CHANNEL_ALLOC_IPS ? in->nips : CHANNEL_ALLOC_IPS};
	memcpy(e->ips, in->ips, sizeof(e->ips));
	if (in->len > a->max_len)
		a->max_len = in->len;
	a->st.allocs++;
	return 0;
}

const struct eng_alloc *eng_allocs_find(struct eng_allocs *a, uint32_t pid, uint64_t addr,
					uint64_t time)
{
	const struct eng_alloc *best = NULL;
	for (size_t i = a->sorted; i < a->n; i++) {
		const struct eng_alloc *e = &a->v[i];
		if (e->pid == pid && addr - e->addr < e->len && live_at(e, time) &&
		    (!best || e->time > best->time))
			best = e;
	}
	/* Allocations start at most max_len below addr: walk back from the first start above it. */
	for (size_t i = lower_bound(a, pid, addr + 1); i-- > 0;) {
		const struct eng_alloc *e = &a->v[i];
		if (e->pid != pid || addr - e->addr >= a->max_len)
			break;
		if (addr - e->addr < e->len && live_at(e, time) && (!best || e->time > best->time))
			best = e;
	}
	return best;
}

void eng_allocs_get_stats(const struct eng_allocs *a, struct eng_allocs_stats *st)
{
	*st = a->st;
}
