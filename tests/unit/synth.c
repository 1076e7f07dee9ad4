/* Synthetic perf records and a scripted engine source for the unit tests (synth.h). */
#include "synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void synth_w64(struct synth_rec *r, uint64_t v)
{
	r->w[++r->n] = v;
}

void synth_w32x2(struct synth_rec *r, uint32_t lo, uint32_t hi)
{
	synth_w64(r, (uint64_t)hi << 32 | lo);
}

void synth_trailer(struct synth_rec *r, uint32_t pid, uint64_t time, uint32_t cpu, uint64_t id)
{
	synth_w32x2(r, pid, pid);
	synth_w64(r, time);
	synth_w32x2(r, cpu, 0);
	synth_w64(r, id);
}

static int script_take(void *src, struct smp_batch *b)
{
	struct synth_script *s = src;
	if (!b->per_cpu)
		b->per_cpu = calloc(SYNTH_CPUS, sizeof(*b->per_cpu));
	b->ncpus = SYNTH_CPUS;
	int i = s->next < s->nbatches ? s->next++ : -1;
	for (int c = 0; c < SYNTH_CPUS; c++)
		b->per_cpu[c] = i >= 0 ? s->chunks[i][c] : NULL;
	b->safe_time = i >= 0 ? s->safe[i] : UINT64_MAX;
	b->final = i < 0;
	return 0;
}

static void script_release(void *src, struct smp_chunk *c)
{
	((struct synth_script *)src)->released++;
	free(c->data);
	free(c);
}

static void script_attr(void *ctx, size_t i, struct perf_event_attr *out, const char **name)
{
	const struct synth_script *s = ctx;
	*out = s->attr[i];
	*name = s->name[i];
}

static int script_event_of_id(void *ctx, uint64_t id)
{
	const struct synth_script *s = ctx;
	for (size_t i = 0; i < s->nevents; i++)
		if (s->id[i] == id)
			return (int)i;
	return -1;
}

static int script_event_of(void *ctx, const struct perf_event_header *h)
{
	return script_event_of_id(ctx, pabi_record_id(h));
}

void synth_init(struct synth_script *s, struct eng_source *src, size_t nevents, const uint64_t *ids,
		const char *const *names)
{
	memset(s, 0, sizeof(*s));
	s->nevents = nevents < SYNTH_EVENTS ? nevents : SYNTH_EVENTS;
	for (size_t i = 0; i < s->nevents; i++) {
		s->attr[i].size = sizeof(s->attr[i]);
		s->attr[i].sample_id_all = 1;
		s->id[i] = ids[i];
		s->name[i] = names[i];
	}
	s->nbatches = 1;
	s->safe[0] = UINT64_MAX;
	*src = (struct eng_source){
		.records = {script_take, script_release, s},
		.nevents = s->nevents,
		.attr = script_attr,
		.event_of = script_event_of,
		.event_of_id = script_event_of_id,
		.ctx = s,
	};
}

void synth_put(struct synth_script *s, int batch, int cpu, uint64_t time, struct synth_rec *r,
	       uint32_t type)
{
	struct perf_event_header h = {type, 0, (uint16_t)(8 * (r->n + 1))};
	memcpy(&r->w[0], &h, 8);
	struct smp_chunk **c = &s->chunks[batch][cpu];
	if (!*c) {
		*c = calloc(1, sizeof(**c));
		(*c)->cap = 8192;
		(*c)->data = calloc(1, (*c)->cap);
	}
	struct smp_entry e = {time, h.size, (uint32_t)cpu};
	memcpy((*c)->data + (*c)->used, &e, sizeof(e));
	memcpy((*c)->data + (*c)->used + sizeof(e), r->w, h.size);
	(*c)->used += sizeof(e) + h.size;
	r->n = 0;
}

void synth_mmap2(struct synth_script *s, int batch, int cpu, int32_t pid, uint64_t addr,
		 uint64_t len, uint32_t prot, uint64_t time, const char *file, uint64_t id)
{
	struct synth_rec r = {.n = 0};
	synth_w32x2(&r, (uint32_t)pid, (uint32_t)pid);
	synth_w64(&r, addr);
	synth_w64(&r, len);
	synth_w64(&r, 0);      /* pgoff */
	synth_w32x2(&r, 0, 0); /* maj, min */
	synth_w64(&r, 0);      /* ino */
	synth_w64(&r, 0);      /* ino_generation */
	synth_w32x2(&r, prot, 2 /* MAP_PRIVATE */);
	char name[16] = {0};
	snprintf(name, sizeof(name), "%s", file);
	memcpy(&r.w[r.n + 1], name, 16);
	r.n += 2;
	synth_trailer(&r, (uint32_t)pid, time, (uint32_t)cpu, id);
	synth_put(s, batch, cpu, time, &r, PERF_RECORD_MMAP2);
}
