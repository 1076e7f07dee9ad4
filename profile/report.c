/*
 * report — `pmuprof report`: a pprof profile printed as perf report's tables.
 *
 * Owns: grouping samples by the --sort keys: a frame's (dso, sym with perf's
 * [k]/[.] marker, srcline) of their leaf frame (self) and of every frame on
 * their stack (children, each sample counted once per key), and the sample's
 * labels (node, cpu, comm, pid, tid, region, any label); one table per sample
 * type: Children and Self sorted by children where samples have call graphs
 * (perf's default), else one Overhead column; one value column per event in
 * human units (ms/s for time events, K/M/G for counts) and each count event
 * per 1000 of the first event where that one counts too; a type without
 * samples gets no table, only its name on one line. Reads profiles through
 * pprof_read_file.
 */
#include "report_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Sample Sample;

#define MAX_RATIOS 3 /* more ratio columns stop being readable */
#define DOTS "........................................................................"

enum { GRAPH_CALLER = 1, GRAPH_CALLEE, CG_PREFIX_MAX = 4096 };
static const char *const frame_key_names[] = { "dso", "sym", "srcline" };

static int parse_sort(const char *sort, struct sort_key *keys, size_t *nkeys, char *err,
		      size_t errlen)
{
	*nkeys = 0;
	if (!sort || !*sort)
		sort = "sym";
	const char *s = sort;
	for (;;) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		while (n && *s == ' ') {
			s++;
			n--;
		}
		while (n && s[n - 1] == ' ')
			n--;
		if (n == 0 || n >= sizeof(keys->name))
			return base_fail(err, errlen, -EINVAL,
					 "%s --sort key in '%s': give keys such as node,sym",
					 n ? "too long a" : "an empty", sort);
		if (*nkeys == MAX_KEYS) {
			return base_fail(err, errlen, -EINVAL,
					 "too many --sort keys in '%s' (at most %d)", sort,
					 MAX_KEYS);
		}
		struct sort_key *key = &keys[(*nkeys)++];
		memcpy(key->name, s, n);
		key->name[n] = '\0';
		key->kind = strcmp(key->name, "stack") == 0 ? KEY_STACK : KEY_LABEL;
		for (size_t k = 0; k < sizeof(frame_key_names) / sizeof(frame_key_names[0]); k++)
			if (strcmp(key->name, frame_key_names[k]) == 0)
				key->kind = (enum key_kind)k;
		if (!end)
			break;
		s = end + 1;
	}
	return 0;
}

/* --- id lookups ------------------------------------------------------------------ */


static uint64_t loc_id(const void *x)
{
	return ((const Location *)x)->id;
}
static uint64_t fn_id(const void *x)
{
	return ((const Function *)x)->id;
}
static uint64_t map_id(const void *x)
{
	return ((const Mapping *)x)->id;
}

static int cmp_loc(const void *a, const void *b)
{
	uint64_t x = loc_id(*(const void *const *)a), y = loc_id(*(const void *const *)b);
	return x < y ? -1 : x > y;
}
static int cmp_fn(const void *a, const void *b)
{
	uint64_t x = fn_id(*(const void *const *)a), y = fn_id(*(const void *const *)b);
	return x < y ? -1 : x > y;
}
static int cmp_map(const void *a, const void *b)
{
	uint64_t x = map_id(*(const void *const *)a), y = map_id(*(const void *const *)b);
	return x < y ? -1 : x > y;
}

static int index_build(struct id_index *ix, void *const *items, size_t n,
		       int (*cmp)(const void *, const void *))
{
	ix->n = n;
	ix->v = malloc((n ? n : 1) * sizeof(*ix->v));
	if (!ix->v)
		return -ENOMEM;
	if (n) { /* protobuf-c leaves an empty repeated field NULL */
		memcpy(ix->v, items, n * sizeof(*ix->v));
		qsort(ix->v, n, sizeof(*ix->v), cmp);
	}
	return 0;
}

static const void *index_get(const struct id_index *ix, uint64_t id, uint64_t (*idof)(const void *))
{
	if (id == 0)
		return NULL;
	if (id <= ix->n && idof(ix->v[id - 1]) == id)
		return ix->v[id - 1];
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t m = idof(ix->v[mid]);
		if (m == id)
			return ix->v[mid];
		if (m < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- grouping keys --------------------------------------------------------------- */

/* Adds one part, prefix then s, to the key being composed. */
static int buf_add(struct rep *r, const char *prefix, const char *s)
{
	size_t np = strlen(prefix), n = strlen(s);
	if (r->len_buf + np + n + 2 > r->cap_buf) {
		size_t cap = r->cap_buf ? r->cap_buf : 256;
		while (cap < r->len_buf + np + n + 2)
			cap *= 2;
		char *b = realloc(r->buf, cap);
		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap_buf = cap;
	}
	if (r->len_buf)
		r->buf[r->len_buf++] = KEY_SEP;
	memcpy(r->buf + r->len_buf, prefix, np);
	memcpy(r->buf + r->len_buf + np, s, n + 1);
	r->len_buf += np + n;
	return 0;
}

static bool entry_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct rep *r = ctx;
	return strcmp(r->ent[idx].key, key) == 0;
}

const struct entry *report_find(const struct rep *r, const char *key)
{
	if (!r->index.cap)
		return NULL;
	struct base_htab_slot *slot = base_htab_find(&r->index,
						     base_htab_hash_bytes(key, strlen(key)),
						     entry_eq, r, key);
	return slot->idx1 ? &r->ent[slot->idx1 - 1] : NULL;
}

/* The entry for the key in r->buf, created if new; NULL on OOM. */
static struct entry *entry_get(struct rep *r)
{
	if (base_htab_reserve(&r->index) < 0)
		return NULL;
	uint64_t h = base_htab_hash_bytes(r->buf, r->len_buf);
	struct base_htab_slot *slot = base_htab_find(&r->index, h, entry_eq, r, r->buf);
	if (slot->idx1)
		return &r->ent[slot->idx1 - 1];
	if (r->nent == r->cap_ent) {
		size_t cap = r->cap_ent ? r->cap_ent * 2 : 64;
		struct entry *ne = realloc(r->ent, cap * sizeof(*ne));
		if (!ne)
			return NULL;
		r->ent = ne;
		r->cap_ent = cap;
	}
	struct entry *e = &r->ent[r->nent];
	e->key = strdup(r->buf);
	e->flat = calloc(2 * r->ntypes, sizeof(*e->flat));
	if (!e->key || !e->flat) {
		free(e->key);
		free(e->flat);
		return NULL;
	}
	e->cum = e->flat + r->ntypes;
	e->last_sample = SIZE_MAX;
	slot->hash = h;
	slot->idx1 = (uint32_t)++r->nent;
	r->index.n++;
	return e;
}

static const char *str_at(const Profile *m, int64_t i)
{
	return m->string_table[i]; /* indices were range-checked by pprof_read_file */
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

/* The value of the sample's label with key index `key` (its first), "[unknown]" if none. */
static const char *label_value(const Profile *m, const Sample *s, int64_t key, char *tmp,
			       size_t len)
{
	for (size_t j = 0; key >= 0 && j < s->n_label; j++) {
		const Perftools__Profiles__Label *l = s->label[j];
		if (l->key != key)
			continue;
		if (l->str)
			return *str_at(m, l->str) ? str_at(m, l->str) : "[unknown]";
		snprintf(tmp, len, "%" PRId64, l->num);
		return tmp;
	}
	return "[unknown]";
}

/* perf's [k]: the kernel's mapping ([kernel.kallsyms], modules), or a kernel-half address. */
static bool is_kernel(const struct rep *r, const Location *loc)
{
	if (!loc)
		return false;
	const Mapping *mp = index_get(&r->maps, loc->mapping_id, map_id);
	if (mp && strncmp(str_at(r->m, mp->filename), "[kernel", 7) == 0)
		return true;
	return loc->address >> 63;
}

/* The frame's file: its mapping's name, NULL if none. */
static const char *frame_file(const struct rep *r, const Location *loc)
{
	const Mapping *mp = loc ? index_get(&r->maps, loc->mapping_id, map_id) : NULL;
	return mp && *str_at(r->m, mp->filename) ? str_at(r->m, mp->filename) : NULL;
}

/* The frame's symbol: its function's name, else its address (as perf and pprof show it). */
static const char *frame_sym(const struct rep *r, const Location *loc, const Function *fn,
			     char *tmp, size_t len)
{
	if (fn && *str_at(r->m, fn->name))
		return str_at(r->m, fn->name);
	if (fn && *str_at(r->m, fn->system_name))
		return str_at(r->m, fn->system_name);
	if (!loc)
		return NULL;
	snprintf(tmp, len, "0x%" PRIx64, loc->address);
	return tmp;
}

/* Whether v is one of the comma-separated list's items. */
static bool in_list(const char *list, const char *v)
{
	size_t n = strlen(v);
	for (const char *s = list; s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
		if (strncmp(s, v, n) == 0 && (s[n] == ',' || s[n] == '\0'))
			return true;
	return false;
}

/* perf's --dso and --symbols: whether the frame's rows are kept (a dso by name or path). */
static bool frame_kept(const struct rep *r, const Location *loc, const Line *line)
{
	const struct pprof_report_opts *o = r->opts;
	char tmp[64];
	if (o->dsos) {
		const char *file = frame_file(r, loc);
		if (!file || !(in_list(o->dsos, base_name(file)) || in_list(o->dsos, file)))
			return false;
	}
	if (o->symbols) {
		const Function *fn = line ? index_get(&r->fns, line->function_id, fn_id) : NULL;
		const char *sym = frame_sym(r, loc, fn, tmp, sizeof(tmp));
		if (!sym || !in_list(o->symbols, sym))
			return false;
	}
	return true;
}

/* perf's --comm, --pid and --tid: whether the sample's thread is kept. */
static bool sample_kept(const struct rep *r, const Sample *s)
{
	const char *lists[] = { r->opts->comms, r->opts->pids, r->opts->tids };
	char tmp[64];
	for (size_t f = 0; f < 3; f++)
		if (lists[f] && !in_list(lists[f], label_value(r->m, s, r->filter_key[f], tmp,
								 sizeof(tmp))))
			return false;
	return true;
}

/*
 * The innermost of a location's nlines lines that makes a frame: lines are innermost
 * first, each inline frame a frame of its own, or with --no-inline only the outermost
 * (the function whose code it is, as perf names it).
 */
static size_t inner_line(const struct rep *r, size_t nlines)
{
	return r->opts->no_inline && nlines ? nlines - 1 : 0;
}

/* Appends n bytes of s to the stack key being composed; -ENOMEM. */
static int stack_add(struct rep *r, size_t *len, const char *s, size_t n)
{
	if (BASE_GROW(r->stack, r->cap_stack, *len + n + 1) < 0)
		return -ENOMEM;
	memcpy(r->stack + *len, s, n);
	*len += n;
	r->stack[*len] = '\0';
	return 0;
}

/*
 * The "stack" key of a sample into r->stack: its frames root first, inline frames each
 * their own, joined by ';' as folded stacks are; a frame is named as the sym key names it.
 */
static int stack_key(struct rep *r, const Sample *s)
{
	size_t len = 0;
	char tmp[64];
	if (stack_add(r, &len, "", 0) < 0)
		return -ENOMEM;
	for (size_t j = s->n_location_id; j-- > 0;) {
		const Location *loc = index_get(&r->locs, s->location_id[j], loc_id);
		size_t nlines = loc ? loc->n_line : 0;
		for (size_t l = nlines ? nlines : 1; l-- > inner_line(r, nlines);) {
			const Line *line = nlines ? loc->line[l] : NULL;
			const Function *fn = line ? index_get(&r->fns, line->function_id, fn_id) : NULL;
			const char *name = frame_sym(r, loc, fn, tmp, sizeof(tmp));
			if (!name)
				name = "[unknown]";
			if ((len && stack_add(r, &len, ";", 1) < 0) ||
			    stack_add(r, &len, name, strlen(name)) < 0)
				return -ENOMEM;
		}
	}
	if (len == 0)
		return stack_add(r, &len, "[no stack]", 10);
	return 0;
}

/* Composes the grouping key of one frame (a location and one of its lines) into r->buf. */
static int frame_key(struct rep *r, const Sample *s, const Location *loc, const Line *line)
{
	const Profile *m = r->m;
	const Function *fn = line ? index_get(&r->fns, line->function_id, fn_id) : NULL;
	char tmp[64];
	r->len_buf = 0;
	for (size_t k = 0; k < r->nkeys; k++) {
		const char *part = "[unknown]";
		switch (r->keys[k].kind) {
		case KEY_LABEL:
			part = label_value(m, s, r->label_key[k], tmp, sizeof(tmp));
			break;
		case KEY_DSO:
			if (frame_file(r, loc))
				part = base_name(frame_file(r, loc));
			break;
		case KEY_SYM: {
			const char *name = frame_sym(r, loc, fn, tmp, sizeof(tmp));
			if (!name)
				break;
			if (buf_add(r, is_kernel(r, loc) ? "[k] " : "[.] ", name) < 0)
				return -ENOMEM;
			continue;
		}
		case KEY_STACK:
			if (stack_key(r, s) < 0)
				return -ENOMEM;
			part = r->stack;
			break;
		case KEY_SRCLINE:
			if (fn && *str_at(m, fn->filename)) {
				snprintf(tmp, sizeof(tmp), "%s:%" PRId64,
					 base_name(str_at(m, fn->filename)), line->line);
				part = tmp;
			}
			break;
		}
		if (buf_add(r, "", part) < 0)
			return -ENOMEM;
	}
	if (r->nkeys == 0)
		return buf_add(r, "", "");
	return 0;
}

static int account(struct rep *r, size_t sample, const int64_t *values, bool leaf)
{
	struct entry *e = entry_get(r);
	if (!e)
		return -ENOMEM;
	if (leaf)
		for (size_t t = 0; t < r->ntypes; t++)
			e->flat[t] = base_sat_add(e->flat[t], values[t]);
	if (e->last_sample != sample) {
		e->last_sample = sample;
		for (size_t t = 0; t < r->ntypes; t++)
			e->cum[t] = base_sat_add(e->cum[t], values[t]);
	}
	return 0;
}

static int aggregate(struct rep *r)
{
	const Profile *m = r->m;
	for (size_t i = 0; i < m->n_sample; i++) {
		const Sample *s = m->sample[i];
		bool leaf = true;
		int rc;
		if (!sample_kept(r, s))
			continue;
		for (size_t j = 0; r->frame_keys && j < s->n_location_id; j++) {
			const Location *loc = index_get(&r->locs, s->location_id[j], loc_id);
			size_t nlines = loc ? loc->n_line : 0;
			/* Lines are innermost first: each inline frame is a frame of its own. */
			for (size_t l = inner_line(r, nlines); l < (nlines ? nlines : 1); l++) {
				const Line *line = nlines ? loc->line[l] : NULL;
				rc = frame_kept(r, loc, line) ? frame_key(r, s, loc, line) : 1;
				if (rc == 0)
					rc = account(r, i, s->value, leaf);
				if (rc < 0)
					return rc;
				leaf = false;
			}
		}
		if (leaf) {
			/* No stack at all, or only label keys: counted once, as its leaf. */
			const Location *loc = NULL;
			if (s->n_location_id)
				loc = index_get(&r->locs, s->location_id[0], loc_id);
			if (!frame_kept(r, loc, loc && loc->n_line ? loc->line[inner_line(r, loc->n_line)]
								     : NULL))
				continue;
			rc = frame_key(r, s, NULL, NULL);
			if (rc == 0)
				rc = account(r, i, s->value, true);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

double report_pct(int64_t v, int64_t total)
{
	return total ? 100.0 * (double)v / (double)total : 0.0;
}

/* --- call graphs (-g) ------------------------------------------------------------ */

struct cg_node {
	char *name;
	int64_t value;
	size_t child, next; /* first child and next sibling: indices, 0 for none */
};

/*
 * -g as perf report spells it: comma-separated tokens in any order, a print type (graph:
 * shares of the total; none), an order (caller, callee), a threshold in percent (default
 * 0.5) and then a print limit, function (the only key) and percent (the only value); "" is
 * perf's default, graph,0.5,caller.
 */
/* perf report's -g words, and what each does here. */
enum graph_word { GW_CALLER, GW_CALLEE, GW_NONE, GW_SHOWN, GW_VIEW, GW_UNSUPPORTED };
static const struct {
	const char *word;
	enum graph_word kind;
} graph_words[] = {
	{ "caller", GW_CALLER },	{ "callee", GW_CALLEE },	 { "none", GW_NONE },
	{ "graph", GW_SHOWN },		{ "function", GW_SHOWN },	 { "percent", GW_SHOWN },
	{ "flat", GW_VIEW },		{ "folded", GW_VIEW },		 { "fractal", GW_UNSUPPORTED },
	{ "address", GW_UNSUPPORTED },	{ "period", GW_UNSUPPORTED },	 { "count", GW_UNSUPPORTED },
	{ "branch", GW_UNSUPPORTED },
};

/* The index in graph_words of the n bytes at tok, or -1. */
static int graph_word(const char *tok, size_t n)
{
	for (size_t i = 0; i < sizeof(graph_words) / sizeof(graph_words[0]); i++)
		if (strlen(graph_words[i].word) == n && strncmp(tok, graph_words[i].word, n) == 0)
			return (int)i;
	return -1;
}

static int parse_graph(struct rep *r, const char *spec, char *err, size_t errlen)
{
	r->threshold = 0.5;
	if (!spec)
		return 0;
	int numbers = 0;
	bool callee = false, none = false;
	for (const char *s = spec; *s;) {
		size_t n = strcspn(s, ",");
		char tok[32];
		if (n == 0 || n >= sizeof(tok))
			goto bad;
		memcpy(tok, s, n);
		tok[n] = '\0';
		int w = graph_word(tok, n);
		char *end;
		double v = strtod(tok, &end);
		if (w >= 0) {
			switch (graph_words[w].kind) {
			case GW_CALLER: callee = false; break;
			case GW_CALLEE: callee = true; break;
			case GW_NONE: none = true; break;
			case GW_SHOWN: break; /* what the tree always shows */
			case GW_VIEW:
				return base_fail(err, errlen, -EINVAL,
						 "-g %s: the call graph prints as a tree (graph); for "
						 "one line per stack use --folded", tok);
			case GW_UNSUPPORTED:
				return base_fail(err, errlen, -EINVAL,
						 "-g %s is not supported: trees are of functions, in "
						 "percent of the total (graph)", tok);
			}
		} else if (end != tok && !*end && v >= 0 && numbers == 0 && v <= 100) {
			r->threshold = v;
			numbers++;
		} else if (end != tok && !*end && v >= 0 && numbers == 1) {
			numbers++; /* perf's print limit: every branch above the threshold is shown */
		} else {
			goto bad;
		}
		s += n;
		if (*s == ',' && !*++s)
			goto bad;
	}
	r->graph = none ? 0 : callee ? GRAPH_CALLEE : GRAPH_CALLER;
	return 0;
bad:
	return base_fail(err, errlen, -EINVAL,
			 "-g takes perf's call graph options: graph or none; caller or callee; "
			 "a threshold in percent (e.g. -g caller,0.5), not '%s'", spec);
}

/*
 * Whether spec reads as -g's value: its first option is one of perf's words or a number
 * (so that a word after a bare -g is its value, and a mistake in it is said as -g's).
 */
bool pprof_report_is_call_graph(const char *spec)
{
	if (!spec || !*spec)
		return false;
	size_t n = strcspn(spec, ",");
	if (graph_word(spec, n) >= 0)
		return true;
	char *end;
	(void)strtod(spec, &end);
	return end == spec + n && n > 0;
}

/* The sample's frames, leaf first, an inline frame each, into r->frames; their number. */
static ssize_t sample_frames(struct rep *r, const Sample *s)
{
	size_t n = 0;
	for (size_t j = 0; j < s->n_location_id; j++) {
		const Location *loc = index_get(&r->locs, s->location_id[j], loc_id);
		size_t nlines = loc ? loc->n_line : 0;
		for (size_t l = inner_line(r, nlines); l < (nlines ? nlines : 1); l++) {
			if (BASE_GROW(r->frames, r->cap_frames, n + 1) < 0)
				return -ENOMEM;
			r->frames[n++] = (struct frame){ loc, nlines ? loc->line[l] : NULL };
		}
	}
	return (ssize_t)n;
}

/* The child of node named name, added if new; 0 on OOM. */
static size_t cg_child(struct rep *r, size_t node, const char *name)
{
	size_t *link = &r->nodes[node].child;
	for (; *link; link = &r->nodes[*link].next)
		if (strcmp(r->nodes[*link].name, name) == 0)
			return *link;
	if (BASE_GROW(r->nodes, r->cap_nodes, r->nnodes + 1) < 0)
		return 0;
	link = &r->nodes[node].child; /* the array may have moved */
	while (*link)
		link = &r->nodes[*link].next;
	struct cg_node *c = &r->nodes[r->nnodes];
	*c = (struct cg_node){ .name = strdup(name) };
	if (!c->name)
		return 0;
	*link = r->nnodes;
	return r->nnodes++;
}

/* Adds the path frames[from..to) (step +1 or -1) with value v under the root. */
static int cg_add(struct rep *r, ssize_t from, ssize_t to, int step, int64_t v)
{
	size_t node = 0;
	char tmp[64];
	for (ssize_t i = from; i != to; i += step) {
		const struct frame *f = &r->frames[i];
		const Function *fn =
			f->line ? index_get(&r->fns, f->line->function_id, fn_id) : NULL;
		const char *name = frame_sym(r, f->loc, fn, tmp, sizeof(tmp));
		if (!(node = cg_child(r, node, name ? name : "[unknown]")))
			return -ENOMEM;
		r->nodes[node].value = base_sat_add(r->nodes[node].value, v);
	}
	r->nodes[0].value = base_sat_add(r->nodes[0].value, v);
	return 0;
}

/*
 * The tree of row e for type t: its samples' paths (self samples without children, every
 * sample through it with), as perf's graphs. callee: the row's callers, nearest first.
 * caller: from the root down to the row where the row is the leaf, else from the row down
 * to the leaf.
 */
static int cg_build(struct rep *r, const struct entry *e, size_t t, bool children)
{
	for (size_t i = 1; i < r->nnodes; i++)
		free(r->nodes[i].name);
	r->nnodes = 0;
	free(r->cg_row);
	r->cg_row = NULL;
	if (BASE_GROW(r->nodes, r->cap_nodes, 1) < 0)
		return -ENOMEM;
	r->nodes[r->nnodes++] = (struct cg_node){ 0 };
	const Profile *m = r->m;
	for (size_t i = 0; i < m->n_sample; i++) {
		const Sample *s = m->sample[i];
		if (!s->value[t] || !sample_kept(r, s))
			continue;
		ssize_t n = sample_frames(r, s), at = -1;
		if (n < 0)
			return -ENOMEM;
		for (ssize_t j = 0; j < (children ? n : (n ? 1 : 0)) && at < 0; j++) {
			int rc = frame_key(r, s, r->frames[j].loc, r->frames[j].line);
			if (rc < 0)
				return rc;
			if (strcmp(r->buf, e->key) == 0)
				at = j;
		}
		if (at >= 0 && !r->cg_row) {
			char tmp[64];
			const struct frame *f = &r->frames[at];
			const Function *fn =
				f->line ? index_get(&r->fns, f->line->function_id, fn_id) : NULL;
			const char *name = frame_sym(r, f->loc, fn, tmp, sizeof(tmp));
			if (name && !(r->cg_row = strdup(name)))
				return -ENOMEM;
		}
		if (at < 0)
			continue;
		int rc;
		if (r->graph == GRAPH_CALLEE)
			rc = cg_add(r, at + 1, n, 1, s->value[t]);
		else if (children && at > 0)
			rc = cg_add(r, at, -1, -1, s->value[t]);
		else
			rc = cg_add(r, n - 1, at - 1, -1, s->value[t]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct cg_kid {
	int64_t value;
	size_t idx;
};

static int cmp_kid(const void *a, const void *b)
{
	const struct cg_kid *x = a, *y = b;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Prints node's children above the threshold as perf's graph: "|--12.34%--name" for a
 * branch ("--" for the last), a child alone carrying all of its parent's value continues
 * the chain on the next line, at the name's column. prefix: the columns of the ancestors.
 */
static int cg_print(struct rep *r, size_t node, bool top, int64_t total, char *prefix,
		    size_t plen, FILE *out)
{
	size_t nk = 0;
	for (size_t c = r->nodes[node].child; c; c = r->nodes[c].next)
		nk++;
	struct cg_kid *kids = malloc((nk ? nk : 1) * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	nk = 0;
	for (size_t c = r->nodes[node].child; c; c = r->nodes[c].next)
		if (report_pct(r->nodes[c].value, total) >= r->threshold)
			kids[nk++] = (struct cg_kid){ r->nodes[c].value, c };
	qsort(kids, nk, sizeof(*kids), cmp_kid);
	/* The row's one path, carrying all of its value: "---name", no share (perf's). */
	bool alone = top && nk == 1 && kids[0].value == r->nodes[node].value;
	int rc = 0;
	for (size_t k = 0; k < nk && rc == 0; k++) {
		size_t c = kids[k].idx;
		bool last = k + 1 == nk;
		char head[48];
		int hl = alone ? snprintf(head, sizeof(head), "---")
			       : snprintf(head, sizeof(head), "--%.2f%%--",
					  report_pct(r->nodes[c].value, total));
		if (alone)
			fprintf(out, "%.*s|\n%.*s%s%s\n", (int)plen, prefix, (int)plen, prefix,
				head, r->nodes[c].name);
		else
			fprintf(out, "%.*s|\n%.*s%c%s%s\n", (int)plen, prefix, (int)plen, prefix,
				last ? ' ' : '|', head, r->nodes[c].name);
		/* The child's column: under its name, a bar while siblings follow. */
		size_t clen = plen + (size_t)hl + (alone ? 0 : 1);
		if (clen >= CG_PREFIX_MAX)
			break; /* deeper than a line can indent: not printed */
		memset(prefix + plen, ' ', clen - plen);
		if (!alone && !last)
			prefix[plen] = '|';
		/* A chain: one child with all of the value goes on the next line, no share. */
		size_t at = c;
		while (r->nodes[at].child && !r->nodes[r->nodes[at].child].next &&
		       r->nodes[r->nodes[at].child].value == r->nodes[at].value) {
			at = r->nodes[at].child;
			fprintf(out, "%.*s%s\n", (int)clen, prefix, r->nodes[at].name);
		}
		rc = cg_print(r, at, false, total, prefix, clen, out);
	}
	free(kids);
	return rc;
}

/* --- printing -------------------------------------------------------------------- */

/* qsort has no context argument: sort rows carrying their sort values instead. */
struct row {
	int64_t first, second; /* children then self, or self then children */
	const struct entry *e;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->first != y->first)
		return x->first > y->first ? -1 : 1;
	if (x->second != y->second)
		return x->second > y->second ? -1 : 1;
	return strcmp(x->e->key, y->e->key);
}

/* Splits a composed key (a copy the caller owns) into its parts; their number. */
static size_t split_key(char *key, char **parts, size_t max)
{
	size_t n = 0;
	parts[n++] = key;
	for (char *c = key; *c && n < max; c++)
		if (*c == KEY_SEP) {
			*c = '\0';
			parts[n++] = c + 1;
		}
	return n;
}

bool report_is_time(const Profile *m, size_t t)
{
	const char *unit = str_at(m, m->sample_type[t]->unit);
	return strcmp(unit, "nanoseconds") == 0 || strcmp(unit, "ns") == 0;
}

void report_human(char *buf, size_t len, int64_t v, bool time)
{
	double d = (double)v;
	if (time)
		snprintf(buf, len, d >= 1e9 ? "%.2fs" : "%.2fms", d >= 1e9 ? d / 1e9 : d / 1e6);
	else if (d >= 1e9)
		snprintf(buf, len, "%.2fG", d / 1e9);
	else if (d >= 1e6)
		snprintf(buf, len, "%.2fM", d / 1e6);
	else if (d >= 1e4)
		snprintf(buf, len, "%.2fK", d / 1e3);
	else
		snprintf(buf, len, "%" PRId64, v);
}

enum { MAX_COLS = 8 }; /* value columns: more stop being readable */

/* The value columns of a table: every event with samples (and "samples" in its own table). */
static size_t value_columns(const struct rep *r, size_t t, size_t *col)
{
	const Profile *m = r->m;
	size_t n = 0;
	for (size_t j = 0; j < r->ntypes && n < MAX_COLS; j++)
		if (r->total[j] &&
		    (j == t || strcmp(str_at(m, m->sample_type[j]->type), "samples") != 0))
			col[n++] = j;
	return n;
}

/*
 * The ratio columns: each count event per 1000 of the first event, where the first counts
 * too (a time is no denominator for a count, perf stat's "per 1k" ratios are of counts).
 */
static size_t ratio_columns(const struct rep *r, const size_t *col, size_t ncol, size_t *ratio)
{
	size_t n = 0;
	if (ncol < 2 || report_is_time(r->m, col[0]))
		return 0;
	for (size_t q = 1; q < ncol && n < MAX_RATIOS; q++)
		if (!report_is_time(r->m, col[q]))
			ratio[n++] = col[q];
	return n;
}

static void print_rule(FILE *out, size_t width)
{
	fprintf(out, "  %.*s", (int)width, DOTS);
}

void report_key_widths(const struct rep *r, const char *key, size_t *wkey)
{
	const char *c = key;
	for (size_t k = 0; k < r->nkeys; k++) {
		if (!key) {
			wkey[k] = strlen(r->keys[k].name);
			continue;
		}
		const char *sep = strchr(c, KEY_SEP);
		size_t len = sep ? (size_t)(sep - c) : strlen(c);
		if (len > wkey[k])
			wkey[k] = len;
		c = sep ? sep + 1 : c + len;
	}
}

void report_print_key_names(const struct rep *r, const size_t *wkey, FILE *out)
{
	for (size_t k = 0; k < r->nkeys; k++) /* the last column unpadded: no trailing blanks */
		fprintf(out, "  %-*s", k + 1 < r->nkeys ? (int)wkey[k] : 0, r->keys[k].name);
}

void report_print_key_rules(const struct rep *r, const size_t *wkey, FILE *out)
{
	for (size_t k = 0; k < r->nkeys; k++)
		print_rule(out, wkey[k]);
}

void report_print_hidden(size_t hidden, FILE *out)
{
	if (hidden)
		fprintf(out, "# ... %zu more %s not shown\n", hidden, hidden == 1 ? "entry" : "entries");
}

int report_print_key(const char *key, const size_t *wkey, FILE *out)
{
	char *copy = strdup(key);
	if (!copy)
		return -ENOMEM;
	char *parts[MAX_KEYS];
	size_t np = split_key(copy, parts, MAX_KEYS);
	for (size_t k = 0; k < np; k++)
		fprintf(out, "  %-*s", k + 1 < np ? (int)wkey[k] : 0, parts[k]);
	fputc('\n', out);
	free(copy);
	return 0;
}

static int print_type(struct rep *r, size_t t, const struct pprof_report_opts *opts, FILE *out)
{
	const Profile *m = r->m;
	const char *tname = str_at(m, m->sample_type[t]->type);
	int64_t total = r->total[t];

	fprintf(out, "# Samples of '%s' (unit %s): total %" PRId64, tname,
		*str_at(m, m->sample_type[t]->unit) ? str_at(m, m->sample_type[t]->unit) : "count",
		total);
	/* The profile carries one period, that of period_type: print it only where it applies. */
	if (m->period_type && m->period &&
	    strcmp(str_at(m, m->period_type->type), tname) == 0)
		fprintf(out, ", period %" PRId64, m->period);
	fputs("\n#\n", out);

	size_t col[MAX_COLS], ratio[MAX_RATIOS];
	size_t ncol = value_columns(r, t, col), nratio = ratio_columns(r, col, ncol, ratio);
	/* Children: each row's value with its callees', sorted by that, as perf's default. */
	bool children = r->children && r->frame_keys;

	struct row *rows = malloc((r->nent ? r->nent : 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	size_t nrows = 0;
	for (size_t i = 0; i < r->nent; i++) {
		const struct entry *e = &r->ent[i];
		struct row row = { children ? e->cum[t] : e->flat[t],
				   children ? e->flat[t] : e->cum[t], e };
		if (row.first && report_pct(row.first, total) >= opts->percent_limit)
			rows[nrows++] = row;
	}
	qsort(rows, nrows, sizeof(*rows), cmp_row);
	size_t top = opts->top > 0 ? (size_t)opts->top : 20;
	size_t shown = nrows < top ? nrows : top;

	/* Column widths from what is shown, so that columns line up without wasting space. */
	size_t wcol[MAX_COLS], wkey[MAX_KEYS];
	char rhead[MAX_RATIOS][160];
	for (size_t q = 0; q < ncol; q++)
		wcol[q] = strlen(str_at(m, m->sample_type[col[q]]->type));
	for (size_t q = 0; q < nratio; q++)
		snprintf(rhead[q], sizeof(rhead[q]), "%s/1k %s",
			 str_at(m, m->sample_type[ratio[q]]->type),
			 str_at(m, m->sample_type[col[0]]->type));
	report_key_widths(r, NULL, wkey);
	for (size_t i = 0; i < shown; i++) {
		const int64_t *v = children ? rows[i].e->cum : rows[i].e->flat;
		for (size_t q = 0; q < ncol; q++) {
			char num[32];
			report_human(num, sizeof(num), v[col[q]], report_is_time(m, col[q]));
			if (strlen(num) > wcol[q])
				wcol[q] = strlen(num);
		}
		report_key_widths(r, rows[i].e->key, wkey);
	}

	/* perf report's header: the shares, the columns, a rule of dots, "#". */
	fputs(children ? "# Children      Self" : "# Overhead", out);
	for (size_t q = 0; q < ncol; q++)
		fprintf(out, "  %*s", (int)wcol[q], str_at(m, m->sample_type[col[q]]->type));
	for (size_t q = 0; q < nratio; q++)
		fprintf(out, "  %s", rhead[q]);
	report_print_key_names(r, wkey, out);
	fputs(children ? "\n# ........  ........" : "\n# ........", out);
	for (size_t q = 0; q < ncol; q++)
		print_rule(out, wcol[q]);
	for (size_t q = 0; q < nratio; q++)
		print_rule(out, strlen(rhead[q]));
	report_print_key_rules(r, wkey, out);
	fputs("\n#\n", out);

	int rc = 0;
	for (size_t i = 0; i < shown; i++) {
		const struct entry *e = rows[i].e;
		const int64_t *v = children ? e->cum : e->flat;
		fprintf(out, "%9.2f%%", report_pct(rows[i].first, total));
		if (children)
			fprintf(out, "  %7.2f%%", report_pct(rows[i].second, total));
		for (size_t q = 0; q < ncol; q++) {
			char num[32];
			report_human(num, sizeof(num), v[col[q]], report_is_time(m, col[q]));
			fprintf(out, "  %*s", (int)wcol[q], num);
		}
		for (size_t q = 0; q < nratio; q++) {
			int w = (int)strlen(rhead[q]);
			if (v[col[0]] == 0) {
				fprintf(out, "  %*s", w, "-");
				continue;
			}
			double x = 1000.0 * (double)v[ratio[q]] / (double)v[col[0]];
			/* Small ratios keep three decimals: 0.03 per 1k is not "0.0". */
			fprintf(out, "  %*.*f", w, x >= 1.0 || x == 0.0 ? 1 : 3, x);
		}
		if ((rc = report_print_key(e->key, wkey, out)) < 0)
			break;
		if (r->graph && r->frame_keys) {
			char prefix[CG_PREFIX_MAX];
			memset(prefix, ' ', 12);
			rc = cg_build(r, e, t, children);
			/* Every path starting at the row itself: perf prints from below it. */
			size_t c = r->nodes[0].child, start = 0;
			if (rc == 0 && c && !r->nodes[c].next &&
			    r->nodes[c].value == r->nodes[0].value && r->cg_row &&
			    strcmp(r->nodes[c].name, r->cg_row) == 0)
				start = c;
			if (rc == 0)
				rc = cg_print(r, start, true, total, prefix, 12, out);
			if (rc < 0)
				break;
		}
	}
	if (rc == 0)
		report_print_hidden(nrows - shown, out);
	free(rows);
	return rc;
}

/*
 * Each label key's index in the string table, from the labels the samples carry; a name
 * no sample carries is a mistake to name, with the labels there are.
 */
static int resolve_label_keys(struct rep *r, const char *path, char *err, size_t errlen)
{
	const Profile *m = r->m;
	for (size_t k = 0; k < r->nkeys; k++) {
		struct sort_key *key = &r->keys[k];
		r->label_key[k] = -1;
		r->frame_keys |= key->kind != KEY_LABEL && key->kind != KEY_STACK;
		if (key->kind != KEY_LABEL)
			continue;
		for (size_t i = 0; i < m->n_sample && r->label_key[k] < 0; i++)
			for (size_t j = 0; j < m->sample[i]->n_label; j++)
				if (strcmp(str_at(m, m->sample[i]->label[j]->key), key->name) == 0)
					r->label_key[k] = m->sample[i]->label[j]->key;
		if (r->label_key[k] >= 0)
			continue;
		char have[256] = "";
		size_t n = 0;
		for (size_t i = 0; i < m->n_sample && n < sizeof(have); i++)
			for (size_t j = 0; j < m->sample[i]->n_label && n < sizeof(have); j++) {
				const char *name = str_at(m, m->sample[i]->label[j]->key);
				char quoted[80];
				snprintf(quoted, sizeof(quoted), " %s,", name);
				if (!strstr(have, quoted))
					n += (size_t)snprintf(have + n, sizeof(have) - n, "%s", quoted);
			}
		if (n)
			have[strlen(have) - 1] = '\0'; /* the last comma */
		if (strcmp(key->name, "node") == 0) /* the label exists only where it tells */
			return base_fail(err, errlen, -EINVAL,
					 "no sample of %s carries a node label: samples get one only "
					 "where the recorded machine has more than one NUMA node (one "
					 "node has no NUMA effects to group by); --sort cpu groups by "
					 "CPU (labels there:%s)",
					 path, n ? have : " none");
		return base_fail(err, errlen, -EINVAL,
				 "unknown --sort key '%s': not dso, sym, srcline or stack, and no sample "
				 "of %s carries a label '%s' (labels there:%s)",
				 key->name, path, key->name, n ? have : " none");
	}
	return 0;
}

static void print_preamble(const Profile *m, const char *path, FILE *out)
{
	fprintf(out, "# profile: %s\n", path);
	for (size_t i = 0; i < m->n_comment; i++)
		fprintf(out, "# %s\n", str_at(m, m->comment[i]));
	if (m->time_nanos) {
		time_t secs = (time_t)(m->time_nanos / 1000000000);
		struct tm tm;
		char when[64];
		if (gmtime_r(&secs, &tm) && strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
			fprintf(out, "# captured %s", when);
		else
			fprintf(out, "# captured at %" PRId64 " ns", m->time_nanos);
		if (m->duration_nanos)
			fprintf(out, ", duration %.3f s", (double)m->duration_nanos / 1e9);
		fputc('\n', out);
	} else if (m->duration_nanos) {
		fprintf(out, "# duration %.3f s\n", (double)m->duration_nanos / 1e9);
	}
	fputs("#\n", out);
}

void report_close(struct rep *r)
{
	free(r->total);
	free(r->stack);
	free(r->locs.v);
	free(r->fns.v);
	free(r->maps.v);
	for (size_t i = 0; i < r->nent; i++) {
		free(r->ent[i].key);
		free(r->ent[i].flat);
	}
	free(r->ent);
	base_htab_free(&r->index);
	free(r->buf);
	free(r->frames);
	free(r->cg_row);
	for (size_t i = 1; i < r->nnodes; i++)
		free(r->nodes[i].name);
	free(r->nodes);
}

int report_open(struct rep *r, const struct pprof_read *pr, const char *path,
		const struct pprof_report_opts *opts, char *err, size_t errlen)
{
	static const struct pprof_report_opts defaults;
	memset(r, 0, sizeof(*r));
	r->opts = opts = opts ? opts : &defaults;
	int rc = parse_sort(opts->sort, r->keys, &r->nkeys, err, errlen);
	if (rc == 0)
		rc = parse_graph(r, opts->call_graph, err, errlen);
	if (rc < 0)
		return rc;
	const Profile *m = pprof_read_message(pr);
	r->m = m;
	r->ntypes = m->n_sample_type;
	if (r->ntypes == 0)
		return base_fail(err, errlen, -EINVAL, "profile %s has no sample types", path);
	if (!(r->total = calloc(r->ntypes, sizeof(*r->total))))
		goto oom;
	for (size_t i = 0; i < m->n_sample; i++)
		for (size_t t = 0; t < r->ntypes; t++)
			r->total[t] = base_sat_add(r->total[t], m->sample[i]->value[t]);

	static const char *const filter_names[] = { "comm", "pid", "tid" };
	for (size_t f = 0; f < 3; f++) {
		r->filter_key[f] = -1;
		for (size_t i = 1; i < m->n_string_table && r->filter_key[f] < 0; i++)
			if (strcmp(m->string_table[i], filter_names[f]) == 0)
				r->filter_key[f] = (int64_t)i;
	}
	if ((rc = resolve_label_keys(r, path, err, errlen)) < 0)
		return rc;
	if (index_build(&r->locs, (void *const *)m->location, m->n_location, cmp_loc) < 0 ||
	    index_build(&r->fns, (void *const *)m->function, m->n_function, cmp_fn) < 0 ||
	    index_build(&r->maps, (void *const *)m->mapping, m->n_mapping, cmp_map) < 0 ||
	    aggregate(r) < 0)
		goto oom;
	for (size_t i = 0; i < m->n_sample && !r->stacks; i++)
		r->stacks = m->sample[i]->n_location_id > 1;
	if (r->graph && !r->stacks)
		return base_fail(err, errlen, -EINVAL,
				 "-g: no sample of %s has a caller (it was recorded without call "
				 "graphs); record with -g or --call-graph dwarf", path);
	/* perf's default: children where there are call graphs (a sample with a caller). */
	r->children = opts->children ? opts->children > 0 : r->stacks;
	return 0;
oom:
	return base_fail(err, errlen, -ENOMEM, "report of %s: out of memory", path);
}

int pprof_report_print_read(const struct pprof_read *pr, const char *path,
			    const struct pprof_report_opts *opts, FILE *out, char *err,
			    size_t errlen)
{
	struct rep r;
	bool *want = NULL;
	int rc = report_open(&r, pr, path, opts, err, errlen);
	if (rc < 0)
		goto out;
	opts = r.opts;
	const Profile *m = r.m;

	/* Which types get a table: the one asked for, else every event (not the "samples" count). */
	if (!(want = calloc(r.ntypes, sizeof(*want)))) {
		rc = -ENOMEM;
		goto out;
	}
	size_t nwant = 0;
	for (size_t t = 0; t < r.ntypes; t++) {
		const char *name = str_at(m, m->sample_type[t]->type);
		if (opts->sample_type ? strcmp(name, opts->sample_type) == 0
					      : strcmp(name, "samples") != 0) {
			want[t] = true;
			nwant++;
		}
	}
	if (nwant == 0 && opts->sample_type) {
		char avail[512];
		size_t n = 0;
		avail[0] = '\0';
		for (size_t t = 0; t < r.ntypes && n < sizeof(avail); t++)
			n += (size_t)snprintf(avail + n, sizeof(avail) - n, "%s%s", t ? ", " : "",
					      str_at(m, m->sample_type[t]->type));
		base_fail(err, errlen, 0, "unknown sample type '%s' in %s (available: %s)",
			  opts->sample_type, path, avail);
		rc = -EINVAL;
		goto out;
	}
	if (nwant == 0)
		want[0] = true; /* only "samples" is there: show that */

	print_preamble(m, path, out);
	bool first = true;
	size_t nempty = 0;
	for (size_t t = 0; t < r.ntypes && rc == 0; t++) {
		if (!want[t])
			continue;
		if (r.total[t] == 0) {
			nempty++;
			continue;
		}
		if (!first)
			fputc('\n', out);
		first = false;
		rc = print_type(&r, t, opts, out);
	}
	/* numa record opens tracepoints that may never fire: empty tables would bury the rest. */
	if (rc == 0 && nempty) {
		fputs(first ? "# no samples of " : "\n# no samples of ", out);
		for (size_t t = 0, said = 0; t < r.ntypes; t++)
			if (want[t] && !r.total[t])
				fprintf(out, "%s'%s'", said++ ? ", " : "",
					str_at(m, m->sample_type[t]->type));
		fputs(": no table\n", out);
	}
	errno = 0;
	if (rc == 0 && (fflush(out) != 0 || ferror(out))) {
		rc = errno ? -errno : -EIO;
		base_fail(err, errlen, 0, "writing the report of %s: %s", path, strerror(-rc));
	}
out:
	if (rc == -ENOMEM)
		base_fail(err, errlen, 0, "report of %s: out of memory", path);
	free(want);
	report_close(&r);
	return rc;
}

int pprof_report_print(const char *path, const struct pprof_report_opts *opts, FILE *out, char *err,
		       size_t errlen)
{
	struct pprof_read *pr;
	int rc = pprof_read_file(&pr, path, opts ? opts->max_inflated : 0, err, errlen);
	if (rc < 0)
		return rc;
	rc = pprof_report_print_read(pr, path, opts, out, err, errlen);
	pprof_read_free(pr);
	return rc;
}
