/*
 * The symbolizer's cache and its file-backed lookups: the sorted address
 * tables every symbol source shares (build once, binary-search per address),
 * the string interner that keeps returned names alive across evictions, and
 * the LRU of ELF modules keyed by build id (else path + size + mtime).
 * Reading ELF and DWARF is in symbols_elf.c; kallsyms and JIT maps in
 * symbols_kernel.c.
 */
#include "symbols_internal.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <libelf.h>
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
	if (exp_grow((void **)&b->v, &b->cap, b->n + 1, sizeof(*b->v)) ||
	    exp_grow((void **)&b->names, &b->ncap, b->nlen + len + 1, 1))
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
	qsort(b->v, b->n, sizeof(*b->v), raw_cmp);
	struct sym_entry *v = malloc(b->n * sizeof(*v));
	if (!v) {
		sym_builder_free(b);
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < b->n;) {
		const struct sym_raw *r = &b->v[i]; /* the best of those at this start */
		size_t j = i + 1;
		while (j < b->n && b->v[j].start == r->start)
			j++;
		uint64_t end;
		if (r->sized) {
			end = r->start + r->size < r->start ? UINT64_MAX : r->start + r->size;
		} else {
			end = j < b->n ? b->v[j].start : r->start + SYM_UNSIZED_TAIL;
			if (j >= b->n && end < r->start)
				end = UINT64_MAX;
			if (r->limit > r->start && r->limit < end)
				end = r->limit;
		}
		v[n].start = r->start;
		v[n].end = end;
		v[n].name = b->names + r->name_off;
		v[n].interned = NULL;
		n++;
		i = j;
	}
	out->v = v;
	out->n = n;
	out->names = b->names; /* the entries point into it */
	b->names = NULL;
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

struct sym_entry *sym_table_find(const struct sym_table *t, uint64_t addr)
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
		if (addr < e->end)
			return e;
	}
	return NULL;
}

/* ---- string interning ---- */

struct sym_chunk {
	struct sym_chunk *next;
	char data[];
};

#define SYM_CHUNK_SIZE (64 * 1024)

static uint64_t hash_bytes(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) { /* FNV-1a */
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ull

static int intern_grow(struct sym_intern *in)
{
	size_t ncap = in->cap ? in->cap * 2 : 1024;
	const char **ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < in->cap; i++) {
		const char *s = in->slots[i];
		if (!s)
			continue;
		size_t k = hash_bytes(FNV_OFFSET, s, strlen(s)) & (ncap - 1);
		while (ns[k])
			k = (k + 1) & (ncap - 1);
		ns[k] = s;
	}
	free(in->slots);
	in->slots = ns;
	in->cap = ncap;
	return 0;
}

static char *intern_alloc(struct sym_intern *in, size_t size)
{
	if (size > in->left) {
		size_t csize = size > SYM_CHUNK_SIZE / 4 ? size : SYM_CHUNK_SIZE;
		struct sym_chunk *ch = malloc(sizeof(*ch) + csize);
		if (!ch)
			return NULL;
		ch->next = in->chunks;
		in->chunks = ch;
		if (csize == size) /* a big string gets its own chunk; keep the current one */
			return ch->data;
		in->cur = ch->data;
		in->left = csize;
	}
	char *p = in->cur;
	in->cur += size;
	in->left -= size;
	return p;
}

const char *sym_intern(struct sym_intern *in, const char *s, size_t len)
{
	if ((in->n + 1) * 2 > in->cap && intern_grow(in))
		return NULL;
	size_t k = hash_bytes(FNV_OFFSET, s, len) & (in->cap - 1);
	for (const char *t; (t = in->slots[k]); k = (k + 1) & (in->cap - 1))
		if (strncmp(t, s, len) == 0 && t[len] == '\0')
			return t;
	char *p = intern_alloc(in, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	in->slots[k] = p;
	in->n++;
	return p;
}

const char *sym_entry_name(struct sym_intern *in, struct sym_entry *e)
{
	if (!e->interned)
		e->interned = sym_intern(in, e->name, strlen(e->name));
	return e->interned;
}

static void intern_free(struct sym_intern *in)
{
	while (in->chunks) {
		struct sym_chunk *next = in->chunks->next;
		free(in->chunks);
		in->chunks = next;
	}
	free(in->slots);
	memset(in, 0, sizeof(*in));
}

/* ---- the cache ---- */

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
	*out = c;
	return 0;
}

static void module_free(struct sym_module *m)
{
	sym_elf_release(m);
	free(m->key_build_id);
	free(m->path);
	free(m);
}

void sym_cache_free(struct sym_cache *c)
{
	if (!c)
		return;
	for (struct sym_module *m = c->lru_head, *next; m; m = next) {
		next = m->next;
		module_free(m);
	}
	sym_kernel_release(&c->kernel);
	for (size_t i = 0; i < SYM_JIT_MAX; i++)
		sym_jit_release(&c->jit[i]);
	intern_free(&c->intern);
	free(c->memo.slots);
	free(c->memo.frames);
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

bool sym_build_id_matches(const char *want, const char *have)
{
	size_t n = strlen(have);
	if (n == 0 || strncasecmp(want, have, n) != 0)
		return false;
	/* perf pads shorter ids (md5: 16 bytes) with zeros to 20 bytes. */
	for (const char *p = want + n; *p; p++)
		if (*p != '0')
			return false;
	return true;
}

static void lru_unlink(struct sym_cache *c, struct sym_module *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		c->lru_head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		c->lru_tail = m->prev;
	m->prev = m->next = NULL;
}

static void lru_push_front(struct sym_cache *c, struct sym_module *m)
{
	m->prev = NULL;
	m->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = m;
	c->lru_head = m;
	if (!c->lru_tail)
		c->lru_tail = m;
}

static void module_remove(struct sym_cache *c, struct sym_module *m)
{
	struct sym_module **pp = &c->buckets[m->hash & (SYM_HASH_BUCKETS - 1)];
	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	lru_unlink(c, m);
	c->nmodules--;
	module_free(m);
}

static uint64_t path_key_hash(const char *path, const struct stat *st)
{
	uint64_t h = hash_bytes(FNV_OFFSET, path, strlen(path));
	uint64_t parts[3] = {(uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
			     (uint64_t)st->st_mtim.tv_nsec};
	return hash_bytes(h, (const char *)parts, sizeof(parts));
}

/* The module for (path, build id), loaded on first use. Returns its status. */
static int module_get(struct sym_cache *c, const char *path, const char *build_id,
		      struct sym_module **out)
{
	/* Consecutive lookups mostly hit one module: skip normalizing and hashing then. */
	struct sym_module *head = c->lru_head;
	if (build_id && head && head->status == 0 && head->key_build_id &&
	    strcmp(head->key_build_id, build_id) == 0) {
		*out = head;
		return 0;
	}
	char bid[41];
	bool by_id = normalize_build_id(build_id, bid);
	struct stat st;
	uint64_t h;
	if (by_id) {
		h = hash_bytes(FNV_OFFSET, bid, strlen(bid));
	} else {
		if (stat(path, &st) != 0)
			return -ENOENT;
		h = path_key_hash(path, &st);
	}
	for (struct sym_module *m = c->buckets[h & (SYM_HASH_BUCKETS - 1)]; m; m = m->hnext) {
		if (m->hash != h)
			continue;
		if (by_id) {
			if (!m->key_build_id || strcmp(m->key_build_id, bid) != 0)
				continue;
			/* A failure under one path says nothing of another copy. */
			if (m->status < 0 && strcmp(m->path, path) != 0) {
				module_remove(c, m);
				break;
			}
		} else if (m->key_build_id || strcmp(m->path, path) != 0 || m->size != st.st_size ||
			   m->mtime.tv_sec != st.st_mtim.tv_sec ||
			   m->mtime.tv_nsec != st.st_mtim.tv_nsec) {
			continue;
		}
		if (c->lru_head != m) {
			lru_unlink(c, m);
			lru_push_front(c, m);
		}
		*out = m;
		return m->status;
	}

	struct sym_module *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->path = strdup(path);
	m->key_build_id = by_id ? strdup(bid) : NULL;
	if (!m->path || (by_id && !m->key_build_id)) {
		module_free(m);
		return -ENOMEM;
	}
	if (!by_id) {
		m->size = st.st_size;
		m->mtime = st.st_mtim;
	}
	m->hash = h;
	m->id = ++c->module_serial;
	m->status = sym_elf_load(m, path, by_id ? bid : NULL);
	if (m->status == -ENOMEM) { /* not a property of the file: do not remember it */
		module_free(m);
		return -ENOMEM;
	}
	struct sym_module **bucket = &c->buckets[h & (SYM_HASH_BUCKETS - 1)];
	m->hnext = *bucket;
	*bucket = m;
	lru_push_front(c, m);
	if (++c->nmodules > SYM_MODULES_MAX)
		module_remove(c, c->lru_tail);
	*out = m;
	return m->status;
}

static bool offset_to_vaddr(const struct sym_module *m, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < m->nloads; i++) {
		const struct sym_load *l = &m->loads[i];
		if (off >= l->offset && off - l->offset < l->filesz) {
			*vaddr = off - l->offset + l->vaddr;
			return true;
		}
	}
	return false;
}

static const char *intern_file(struct sym_cache *c, struct sym_module *m, const char *file)
{
	size_t k = ((uintptr_t)file >> 3) & (SYM_FILE_MEMO - 1);
	if (m->files[k].raw != file) {
		const char *in = sym_intern(&c->intern, file, strlen(file));
		if (!in)
			return NULL;
		m->files[k].raw = file;
		m->files[k].interned = in;
	}
	return m->files[k].interned;
}

static int lookup_file(struct sym_cache *c, const char *path, const char *build_id,
		       uint64_t file_offset, struct sym_result *out, bool lines)
{
	memset(out, 0, sizeof(*out));
	if (!c || !path)
		return -EINVAL;
	struct sym_module *m;
	int ret = module_get(c, path, build_id, &m);
	if (ret < 0)
		return ret;
	uint64_t vaddr;
	if (!offset_to_vaddr(m, file_offset, &vaddr))
		return 0; /* not in any loaded segment: nothing to say */
	out->elf_vaddr = vaddr;
	struct sym_entry *e = sym_table_find(&m->syms, vaddr);
	if (e) {
		out->function = sym_entry_name(&c->intern, e);
		out->func_start = e->start;
	}
	const char *file;
	int line;
	if (lines && sym_elf_lines_open(m) > 0 && sym_elf_line(m, vaddr, &file, &line) == 0) {
		out->file = file ? intern_file(c, m, file) : NULL;
		out->line = line;
	}
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

static size_t memo_index(size_t cap, uint64_t module, uint64_t vaddr)
{
	uint64_t h = (vaddr ^ module * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
	return (size_t)(h ^ h >> 29) & (cap - 1);
}

static const struct sym_memo_slot *memo_find(const struct sym_memo *mm, uint64_t module,
					     uint64_t vaddr)
{
	if (!mm->cap)
		return NULL;
	for (size_t k = memo_index(mm->cap, module, vaddr);; k = (k + 1) & (mm->cap - 1)) {
		const struct sym_memo_slot *sl = &mm->slots[k];
		if (!sl->module)
			return NULL;
		if (sl->module == module && sl->vaddr == vaddr)
			return sl;
	}
}

static void memo_clear(struct sym_memo *mm)
{
	if (mm->slots)
		memset(mm->slots, 0, mm->cap * sizeof(*mm->slots));
	mm->used = 0;
	mm->nframes = 0;
}

/* Room for one more slot and n frames: grown, or emptied once at its bounds. */
static int memo_reserve(struct sym_memo *mm, size_t n)
{
	if ((mm->used + 1) * 2 > mm->cap) {
		if (mm->cap >= SYM_MEMO_SLOTS_MAX) {
			memo_clear(mm);
		} else {
			size_t ncap = mm->cap ? mm->cap * 2 : SYM_MEMO_SLOTS_MIN;
			struct sym_memo_slot *ns = calloc(ncap, sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			for (size_t i = 0; i < mm->cap; i++) {
				const struct sym_memo_slot *sl = &mm->slots[i];
				if (!sl->module)
					continue;
				size_t k = memo_index(ncap, sl->module, sl->vaddr);
				while (ns[k].module)
					k = (k + 1) & (ncap - 1);
				ns[k] = *sl;
			}
			free(mm->slots);
			mm->slots = ns;
			mm->cap = ncap;
		}
	}
	if (mm->nframes + n > SYM_MEMO_FRAMES_MAX)
		memo_clear(mm);
	if (exp_grow((void **)&mm->frames, &mm->framecap, mm->nframes + n, sizeof(*mm->frames)))
		return -ENOMEM;
	return 0;
}

/* Remembers frames[0..n) at (module, vaddr); a failure only costs a later recomputation. */
static void memo_store(struct sym_memo *mm, uint64_t module, uint64_t vaddr,
		       const struct sym_frame *frames, size_t n)
{
	if (memo_reserve(mm, n) < 0)
		return;
	size_t k = memo_index(mm->cap, module, vaddr);
	while (mm->slots[k].module)
		k = (k + 1) & (mm->cap - 1);
	if (n) /* frames is still NULL while only empty results were stored */
		memcpy(mm->frames + mm->nframes, frames, n * sizeof(*frames));
	mm->slots[k].vaddr = vaddr;
	mm->slots[k].module = module;
	mm->slots[k].first = (uint32_t)mm->nframes;
	mm->slots[k].n = (uint32_t)n;
	mm->nframes += n;
	mm->used++;
}

/* The frames at vaddr with interned strings; n is 0 when nothing is known. */
static int compute_frames(struct sym_cache *c, struct sym_module *m, uint64_t vaddr,
			  struct sym_frame *f, size_t *n)
{
	int k = sym_elf_lines_open(m) > 0 ? sym_elf_frames(m, vaddr, f, SYM_FRAMES_MAX) : 0;
	if (k < 0)
		return k;
	if (k == 0) { /* no DWARF function here: the symbol table, and the line table if any */
		struct sym_entry *e = sym_table_find(&m->syms, vaddr);
		f[0].function = e ? e->name : NULL;
		sym_elf_line(m, vaddr, &f[0].file, &f[0].line); /* NULL, 0 without lines */
		k = f[0].function || f[0].file;
	}
	for (int i = 0; i < k; i++) {
		if (f[i].function &&
		    !(f[i].function = sym_intern(&c->intern, f[i].function, strlen(f[i].function))))
			return -ENOMEM;
		if (f[i].file && !(f[i].file = intern_file(c, m, f[i].file)))
			return -ENOMEM;
	}
	*n = (size_t)k;
	return 0;
}

int sym_lookup_frames(struct sym_cache *c, const char *path, const char *build_id,
		      uint64_t file_offset, struct sym_frame *frames, size_t max)
{
	if (!c || !path || (!frames && max))
		return -EINVAL;
	struct sym_module *m;
	int ret = module_get(c, path, build_id, &m);
	if (ret < 0)
		return ret;
	uint64_t vaddr;
	if (!offset_to_vaddr(m, file_offset, &vaddr))
		return 0; /* not in any loaded segment: nothing to say */
	const struct sym_frame *f;
	size_t n;
	struct sym_frame tmp[SYM_FRAMES_MAX];
	const struct sym_memo_slot *sl = memo_find(&c->memo, m->id, vaddr);
	if (sl) {
		f = c->memo.frames + sl->first;
		n = sl->n;
	} else {
		ret = compute_frames(c, m, vaddr, tmp, &n);
		if (ret < 0)
			return ret;
		memo_store(&c->memo, m->id, vaddr, tmp, n);
		f = tmp;
	}
	if (n > max)
		n = max;
	if (n)
		memcpy(frames, f, n * sizeof(*f));
	return (int)n;
}

int sym_module_info(struct sym_cache *c, const char *path, const char *build_id,
		    struct sym_module_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!c || !path)
		return -EINVAL;
	struct sym_module *m;
	int ret = module_get(c, path, build_id, &m);
	if (ret < 0)
		return ret;
	out->has_functions = m->syms.n > 0;
	out->has_filenames = out->has_line_numbers = sym_elf_lines_open(m) > 0;
	/* Inline frames come from the same Dwfl as lines: none without it. */
	out->has_inline_frames = out->has_line_numbers && sym_elf_has_inlines(m) > 0;
	memcpy(out->build_id, m->build_id, sizeof(out->build_id));
	return 0;
}
