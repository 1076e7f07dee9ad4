/*
 * numa record's page table: sampled pages with their first touch and later
 * faults, their node from topology's page queries and when they moved, and
 * the tallies and labels drawn from them (numa.h).
 */
#include "numa.h"
#include "base.h"
#include "numa_internal.h"
#include "topology.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Page numbers asked of the kernel at a time (the arrays, on the stack). */
#define QUERY_BATCH 1024
/*
 * Every sampled page is asked again at most this often while the run goes
 * on, and the passes take at most 1/TRACK_COST of the time: a page found on
 * another node records a move between the two queries' times.
 */
#define TRACK_INTERVAL_NS 200000000ull
#define TRACK_COST 50
/* New pages are asked at most this long after their first sample is processed. */
#define NEW_PAGES_NS 20000000ull
#define NO_MOVE UINT32_MAX
#define NO_SAMPLE UINT32_MAX
/* Pages of one object's range asked at most: a larger range is asked every Nth page. */
#define RANGE_MAX_PAGES 65536

struct page {
	pid_t pid;
	uint64_t pageno;
	/* first_sample NO_SAMPLE: its first sample was a PMU access, its first touch unseen */
	uint32_t object, first_thread, first_sample;
	const char *first_func;
	int first_node; /* at the first query that found it on a node; -1: none */
	int node;       /* where the last query or migration put it; -1: none (err says why) */
	int err;        /* errno of the last query of it, 0: none */
	bool queried;
	uint64_t found_ns;              /* the last query that found it on a node */
	uint64_t first_found_ns;        /* the first one */
	uint32_t first_move, last_move; /* its moves, oldest first, into moves; NO_MOVE: none */
};

/*
 * A sampled page that changed node: a query found it on another node than
 * before, or a migration tracepoint reported it (before_ns == after_ns, its
 * time). from -1: where it was is not known (it moved before any query).
 */
struct move {
	uint32_t page, next; /* next: the page's next move, NO_MOVE: none */
	int from, to;        /* to -1: not known yet (the next query fills it in) */
	uint64_t before_ns, after_ns; /* when it was last seen on `from`, first on `to` */
};

struct sample {
	uint32_t page, thread;
	int32_t cpu, node; /* node -1: unknown */
	int type;          /* sample type index of its event */
	bool pmu;          /* a PMU's load or store (PEBS, IBS), not a page fault */
	enum numa_access access; /* a PMU sample's, by its data_src */
	uint64_t period, time;
	size_t stack, nstack; /* into stacks */
};

struct numa_run {
	struct numa_options o;
	long page_shift;
	struct c2c_resolver *names;
	struct page *pages;
	size_t npages, pagecap;
	struct base_htab page_index;
	struct numa_object *objects;
	size_t nobjects, objcap;
	struct base_htab object_index;
	struct numa_thread *threads;
	size_t nthreads, threadcap;
	struct base_htab thread_index;
	struct sample *samples;
	size_t nsamples, samplecap;
	uint64_t *stacks;
	size_t nstacks, stackcap;
	struct move *moves;
	size_t nmoves, movecap;
	uint64_t start_ns;     /* numa_new's time: move times are from it */
	uint64_t next_pass_ns; /* numa_track asks every page again from then */
	uint64_t new_asked_ns; /* when new pages were last asked */
	size_t first_unasked;  /* pages before it were asked by numa_track */
	int64_t *values; /* 1 + ntypes */
	bool finished;
};

int numa_new(struct numa_run **out, const struct numa_options *o, char *err, size_t errlen)
{
	struct sym_cache *syms = agg_symbols(o->agg);
	if (!syms)
		return base_fail(err, errlen, -EINVAL, "numa: the aggregation must symbolize");
	struct numa_run *r = calloc(1, sizeof(*r));
	if (!r || !(r->values = calloc(1 + o->ntypes, sizeof(*r->values))) ||
	    c2c_resolver_new(&r->names, o->procs, syms) < 0) {
		numa_free(r);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	r->o = *o;
	r->start_ns = base_mono_ns();
	long ps = sysconf(_SC_PAGESIZE);
	r->page_shift = __builtin_ctzl((unsigned long)(ps > 0 ? ps : 4096));
	*out = r;
	return 0;
}

void numa_free(struct numa_run *r)
{
	if (!r)
		return;
	c2c_resolver_free(r->names);
	for (size_t i = 0; i < r->nobjects; i++) {
		free(r->objects[i].name);
		free(r->objects[i].touchers);
	}
	free(r->objects);
	free(r->pages);
	free(r->threads);
	free(r->samples);
	free(r->stacks);
	free(r->moves);
	free(r->values);
	base_htab_free(&r->page_index);
	base_htab_free(&r->object_index);
	base_htab_free(&r->thread_index);
	free(r);
}

/* --- the three indexes: pages by (pid, page), objects by (pid, kind, start), threads by tid --- */

struct key {
	int64_t pid;
	uint64_t a, b;
};

static bool page_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct page *p = &((const struct numa_run *)ctx)->pages[idx];
	const struct key *k = key;
	return p->pid == k->pid && p->pageno == k->a;
}

static bool object_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct numa_object *o = &((const struct numa_run *)ctx)->objects[idx];
	const struct key *k = key;
	return o->pid == k->pid && o->start == k->a &&
	       ((uint64_t)o->kind | (uint64_t)o->allocation << 8) == k->b;
}

static bool thread_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct numa_thread *t = &((const struct numa_run *)ctx)->threads[idx];
	const struct key *k = key;
	return t->pid == k->pid && t->tid == k->a;
}

static uint64_t key_hash(const struct key *k)
{
	return base_htab_mix(base_htab_mix(base_htab_mix(0, (uint64_t)k->pid), k->a), k->b);
}

/* numa_index_entry with a key of this file's three indexes. */
static int64_t find_or_add(struct numa_run *r, struct base_htab *h, base_htab_eq_fn eq,
			   const struct key *k, void **arr, size_t *n, size_t *cap, size_t size,
			   bool *added)
{
	return numa_index_entry(h, key_hash(k), eq, r, k, arr, n, cap, size, added);
}

int64_t numa_index_entry(struct base_htab *h, uint64_t hash, base_htab_eq_fn eq, const void *ctx,
			 const void *key, void **arr, size_t *n, size_t *cap, size_t size,
			 bool *added)
{
	*added = false;
	if (base_htab_reserve(h) < 0 || *n >= UINT32_MAX)
		return -ENOMEM;
	struct base_htab_slot *slot = base_htab_find(h, hash, eq, ctx, key);
	if (slot->idx1)
		return slot->idx1 - 1;
	if (base_grow(arr, cap, *n + 1, size) < 0)
		return -ENOMEM;
	memset((char *)*arr + *n * size, 0, size);
	*slot = (struct base_htab_slot){hash, (uint32_t)(*n + 1)};
	h->n++;
	*added = true;
	return (int64_t)(*n)++;
}

void numa_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 4)
		v /= 1024, u++;
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* The function a return address returns into (the call is the instruction before it). */
static const char *caller_name(struct numa_run *r, pid_t pid, uint64_t ret_addr)
{
	struct c2c_sample cs = {.pid = (uint32_t)pid, .tid = (uint32_t)pid, .ip = ret_addr - 1};
	c2c_resolve(r->names, &cs);
	return cs.func ? cs.func : "[unknown]";
}

/*
 * The heap block libpmuprof_alloc.so reported holding addr at `time`, named by
 * what made it: "malloc 1.0 MiB in make_grid < main". 0 when there is none.
 */
static int alloc_object(struct numa_run *r, pid_t pid, uint64_t addr, uint64_t time,
			struct c2c_object *co, char *name, size_t len)
{
	/*
	 * The pipeline drains the channel before each merge, but the block may have
	 * been reported after that and before this fault's ring was read: drain
	 * now, when everything published before the fault is in.
	 */
	(void)lbl_drain(r->o.allocs);
	struct eng_allocs *a = lbl_allocs(r->o.allocs);
	const struct eng_alloc *b = a ? eng_allocs_find(a, (uint32_t)pid, addr, time) : NULL;
	if (!b)
		return 0;
	char size[32];
	numa_human_size(b->len, size, sizeof(size));
	int n = snprintf(name, len, "%s %s", b->how == CHANNEL_ALLOC_MMAP ? "mmap" : "malloc", size);
	/* The allocating function and its caller. */
	for (uint32_t i = 0; i < b->nips && i < 2 && n > 0 && (size_t)n < len; i++)
		n += snprintf(name + n, len - (size_t)n, "%s%s", i ? " < " : " in ",
			      caller_name(r, pid, b->ips[i]));
	co->start = b->addr;
	co->end = b->addr + b->len;
	return 1;
}

/* The entry of index h equal to k, or -1. */
static int64_t index_find(const struct base_htab *h, base_htab_eq_fn eq, const struct numa_run *r,
			  const struct key *k)
{
	if (!h->cap)
		return -1;
	const struct base_htab_slot *slot = base_htab_find(h, key_hash(k), eq, r, k);
	return slot->idx1 ? (int64_t)slot->idx1 - 1 : -1;
}

/* k, which eq finds equal to entry i, names it in index h too. 0 or -ENOMEM. */
static int index_alias(struct base_htab *h, base_htab_eq_fn eq, const struct numa_run *r,
		       const struct key *k, int64_t i)
{
	if (base_htab_reserve(h) < 0)
		return -ENOMEM;
	struct base_htab_slot *slot = base_htab_find(h, key_hash(k), eq, r, k);
	if (!slot->idx1) {
		*slot = (struct base_htab_slot){key_hash(k), (uint32_t)(i + 1)};
		h->n++;
	}
	return 0;
}

static int name_object(struct numa_run *r, int64_t i, const struct c2c_object *co, char *buf);
static int64_t widen_object(struct numa_run *r, int64_t i, const struct c2c_object *co);

/* The object holding a page's first sampled address, named as the summary shows it. */
static int64_t object_of(struct numa_run *r, pid_t pid, uint64_t addr, uint64_t time)
{
	struct c2c_object co;
	(void)c2c_data_object(r->names, pid, addr,
			      &co); /* a FILE without vaddr is still the file */
	/* A symbol of no size (_DYNAMIC, a label) is no object: its page is the mapping's. */
	const struct proc_map *m;
	if (co.kind == C2C_OBJ_SYMBOL && co.end <= co.start &&
	    (m = proc_find_map(r->o.procs, pid, addr)) && m->filename) {
		co = (struct c2c_object){
			.kind = C2C_OBJ_FILE, .name = m->filename, .start = m->start, .end = m->end};
	}
	char buf[512];
	bool allocation = (co.kind == C2C_OBJ_HEAP || co.kind == C2C_OBJ_ANON) &&
			  alloc_object(r, pid, addr, time, &co, buf, sizeof(buf));
	struct key k = {pid, co.start, (uint64_t)co.kind | (uint64_t)allocation << 8};
	bool mapping = !allocation && (co.kind == C2C_OBJ_HEAP || co.kind == C2C_OBJ_ANON ||
				       co.kind == C2C_OBJ_STACK);
	int64_t i = index_find(&r->object_index, object_eq, r, &k);
	if (i >= 0)
		return mapping ? widen_object(r, i, &co) : i;
	/*
	 * The heap grows, and the kernel merges an anonymous mapping with the one
	 * beside it: an object the mapping overlaps is the same one, widened (this
	 * key now names it too), so no page is counted twice.
	 */
	for (size_t j = 0; mapping && j < r->nobjects; j++) {
		const struct numa_object *o = &r->objects[j];
		if (o->pid == pid && o->kind == co.kind && !o->allocation && co.start < o->end &&
		    o->start < co.end) {
			int64_t w = widen_object(r, (int64_t)j, &co);
			if (w >= 0 && r->objects[w].start == co.start &&
			    index_alias(&r->object_index, object_eq, r, &k, w) < 0)
				return -ENOMEM;
			return w;
		}
	}
	bool added;
	i = find_or_add(r, &r->object_index, object_eq, &k, (void **)&r->objects, &r->nobjects,
			&r->objcap, sizeof(*r->objects), &added);
	if (i < 0)
		return i;
	struct numa_object *o = &r->objects[i];
	*o = (struct numa_object){
		.pid = pid, .kind = co.kind, .allocation = allocation, .start = co.start, .end = co.end};
	return name_object(r, i, &co, buf) < 0 ? -ENOMEM : i;
}

/* The name of object i (an allocation's: buf), as the summary shows it. 0 or -ENOMEM. */
static int name_object(struct numa_run *r, int64_t i, const struct c2c_object *co, char *buf)
{
	struct numa_object *o = &r->objects[i];
	char size[32];
	const size_t len = 512;
	numa_human_size(o->end - o->start, size, sizeof(size));
	switch (o->allocation ? (enum c2c_object_kind) - 1 : co->kind) {
	default: /* an allocation: named above */
		break;
	case C2C_OBJ_KERNEL:
		snprintf(buf, len, "[kernel]");
		break;
	case C2C_OBJ_UNKNOWN:
		snprintf(buf, len, "[unknown]");
		break;
	case C2C_OBJ_HEAP:
		snprintf(buf, len, "[heap]");
		break;
	case C2C_OBJ_STACK:
		snprintf(buf, len, "[stack]");
		break;
	case C2C_OBJ_ANON:
		/* A range names it: threads' stacks and large allocations are all anonymous. */
		snprintf(buf, len, "%s 0x%" PRIx64 "-0x%" PRIx64 " (%s)",
			 co->name && co->name[0] == '[' ? co->name : "anon", o->start, o->end,
			 size);
		break;
	case C2C_OBJ_SYMBOL:
	case C2C_OBJ_FILE:
		snprintf(buf, len, "%s", co->name);
		break;
	}
	char *name = strdup(buf);
	if (!name)
		return -ENOMEM;
	free(o->name);
	o->name = name;
	return 0;
}

/* Object i widened to hold the mapping co (grown, or merged with a neighbour); i or -ENOMEM. */
static int64_t widen_object(struct numa_run *r, int64_t i, const struct c2c_object *co)
{
	struct numa_object *o = &r->objects[i];
	if (co->start >= o->start && co->end <= o->end)
		return i;
	o->start = co->start < o->start ? co->start : o->start;
	o->end = co->end > o->end ? co->end : o->end;
	char buf[512];
	return name_object(r, i, co, buf) < 0 ? -ENOMEM : i;
}

static int64_t thread_of(struct numa_run *r, pid_t pid, uint32_t tid)
{
	struct key k = {pid, tid, 0};
	bool added;
	int64_t i = find_or_add(r, &r->thread_index, thread_eq, &k, (void **)&r->threads,
				&r->nthreads, &r->threadcap, sizeof(*r->threads), &added);
	if (i >= 0 && added) {
		struct numa_thread *t = &r->threads[i];
		t->pid = pid;
		t->tid = tid;
		t->last_node = -1;
		const char *comm = proc_comm(r->o.procs, pid, (pid_t)tid);
		snprintf(t->comm, sizeof(t->comm), "%s", comm ? comm : "[unknown]");
	}
	return i;
}

static int query_span(struct numa_run *r, size_t from, size_t to);

int numa_sample(void *arg, const struct eng_event *ev, const struct pabi_sample *s)
{
	struct numa_run *r = arg;
	if (ev->type < 0 || !(ev->attr.sample_type & PERF_SAMPLE_ADDR) ||
	    (r->o.self && (pid_t)s->pid == r->o.self))
		return 0;
	/*
	 * Page faults are the software event; any other event sampling addresses
	 * is the PMU's (PEBS, IBS), whose op that is no load or store has none.
	 */
	bool pmu = ev->attr.type != PERF_TYPE_SOFTWARE;
	if (pmu && !s->addr)
		return 0;
	pid_t pid = (pid_t)s->pid;
	/*
	 * A fault on a mapped huge page (NUMA balancing's hinting fault on a
	 * transparent huge page) is a fault on the page at its start, where its
	 * first touch faulted (the data page size is 0 while nothing is mapped).
	 */
	uint64_t size = 1ull << r->page_shift;
	if (s->data_page_size > size && !(s->data_page_size & (s->data_page_size - 1)))
		size = s->data_page_size;
	struct key k = {pid, (s->addr & ~(size - 1)) >> r->page_shift, 0};
	bool added;
	int64_t page = find_or_add(r, &r->page_index, page_eq, &k, (void **)&r->pages, &r->npages,
				   &r->pagecap, sizeof(*r->pages), &added);
	int64_t thread = page < 0 ? page : thread_of(r, pid, s->tid);
	if (thread < 0 || BASE_GROW(r->samples, r->samplecap, r->nsamples + 1) < 0 ||
	    BASE_GROW(r->stacks, r->stackcap, r->nstacks + AGG_MAX_STACK) < 0)
		return -ENOMEM;
	struct sample *sm = &r->samples[r->nsamples];
	*sm = (struct sample){
		.page = (uint32_t)page,
		.thread = (uint32_t)thread,
		.cpu = (int32_t)s->cpu,
		.node = r->o.node_of_cpu ? r->o.node_of_cpu(r->o.node_ctx, (int)s->cpu) : -1,
		.type = ev->type,
		.period = s->period,
		.time = s->time,
		.stack = r->nstacks,
		.pmu = pmu,
	};
	if (sm->pmu)
		sm->access = numa_access_of_data_src(s->data_src);
	/* Samples come in time order: a change of node is the thread's move. */
	struct numa_thread *t = &r->threads[thread];
	if (sm->node >= 0) {
		if (t->last_node < 0)
			t->first_ns = s->time;
		else if (sm->node != t->last_node) {
			t->node_switches++;
			t->switch_ns = s->time;
		}
		t->last_node = sm->node;
		t->last_ns = s->time;
	}
	sm->nstack = agg_sample_stack(r->o.agg, s, r->stacks + r->nstacks);
	r->nstacks += sm->nstack;
	if (added) {
		/*
		 * The first touch: named now, while the process model holds this
		 * moment's maps. A load or store faults before the PMU records it:
		 * a page first seen by the PMU was touched before, unsampled.
		 */
		struct page *p = &r->pages[page];
		p->pid = pid;
		p->pageno = k.a;
		p->node = p->first_node = -1;
		p->first_move = p->last_move = NO_MOVE;
		p->first_thread = (uint32_t)thread;
		p->first_sample = sm->pmu ? NO_SAMPLE : (uint32_t)r->nsamples;
		struct c2c_sample cs = {
			.pid = s->pid,
			.tid = s->tid,
			.ip = s->ip,
			.ip_kernel = pabi_addr_is_kernel(pabi_mode_of_misc(s->misc), s->ip),
		};
		c2c_resolve(r->names, &cs);
		p->first_func = cs.func;
		int64_t obj = object_of(r, pid, s->addr, s->time);
		if (obj < 0)
			return (int)obj;
		p->object = (uint32_t)obj;
	}
	r->nsamples++;
	/*
	 * A long batch (the first symbols read) must not delay the new pages'
	 * first query until balancing has moved them: ask every NEW_PAGES_NS.
	 */
	uint64_t now = added && r->o.nnodes > 1 ? base_mono_ns() : 0;
	if (now && now - r->new_asked_ns >= NEW_PAGES_NS) {
		r->new_asked_ns = now;
		int e = query_span(r, r->first_unasked, r->npages);
		r->first_unasked = r->npages;
		if (e == -ENOMEM)
			return e;
	}
	return 0;
}

/* --- where the pages are ------------------------------------------------------ */

static int add_move(struct numa_run *r, uint32_t page, int from, int to, uint64_t before,
		    uint64_t after)
{
	if (BASE_GROW(r->moves, r->movecap, r->nmoves + 1) < 0)
		return -ENOMEM;
	struct page *p = &r->pages[page];
	uint32_t m = (uint32_t)r->nmoves++;
	r->moves[m] = (struct move){.page = page,
				    .next = NO_MOVE,
				    .from = from,
				    .to = to,
				    .before_ns = before,
				    .after_ns = after};
	if (p->last_move == NO_MOVE)
		p->first_move = m;
	else
		r->moves[p->last_move].next = m;
	p->last_move = m;
	return 0;
}

/* The sampled page (pid, pageno), or -1. */
static int64_t page_find(const struct numa_run *r, pid_t pid, uint64_t pageno)
{
	struct key k = {pid, pageno, 0};
	return index_find(&r->page_index, page_eq, r, &k);
}

int numa_page_moved(struct numa_run *r, pid_t pid, uint64_t addr, uint64_t len, int to,
		    uint64_t time)
{
	uint64_t first = addr >> r->page_shift, last = (addr + len - 1) >> r->page_shift;
	for (uint64_t pg = first; pg <= last; pg++) {
		int64_t i = page_find(r, pid, pg);
		if (i < 0)
			continue;
		struct page *p = &r->pages[i];
		struct move *m = p->last_move == NO_MOVE ? NULL : &r->moves[p->last_move];
		if (to >= 0 && p->node == to) {
			/* A query found it there already: the tracepoint times that move. */
			if (m && m->to == to && m->before_ns <= time && time <= m->after_ns)
				m->before_ns = m->after_ns = time;
			else if (time < p->first_found_ns && p->first_move == NO_MOVE &&
				 p->first_node == to)
				/* Its first query came after it moved: from where is not known. */
				if (add_move(r, (uint32_t)i, -1, to, time, time) < 0)
					return -ENOMEM;
			continue;
		}
		if (add_move(r, (uint32_t)i, p->node, to, time, time) < 0)
			return -ENOMEM;
		p->node = to;
		p->found_ns = time;
	}
	return 0;
}

/* Asks the kernel where pages idx[0..n) of process pid are now. */
static int query_batch(struct numa_run *r, pid_t pid, const uint32_t *idx, size_t n, uint64_t now)
{
	uint64_t addrs[QUERY_BATCH];
	int node[QUERY_BATCH];
	for (size_t i = 0; i < n; i++)
		addrs[i] = r->pages[idx[i]].pageno << r->page_shift;
	int err = topo_page_nodes(pid, addrs, n, node);
	/*
	 * A page NUMA balancing's scan made inaccessible until its next hinting
	 * fault has no node for move_pages (ENOENT): its frame's node says it.
	 */
	uint64_t phys[QUERY_BATCH];
	bool hidden = false;
	for (size_t i = 0; i < n && !err && r->o.phys; i++)
		hidden |= node[i] == -ENOENT;
	if (hidden && topo_page_frames(pid, addrs, n, phys) == 0)
		for (size_t i = 0; i < n; i++)
			if (node[i] == -ENOENT && phys[i]) {
				int at = topo_phys_node(r->o.phys, phys[i]);
				node[i] = at >= 0 ? at : node[i];
			}
	for (size_t i = 0; i < n; i++) {
		struct page *p = &r->pages[idx[i]];
		p->queried = !err;
		if (err) {
			p->err = -err;
			continue;
		}
		/*
		 * No node: not present, or (ENOENT) made inaccessible by balancing's
		 * scan until its next hinting fault, or being migrated: where it was
		 * stays its node, for the next query to see a move.
		 */
		p->err = node[i] < 0 ? -node[i] : 0;
		if (node[i] < 0)
			continue;
		struct move *last = p->last_move == NO_MOVE ? NULL : &r->moves[p->last_move];
		if (last && last->to < 0 && p->node < 0)
			last->to = node[i]; /* a tracepoint's move whose node was not known */
		else if (p->node >= 0 && node[i] != p->node &&
			 add_move(r, idx[i], p->node, node[i], p->found_ns, now) < 0)
			return -ENOMEM;
		if (p->first_node < 0) {
			p->first_node = node[i];
			p->first_found_ns = now;
		}
		p->node = node[i];
		p->found_ns = now;
	}
	return err;
}

/* Pages idx[0..n), asked a batch of one process at a time. The first error, or 0. */
static int query_list(struct numa_run *r, const uint32_t *idx, size_t n)
{
	uint64_t now = base_mono_ns();
	int ret = 0;
	for (size_t i = 0; i < n;) {
		pid_t pid = r->pages[idx[i]].pid;
		size_t k = 1;
		while (k < QUERY_BATCH && i + k < n && r->pages[idx[i + k]].pid == pid)
			k++;
		int e = query_batch(r, pid, idx + i, k, now);
		if (e == -ENOMEM)
			return e;
		ret = ret ? ret : e;
		i += k;
	}
	return ret;
}

/* Pages [from, to), in sample order: a process's pages mostly come together. */
static int query_span(struct numa_run *r, size_t from, size_t to)
{
	uint32_t idx[QUERY_BATCH];
	int ret = 0;
	while (from < to) {
		size_t n = 0;
		for (; n < QUERY_BATCH && from < to; n++)
			idx[n] = (uint32_t)from++;
		int e = query_list(r, idx, n);
		if (e == -ENOMEM)
			return e;
		ret = ret ? ret : e;
	}
	return ret;
}

/* Every page of o's range (at least the page of its start), or every range_stride-th. */
static int query_object(struct numa_run *r, struct numa_object *o)
{
	uint64_t page = 1ull << r->page_shift;
	uint64_t first = o->start >> r->page_shift;
	uint64_t last = (o->end + page - 1) >> r->page_shift;
	if (last <= first)
		last = first + 1;
	uint64_t stride = (last - first + RANGE_MAX_PAGES - 1) / RANGE_MAX_PAGES;
	unsigned long on[NUMA_MAX_NODES] = {0};
	long found =
		topo_pages_per_node(o->pid, first << r->page_shift, (last - first) << r->page_shift,
				    stride, on, NUMA_MAX_NODES, NULL);
	o->range_stride = stride;
	if (found < 0) {
		o->range_err = (int)-found;
		o->range_asked = o->range_absent = 0;
		return (int)found;
	}
	for (int n = 0; n < NUMA_MAX_NODES; n++)
		o->pages_on[n] = on[n];
	o->range_asked = (last - first + stride - 1) / stride;
	o->range_absent = o->range_asked - (uint64_t)found; /* with nodes beyond NUMA_MAX_NODES */
	o->range_err = 0;
	return 0;
}

int numa_query(struct numa_run *r, pid_t pid)
{
	int ret = 0;
	for (size_t i = 0; i < r->nobjects; i++) {
		if (r->objects[i].pid != pid || r->objects[i].kind == C2C_OBJ_KERNEL ||
		    r->objects[i].kind == C2C_OBJ_UNKNOWN)
			continue;
		int e = query_object(r, &r->objects[i]);
		ret = ret ? ret : e;
	}
	uint32_t idx[QUERY_BATCH];
	size_t n = 0;
	for (size_t i = 0; i <= r->npages; i++) {
		if (n == QUERY_BATCH || (i == r->npages && n)) {
			int e = query_list(r, idx, n);
			if (e == -ENOMEM)
				return e;
			ret = ret ? ret : e;
			n = 0;
		}
		if (i < r->npages && r->pages[i].pid == pid)
			idx[n++] = (uint32_t)i;
	}
	return ret;
}

int numa_track(struct numa_run *r)
{
	int ret = query_span(r, r->first_unasked, r->npages);
	r->first_unasked = r->npages;
	uint64_t now = base_mono_ns();
	/* One node: no page can move. */
	if (ret == -ENOMEM || r->o.nnodes <= 1 || now < r->next_pass_ns)
		return ret;
	int e = query_span(r, 0, r->npages);
	uint64_t took = base_mono_ns() - now;
	r->next_pass_ns =
		base_mono_ns() +
		(took * TRACK_COST > TRACK_INTERVAL_NS ? took * TRACK_COST : TRACK_INTERVAL_NS);
	return ret ? ret : e;
}

int numa_query_all(struct numa_run *r)
{
	int ret = 0;
	pid_t last = 0;
	for (size_t i = 0; i < r->nthreads; i++) {
		/* Threads in first-sample order: a process's come together, mostly. */
		pid_t pid = r->threads[i].pid;
		bool seen = pid == last;
		for (size_t j = 0; j < i && !seen; j++)
			seen = r->threads[j].pid == pid;
		last = pid;
		if (seen)
			continue;
		int e = numa_query(r, pid);
		if (e == -ENOMEM)
			return e;
		ret = ret ? ret : e;
	}
	return ret;
}

/*
 * The node page p was on at time t: where its last move before t took it
 * (a migration tracepoint's time, or the query that found it moved: a
 * hinting fault that moves a page comes before that query), else where it
 * was before its first move (-1 when a tracepoint moved it before any query
 * found it), else where the first query found it; -1 none.
 */
static int node_at(const struct numa_run *r, const struct page *p, uint64_t t)
{
	int node = p->first_move != NO_MOVE ? r->moves[p->first_move].from : p->first_node;
	for (uint32_t m = p->first_move; m != NO_MOVE && r->moves[m].after_ns <= t;
	     m = r->moves[m].next)
		node = r->moves[m].to;
	return node;
}

/* --- tallies and the profile -------------------------------------------------- */

enum numa_access numa_access_of_data_src(uint64_t data_src)
{
	struct pabi_memsrc m;
	pabi_memsrc_decode(data_src, &m);
	if (m.level == PABI_MEMSRC_LVL_NA)
		return NUMA_ACCESS_UNKNOWN;
	return m.remote || m.level == PABI_MEMSRC_LVL_REMOTE_RAM ||
			       m.level == PABI_MEMSRC_LVL_REMOTE_CACHE
		       ? NUMA_ACCESS_REMOTE
		       : NUMA_ACCESS_LOCAL;
}

/*
 * A sample's access: a PMU sample's by where its data came from (a remote
 * page's line in this node's cache is a local access), else the faulting
 * CPU's node against the page's at the fault.
 */
static enum numa_access sample_access(const struct sample *s, int data_node)
{
	if (s->pmu && s->access != NUMA_ACCESS_UNKNOWN)
		return s->access;
	if (s->node < 0 || data_node < 0)
		return NUMA_ACCESS_UNKNOWN;
	return s->node == data_node ? NUMA_ACCESS_LOCAL : NUMA_ACCESS_REMOTE;
}

static int add_toucher(struct numa_object *o, const struct numa_thread *t, int node,
		       const char *func)
{
	for (size_t i = 0; i < o->ntouchers; i++) {
		struct numa_toucher *x = &o->touchers[i];
		if (x->tid == t->tid && x->node == node && x->func == func) {
			x->pages++;
			return 0;
		}
	}
	size_t cap = o->ntouchers; /* grown one by one: few threads first-touch an object */
	if (base_grow((void **)&o->touchers, &cap, o->ntouchers + 1, sizeof(*o->touchers)) < 0)
		return -ENOMEM;
	o->touchers[o->ntouchers++] = (struct numa_toucher){t->tid, node, func, t->comm, 1};
	return 0;
}

static int by_pages(const void *a, const void *b)
{
	const struct numa_toucher *x = a, *y = b;
	return x->pages < y->pages   ? 1
	       : x->pages > y->pages ? -1
				     : (x->tid > y->tid) - (x->tid < y->tid);
}

/* Threads (pointers) by node switches, descending. */
static int by_switches(const void *a, const void *b)
{
	const struct numa_thread *x = *(const struct numa_thread *const *)a;
	const struct numa_thread *y = *(const struct numa_thread *const *)b;
	return x->node_switches < y->node_switches   ? 1
	       : x->node_switches > y->node_switches ? -1
						     : 0;
}

static int by_faults(const void *a, const void *b)
{
	const struct numa_object *x = a, *y = b;
	return x->faults < y->faults   ? 1
	       : x->faults > y->faults ? -1
				       : (x->pid > y->pid) - (x->pid < y->pid);
}

static bool node_ok(int node)
{
	return node >= 0 && node < NUMA_MAX_NODES;
}

static int tally(struct numa_run *r)
{
	for (size_t i = 0; i < r->npages; i++) {
		const struct page *p = &r->pages[i];
		struct numa_object *o = &r->objects[p->object];
		o->pages++;
		o->pages_moved += p->first_move != NO_MOVE;
		if (!node_ok(p->node) || (p->queried && p->err))
			p->queried ? o->pages_unplaced++ : o->pages_unqueried++;
		if (p->err && !o->why)
			o->why = p->err;
		if (p->first_sample == NO_SAMPLE)
			continue;
		const struct sample *first = &r->samples[p->first_sample];
		if (add_toucher(o, &r->threads[p->first_thread], first->node, p->first_func) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < r->nmoves; i++) {
		const struct move *m = &r->moves[i];
		struct numa_object *o = &r->objects[r->pages[m->page].object];
		uint64_t before = m->before_ns > r->start_ns ? m->before_ns - r->start_ns : 0;
		uint64_t after = m->after_ns > r->start_ns ? m->after_ns - r->start_ns : 0;
		if (node_ok(m->to))
			o->moves_to[m->to]++;
		o->moves++;
		o->moved_after_ns =
			o->moves == 1 || before < o->moved_after_ns ? before : o->moved_after_ns;
		o->moved_before_ns = after > o->moved_before_ns ? after : o->moved_before_ns;
	}
	for (size_t i = 0; i < r->nsamples; i++) {
		const struct sample *s = &r->samples[i];
		const struct page *p = &r->pages[s->page];
		struct numa_object *o = &r->objects[p->object];
		struct numa_thread *t = &r->threads[s->thread];
		int data_node = node_at(r, p, s->time);
		o->faults++;
		o->pmu_accesses += s->pmu;
		t->faults++;
		if (node_ok(s->node))
			t->on_node[s->node]++;
		if (node_ok(data_node))
			t->to_node[data_node]++;
		enum numa_access access = sample_access(s, data_node);
		if (access == NUMA_ACCESS_UNKNOWN)
			continue;
		bool local = access == NUMA_ACCESS_LOCAL;
		local ? (o->local++, t->local++) : (o->remote++, t->remote++);
		if (i != p->first_sample)
			local ? o->later_local++ : o->later_remote++;
	}
	for (size_t i = 0; i < r->nobjects; i++)
		qsort(r->objects[i].touchers, r->objects[i].ntouchers, sizeof(struct numa_toucher),
		      by_pages);
	return 0;
}

static int add_samples(struct numa_run *r)
{
	for (size_t i = 0; i < r->nsamples; i++) {
		const struct sample *s = &r->samples[i];
		const struct page *p = &r->pages[s->page];
		const struct numa_thread *t = &r->threads[s->thread];
		int first_node =
			p->first_sample == NO_SAMPLE ? -1 : r->samples[p->first_sample].node;
		int data_node = node_at(r, p, s->time);
		enum numa_access access = sample_access(s, data_node);
		const struct numa_object *o = &r->objects[p->object];
		struct pprof_label l[13] = {
			/* A unit on each number: Go's pprof drops a numeric label that is 0 without one. */
			{.key = "pid", .num = t->pid, .num_unit = "pid"},
			{.key = "tid", .num = t->tid, .num_unit = "tid"},
			{.key = "comm", .str = t->comm},
			{.key = "cpu", .num = s->cpu, .num_unit = "cpu"},
			{.key = "object", .str = o->name},
			/* Its range: two mappings of one file have one name. */
			{.key = "object_start", .num = (int64_t)o->start, .num_unit = "address"},
			{.key = "object_size",
			 .num = (int64_t)(o->end - o->start),
			 .num_unit = "bytes"},
			/* The page's first fault: numa report's first touches. */
			{.key = "touch",
			 .str = s->pmu                 ? "access"
				: i == p->first_sample ? "first"
						       : "later"},
		};
		size_t n = 8;
		if (s->node >= 0)
			l[n++] = (struct pprof_label){
				.key = "node", .num = s->node, .num_unit = "node"};
		if (data_node >= 0)
			l[n++] = (struct pprof_label){
				.key = "data_node", .num = data_node, .num_unit = "node"};
		if (first_node >= 0)
			l[n++] = (struct pprof_label){
				.key = "first_touch_node", .num = first_node, .num_unit = "node"};
		if (access != NUMA_ACCESS_UNKNOWN)
			l[n++] = (struct pprof_label){
				.key = "access",
				.str = access == NUMA_ACCESS_LOCAL ? "local" : "remote"};
		memset(r->values, 0, (1 + r->o.ntypes) * sizeof(*r->values));
		r->values[0] = 1;
		if (s->type >= 0 && (size_t)s->type < r->o.ntypes)
			r->values[1 + s->type] =
				s->period > INT64_MAX ? INT64_MAX : (int64_t)s->period;
		int ret = pprof_add_sample(agg_profile(r->o.agg), r->stacks + s->stack, s->nstack,
					   r->values, l, n);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * What numa report needs beside the samples, as comments (go tool pprof
 * shows them above its tables): the machine's nodes, balancing and
 * distances, and for the NUMA_COMMENT_OBJECTS most-faulted objects their
 * range, their pages by node at the last query and the moves of their
 * sampled pages (the name last: it may hold spaces). Parsed by report.c's
 * read_comment.
 */
static int add_comments(struct numa_run *r)
{
	struct pprof *prof = agg_profile(r->o.agg);
	char line[NUMA_MAX_NODES * NUMA_MAX_NODES * 4 + 128];
	int nn = r->o.nnodes < NUMA_MAX_NODES ? r->o.nnodes : NUMA_MAX_NODES;
	size_t k = (size_t)snprintf(
		line, sizeof(line),
		NUMA_COMMENT " nodes=%d balancing=%d moves=%zu objects=%zu attached=%d distances=",
		r->o.nnodes, numa_balancing(), r->nmoves, r->nobjects, r->o.attached);
	for (int i = 0; i < nn && k < sizeof(line); i++)
		for (int j = 0; j < nn && k < sizeof(line); j++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%d",
					      i + j == 0 ? ""
					      : j == 0   ? ";"
							 : ",",
					      r->o.distance ? r->o.distance(i, j) : 0);
	if (pprof_add_comment(prof, line) < 0)
		return -ENOMEM;
	/* The threads that moved between nodes most, and did not settle on one. */
	const struct numa_thread **movers = calloc(r->nthreads + 1, sizeof(*movers));
	if (!movers)
		return -ENOMEM;
	size_t nm = 0;
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct numa_thread *t = &r->threads[i];
		if (t->node_switches >= NUMA_WANDER_SWITCHES &&
		    t->switch_ns - t->first_ns >= (t->last_ns - t->first_ns) / 2)
			movers[nm++] = t;
	}
	if (nm)
		qsort(movers, nm, sizeof(*movers), by_switches);
	int ret = 0;
	for (size_t i = 0; i < nm && i < NUMA_COMMENT_THREADS && ret == 0; i++) {
		snprintf(line, sizeof(line),
			 NUMA_COMMENT_THREAD " pid=%d tid=%u node_switches=%" PRIu64,
			 (int)movers[i]->pid, movers[i]->tid, movers[i]->node_switches);
		ret = pprof_add_comment(prof, line) < 0 ? -ENOMEM : 0;
	}
	free(movers);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < r->nobjects && i < NUMA_COMMENT_OBJECTS; i++) {
		const struct numa_object *o = &r->objects[i];
		k = (size_t)snprintf(line, sizeof(line),
				     NUMA_COMMENT_OBJECT
				     " pid=%d start=0x%" PRIx64 " end=0x%" PRIx64 " asked=%" PRIu64
				     " absent=%" PRIu64 " stride=%" PRIu64 " err=%d pages_by_node=",
				     (int)o->pid, o->start, o->end, o->range_asked, o->range_absent,
				     o->range_stride, o->range_err);
		for (int n = 0; n < nn && k < sizeof(line); n++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%" PRIu64,
					      n ? "," : "", o->pages_on[n]);
		if (k < sizeof(line))
			k += (size_t)snprintf(line + k, sizeof(line) - k,
					      " moved=%" PRIu64 " moves_to=", o->pages_moved);
		for (int n = 0; n < nn && k < sizeof(line); n++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%" PRIu64,
					      n ? "," : "", o->moves_to[n]);
		if (k < sizeof(line))
			snprintf(line + k, sizeof(line) - k, " moved_s=%.3f-%.3f name=%s",
				 (double)o->moved_after_ns / 1e9, (double)o->moved_before_ns / 1e9,
				 o->name);
		if (pprof_add_comment(prof, line) < 0)
			return -ENOMEM;
	}
	return 0;
}

int numa_finish(struct numa_run *r, char *err, size_t errlen)
{
	if (r->finished)
		return 0;
	int ret = tally(r);
	if (ret == 0)
		ret = add_samples(r);
	if (ret < 0)
		return base_fail(err, errlen, ret, "numa: out of memory tallying %zu samples",
				 r->nsamples);
	if (r->nobjects) /* qsort's base may not be NULL, even for no element */
		qsort(r->objects, r->nobjects, sizeof(*r->objects), by_faults);

	if (add_comments(r) < 0)
		return base_fail(err, errlen, -ENOMEM, "numa: out of memory writing the comments");
	r->finished = true;
	return 0;
}

const struct numa_object *numa_objects(const struct numa_run *r, size_t *n)
{
	*n = r->nobjects;
	return r->objects;
}

const struct numa_thread *numa_threads(const struct numa_run *r, size_t *n)
{
	*n = r->nthreads;
	return r->threads;
}

uint64_t numa_pages(const struct numa_run *r)
{
	return r->npages;
}

uint64_t numa_moves(const struct numa_run *r)
{
	return r->nmoves;
}

int numa_balancing(void)
{
	FILE *f = fopen("/proc/sys/kernel/numa_balancing", "r");
	if (!f)
		return -errno;
	int v = -EINVAL;
	if (fscanf(f, "%d", &v) != 1)
		v = -EINVAL;
	fclose(f);
	return v;
}

/* --- the summary -------------------------------------------------------------- */

double numa_pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

void numa_print_by_node(FILE *out, const uint64_t *v, int nn, uint64_t whole, bool zeros)
{
	bool any = false;
	for (int n = 0; n < nn; n++) {
		if (!v[n] && !zeros)
			continue;
		fprintf(out, "%s node%d %" PRIu64 " (%.1f%%)", any ? "," : "", n, v[n],
			numa_pct(v[n], whole));
		any = true;
	}
	if (!any)
		fprintf(out, " none");
}

void numa_print_moves(FILE *out, const uint64_t *to, int nn, uint64_t moves, uint64_t after_ns,
		      uint64_t before_ns)
{
	fprintf(out, " %" PRIu64 " move%s to", moves, moves == 1 ? "" : "s");
	numa_print_by_node(out, to, nn, moves, false);
	fprintf(out, ", between %.2f s and %.2f s after the start\n", (double)after_ns / 1e9,
		(double)before_ns / 1e9);
}

static void print_nodes(FILE *out, const uint64_t *by_node, uint64_t whole)
{
	numa_print_by_node(out, by_node, NUMA_MAX_NODES, whole, false);
}

static void print_object(const struct numa_run *r, const struct numa_object *o, FILE *out)
{
	char size[32], where[80];
	const char *never = numa_never_asked(o->name);
	numa_human_size(o->end - o->start, size, sizeof(size));
	snprintf(where, sizeof(where), ", %s at 0x%" PRIx64, size, o->start);
	fprintf(out, "%s (pid %d%s): %" PRIu64 " pages sampled, %" PRIu64 " faults sampled",
		o->name, (int)o->pid,
		o->kind == C2C_OBJ_ANON || o->allocation || never ? "" : where, o->pages,
		o->faults - o->pmu_accesses);
	if (o->pmu_accesses)
		fprintf(out, ", %" PRIu64 " loads and stores sampled by the PMU", o->pmu_accesses);
	fprintf(out, "\n");
	uint64_t present = 0;
	for (int n = 0; n < NUMA_MAX_NODES; n++)
		present += o->pages_on[n];
	if (never) {
		fprintf(out, "  pages by node: not asked (%s)\n", never);
	} else if (o->range_asked && !present) {
		fprintf(out, "  pages by node at the end: none present of %" PRIu64
			     " asked (freed or unmapped)\n",
			o->range_asked);
	} else if (o->range_asked) {
		fprintf(out, "  pages by node at the end:");
		print_nodes(out, o->pages_on, present);
		fprintf(out, " of %" PRIu64 " present", present);
		if (o->range_stride > 1)
			fprintf(out, " (every %" PRIu64 "%s page asked)", o->range_stride,
				numa_ordinal(o->range_stride));
		fprintf(out, "\n");
	} else {
		fprintf(out, "  pages by node at the end: unknown (%s)\n",
			numa_unanswered(o->range_err));
	}
	if (o->pages_moved) {
		fprintf(out,
			"  moved: %" PRIu64 " sampled pages changed node after their first touch,",
			o->pages_moved);
		numa_print_moves(out, o->moves_to, NUMA_MAX_NODES, o->moves, o->moved_after_ns,
				 o->moved_before_ns);
	}
	/* Sampled pages the queries did not place; [kernel] and [unknown] pages have no node. */
	if (o->pages_unplaced && !never)
		fprintf(out, "  not placed: %" PRIu64 " pages (%s)\n", o->pages_unplaced,
			o->why == EFAULT ? "no longer mapped at the query"
			: o->why == ENOENT
				? "no node at the last query: freed, swapped out, or held "
				  "inaccessible by NUMA balancing's scan"
				: strerror(o->why));
	/* Not when the line above already says the process ended before the query. */
	if (o->pages_unqueried && !never &&
	    !(!o->range_asked && numa_ended(o->range_err) && numa_ended(o->why)))
		fprintf(out, "  not queried: %" PRIu64 " pages (%s)\n", o->pages_unqueried,
			numa_unanswered(o->why));
	/* One line per node at least: a parallel first touch shows every node's thread. */
	size_t shown = r->o.nnodes > 3 ? (size_t)r->o.nnodes : 3;
	for (size_t i = 0; i < o->ntouchers && i < shown; i++) {
		const struct numa_toucher *t = &o->touchers[i];
		fprintf(out, "  %s: %.1f%% of pages by tid %u (%s) on node %d in %s\n",
			r->o.attached ? "first fault seen" : "first touch",
			numa_pct(t->pages, o->pages), t->tid, t->comm, t->node,
			t->func ? t->func : "[unknown]");
	}
	if (o->ntouchers > shown)
		fprintf(out, "  %s: %zu more thread/node/function combinations\n",
			r->o.attached ? "first fault seen" : "first touch", o->ntouchers - shown);
	if (r->o.nnodes > 1)
		fprintf(out,
			"  faults: local %" PRIu64 ", remote %" PRIu64 " (%.1f%% remote); after "
			"the first touch: local %" PRIu64 ", remote %" PRIu64 "\n",
			o->local, o->remote, numa_pct(o->remote, o->local + o->remote),
			o->later_local, o->later_remote);
}

void numa_print(const struct numa_run *r, FILE *out, size_t max_objects)
{
	int bal = numa_balancing();
	if (r->o.nnodes <= 1)
		fprintf(out, "one NUMA node: no NUMA effects here (every access is local); first "
			     "touches and objects below, placement needs a machine with 2 nodes or "
			     "more\n");
	else
		fprintf(out, "%d NUMA nodes; automatic NUMA balancing %s\n", r->o.nnodes,
			bal > 0    ? "on: faults after a page's first touch are mostly its hinting "
				     "faults (who touches the page, from which node)"
			: bal == 0 ? "off: faults after a page's first touch are rare (no hinting "
				     "faults)"
				   : "unknown (this kernel has no numa_balancing)");
	if (r->o.attached)
		fprintf(out, "%s\n", NUMA_ATTACHED_NOTE);
	fprintf(out, "%" PRIu64 " pages sampled in %zu objects, %zu samples", r->npages,
		r->nobjects, r->nsamples);
	if (r->nmoves)
		fprintf(out, "; %zu moves of sampled pages to another node", r->nmoves);
	fprintf(out, "\n");
	if (!r->npages)
		fprintf(out, "no page fault was sampled: memory touched before the recording "
			     "faults no more, unless automatic NUMA balancing's hinting faults "
			     "touch it again\n");
	for (size_t i = 0; i < r->nobjects && (!max_objects || i < max_objects); i++)
		print_object(r, &r->objects[i], out);
	if (max_objects && r->nobjects > max_objects)
		fprintf(out, "(%zu more objects; the profile has them all)\n",
			r->nobjects - max_objects);
	if (r->o.nnodes <= 1)
		return;
	fprintf(out, "threads (faults by the CPU's node -> by the page's node):\n");
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct numa_thread *t = &r->threads[i];
		fprintf(out, "  tid %u (%s): %" PRIu64 " faults; ran on", t->tid, t->comm,
			t->faults);
		print_nodes(out, t->on_node, t->faults);
		fprintf(out, "; pages on");
		print_nodes(out, t->to_node, t->faults);
		fprintf(out, "; local %" PRIu64 ", remote %" PRIu64 "\n", t->local, t->remote);
	}
}
