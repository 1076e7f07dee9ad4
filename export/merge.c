/*
 * The merger: per-CPU record streams into one stream in timestamp order,
 * with bounded memory. Records are indexed where the readers copied them
 * (no second copy); a chunk goes back to its reader once every record in it
 * has been emitted. A record is emitted only when its time is below the
 * source's safe time, so an MMAP2 or COMM read from one CPU's ring is applied
 * before any later sample read from another CPU's ring.
 */
#include "export.h"

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
	free(m);
}

size_t mrg_pending(const struct mrg *m)
{
	return m->npend;
}

static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
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

int mrg_pump(struct mrg *m, int (*fn)(void *arg, const struct mrg_record *r), void *arg)
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
	if (m->npend != before)
		qsort(m->pend, m->npend, sizeof(*m->pend), cmp_pending);

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
