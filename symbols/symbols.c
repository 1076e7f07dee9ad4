/*
 * The symbolizer's cache and its file-backed lookups: the sorted address
 * tables every symbol source shares (build once, binary-search per address),
 * the LRU of ELF modules keyed by build id (else path + size + mtime), their
 * inline-frame memos, and the byte budget that evicts modules least recently
 * used first. Returned strings belong to a module (its tables, its libdw
 * data), so evicting it frees everything it held.
 * Reading ELF and DWARF is in symbols_elf.c; kallsyms and JIT maps in
 * symbols_kernel.c.
 */
#include "symbols_internal.h"
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <libelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- sorted address tables ---- */

uint32_t sym_rank(bool sized, enum sym_bind bind, const char *name, size_t len)
{
	uint32_t under = 0;
	while (under < len && under < 255 && name[under] == '_')
		under++;
	return (sized ? 0u : 1u) << 24 | (uint32_t)bind << 16 | under << 8;
}

int sym_builder_add(struct sym_builder *b, uint64_t start, uint64_t size, bool sized,
		    uint64_t limit, uint32_t rank, const char *name, size_t len)
{
	/* Offsets are 32-bit to keep raw entries small; 4 GB of names is not a symbol table. */
	if (b->nlen + len + 1 > UINT32_MAX || b->n >= UINT32_MAX)
		return -EOVERFLOW;
	if ((b->n >= b->cap && base_grow((void **)&b->v, &b->cap, b->n + 1, sizeof(*b->v))) ||
	    (b->nlen + len + 1 > b->ncap &&
	     base_grow((void **)&b->names, &b->ncap, b->nlen + len + 1, 1)))
		return -ENOMEM;
	struct sym_raw *r = &b->v[b->n];
	r->start = start;
	r->size = size;
	r->limit = limit;
	r->rank = rank;
	r->seq = (uint32_t)b->n;
	r->name_off = (uint32_t)b->nlen;
	r->sized = sized;
	memcpy(b->names + b->nlen, name, len);
	b->names[b->nlen + len] = '\0';
	b->nlen += len + 1;
	b->n++;
	return 0;
}

static int raw_cmp(const void *pa, const void *pb)
{
	const struct sym_raw *a = pa, *b = pb;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int raw_start_cmp(const struct sym_raw *a, const struct sym_raw *b)
{
	return a->start < b->start ? -1 : a->start > b->start;
}

/*
 * Orders by start only (finish picks the best of each start itself).
 * Symbol sources mostly arrive in address order already (kallsyms entirely,
 * unless modules follow; ELF symtabs in long runs), so only the part after
 * the longest sorted prefix is sorted, then merged with it: kallsyms' 120 K
 * symbols cost a scan instead of a 2 M-comparison sort.
 */
static int sort_raw(struct sym_raw *v, size_t n)
{
	size_t k = 1;
	while (k < n && raw_start_cmp(&v[k - 1], &v[k]) <= 0)
		k++;
	if (k >= n)
		return 0;
	qsort(v + k, n - k, sizeof(*v), raw_cmp);
	if (raw_start_cmp(&v[k - 1], &v[k]) <= 0)
		return 0; /* the tail starts after the prefix ends */
	struct sym_raw *tmp = malloc(k * sizeof(*v));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, v, k * sizeof(*v));
	/* Merge from the front: the output never overtakes the tail's unread part. */
	size_t i = 0, j = k, o = 0;
	while (i < k && j < n)
		v[o++] = raw_start_cmp(&v[j], &tmp[i]) < 0 ? v[j++] : tmp[i++];
	while (i < k)
		v[o++] = tmp[i++];
	free(tmp);
	return 0;
}

void sym_builder_free(struct sym_builder *b)
{
	free(b->v);
	free(b->names);
	memset(b, 0, sizeof(*b));
}

/* An unsized symbol with nothing after it and no section end: give it a page. */
#define SYM_UNSIZED_TAIL 4096

int sym_builder_finish(struct sym_builder *b, struct sym_table *out)
{
	memset(out, 0, sizeof(*out));
	if (b->n == 0) {
		sym_builder_free(b);
		return 0;
	}
	int ret = sort_raw(b->v, b->n);
	if (ret < 0) {
		sym_builder_free(b);
		return ret;
	}
	/* First the winners (name offsets parked in .name), then one tight names block. */
	size_t n = 0, nlen = 0;
	for (size_t i = 0; i < b->n;) {
		const struct sym_raw *r = &b->v[i]; /* the best of those at this start */
		size_t j = i + 1;
		for (; j < b->n && b->v[j].start == r->start; j++)
			if (raw_cmp(&b->v[j], r) < 0)
				r = &b->v[j];
		uint64_t end;
		if (!r->sized && b->exact) {
			end = r->start; /* a size-0 data symbol names its address alone */
		} else if (r->sized) {
			end = r->start + r->size < r->start ? UINT64_MAX : r->start + r->size;
		} else {
			end = j < b->n ? b->v[j].start : r->start + SYM_UNSIZED_TAIL;
			if (j >= b->n && end < r->start)
				end = UINT64_MAX;
			if (r->limit > r->start && r->limit < end)
				end = r->limit;
		}
		b->v[n] = *r; /* n <= i: compacts in place */
		b->v[n].limit = end;
		b->v[n].size = strlen(b->names + r->name_off) + 1; /* from here on: the name's bytes */
		nlen += b->v[n].size;
		n++;
		i = j;
	}
	struct sym_entry *v = malloc(n * sizeof(*v));
	char *names = malloc(nlen);
	if (!v || !names) {
		free(v);
		free(names);
		sym_builder_free(b);
		return -ENOMEM;
	}
	size_t at = 0;
	for (size_t k = 0; k < n; k++) {
		const char *name = b->names + b->v[k].name_off;
		size_t len = (size_t)b->v[k].size;
		memcpy(names + at, name, len);
		v[k] = (struct sym_entry){.start = b->v[k].start, .end = b->v[k].limit,
					  .name = names + at};
		at += len;
	}
	out->v = v;
	out->n = n;
	out->names = names;
	out->bytes = n * sizeof(*v) + nlen;
	sym_builder_free(b);
	return 0;
}

void sym_table_free(struct sym_table *t)
{
	free(t->v);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

/*
 * How far back to look for an enclosing symbol when the nearest one below
 * the address has ended: sized symbols may nest (a local label function
 * inside a bigger one), and a few levels cover what compilers emit.
 */
#define SYM_NEST_MAX 8

/* The innermost entry holding addr; size0_ok: a size-0 entry holds its own start (data labels). */
static struct sym_entry *table_find(const struct sym_table *t, uint64_t addr, bool size0_ok)
{
	size_t lo = 0, hi = t->n; /* find the first entry starting above addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = 0; k < SYM_NEST_MAX && lo > 0; k++, lo--) {
		struct sym_entry *e = &t->v[lo - 1];
		if (addr < e->end || (size0_ok && addr == e->start))
			return e;
	}
	return NULL;
}

struct sym_entry *sym_table_find(const struct sym_table *t, uint64_t addr)
{
	return table_find(t, addr, false);
}

struct sym_entry *sym_table_find_data(const struct sym_table *t, uint64_t addr)
{
	return table_find(t, addr, true);
}

/* ---- memo strings ---- */

struct sym_chunk {
	struct sym_chunk *next;
	char data[];
};

#define SYM_STRS_CHUNK_MIN 1024
#define SYM_STRS_CHUNK_MAX (64 * 1024)

static void strs_free(struct sym_strs *st)
{
	while (st->chunks) {
		struct sym_chunk *next = st->chunks->next;
		free(st->chunks);
		st->chunks = next;
	}
	base_htab_free(&st->index);
	free(st->v);
	memset(st, 0, sizeof(*st));
}

/* The chunk strs_reserve would allocate for len bytes, or 0 when they fit. */
static size_t strs_chunk(const struct sym_strs *st, size_t len)
{
	if (len <= st->left)
		return 0;
	size_t csize = st->chunk_next > SYM_STRS_CHUNK_MIN ? st->chunk_next : SYM_STRS_CHUNK_MIN;
	return csize > len ? csize : len;
}

/* Room for len more bytes of strings in the current chunk. */
static int strs_reserve(struct sym_strs *st, size_t len)
{
	size_t csize = strs_chunk(st, len);
	if (!csize)
		return 0;
	struct sym_chunk *ch = malloc(sizeof(*ch) + csize);
	if (!ch)
		return -ENOMEM;
	ch->next = st->chunks;
	st->chunks = ch;
	st->bytes += sizeof(*ch) + csize;
	st->cur = ch->data;
	st->left = csize;
	size_t next = 2 * (st->chunk_next > SYM_STRS_CHUNK_MIN ? st->chunk_next : SYM_STRS_CHUNK_MIN);
	st->chunk_next = next < SYM_STRS_CHUNK_MAX ? next : SYM_STRS_CHUNK_MAX;
	return 0;
}

/*
 * The most interning n more strings of `len` bytes in all (NULs included)
 * allocates, when their room was made with one strs_reserve(st, len).
 */
static size_t strs_need(const struct sym_strs *st, size_t n, size_t len)
{
	size_t hcap = base_htab_cap_for(&st->index, n), vcap = base_grow_cap(st->cap, st->n + n);
	size_t need = (hcap - st->index.cap) * sizeof(*st->index.slot) + (vcap - st->cap) * sizeof(*st->v);
	size_t csize = strs_chunk(st, len);
	return need + (csize ? sizeof(struct sym_chunk) + csize : 0);
}

struct strs_key {
	const char *s;
	size_t len;
};

static bool strs_eq(const void *ctx, uint32_t idx, const void *key)
{
	const char *t = ((const struct sym_strs *)ctx)->v[idx];
	const struct strs_key *k = key;
	return t == k->s || (strncmp(t, k->s, k->len) == 0 && t[k->len] == '\0');
}

/* The store's copy of str, made on first sight; NULL when out of memory. */
static const char *strs_intern(struct sym_strs *st, const char *str)
{
	struct strs_key k = {str, strlen(str)};
	size_t hcap = st->index.cap, vcap = st->cap;
	int ret = st->n >= UINT32_MAX ? -ENOMEM : base_htab_reserve(&st->index);
	if (ret == 0)
		ret = BASE_GROW(st->v, st->cap, st->n + 1);
	st->bytes += (st->index.cap - hcap) * sizeof(*st->index.slot) + (st->cap - vcap) * sizeof(*st->v);
	if (ret < 0)
		return NULL;
	uint64_t h = base_htab_hash_bytes(str, k.len);
	struct base_htab_slot *slot = base_htab_find(&st->index, h, strs_eq, st, &k);
	if (slot->idx1)
		return st->v[slot->idx1 - 1];
	if (strs_reserve(st, k.len + 1) < 0)
		return NULL;
	char *p = st->cur;
	memcpy(p, str, k.len + 1);
	st->cur += k.len + 1;
	st->left -= k.len + 1;
	st->v[st->n] = p;
	slot->hash = h;
	slot->idx1 = (uint32_t)++st->n;
	st->index.n++;
	return p;
}

/* ---- demangling ---- */

/*
 * As `c++filt -i`, `perf report -v` and gdb show names: parameters and
 * qualifiers, no implementation details (std::string, not its full
 * basic_string; no Rust hashes). The style is given, so libiberty's global
 * current style is never read.
 */
#define SYM_DEMANGLE_OPTS (DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO)

/* Itanium C++ (and Rust legacy, which wraps it) or Rust v0: what libiberty is asked about. */
bool sym_looks_mangled(const char *name)
{
	return name[0] == '_' && (name[1] == 'Z' || name[1] == 'R');
}

static bool dmap_eq(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct sym_dmap *)ctx)->v[idx].key == key;
}

static uint64_t dmap_hash(const void *key)
{
	return base_htab_mix(0, (uint64_t)(uintptr_t)key);
}

const char *sym_names_find(const struct sym_module *m, const void *key)
{
	const struct sym_dmap *d = &m->names;
	if (!d->index.cap)
		return NULL;
	const struct base_htab_slot *slot =
		base_htab_find(&d->index, dmap_hash(key), dmap_eq, d, key);
	return slot->idx1 ? d->v[slot->idx1 - 1].name : NULL;
}

const char *sym_names_add(struct sym_module *m, const void *key, const char *name)
{
	struct sym_dmap *d = &m->names;
	if (d->n >= UINT32_MAX || base_htab_reserve(&d->index) < 0 ||
	    BASE_GROW(d->v, d->cap, d->n + 1) < 0)
		return NULL;
	const char *kept = strs_intern(&d->strs, name);
	if (!kept)
		return NULL;
	uint64_t h = dmap_hash(key);
	struct base_htab_slot *slot = base_htab_find(&d->index, h, dmap_eq, d, key);
	d->v[d->n] = (struct sym_dmap_entry){key, kept};
	slot->hash = h;
	slot->idx1 = (uint32_t)++d->n;
	d->index.n++;
	return kept;
}

const char *sym_demangled(struct sym_module *m, const char *name)
{
	if (!name || !sym_looks_mangled(name))
		return name;
	const char *known = sym_names_find(m, name);
	if (known)
		return known;
	char *full = cplus_demangle(name, SYM_DEMANGLE_OPTS);
	/* One libiberty cannot read (a C name that only looks mangled) is kept as it is. */
	const char *kept = sym_names_add(m, name, full ? full : name);
	free(full);
	return kept ? kept : name; /* out of memory: asked again next time */
}

void sym_dmap_free(struct sym_dmap *d)
{
	base_htab_free(&d->index);
	free(d->v);
	strs_free(&d->strs);
	memset(d, 0, sizeof(*d));
}

static size_t dmap_bytes(const struct sym_dmap *d)
{
	return d->index.cap * sizeof(*d->index.slot) + d->cap * sizeof(*d->v) + d->strs.bytes;
}

/* ---- the cache ---- */

static void aliases_clear(struct sym_cache *c);

int sym_cache_new(struct sym_cache **out, char *err, size_t errlen)
{
	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		if (err && errlen)
			snprintf(err, errlen, "libelf is older than this program's ELF headers: %s",
				 elf_errmsg(-1));
		return -ENOTSUP;
	}
	struct sym_cache *c = calloc(1, sizeof(*c));
	if (!c) {
		if (err && errlen)
			snprintf(err, errlen, "symbol cache: out of memory");
		return -ENOMEM;
	}
	c->bytes = sizeof(*c);
	c->memo_cap = SYM_MEMO_BYTES_DEFAULT;
	c->own_bins = true;
	if (bin_cache_new(&c->bins) < 0) {
		free(c);
		if (err && errlen)
			snprintf(err, errlen, "symbol cache: out of memory");
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

/* The module holding an LRU link (NULL for NULL). */
static struct sym_module *mod_of(struct base_link *l)
{
	return BASE_ENTRY(l, struct sym_module, lru);
}

int sym_cache_use_binaries(struct sym_cache *c, struct bin_cache *bins)
{
	if (c->lru.head)
		return -EBUSY; /* its modules hold references into the other cache */
	if (c->own_bins)
		bin_cache_free(c->bins);
	c->bins = bins;
	c->own_bins = false;
	c->charged = 0;
	bin_cache_set_budget(bins, c->budget);
	return 0;
}

/* Shows the symbol tables' bytes to the binaries' cache, which counts the shared budget. */
static void bytes_sync(struct sym_cache *c)
{
	bin_cache_charge(c->bins, (ptrdiff_t)c->bytes - (ptrdiff_t)c->charged);
	c->charged = c->bytes;
}

/* What the symbol cache may hold under the budget beside what other users of the binaries hold. */
static size_t own_target(struct sym_cache *c, size_t reserve)
{
	bytes_sync(c);
	size_t others = bin_cache_bytes(c->bins) - c->bytes;
	return c->budget > others + reserve ? c->budget - others - reserve : 0;
}

static size_t memo_bytes(const struct sym_memo *mm)
{
	return mm->index.cap * sizeof(*mm->index.slot) + mm->cap * sizeof(*mm->v) + mm->framecap * sizeof(*mm->frames) + mm->strs.bytes;
}

/* The heavy part: tables, libdw's estimate, the CU index, the demangled names. */
static size_t heavy_bytes(const struct sym_module *m)
{
	return m->syms.bytes + m->data.bytes + m->dw_bytes + m->cu_bytes + dmap_bytes(&m->names);
}

/* Brings the cache's total up to date with what m holds now. */
static void module_account(struct sym_cache *c, struct sym_module *m)
{
	size_t now = m->own_bytes + heavy_bytes(m) + memo_bytes(&m->memo);
	c->bytes = c->bytes - m->accounted + now;
	m->accounted = now;
}

static void memo_free(struct sym_cache *c, struct sym_memo *mm)
{
	c->memo_bytes -= memo_bytes(mm);
	base_htab_free(&mm->index);
	free(mm->v);
	free(mm->frames);
	strs_free(&mm->strs);
	memset(mm, 0, sizeof(*mm));
}

static void module_free(struct sym_cache *c, struct sym_module *m)
{
	memo_free(c, &m->memo);
	sym_elf_release(m);
	free(m->key_build_id);
	free(m->path);
	free(m);
}

void sym_cache_free(struct sym_cache *c)
{
	if (!c)
		return;
	for (struct sym_module *m = mod_of(c->lru.head), *next; m; m = next) {
		next = mod_of(m->lru.next);
		module_free(c, m);
	}
	sym_kernel_release(&c->kernel);
	for (size_t i = 0; i < SYM_JIT_MAX; i++)
		sym_jit_release(&c->jit[i]);
	aliases_clear(c);
	free(c->debug_dir);
	if (c->own_bins)
		bin_cache_free(c->bins);
	else
		bin_cache_charge(c->bins, -(ptrdiff_t)c->charged);
	free(c);
}

/* Lower-case hex of 2..40 digits, or false (then the module is keyed by path). */
static bool normalize_build_id(const char *in, char out[41])
{
	if (!in)
		return false;
	size_t n = 0;
	for (; in[n]; n++) {
		if (n >= 40 || !isxdigit((unsigned char)in[n]))
			return false;
		out[n] = (char)tolower((unsigned char)in[n]);
	}
	out[n] = '\0';
	return n >= 2 && n % 2 == 0;
}


static void module_remove(struct sym_cache *c, struct sym_module *m)
{
	struct sym_module **pp = &c->buckets[m->hash & (SYM_HASH_BUCKETS - 1)];
	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	base_list_unlink(&c->lru, &m->lru);
	c->nmodules--;
	c->bytes -= m->accounted;
	module_free(c, m);
}

/* Drops m's heavy part; its segments, memo and module info stay. */
static void module_unload(struct sym_cache *c, struct sym_module *m)
{
	sym_elf_unload(m);
	m->loaded = false;
	module_account(c, m);
}

/*
 * Down to `target` bytes, what goes first is what is big and cheap to miss:
 * the heavy parts of the least recently used modules (their hot addresses
 * stay answered by their memos), then whole modules, least recently used
 * first, then JIT tables, then path aliases. `keep` (the module in use) and
 * `keep_jit` stay.
 */
static void cache_shrink(struct sym_cache *c, size_t target, struct sym_module *keep,
			 const struct sym_jit *keep_jit)
{
	for (struct sym_module *m = mod_of(c->lru.tail); m && c->bytes > target;
	     m = mod_of(m->lru.prev))
		if (m != keep && m->loaded && heavy_bytes(m))
			module_unload(c, m);
	while (c->bytes > target && c->lru.tail && mod_of(c->lru.tail) != keep)
		module_remove(c, mod_of(c->lru.tail));
	while (c->bytes > target) {
		struct sym_jit *victim = NULL;
		for (size_t i = 0; i < SYM_JIT_MAX; i++) {
			struct sym_jit *j = &c->jit[i];
			if (j != keep_jit && j->t.bytes && (!victim || j->used < victim->used))
				victim = j;
		}
		if (!victim)
			break;
		c->bytes -= victim->t.bytes;
		sym_jit_release(victim);
	}
	if (c->bytes > target)
		aliases_clear(c); /* last: they are small, and cost a read of each file to learn again */
}

void sym_cache_settle(struct sym_cache *c, struct sym_module *keep, const struct sym_jit *keep_jit)
{
	if (keep)
		module_account(c, keep);
	if (c->budget) {
		size_t target = own_target(c, 0);
		if (c->bytes > target)
			cache_shrink(c, target, keep, keep_jit);
	}
	bytes_sync(c);
}

/*
 * m's line tables, opened on first need. Room for what libdw is about to
 * map and decompress is made first: the peak stays near the budget instead
 * of budget + the module's debug info until the lookup settles.
 */
static int lines_open(struct sym_cache *c, struct sym_module *m)
{
	if (m->dwfl_state == 0 && c->budget && m->dw_open_bytes) {
		module_account(c, m);
		size_t target = own_target(c, m->dw_open_bytes);
		if (c->bytes > target)
			cache_shrink(c, target, m, NULL);
	}
	return sym_elf_lines_open(m, c->debug_dir);
}

int sym_cache_set_debug_dir(struct sym_cache *c, const char *dir)
{
	char *copy = dir ? strdup(dir) : NULL;
	if (dir && !copy)
		return -ENOMEM;
	free(c->debug_dir);
	c->debug_dir = copy;
	return 0;
}

void sym_cache_set_budget(struct sym_cache *c, size_t bytes)
{
	if (!c)
		return;
	c->budget = bytes;
	bin_cache_set_budget(c->bins, bytes);
	/* Memos are cheap to refill: a quarter of the budget, room left for libdw's data. */
	c->memo_cap = bytes ? bytes / 4 : SYM_MEMO_BYTES_DEFAULT;
	for (struct sym_module *m = mod_of(c->lru.tail); m && c->memo_bytes > c->memo_cap;
	     m = mod_of(m->lru.prev)) {
		memo_free(c, &m->memo);
		module_account(c, m);
	}
	sym_cache_settle(c, NULL, NULL);
}

size_t sym_cache_bytes(const struct sym_cache *c)
{
	return c ? c->bytes : 0;
}

static uint64_t path_key_hash(const char *path, const struct stat *st)
{
	uint64_t h = base_htab_hash_bytes(path, strlen(path));
	h = base_htab_mix(h, (uint64_t)st->st_size);
	h = base_htab_mix(h, (uint64_t)st->st_mtim.tv_sec);
	return base_htab_mix(h, (uint64_t)st->st_mtim.tv_nsec);
}

/*
 * A file with a build id is one module however the caller names it (with
 * the id, or by path as /proc/PID/maps does for processes that predate the
 * profiler): by path it is an alias of its id, learned by reading the id
 * once. Aliases are facts about files, not caches of them: they stay when
 * modules go, all dropped together if there are ever too many.
 */
struct sym_alias {
	struct sym_alias *next;
	uint64_t hash; /* path_key_hash */
	off_t size;
	struct timespec mtime;
	char build_id[41];
	char path[];
};

static size_t alias_bytes(const struct sym_alias *al)
{
	return sizeof(*al) + strlen(al->path) + 1;
}

static void aliases_clear(struct sym_cache *c)
{
	for (size_t i = 0; i < SYM_HASH_BUCKETS; i++) {
		while (c->aliases[i]) {
			struct sym_alias *next = c->aliases[i]->next;
			c->bytes -= alias_bytes(c->aliases[i]);
			free(c->aliases[i]);
			c->aliases[i] = next;
		}
	}
	c->naliases = 0;
}

static const char *alias_find(const struct sym_cache *c, uint64_t h, const char *path,
			      const struct stat *st)
{
	for (const struct sym_alias *al = c->aliases[h & (SYM_HASH_BUCKETS - 1)]; al; al = al->next)
		if (al->hash == h && al->size == st->st_size && al->mtime.tv_sec == st->st_mtim.tv_sec &&
		    al->mtime.tv_nsec == st->st_mtim.tv_nsec && strcmp(al->path, path) == 0)
			return al->build_id;
	return NULL;
}

/* Remembers path -> build id; a failure only costs reading the id again. */
static void alias_add(struct sym_cache *c, uint64_t h, const char *path, const struct stat *st,
		      const char *build_id)
{
	if (c->naliases >= SYM_ALIASES_MAX)
		aliases_clear(c);
	size_t len = strlen(path);
	struct sym_alias *al = malloc(sizeof(*al) + len + 1);
	if (!al)
		return;
	al->hash = h;
	al->size = st->st_size;
	al->mtime = st->st_mtim;
	snprintf(al->build_id, sizeof(al->build_id), "%s", build_id);
	memcpy(al->path, path, len + 1);
	al->next = c->aliases[h & (SYM_HASH_BUCKETS - 1)];
	c->aliases[h & (SYM_HASH_BUCKETS - 1)] = al;
	c->naliases++;
	c->bytes += alias_bytes(al);
}

/* The cached module under key h (by build id bid, else by path and st), made most recent. */
static struct sym_module *module_find(struct sym_cache *c, uint64_t h, bool by_id, const char *bid,
				      const char *path, const struct stat *st)
{
	for (struct sym_module *m = c->buckets[h & (SYM_HASH_BUCKETS - 1)]; m; m = m->hnext) {
		if (m->hash != h)
			continue;
		if (by_id) {
			if (!m->key_build_id || strcmp(m->key_build_id, bid) != 0)
				continue;
			/* A failure under one path says nothing of another copy. */
			if (m->status < 0 && strcmp(m->path, path) != 0) {
				module_remove(c, m);
				return NULL;
			}
		} else if (m->key_build_id || strcmp(m->path, path) != 0 || m->size != st->st_size ||
			   m->mtime.tv_sec != st->st_mtim.tv_sec ||
			   m->mtime.tv_nsec != st->st_mtim.tv_nsec) {
			continue;
		}
		if (c->lru.head != &m->lru) {
			base_list_unlink(&c->lru, &m->lru);
			base_list_push_front(&c->lru, &m->lru);
		}
		return m;
	}
	return NULL;
}

/*
 * The module for (path, build id), read on first use (segments, build id and
 * heavy part). Returns its status; *out is the module (also a negatively
 * cached one) or NULL when none was made. Callers end with
 * sym_cache_settle(c, *out, NULL), and call module_load before using the
 * heavy part. With pin (a binary the caller holds), the file is pin's: its
 * path, its build id when build_id is NULL, its identity instead of what the
 * path names now, and it is read through pin.
 */
static int module_get(struct sym_cache *c, const char *path, const char *build_id, struct bin *pin,
		      struct sym_module **out)
{
	if (pin) {
		path = pin->path;
		if (!build_id && pin->build_id[0])
			build_id = pin->build_id;
	}
	/* Consecutive lookups mostly hit one module: skip normalizing and hashing then. */
	struct sym_module *head = mod_of(c->lru.head);
	if (build_id && head && head->status == 0 && head->key_build_id &&
	    strcmp(head->key_build_id, build_id) == 0) {
		*out = head;
		return 0;
	}
	*out = NULL;
	char bid[41];
	bool by_id = normalize_build_id(build_id, bid);
	struct stat st = {0}; /* only read for modules keyed by path */
	uint64_t h;
	struct sym_module *m = NULL;
	if (by_id) {
		h = base_htab_hash_bytes(bid, strlen(bid));
		m = module_find(c, h, true, bid, path, &st);
	} else {
		if (pin) {
			st.st_size = pin->size;
			st.st_mtim = pin->mtime;
		} else if (stat(path, &st) != 0) {
			return -ENOENT;
		}
		h = path_key_hash(path, &st);
		const char *known = alias_find(c, h, path, &st);
		char fid[41];
		if (!known && !(m = module_find(c, h, false, NULL, path, &st)) && !pin) {
			/* The binary stays cached for the module about to be read from it. */
			int err;
			struct bin *b = bin_get(c->bins, path, &err);
			if (b && b->status == 0 && normalize_build_id(b->build_id, fid)) {
				alias_add(c, h, path, &st, fid);
				known = fid;
			}
			bin_put(c->bins, b);
		}
		if (known) {
			/* The id's module, unless it was read from another path (a stripped copy, say). */
			uint64_t id_h = base_htab_hash_bytes(known, strlen(known));
			struct sym_module *same = module_find(c, id_h, true, known, path, &st);
			if (!same || strcmp(same->path, path) == 0) {
				snprintf(bid, sizeof(bid), "%s", known);
				by_id = true;
				h = id_h;
				m = same;
			} else {
				m = module_find(c, h, false, NULL, path, &st);
			}
		}
	}
	if (m && pin && m->status < 0 && pin->status == 0) {
		module_remove(c, m); /* not readable by its path (gone since), but through pin */
		m = NULL;
	}
	if (m) {
		*out = m;
		return m->status;
	}

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->path = strdup(path);
	m->key_build_id = by_id ? strdup(bid) : NULL;
	if (!m->path || (by_id && !m->key_build_id)) {
		module_free(c, m);
		return -ENOMEM;
	}
	if (!by_id) {
		m->size = st.st_size;
		m->mtime = st.st_mtim;
	}
	m->hash = h;
	m->bins = c->bins;
	m->status = sym_elf_load(m, by_id ? bid : NULL, pin);
	if (m->status == -ENOMEM) { /* not a property of the file: do not remember it */
		module_free(c, m);
		return -ENOMEM;
	}
	m->loaded = m->status == 0;
	struct sym_module **bucket = &c->buckets[h & (SYM_HASH_BUCKETS - 1)];
	m->hnext = *bucket;
	*bucket = m;
	base_list_push_front(&c->lru, &m->lru);
	m->own_bytes = sizeof(*m) + strlen(m->path) + 1 +
		       (m->key_build_id ? strlen(m->key_build_id) + 1 : 0) +
		       m->nloads * sizeof(*m->loads);
	module_account(c, m);
	if (++c->nmodules > SYM_MODULES_MAX)
		module_remove(c, mod_of(c->lru.tail));
	*out = m;
	return m->status;
}

/*
 * The heavy part of m, read again (through pin when not NULL) if the budget
 * dropped it. A failure (the file went away or was replaced meanwhile)
 * becomes the module's status.
 */
static int module_load(struct sym_module *m, struct bin *pin)
{
	if (m->loaded)
		return 0;
	int ret = sym_elf_load(m, m->key_build_id, pin);
	if (ret == 0)
		m->loaded = true;
	else if (ret != -ENOMEM)
		m->status = ret;
	return ret;
}

static bool offset_to_vaddr(const struct sym_module *m, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < m->nloads; i++) {
		const struct bin_load *l = &m->loads[i];
		if (off >= l->offset && off - l->offset < l->filesz) {
			*vaddr = off - l->offset + l->vaddr;
			return true;
		}
	}
	return false;
}

static int lookup_file(struct sym_cache *c, const char *path, const char *build_id,
		       uint64_t file_offset, struct sym_result *out, bool lines)
{
	memset(out, 0, sizeof(*out));
	if (!c || !path)
		return -EINVAL;
	struct sym_module *m;
	int ret = module_get(c, path, build_id, NULL, &m);
	if (ret < 0 || !offset_to_vaddr(m, file_offset, &out->elf_vaddr)) {
		sym_cache_settle(c, m, NULL);
		return ret < 0 ? ret : 0; /* in no loaded segment: nothing to say */
	}
	if ((ret = module_load(m, NULL)) < 0) {
		out->elf_vaddr = 0;
		sym_cache_settle(c, m, NULL);
		return ret;
	}
	struct sym_entry *e = sym_table_find(&m->syms, out->elf_vaddr);
	if (e) {
		out->function = sym_demangled(m, e->name);
		out->system_name = e->name;
		out->func_start = e->start;
	}
	if (lines && lines_open(c, m) > 0)
		sym_elf_line(m, out->elf_vaddr, &out->file, &out->line);
	sym_cache_settle(c, m, NULL);
	return 0;
}

int sym_lookup_file(struct sym_cache *c, const char *path, const char *build_id,
		    uint64_t file_offset, struct sym_result *out)
{
	return lookup_file(c, path, build_id, file_offset, out, true);
}

int sym_lookup_func(struct sym_cache *c, const char *path, const char *build_id,
		    uint64_t file_offset, struct sym_result *out)
{
	return lookup_file(c, path, build_id, file_offset, out, false);
}

/* ---- inline frames ---- */

static uint64_t memo_hash(uint64_t vaddr)
{
	return base_htab_mix(0, vaddr);
}

static bool memo_eq(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct sym_memo *)ctx)->v[idx].vaddr == *(const uint64_t *)key;
}

static const struct sym_memo_entry *memo_find(const struct sym_memo *mm, uint64_t vaddr)
{
	if (!mm->index.cap)
		return NULL;
	const struct base_htab_slot *s = base_htab_find(&mm->index, memo_hash(vaddr), memo_eq, mm, &vaddr);
	return s->idx1 ? &mm->v[s->idx1 - 1] : NULL;
}

/* The capacities a memo needs for one more entry and n frames. */
static void memo_want(const struct sym_memo *mm, size_t n, size_t *hcap, size_t *cap, size_t *framecap)
{
	*hcap = base_htab_cap_for(&mm->index, 1);
	*cap = base_grow_cap(mm->cap, mm->used + 1);
	*framecap = mm->framecap;
	if (mm->nframes + n > mm->framecap) {
		*framecap = mm->framecap ? mm->framecap * 2 : SYM_MEMO_FRAMES_MIN;
		if (*framecap < mm->nframes + n)
			*framecap = mm->nframes + n;
	}
}

/* The strings of frames[0..n): how many, and their bytes with NULs. */
static void frame_strings(const struct sym_frame *f, size_t n, size_t *nstr, size_t *len)
{
	*nstr = *len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *strs[3] = {f[i].function, f[i].file, f[i].system_name};
		for (size_t k = 0; k < 3; k++) {
			if (strs[k]) {
				(*nstr)++;
				*len += strlen(strs[k]) + 1;
			}
		}
	}
}

/* The most storing frames[0..n) may add to a memo. */
static size_t memo_need(const struct sym_memo *mm, const struct sym_frame *f, size_t n)
{
	size_t hcap, cap, framecap, nstr, len;
	memo_want(mm, n, &hcap, &cap, &framecap);
	frame_strings(f, n, &nstr, &len);
	return (hcap - mm->index.cap) * sizeof(*mm->index.slot) + (cap - mm->cap) * sizeof(*mm->v) + (framecap - mm->framecap) * sizeof(*mm->frames) +
	       strs_need(&mm->strs, nstr, len);
}

/*
 * Room for frames[0..n) in m's memo. Past the memo bound, memos are emptied
 * least recently used module first, m's own last. -ENOSPC when even an empty
 * memo would not fit (a tiny budget): then nothing is memoized.
 */
static int memo_reserve(struct sym_cache *c, struct sym_module *m, const struct sym_frame *f,
			size_t n)
{
	struct sym_memo *mm = &m->memo;
	size_t need = memo_need(mm, f, n);
	for (struct sym_module *o = mod_of(c->lru.tail); o && c->memo_bytes + need > c->memo_cap;
	     o = mod_of(o->lru.prev)) {
		if (!memo_bytes(&o->memo))
			continue;
		memo_free(c, &o->memo);
		if (o != m)
			module_account(c, o);
		else
			need = memo_need(mm, f, n); /* m's own memo is gone: start small again */
	}
	if (c->memo_bytes + need > c->memo_cap)
		return -ENOSPC;
	size_t hcap = mm->index.cap, cap = mm->cap, framecap;
	if (mm->used >= UINT32_MAX || base_htab_reserve(&mm->index) < 0)
		return -ENOMEM;
	c->memo_bytes += (mm->index.cap - hcap) * sizeof(*mm->index.slot);
	if (BASE_GROW(mm->v, mm->cap, mm->used + 1) < 0)
		return -ENOMEM;
	c->memo_bytes += (mm->cap - cap) * sizeof(*mm->v);
	memo_want(mm, n, &hcap, &cap, &framecap);
	if (framecap != mm->framecap) {
		struct sym_frame *nf = realloc(mm->frames, framecap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		c->memo_bytes += (framecap - mm->framecap) * sizeof(*nf);
		mm->frames = nf;
		mm->framecap = framecap;
	}
	return 0;
}

/*
 * Remembers frames[0..n) at vaddr with the memo's own copies of the strings,
 * which replace those in frames. A failure only costs a later recomputation.
 */
static void memo_store(struct sym_cache *c, struct sym_module *m, uint64_t vaddr,
		       struct sym_frame *frames, size_t n)
{
	struct sym_memo *mm = &m->memo;
	if (memo_reserve(c, m, frames, n) < 0 || mm->nframes + n > UINT32_MAX)
		return;
	struct sym_frame copy[SYM_FRAMES_MAX];
	size_t before = mm->strs.bytes, nstr, len;
	frame_strings(frames, n, &nstr, &len);
	bool ok = strs_reserve(&mm->strs, len) == 0; /* one chunk at most, as memo_need counted */
	for (size_t i = 0; i < n && ok; i++) {
		copy[i] = frames[i];
		if (frames[i].function)
			ok = (copy[i].function = strs_intern(&mm->strs, frames[i].function)) != NULL;
		if (ok && frames[i].file)
			ok = (copy[i].file = strs_intern(&mm->strs, frames[i].file)) != NULL;
		if (ok && frames[i].system_name)
			ok = (copy[i].system_name = strs_intern(&mm->strs, frames[i].system_name)) !=
			     NULL;
	}
	c->memo_bytes += mm->strs.bytes - before;
	if (!ok)
		return;
	uint64_t h = memo_hash(vaddr);
	struct base_htab_slot *slot = base_htab_find(&mm->index, h, memo_eq, mm, &vaddr);
	if (n) {
		memcpy(mm->frames + mm->nframes, copy, n * sizeof(*copy));
		memcpy(frames, copy, n * sizeof(*copy));
	}
	mm->v[mm->used] = (struct sym_memo_entry){vaddr, (uint32_t)mm->nframes, (uint32_t)n};
	slot->hash = h;
	slot->idx1 = (uint32_t)++mm->used;
	mm->index.n++;
	mm->nframes += n;
}

/* The frames at vaddr (strings owned by the module); n is 0 when nothing is known. */
static int compute_frames(struct sym_cache *c, struct sym_module *m, struct bin *pin,
			  uint64_t vaddr, struct sym_frame *f, size_t *n)
{
	int ret = module_load(m, pin);
	if (ret < 0)
		return ret;
	int k = lines_open(c, m) > 0 ? sym_elf_frames(m, vaddr, f, SYM_FRAMES_MAX) : 0;
	if (k < 0)
		return k;
	if (k == 0) { /* no DWARF function here: the symbol table, and the line table if any */
		struct sym_entry *e = sym_table_find(&m->syms, vaddr);
		f[0].function = e ? sym_demangled(m, e->name) : NULL;
		f[0].system_name = e ? e->name : NULL;
		sym_elf_line(m, vaddr, &f[0].file, &f[0].line); /* NULL, 0 without lines */
		k = f[0].function || f[0].file;
	}
	*n = (size_t)k;
	return 0;
}

static int lookup_frames(struct sym_cache *c, const char *path, struct bin *pin,
			 const char *build_id, uint64_t file_offset, struct sym_frame *frames,
			 size_t max)
{
	if (!c || !path || (!frames && max))
		return -EINVAL;
	struct sym_module *m;
	int ret = module_get(c, path, build_id, pin, &m);
	uint64_t vaddr;
	if (ret < 0 || !offset_to_vaddr(m, file_offset, &vaddr)) {
		sym_cache_settle(c, m, NULL);
		return ret < 0 ? ret : 0; /* in no loaded segment: nothing to say */
	}
	const struct sym_frame *f;
	size_t n;
	struct sym_frame tmp[SYM_FRAMES_MAX];
	const struct sym_memo_entry *sl = memo_find(&m->memo, vaddr);
	if (sl) { /* the hot path: nothing grew, nothing to settle */
		f = m->memo.frames + sl->first;
		n = sl->n;
	} else {
		ret = compute_frames(c, m, pin, vaddr, tmp, &n);
		if (ret == 0)
			memo_store(c, m, vaddr, tmp, n);
		sym_cache_settle(c, m, NULL);
		if (ret < 0)
			return ret;
		f = tmp;
	}
	if (n > max)
		n = max;
	if (n)
		memcpy(frames, f, n * sizeof(*f));
	return (int)n;
}

int sym_lookup_frames(struct sym_cache *c, const char *path, const char *build_id,
		      uint64_t file_offset, struct sym_frame *frames, size_t max)
{
	return lookup_frames(c, path, NULL, build_id, file_offset, frames, max);
}

int sym_lookup_frames_bin(struct sym_cache *c, struct bin *b, const char *build_id,
			  uint64_t file_offset, struct sym_frame *frames, size_t max)
{
	return lookup_frames(c, b ? b->path : NULL, b, build_id, file_offset, frames, max);
}

static int module_info(struct sym_cache *c, const char *path, struct bin *pin, const char *build_id,
		       struct sym_module_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!c || !path)
		return -EINVAL;
	struct sym_module *m;
	int ret = module_get(c, path, build_id, pin, &m);
	if (ret == 0 && !m->info_known && (ret = module_load(m, pin)) == 0) {
		m->info_functions = m->syms.n > 0;
		m->info_lines = lines_open(c, m) > 0;
		/* Inline frames come from the same Dwfl as lines: none without it. */
		m->info_inlines = m->info_lines && sym_elf_has_inlines(m) > 0;
		m->info_known = true;
	}
	if (ret == 0) {
		out->has_functions = m->info_functions;
		out->has_filenames = out->has_line_numbers = m->info_lines;
		out->has_inline_frames = m->info_inlines;
		memcpy(out->build_id, m->build_id, sizeof(out->build_id));
	}
	sym_cache_settle(c, m, NULL);
	return ret;
}

int sym_module_info(struct sym_cache *c, const char *path, const char *build_id,
		    struct sym_module_info *out)
{
	return module_info(c, path, NULL, build_id, out);
}

int sym_module_info_bin(struct sym_cache *c, struct bin *b, const char *build_id,
			struct sym_module_info *out)
{
	return module_info(c, b ? b->path : NULL, b, build_id, out);
}

void sym_cache_unload(struct sym_cache *c)
{
	for (struct sym_module *m = mod_of(c->lru.head); m; m = mod_of(m->lru.next))
		if (m->loaded)
			module_unload(c, m);
	bytes_sync(c);
	bin_cache_drop_unused(c->bins);
}

/* ---- data addresses ---- */

/*
 * A file offset past a segment's file bytes but inside its memory size is
 * the .bss sharing the mapping's last page with .data: zero-filled, yet
 * mapped from the file.
 */
int sym_offset_to_vaddr(struct sym_cache *c, const char *path, const char *build_id,
			uint64_t file_offset, uint64_t *vaddr)
{
	if (!c || !path || !vaddr)
		return -EINVAL;
	struct sym_module *m;
	int ret = module_get(c, path, build_id, NULL, &m);
	if (ret == 0 && !offset_to_vaddr(m, file_offset, vaddr)) {
		ret = -ERANGE;
		for (size_t i = 0; i < m->nloads; i++) {
			const struct bin_load *l = &m->loads[i];
			if (file_offset >= l->offset && file_offset - l->offset < l->memsz) {
				*vaddr = file_offset - l->offset + l->vaddr;
				ret = 0;
				break;
			}
		}
	}
	sym_cache_settle(c, m, NULL);
	return ret;
}

/* The module of path with its data table read (lazily: the record path never needs it). */
static int module_data(struct sym_cache *c, const char *path, const char *build_id,
		       struct sym_module **out)
{
	int ret = module_get(c, path, build_id, NULL, out);
	struct sym_module *m = *out;
	if (ret == 0)
		ret = module_load(m, NULL);
	if (ret == 0 && m->data_state == 0) {
		ret = sym_elf_load_data(m);
		if (ret != -ENOMEM) /* out of memory says nothing of the file: try again later */
			m->data_state = ret < 0 ? ret : 1;
	}
	if (ret == 0 && m->data_state < 0)
		ret = -ENOENT;
	return ret;
}

int sym_lookup_data(struct sym_cache *c, const char *path, const char *build_id, uint64_t vaddr,
		    struct sym_data *out)
{
	if (!c || !path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	struct sym_module *m = NULL;
	int ret = module_data(c, path, build_id, &m);
	if (ret == 0) {
		const struct sym_entry *e = sym_table_find_data(&m->data, vaddr);
		if (e) {
			out->name = sym_demangled(m, e->name);
			out->start = e->start;
			out->size = e->end - e->start;
		} else {
			ret = -ENOENT;
		}
	}
	sym_cache_settle(c, m, NULL);
	return ret == -ENOMEM ? ret : ret < 0 ? -ENOENT : 0;
}

int sym_find_data(struct sym_cache *c, const char *path, const char *build_id, const char *name,
		  struct sym_data *out)
{
	if (!c || !path || !name || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	struct sym_module *m = NULL;
	int ret = module_data(c, path, build_id, &m);
	if (ret == 0) {
		ret = -ENOENT;
		for (size_t i = 0; i < m->data.n && ret; i++) {
			const struct sym_entry *e = &m->data.v[i];
			if (strcmp(e->name, name) == 0) {
				*out = (struct sym_data){e->name, e->start, e->end - e->start};
				ret = 0;
			}
		}
	}
	sym_cache_settle(c, m, NULL);
	return ret == -ENOMEM ? ret : ret < 0 ? -ENOENT : 0;
}
