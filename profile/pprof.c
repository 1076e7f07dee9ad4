/*
 * pprof — builder, gzipped writer and reader of profile.proto profiles.
 *
 * Owns: the interning tables (strings, mappings, functions, locations) and
 * the sample aggregation table, each an open-addressing hash table over a
 * flat array, so that adding a sample whose stack was seen before costs one
 * hash of its location ids and labels and no allocation. Encoding packs the
 * tables element by element with protobuf-c, in an order gzip compresses
 * well; writing gzips it with zlib into a temporary file next to the target
 * and renames it into place.
 */
#include "base.h"
#include "profile.h"

#include "profile.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* --- small helpers ------------------------------------------------------------ */

/* murmur3's finalizer: every input bit reaches every output bit. */
static inline uint64_t fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

/*
 * Hash state for sequences of words: two independent multiply chains (the
 * CPU overlaps them, ~2 cycles a word) mixed once at the end. This is the
 * hot path of pprof_add_sample: a 20-frame stack is 20 words.
 */
struct hstate {
	uint64_t a, b;
};

static inline void hs_pair(struct hstate *s, uint64_t x, uint64_t y)
{
	s->a = (s->a + x) * 0x9e3779b97f4a7c15ull;
	s->b = (s->b + y) * 0xc2b2ae3d27d4eb4full;
}

static inline uint64_t hs_final(const struct hstate *s)
{
	return fmix(s->a ^ ((s->b << 31) | (s->b >> 33)));
}

/* --- the builder ----------------------------------------------------------------- */

struct mapping {
	uint64_t start, limit, offset;
	int64_t filename, build_id;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct function {
	int64_t name, system_name, filename, start_line;
};

struct line_rec {
	uint64_t function_id;
	int64_t line;
};

struct location {
	uint64_t mapping_id, address;
	size_t line_off; /* into p->lines */
	size_t nlines;
};

/* Four int64s, no padding: compared and hashed as raw memory. */
struct label_rec {
	int64_t key, str, num, unit;
};

/* Samples share their label sets: one copy of each distinct set in p->sample_labs. */
struct label_set {
	size_t off; /* into p->sample_labs */
	uint32_t n;
};

struct sample {
	size_t loc_off; /* into p->sample_locs */
	uint32_t nloc;
	uint32_t lset; /* label set id, 0 for none */
};

/* The label-string cache: 2^PPROF_SCACHE_BITS sets of two (intern_label). */
#define PPROF_SCACHE_BITS 6
#define PPROF_SCACHE_SETS (1 << PPROF_SCACHE_BITS)

/* Marks the placeholder; the rest is padding. Control bytes: no real string starts so. */
#define LATE_MARK "\x01pmuprof late comment\x01"

struct pprof {
	size_t ntypes;
	int64_t *type_str, *unit_str;

	char **str;
	size_t nstr, cap_str;
	struct base_htab str_h;

	struct mapping *map;
	size_t nmap, cap_map;
	struct base_htab map_h;
	uint64_t main_mapping; /* listed first when set: pprof takes mapping[0] as the binary */

	struct function *fn;
	size_t nfn, cap_fn;
	struct base_htab fn_h;

	struct location *loc;
	size_t nloc, cap_loc;
	struct line_rec *lines;
	size_t nlines, cap_lines;
	struct base_htab loc_h;

	struct sample *smp;
	size_t nsmp, cap_smp;
	int64_t *values; /* nsmp * ntypes */
	size_t cap_values;
	uint64_t *sample_locs;
	size_t nsample_locs, cap_sample_locs;
	struct base_htab smp_h;

	struct label_rec *sample_labs; /* the label sets' labels, each set sorted */
	size_t nsample_labs, cap_sample_labs;
	struct label_set *lset;
	size_t nlset, cap_lset;
	struct base_htab lset_h;

	struct label_rec *scratch; /* the label set being added, resolved */
	size_t cap_scratch;
	struct str_cache {
		const char *ptr;
		int64_t idx;
	} scache[PPROF_SCACHE_SETS][2]; /* two ways per set, the more recent first */

	int64_t period_type, period_unit, period;
	int64_t time_nanos, duration_nanos;
	int64_t default_type;
	int64_t *comments;
	size_t ncomments, cap_comments;
	/* pprof_add_late_comment: its placeholder string, and who fills it while writing. */
	int64_t late;
	size_t late_width;
	pprof_late_fn late_fn;
	void *late_arg;
};

static const struct label_set no_labels;

static const struct label_set *sample_labels(const struct pprof *p, const struct sample *s)
{
	return s->lset ? &p->lset[s->lset - 1] : &no_labels;
}

/* --- strings --- */

struct str_key {
	const char *s;
	size_t len;
};

/* A byte loop: labels and names are short, and glibc's AVX-512 string compares are slow here. */
static bool str_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;
	const struct str_key *k = key;
	const char *a = p->str[idx];
	for (size_t i = 0; i < k->len; i++)
		if (a[i] != k->s[i])
			return false;
	return a[k->len] == '\0';
}

/* Index of s in the string table, adding it if new; NULL and "" are 0; -1 on OOM. */
static int64_t intern(struct pprof *p, const char *s)
{
	if (!s || !*s)
		return 0;
	struct str_key k = { s, strlen(s) };
	uint64_t h = base_htab_hash_bytes(s, k.len);
	if (base_htab_reserve(&p->str_h) < 0)
		return -1;
	struct base_htab_slot *slot = base_htab_find(&p->str_h, h, str_eq, p, &k);
	if (slot->idx1)
		return slot->idx1 - 1;
	if (p->nstr >= UINT32_MAX || BASE_GROW(p->str, p->cap_str, p->nstr + 1) < 0)
		return -1;
	char *copy = malloc(k.len + 1);
	if (!copy)
		return -1;
	memcpy(copy, s, k.len + 1);
	p->str[p->nstr] = copy;
	slot->hash = h;
	slot->idx1 = (uint32_t)++p->nstr;
	p->str_h.n++;
	return (int64_t)p->nstr - 1;
}

int pprof_new(struct pprof **out, const struct pprof_value_type *types, size_t ntypes,
	      char *err, size_t errlen)
{
	*out = NULL;
	if (ntypes == 0 || !types) {
		return base_fail(err, errlen, -EINVAL,
				 "pprof: a profile needs at least one sample type");
	}
	struct pprof *p = calloc(1, sizeof(*p));
	if (!p)
		goto oom;
	/* string_table[0] must be "": seed it so intern() never hands out index 0 otherwise. */
	p->str = calloc(16, sizeof(*p->str));
	if (!p->str)
		goto oom;
	p->cap_str = 16;
	p->str[0] = strdup("");
	if (!p->str[0])
		goto oom;
	p->nstr = 1;
	p->ntypes = ntypes;
	p->type_str = calloc(ntypes, sizeof(*p->type_str));
	p->unit_str = calloc(ntypes, sizeof(*p->unit_str));
	if (!p->type_str || !p->unit_str)
		goto oom;
	for (size_t i = 0; i < ntypes; i++) {
		if (!types[i].type || !*types[i].type) {
			base_fail(err, errlen, 0, "pprof: sample type %zu has no name", i);
			pprof_free(p);
			return -EINVAL;
		}
		p->type_str[i] = intern(p, types[i].type);
		p->unit_str[i] = intern(p, types[i].unit ? types[i].unit : "count");
		if (p->type_str[i] < 0 || p->unit_str[i] < 0)
			goto oom;
	}
	*out = p;
	return 0;
oom:
	pprof_free(p);
	return base_fail(err, errlen, -ENOMEM, "pprof: out of memory creating a profile");
}

void pprof_free(struct pprof *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstr; i++)
		free(p->str[i]);
	free(p->str);
	base_htab_free(&p->str_h);
	free(p->type_str);
	free(p->unit_str);
	free(p->map);
	base_htab_free(&p->map_h);
	free(p->fn);
	base_htab_free(&p->fn_h);
	free(p->loc);
	free(p->lines);
	base_htab_free(&p->loc_h);
	free(p->smp);
	free(p->values);
	free(p->sample_locs);
	base_htab_free(&p->smp_h);
	free(p->sample_labs);
	free(p->lset);
	base_htab_free(&p->lset_h);
	free(p->scratch);
	free(p->comments);
	free(p);
}

/* --- mappings --- */

static bool map_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;
	const struct mapping *a = &p->map[idx], *b = key;
	return a->start == b->start && a->limit == b->limit && a->offset == b->offset &&
	       a->filename == b->filename;
}

uint64_t pprof_add_mapping(struct pprof *p, const struct pprof_mapping_desc *m)
{
	struct mapping k = {
		.start = m->start,
		.limit = m->limit,
		.offset = m->offset,
		.filename = intern(p, m->filename),
		.has_functions = m->has_functions,
		.has_filenames = m->has_filenames,
		.has_line_numbers = m->has_line_numbers,
		.has_inline_frames = m->has_inline_frames,
	};
	if (k.filename < 0)
		return 0;
	uint64_t h = base_htab_mix(
		base_htab_mix(base_htab_mix(base_htab_mix(1, k.start), k.limit), k.offset),
		(uint64_t)k.filename);
	if (base_htab_reserve(&p->map_h) < 0)
		return 0;
	struct base_htab_slot *slot = base_htab_find(&p->map_h, h, map_eq, p, &k);
	if (slot->idx1)
		return slot->idx1;
	k.build_id = intern(p, m->build_id);
	if (k.build_id < 0 || p->nmap >= UINT32_MAX ||
	    BASE_GROW(p->map, p->cap_map, p->nmap + 1) < 0)
		return 0;
	p->map[p->nmap] = k;
	slot->hash = h;
	slot->idx1 = (uint32_t)++p->nmap;
	p->map_h.n++;
	return p->nmap;
}

int pprof_set_mapping_flags(struct pprof *p, uint64_t id, const struct pprof_mapping_desc *m)
{
	if (id == 0 || id > p->nmap)
		return -EINVAL;
	struct mapping *k = &p->map[id - 1];
	k->has_functions = m->has_functions;
	k->has_filenames = m->has_filenames;
	k->has_line_numbers = m->has_line_numbers;
	k->has_inline_frames = m->has_inline_frames;
	return 0;
}

/* --- functions --- */

static bool fn_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;
	return memcmp(&p->fn[idx], key, sizeof(struct function)) == 0;
}

uint64_t pprof_add_function(struct pprof *p, const char *name, const char *system_name,
			    const char *filename, int64_t start_line)
{
	struct function k = {
		.name = intern(p, name),
		.system_name = intern(p, system_name),
		.filename = intern(p, filename),
		.start_line = start_line,
	};
	if (k.name < 0 || k.system_name < 0 || k.filename < 0)
		return 0;
	uint64_t h = base_htab_mix(base_htab_mix(base_htab_mix(base_htab_mix(2, (uint64_t)k.name),
							       (uint64_t)k.system_name),
						 (uint64_t)k.filename),
				   (uint64_t)k.start_line);
	if (base_htab_reserve(&p->fn_h) < 0)
		return 0;
	struct base_htab_slot *slot = base_htab_find(&p->fn_h, h, fn_eq, p, &k);
	if (slot->idx1)
		return slot->idx1;
	if (p->nfn >= UINT32_MAX || BASE_GROW(p->fn, p->cap_fn, p->nfn + 1) < 0)
		return 0;
	p->fn[p->nfn] = k;
	slot->hash = h;
	slot->idx1 = (uint32_t)++p->nfn;
	p->fn_h.n++;
	return p->nfn;
}

/* --- locations --- */

struct loc_key {
	uint64_t mapping_id, address;
	const struct pprof_line *lines;
	size_t nlines;
};

static bool loc_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;
	const struct location *a = &p->loc[idx];
	const struct loc_key *k = key;
	if (a->mapping_id != k->mapping_id || a->address != k->address)
		return false;
	if (k->address != 0)
		return true;
	/* Address 0 means "no address" (e.g. synthetic or pre-symbolized frames): the lines decide. */
	if (a->nlines != k->nlines)
		return false;
	for (size_t i = 0; i < k->nlines; i++) {
		const struct line_rec *l = &p->lines[a->line_off + i];
		if (l->function_id != k->lines[i].function_id || l->line != k->lines[i].line)
			return false;
	}
	return true;
}

uint64_t pprof_add_location(struct pprof *p, uint64_t mapping_id, uint64_t address,
			    const struct pprof_line *lines, size_t nlines)
{
	if (mapping_id > p->nmap || (nlines && !lines))
		return 0;
	for (size_t i = 0; i < nlines; i++)
		if (lines[i].function_id > p->nfn)
			return 0;
	struct loc_key k = { mapping_id, address, lines, nlines };
	uint64_t h = base_htab_mix(base_htab_mix(3, mapping_id), address);
	if (address == 0)
		for (size_t i = 0; i < nlines; i++)
			h = base_htab_mix(base_htab_mix(h, lines[i].function_id),
					  (uint64_t)lines[i].line);
	if (base_htab_reserve(&p->loc_h) < 0)
		return 0;
	struct base_htab_slot *slot = base_htab_find(&p->loc_h, h, loc_eq, p, &k);
	if (slot->idx1)
		return slot->idx1;
	if (p->nloc >= UINT32_MAX || BASE_GROW(p->loc, p->cap_loc, p->nloc + 1) < 0 ||
	    BASE_GROW(p->lines, p->cap_lines, p->nlines + nlines) < 0)
		return 0;
	struct location *l = &p->loc[p->nloc];
	l->mapping_id = mapping_id;
	l->address = address;
	l->line_off = p->nlines;
	l->nlines = nlines;
	for (size_t i = 0; i < nlines; i++)
		p->lines[p->nlines++] = (struct line_rec){ lines[i].function_id, lines[i].line };
	slot->hash = h;
	slot->idx1 = (uint32_t)++p->nloc;
	p->loc_h.n++;
	return p->nloc;
}

int pprof_set_location_lines(struct pprof *p, uint64_t id, const struct pprof_line *lines,
			     size_t nlines)
{
	/* Lines are no part of the key of a location with an address: its hash stays right. */
	if (id == 0 || id > p->nloc || p->loc[id - 1].address == 0 || p->loc[id - 1].nlines ||
	    (nlines && !lines))
		return -EINVAL;
	for (size_t i = 0; i < nlines; i++)
		if (lines[i].function_id == 0 || lines[i].function_id > p->nfn)
			return -EINVAL;
	if (BASE_GROW(p->lines, p->cap_lines, p->nlines + nlines) < 0)
		return -ENOMEM;
	struct location *l = &p->loc[id - 1];
	l->line_off = p->nlines;
	l->nlines = nlines;
	for (size_t i = 0; i < nlines; i++)
		p->lines[p->nlines++] = (struct line_rec){lines[i].function_id, lines[i].line};
	return 0;
}

/* --- samples --- */

struct smp_key {
	const uint64_t *locs;
	size_t nloc;
	uint32_t lset;
};

static bool smp_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;
	const struct sample *s = &p->smp[idx];
	const struct smp_key *k = key;
	if (s->nloc != k->nloc || s->lset != k->lset)
		return false;
	/*
	 * A plain loop, not memcmp: glibc's AVX-512 memcmp uses masked loads for
	 * short and empty ranges, which cost ~200 ns each on the Zen 5 guests.
	 */
	const uint64_t *a = &p->sample_locs[s->loc_off];
	uint64_t diff = 0;
	for (size_t i = 0; i < k->nloc; i++)
		diff |= a[i] ^ k->locs[i];
	return diff == 0;
}

static int label_cmp(const struct label_rec *a, const struct label_rec *b)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->str != b->str)
		return a->str < b->str ? -1 : 1;
	if (a->num != b->num)
		return a->num < b->num ? -1 : 1;
	return a->unit < b->unit ? -1 : a->unit > b->unit;
}

/*
 * intern() for label strings, which callers pass again and again (literal
 * keys, per-thread comm buffers): a pointer-keyed cache skips the hashing.
 * Two ways per set: the handful of hot pointers are few, but two of them
 * sharing a direct-mapped slot ("pid" and "tid" did) evict each other on
 * every sample. The cached string is compared byte for byte, so a buffer
 * reused with new contents is still interned correctly.
 */
static bool scache_holds(const struct pprof *p, const struct str_cache *c, const char *s)
{
	if (c->ptr != s)
		return false;
	const char *a = p->str[c->idx];
	size_t i = 0;
	while (a[i] && a[i] == s[i])
		i++;
	return a[i] == s[i];
}

static int64_t intern_label(struct pprof *p, const char *s)
{
	if (!s || !*s)
		return 0;
	uint64_t h = (uint64_t)(uintptr_t)s * 0x9e3779b97f4a7c15ull;
	struct str_cache *set = p->scache[h >> (64 - PPROF_SCACHE_BITS)];
	if (scache_holds(p, &set[0], s))
		return set[0].idx;
	if (scache_holds(p, &set[1], s)) {
		struct str_cache hit = set[1];
		set[1] = set[0];
		set[0] = hit;
		return hit.idx;
	}
	int64_t idx = intern(p, s);
	if (idx > 0) {
		set[1] = set[0];
		set[0] = (struct str_cache){s, idx};
	}
	return idx;
}

struct lset_key {
	const struct label_rec *labs;
	uint32_t n;
};

static bool lset_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof *p = ctx;
	const struct label_set *set = &p->lset[idx];
	const struct lset_key *k = key;
	if (set->n != k->n)
		return false;
	const struct label_rec *la = &p->sample_labs[set->off], *lb = k->labs;
	uint64_t diff = 0;
	for (size_t i = 0; i < k->n; i++)
		diff |= (uint64_t)(la[i].key ^ lb[i].key) | (uint64_t)(la[i].str ^ lb[i].str) |
			(uint64_t)(la[i].num ^ lb[i].num) | (uint64_t)(la[i].unit ^ lb[i].unit);
	return diff == 0;
}

int pprof_add_label_set(struct pprof *p, const struct pprof_label *labels, size_t nlabels,
			uint32_t *id)
{
	*id = 0;
	if ((nlabels && !labels) || nlabels > UINT32_MAX)
		return -EINVAL;
	if (nlabels == 0)
		return 0;
	if (BASE_GROW(p->scratch, p->cap_scratch, nlabels) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < nlabels; i++) {
		const struct pprof_label *l = &labels[i];
		struct label_rec r = { .key = intern_label(p, l->key) };
		if (l->str) {
			r.str = intern_label(p, l->str);
		} else {
			r.num = l->num;
			r.unit = intern_label(p, l->num_unit);
		}
		if (r.key < 0 || r.str < 0 || r.unit < 0)
			return -ENOMEM;
		/* Insertion sort: label order must not make one set two. */
		size_t j = i;
		while (j > 0 && label_cmp(&p->scratch[j - 1], &r) > 0) {
			p->scratch[j] = p->scratch[j - 1];
			j--;
		}
		p->scratch[j] = r;
	}
	struct hstate hs = { 3, nlabels };
	for (size_t i = 0; i < nlabels; i++) {
		const struct label_rec *r = &p->scratch[i];
		hs_pair(&hs, (uint64_t)r->key, (uint64_t)r->str);
		hs_pair(&hs, (uint64_t)r->num, (uint64_t)r->unit);
	}
	uint64_t h = hs_final(&hs);
	struct lset_key k = { p->scratch, (uint32_t)nlabels };
	if (base_htab_reserve(&p->lset_h) < 0)
		return -ENOMEM;
	struct base_htab_slot *slot = base_htab_find(&p->lset_h, h, lset_eq, p, &k);
	if (!slot->idx1) {
		if (p->nlset >= UINT32_MAX - 1 || BASE_GROW(p->lset, p->cap_lset, p->nlset + 1) < 0 ||
		    BASE_GROW(p->sample_labs, p->cap_sample_labs, p->nsample_labs + nlabels) < 0)
			return -ENOMEM;
		p->lset[p->nlset] = (struct label_set){p->nsample_labs, (uint32_t)nlabels};
		memcpy(&p->sample_labs[p->nsample_labs], p->scratch, nlabels * sizeof(*p->scratch));
		p->nsample_labs += nlabels;
		slot->hash = h;
		slot->idx1 = (uint32_t)++p->nlset;
		p->lset_h.n++;
	}
	*id = slot->idx1;
	return 0;
}

int pprof_add_sample_labelled(struct pprof *p, const uint64_t *location_ids, size_t nlocations,
			      const int64_t *values, uint32_t label_set)
{
	if (!values || (nlocations && !location_ids) || nlocations > UINT32_MAX ||
	    label_set > p->nlset)
		return -EINVAL;
	uint64_t bad = 0;
	for (size_t i = 0; i < nlocations; i++)
		bad |= (location_ids[i] == 0) | (location_ids[i] > p->nloc);
	if (bad)
		return -EINVAL;
	struct hstate hs = { 4 + nlocations, label_set };
	size_t i = 0;
	for (; i + 1 < nlocations; i += 2)
		hs_pair(&hs, location_ids[i], location_ids[i + 1]);
	if (i < nlocations)
		hs_pair(&hs, location_ids[i], 0);
	uint64_t h = hs_final(&hs);
	struct smp_key k = { location_ids, nlocations, label_set };
	if (base_htab_reserve(&p->smp_h) < 0)
		return -ENOMEM;
	struct base_htab_slot *slot = base_htab_find(&p->smp_h, h, smp_eq, p, &k);
	if (slot->idx1) {
		int64_t *v = &p->values[(size_t)(slot->idx1 - 1) * p->ntypes];
		for (size_t t = 0; t < p->ntypes; t++)
			v[t] = base_sat_add(v[t], values[t]);
		return 0;
	}
	if (p->nsmp >= UINT32_MAX || BASE_GROW(p->smp, p->cap_smp, p->nsmp + 1) < 0 ||
	    BASE_GROW(p->values, p->cap_values, (p->nsmp + 1) * p->ntypes) < 0 ||
	    BASE_GROW(p->sample_locs, p->cap_sample_locs, p->nsample_locs + nlocations) < 0)
		return -ENOMEM;
	struct sample *s = &p->smp[p->nsmp];
	s->loc_off = p->nsample_locs;
	s->nloc = (uint32_t)nlocations;
	s->lset = label_set;
	if (nlocations)
		memcpy(&p->sample_locs[p->nsample_locs], location_ids,
		       nlocations * sizeof(*location_ids));
	p->nsample_locs += nlocations;
	memcpy(&p->values[p->nsmp * p->ntypes], values, p->ntypes * sizeof(*values));
	slot->hash = h;
	slot->idx1 = (uint32_t)++p->nsmp;
	p->smp_h.n++;
	return 0;
}

int pprof_add_sample(struct pprof *p, const uint64_t *location_ids, size_t nlocations,
		     const int64_t *values, const struct pprof_label *labels, size_t nlabels)
{
	if (!values || (nlocations && !location_ids))
		return -EINVAL;
	uint32_t set;
	int ret = pprof_add_label_set(p, labels, nlabels, &set);
	return ret < 0 ? ret : pprof_add_sample_labelled(p, location_ids, nlocations, values, set);
}

/* --- profile-wide fields --- */

void pprof_set_period(struct pprof *p, const char *type, const char *unit, int64_t period)
{
	int64_t t = intern(p, type), u = intern(p, unit);
	/* On OOM the period type is left unset rather than pointing at a missing string. */
	p->period_type = t < 0 ? 0 : t;
	p->period_unit = u < 0 ? 0 : u;
	p->period = period;
}

void pprof_set_time(struct pprof *p, int64_t time_nanos, int64_t duration_nanos)
{
	p->time_nanos = time_nanos;
	p->duration_nanos = duration_nanos;
}

void pprof_set_default_sample_type(struct pprof *p, const char *type)
{
	int64_t t = intern(p, type);
	p->default_type = t < 0 ? 0 : t;
}

int pprof_add_comment(struct pprof *p, const char *text)
{
	int64_t s = intern(p, text);
	if (s < 0 || BASE_GROW(p->comments, p->cap_comments, p->ncomments + 1) < 0)
		return -ENOMEM;
	p->comments[p->ncomments++] = s;
	return 0;
}

size_t pprof_nsamples(const struct pprof *p)
{
	return p->nsmp;
}

/* --- encoding -------------------------------------------------------------------- */

/*
 * The profile is written element by element: each sample, mapping, location
 * and function is packed by protobuf-c from one reused message struct and
 * framed as a field of the Profile, so the encoding holds no message struct
 * per element (those would cost more than the builder's own tables). Protobuf
 * readers take a message's fields in any order and merge a repeated one across
 * its occurrences, so the profile-wide fields follow as one more packed Profile.
 */
struct enc {
	uint8_t *buf;
	size_t n, cap;
	/* The order: [k] is the builder's index of the k-th written; *_id: builder index -> id. */
	uint32_t *loc_order, *fn_order, *smp_order;
	uint64_t *loc_id, *fn_id;
};

static void enc_free(struct enc *e)
{
	free(e->loc_order);
	free(e->fn_order);
	free(e->smp_order);
	free(e->loc_id);
	free(e->fn_id);
}

/* calloc that never returns NULL for n == 0, so "NULL" always means out of memory. */
static void *xcalloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

static void put_varint(struct enc *e, uint64_t v)
{
	while (v >= 0x80) {
		e->buf[e->n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	e->buf[e->n++] = (uint8_t)v;
}

/* Field `field` of the Profile: the message m, packed by protobuf-c. */
static int put_message(struct enc *e, unsigned field, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	if (BASE_GROW(e->buf, e->cap, e->n + 20 + len) < 0)
		return -ENOMEM;
	put_varint(e, (uint64_t)field << 3 | 2); /* wire type 2: length-delimited */
	put_varint(e, len);
	e->n += protobuf_c_message_pack(m, e->buf + e->n);
	return 0;
}

/*
 * The order the tables are written in, for gzip, which finds repeats only
 * within 32 KiB and byte for byte: locations by (mapping, address), so
 * neighbours share their addresses' high bytes and their functions; functions
 * as those locations first name them; samples by their stacks read from the
 * root, so stacks that share callers sit together. Ids follow the written
 * order (1..n, as pprof_check_valid and pprof's fast path expect). What the
 * profile says is unchanged; its size shrinks by a fifth to a third.
 */
static int loc_before(const void *x, const void *y, void *ctx)
{
	const struct pprof *p = ctx;
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	const struct location *a = &p->loc[i], *b = &p->loc[j];
	if (a->mapping_id != b->mapping_id)
		return a->mapping_id < b->mapping_id ? -1 : 1;
	if (a->address != b->address)
		return a->address < b->address ? -1 : 1;
	return i < j ? -1 : i > j;
}

struct smp_order_ctx {
	const struct pprof *p;
	const uint64_t *loc_id; /* builder location id - 1 -> written id */
};

static int smp_before(const void *x, const void *y, void *arg)
{
	const struct smp_order_ctx *c = arg;
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	const struct sample *a = &c->p->smp[i], *b = &c->p->smp[j];
	const uint64_t *la = &c->p->sample_locs[a->loc_off], *lb = &c->p->sample_locs[b->loc_off];
	for (uint32_t k = 0; k < a->nloc && k < b->nloc; k++) {
		uint64_t u = c->loc_id[la[a->nloc - 1 - k] - 1],
			 v = c->loc_id[lb[b->nloc - 1 - k] - 1];
		if (u != v)
			return u < v ? -1 : 1;
	}
	if (a->nloc != b->nloc)
		return a->nloc < b->nloc ? -1 : 1;
	const struct label_set *sa = sample_labels(c->p, a), *sb = sample_labels(c->p, b);
	const struct label_rec *ra = &c->p->sample_labs[sa->off];
	const struct label_rec *rb = &c->p->sample_labs[sb->off];
	for (uint32_t k = 0; a->lset != b->lset && k < sa->n && k < sb->n; k++) {
		int d = label_cmp(&ra[k], &rb[k]);
		if (d)
			return d;
	}
	if (sa->n != sb->n)
		return sa->n < sb->n ? -1 : 1;
	return i < j ? -1 : i > j;
}

static int enc_order(const struct pprof *p, struct enc *e)
{
	e->loc_order = xcalloc(p->nloc, sizeof(*e->loc_order));
	e->loc_id = xcalloc(p->nloc, sizeof(*e->loc_id));
	e->fn_order = xcalloc(p->nfn, sizeof(*e->fn_order));
	e->fn_id = xcalloc(p->nfn, sizeof(*e->fn_id));
	e->smp_order = xcalloc(p->nsmp, sizeof(*e->smp_order));
	if (!e->loc_order || !e->loc_id || !e->fn_order || !e->fn_id || !e->smp_order)
		return -ENOMEM;
	for (size_t i = 0; i < p->nloc; i++)
		e->loc_order[i] = (uint32_t)i;
	qsort_r(e->loc_order, p->nloc, sizeof(*e->loc_order), loc_before, (void *)p);
	size_t nfn = 0;
	for (size_t k = 0; k < p->nloc; k++) {
		const struct location *l = &p->loc[e->loc_order[k]];
		e->loc_id[e->loc_order[k]] = k + 1;
		for (size_t i = 0; i < l->nlines; i++) {
			uint64_t f = p->lines[l->line_off + i].function_id;
			if (f && !e->fn_id[f - 1]) {
				e->fn_order[nfn] = (uint32_t)(f - 1);
				e->fn_id[f - 1] = ++nfn;
			}
		}
	}
	for (size_t i = 0; i < p->nfn; i++) /* functions no location names, as added */
		if (!e->fn_id[i]) {
			e->fn_order[nfn] = (uint32_t)i;
			e->fn_id[i] = ++nfn;
		}
	for (size_t i = 0; i < p->nsmp; i++)
		e->smp_order[i] = (uint32_t)i;
	struct smp_order_ctx c = {p, e->loc_id};
	qsort_r(e->smp_order, p->nsmp, sizeof(*e->smp_order), smp_before, &c);
	return 0;
}

static int put_samples(const struct pprof *p, struct enc *e)
{
	Perftools__Profiles__Sample sm = PERFTOOLS__PROFILES__SAMPLE__INIT;
	Perftools__Profiles__Label *lb = NULL, **lbp = NULL;
	uint64_t *ids = NULL;
	size_t cap_lb = 0, cap_lbp = 0, cap_ids = 0;
	int ret = 0;
	for (size_t k = 0; k < p->nsmp && ret == 0; k++) {
		size_t i = e->smp_order[k];
		const struct sample *s = &p->smp[i];
		const struct label_set *ls = sample_labels(p, s);
		if (BASE_GROW(lb, cap_lb, ls->n) < 0 || BASE_GROW(lbp, cap_lbp, ls->n) < 0 ||
		    BASE_GROW(ids, cap_ids, s->nloc) < 0) {
			ret = -ENOMEM;
			break;
		}
		for (size_t j = 0; j < s->nloc; j++)
			ids[j] = e->loc_id[p->sample_locs[s->loc_off + j] - 1];
		for (size_t j = 0; j < ls->n; j++) {
			const struct label_rec *r = &p->sample_labs[ls->off + j];
			perftools__profiles__label__init(&lb[j]);
			lb[j].key = r->key;
			lb[j].str = r->str;
			lb[j].num = r->num;
			lb[j].num_unit = r->unit;
			lbp[j] = &lb[j];
		}
		/* protobuf-c's structs are not const-qualified; packing only reads them. */
		sm.n_location_id = s->nloc;
		sm.location_id = s->nloc ? ids : NULL;
		sm.n_value = p->ntypes;
		sm.value = &p->values[i * p->ntypes];
		sm.n_label = ls->n;
		sm.label = ls->n ? lbp : NULL;
		ret = put_message(e, 2, &sm.base);
	}
	free(ids);
	free(lb);
	free(lbp);
	return ret;
}

static int put_mapping(const struct pprof *p, struct enc *e, size_t i)
{
	const struct mapping *m = &p->map[i];
	Perftools__Profiles__Mapping mp = PERFTOOLS__PROFILES__MAPPING__INIT;
	mp.id = i + 1;
	mp.memory_start = m->start;
	mp.memory_limit = m->limit;
	mp.file_offset = m->offset;
	mp.filename = m->filename;
	mp.build_id = m->build_id;
	mp.has_functions = m->has_functions;
	mp.has_filenames = m->has_filenames;
	mp.has_line_numbers = m->has_line_numbers;
	mp.has_inline_frames = m->has_inline_frames;
	return put_message(e, 3, &mp.base);
}

static int put_locations(const struct pprof *p, struct enc *e)
{
	Perftools__Profiles__Location lc = PERFTOOLS__PROFILES__LOCATION__INIT;
	Perftools__Profiles__Line *ln = NULL, **lnp = NULL;
	size_t cap_ln = 0, cap_lnp = 0;
	int ret = 0;
	for (size_t k = 0; k < p->nloc && ret == 0; k++) {
		const struct location *l = &p->loc[e->loc_order[k]];
		if (BASE_GROW(ln, cap_ln, l->nlines) < 0 ||
		    BASE_GROW(lnp, cap_lnp, l->nlines) < 0) {
			ret = -ENOMEM;
			break;
		}
		for (size_t j = 0; j < l->nlines; j++) {
			const struct line_rec *r = &p->lines[l->line_off + j];
			perftools__profiles__line__init(&ln[j]);
			ln[j].function_id = r->function_id ? e->fn_id[r->function_id - 1] : 0;
			ln[j].line = r->line;
			lnp[j] = &ln[j];
		}
		lc.id = k + 1;
		lc.mapping_id = l->mapping_id;
		lc.address = l->address;
		lc.n_line = l->nlines;
		lc.line = l->nlines ? lnp : NULL;
		ret = put_message(e, 4, &lc.base);
	}
	free(ln);
	free(lnp);
	return ret;
}

static int put_functions(const struct pprof *p, struct enc *e)
{
	Perftools__Profiles__Function fn = PERFTOOLS__PROFILES__FUNCTION__INIT;
	int ret = 0;
	for (size_t k = 0; k < p->nfn && ret == 0; k++) {
		const struct function *f = &p->fn[e->fn_order[k]];
		fn.id = k + 1;
		fn.name = f->name;
		/* A system name that is the name again (C's): pprof reads an empty one as the name. */
		fn.system_name = f->system_name == f->name ? 0 : f->system_name;
		fn.filename = f->filename;
		fn.start_line = f->start_line;
		ret = put_message(e, 5, &fn.base);
	}
	return ret;
}

/* The profile-wide fields and the string table: one more Profile, merged by readers. */
static int put_rest(const struct pprof *p, struct enc *e)
{
	Perftools__Profiles__Profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	msg.n_string_table = p->nstr;
	msg.string_table = p->str;
	msg.time_nanos = p->time_nanos;
	msg.duration_nanos = p->duration_nanos;
	if (p->period_type || p->period_unit) {
		pt.type = p->period_type;
		pt.unit = p->period_unit;
		msg.period_type = &pt;
	}
	msg.period = p->period;
	msg.n_comment = p->ncomments;
	msg.comment = p->ncomments ? p->comments : NULL;
	msg.default_sample_type = p->default_type;
	size_t len = perftools__profiles__profile__get_packed_size(&msg);
	if (BASE_GROW(e->buf, e->cap, e->n + len) < 0)
		return -ENOMEM;
	e->n += perftools__profiles__profile__pack(&msg, e->buf + e->n);
	return 0;
}

static int enc_write(const struct pprof *p, struct enc *e)
{
	int ret = enc_order(p, e);
	for (size_t i = 0; i < p->ntypes && ret == 0; i++) {
		Perftools__Profiles__ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
		st.type = p->type_str[i];
		st.unit = p->unit_str[i];
		ret = put_message(e, 1, &st.base);
	}
	if (ret == 0)
		ret = put_samples(p, e);
	/* pprof reads mapping[0] as the main binary: it goes first; ids stay as they are. */
	size_t main = p->main_mapping && p->main_mapping <= p->nmap ? p->main_mapping - 1 : 0;
	if (ret == 0 && p->nmap)
		ret = put_mapping(p, e, main);
	for (size_t i = 0; i < p->nmap && ret == 0; i++)
		if (i != main)
			ret = put_mapping(p, e, i);
	if (ret == 0)
		ret = put_locations(p, e);
	if (ret == 0)
		ret = put_functions(p, e);
	if (ret == 0)
		ret = put_rest(p, e);
	return ret;
}

struct late_ctx {
	const struct pprof *p;
	size_t width;
};

static void fill_late(void *arg, uint8_t *from)
{
	struct late_ctx *lc = arg;
	char text[4097];
	size_t w = lc->width;
	lc->p->late_fn(lc->p->late_arg, text, w + 1);
	size_t n = strnlen(text, w);
	memset(text + n, ' ', w - n); /* same length: the encoding around it stays valid */
	memcpy(from, text, w);
}

/* Where the late comment's placeholder is in an encoding (NULL: none). */
static uint8_t *find_late(const struct pprof *p, uint8_t *buf, size_t len)
{
	return p->late_fn ? memmem(buf, len, LATE_MARK, sizeof(LATE_MARK) - 1) : NULL;
}

static int encode(const struct pprof *p, uint8_t **buf, size_t *len, char *err, size_t errlen);

int pprof_encode(const struct pprof *p, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	int rc = encode(p, buf, len, err, errlen);
	uint8_t *at = rc == 0 ? find_late(p, *buf, *len) : NULL;
	if (at) {
		struct late_ctx lc = {p, p->late_width};
		fill_late(&lc, at);
	}
	return rc;
}

static int encode(const struct pprof *p, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	*buf = NULL;
	*len = 0;
	struct enc e = {0};
	int ret = enc_write(p, &e);
	enc_free(&e);
	if (ret < 0) {
		free(e.buf);
		return base_fail(err, errlen, -ENOMEM, "pprof: out of memory encoding the profile");
	}
	*buf = e.buf;
	*len = e.n;
	return 0;
}

/* --- writing --------------------------------------------------------------------- */

/* What gzip_to_fd calls once it has compressed the bytes before `at`. */
struct gzip_split {
	size_t at;
	void (*fn)(void *arg, uint8_t *from);
	void *arg;
};

/*
 * Gzips data into fd in chunks; returns 0 or a negative errno, zlib's reason
 * in *zmsg. With split, data from split->at on may still change until
 * split->fn has been called (zlib has copied nothing past it by then).
 */
static int gzip_to_fd(int fd, uint8_t *data, size_t len, const struct gzip_split *split,
		      size_t *written, const char **zmsg)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip header and trailer instead of zlib's, which is what pprof reads. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		*zmsg = "deflateInit2 failed";
		return -ENOMEM;
	}
	uint8_t out[1 << 16];
	int rc = 0;
	*written = 0;
	uint8_t *in = data;
	size_t left = len;
	bool split_due = split != NULL;
	int flush;
	do {
		if (split_due && in == data + split->at) {
			split->fn(split->arg, in);
			split_due = false;
		}
		/* avail_in is 32-bit: feed large buffers in slices (and stop at the split). */
		size_t chunk = left > (1u << 30) ? (1u << 30) : left;
		if (split_due && chunk > split->at - (size_t)(in - data))
			chunk = split->at - (size_t)(in - data);
		z.next_in = (Bytef *)(uintptr_t)in;
		z.avail_in = (uInt)chunk;
		in += chunk;
		left -= chunk;
		flush = left ? Z_NO_FLUSH : Z_FINISH;
		do {
			z.next_out = out;
			z.avail_out = sizeof(out);
			int zr = deflate(&z, flush);
			if (zr == Z_STREAM_ERROR) {
				*zmsg = z.msg ? z.msg : "deflate failed";
				rc = -EIO;
				goto out;
			}
			size_t have = sizeof(out) - z.avail_out;
			rc = base_write_all(fd, out, have);
			if (rc < 0)
				goto out;
			*written += have;
		} while (z.avail_out == 0);
	} while (flush != Z_FINISH);
out:
	deflateEnd(&z);
	return rc;
}

struct gzip_fill {
	uint8_t *buf;
	size_t len, *written;
	const struct gzip_split *split;
};

static int fill_gzip(int fd, void *arg, const char **why)
{
	struct gzip_fill *g = arg;
	const char *zmsg = NULL;
	int rc = gzip_to_fd(fd, g->buf, g->len, g->split, g->written, &zmsg);
	if (rc < 0 && zmsg)
		*why = zmsg;
	return rc;
}

/* The profile is encoded before the output is touched: a failure leaves it as it was. */
static int write_gzip(const struct pprof *p, struct base_output *out, const char *path,
		      size_t *written, char *err, size_t errlen)
{
	size_t dummy;
	if (!written)
		written = &dummy;
	*written = 0;
	uint8_t *buf;
	size_t len;
	int rc = encode(p, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	/* The late comment: its placeholder's bytes, filled once all before them is compressed. */
	struct late_ctx lc = {p, p->late_width};
	struct gzip_split split = {0, fill_late, &lc};
	uint8_t *at = find_late(p, buf, len);
	split.at = at ? (size_t)(at - buf) : 0;
	struct gzip_fill g = {buf, len, written, at ? &split : NULL};
	struct base_output_opts opts = {.mode = 0644, .what = "profile", .flag = "-o"};
	rc = out ? base_output_write(out, fill_gzip, &g, err, errlen)
		 : base_write_file(path, &opts, fill_gzip, &g, err, errlen);
	free(buf);
	if (rc < 0)
		*written = 0;
	return rc;
}

int pprof_write_output(const struct pprof *p, struct base_output *out, size_t *written, char *err,
		       size_t errlen)
{
	return write_gzip(p, out, NULL, written, err, errlen);
}

int pprof_read_write_output(const struct pprof_read *r, const char *const *comments, size_t n,
			    struct base_output *out, char *err, size_t errlen)
{
	/* A shallow copy with longer string and comment tables: the read message stays as it was. */
	Perftools__Profiles__Profile msg =
		*(const Perftools__Profiles__Profile *)pprof_read_message(r);
	char **str = malloc((msg.n_string_table + n) * sizeof(*str) + 1);
	int64_t *com = malloc((msg.n_comment + n) * sizeof(*com) + 1);
	uint8_t *buf;
	if (!str || !com)
		goto nomem;
	memcpy(str, msg.string_table, msg.n_string_table * sizeof(*str));
	memcpy(com, msg.comment, msg.n_comment * sizeof(*com));
	for (size_t i = 0; i < n; i++) {
		com[msg.n_comment + i] = (int64_t)(msg.n_string_table + i);
		str[msg.n_string_table + i] = (char *)(uintptr_t)comments[i];
	}
	msg.string_table = str;
	msg.n_string_table += n;
	msg.comment = com;
	msg.n_comment += n;
	size_t len = perftools__profiles__profile__get_packed_size(&msg);
	if (!(buf = malloc(len ? len : 1)))
		goto nomem;
	perftools__profiles__profile__pack(&msg, buf);
	size_t written;
	struct gzip_fill g = {buf, len, &written, NULL};
	int rc = base_output_write(out, fill_gzip, &g, err, errlen);
	free(buf);
	free(str);
	free(com);
	return rc;
nomem:
	free(str);
	free(com);
	return base_fail(err, errlen, -ENOMEM, "pprof: out of memory encoding the profile");
}

int pprof_write(const struct pprof *p, const char *path, size_t *written, char *err,
		size_t errlen)
{
	return write_gzip(p, NULL, path, written, err, errlen);
}

/* --- reading back ---------------------------------------------------------------- */

struct pprof_read {
	Perftools__Profiles__Profile *msg;
};

static int slurp(const char *path, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return base_fail(err, errlen, -e, "cannot open profile %s: %s", path, strerror(e));
	}
	struct stat st;
	int e = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (e) {
		close(fd);
		return base_fail(err, errlen, -e, "cannot read profile %s: %s", path, strerror(e));
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	uint8_t *b = malloc(cap);
	if (!b) {
		close(fd);
		return base_fail(err, errlen, -ENOMEM, "cannot read profile %s: out of memory",
				 path);
	}
	for (;;) {
		if (n == cap && BASE_GROW(b, cap, cap + 1) < 0) {
			free(b);
			close(fd);
			return base_fail(err, errlen, -ENOMEM,
					 "cannot read profile %s: out of memory", path);
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			free(b);
			close(fd);
			return base_fail(err, errlen, -e, "cannot read profile %s: %s", path,
					 strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*out = b;
	*outlen = n;
	return 0;
}

/* Inflates a gzip (or zlib) stream of at most `max` bytes; -EFBIG past it. */
static int gunzip(const char *name, const uint8_t *in, size_t inlen, uint64_t max,
		  uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 15 + 32: accept gzip or zlib headers. */
	if (inflateInit2(&z, 15 + 32) != Z_OK) {
		return base_fail(err, errlen, -ENOMEM, "cannot read profile %s: out of memory",
				 name);
	}
	/* One byte past the limit tells a stream of exactly `max` bytes from a longer one. */
	size_t limit = max >= SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)max + 1;
	size_t cap = inlen < limit / 4 ? inlen * 4 + 4096 : limit, n = 0;
	if (cap > limit)
		cap = limit;
	uint8_t *b = malloc(cap);
	int rc = b ? 0 : -ENOMEM;
	z.next_in = (Bytef *)(uintptr_t)in;
	while (rc == 0) {
		if (n == cap) {
			if (cap >= limit) {
				base_fail(err, errlen, 0,
					  "cannot read profile %s: it inflates to more "
					  "than %llu bytes, the limit",
					  name, (unsigned long long)max);
				rc = -EFBIG;
				break;
			}
			size_t ncap = cap > limit / 2 ? limit : 2 * cap;
			uint8_t *nb = realloc(b, ncap);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			b = nb;
			cap = ncap;
		}
		if (z.avail_in == 0 && (size_t)(z.next_in - in) < inlen) {
			size_t left = inlen - (size_t)(z.next_in - in);
			z.avail_in = (uInt)(left > (1u << 30) ? (1u << 30) : left);
		}
		size_t room = cap - n;
		z.next_out = b + n;
		z.avail_out = (uInt)(room > (1u << 30) ? (1u << 30) : room);
		uInt before = z.avail_out;
		int zr = inflate(&z, Z_NO_FLUSH);
		n += before - z.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && z.avail_in == 0 && (size_t)(z.next_in - in) >= inlen) {
			base_fail(err, errlen, 0, "cannot read profile %s: truncated gzip data",
				  name);
			rc = -EIO;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			base_fail(err, errlen, 0, "cannot read profile %s: corrupt gzip data (%s)",
				  name, z.msg ? z.msg : "inflate failed");
			rc = -EIO;
		}
	}
	inflateEnd(&z);
	if (rc == -ENOMEM)
		base_fail(err, errlen, 0, "cannot read profile %s: out of memory", name);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*out = b;
	*outlen = n;
	return 0;
}

/* Checks what readers index with, so that they can trust string indices and value counts. */
static const char *validate(const Perftools__Profiles__Profile *m)
{
	int64_t ns = (int64_t)m->n_string_table;
	if (ns == 0 || m->string_table[0][0] != '\0')
		return "string_table[0] is not \"\"";
#define STR_OK(x) ((x) >= 0 && (x) < ns)
	for (size_t i = 0; i < m->n_sample_type; i++)
		if (!STR_OK(m->sample_type[i]->type) || !STR_OK(m->sample_type[i]->unit))
			return "sample type string index out of range";
	if (m->period_type && (!STR_OK(m->period_type->type) || !STR_OK(m->period_type->unit)))
		return "period type string index out of range";
	for (size_t i = 0; i < m->n_sample; i++) {
		const Perftools__Profiles__Sample *s = m->sample[i];
		if (s->n_value != m->n_sample_type)
			return "a sample's value count differs from the sample type count";
		for (size_t j = 0; j < s->n_label; j++) {
			const Perftools__Profiles__Label *l = s->label[j];
			if (!STR_OK(l->key) || !STR_OK(l->str) || !STR_OK(l->num_unit))
				return "label string index out of range";
		}
	}
	for (size_t i = 0; i < m->n_mapping; i++)
		if (!STR_OK(m->mapping[i]->filename) || !STR_OK(m->mapping[i]->build_id))
			return "mapping string index out of range";
	for (size_t i = 0; i < m->n_function; i++) {
		const Perftools__Profiles__Function *f = m->function[i];
		if (!STR_OK(f->name) || !STR_OK(f->system_name) || !STR_OK(f->filename))
			return "function string index out of range";
	}
	for (size_t i = 0; i < m->n_comment; i++)
		if (!STR_OK(m->comment[i]))
			return "comment string index out of range";
	if (!STR_OK(m->default_sample_type) || !STR_OK(m->drop_frames) ||
	    !STR_OK(m->keep_frames) || !STR_OK(m->doc_url))
		return "profile string index out of range";
#undef STR_OK
	return NULL;
}

/* Ids 1..n, each once (the main binary's mapping may come first): an id names one entry. */
static bool ids_dense(const uint64_t *ids, size_t n)
{
	bool ok = true;
	uint8_t *seen = calloc(n ? n : 1, 1);
	for (size_t i = 0; ok && seen && i < n; i++) {
		ok = ids[i] >= 1 && ids[i] <= n && !seen[ids[i] - 1];
		if (ok)
			seen[ids[i] - 1] = 1;
	}
	ok = ok && seen;
	free(seen);
	return ok;
}

#define CHECK_DENSE(tab, n, msg)                                                                   \
	do {                                                                                       \
		uint64_t *ids_ = calloc((n) ? (n) : 1, sizeof(uint64_t));                          \
		for (size_t i_ = 0; ids_ && i_ < (n); i_++)                                        \
			ids_[i_] = (tab)[i_]->id;                                                  \
		if (!why && !ids_dense(ids_, (n)))                                                 \
			why = msg;                                                                 \
		free(ids_);                                                                        \
	} while (0)

int pprof_check_valid(const struct pprof_read *r, char *err, size_t errlen)
{
	const Perftools__Profiles__Profile *m = pprof_read_message(r);
	const char *why = validate(m);
	if (!why && m->n_sample_type == 0)
		why = "no sample type";
	CHECK_DENSE(m->mapping, m->n_mapping, "mapping ids are not 1..n");
	CHECK_DENSE(m->function, m->n_function, "function ids are not 1..n");
	CHECK_DENSE(m->location, m->n_location, "location ids are not 1..n");
	for (size_t i = 0; !why && i < m->n_location; i++) {
		const Perftools__Profiles__Location *l = m->location[i];
		if (l->mapping_id > m->n_mapping)
			why = "a location names a mapping that does not exist";
		for (size_t j = 0; !why && j < l->n_line; j++)
			if (l->line[j]->function_id == 0 || l->line[j]->function_id > m->n_function)
				why = "a location's line names a function that does not exist";
	}
	for (size_t i = 0; !why && i < m->n_sample; i++)
		for (size_t j = 0; !why && j < m->sample[i]->n_location_id; j++) {
			uint64_t id = m->sample[i]->location_id[j];
			if (id == 0 || id > m->n_location)
				why = "a sample names a location that does not exist";
		}
	return why ? base_fail(err, errlen, -EINVAL, "not a valid profile: %s", why) : 0;
}
#undef CHECK_DENSE

int pprof_read_mem(struct pprof_read **out, const char *name, const uint8_t *buf, size_t len,
		   uint64_t max_inflated, char *err, size_t errlen)
{
	*out = NULL;
	if (len == 0) {
		return base_fail(err, errlen, -EINVAL, "cannot read profile %s: the file is empty",
				 name);
	}
	uint8_t *plain = NULL;
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		int rc = gunzip(name, buf, len, max_inflated ? max_inflated : PPROF_MAX_INFLATED,
				&plain, &len, err, errlen);
		if (rc < 0)
			return rc;
		buf = plain;
	}
	Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(NULL, len, buf);
	free(plain);
	if (!m) {
		return base_fail(
			err, errlen, -EINVAL,
			"cannot read profile %s: not a pprof profile (protobuf decoding failed)",
			name);
	}
	const char *why = validate(m);
	if (why) {
		perftools__profiles__profile__free_unpacked(m, NULL);
		return base_fail(err, errlen, -EINVAL,
				 "cannot read profile %s: malformed profile: %s", name, why);
	}
	struct pprof_read *r = malloc(sizeof(*r));
	if (!r) {
		perftools__profiles__profile__free_unpacked(m, NULL);
		return base_fail(err, errlen, -ENOMEM, "cannot read profile %s: out of memory",
				 name);
	}
	r->msg = m;
	*out = r;
	return 0;
}

int pprof_read_file(struct pprof_read **out, const char *path, uint64_t max_inflated, char *err,
		    size_t errlen)
{
	*out = NULL;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int rc = slurp(path, &raw, &rawlen, err, errlen);
	if (rc < 0)
		return rc;
	rc = pprof_read_mem(out, path, raw, rawlen, max_inflated, err, errlen);
	free(raw);
	return rc;
}

void pprof_read_free(struct pprof_read *r)
{
	if (!r)
		return;
	perftools__profiles__profile__free_unpacked(r->msg, NULL);
	free(r);
}

const void *pprof_read_message(const struct pprof_read *r)
{
	return r->msg;
}

bool pprof_read_has_sample_type(const struct pprof_read *r, const char *type)
{
	const Perftools__Profiles__Profile *m = r->msg;
	for (size_t t = 0; t < m->n_sample_type; t++)
		if (strcmp(m->string_table[m->sample_type[t]->type], type) == 0)
			return true;
	return false;
}

bool pprof_read_same_events(const struct pprof_read *a, const struct pprof_read *b)
{
	for (int side = 0; side < 2; side++) {
		const struct pprof_read *x = side ? b : a, *y = side ? a : b;
		const Perftools__Profiles__Profile *m = x->msg;
		for (size_t t = 0; t < m->n_sample_type; t++) {
			const char *name = m->string_table[m->sample_type[t]->type];
			if (strcmp(name, "samples") != 0 && !pprof_read_has_sample_type(y, name))
				return false;
		}
	}
	return true;
}

void pprof_set_main_mapping(struct pprof *p, uint64_t mapping_id)
{
	p->main_mapping = mapping_id;
}

uint64_t pprof_find_mapping(const struct pprof *p, const char *filename)
{
	for (size_t i = 0; i < p->nmap; i++) {
		int64_t s = p->map[i].filename;
		if (s > 0 && (size_t)s < p->nstr && strcmp(p->str[s], filename) == 0)
			return i + 1;
	}
	return 0;
}

void pprof_clear_comments(struct pprof *p)
{
	p->ncomments = 0; /* their strings stay in the table: harmless, and rare */
	p->late_fn = NULL;
}

int pprof_add_late_comment(struct pprof *p, size_t width, pprof_late_fn fill, void *arg)
{
	if (width < sizeof(LATE_MARK) || width > 4096)
		return -EINVAL;
	char *ph = malloc(width + 1);
	if (!ph)
		return -ENOMEM;
	memcpy(ph, LATE_MARK, sizeof(LATE_MARK) - 1);
	memset(ph + sizeof(LATE_MARK) - 1, '\x01', width - (sizeof(LATE_MARK) - 1));
	ph[width] = '\0';
	int ret = pprof_add_comment(p, ph);
	free(ph);
	if (ret < 0)
		return ret;
	p->late = p->comments[p->ncomments - 1];
	p->late_width = width;
	p->late_fn = fill;
	p->late_arg = arg;
	return 0;
}
