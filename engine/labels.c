/*
 * Label timeline: which region each thread is in, and which trace context is
 * current, at any sample's time — built from the recorder channel's events
 * (channel/channel.h) and consumed by aggregation (see engine.h, "labels").
 *
 * Owns: per-thread state (region stack, trace context) at a cursor time,
 * the events each thread has not reached yet, and their pruning.
 *
 * How: threads are kept in an array sorted by (pid, tid) (threads are few;
 * lookups are a binary search). A thread's pending events are a time-sorted
 * array consumed from its head; the merger delivers samples in time order,
 * so a lookup at time t folds every pending event at or before t into the
 * state and frees them. Threads that have no state and nothing pending are
 * forgotten when lbl_add prunes, so exited threads do not accumulate.
 */
#include "engine.h"
#include "channel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LBL_DEPTH_MAX 32        /* region names kept per thread; deeper ones are counted only */
#define LBL_DEPTH_LIMIT 1000000 /* beyond this, begins are ignored (a runaway program) */
#define LBL_PENDING_MAX 16384   /* per thread (1.7 MB); older ones are folded early beyond */
#define LBL_DRAIN_BATCH 512

struct lbl_thread {
	uint32_t pid, tid;
	uint64_t cursor; /* latest lookup time answered */
	int depth;       /* open regions; names[] holds the outermost LBL_DEPTH_MAX */
	char names[LBL_DEPTH_MAX][CHANNEL_NAME_MAX];
	bool has_trace;
	uint8_t trace_id[16], span_id[8];
	struct channel_event *pending; /* [head, n) sorted by time */
	size_t head, n, cap;
};

struct lbl_timeline {
	struct lbl_thread **threads; /* sorted by (pid, tid) */
	size_t nthreads, cap;
	uint64_t horizon; /* latest lookup time of any thread: no later sample is older */
	struct lbl_stats st;
	struct channel *ch; /* drained by lbl_drain; not owned */
	struct channel_event *batch;
	struct eng_allocs *allocs; /* created by the first CHANNEL_ALLOC */
};

int lbl_new(struct lbl_timeline **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void thread_free(struct lbl_thread *t)
{
	free(t->pending);
	free(t);
}

void lbl_free(struct lbl_timeline *tl)
{
	if (!tl)
		return;
	for (size_t i = 0; i < tl->nthreads; i++)
		thread_free(tl->threads[i]);
	free(tl->threads);
	free(tl->batch);
	eng_allocs_free(tl->allocs);
	free(tl);
}

static int key_cmp(uint32_t pid, uint32_t tid, const struct lbl_thread *t)
{
	if (pid != t->pid)
		return pid < t->pid ? -1 : 1;
	return tid < t->tid ? -1 : tid > t->tid;
}

/* Index of (pid, tid), or where it would go (*found says which). */
static size_t find(const struct lbl_timeline *tl, uint32_t pid, uint32_t tid, bool *found)
{
	size_t lo = 0, hi = tl->nthreads;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(pid, tid, tl->threads[mid]);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

static struct lbl_thread *thread_get(struct lbl_timeline *tl, uint32_t pid, uint32_t tid)
{
	bool found;
	size_t at = find(tl, pid, tid, &found);
	if (found)
		return tl->threads[at];
	if (tl->nthreads == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 16;
		struct lbl_thread **g = realloc(tl->threads, cap * sizeof(*g));
		if (!g)
			return NULL;
		tl->threads = g;
		tl->cap = cap;
	}
	struct lbl_thread *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pid = pid;
	t->tid = tid;
	memmove(&tl->threads[at + 1], &tl->threads[at], (tl->nthreads - at) * sizeof(*tl->threads));
	tl->threads[at] = t;
	tl->nthreads++;
	return t;
}

static void apply(struct lbl_timeline *tl, struct lbl_thread *t, const struct channel_event *ev)
{
	switch (ev->kind) {
	case CHANNEL_REGION_BEGIN:
		if (t->depth >= LBL_DEPTH_LIMIT)
			break;
		if (t->depth < LBL_DEPTH_MAX)
			memcpy(t->names[t->depth], ev->name, CHANNEL_NAME_MAX);
		t->depth++;
		break;
	case CHANNEL_REGION_END:
		if (t->depth == 0) {
			tl->st.unmatched_ends++;
		} else if (t->depth > LBL_DEPTH_MAX) {
			t->depth--; /* its name was not kept: trust the program's nesting */
		} else {
			/* Close the named region and inner ones left open; an unknown name: nothing. */
			int k = t->depth - 1;
			while (k >= 0 && strcmp(t->names[k], ev->name) != 0)
				k--;
			if (k >= 0)
				t->depth = k;
			else
				tl->st.unmatched_ends++;
		}
		break;
	case CHANNEL_TRACE: {
		static const uint8_t zero[16];
		t->has_trace = memcmp(ev->trace_id, zero, sizeof(ev->trace_id)) != 0;
		memcpy(t->trace_id, ev->trace_id, sizeof(t->trace_id));
		memcpy(t->span_id, ev->span_id, sizeof(t->span_id));
		break;
	}
	default:
		break;
	}
}

/* Folds the pending events at or before `time` into the state. */
static void advance(struct lbl_timeline *tl, struct lbl_thread *t, uint64_t time)
{
	while (t->head < t->n && t->pending[t->head].time <= time)
		apply(tl, t, &t->pending[t->head++]);
	if (t->head == t->n) {
		t->head = t->n = 0;
	} else if (t->head > t->cap / 2) {
		memmove(t->pending, &t->pending[t->head], (t->n - t->head) * sizeof(*t->pending));
		t->n -= t->head;
		t->head = 0;
	}
}

static int push(struct lbl_timeline *tl, struct lbl_thread *t, const struct channel_event *ev)
{
	if (t->n - t->head >= LBL_PENDING_MAX) {
		/* Bounded memory over exactness: a thread far ahead of its samples. */
		apply(tl, t, &t->pending[t->head++]);
		tl->st.folded_early++;
	}
	if (t->n == t->cap) {
		/* Compact only when half is consumed, so each event is moved O(1) times. */
		if (t->head > 0 && t->head >= t->cap / 2) {
			memmove(t->pending, &t->pending[t->head],
				(t->n - t->head) * sizeof(*t->pending));
			t->n -= t->head;
			t->head = 0;
		} else {
			size_t cap = t->cap ? t->cap * 2 : 64;
			struct channel_event *g = realloc(t->pending, cap * sizeof(*g));
			if (!g)
				return -ENOMEM;
			t->pending = g;
			t->cap = cap;
		}
	}
	/* Channel order is time order per thread but for clock ties; keep it sorted anyway. */
	size_t i = t->n;
	while (i > t->head && t->pending[i - 1].time > ev->time)
		i--;
	memmove(&t->pending[i + 1], &t->pending[i], (t->n - i) * sizeof(*t->pending));
	t->pending[i] = *ev;
	t->pending[i].name[CHANNEL_NAME_MAX - 1] = '\0';
	t->n++;
	return 0;
}

/*
 * Every sample still to come is at or after the horizon (the merger's order):
 * fold what lies before it, and forget threads left with nothing.
 */
static void prune(struct lbl_timeline *tl)
{
	size_t kept = 0;
	for (size_t i = 0; i < tl->nthreads; i++) {
		struct lbl_thread *t = tl->threads[i];
		advance(tl, t, tl->horizon);
		if (t->depth == 0 && !t->has_trace && t->head == t->n) {
			thread_free(t);
			continue;
		}
		tl->threads[kept++] = t;
	}
	tl->nthreads = kept;
}

int lbl_add(struct lbl_timeline *tl, const struct channel_event *ev, size_t n)
{
	prune(tl);
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind == CHANNEL_ALLOC || ev[i].kind == CHANNEL_FREE) {
			if ((!tl->allocs && eng_allocs_new(&tl->allocs) < 0) ||
			    eng_allocs_add(tl->allocs, &ev[i]) < 0)
				return -ENOMEM;
			tl->st.allocs++;
			continue;
		}
		if (ev[i].kind < CHANNEL_REGION_BEGIN || ev[i].kind > CHANNEL_TRACE) {
			tl->st.bad++;
			continue;
		}
		struct lbl_thread *t = thread_get(tl, ev[i].pid, ev[i].tid);
		if (!t || push(tl, t, &ev[i]) < 0)
			return -ENOMEM;
		tl->st.events++;
		if (ev[i].time < t->cursor)
			tl->st.late++;
	}
	return 0;
}

bool lbl_lookup(struct lbl_timeline *tl, uint32_t pid, uint32_t tid, uint64_t time,
		const char **region, const uint8_t **trace_id, const uint8_t **span_id)
{
	*region = NULL;
	*trace_id = *span_id = NULL;
	if (time > tl->horizon)
		tl->horizon = time;
	bool found;
	size_t at = find(tl, pid, tid, &found);
	if (!found)
		return false;
	struct lbl_thread *t = tl->threads[at];
	advance(tl, t, time);
	if (time > t->cursor)
		t->cursor = time;
	if (t->depth > 0)
		*region = t->names[(t->depth < LBL_DEPTH_MAX ? t->depth : LBL_DEPTH_MAX) - 1];
	if (t->has_trace) {
		*trace_id = t->trace_id;
		*span_id = t->span_id;
	}
	return *region || *trace_id;
}

void lbl_get_stats(const struct lbl_timeline *tl, struct lbl_stats *st)
{
	*st = tl->st;
	st->threads = tl->nthreads;
}

struct eng_allocs *lbl_allocs(const struct lbl_timeline *tl)
{
	return tl ? tl->allocs : NULL;
}

void lbl_set_channel(struct lbl_timeline *tl, struct channel *ch)
{
	tl->ch = ch;
}

int lbl_drain(struct lbl_timeline *tl)
{
	if (!tl || !tl->ch)
		return 0;
	if (!tl->batch && !(tl->batch = malloc(LBL_DRAIN_BATCH * sizeof(*tl->batch))))
		return -ENOMEM;
	size_t n;
	int ret = 0;
	do {
		uint64_t lost = 0;
		n = channel_read(tl->ch, tl->batch, LBL_DRAIN_BATCH, &lost);
		tl->st.channel_read += n;
		tl->st.channel_lost += lost;
		if (n && lbl_add(tl, tl->batch, n) < 0) {
			/* Read but not kept: lost to labelling all the same, and said so. */
			tl->st.channel_lost += n;
			ret = -ENOMEM;
		}
	} while (n == LBL_DRAIN_BATCH);
	return ret;
}

int lbl_summary(const struct lbl_timeline *tl, char *buf, size_t len)
{
	if (!tl)
		return 0;
	const struct lbl_stats *st = &tl->st;
	/* Nothing to say when no harness published on the channel. */
	if (!st->channel_read && !st->channel_lost && !st->late && !st->unmatched_ends &&
	    !st->bad && !st->folded_early)
		return 0;
	return snprintf(buf, len,
			"label channel: events read %llu, lost %llu; late %llu, unmatched region "
			"ends %llu, unknown kinds %llu, applied early %llu",
			(unsigned long long)st->channel_read, (unsigned long long)st->channel_lost,
			(unsigned long long)st->late, (unsigned long long)st->unmatched_ends,
			(unsigned long long)st->bad, (unsigned long long)st->folded_early);
}
