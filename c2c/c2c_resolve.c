/*
 * c2c_resolve: names for a memory sample's two addresses, as `perf mem
 * report` and `perf c2c report` show them. Owns resolving the code address
 * (function, source file and line) and the data address (a global or
 * static "sym+0xOFF", or the region: [heap], [stack], anon, [kernel],
 * [unknown]) through the process model as it stands at the sample's place
 * in the stream, and the interned strings the samples point at (the report
 * copies them; they live until the resolver is freed).
 *
 * A .bss variable usually lies in the anonymous mapping that follows the
 * executable's last file mapping (the loader maps the part of the data
 * segment beyond the file as anonymous memory), so an anonymous address
 * right after a file mapping is looked up in that file's symbols at the
 * file mapping's load bias, as perf does for data symbols.
 *
 * Answers are memoized per (pid, address) while the process model's maps
 * stay as they were (proc_maps_generation): a report reads the same few
 * code addresses and cache lines again and again.
 */
#include "c2c.h"
#include "symbols.h"
#include "base.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One memoized answer: the code or the data address of a sample. */
struct memo {
	uint64_t addr;
	uint64_t gen; /* proc_maps_generation when resolved */
	int32_t pid;
	bool data;
	uint32_t line;
	const char *a, *b; /* interned: function and file, or the data symbol and NULL */
};

struct c2c_resolver {
	struct sym_cache *syms; /* borrowed */
	struct proc_model *procs; /* borrowed */
	char **str;             /* interned strings, index = htab idx */
	size_t nstr, strcap;
	struct base_htab index;
	struct memo *memo;
	size_t nmemo, memocap;
	struct base_htab memo_index;
};

int c2c_resolver_new(struct c2c_resolver **out, struct proc_model *procs, struct sym_cache *syms)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->syms = syms;
	(*out)->procs = procs;
	return 0;
}

void c2c_resolver_free(struct c2c_resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nstr; i++)
		free(r->str[i]);
	free(r->str);
	base_htab_free(&r->index);
	free(r->memo);
	base_htab_free(&r->memo_index);
	free(r);
}

static bool str_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct c2c_resolver *r = ctx;
	return strcmp(r->str[idx], key) == 0;
}

/* The pool's copy of s (NULL stays NULL); NULL when out of memory. */
static const char *intern(struct c2c_resolver *r, const char *s)
{
	if (!s)
		return NULL;
	if (base_htab_reserve(&r->index) < 0)
		return NULL;
	uint64_t h = base_htab_hash_bytes(s, strlen(s));
	struct base_htab_slot *slot = base_htab_find(&r->index, h, str_eq, r, s);
	if (slot->idx1)
		return r->str[slot->idx1 - 1];
	if (BASE_GROW(r->str, r->strcap, r->nstr + 1) < 0)
		return NULL;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	r->str[r->nstr++] = copy;
	slot->hash = h;
	slot->idx1 = (uint32_t)r->nstr;
	r->index.n++;
	return copy;
}

static bool memo_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct memo *e = &((const struct c2c_resolver *)ctx)->memo[idx], *k = key;
	return e->addr == k->addr && e->pid == k->pid && e->data == k->data;
}

/*
 * The memo's entry for (pid, addr, data), current or stale, or NULL when
 * there is none; *at is then the empty slot it would take (NULL: no memory).
 */
static struct memo *memo_slot(struct c2c_resolver *r, const struct memo *key,
			      struct base_htab_slot **at, uint64_t *hash)
{
	*hash = base_htab_mix(base_htab_mix((uint64_t)(uint32_t)key->pid, key->addr), key->data);
	if (base_htab_reserve(&r->memo_index) < 0)
		return *at = NULL, NULL;
	*at = base_htab_find(&r->memo_index, *hash, memo_eq, r, key);
	return (*at)->idx1 ? &r->memo[(*at)->idx1 - 1] : NULL;
}

/* The answer resolved before under the same maps, or NULL. */
static const struct memo *memo_get(struct c2c_resolver *r, int32_t pid, uint64_t addr, bool data)
{
	struct memo key = {.addr = addr, .pid = pid, .data = data};
	struct base_htab_slot *at;
	uint64_t h;
	const struct memo *e = memo_slot(r, &key, &at, &h);
	return e && e->gen == proc_maps_generation(r->procs) ? e : NULL;
}

/* Remembers an answer, replacing a stale one (without memory, the next lookup resolves again). */
static void memo_put(struct c2c_resolver *r, const struct memo *answer)
{
	struct base_htab_slot *at;
	uint64_t h;
	struct memo *e = memo_slot(r, answer, &at, &h);
	if (!e) {
		if (!at || r->nmemo >= UINT32_MAX ||
		    BASE_GROW(r->memo, r->memocap, r->nmemo + 1) < 0)
			return;
		e = &r->memo[r->nmemo++];
		at->hash = h;
		at->idx1 = (uint32_t)r->nmemo;
		r->memo_index.n++;
	}
	*e = *answer;
	e->gen = proc_maps_generation(r->procs);
}

static bool is_file_map(const struct proc_map *m)
{
	return m && m->filename && m->filename[0] == '/' && strncmp(m->filename, "/dev/", 5) != 0 &&
	       strncmp(m->filename, "/memfd:", 7) != 0 && strncmp(m->filename, "//anon", 6) != 0;
}

static const char *bid(const struct proc_map *m)
{
	return m->build_id[0] ? m->build_id : NULL;
}

static void resolve_code_uncached(struct c2c_resolver *r, struct c2c_sample *s)
{
	struct sym_result res = {0};
	if (s->ip_kernel) {
		if (sym_lookup_kernel(r->syms, s->ip, &res) == 0)
			s->func = intern(r, res.function);
		else
			s->func = intern(r, "[kernel]");
		return;
	}
	struct proc_map *m = proc_find_map(r->procs, (pid_t)s->pid, s->ip);
	if (is_file_map(m)) {
		if (sym_lookup_file(r->syms, m->filename, bid(m), s->ip - m->start + m->pgoff,
				    &res) == 0) {
			s->func = intern(r, res.function);
			s->file = intern(r, res.file);
			s->line = res.line > 0 ? (uint32_t)res.line : 0;
		}
		return;
	}
	if (sym_lookup_jit(r->syms, (pid_t)s->pid, s->ip, &res) == 0)
		s->func = intern(r, res.function);
}

/*
 * The load bias of the ELF file m maps: its mappings follow each other (with
 * holes where segments are aligned wider than a page, as arm64's 64 KB are in
 * an executable) and the lowest maps file offset 0, which lies in the first
 * PT_LOAD segment only (a higher page offset can be shared by two segments'
 * rounded pages).
 */
static int load_bias(struct c2c_resolver *r, pid_t pid, const struct proc_map *m, uint64_t *bias)
{
	const struct proc_map *first = m;
	for (const struct proc_map *p = proc_prev_map(r->procs, pid, m);
	     p && p->filename && strcmp(p->filename, m->filename) == 0;
	     p = proc_prev_map(r->procs, pid, p))
		first = p;
	uint64_t vaddr;
	if (sym_offset_to_vaddr(r->syms, first->filename, bid(first), first->pgoff, &vaddr) < 0)
		return -ENOENT;
	*bias = first->start - vaddr;
	return 0;
}

/* name in the file of map m: 0 with *addr at m's load bias, -ENOENT when the file lacks it. */
static int symbol_in_map(struct c2c_resolver *r, pid_t pid, const struct proc_map *m,
			 const char *name, uint64_t *addr, uint64_t *size)
{
	struct sym_data d;
	uint64_t bias;
	int ret = sym_find_data(r->syms, m->filename, bid(m), name, &d);
	if (ret == 0 && (ret = load_bias(r, pid, m, &bias)) == 0) {
		*addr = d.start + bias;
		if (size)
			*size = d.size;
	}
	return ret;
}

int c2c_symbol_address(struct c2c_resolver *r, pid_t pid, const char *name, uint64_t *addr,
		       uint64_t *size, const char **file)
{
	int ret = proc_synthesize(r->procs, pid, false);
	if (ret < 0)
		return ret;
	const char *exe = proc_exe(r->procs, pid);
	for (int pass = 0; pass < 2; pass++) {
		const char *last = NULL; /* a file's mappings are adjacent: look it up once */
		for (const struct proc_map *m = proc_next_map(r->procs, pid, NULL); m;
		     m = proc_next_map(r->procs, pid, m)) {
			if (!m->filename || m->filename[0] != '/' || (last && !strcmp(last, m->filename)))
				continue;
			last = m->filename;
			bool is_exe = exe && strcmp(m->filename, exe) == 0;
			if (is_exe != (pass == 0))
				continue;
			ret = symbol_in_map(r, pid, m, name, addr, size);
			if (ret == 0) {
				*file = m->filename;
				return 0;
			}
			if (ret == -ENOMEM)
				return ret;
		}
	}
	return -ENOENT;
}

static enum c2c_object_kind region_kind(const char *filename)
{
	if (filename && strcmp(filename, "[heap]") == 0)
		return C2C_OBJ_HEAP;
	if (filename && strncmp(filename, "[stack", 6) == 0)
		return C2C_OBJ_STACK;
	return C2C_OBJ_ANON;
}

/*
 * addr through file map m (it may lie past m: the .bss tail): its ELF vaddr
 * in *vaddr, and the data symbol there in *o. 1 with a symbol, 0 without,
 * -ENOENT when the file's load bias is unknown.
 */
static int symbol_object(struct c2c_resolver *r, pid_t pid, const struct proc_map *m, uint64_t addr,
			 uint64_t *vaddr, struct c2c_object *o)
{
	uint64_t bias;
	struct sym_data d;
	if (load_bias(r, pid, m, &bias) < 0)
		return -ENOENT;
	*vaddr = addr - bias;
	if (sym_lookup_data(r->syms, m->filename, bid(m), *vaddr, &d) < 0 || !d.name)
		return 0;
	const char *name = intern(r, d.name);
	if (!name)
		return 0;
	*o = (struct c2c_object){C2C_OBJ_SYMBOL, name, d.start + bias, d.start + bias + d.size,
				 *vaddr};
	return 1;
}

int c2c_data_object(struct c2c_resolver *r, pid_t pid, uint64_t addr, struct c2c_object *o)
{
	*o = (struct c2c_object){.kind = C2C_OBJ_UNKNOWN};
	if (pabi_addr_is_kernel(PABI_MODE_UNKNOWN, addr)) { /* no record marks a data address */
		o->kind = C2C_OBJ_KERNEL;
		return 0;
	}
	struct proc_map *m = proc_find_map(r->procs, pid, addr);
	if (!m)
		return 0;
	uint64_t vaddr = 0;
	if (is_file_map(m)) {
		int ret = symbol_object(r, pid, m, addr, &vaddr, o);
		if (ret <= 0)
			*o = (struct c2c_object){C2C_OBJ_FILE, m->filename, m->start, m->end,
						 vaddr};
		return ret < 0 ? ret : 0;
	}
	/* Anonymous: a .bss variable when it directly follows the file's own mapping. */
	const struct proc_map *prev = proc_prev_map(r->procs, pid, m);
	if (prev && prev->end == m->start && is_file_map(prev) &&
	    !(m->filename && m->filename[0] == '[') &&
	    symbol_object(r, pid, prev, addr, &vaddr, o) > 0)
		return 0;
	const char *name = m->filename && m->filename[0] ? m->filename : NULL;
	*o = (struct c2c_object){region_kind(name), name, m->start, m->end, 0};
	return 0;
}

static void resolve_data_uncached(struct c2c_resolver *r, struct c2c_sample *s)
{
	struct c2c_object o;
	int ret = c2c_data_object(r, (pid_t)s->pid, s->addr, &o);
	char buf[512];
	const char *slash;
	switch (o.kind) {
	case C2C_OBJ_KERNEL:
		s->data_sym = intern(r, "[kernel]");
		return;
	case C2C_OBJ_UNKNOWN:
		s->data_sym = intern(r, "[unknown]");
		return;
	case C2C_OBJ_HEAP:
		s->data_sym = intern(r, "[heap]");
		return;
	case C2C_OBJ_STACK:
		s->data_sym = intern(r, "[stack]");
		return;
	case C2C_OBJ_ANON: /* [vdso], [vvar], [anon:NAME] keep their names */
		s->data_sym = intern(r, o.name && o.name[0] == '[' ? o.name : "anon");
		return;
	case C2C_OBJ_FILE:
		slash = strrchr(o.name, '/');
		snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, slash ? slash + 1 : o.name, o.vaddr);
		s->data_sym = ret < 0 ? NULL : intern(r, buf);
		return;
	case C2C_OBJ_SYMBOL:
		break;
	}
	if (s->addr == o.start) {
		s->data_sym = o.name;
		return;
	}
	/* Sized to the name: a demangled C++ name may run to kilobytes. */
	size_t len = strlen(o.name) + sizeof("+0x") + 16;
	char *sym = malloc(len);
	if (!sym) {
		s->data_sym = NULL;
		return;
	}
	snprintf(sym, len, "%s+0x%" PRIx64, o.name, s->addr - o.start);
	s->data_sym = intern(r, sym);
	free(sym);
}

void c2c_resolve(struct c2c_resolver *r, struct c2c_sample *s)
{
	const struct memo *e = memo_get(r, (int32_t)s->pid, s->ip, false);
	if (e) {
		s->func = e->a;
		s->file = e->b;
		s->line = e->line;
	} else {
		resolve_code_uncached(r, s);
		memo_put(r, &(struct memo){.addr = s->ip, .pid = (int32_t)s->pid, .a = s->func,
					  .b = s->file, .line = s->line});
	}
	if (!s->addr)
		return;
	e = memo_get(r, (int32_t)s->pid, s->addr, true);
	if (e) {
		s->data_sym = e->a;
	} else {
		resolve_data_uncached(r, s);
		memo_put(r, &(struct memo){.addr = s->addr, .pid = (int32_t)s->pid, .data = true,
					  .a = s->data_sym});
	}
}
