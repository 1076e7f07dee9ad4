/*
 * The engine (engine.h): sources, the per-record rules, the dispatch to a
 * tool. Modelled on perf's perf_session__deliver_event and ordered_events:
 * the ordering is the merger's, the rules are here, once.
 */
#include "engine.h"
#include "base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Samples per process, for the main binary (the last pid is checked first). */
struct pid_count {
	pid_t pid;
	uint64_t n;
};

struct eng {
	struct eng_source src;
	struct eng_options o;
	struct eng_tool tool;
	struct proc_model *procs;
	struct agg *agg;
	struct mrg *merger;
	struct eng_event *ev;
	size_t nev, ntypes;
	const char **names, **units; /* per sample type, for the aggregation */
	struct eng_stats st;
	struct pid_count *pids;
	size_t npids, pidcap, last_pid;
	struct base_htab pid_index; /* over pids */
	int error;                  /* first aggregation error */
	int tee_error;              /* the perf.data tee's first failure: it stops then */
	char tee_msg[BASE_ERR_MAX];
};

/* --- sources -------------------------------------------------------------------- */

static void session_attr(void *ctx, size_t i, struct perf_event_attr *out, const char **name)
{
	smp_event_open_attr(ctx, (int)i, out, name);
}

static int session_event_of(void *ctx, const struct perf_event_header *h)
{
	return smp_event_index(ctx, pabi_record_id(h));
}

static int session_event_of_id(void *ctx, uint64_t id)
{
	return smp_event_index(ctx, id);
}

void eng_source_from_session(struct eng_source *src, struct smp_session *s)
{
	memset(src, 0, sizeof(*src));
	mrg_source_from_session(&src->records, s);
	src->nevents = (size_t)smp_nevents_total(s);
	src->attr = session_attr;
	src->event_of = session_event_of;
	src->event_of_id = session_event_of_id;
	src->ctx = s;
}

/* A perf.data file read one round at a time into chunks the merger takes. */
struct eng_pd_source {
	struct pabi_perfdata *pd;
	struct smp_chunk *head, *tail;
	uint64_t round_max;   /* newest time read so far */
	uint64_t flush_limit; /* newest time of the round before the last FINISHED_ROUND */
	char err[BASE_ERR_MAX];
};

#define PD_CHUNK_BYTES (256u << 10)

static int pd_append(struct eng_pd_source *p, const struct pabi_pd_record *r)
{
	size_t need = sizeof(struct smp_entry) + r->h->size;
	struct smp_chunk *c = p->tail;
	if (!c || c->cap - c->used < need) {
		size_t cap = need > PD_CHUNK_BYTES ? need : PD_CHUNK_BYTES;
		/* The data follows the chunk, 8-byte aligned as entries and records are. */
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return -ENOMEM;
		*c = (struct smp_chunk){.cap = cap, .data = (unsigned char *)(c + 1)};
		if (p->tail)
			p->tail->next = c;
		else
			p->head = c;
		p->tail = c;
	}
	struct smp_entry e = {r->time, r->h->size, 0};
	memcpy(c->data + c->used, &e, sizeof(e));
	memcpy(c->data + c->used + sizeof(e), r->h, r->h->size);
	c->used += need;
	return 0;
}

static int pd_take(void *arg, struct smp_batch *b)
{
	struct eng_pd_source *p = arg;
	if (!b->per_cpu) {
		if (!(b->per_cpu = calloc(1, sizeof(*b->per_cpu))))
			return -ENOMEM;
		b->ncpus = 1;
	}
	struct pabi_pd_record r;
	int ret;
	while ((ret = pabi_perfdata_next(p->pd, &r, p->err, sizeof(p->err))) > 0) {
		uint32_t type = r.h->type;
		if (type == PERFDATA_FINISHED_ROUND) {
			/* perf flushes up to the previous round's newest time, inclusive. */
			b->safe_time = p->flush_limit + 1;
			p->flush_limit = p->round_max;
			break;
		}
		if (type == PERFDATA_COMPRESSED || type == PERFDATA_COMPRESSED2) {
			return base_fail(
				p->err, sizeof(p->err), -ENOTSUP,
				"record at offset %llu is zstd-compressed "
				"(perf record -z); decompress with `perf inject -i IN -o OUT` "
				"first",
				(unsigned long long)r.offset);
		}
		if (type >= PERFDATA_USER_TYPE_START) /* perf's bookkeeping: read at open */
			continue;
		if ((ret = pd_append(p, &r)) < 0) {
			return base_fail(p->err, sizeof(p->err), ret, "out of memory");
		}
		if (r.time > p->round_max)
			p->round_max = r.time;
	}
	if (ret < 0)
		return ret;
	if (ret == 0)
		b->final = true;
	b->per_cpu[0] = p->head;
	p->head = p->tail = NULL;
	return 0;
}

static void pd_release(void *arg, struct smp_chunk *c)
{
	(void)arg;
	free(c);
}

static void pd_attr(void *ctx, size_t i, struct perf_event_attr *out, const char **name)
{
	const struct pabi_pd_event *e = pabi_perfdata_event(ctx, i);
	*out = e->attr;
	*name = e->name;
}

static int pd_event_of(void *ctx, const struct perf_event_header *h)
{
	return pabi_perfdata_record_event(ctx, h);
}

static int pd_event_of_id(void *ctx, uint64_t id)
{
	return pabi_perfdata_event_of_id(ctx, id);
}

int eng_source_from_perfdata(struct eng_source *src, struct pabi_perfdata *pd)
{
	memset(src, 0, sizeof(*src));
	if (!(src->pd = calloc(1, sizeof(*src->pd))))
		return -ENOMEM;
	src->pd->pd = pd;
	src->records = (struct mrg_source){pd_take, pd_release, src->pd};
	src->nevents = pabi_perfdata_nevents(pd);
	src->attr = pd_attr;
	src->event_of = pd_event_of;
	src->event_of_id = pd_event_of_id;
	src->ctx = pd;
	return 0;
}

void eng_source_free(struct eng_source *src)
{
	if (!src->pd)
		return;
	while (src->pd->head) {
		struct smp_chunk *c = src->pd->head;
		src->pd->head = c->next;
		free(c);
	}
	free(src->pd);
	src->pd = NULL;
}

/* --- the engine ------------------------------------------------------------------ */

/* perf's (and pmuprof's) side-band carrier: it samples nothing, so it is no sample type. */
static bool is_dummy(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_SOFTWARE && a->config == PERF_COUNT_SW_DUMMY;
}

static bool is_clock(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_SOFTWARE &&
	       (a->config == PERF_COUNT_SW_CPU_CLOCK || a->config == PERF_COUNT_SW_TASK_CLOCK);
}

/* Leader sampling: a group-read counter id's sample type, and whether it is per thread. */
static int type_of_id(void *ctx, uint64_t id, bool *per_thread)
{
	struct eng *e = ctx;
	int ev = e->src.event_of_id(e->src.ctx, id);
	*per_thread = ev >= 0 && e->ev[ev].attr.inherit;
	return ev < 0 ? -1 : e->ev[ev].type;
}

/* The aggregation's options follow from the events' attrs, whatever the source. */
static int open_agg(struct eng *e, char *err, size_t errlen)
{
	size_t n = e->ntypes ? e->ntypes : 1;
	if (!(e->names = calloc(n, sizeof(char *))) || !(e->units = calloc(n, sizeof(char *))))
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	const struct perf_event_attr *first = NULL, *dwarf = NULL;
	bool cpu = true, addr = false;
	for (size_t i = 0; i < e->nev; i++) {
		const struct eng_event *ev = &e->ev[i];
		if (ev->type < 0)
			continue;
		e->names[ev->type] = ev->name;
		e->units[ev->type] = is_clock(&ev->attr) ? "nanoseconds" : "count";
		uint64_t st = ev->attr.sample_type;
		cpu &= !!(st & PERF_SAMPLE_CPU); /* a cpu label only when every event samples it */
		addr |= !!(st & PERF_SAMPLE_ADDR);
		if ((st & PERF_SAMPLE_STACK_USER) && (st & PERF_SAMPLE_REGS_USER) && !dwarf)
			dwarf = &ev->attr;
		if (!first)
			first = &ev->attr;
	}
	struct agg_options ao = {
		.event_names = e->names,
		.event_units = e->units,
		.nevents = e->ntypes,
		.period = !first || first->freq ? 0 : (int64_t)first->sample_period,
		.symbolize = e->o.symbolize,
		.cpu_label = cpu,
		.dwarf = dwarf != NULL,
		.regs_user_mask = dwarf ? dwarf->sample_regs_user : 0,
		.event_of_id = type_of_id,
		.id_ctx = e,
		.mem_labels = addr,
		.line_size = e->o.line_size,
		.symbol_cache_bytes = e->o.symbol_cache_bytes,
		.debug_cache_dir = e->o.debug_cache_dir,
	};
	if (cpu && e->o.node_of_cpu) {
		ao.node_of_cpu = e->o.node_of_cpu;
		ao.node_ctx = e->o.node_ctx;
	}
	return agg_new(&e->agg, &ao, e->procs, err, errlen);
}

int eng_new(struct eng **out, const struct eng_source *src, struct proc_model *procs,
	    const struct eng_options *o, char *err, size_t errlen)
{
	struct eng *e = calloc(1, sizeof(*e));
	if (!e)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	e->src = *src;
	e->o = *o;
	if (o->tool)
		e->tool = *o->tool;
	e->procs = procs;
	e->nev = src->nevents;
	int ret;
	if (!(e->ev = calloc(e->nev ? e->nev : 1, sizeof(*e->ev))))
		goto nomem;
	/* Sample types: every event but the side-band dummies (all of them if that is all). */
	size_t ndummy = 0;
	for (size_t i = 0; i < e->nev; i++) {
		struct eng_event *ev = &e->ev[i];
		src->attr(src->ctx, i, &ev->attr, &ev->name);
		pabi_layout_from_attr(&ev->layout, &ev->attr);
		ndummy += is_dummy(&ev->attr);
	}
	for (size_t i = 0; i < e->nev; i++)
		e->ev[i].type = ndummy < e->nev && is_dummy(&e->ev[i].attr) ? -1 : (int)e->ntypes++;
	if ((ret = open_agg(e, err, errlen)) < 0)
		goto fail;
	if (mrg_new(&e->merger, &src->records) < 0)
		goto nomem;
	*out = e;
	return 0;
nomem:
	ret = -ENOMEM;
	base_fail(err, errlen, 0, "out of memory");
fail:
	eng_free(e);
	return ret;
}

void eng_free(struct eng *e)
{
	if (!e)
		return;
	mrg_free(e->merger); /* gives its chunks back before the source goes */
	agg_free(e->agg);
	free(e->ev);
	free(e->names);
	free(e->units);
	free(e->pids);
	base_htab_free(&e->pid_index);
	free(e);
}

static bool pid_eq(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct pid_count *)ctx)[idx].pid == *(const pid_t *)key;
}

static void count_pid(struct eng *e, pid_t pid)
{
	if (e->last_pid < e->npids && e->pids[e->last_pid].pid == pid) {
		e->pids[e->last_pid].n++;
		return;
	}
	/* Only the choice of main binary suffers when memory runs out. */
	if (base_htab_reserve(&e->pid_index) < 0 || BASE_GROW(e->pids, e->pidcap, e->npids + 1) < 0)
		return;
	uint64_t hash = base_htab_mix(0, (uint64_t)(uint32_t)pid);
	struct base_htab_slot *slot = base_htab_find(&e->pid_index, hash, pid_eq, e->pids, &pid);
	if (!slot->idx1) {
		*slot = (struct base_htab_slot){hash, (uint32_t)e->npids + 1};
		e->pid_index.n++;
		e->pids[e->npids++] = (struct pid_count){pid, 0};
	}
	e->last_pid = slot->idx1 - 1;
	e->pids[e->last_pid].n++;
}

static int on_sample(struct eng *e, int idx, const struct perf_event_header *h)
{
	if (idx < 0 || (size_t)idx >= e->nev) {
		e->st.unknown_id++;
		return 0;
	}
	struct eng_event *ev = &e->ev[idx];
	struct pabi_sample s;
	if (pabi_parse_sample(&ev->layout, h, &s) < 0) {
		e->st.bad++;
		return 0;
	}
	/* perf leaves PERIOD out of fixed-period events: the attr holds it. */
	if (!(ev->layout.sample_type & PERF_SAMPLE_PERIOD))
		s.period = ev->attr.freq ? 1 : ev->attr.sample_period;
	ev->samples++;
	count_pid(e, (pid_t)s.pid);
	if (e->o.profile && ev->type >= 0) {
		int ret = agg_add_sample(e->agg, ev->type, &s);
		if (ret < 0 && !e->error)
			e->error = ret;
	}
	return e->tool.sample ? e->tool.sample(e->tool.arg, ev, &s) : 0;
}

/* LOST names its event by id in the body; LOST_SAMPLES by its own trailer. */
static int on_loss(struct eng *e, int idx, const struct perf_event_header *h, uint64_t id,
		   uint64_t n)
{
	int ev = h->type == PERF_RECORD_LOST ? e->src.event_of_id(e->src.ctx, id) : idx;
	if ((ev < 0 || (size_t)ev >= e->nev) && e->nev == 1)
		ev = 0;
	if (ev >= 0 && (size_t)ev < e->nev) {
		e->ev[ev].lost += n;
	} else {
		e->st.unattributed_lost += n;
		ev = -1;
	}
	return e->tool.lost ? e->tool.lost(e->tool.arg, ev, n) : 0;
}

static int on_sideband(struct eng *e, const struct perf_event_header *h)
{
	if ((h->type == PERF_RECORD_MMAP || h->type == PERF_RECORD_MMAP2) && h->size >= 16) {
		/*
		 * pid -1: perf's kernel and module maps. The model keeps processes
		 * only; kernel addresses are symbolized from /proc/kallsyms.
		 */
		int32_t pid;
		memcpy(&pid, h + 1, sizeof(pid));
		if (pid == -1)
			return 0;
	}
	if (proc_apply_record(e->procs, h) < 0)
		e->st.bad++;
	agg_on_sideband(e->agg, h);
	int (*fn)(void *, const struct perf_event_header *) = NULL;
	switch (h->type) {
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
		fn = e->tool.mmap;
		break;
	case PERF_RECORD_COMM:
		fn = e->tool.comm;
		break;
	case PERF_RECORD_FORK:
		fn = e->tool.fork;
		break;
	case PERF_RECORD_EXIT:
		fn = e->tool.exit;
		break;
	default:
		break;
	}
	return fn ? fn(e->tool.arg, h) : 0;
}

/* --perf-data: every record delivered, in delivery order, and a round after each pump. */
static void tee_record(struct eng *e, const struct perf_event_header *h)
{
	if (e->o.perf_data && !e->tee_error)
		e->tee_error = pabi_pdw_write(e->o.perf_data, h, e->tee_msg, sizeof(e->tee_msg));
}

static void tee_round(struct eng *e)
{
	if (e->o.perf_data && !e->tee_error)
		e->tee_error =
			pabi_pdw_finish_round(e->o.perf_data, e->tee_msg, sizeof(e->tee_msg));
}

int eng_perf_data_error(const struct eng *e, const char **msg)
{
	*msg = e->tee_msg;
	return e->tee_error;
}

static int deliver(void *arg, const struct mrg_record *r)
{
	struct eng *e = arg;
	const struct perf_event_header *h = r->h;
	int ret;
	tee_record(e, h);
	if (e->tool.record && (ret = e->tool.record(e->tool.arg, h)) < 0)
		return ret;
	int idx = e->src.event_of(e->src.ctx, h);
	if (h->type == PERF_RECORD_SAMPLE)
		return on_sample(e, idx, h);
	uint64_t id, n;
	int loss = pabi_record_loss(h, &id, &n);
	if (loss < 0) {
		e->st.bad++;
		return 0;
	}
	if (loss > 0)
		return on_loss(e, idx, h, id, n);
	if (h->type == PERF_RECORD_THROTTLE || h->type == PERF_RECORD_UNTHROTTLE) {
		if (idx < 0 || (size_t)idx >= e->nev)
			idx = 0; /* perf gives records without a known id to the first event */
		if (h->type == PERF_RECORD_THROTTLE && e->nev)
			e->ev[idx].throttles++;
		return e->tool.throttle ? e->tool.throttle(e->tool.arg, idx,
							   h->type == PERF_RECORD_UNTHROTTLE)
					: 0;
	}
	return on_sideband(e, h);
}

int eng_apply(struct eng *e, const struct perf_event_header *h)
{
	struct mrg_record r = {.h = h};
	return deliver(e, &r);
}

static int apply_synthesized(void *e, const struct perf_event_header *h)
{
	return eng_apply(e, h);
}

int eng_synthesize(struct eng *e, pid_t pid, bool data, const struct pabi_layout *l,
		   const struct pabi_sample_id *sid, char *err, size_t errlen)
{
	return pid < 0 ? pabi_synthesize_all(data, l, sid, apply_synthesized, e, err, errlen)
		       : pabi_synthesize(pid, data, l, sid, apply_synthesized, e, err, errlen);
}

int eng_synthesize_kernel(struct eng *e, const struct pabi_layout *l,
			  const struct pabi_sample_id *sid, char *err, size_t errlen)
{
	return pabi_synthesize_kernel(l, sid, apply_synthesized, e, err, errlen);
}

int eng_pump(struct eng *e)
{
	int ret = mrg_pump(e->merger, deliver, e);
	tee_round(e);
	if (ret == 0 && e->tool.finished_round)
		ret = e->tool.finished_round(e->tool.arg);
	return ret < 0 ? ret : e->error;
}

bool eng_behind(const struct eng *e)
{
	return mrg_behind(e->merger);
}

int eng_run(struct eng *e, char *err, size_t errlen)
{
	int ret;
	do
		ret = eng_pump(e);
	while (ret == 0 && !mrg_final(e->merger));
	if (ret == 0)
		return 0;
	if (e->src.pd && e->src.pd->err[0])
		base_fail(err, errlen, 0, "%s", e->src.pd->err);
	else if (ret == e->error)
		base_fail(err, errlen, 0, "aggregating samples: %s", strerror(-ret));
	else
		base_fail(err, errlen, 0, "%s", strerror(-ret));
	return ret;
}

size_t eng_nevents(const struct eng *e)
{
	return e->nev;
}

const struct eng_event *eng_event(const struct eng *e, size_t i)
{
	return i < e->nev ? &e->ev[i] : NULL;
}

size_t eng_ntypes(const struct eng *e)
{
	return e->ntypes;
}

struct agg *eng_agg(struct eng *e)
{
	return e->agg;
}

void eng_get_stats(const struct eng *e, struct eng_stats *st)
{
	*st = e->st;
}

void eng_loss_totals(const struct eng *e, uint64_t *lost, uint64_t *throttles)
{
	*lost = e->st.unattributed_lost;
	*throttles = 0;
	for (size_t i = 0; i < e->nev; i++) {
		*lost += e->ev[i].lost;
		*throttles += e->ev[i].throttles;
	}
}

int eng_add_run_comments(const struct eng *e, struct pprof *prof, const char *head, int argc,
			 char **argv)
{
	struct pprof_event_counts *ev = calloc(e->ntypes ? e->ntypes : 1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	struct pprof_run_comments c = {.head = head,
				       .argc = argc,
				       .argv = argv,
				       .ev = ev,
				       .nev = e->ntypes,
				       .unattributed_lost = e->st.unattributed_lost};
	for (size_t i = 0; i < e->nev; i++) {
		const struct eng_event *x = &e->ev[i];
		if (x->type >= 0) {
			ev[x->type] = (struct pprof_event_counts){x->name, x->samples, x->lost,
								  x->throttles};
		} else {
			c.unattributed_lost += x->lost;
			c.unattributed_throttles += x->throttles;
		}
	}
	int ret = pprof_add_run_comments(prof, &c);
	free(ev);
	return ret;
}

int eng_skipped_summary(const struct eng *e, char *buf, size_t len)
{
	if (!e->st.bad && !e->st.unknown_id)
		return 0;
	return snprintf(buf, len,
			"malformed records skipped: %llu; samples of unknown event id: "
			"%llu",
			(unsigned long long)e->st.bad, (unsigned long long)e->st.unknown_id);
}

pid_t eng_main_pid(const struct eng *e)
{
	pid_t best = 0;
	uint64_t n = 0;
	for (size_t i = 0; i < e->npids; i++)
		if (e->pids[i].n > n && e->pids[i].pid != 0 && e->pids[i].pid != -1)
			best = e->pids[i].pid, n = e->pids[i].n;
	return best;
}
