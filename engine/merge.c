/*
 * The merger: per-CPU record streams into one stream in timestamp order,
 * with bounded memory. Records are indexed where the readers copied them
 * (no second copy); a chunk goes back to its reader once every record in it
 * has been emitted. A record is emitted only when its time is below the
 * source's safe time, so an MMAP2 or COMM read from one CPU's ring is applied
 * before any later sample read from another CPU's ring.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	uint64_t time;
	uint64_t seq; /* arrival order: ties keep each ring's own order */
	const struct perf_event_header *h;
	struct smp_chunk *chunk;
	uint32_t cpu;
};

struct mrg {
	struct mrg_source src;
	struct smp_batch batch;
	struct pending *pend;
	size_t npend, cap;
	struct pending *tmp; /* merge scratch, as large as pend */
	size_t tmpcap;
	uint64_t seq;
};

int mrg_new(struct mrg **out, const struct mrg_source *src)
{
	struct mrg *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->src = *src;
	*out = m;
	return 0;
}

void mrg_free(struct mrg *m)
{
	if (!m)
		return;
	/* Chunks still referenced go back to their owner. */
	for (size_t i = 0; i < m->npend; i++) {
		struct smp_chunk *c = m->pend[i].chunk;
		if (--c->refs == 0)
			m->src.release(m->src.src, c);
	}
	free(m->batch.per_cpu);
	free(m->pend);
	free(m->tmp);
	free(m);
}

size_t mrg_pending(const struct mrg *m)
{
	return m->npend;
}

bool mrg_final(const struct mrg *m)
{
	return m->batch.final && m->npend == 0;
}

/* Time order; seq (arrival) breaks ties, so each ring's own order stands. */
static inline bool pending_before(const struct pending *x, const struct pending *y)
{
	return x->time < y->time || (x->time == y->time && x->seq < y->seq);
}

/*
 * Sorts pend by (time, seq). What is pending is a few sorted runs: the
 * records left from the last pump, then each ring's new records, which the
 * kernel wrote in time order (nearly always). So: find the runs, then merge
 * neighbours pass by pass (a natural merge sort), O(n log runs) instead of a
 * full sort of everything pending at every pump. Stable, and seq grows with
 * position, so ties come out in arrival order as the comparison asks.
 */
static int sort_pending(struct mrg *m)
{
	size_t n = m->npend;
	if (n < 2)
		return 0;
	if (m->tmpcap < n) {
		struct pending *t = realloc(m->tmp, m->cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		m->tmp = t;
		m->tmpcap = m->cap;
	}
	struct pending *src = m->pend, *dst = m->tmp;
	for (;;) {
		size_t runs = 0, i = 0;
		while (i < n) {
			/* One run [i, j), then the next [j, k); merged into dst. */
			size_t j = i + 1;
			while (j < n && !pending_before(&src[j], &src[j - 1]))
				j++;
			size_t k = j;
			if (k < n) {
				k++;
				while (k < n && !pending_before(&src[k], &src[k - 1]))
					k++;
			}
			size_t a = i, b = j, o = i;
			while (a < j && b < k)
				dst[o++] = pending_before(&src[b], &src[a]) ? src[b++] : src[a++];
			while (a < j)
				dst[o++] = src[a++];
			while (b < k)
				dst[o++] = src[b++];
			runs++;
			i = k;
		}
		struct pending *t = src;
		src = dst;
		dst = t;
		if (runs == 1)
			break;
	}
	if (src != m->pend) { /* the result is in the scratch array: swap the arrays' roles */
		struct pending *t = m->pend;
		m->pend = m->tmp;
		m->tmp = t;
		size_t c = m->cap;
		m->cap = m->tmpcap;
		m->tmpcap = c;
	}
	return 0;
}

static int index_chunk(struct mrg *m, struct smp_chunk *c)
{
	size_t off = 0;
	c->refs = 0;
	while (off + sizeof(struct smp_entry) <= c->used) {
		struct smp_entry e;
		memcpy(&e, c->data + off, sizeof(e));
		if (m->npend == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 4096;
			struct pending *grown = realloc(m->pend, cap * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			m->pend = grown;
			m->cap = cap;
		}
		m->pend[m->npend++] = (struct pending){
			.time = e.time,
			.seq = m->seq++,
			.h = (const struct perf_event_header *)(c->data + off + sizeof(e)),
			.chunk = c,
			.cpu = e.cpu,
		};
		c->refs++;
		off += sizeof(e) + e.size;
	}
	if (c->refs == 0)
		m->src.release(m->src.src, c);
	return 0;
}

/* One take from the source, and what it makes safe to emit. */
static int mrg_step(struct mrg *m, int (*fn)(void *arg, const struct mrg_record *r), void *arg)
{
	int ret = m->src.take(m->src.src, &m->batch);
	if (ret < 0)
		return ret;
	size_t before = m->npend;
	for (int cpu = 0; cpu < m->batch.ncpus; cpu++) {
		struct smp_chunk *c = m->batch.per_cpu[cpu];
		while (c) {
			struct smp_chunk *next = c->next;
			c->next = NULL;
			if ((ret = index_chunk(m, c)) < 0)
				return ret;
			c = next;
		}
		m->batch.per_cpu[cpu] = NULL;
	}
	if (m->npend != before && (ret = sort_pending(m)) < 0)
		return ret;

	uint64_t limit = m->batch.final ? UINT64_MAX : m->batch.safe_time;
	size_t i = 0;
	for (; i < m->npend && (m->pend[i].time < limit || limit == UINT64_MAX); i++) {
		struct pending *p = &m->pend[i];
		struct mrg_record r = {p->h, p->time, p->cpu};
		ret = fn(arg, &r);
		if (--p->chunk->refs == 0)
			m->src.release(m->src.src, p->chunk);
		if (ret < 0) {
			i++;
			break;
		}
	}
	if (i > 0) { /* memmove's pointers must be valid even for 0 bytes */
		memmove(m->pend, m->pend + i, (m->npend - i) * sizeof(*m->pend));
		m->npend -= i;
	}
	return ret < 0 ? ret : 0;
}

int mrg_pump(struct mrg *m, int (*fn)(void *arg, const struct mrg_record *r), void *arg)
{
	/* Once the source has stopped, everything it still holds comes out now. */
	int ret;
	do
		ret = mrg_step(m, fn, arg);
	while (ret == 0 && m->batch.stopped && !m->batch.final);
	return ret;
}

bool mrg_behind(const struct mrg *m)
{
	return m->batch.more;
}

static int session_take(void *src, struct smp_batch *b)
{
	return smp_take(src, b);
}

static void session_release(void *src, struct smp_chunk *c)
{
	smp_chunk_release(src, c);
}

void mrg_source_from_session(struct mrg_source *src, struct smp_session *s)
{
	src->take = session_take;
	src->release = session_release;
	src->src = s;
}
