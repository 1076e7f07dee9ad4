/*
 * Aggregation: each sample becomes a stack of pprof locations, labels
 * (pid, tid, comm, cpu; region, trace_id, span_id from a label timeline)
 * and values (one sample, plus the period under its event's sample type;
 * never summed across events). Locations are keyed by (mapping, address)
 * and added without lines while recording; each is symbolized once, when the
 * profile is handed out (agg_profile), in bulk, sorted by module then
 * address, one module's tables and DWARF in memory at a time.
 */
#include "engine.h"
#include "base.h"
#include "binary.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define MAX_INLINE 16 /* inline frames kept per address, innermost first */

/* A pair of numbers -> a value: the entries in insertion order, found through a base_htab. */
struct pair_entry {
	uint64_t a, b, val;
};

struct pair_table {
	struct base_htab index;
	struct pair_entry *v;
	size_t n, cap;
};

/*
 * The last location of each (pid, address) of a frame, direct-mapped: most
 * frames of a sample were in an earlier one, and a hit spares finding the
 * mapping and the (mapping, address) pair. An entry is good for one
 * generation; any record that changes a process's maps (or a new profile)
 * starts the next.
 */
#define LOC_CACHE 16384 /* entries, a power of two */

struct loc_cache_entry {
	uint64_t addr, loc;
	uint32_t pid;
	uint32_t tag; /* generation << 2 | kernel << 1 | caller; 0: empty */
};

/*
 * Label sets by (pid, tid, cpu), direct-mapped: a thread's samples on one
 * CPU carry the same pid, tid, comm, cpu and node labels, so the set is
 * interned once, not per sample. An entry is good for one generation; a
 * COMM, FORK or EXIT record (a name changes, a tid may be reused) or a new
 * profile starts the next.
 */
#define LSET_CACHE 1024 /* entries, a power of two */

struct lset_cache_entry {
	uint32_t pid, tid, cpu;
	uint32_t gen; /* 0: empty */
	uint32_t set;
};

/*
 * Stacks by their raw callchain, direct-mapped: a sample whose pid and
 * callchain words equal an earlier one's gets that sample's location ids
 * without a lookup per frame (a 20-frame stack is 20 location-cache probes).
 * The words and ids live in one arena; both are good for one generation of
 * the location cache (any MMAP, exec or exit, or a new profile empties it),
 * and a full arena starts over.
 */
#define STACK_CACHE 4096            /* entries, a power of two */
#define STACK_ARENA (256u * 1024u)  /* words: 2 MiB */

struct stack_cache_entry {
	uint64_t hash;
	uint32_t pid;
	uint32_t gen; /* the arena's generation; 0: empty */
	uint32_t nraw, nlocs;
	uint32_t off; /* into the arena: nraw callchain words, then nlocs location ids */
};

/* What a pprof mapping's addresses are symbolized from. */
enum agg_source { AGG_SRC_NONE, AGG_SRC_FILE, AGG_SRC_KERNEL, AGG_SRC_JIT };

struct agg_mapping {
	enum agg_source src;
	/*
	 * The file, held from the mapping's first sample until its addresses are
	 * symbolized: a binary deleted or replaced meanwhile still answers.
	 */
	struct bin *bin;
	char build_id[41]; /* the kernel's (MMAP2), checked against the file's; "" if none */
	bool flags_set;    /* its has_* flags, known once its file was read */
};

/* A location waiting for its lines (symbolize_pending). */
struct agg_pending {
	/* Sort key, set just before sorting: the mapping's file, by build id, else by path. */
	const char *module;
	uint64_t addr; /* a file offset in a file, else the address */
	uint32_t loc, mapping;
};

struct agg {
	struct agg_options o;
	struct pprof *prof;
	struct proc_model *procs;
	struct sym_cache *syms;
	struct uw_session *unwinder; /* --call-graph dwarf */
	struct bin_cache *bins;      /* the binaries both read, under one budget */
	uint64_t stop_function[UW_STOP_ERROR + 1]; /* marker functions for truncated stacks */
	struct pair_table locs; /* (mapping cookie, address) -> location id */
	struct loc_cache_entry *loc_cache; /* LOC_CACHE entries, allocated at first use */
	uint32_t loc_gen;
	struct lset_cache_entry lset_cache[LSET_CACHE];
	uint32_t lset_gen;
	struct stack_cache_entry *stack_cache; /* STACK_CACHE entries, allocated at first use */
	uint64_t *stack_arena;                 /* STACK_ARENA words, with the entries */
	uint32_t stack_used, stack_gen;
	struct agg_mapping *maps; /* by pprof mapping id */
	size_t cap_maps;
	struct agg_pending *pending;
	size_t npending, cap_pending;
	/*
	 * Previous group-read values, for leader sampling deltas, keyed by
	 * (thread, counter id) for an inherited counter (one copy per thread, all
	 * reporting the parent's id, each counting on its own), else by the counter
	 * id alone (a per-CPU counter counts for every thread that runs there).
	 */
	struct pair_table prev;
	uint64_t kernel_mapping;
	uint64_t generation; /* of the profile: mapping cookies carry it (agg_reset) */
	/* Where the consumer's time goes, for the profile's comments and bench/. */
	uint64_t unwind_ns, symbolize_ns, symbolized;
	uint64_t unknown_function;
	uint64_t *samples; /* per event */
	int64_t *values;   /* 1 + nevents */
};

static uint64_t pair_hash(uint64_t a, uint64_t b)
{
	return base_htab_mix(base_htab_mix(0, a), b);
}

static bool pair_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pair_entry *e = &((const struct pair_table *)ctx)->v[idx];
	const uint64_t *k = key;
	return e->a == k[0] && e->b == k[1];
}

static struct pair_entry *pair_find(const struct pair_table *t, uint64_t a, uint64_t b)
{
	if (!t->index.cap)
		return NULL;
	uint64_t k[2] = {a, b};
	const struct base_htab_slot *s = base_htab_find(&t->index, pair_hash(a, b), pair_eq, t, k);
	return s->idx1 ? &t->v[s->idx1 - 1] : NULL;
}

/* Room for one more entry; -ENOMEM. */
static int pair_reserve(struct pair_table *t)
{
	if (t->n >= UINT32_MAX || base_htab_reserve(&t->index) < 0 || BASE_GROW(t->v, t->cap, t->n + 1) < 0)
		return -ENOMEM;
	return 0;
}

/* Adds (a, b) -> val, which pair_find did not find, in the room pair_reserve made. */
static void pair_add(struct pair_table *t, uint64_t a, uint64_t b, uint64_t val)
{
	uint64_t k[2] = {a, b}, h = pair_hash(a, b);
	struct base_htab_slot *s = base_htab_find(&t->index, h, pair_eq, t, k);
	t->v[t->n] = (struct pair_entry){a, b, val};
	s->hash = h;
	s->idx1 = (uint32_t)++t->n;
	t->index.n++;
}

static void pair_clear(struct pair_table *t)
{
	if (t->index.cap)
		memset(t->index.slot, 0, t->index.cap * sizeof(*t->index.slot));
	t->index.n = t->n = 0;
}

static void pair_free(struct pair_table *t)
{
	base_htab_free(&t->index);
	free(t->v);
}

/* A fresh, empty pprof builder with this aggregation's sample types. */
static int new_profile(struct agg *a, char *err, size_t errlen)
{
	const struct agg_options *o = &a->o;
	size_t ntypes = 1 + o->nevents;
	struct pprof_value_type *types = calloc(ntypes, sizeof(*types));
	if (!types)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	/* pprof's convention (and what Go PGO accepts): samples/count first. */
	types[0] = (struct pprof_value_type){"samples", "count"};
	for (size_t i = 0; i < o->nevents; i++)
		types[1 + i] = (struct pprof_value_type){
			o->event_names[i], o->event_units && o->event_units[i] ? o->event_units[i]
										: "count"};
	struct pprof *prof;
	int ret = pprof_new(&prof, types, ntypes, err, errlen);
	free(types);
	if (ret < 0)
		return ret;
	pprof_set_default_sample_type(prof, o->event_names[0]);
	pprof_set_period(prof, o->event_names[0],
			 o->event_units && o->event_units[0] ? o->event_units[0] : "count",
			 o->period);
	pprof_free(a->prof);
	a->prof = prof;
	return 0;
}

int agg_new(struct agg **out, const struct agg_options *o, struct proc_model *procs, char *err,
	    size_t errlen)
{
	struct agg *a = calloc(1, sizeof(*a));
	if (!a)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	a->o = *o;
	a->procs = procs;
	a->generation = 1;
	a->loc_gen = 1;
	a->lset_gen = 1;
	a->stack_gen = 1;
	a->samples = calloc(o->nevents, sizeof(*a->samples));
	a->values = calloc(1 + o->nevents, sizeof(*a->values));
	int ret = a->samples && a->values ? new_profile(a, err, errlen)
					  : base_fail(err, errlen, -ENOMEM, "out of memory");
	if (ret == 0 && (o->symbolize || o->dwarf) && bin_cache_new(&a->bins) < 0)
		ret = base_fail(err, errlen, -ENOMEM, "out of memory");
	if (ret == 0 && o->symbolize && (ret = sym_cache_new(&a->syms, err, errlen)) == 0) {
		sym_cache_use_binaries(a->syms, a->bins); /* a new cache: cannot be busy */
		sym_cache_set_budget(a->syms, o->symbol_cache_bytes);
		if (sym_cache_set_debug_dir(a->syms, o->debug_cache_dir) < 0)
			ret = base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	if (ret == 0 && o->dwarf && (ret = uw_new(&a->unwinder, procs, err, errlen)) == 0)
		uw_use_binaries(a->unwinder, a->bins);
	if (ret < 0) {
		agg_free(a);
		return ret;
	}
	*out = a;
	return 0;
}

/* Lets go of the files held for the profile's mappings. */
static void release_mappings(struct agg *a)
{
	for (size_t i = 0; i < a->cap_maps; i++) {
		bin_put(a->bins, a->maps[i].bin);
		a->maps[i] = (struct agg_mapping){0};
	}
}

/* Starts a new generation of the label-set cache. */
static void lset_cache_invalidate(struct agg *a)
{
	if (++a->lset_gen == 0) { /* wrapped: empty the entries */
		a->lset_gen = 1;
		memset(a->lset_cache, 0, sizeof(a->lset_cache));
	}
}

/* Empties the stack cache: its location ids came from the location cache's generation. */
static void stack_cache_invalidate(struct agg *a)
{
	a->stack_used = 0;
	if (++a->stack_gen == 0) { /* wrapped: empty the entries */
		a->stack_gen = 1;
		if (a->stack_cache)
			memset(a->stack_cache, 0, STACK_CACHE * sizeof(*a->stack_cache));
	}
}

/* Starts a new generation of the location cache (and the stack cache): every entry misses. */
static void loc_cache_invalidate(struct agg *a)
{
	stack_cache_invalidate(a);
	if (++a->loc_gen >= 1u << 30) { /* the tag's room: wrap, and empty the entries */
		a->loc_gen = 1;
		if (a->loc_cache)
			memset(a->loc_cache, 0, LOC_CACHE * sizeof(*a->loc_cache));
	}
}

int agg_reset(struct agg *a, char *err, size_t errlen)
{
	int ret = new_profile(a, err, errlen);
	if (ret < 0)
		return ret;
	release_mappings(a);
	a->npending = 0;
	/* Ids of the old profile mean nothing in the new one; caches of symbols and unwind state stay. */
	pair_clear(&a->locs);
	loc_cache_invalidate(a);
	lset_cache_invalidate(a);
	a->generation++;
	a->kernel_mapping = a->unknown_function = 0;
	memset(a->stop_function, 0, sizeof(a->stop_function));
	memset(a->samples, 0, a->o.nevents * sizeof(*a->samples));
	return 0;
}

void agg_free(struct agg *a)
{
	if (!a)
		return;
	pprof_free(a->prof);
	release_mappings(a);
	free(a->maps);
	free(a->pending);
	free(a->loc_cache);
	free(a->stack_cache);
	free(a->stack_arena);
	sym_cache_free(a->syms);
	uw_free(a->unwinder);
	bin_cache_free(a->bins); /* after both: their modules hold references */
	pair_free(&a->locs);
	pair_free(&a->prev);
	free(a->samples);
	free(a->values);
	free(a);
}

struct sym_cache *agg_symbols(struct agg *a)
{
	return a->syms;
}

static void symbolize_pending(struct agg *a);

struct pprof *agg_profile(struct agg *a)
{
	symbolize_pending(a);
	return a->prof;
}

uint64_t agg_samples(const struct agg *a, int event)
{
	return a->samples[event];
}

/* pprof lines for symbolized frames (innermost first), skipping unnamed ones. */
static size_t lines_for(struct agg *a, const struct sym_frame *frames, size_t n,
			struct pprof_line *lines)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!frames[i].function)
			continue;
		/* Keyed by the system (mangled) name too: instantiations and overloads stay apart. */
		uint64_t fid = pprof_add_function(a->prof, frames[i].function, frames[i].system_name,
						  frames[i].file, 0);
		if (fid)
			lines[k++] = (struct pprof_line){fid, frames[i].line};
	}
	return k;
}

/* The symbolization state of mapping id, grown as ids are handed out; NULL when out of memory. */
static struct agg_mapping *mapping_state(struct agg *a, uint64_t id)
{
	size_t had = a->cap_maps;
	if (id >= had && BASE_GROW(a->maps, a->cap_maps, id + 1) < 0)
		return NULL;
	if (a->cap_maps > had)
		memset(a->maps + had, 0, (a->cap_maps - had) * sizeof(*a->maps));
	return &a->maps[id];
}

/*
 * Holds the file of m for mapping state st (read now, while it is the file
 * the samples ran: symbolized later). Returns the file's build id, or NULL.
 */
static const char *hold_file(struct agg *a, struct agg_mapping *st, const struct proc_map *m)
{
	if (!st->bin) {
		int err;
		st->bin = bin_get(a->bins, m->filename, &err);
		snprintf(st->build_id, sizeof(st->build_id), "%s", m->build_id);
	}
	return st->bin && st->bin->status == 0 && st->bin->build_id[0] ? st->bin->build_id : NULL;
}

static uint64_t user_mapping_id(struct agg *a, struct proc_map *m)
{
	/* A cookie is (generation << 32 | pprof mapping id): stale after agg_reset. */
	if (m->cookie >> 32 == a->generation)
		return m->cookie & 0xffffffffu;
	struct pprof_mapping_desc d = {
		.start = m->start, .limit = m->end, .offset = m->pgoff, .filename = m->filename,
		.build_id = m->build_id[0] ? m->build_id : NULL,
	};
	struct agg_mapping st = {.src = m->filename[0] == '/' ? AGG_SRC_FILE : AGG_SRC_JIT};
	char hex[41];
	if (a->syms && st.src == AGG_SRC_FILE) {
		const char *file_id = hold_file(a, &st, m);
		if (!d.build_id)
			d.build_id = file_id;
	} else if (!d.build_id && st.src == AGG_SRC_FILE &&
		   sym_read_build_id(m->filename, hex) == 0) {
		d.build_id = hex; /* --no-symbolize: pprof symbolizes by it later */
	}
	uint64_t id = pprof_add_mapping(a->prof, &d);
	struct agg_mapping *known = a->syms && id ? mapping_state(a, id) : NULL;
	if (known && known->src == AGG_SRC_NONE) {
		*known = st; /* the state takes the file */
		st.bin = NULL;
	} else if (known && !known->bin && st.bin) {
		known->bin = st.bin; /* again, after symbolize_pending let go of it */
		memcpy(known->build_id, st.build_id, sizeof(st.build_id));
		st.bin = NULL;
	}
	bin_put(a->bins, st.bin); /* else the mapping holds its file already */
	m->cookie = id ? a->generation << 32 | id : 0;
	return id;
}

static uint64_t kernel_mapping_id(struct agg *a)
{
	if (!a->kernel_mapping) {
		/* has_functions is set when the addresses are symbolized (kallsyms read then). */
		struct pprof_mapping_desc d = {.start = PABI_KERNEL_HALF,
					       .limit = UINT64_MAX,
					       .filename = "[kernel.kallsyms]"};
		a->kernel_mapping = pprof_add_mapping(a->prof, &d);
		struct agg_mapping *st =
			a->syms && a->kernel_mapping ? mapping_state(a, a->kernel_mapping) : NULL;
		if (st)
			st->src = AGG_SRC_KERNEL;
	}
	return a->kernel_mapping;
}

/* Queues location loc of a file's or the kernel's mapping (at, in m for a file) for symbolize_pending. */
static void defer_lookup(struct agg *a, uint64_t loc, uint64_t mapping, const struct proc_map *m,
			 uint64_t at)
{
	struct agg_mapping *st = mapping < a->cap_maps ? &a->maps[mapping] : NULL;
	if (!st || st->src == AGG_SRC_NONE ||
	    BASE_GROW(a->pending, a->cap_pending, a->npending + 1) < 0)
		return; /* out of memory: the location stays unnamed */
	uint64_t addr = at;
	if (st->src == AGG_SRC_FILE) {
		hold_file(a, st, m); /* again after a symbolize_pending let go of it */
		addr = at - m->start + m->pgoff;
	}
	a->pending[a->npending++] = (struct agg_pending){
		.addr = addr, .loc = (uint32_t)loc, .mapping = (uint32_t)mapping};
}

static uint64_t location_lookup(struct agg *a, pid_t pid, uint64_t addr, bool kernel, bool caller);

static uint64_t location_for(struct agg *a, pid_t pid, uint64_t addr, bool kernel, bool caller)
{
	if (!a->loc_cache && !(a->loc_cache = calloc(LOC_CACHE, sizeof(*a->loc_cache))))
		return location_lookup(a, pid, addr, kernel, caller);
	uint32_t tag = a->loc_gen << 2 | (uint32_t)kernel << 1 | (uint32_t)caller;
	uint64_t h =
		base_htab_mix(base_htab_mix(0, addr), (uint64_t)(uint32_t)pid << 2 | (tag & 3));
	struct loc_cache_entry *e = &a->loc_cache[h & (LOC_CACHE - 1)];
	if (e->tag == tag && e->addr == addr && e->pid == (uint32_t)pid)
		return e->loc;
	uint64_t loc = location_lookup(a, pid, addr, kernel, caller);
	if (loc)
		*e = (struct loc_cache_entry){addr, loc, (uint32_t)pid, tag};
	return loc;
}

/* The location of a frame: its mapping, then the (mapping, address) pair, else a new one. */
static uint64_t location_lookup(struct agg *a, pid_t pid, uint64_t addr, bool kernel, bool caller)
{
	/*
	 * A caller's return address points after the call: look up the call
	 * itself. The kernel's callchain also holds the interrupted instruction
	 * of each exception or interrupt frame it crossed, which kallsyms tells
	 * apart where it is a function's first byte (sym_kernel_caller_addr).
	 */
	uint64_t at = !caller ? addr
		      : kernel && a->syms ? sym_kernel_caller_addr(a->syms, addr)
					  : addr - 1;
	struct proc_map *m = NULL;
	uint64_t mapping;
	if (kernel) {
		mapping = kernel_mapping_id(a);
	} else {
		m = proc_find_map(a->procs, pid, addr);
		/*
		 * A frame in a mapping that cannot execute (a heap, a stack, //anon
		 * data, a locale file: numa record knows them for its data
		 * addresses) is a frame-pointer walk gone astray, no code: no
		 * mapping, which pprof would try to open and symbolize. prot 0: an
		 * MMAP record, which says nothing of it.
		 */
		if (m && m->prot && !(m->prot & PROT_EXEC))
			m = NULL;
		mapping = m ? user_mapping_id(a, m) : 0;
	}
	const struct pair_entry *known = pair_find(&a->locs, mapping, at);
	if (known)
		return known->val;
	if (pair_reserve(&a->locs) < 0)
		return 0;

	struct pprof_line line;
	size_t nlines = 0;
	struct sym_result r;
	bool jit = a->syms && mapping < a->cap_maps && a->maps[mapping].src == AGG_SRC_JIT;
	if (!mapping && a->syms) {
		/* Nothing can ever name this address (no mapping to symbolize offline). */
		if (!a->unknown_function)
			a->unknown_function = pprof_add_function(a->prof, "[unknown]", "[unknown]",
								 NULL, 0);
		line = (struct pprof_line){a->unknown_function, 0};
		nlines = 1;
	} else if (jit) {
		/*
		 * Now: the map is only trusted while its process runs (the owner
		 * check needs it), and a JIT rewrites its map as it goes.
		 */
		uint64_t t0 = base_mono_ns();
		struct sym_frame f = {0};
		if (sym_lookup_jit(a->syms, pid, at, &r) == 0)
			f = (struct sym_frame){r.function, r.file, r.line, r.system_name};
		nlines = lines_for(a, &f, 1, &line);
		a->symbolize_ns += base_mono_ns() - t0;
		a->symbolized++;
	}
	uint64_t id = pprof_add_location(a->prof, mapping, at, &line, nlines);
	if (id)
		pair_add(&a->locs, mapping, at, id);
	if (id && mapping && a->syms && !jit)
		defer_lookup(a, id, mapping, m, at);
	return id;
}

/* The module a file's addresses are looked up in (the symbol cache's key), else NULL. */
static const char *module_key(const struct agg_mapping *st)
{
	if (st->src != AGG_SRC_FILE || !st->bin)
		return NULL;
	return st->bin->build_id[0] ? st->bin->build_id : st->bin->path;
}

/*
 * Files first, each module's addresses together and in order, whatever
 * process mapped it under whatever path (an order that does not depend on
 * memory addresses: function ids come out the same in record and import);
 * then the kernel's.
 */
static int pending_cmp(const void *pa, const void *pb)
{
	const struct agg_pending *x = pa, *y = pb;
	if (!x->module != !y->module)
		return x->module ? -1 : 1;
	int c = x->module ? strcmp(x->module, y->module) : 0;
	if (c)
		return c;
	if (!x->module && x->mapping != y->mapping)
		return x->mapping < y->mapping ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->loc < y->loc ? -1 : x->loc > y->loc;
}

/* The frames of one pending address, innermost first; their count. */
static int pending_frames(struct agg *a, const struct agg_pending *p, struct sym_frame *frames)
{
	const struct agg_mapping *st = &a->maps[p->mapping];
	struct sym_result r = {0};
	switch (st->src) {
	case AGG_SRC_FILE:
		return st->bin ? sym_lookup_frames_bin(a->syms, st->bin,
						       st->build_id[0] ? st->build_id : NULL,
						       p->addr, frames, MAX_INLINE)
			       : 0;
	case AGG_SRC_KERNEL:
		if (sym_lookup_kernel(a->syms, p->addr, &r) < 0)
			return 0;
		frames[0] = (struct sym_frame){r.function, r.file, r.line, r.system_name};
		return 1;
	default:
		return 0;
	}
}

/* Mapping id's has_* flags, from what its file (or kallsyms) offers. */
static void set_mapping_flags(struct agg *a, uint64_t id)
{
	struct agg_mapping *st = &a->maps[id];
	struct pprof_mapping_desc d = {0};
	struct sym_module_info info;
	if (st->flags_set)
		return;
	st->flags_set = true;
	if (st->src == AGG_SRC_KERNEL) {
		d.has_functions = sym_kernel_available(a->syms);
	} else if (st->src == AGG_SRC_FILE && st->bin &&
		   sym_module_info_bin(a->syms, st->bin, st->build_id[0] ? st->build_id : NULL,
				       &info) == 0) {
		d.has_functions = info.has_functions;
		d.has_filenames = info.has_filenames;
		d.has_line_numbers = info.has_line_numbers;
		d.has_inline_frames = info.has_inline_frames;
	}
	pprof_set_mapping_flags(a->prof, id, &d);
}

/*
 * Gives every location added since the last call its lines: one lookup per
 * distinct address, module by module, each module's files let go of once its
 * addresses are done, and its tables and DWARF dropped then or, under a
 * budget, when the budget needs their room.
 */
static void symbolize_pending(struct agg *a)
{
	if (!a->npending)
		return;
	uint64_t t0 = base_mono_ns();
	for (size_t i = 0; i < a->npending; i++)
		a->pending[i].module = module_key(&a->maps[a->pending[i].mapping]);
	qsort(a->pending, a->npending, sizeof(*a->pending), pending_cmp);
	for (size_t i = 0, first = 0; i < a->npending; i++) {
		const struct agg_pending *p = &a->pending[i];
		set_mapping_flags(a, p->mapping);
		struct sym_frame frames[MAX_INLINE];
		struct pprof_line lines[MAX_INLINE];
		int n = pending_frames(a, p, frames);
		size_t nlines = n > 0 ? lines_for(a, frames, (size_t)n, lines) : 0;
		if (nlines)
			pprof_set_location_lines(a->prof, p->loc, lines, nlines);
		if (!p->module || (i + 1 < a->npending && a->pending[i + 1].module &&
				   strcmp(a->pending[i + 1].module, p->module) == 0))
			continue;
		/* The module's last address: let go of its files (and tables), for the next one. */
		for (; first <= i; first++) {
			struct agg_mapping *st = &a->maps[a->pending[first].mapping];
			bin_put(a->bins, st->bin);
			st->bin = NULL;
		}
		/*
		 * Under a budget (the agent's) the cache keeps what fits for the
		 * next window, least recently used dropped first; without one
		 * (record's single pass) nothing needs to stay.
		 */
		if (!a->o.symbol_cache_bytes)
			sym_cache_unload(a->syms);
	}
	a->symbolized += a->npending;
	a->npending = 0;
	a->symbolize_ns += base_mono_ns() - t0;
}

/* Delta of a group member since the leader's previous sample on the same counter. */
static int64_t read_delta(struct agg *a, uint32_t tid, uint64_t id, uint64_t value)
{
	struct pair_entry *prev = pair_find(&a->prev, tid, id);
	if (prev) {
		int64_t d = (int64_t)(value - prev->val);
		prev->val = value;
		return d;
	}
	if (pair_reserve(&a->prev) < 0)
		return 0;
	pair_add(&a->prev, tid, id, value);
	return (int64_t)value; /* the first read: everything since enabling */
}

/* The frame that ends a stack whose unwinding stopped early, so pprof shows it. */
static uint64_t stop_location(struct agg *a, enum uw_stop why)
{
	static const char *const names[] = {
		[UW_STOP_STACK] = "[unwind stopped: stack deeper than the copied dump]",
		[UW_STOP_NO_CFI] = "[unwind stopped: no unwind information]",
		[UW_STOP_NO_MAP] = "[unwind stopped: address outside known mappings]",
		[UW_STOP_ERROR] = "[unwind stopped: unwinder error]",
	};
	if (why <= UW_STOP_DEPTH || why > UW_STOP_ERROR)
		return 0;
	if (!a->stop_function[why])
		a->stop_function[why] = pprof_add_function(a->prof, names[why], names[why], NULL, 0);
	struct pprof_line line = {a->stop_function[why], 0};
	return pprof_add_location(a->prof, 0, 0, &line, 1);
}

/*
 * The stack of a sample, leaf first. The kernel's callchain gives kernel
 * frames (and, with -g, user frames by frame pointers); with --call-graph
 * dwarf the user part comes from unwinding the copied stack instead. Within
 * each context the first frame is an exact PC; the others are return
 * addresses, looked up at the call instruction.
 */
static size_t stack_lookup(struct agg *a, const struct pabi_sample *s, uint64_t *locs)
{
	size_t n = 0;
	pid_t pid = (pid_t)s->pid;
	bool first = true, user_seen = false;
	enum pabi_addr_mode mode = PABI_MODE_UNKNOWN;
	for (uint64_t i = 0; s->callchain && i < s->nr_callchain && n < AGG_MAX_STACK; i++) {
		uint64_t ip = s->callchain[i];
		if (ip >= PERF_CONTEXT_MAX) {
			first = true; /* a context marker: the next frame is that context's PC */
			mode = pabi_mode_of_context(ip);
			continue;
		}
		bool kernel = pabi_addr_is_kernel(mode, ip);
		user_seen |= !kernel;
		uint64_t id = location_for(a, pid, ip, kernel, !first);
		first = false;
		if (id)
			locs[n++] = id;
	}
	if (a->unwinder && s->regs_abi && !user_seen) {
		uint64_t ips[AGG_MAX_STACK];
		struct uw_sample us = {
			.pid = pid, .regs_abi = s->regs_abi, .regs = s->regs,
			.regs_mask = a->o.regs_user_mask, .stack = s->stack, .stack_size = s->stack_dyn_size,
		};
		enum uw_stop why = UW_STOP_END;
		uint64_t t0 = base_mono_ns();
		int nu = uw_unwind(a->unwinder, &us, ips, (int)(AGG_MAX_STACK - n - 1), &why);
		a->unwind_ns += base_mono_ns() - t0;
		for (int i = 0; i < nu; i++) {
			uint64_t id = location_for(a, pid, ips[i], false, i > 0);
			if (id)
				locs[n++] = id;
		}
		uint64_t stop = nu > 0 ? stop_location(a, why) : 0;
		if (stop)
			locs[n++] = stop;
	}
	if (n == 0) {
		uint64_t id =
			location_for(a, pid, s->ip,
				     pabi_addr_is_kernel(pabi_mode_of_misc(s->misc), s->ip), false);
		if (id)
			locs[n++] = id;
	}
	return n;
}

size_t agg_sample_stack(struct agg *a, const struct pabi_sample *s, uint64_t *locs)
{
	/* The unwinder's frames come from the stack copy, not the callchain: not cached. */
	uint64_t nraw = s->nr_callchain;
	if (a->unwinder || !s->callchain || nraw < 2 || nraw > AGG_MAX_STACK)
		return stack_lookup(a, s, locs);
	if (!a->stack_cache) {
		a->stack_cache = calloc(STACK_CACHE, sizeof(*a->stack_cache));
		a->stack_arena = malloc(STACK_ARENA * sizeof(*a->stack_arena));
		if (!a->stack_cache || !a->stack_arena) {
			free(a->stack_cache);
			free(a->stack_arena);
			a->stack_cache = NULL;
			a->stack_arena = NULL;
			return stack_lookup(a, s, locs);
		}
	}
	const uint64_t *raw = s->callchain;
	uint64_t h = base_htab_mix(base_htab_hash_bytes((const char *)raw, nraw * sizeof(*raw)),
				   s->pid);
	struct stack_cache_entry *e = &a->stack_cache[h & (STACK_CACHE - 1)];
	if (e->gen == a->stack_gen && e->hash == h && e->pid == s->pid && e->nraw == nraw) {
		const uint64_t *w = &a->stack_arena[e->off];
		uint64_t diff = 0;
		for (uint64_t i = 0; i < nraw; i++)
			diff |= w[i] ^ raw[i];
		if (diff == 0) {
			memcpy(locs, w + nraw, e->nlocs * sizeof(*locs));
			return e->nlocs;
		}
	}
	size_t n = stack_lookup(a, s, locs);
	if (n == 0 || n > UINT32_MAX)
		return n;
	if (STACK_ARENA - a->stack_used < nraw + n)
		stack_cache_invalidate(a); /* full: start over */
	if (STACK_ARENA - a->stack_used >= nraw + n) {
		uint64_t *w = &a->stack_arena[a->stack_used];
		memcpy(w, raw, nraw * sizeof(*w));
		memcpy(w + nraw, locs, n * sizeof(*w));
		*e = (struct stack_cache_entry){h, s->pid, a->stack_gen, (uint32_t)nraw, (uint32_t)n,
						a->stack_used};
		a->stack_used += (uint32_t)(nraw + n);
	}
	return n;
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * Appends the sample's region (innermost) and trace context (hex, as W3C
 * traceparent writes them; the OTLP encoder turns the pair into a Link)
 * from the label timeline. Returns the new label count.
 */
static size_t timeline_labels(struct agg *a, const struct pabi_sample *s, struct pprof_label *l,
			      size_t n, char trace_hex[33], char span_hex[17])
{
	const char *region;
	const uint8_t *trace, *span;
	if (!lbl_lookup(a->o.labels, s->pid, s->tid, s->time, &region, &trace, &span))
		return n;
	if (region)
		l[n++] = (struct pprof_label){.key = "region", .str = region};
	if (trace) {
		to_hex(trace, 16, trace_hex);
		to_hex(span, 8, span_hex);
		l[n++] = (struct pprof_label){.key = "trace_id", .str = trace_hex};
		l[n++] = (struct pprof_label){.key = "span_id", .str = span_hex};
	}
	return n;
}

/* The labels every sample has: pid, tid, comm, and with cpu_label cpu and node. */
static size_t thread_labels(struct agg *a, const struct pabi_sample *s, struct pprof_label *l)
{
	const char *comm = proc_comm(a->procs, (pid_t)s->pid, (pid_t)s->tid);
	/* A unit on each number: Go's pprof drops a numeric label that is 0 without one. */
	l[0] = (struct pprof_label){.key = "pid", .num = (int64_t)s->pid, .num_unit = "pid"};
	l[1] = (struct pprof_label){.key = "tid", .num = (int64_t)s->tid, .num_unit = "tid"};
	l[2] = (struct pprof_label){.key = "comm", .str = comm ? comm : "[unknown]"};
	if (!a->o.cpu_label)
		return 3;
	l[3] = (struct pprof_label){.key = "cpu", .num = (int64_t)s->cpu, .num_unit = "cpu"};
	int node = a->o.node_of_cpu ? a->o.node_of_cpu(a->o.node_ctx, (int)s->cpu) : -1;
	if (node < 0)
		return 4;
	l[4] = (struct pprof_label){.key = "node", .num = node, .num_unit = "node"};
	return 5;
}

static int thread_label_set(struct agg *a, const struct pabi_sample *s, uint32_t *set)
{
	uint32_t cpu = a->o.cpu_label ? s->cpu : 0;
	uint64_t h = base_htab_mix(base_htab_mix(0, (uint64_t)s->pid << 32 | s->tid), cpu);
	struct lset_cache_entry *e = &a->lset_cache[h & (LSET_CACHE - 1)];
	if (e->gen == a->lset_gen && e->pid == s->pid && e->tid == s->tid && e->cpu == cpu) {
		*set = e->set;
		return 0;
	}
	struct pprof_label labels[5];
	int ret = pprof_add_label_set(a->prof, labels, thread_labels(a, s, labels), set);
	if (ret == 0)
		*e = (struct lset_cache_entry){s->pid, s->tid, cpu, a->lset_gen, *set};
	return ret;
}

/*
 * A sample's label set: its thread's, plus its region and trace where the
 * label timeline has them, plus where its data address points.
 */
static int sample_label_set(struct agg *a, const struct pabi_sample *s, uint32_t *set)
{
	struct pprof_label labels[12];
	char trace_hex[33], span_hex[17];
	size_t nlabels = a->o.labels ? timeline_labels(a, s, labels, 0, trace_hex, span_hex) : 0;
	bool mem_labels = a->o.mem_labels && s->addr;
	if (nlabels == 0 && !mem_labels)
		return thread_label_set(a, s, set);
	nlabels += thread_labels(a, s, &labels[nlabels]);
	struct c2c_labels mem;
	if (mem_labels) {
		/* Data-address samples (PEBS, IBS): where in which line, from where, how slow. */
		struct c2c_sample cs = {.addr = s->addr, .data_src = s->data_src, .weight = s->weight};
		c2c_sample_labels(&cs, a->o.line_size, &mem);
		labels[nlabels++] = (struct pprof_label){.key = "cacheline", .str = mem.cacheline};
		labels[nlabels++] = (struct pprof_label){.key = "offset", .num = (int64_t)mem.offset,
							 .num_unit = "bytes"};
		labels[nlabels++] = (struct pprof_label){.key = "data_src", .str = mem.data_src};
		labels[nlabels++] = (struct pprof_label){.key = "weight", .num = (int64_t)mem.weight,
							 .num_unit = "cycles"};
	}
	return pprof_add_label_set(a->prof, labels, nlabels, set);
}

int agg_add_sample(struct agg *a, int event, const struct pabi_sample *s)
{
	uint64_t locs[AGG_MAX_STACK];
	size_t n = agg_sample_stack(a, s, locs);
	size_t ntypes = 1 + a->o.nevents;
	memset(a->values, 0, ntypes * sizeof(*a->values));
	a->values[0] = 1;
	if (s->nr_read > 1 && a->o.event_of_id) {
		/* Leader sampling: every member's count since the previous leader sample. */
		for (uint64_t i = 0; i < s->nr_read; i++) {
			bool per_thread = false;
			int ev = a->o.event_of_id(a->o.id_ctx, s->read[i].id, &per_thread);
			if (ev >= 0)
				a->values[1 + ev] =
					base_sat_add(a->values[1 + ev],
						     read_delta(a, per_thread ? s->tid : 0,
								s->read[i].id, s->read[i].value));
		}
	} else {
		a->values[1 + event] = s->period > INT64_MAX ? INT64_MAX : (int64_t)s->period;
	}
	a->samples[event]++;

	uint32_t set;
	int ret = sample_label_set(a, s, &set);
	return ret < 0 ? ret : pprof_add_sample_labelled(a->prof, locs, n, a->values, set);
}

void agg_set_labels(struct agg *a, struct lbl_timeline *tl)
{
	a->o.labels = tl;
}

struct lbl_timeline *agg_labels(const struct agg *a)
{
	return a ? a->o.labels : NULL;
}

void agg_on_sideband(struct agg *a, const struct perf_event_header *h)
{
	/* A process's maps change (or a pid ends, to be reused): cached frame locations go. */
	if (h->type == PERF_RECORD_MMAP || h->type == PERF_RECORD_MMAP2 ||
	    h->type == PERF_RECORD_EXIT ||
	    (h->type == PERF_RECORD_COMM && (h->misc & PERF_RECORD_MISC_COMM_EXEC)))
		loc_cache_invalidate(a);
	/* A thread's name changes, or a tid may be reused: its labels go. */
	if (h->type == PERF_RECORD_COMM || h->type == PERF_RECORD_FORK ||
	    h->type == PERF_RECORD_EXIT)
		lset_cache_invalidate(a);
	if (!a->unwinder)
		return;
	uint32_t pid;
	switch (h->type) {
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_COMM:
	case PERF_RECORD_EXIT:
		/* pid is the first field of each of these bodies */
		if (h->size < sizeof(*h) + 4)
			return;
		memcpy(&pid, h + 1, 4);
		if (h->type != PERF_RECORD_COMM || (h->misc & PERF_RECORD_MISC_COMM_EXEC))
			uw_flush_pid(a->unwinder, (pid_t)pid);
		break;
	default:
		break;
	}
}

int agg_symbolize_summary(const struct agg *a, char *buf, size_t len)
{
	if (!a->symbolized)
		return 0;
	if (a->kernel_mapping && !sym_kernel_available(a->syms))
		return snprintf(buf, len,
				"kernel frames not symbolized: /proc/kallsyms hides addresses "
				"(kernel.kptr_restrict); record as root or: sudo sysctl -w "
				"kernel.kptr_restrict=0. symbolization: %llu distinct addresses in "
				"%.1f ms",
				(unsigned long long)a->symbolized, (double)a->symbolize_ns / 1e6);
	return snprintf(buf, len,
			"symbolization: %llu distinct addresses in %.1f ms (%.0f addresses/s, cold)",
			(unsigned long long)a->symbolized, (double)a->symbolize_ns / 1e6,
			(double)a->symbolized * 1e9 / (double)(a->symbolize_ns ? a->symbolize_ns : 1));
}

int agg_unwind_summary(const struct agg *a, char *buf, size_t len)
{
	if (!a->unwinder)
		return 0;
	struct uw_stats st;
	uw_get_stats(a->unwinder, &st);
	return snprintf(buf, len,
			"dwarf unwinding: %llu stacks, %llu frames in %.1f ms (%.0f stacks/s); "
			"stopped at the outermost frame %llu, at the depth limit %llu, stack dump "
			"exhausted %llu, no unwind info %llu, unmapped address %llu, unwinder error "
			"%llu",
			(unsigned long long)st.stacks, (unsigned long long)st.frames,
			(double)a->unwind_ns / 1e6,
			(double)st.stacks * 1e9 / (double)(a->unwind_ns ? a->unwind_ns : 1),
			(unsigned long long)st.stops[UW_STOP_END],
			(unsigned long long)st.stops[UW_STOP_DEPTH],
			(unsigned long long)st.stops[UW_STOP_STACK],
			(unsigned long long)st.stops[UW_STOP_NO_CFI],
			(unsigned long long)st.stops[UW_STOP_NO_MAP],
			(unsigned long long)st.stops[UW_STOP_ERROR]);
}
