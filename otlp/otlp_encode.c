/*
 * otlp_encode — a pprof profile as one OTLP ExportProfilesServiceRequest
 * (opentelemetry.proto.collector.profiles.v1development), and writing it to
 * a file.
 *
 * Owns: the translation pprof -> OTLP (otlp_encode_request) and the atomic
 * file writer (otlp_write_file); see otlp.h for the contract. Delivery over
 * HTTP lives in otlp_http.c.
 *
 * How: the pprof bytes are unpacked with the generated perftools code; every
 * dictionary table is an interner (open-addressing index from base.h over a
 * flat array of int64 tuples, or of strings), seeded with its zero value so
 * that index 0 is the "none" element and nothing is ever stored twice.
 * Samples are split by their "pid" label into one ResourceProfiles each, and
 * aggregated per process by (stack, link, attributes) with one value per sample
 * type; each sample type then becomes one Profile holding the non-zero
 * values. The protobuf-c message tree is built in an arena (one free for the
 * whole tree) and points at strings of the unpacked pprof, which outlives
 * the packing.
 *
 * Trace context: a sample labelled trace_id (32 hex digits, not all zero)
 * and span_id (16 hex digits) references a Link (trace_id, span_id bytes;
 * deduplicated in link_table) through link_index, and those two labels are
 * then not repeated as attributes: the Link is OTLP's place for them and
 * backends join profiles to traces through it. Malformed ids stay plain
 * string attributes. Other labels (e.g. "region") become attributes under
 * their own key.
 */
#include "otlp.h"
#include "base.h"
#include "perfabi.h"

#include "profile.pb-c.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

typedef Perftools__Profiles__Profile PProfile;
typedef Perftools__Profiles__Sample PSample;
typedef Perftools__Profiles__Label PLabel;

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest OReq;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary ODict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles OResourceProfiles;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles OScopeProfiles;
typedef Opentelemetry__Proto__Profiles__V1development__Profile OProfile;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType OValueType;
typedef Opentelemetry__Proto__Profiles__V1development__Sample OSample;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping OMapping;
typedef Opentelemetry__Proto__Profiles__V1development__Location OLocation;
typedef Opentelemetry__Proto__Profiles__V1development__Line OLine;
typedef Opentelemetry__Proto__Profiles__V1development__Function OFunction;
typedef Opentelemetry__Proto__Profiles__V1development__Link OLink;
typedef Opentelemetry__Proto__Profiles__V1development__Stack OStack;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit OKeyValueAndUnit;
typedef Opentelemetry__Proto__Resource__V1__Resource OResource;
typedef Opentelemetry__Proto__Common__V1__KeyValue OKeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue OAnyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope OScope;

#define PROFILE_ID_LEN 16

/* --- arena: every message of the request, freed at once ------------------------------- */

struct ablock {
	struct ablock *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct ablock *head;
};

/* Zeroed memory for n bytes, aligned for any type; NULL on OOM. */
static void *aalloc(struct arena *a, size_t n)
{
	const size_t al = alignof(max_align_t);
	n = (n + al - 1) & ~(al - 1);
	if (!n)
		n = al;
	struct ablock *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

static void *aarray(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return aalloc(a, n * size);
}

static char *astrndup(struct arena *a, const char *s, size_t n)
{
	char *p = aalloc(a, n + 1);
	if (p)
		memcpy(p, s, n);
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct ablock *n = a->head->next;
		free(a->head);
		a->head = n;
	}
}

/* --- interners ------------------------------------------------------------------------ */

/* Strings by content; the table keeps pointers (the pprof or the arena owns the bytes). */
struct stab {
	const char **s;
	size_t n, cap;
	struct base_htab h;
};

static bool stab_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct stab *t = ctx;
	return strcmp(t->s[idx], key) == 0;
}

/* Index of s (NULL counts as ""), adding it if new; -1 on OOM or a full table. */
static int64_t stab_intern(struct stab *t, const char *s)
{
	if (!s)
		s = "";
	uint64_t hash = base_htab_hash_bytes(s, strlen(s));
	if (base_htab_reserve(&t->h) < 0)
		return -1;
	struct base_htab_slot *slot = base_htab_find(&t->h, hash, stab_eq, t, s);
	if (slot->idx1)
		return slot->idx1 - 1;
	if (t->n >= INT32_MAX || BASE_GROW(t->s, t->cap, t->n + 1) < 0)
		return -1;
	t->s[t->n] = s;
	slot->hash = hash;
	slot->idx1 = (uint32_t)++t->n;
	t->h.n++;
	return (int64_t)t->n - 1;
}

static void stab_free(struct stab *t)
{
	free(t->s);
	base_htab_free(&t->h);
}

/* Variable-length tuples of int64 words: the key of every other table. */
struct itab {
	int64_t *w;
	size_t nw, cap_w;
	size_t *off;
	uint32_t *len;
	size_t n, cap_off, cap_len;
	struct base_htab h;
};

struct tkey {
	const int64_t *w;
	size_t len;
};

static bool itab_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct itab *t = ctx;
	const struct tkey *k = key;
	return t->len[idx] == k->len &&
	       (k->len == 0 || memcmp(t->w + t->off[idx], k->w, k->len * sizeof(int64_t)) == 0);
}

static uint64_t tuple_hash(const int64_t *w, size_t len)
{
	uint64_t h = base_htab_mix(0x6f746c70, len);
	for (size_t i = 0; i < len; i++)
		h = base_htab_mix(h, (uint64_t)w[i]);
	return h;
}

/* Index of the tuple, adding it if new; *added says which. -1 on OOM or a full table. */
static int64_t itab_intern(struct itab *t, const int64_t *w, size_t len, bool *added)
{
	struct tkey k = { w, len };
	uint64_t hash = tuple_hash(w, len);
	if (added)
		*added = false;
	if (len > UINT32_MAX || base_htab_reserve(&t->h) < 0)
		return -1;
	struct base_htab_slot *slot = base_htab_find(&t->h, hash, itab_eq, t, &k);
	if (slot->idx1)
		return slot->idx1 - 1;
	if (t->n >= INT32_MAX || BASE_GROW(t->off, t->cap_off, t->n + 1) < 0 ||
	    BASE_GROW(t->len, t->cap_len, t->n + 1) < 0 ||
	    BASE_GROW(t->w, t->cap_w, t->nw + len) < 0)
		return -1;
	if (len)
		memcpy(t->w + t->nw, w, len * sizeof(int64_t));
	t->off[t->n] = t->nw;
	t->len[t->n] = (uint32_t)len;
	t->nw += len;
	slot->hash = hash;
	slot->idx1 = (uint32_t)++t->n;
	t->h.n++;
	if (added)
		*added = true;
	return (int64_t)t->n - 1;
}

static const int64_t *itab_get(const struct itab *t, size_t idx, size_t *len)
{
	*len = t->len[idx];
	return t->w + t->off[idx];
}

static void itab_free(struct itab *t)
{
	free(t->w);
	free(t->off);
	free(t->len);
	base_htab_free(&t->h);
}

/* --- pprof ids -> positions --------------------------------------------------------------- */

struct idpos {
	uint64_t id;
	size_t pos;
};

struct idmap {
	struct idpos *v;
	size_t n;
	bool dense; /* ids are 1..n in order (pprof's usual layout): no search needed */
};

static int idpos_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct idpos *)a)->id, y = ((const struct idpos *)b)->id;
	return x < y ? -1 : x > y;
}

/* -EINVAL for a zero or repeated id (pprof ids are unique and non-zero), -ENOMEM. */
static int idmap_build(struct idmap *m, size_t n, uint64_t (*id_at)(const void *arr, size_t i),
		       const void *arr, uint64_t *bad)
{
	m->n = n;
	m->dense = true;
	for (size_t i = 0; i < n && m->dense; i++)
		m->dense = id_at(arr, i) == i + 1;
	if (m->dense || n == 0)
		return 0;
	m->v = calloc(n, sizeof(*m->v));
	if (!m->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		m->v[i] = (struct idpos){ id_at(arr, i), i };
	qsort(m->v, n, sizeof(*m->v), idpos_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m->v[i].id == 0 || (i && m->v[i].id == m->v[i - 1].id)) {
			*bad = m->v[i].id;
			return -EINVAL;
		}
	}
	return 0;
}

/* Position of id, or -1 when unknown. */
static int64_t idmap_find(const struct idmap *m, uint64_t id)
{
	if (m->dense)
		return id >= 1 && id <= m->n ? (int64_t)id - 1 : -1;
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->v[lo].id == id ? (int64_t)m->v[lo].pos : -1;
}

static uint64_t mapping_id_at(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Mapping *const *)arr)[i]->id;
}

static uint64_t function_id_at(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Function *const *)arr)[i]->id;
}

static uint64_t location_id_at(const void *arr, size_t i)
{
	return ((Perftools__Profiles__Location *const *)arr)[i]->id;
}

/* --- the encoder ------------------------------------------------------------------------ */

enum attr_kind { AK_NONE, AK_STR, AK_INT };

/* One process (or "no pid"): its samples aggregated by (stack, attributes). */
struct group {
	bool has_pid;
	int64_t pid;
	struct itab keys;  /* [stack_index, attribute indices...] */
	int64_t *values;   /* keys.n * ntypes */
	size_t cap_values;
};

/* A resource attribute being assembled (keys unique; later sets replace). */
struct rattr {
	const char *key;
	enum attr_kind kind;
	const char *s;
	int64_t i;
};

/* Room for the detected attributes (8) on top of at most USER_ATTRS_MAX of the user's. */
#define USER_ATTRS_MAX 56

struct rattrs {
	struct rattr v[USER_ATTRS_MAX + 8];
	size_t n;
};

struct enc {
	struct arena a;
	const PProfile *pp;
	const struct otlp_options *o;
	char *err;
	size_t errlen;

	struct stab str;   /* the string_table */
	struct stab vals;  /* attribute string values (not emitted; ids for deduplication) */
	struct itab attrs; /* [key_strindex, kind, value (int or vals id), unit_strindex] */
	struct itab maps;  /* [start, limit, offset, filename, build id attribute] */
	struct itab fns;   /* [name, system_name, filename, start_line] */
	struct itab locs;  /* [mapping, address, frame type attribute, (function, line)...] */
	struct itab stacks; /* [location...], leaf first */
	struct itab links;  /* [trace_id bytes 0-7, 8-15, span_id bytes] as int64 words */

	struct idmap map_ids, fn_ids, loc_ids;
	int32_t *map_dict, *fn_dict, *loc_dict; /* pprof position -> dictionary index */

	struct group *groups;
	size_t ngroups;
	struct rattrs user; /* from OTEL_RESOURCE_ATTRIBUTES */
	const char *host_name;

	int64_t *scratch; /* a tuple being assembled */
	size_t cap_scratch;
};

static int oom(struct enc *e, const char *what)
{
	return base_fail(e->err, e->errlen, -ENOMEM,
			 "otlp: out of memory (or more than 2^31 entries) %s", what);
}

/* The pprof's string at index i, or NULL when out of range. */
static const char *pstr(const struct enc *e, int64_t i)
{
	if (i < 0 || (uint64_t)i >= e->pp->n_string_table)
		return NULL;
	return e->pp->string_table[i];
}

/* A pprof string index into the dictionary; -EINVAL when out of range, -ENOMEM. */
static int dict_str(struct enc *e, int64_t pidx, int64_t *out, const char *what)
{
	const char *s = pstr(e, pidx);
	if (!s) {
		return base_fail(e->err, e->errlen, -EINVAL,
				 "otlp: malformed pprof: %s refers to string %" PRId64
				 " but the string table has %zu entries",
				 what, pidx, e->pp->n_string_table);
	}
	*out = stab_intern(&e->str, s);
	return *out < 0 ? oom(e, "interning strings") : 0;
}

static int scratch_reserve(struct enc *e, size_t n)
{
	return BASE_GROW(e->scratch, e->cap_scratch, n);
}

/* Index of the attribute (key, value, unit) in attribute_table. */
static int64_t attr_str(struct enc *e, const char *key, const char *val)
{
	int64_t k = stab_intern(&e->str, key), v = stab_intern(&e->vals, val);
	if (k < 0 || v < 0)
		return -1;
	int64_t t[4] = { k, AK_STR, v, 0 };
	return itab_intern(&e->attrs, t, 4, NULL);
}

static int64_t attr_int(struct enc *e, const char *key, int64_t val, const char *unit)
{
	int64_t k = stab_intern(&e->str, key), u = unit && *unit ? stab_intern(&e->str, unit) : 0;
	if (k < 0 || u < 0)
		return -1;
	int64_t t[4] = { k, AK_INT, val, u };
	return itab_intern(&e->attrs, t, 4, NULL);
}

/* Seeds every table with its zero value at index 0. */
static int seed_tables(struct enc *e)
{
	static const int64_t zeros[5];
	if (stab_intern(&e->str, "") != 0 || stab_intern(&e->vals, "") != 0 ||
	    itab_intern(&e->attrs, zeros, 4, NULL) != 0 ||
	    itab_intern(&e->maps, zeros, 5, NULL) != 0 ||
	    itab_intern(&e->fns, zeros, 4, NULL) != 0 ||
	    itab_intern(&e->locs, zeros, 3, NULL) != 0 ||
	    itab_intern(&e->stacks, zeros, 0, NULL) != 0 ||
	    itab_intern(&e->links, zeros, 3, NULL) != 0)
		return oom(e, "seeding the dictionary");
	return 0;
}

static int convert_mappings(struct enc *e)
{
	const PProfile *pp = e->pp;
	uint64_t bad = 0;
	int rc = idmap_build(&e->map_ids, pp->n_mapping, mapping_id_at, pp->mapping, &bad);
	if (rc == -EINVAL) {
		return base_fail(
			e->err, e->errlen, rc,
			"otlp: malformed pprof: mapping id %" PRIu64 " is zero or repeated", bad);
	}
	if (rc < 0 || (pp->n_mapping && !(e->map_dict = calloc(pp->n_mapping, sizeof(int32_t)))))
		return oom(e, "indexing mappings");
	for (size_t i = 0; i < pp->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = pp->mapping[i];
		int64_t t[5] = { (int64_t)m->memory_start, (int64_t)m->memory_limit,
				 (int64_t)m->file_offset, 0, 0 };
		if ((rc = dict_str(e, m->filename, &t[3], "a mapping's filename")) < 0)
			return rc;
		const char *bid = pstr(e, m->build_id);
		if (!bid) {
			return base_fail(e->err, e->errlen, -EINVAL,
					 "otlp: malformed pprof: mapping %" PRIu64
					 " has build id string %" PRId64 " out of range",
					 m->id, m->build_id);
		}
		if (*bid && (t[4] = attr_str(e, "process.executable.build_id.gnu", bid)) < 0)
			return oom(e, "adding build ids");
		int64_t idx = itab_intern(&e->maps, t, 5, NULL);
		if (idx < 0)
			return oom(e, "adding mappings");
		e->map_dict[i] = (int32_t)idx;
	}
	return 0;
}

static int convert_functions(struct enc *e)
{
	const PProfile *pp = e->pp;
	uint64_t bad = 0;
	int rc = idmap_build(&e->fn_ids, pp->n_function, function_id_at, pp->function, &bad);
	if (rc == -EINVAL) {
		return base_fail(
			e->err, e->errlen, rc,
			"otlp: malformed pprof: function id %" PRIu64 " is zero or repeated", bad);
	}
	if (rc < 0 || (pp->n_function && !(e->fn_dict = calloc(pp->n_function, sizeof(int32_t)))))
		return oom(e, "indexing functions");
	for (size_t i = 0; i < pp->n_function; i++) {
		const Perftools__Profiles__Function *f = pp->function[i];
		int64_t t[4] = { 0, 0, 0, f->start_line };
		if ((rc = dict_str(e, f->name, &t[0], "a function's name")) < 0 ||
		    (rc = dict_str(e, f->system_name, &t[1], "a function's system name")) < 0 ||
		    (rc = dict_str(e, f->filename, &t[2], "a function's file name")) < 0)
			return rc;
		int64_t idx = itab_intern(&e->fns, t, 4, NULL);
		if (idx < 0)
			return oom(e, "adding functions");
		e->fn_dict[i] = (int32_t)idx;
	}
	return 0;
}

static int convert_locations(struct enc *e)
{
	const PProfile *pp = e->pp;
	uint64_t bad = 0;
	int rc = idmap_build(&e->loc_ids, pp->n_location, location_id_at, pp->location, &bad);
	if (rc == -EINVAL) {
		return base_fail(
			e->err, e->errlen, rc,
			"otlp: malformed pprof: location id %" PRIu64 " is zero or repeated", bad);
	}
	if (rc < 0 || (pp->n_location && !(e->loc_dict = calloc(pp->n_location, sizeof(int32_t)))))
		return oom(e, "indexing locations");
	int64_t native = attr_str(e, "profile.frame.type", "native");
	int64_t kernel = attr_str(e, "profile.frame.type", "kernel");
	if (native < 0 || kernel < 0)
		return oom(e, "adding frame types");
	for (size_t i = 0; i < pp->n_location; i++) {
		const Perftools__Profiles__Location *l = pp->location[i];
		int32_t mapping = 0;
		const char *mapfile = NULL;
		if (l->mapping_id) {
			int64_t pos = idmap_find(&e->map_ids, l->mapping_id);
			if (pos < 0) {
				return base_fail(e->err, e->errlen, -EINVAL,
						 "otlp: malformed pprof: location %" PRIu64
						 " refers to unknown mapping %" PRIu64,
						 l->id, l->mapping_id);
			}
			mapping = e->map_dict[pos];
			mapfile = pstr(e, pp->mapping[pos]->filename);
		}
		/* pprof keeps no mode per location: the kernel's mapping says it, else the address. */
		bool is_kernel = (mapfile && strcmp(mapfile, "[kernel.kallsyms]") == 0) ||
				 pabi_addr_is_kernel(PABI_MODE_UNKNOWN, l->address);
		if (l->n_line > (SIZE_MAX - 3) / 2 || scratch_reserve(e, 3 + 2 * l->n_line) < 0)
			return oom(e, "adding locations");
		int64_t *t = e->scratch;
		t[0] = mapping;
		t[1] = (int64_t)l->address;
		t[2] = is_kernel ? kernel : native;
		for (size_t j = 0; j < l->n_line; j++) {
			int64_t pos = idmap_find(&e->fn_ids, l->line[j]->function_id);
			if (pos < 0) {
				return base_fail(e->err, e->errlen, -EINVAL,
						 "otlp: malformed pprof: location %" PRIu64
						 " refers to unknown function %" PRIu64,
						 l->id, l->line[j]->function_id);
			}
			t[3 + 2 * j] = e->fn_dict[pos];
			t[4 + 2 * j] = l->line[j]->line;
		}
		int64_t idx = itab_intern(&e->locs, t, 3 + 2 * l->n_line, NULL);
		if (idx < 0)
			return oom(e, "adding locations");
		e->loc_dict[i] = (int32_t)idx;
	}
	return 0;
}

/* --- samples --------------------------------------------------------------------------- */

/* A label's value as an integer: numeric labels, or string labels that hold a number. */
static bool label_int(const struct enc *e, const PLabel *l, int64_t *out)
{
	if (!l->str) {
		*out = l->num;
		return true;
	}
	const char *s = pstr(e, l->str);
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static int pid_of(const struct enc *e, const PSample *s, int64_t *pid)
{
	for (size_t i = 0; i < s->n_label; i++) {
		const char *k = pstr(e, s->label[i]->key);
		if (k && strcmp(k, "pid") == 0 && label_int(e, s->label[i], pid))
			return 1;
	}
	return 0;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->has_pid != y->has_pid)
		return x->has_pid ? -1 : 1; /* samples without a pid last */
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* One group per distinct pid (sorted), plus one for samples without a pid. */
static int make_groups(struct enc *e)
{
	const PProfile *pp = e->pp;
	struct group *g = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < pp->n_sample; i++) {
		struct group k = { 0 };
		k.has_pid = pid_of(e, pp->sample[i], &k.pid);
		size_t j;
		for (j = 0; j < n; j++)
			if (group_cmp(&g[j], &k) == 0)
				break;
		if (j < n)
			continue;
		if (BASE_GROW(g, cap, n + 1) < 0) {
			free(g);
			return oom(e, "grouping samples by process");
		}
		g[n++] = k;
	}
	if (n == 0) {
		/* No samples: still one resource, so that time and payload are carried. */
		if (BASE_GROW(g, cap, 1) < 0)
			return oom(e, "grouping samples by process");
		g[n++] = (struct group){ 0 };
	}
	qsort(g, n, sizeof(*g), group_cmp);
	e->groups = g;
	e->ngroups = n;
	return 0;
}

static struct group *find_group(struct enc *e, const PSample *s)
{
	struct group k = { 0 };
	k.has_pid = pid_of(e, s, &k.pid);
	return bsearch(&k, e->groups, e->ngroups, sizeof(k), group_cmp);
}

static int i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int hexval(char c);

/* n hex digits (lower or upper case) into n / 2 bytes; false if any is not hex. */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* The sample's Link from its trace_id/span_id labels: its index, 0 for none, -1 on OOM. */
static int64_t sample_link(struct enc *e, const PSample *s)
{
	const char *trace = NULL, *span = NULL;
	for (size_t i = 0; i < s->n_label; i++) {
		const char *k = pstr(e, s->label[i]->key);
		const char *v = s->label[i]->str ? pstr(e, s->label[i]->str) : NULL;
		if (k && v && !trace && strcmp(k, "trace_id") == 0)
			trace = v;
		else if (k && v && !span && strcmp(k, "span_id") == 0)
			span = v;
	}
	uint8_t b[24] = { 0 };
	static const uint8_t zero[16];
	if (!trace || !span || !unhex(trace, 32, b) || !unhex(span, 16, b + 16) ||
	    memcmp(b, zero, 16) == 0)
		return 0;
	int64_t t[3];
	memcpy(t, b, sizeof(t));
	return itab_intern(&e->links, t, 3, NULL);
}

/*
 * The sample's key in its group: [stack, link, attributes (sorted, one per
 * label key)]. pid is the resource's; tid, comm and cpu take their semantic
 * convention names; trace_id/span_id become the link when they form one;
 * any other label keeps its pprof key (and unit).
 */
static int sample_key(struct enc *e, const PSample *s, size_t *len)
{
	const PProfile *pp = e->pp;
	if (s->n_location_id > INT32_MAX)
		return oom(e, "adding a stack");
	int rc = scratch_reserve(e, s->n_location_id + 2 + s->n_label);
	if (rc < 0)
		return oom(e, "adding a stack");
	int64_t *t = e->scratch;
	for (size_t i = 0; i < s->n_location_id; i++) {
		int64_t pos = idmap_find(&e->loc_ids, s->location_id[i]);
		if (pos < 0) {
			return base_fail(e->err, e->errlen, -EINVAL,
					 "otlp: malformed pprof: a sample refers to unknown "
					 "location %" PRIu64,
					 s->location_id[i]);
		}
		t[i + 1] = e->loc_dict[pos];
	}
	int64_t stack = itab_intern(&e->stacks, t + 1, s->n_location_id, NULL);
	if (stack < 0)
		return oom(e, "adding a stack");
	t[0] = stack;
	if ((t[1] = sample_link(e, s)) < 0)
		return oom(e, "adding a link");
	size_t n = 2;
	for (size_t i = 0; i < s->n_label; i++) {
		const PLabel *l = s->label[i];
		const char *k = pstr(e, l->key);
		if (!k || (l->str && !pstr(e, l->str)) || (!l->str && l->num_unit && !pstr(e, l->num_unit))) {
			return base_fail(e->err, e->errlen, -EINVAL,
					 "otlp: malformed pprof: a sample label refers to a string "
					 "out of range "
					 "(the table has %zu)",
					 pp->n_string_table);
		}
		int64_t a, v;
		if (strcmp(k, "pid") == 0 ||
		    (t[1] && (strcmp(k, "trace_id") == 0 || strcmp(k, "span_id") == 0)))
			continue;
		if (strcmp(k, "tid") == 0 && label_int(e, l, &v))
			a = attr_int(e, "thread.id", v, NULL);
		else if (strcmp(k, "cpu") == 0 && label_int(e, l, &v))
			a = attr_int(e, "cpu.logical_number", v, NULL);
		else if (strcmp(k, "comm") == 0 && l->str)
			a = attr_str(e, "thread.name", pstr(e, l->str));
		else if (l->str)
			a = attr_str(e, k, pstr(e, l->str));
		else
			a = attr_int(e, k, l->num, pstr(e, l->num_unit));
		if (a < 0)
			return oom(e, "adding sample attributes");
		/* Attribute keys are unique per sample: the first label of a key wins. */
		int64_t key = e->attrs.w[e->attrs.off[a]];
		bool dup = false;
		for (size_t j = 2; j < n && !dup; j++)
			dup = e->attrs.w[e->attrs.off[t[j]]] == key;
		if (!dup)
			t[n++] = a;
	}
	qsort(t + 2, n - 2, sizeof(int64_t), i64_cmp);
	*len = n;
	return 0;
}

static int aggregate(struct enc *e)
{
	const PProfile *pp = e->pp;
	size_t nt = pp->n_sample_type;
	for (size_t i = 0; i < pp->n_sample; i++) {
		const PSample *s = pp->sample[i];
		if (s->n_value != nt) {
			return base_fail(e->err, e->errlen, -EINVAL,
					 "otlp: malformed pprof: sample %zu has %zu values for %zu "
					 "sample types",
					 i, s->n_value, nt);
		}
		struct group *g = find_group(e, s);
		size_t len = 0;
		int rc = sample_key(e, s, &len);
		if (rc < 0)
			return rc;
		bool added;
		int64_t k = itab_intern(&g->keys, e->scratch, len, &added);
		if (k < 0)
			return oom(e, "aggregating samples");
		if (added) {
			if (g->keys.n > SIZE_MAX / nt ||
			    BASE_GROW(g->values, g->cap_values, g->keys.n * nt) < 0)
				return oom(e, "aggregating samples");
			memset(g->values + (size_t)k * nt, 0, nt * sizeof(int64_t));
		}
		/* Unsigned: a wrapped sum is wrong but defined; real counts never get there. */
		for (size_t t = 0; t < nt; t++)
			g->values[(size_t)k * nt + t] =
				(int64_t)((uint64_t)g->values[(size_t)k * nt + t] + (uint64_t)s->value[t]);
	}
	return 0;
}

/* --- resource attributes ----------------------------------------------------------------- */

static void rattr_set(struct rattrs *r, const struct rattr *a)
{
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->v[i].key, a->key) == 0) {
			r->v[i] = *a;
			return;
		}
	}
	if (r->n < sizeof(r->v) / sizeof(r->v[0]))
		r->v[r->n++] = *a;
}

static const char *rattr_get(const struct rattrs *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].key, key) == 0 && r->v[i].kind == AK_STR)
			return r->v[i].s;
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) trimmed and percent-decoded into the arena; NULL on a bad escape (*oom on OOM). */
static char *pct_decode(struct arena *a, const char *s, size_t n, bool *is_oom)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	char *d = aalloc(a, n + 1);
	if (!d) {
		*is_oom = true;
		return NULL;
	}
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			d[j++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return NULL;
		int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
		if (hi < 0 || lo < 0)
			return NULL;
		d[j++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d[j] = '\0';
	return d;
}

/* OTEL_RESOURCE_ATTRIBUTES syntax into e->user; -EINVAL with the entry that is wrong. */
static int parse_resource_attributes(struct enc *e, const char *spec, const char *origin)
{
	size_t nth = 0;
	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		nth++;
		size_t sp = strspn(p, " \t");
		if (sp < n) {
			const char *eq = memchr(p, '=', n);
			bool is_oom = false;
			char *k = eq ? pct_decode(&e->a, p, (size_t)(eq - p), &is_oom) : NULL;
			char *v = k ? pct_decode(&e->a, eq + 1, n - (size_t)(eq - p) - 1, &is_oom) : NULL;
			if (is_oom)
				return oom(e, "reading resource attributes");
			if (!eq || !k || !*k || !v) {
				int shown = n > 60 ? 60 : (int)n;
				return base_fail(e->err, e->errlen, -EINVAL,
						 "otlp: %s: entry %zu \"%.*s\" is not key=value "
						 "(%s); expected "
						 "\"key1=value1,key2=value2\" with %%XX escapes",
						 origin, nth, shown, p,
						 !eq          ? "no '='"
						 : (k && !*k) ? "empty key"
							      : "bad %XX escape");
			}
			if (e->user.n >= USER_ATTRS_MAX) {
				return base_fail(e->err, e->errlen, -EINVAL,
						 "otlp: %s: more than %d attributes", origin,
						 USER_ATTRS_MAX);
			}
			struct rattr a = { .key = k, .kind = AK_STR, .s = v };
			rattr_set(&e->user, &a);
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static char *adup(struct arena *a, const char *s)
{
	return s ? astrndup(a, s, strlen(s)) : NULL;
}

static OKeyValue *kv_new(struct arena *a, const struct rattr *r)
{
	OKeyValue *kv = aalloc(a, sizeof(*kv));
	OAnyValue *v = aalloc(a, sizeof(*v));
	if (!kv || !v)
		return NULL;
	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(v);
	kv->key = (char *)r->key;
	kv->value = v;
	if (r->kind == AK_INT) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = r->i;
	} else {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = (char *)(r->s ? r->s : "");
	}
	return kv;
}

/* The Resource of one group: detected attributes, then the user's on top. */
static OResource *make_resource(struct enc *e, const struct group *g)
{
	const struct otlp_options *o = e->o;
	struct rattrs r = { .n = 0 };
	struct otlp_process pi = { 0 };
	bool have_pi = g->has_pid && o->process_info &&
		       o->process_info(o->process_ctx, g->pid, &pi) == 0;
	const char *exe_name = have_pi ? adup(&e->a, pi.executable_name) : NULL;
	const char *exe_path = have_pi ? adup(&e->a, pi.executable_path) : NULL;
	const char *cmdline = have_pi ? adup(&e->a, pi.command_line) : NULL;
	if ((have_pi && pi.executable_name && !exe_name) || (have_pi && pi.executable_path && !exe_path) ||
	    (have_pi && pi.command_line && !cmdline))
		return NULL;

	/* service.name: explicit, else OTEL_SERVICE_NAME, else the user's attribute, else the binary. */
	const char *env_service = getenv("OTEL_SERVICE_NAME");
	const char *service = o->service_name && *o->service_name ? o->service_name
			      : env_service && *env_service	 ? env_service
			      : rattr_get(&e->user, "service.name") ? rattr_get(&e->user, "service.name")
			      : exe_name && *exe_name		 ? exe_name
								 : "unknown_service";
	rattr_set(&r, &(struct rattr){ .key = "service.name", .kind = AK_STR, .s = service });
	if (g->has_pid)
		rattr_set(&r, &(struct rattr){ .key = "process.pid", .kind = AK_INT, .i = g->pid });
	if (exe_name && *exe_name)
		rattr_set(&r, &(struct rattr){ "process.executable.name", AK_STR, exe_name, 0 });
	if (exe_path && *exe_path)
		rattr_set(&r, &(struct rattr){ "process.executable.path", AK_STR, exe_path, 0 });
	if (cmdline && *cmdline)
		rattr_set(&r, &(struct rattr){ "process.command_line", AK_STR, cmdline, 0 });
	if (e->host_name && *e->host_name)
		rattr_set(&r, &(struct rattr){ "host.name", AK_STR, e->host_name, 0 });
	rattr_set(&r, &(struct rattr){ "os.type", AK_STR, "linux", 0 });
	for (size_t i = 0; i < e->user.n; i++)
		if (strcmp(e->user.v[i].key, "service.name") != 0)
			rattr_set(&r, &e->user.v[i]);

	OResource *res = aalloc(&e->a, sizeof(*res));
	OKeyValue **kvs = aarray(&e->a, r.n, sizeof(*kvs));
	if (!res || !kvs)
		return NULL;
	opentelemetry__proto__resource__v1__resource__init(res);
	for (size_t i = 0; i < r.n; i++)
		if (!(kvs[i] = kv_new(&e->a, &r.v[i])))
			return NULL;
	res->n_attributes = r.n;
	res->attributes = kvs;
	return res;
}

/* --- building the message tree ------------------------------------------------------- */

static int random_id(struct enc *e, uint8_t *id)
{
	for (int tries = 0; tries < 4; tries++) {
		size_t got = 0;
		while (got < PROFILE_ID_LEN) {
			ssize_t r = getrandom(id + got, PROFILE_ID_LEN - got, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				int err = r < 0 ? errno : EIO;
				return base_fail(e->err, e->errlen, -err,
						 "otlp: getrandom for a profile id: %s",
						 strerror(err));
			}
			got += (size_t)r;
		}
		for (size_t i = 0; i < PROFILE_ID_LEN; i++)
			if (id[i])
				return 0; /* all zeroes is the invalid id */
	}
	return base_fail(e->err, e->errlen, -EIO, "otlp: getrandom keeps returning zeroes");
}

static OValueType *value_type(struct enc *e, const Perftools__Profiles__ValueType *vt, int *rc)
{
	OValueType *o = aalloc(&e->a, sizeof(*o));
	if (!o) {
		*rc = oom(e, "building value types");
		return NULL;
	}
	opentelemetry__proto__profiles__v1development__value_type__init(o);
	int64_t t, u;
	if ((*rc = dict_str(e, vt->type, &t, "a sample type")) < 0 ||
	    (*rc = dict_str(e, vt->unit, &u, "a sample unit")) < 0)
		return NULL;
	o->type_strindex = (int32_t)t;
	o->unit_strindex = (int32_t)u;
	return o;
}

static int build_profiles(struct enc *e, OReq *req)
{
	const PProfile *pp = e->pp;
	const struct otlp_options *o = e->o;
	size_t nt = pp->n_sample_type;
	bool payload_sent = false;
	int rc = 0;

	OResourceProfiles **rps = aarray(&e->a, e->ngroups, sizeof(*rps));
	if (!rps)
		return oom(e, "building resources");
	for (size_t gi = 0; gi < e->ngroups; gi++) {
		struct group *g = &e->groups[gi];
		OResourceProfiles *rp = aalloc(&e->a, sizeof(*rp));
		OScopeProfiles *sp = aalloc(&e->a, sizeof(*sp));
		OScopeProfiles **sps = aalloc(&e->a, sizeof(*sps));
		OScope *scope = aalloc(&e->a, sizeof(*scope));
		OProfile **profs = aarray(&e->a, nt, sizeof(*profs));
		size_t *nsamples = aarray(&e->a, nt, sizeof(*nsamples));
		if (!rp || !sp || !sps || !scope || (nt && (!profs || !nsamples)))
			return oom(e, "building resources");
		/*
		 * A sample type without a sample in this process (numa record's
		 * tracepoints that never fired) gets no profile; one that has none
		 * at all keeps its first type's, empty.
		 */
		bool any = false;
		for (size_t t = 0; t < nt; t++) {
			nsamples[t] = 0;
			for (size_t k = 0; k < g->keys.n; k++)
				nsamples[t] += g->values[k * nt + t] != 0;
			any |= nsamples[t] != 0;
		}
		opentelemetry__proto__profiles__v1development__resource_profiles__init(rp);
		opentelemetry__proto__profiles__v1development__scope_profiles__init(sp);
		opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
		if (!(rp->resource = make_resource(e, g)))
			return oom(e, "building resource attributes");
		scope->name = "pmuprof";
		scope->version = (char *)(o->scope_version ? o->scope_version : "");
		sp->scope = scope;
		sp->profiles = profs;
		sps[0] = sp;
		rp->n_scope_profiles = 1;
		rp->scope_profiles = sps;
		rps[gi] = rp;

		for (size_t t = 0; t < nt; t++) {
			if (!nsamples[t] && (any || t > 0))
				continue;
			OProfile *p = aalloc(&e->a, sizeof(*p));
			uint8_t *id = aalloc(&e->a, PROFILE_ID_LEN);
			if (!p || !id)
				return oom(e, "building profiles");
			opentelemetry__proto__profiles__v1development__profile__init(p);
			if (!(p->sample_type = value_type(e, pp->sample_type[t], &rc)))
				return rc;
			if (pp->period_type && !(p->period_type = value_type(e, pp->period_type, &rc)))
				return rc;
			p->period = pp->period;
			p->time_unix_nano = pp->time_nanos > 0 ? (uint64_t)pp->time_nanos : 0;
			p->duration_nano = pp->duration_nanos > 0 ? (uint64_t)pp->duration_nanos : 0;
			if ((rc = random_id(e, id)) < 0)
				return rc;
			p->profile_id.data = id;
			p->profile_id.len = PROFILE_ID_LEN;
			if (o->original_payload && o->original_payload_len && !payload_sent) {
				/* Once per request: the bytes are the whole pprof, all types at once. */
				p->original_payload_format = "pprof";
				p->original_payload.data = (uint8_t *)o->original_payload;
				p->original_payload.len = o->original_payload_len;
				payload_sent = true;
			}

			size_t ns = nsamples[t];
			OSample **samples = aarray(&e->a, ns, sizeof(*samples));
			OSample *sv = aarray(&e->a, ns, sizeof(*sv));
			int64_t *vals = aarray(&e->a, ns, sizeof(*vals));
			if (ns && (!samples || !sv || !vals))
				return oom(e, "building samples");
			size_t j = 0;
			for (size_t k = 0; k < g->keys.n; k++) {
				int64_t v = g->values[k * nt + t];
				if (!v)
					continue;
				size_t len;
				const int64_t *key = itab_get(&g->keys, k, &len);
				OSample *s = &sv[j];
				opentelemetry__proto__profiles__v1development__sample__init(s);
				s->stack_index = (int32_t)key[0];
				s->link_index = (int32_t)key[1];
				if (len > 2) {
					int32_t *ai = aarray(&e->a, len - 2, sizeof(*ai));
					if (!ai)
						return oom(e, "building samples");
					for (size_t a = 2; a < len; a++)
						ai[a - 2] = (int32_t)key[a];
					s->n_attribute_indices = len - 2;
					s->attribute_indices = ai;
				}
				vals[j] = v;
				s->n_values = 1;
				s->values = &vals[j];
				samples[j++] = s;
			}
			p->n_samples = ns;
			p->samples = samples;
			profs[sp->n_profiles++] = p;
		}
	}
	req->n_resource_profiles = e->ngroups;
	req->resource_profiles = rps;
	return 0;
}

/* The dictionary from the interners (called last: building profiles interns strings). */
static int build_dictionary(struct enc *e, OReq *req)
{
	ODict *d = aalloc(&e->a, sizeof(*d));
	OMapping **maps = aarray(&e->a, e->maps.n, sizeof(*maps));
	OFunction **fns = aarray(&e->a, e->fns.n, sizeof(*fns));
	OLocation **locs = aarray(&e->a, e->locs.n, sizeof(*locs));
	OStack **stacks = aarray(&e->a, e->stacks.n, sizeof(*stacks));
	OKeyValueAndUnit **attrs = aarray(&e->a, e->attrs.n, sizeof(*attrs));
	OLink **links = aarray(&e->a, e->links.n, sizeof(*links));
	if (!d || !maps || !fns || !locs || !stacks || !attrs || !links)
		return oom(e, "building the dictionary");
	opentelemetry__proto__profiles__v1development__profiles_dictionary__init(d);

	for (size_t i = 0; i < e->links.n; i++) {
		size_t len;
		const int64_t *t = itab_get(&e->links, i, &len);
		OLink *l = aalloc(&e->a, sizeof(*l));
		uint8_t *b = aalloc(&e->a, 3 * sizeof(int64_t));
		if (!l || !b)
			return oom(e, "building links");
		opentelemetry__proto__profiles__v1development__link__init(l);
		if (i > 0) { /* link 0 stays the zero value: empty ids */
			memcpy(b, t, 3 * sizeof(int64_t));
			l->trace_id = (ProtobufCBinaryData){ .len = 16, .data = b };
			l->span_id = (ProtobufCBinaryData){ .len = 8, .data = b + 16 };
		}
		links[i] = l;
	}

	for (size_t i = 0; i < e->maps.n; i++) {
		size_t len;
		const int64_t *t = itab_get(&e->maps, i, &len);
		OMapping *m = aalloc(&e->a, sizeof(*m));
		if (!m)
			return oom(e, "building mappings");
		opentelemetry__proto__profiles__v1development__mapping__init(m);
		m->memory_start = (uint64_t)t[0];
		m->memory_limit = (uint64_t)t[1];
		m->file_offset = (uint64_t)t[2];
		m->filename_strindex = (int32_t)t[3];
		if (t[4]) {
			int32_t *ai = aalloc(&e->a, sizeof(*ai));
			if (!ai)
				return oom(e, "building mappings");
			ai[0] = (int32_t)t[4];
			m->n_attribute_indices = 1;
			m->attribute_indices = ai;
		}
		maps[i] = m;
	}
	for (size_t i = 0; i < e->fns.n; i++) {
		size_t len;
		const int64_t *t = itab_get(&e->fns, i, &len);
		OFunction *f = aalloc(&e->a, sizeof(*f));
		if (!f)
			return oom(e, "building functions");
		opentelemetry__proto__profiles__v1development__function__init(f);
		f->name_strindex = (int32_t)t[0];
		f->system_name_strindex = (int32_t)t[1];
		f->filename_strindex = (int32_t)t[2];
		f->start_line = t[3];
		fns[i] = f;
	}
	for (size_t i = 0; i < e->locs.n; i++) {
		size_t len;
		const int64_t *t = itab_get(&e->locs, i, &len);
		size_t nl = (len - 3) / 2;
		OLocation *l = aalloc(&e->a, sizeof(*l));
		OLine **lines = aarray(&e->a, nl, sizeof(*lines));
		OLine *lv = aarray(&e->a, nl, sizeof(*lv));
		int32_t *ai = aalloc(&e->a, sizeof(*ai));
		if (!l || (nl && (!lines || !lv)) || !ai)
			return oom(e, "building locations");
		opentelemetry__proto__profiles__v1development__location__init(l);
		l->mapping_index = (int32_t)t[0];
		l->address = (uint64_t)t[1];
		if (t[2]) {
			ai[0] = (int32_t)t[2];
			l->n_attribute_indices = 1;
			l->attribute_indices = ai;
		}
		for (size_t j = 0; j < nl; j++) {
			opentelemetry__proto__profiles__v1development__line__init(&lv[j]);
			lv[j].function_index = (int32_t)t[3 + 2 * j];
			lv[j].line = t[4 + 2 * j];
			lines[j] = &lv[j];
		}
		l->n_lines = nl;
		l->lines = nl ? lines : NULL;
		locs[i] = l;
	}
	for (size_t i = 0; i < e->stacks.n; i++) {
		size_t len;
		const int64_t *t = itab_get(&e->stacks, i, &len);
		OStack *s = aalloc(&e->a, sizeof(*s));
		int32_t *li = aarray(&e->a, len, sizeof(*li));
		if (!s || (len && !li))
			return oom(e, "building stacks");
		opentelemetry__proto__profiles__v1development__stack__init(s);
		for (size_t j = 0; j < len; j++)
			li[j] = (int32_t)t[j];
		s->n_location_indices = len;
		s->location_indices = len ? li : NULL;
		stacks[i] = s;
	}
	for (size_t i = 0; i < e->attrs.n; i++) {
		size_t len;
		const int64_t *t = itab_get(&e->attrs, i, &len);
		OKeyValueAndUnit *kv = aalloc(&e->a, sizeof(*kv));
		if (!kv)
			return oom(e, "building attributes");
		opentelemetry__proto__profiles__v1development__key_value_and_unit__init(kv);
		kv->key_strindex = (int32_t)t[0];
		kv->unit_strindex = (int32_t)t[3];
		if (t[1] != AK_NONE) {
			OAnyValue *v = aalloc(&e->a, sizeof(*v));
			if (!v)
				return oom(e, "building attributes");
			opentelemetry__proto__common__v1__any_value__init(v);
			if (t[1] == AK_STR) {
				v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
				v->string_value = (char *)e->vals.s[t[2]];
			} else {
				v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
				v->int_value = t[2];
			}
			kv->value = v;
		}
		attrs[i] = kv;
	}
	d->n_mapping_table = e->maps.n;
	d->mapping_table = maps;
	d->n_location_table = e->locs.n;
	d->location_table = locs;
	d->n_function_table = e->fns.n;
	d->function_table = fns;
	d->n_link_table = e->links.n;
	d->link_table = links;
	d->n_string_table = e->str.n;
	d->string_table = (char **)e->str.s;
	d->n_attribute_table = e->attrs.n;
	d->attribute_table = attrs;
	d->n_stack_table = e->stacks.n;
	d->stack_table = stacks;
	req->dictionary = d;
	return 0;
}

static void enc_free(struct enc *e)
{
	stab_free(&e->str);
	stab_free(&e->vals);
	itab_free(&e->attrs);
	itab_free(&e->maps);
	itab_free(&e->fns);
	itab_free(&e->locs);
	itab_free(&e->stacks);
	itab_free(&e->links);
	free(e->map_ids.v);
	free(e->fn_ids.v);
	free(e->loc_ids.v);
	free(e->map_dict);
	free(e->fn_dict);
	free(e->loc_dict);
	for (size_t i = 0; i < e->ngroups; i++) {
		itab_free(&e->groups[i].keys);
		free(e->groups[i].values);
	}
	free(e->groups);
	free(e->scratch);
	arena_free(&e->a);
}

static int encode(struct enc *e, uint8_t **out, size_t *out_len)
{
	const struct otlp_options *o = e->o;
	int rc;
	const char *ra = o->resource_attributes;
	const char *origin = "resource attributes";
	if (!ra) {
		ra = getenv("OTEL_RESOURCE_ATTRIBUTES");
		origin = "OTEL_RESOURCE_ATTRIBUTES";
	}
	if (ra && (rc = parse_resource_attributes(e, ra, origin)) < 0)
		return rc;
	if (o->host_name) {
		e->host_name = o->host_name;
	} else {
		char hn[256];
		if (gethostname(hn, sizeof(hn)) == 0) {
			hn[sizeof(hn) - 1] = '\0';
			if (!(e->host_name = adup(&e->a, hn)))
				return oom(e, "reading the host name");
		}
	}
	if (e->pp->n_sample_type == 0) {
		return base_fail(e->err, e->errlen, -EINVAL,
				 "otlp: the pprof has no sample types; nothing to export");
	}
	if ((rc = seed_tables(e)) < 0 || (rc = convert_mappings(e)) < 0 ||
	    (rc = convert_functions(e)) < 0 || (rc = convert_locations(e)) < 0 ||
	    (rc = make_groups(e)) < 0 || (rc = aggregate(e)) < 0)
		return rc;

	OReq req;
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__init(&req);
	if ((rc = build_profiles(e, &req)) < 0 || (rc = build_dictionary(e, &req)) < 0)
		return rc;
	size_t len = opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__get_packed_size(&req);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return oom(e, "serializing the request");
	size_t packed = opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__pack(&req, buf);
	if (packed != len) {
		free(buf);
		return base_fail(e->err, e->errlen, -EIO,
				 "otlp: protobuf-c packed %zu bytes, expected %zu", packed, len);
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int otlp_encode_request(const uint8_t *pprof, size_t pprof_len, const struct otlp_options *o,
			uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	static const struct otlp_options defaults;
	*out = NULL;
	*out_len = 0;
	if (!pprof && pprof_len) {
		return base_fail(err, errlen, -EINVAL, "otlp: no pprof bytes to encode");
	}
	if (pprof_len >= 2 && pprof[0] == 0x1f && pprof[1] == 0x8b) {
		return base_fail(err, errlen, -EINVAL,
				 "otlp: the pprof is still gzipped; pass the uncompressed "
				 "profile.proto bytes");
	}
	PProfile *pp = perftools__profiles__profile__unpack(NULL, pprof_len, pprof);
	if (!pp) {
		return base_fail(
			err, errlen, -EBADMSG,
			"otlp: %zu bytes are not a pprof profile (profile.proto does not decode)",
			pprof_len);
	}
	struct enc e = { .pp = pp, .o = o ? o : &defaults, .err = err, .errlen = errlen };
	int rc = encode(&e, out, out_len);
	enc_free(&e);
	perftools__profiles__profile__free_unpacked(pp, NULL);
	return rc;
}

/* --- the file ----------------------------------------------------------------------------- */

int otlp_write_output(struct base_output *out, const uint8_t *bytes, size_t len, char *err,
		      size_t errlen)
{
	if (!bytes && len)
		return base_fail(err, errlen, -EINVAL, "otlp: no bytes to write");
	struct base_bytes b = {bytes, len};
	return base_output_write(out, base_fill_bytes, &b, err, errlen);
}

int otlp_write_file(const char *path, const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
	if (!bytes && len)
		return base_fail(err, errlen, -EINVAL, "otlp: no bytes to write");
	struct base_bytes b = {bytes, len};
	struct base_output_opts opts = {.mode = 0644, .what = "OTLP file", .flag = "--otlp"};
	return base_write_file(path, &opts, base_fill_bytes, &b, err, errlen);
}
