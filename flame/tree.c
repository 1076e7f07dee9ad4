/*
 * The prefix tree of frames every view draws: frames named once, nodes keyed
 * by (parent, name), samples kept per (leaf node, label set) so the HTML page
 * can filter by labels and switch sample types without the whole profile.
 */
#include "flame_internal.h"
#include "profile.h"
#include "profile.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Sample Sample;

/* --- ids to table positions ------------------------------------------------------ */

struct ids {
	struct base_htab h;
	uint64_t *id; /* [n] */
};

static bool ids_eq(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct ids *)ctx)->id[idx] == *(const uint64_t *)key;
}

static int ids_add(struct ids *x, size_t i, uint64_t id)
{
	if (base_htab_reserve(&x->h) < 0)
		return -ENOMEM;
	struct base_htab_slot *s = base_htab_find(&x->h, base_htab_mix(0, id), ids_eq, x, &id);
	x->id[i] = id;
	if (!s->idx1) { /* a repeated id keeps its first entry */
		s->hash = base_htab_mix(0, id);
		s->idx1 = (uint32_t)i + 1;
		x->h.n++;
	}
	return 0;
}

/* The position of id, or -1. */
static long ids_get(const struct ids *x, uint64_t id)
{
	if (!x->h.cap)
		return -1;
	struct base_htab_slot *s = base_htab_find(&x->h, base_htab_mix(0, id), ids_eq, x, &id);
	return s->idx1 ? (long)s->idx1 - 1 : -1;
}

static void ids_free(struct ids *x)
{
	base_htab_free(&x->h);
	free(x->id);
}

/* --- names, nodes, label sets, entries ------------------------------------------- */

static bool name_eq(const void *ctx, uint32_t idx, const void *key)
{
	return strcmp(((const struct flame_tree *)ctx)->names[idx], key) == 0;
}

/* The id of name (copied when new); -ENOMEM. */
static int64_t name_id(struct flame_tree *t, const char *name)
{
	if (base_htab_reserve(&t->name_ix) < 0)
		return -ENOMEM;
	uint64_t h = base_htab_hash_bytes(name, strlen(name));
	struct base_htab_slot *s = base_htab_find(&t->name_ix, h, name_eq, t, name);
	if (s->idx1)
		return s->idx1 - 1;
	if (BASE_GROW(t->names, t->cap_names, t->nnames + 1) < 0 ||
	    !(t->names[t->nnames] = strdup(name)))
		return -ENOMEM;
	s->hash = h;
	s->idx1 = (uint32_t)++t->nnames;
	t->name_ix.n++;
	return s->idx1 - 1;
}

static bool node_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct flame_node *a = &((const struct flame_tree *)ctx)->nodes[idx], *b = key;
	return a->parent == b->parent && a->name == b->name;
}

/* The child of parent named name, made if new; -ENOMEM. */
static int64_t node_child(struct flame_tree *t, uint32_t parent, uint32_t name)
{
	struct flame_node k = { parent, name };
	if (base_htab_reserve(&t->node_ix) < 0)
		return -ENOMEM;
	uint64_t h = base_htab_mix(base_htab_mix(0, parent), name);
	struct base_htab_slot *s = base_htab_find(&t->node_ix, h, node_eq, t, &k);
	if (s->idx1)
		return s->idx1 - 1;
	if (BASE_GROW(t->nodes, t->cap_nodes, t->nnodes + 1) < 0)
		return -ENOMEM;
	t->nodes[t->nnodes] = k;
	s->hash = h;
	s->idx1 = (uint32_t)++t->nnodes;
	t->node_ix.n++;
	return s->idx1 - 1;
}

static bool set_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct flame_tree *t = ctx;
	return memcmp(&t->sets[idx * t->nkeys], key, t->nkeys * sizeof(uint32_t)) == 0;
}

/* The id of the label set vals[nkeys]; -ENOMEM. */
static int64_t set_id(struct flame_tree *t, const uint32_t *vals)
{
	if (base_htab_reserve(&t->set_ix) < 0)
		return -ENOMEM;
	uint64_t h = base_htab_hash_bytes((const char *)vals, t->nkeys * sizeof(uint32_t));
	struct base_htab_slot *s = base_htab_find(&t->set_ix, h, set_eq, t, vals);
	if (s->idx1)
		return s->idx1 - 1;
	if (BASE_GROW(t->sets, t->cap_sets, (t->nsets + 1) * t->nkeys + 1) < 0) /* + 1: no keys */
		return -ENOMEM;
	memcpy(&t->sets[t->nsets * t->nkeys], vals, t->nkeys * sizeof(uint32_t));
	s->hash = h;
	s->idx1 = (uint32_t)++t->nsets;
	t->set_ix.n++;
	return s->idx1 - 1;
}

static bool ent_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct flame_entry *a = &((const struct flame_tree *)ctx)->ent[idx], *b = key;
	return a->node == b->node && a->set == b->set;
}

/* Adds a sample's values[] to the entry (node, set): values[i] to column col[i] (-1: none). */
static int entry_add(struct flame_tree *t, uint32_t node, uint32_t set, const int64_t *values,
		     size_t nvalues, const long *col)
{
	struct flame_entry k = { node, set };
	size_t stride = t->nsides * t->ntypes;
	if (base_htab_reserve(&t->ent_ix) < 0)
		return -ENOMEM;
	uint64_t h = base_htab_mix(base_htab_mix(1, node), set);
	struct base_htab_slot *s = base_htab_find(&t->ent_ix, h, ent_eq, t, &k);
	if (!s->idx1) {
		if (BASE_GROW(t->ent, t->cap_ent, t->nent + 1) < 0 ||
		    BASE_GROW(t->vals, t->cap_vals, (t->nent + 1) * stride) < 0)
			return -ENOMEM;
		t->ent[t->nent] = k;
		memset(&t->vals[t->nent * stride], 0, stride * sizeof(*t->vals));
		s->hash = h;
		s->idx1 = (uint32_t)++t->nent;
		t->ent_ix.n++;
	}
	int64_t *v = &t->vals[(s->idx1 - 1) * stride];
	for (size_t i = 0; i < nvalues; i++)
		if (col[i] >= 0)
			v[col[i]] = base_sat_add(v[col[i]], values[i]);
	return 0;
}

/* --- building -------------------------------------------------------------------- */

static const char *str_at(const Profile *m, int64_t i)
{
	return m->string_table[i]; /* indices were range-checked when read */
}

/*
 * The tree's sample types: m's, or with a baseline the ones both have (by name), and
 * where each profile's values go: col[i] is m's type i's column, base_col[i] the
 * baseline's (the baseline's columns come first).
 */
static int tree_types(struct flame_tree *t, const struct pprof_read *pr, const Profile *base,
		      long *col, long *base_col, const struct flame_opts *o, char *err,
		      size_t errlen)
{
	const Profile *m = pprof_read_message(pr);
	t->nsides = base ? 2 : 1;
	/* "samples" counts the samples of every event: it compares only where the events do. */
	bool same_events = !base || pprof_read_same_events(o->baseline, pr);
	t->type_name = calloc(m->n_sample_type + 1, sizeof(*t->type_name));
	t->type_unit = calloc(m->n_sample_type + 1, sizeof(*t->type_unit));
	if (!t->type_name || !t->type_unit)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_sample_type; i++) {
		const char *name = str_at(m, m->sample_type[i]->type);
		col[i] = -1;
		if (base && (!pprof_read_has_sample_type(o->baseline, name) ||
			     (!same_events && strcmp(name, "samples") == 0)))
			continue;
		t->type_name[t->ntypes] = name;
		t->type_unit[t->ntypes] = str_at(m, m->sample_type[i]->unit);
		col[i] = (long)t->ntypes++;
	}
	if (t->ntypes == 0 && !base)
		return base_fail(err, errlen, -EINVAL, "profile %s has no sample types", o->title);
	if (t->ntypes == 0)
		return base_fail(err, errlen, -EINVAL,
				 "%s and %s have no event in common: a diff compares the same "
				 "event; record both with the same -e",
				 o->baseline_title, o->title);
	for (size_t i = 0; base && i < base->n_sample_type; i++) {
		base_col[i] = -1;
		for (size_t j = 0; j < t->ntypes; j++)
			if (strcmp(str_at(base, base->sample_type[i]->type), t->type_name[j]) == 0)
				base_col[i] = (long)j;
	}
	if (base) /* the profile's values follow the baseline's */
		for (size_t i = 0; i < m->n_sample_type; i++)
			if (col[i] >= 0)
				col[i] += (long)t->ntypes;
	return 0;
}

/* The sample type o asks for; the default: the profile's own, else its first event. */
static int pick_type(struct flame_tree *t, const Profile *m, const struct flame_opts *o,
		     char *err, size_t errlen)
{
	const char *want = o->sample_type ? o->sample_type : str_at(m, m->default_sample_type);
	for (size_t i = 0; i < t->ntypes; i++)
		if (*want && strcmp(t->type_name[i], want) == 0) {
			t->type = i;
			return 0;
		}
	if (o->sample_type) {
		char avail[512];
		size_t n = 0;
		avail[0] = '\0';
		for (size_t i = 0; i < t->ntypes && n < sizeof(avail); i++)
			n += (size_t)snprintf(avail + n, sizeof(avail) - n, "%s%s", i ? ", " : "",
					      t->type_name[i]);
		return base_fail(err, errlen, -EINVAL,
				 "unknown sample type '%s' in %s%s%s; give -e one of: %s",
				 o->sample_type, o->baseline ? o->baseline_title : "",
				 o->baseline ? " and " : "", o->title, avail);
	}
	t->type = 0;
	for (size_t i = 0; i < t->ntypes; i++)
		if (strcmp(t->type_name[i], "samples") != 0) {
			t->type = i;
			break;
		}
	return 0;
}

/* Each location's frames, outermost first, as name ids: frames[off[i]..off[i+1]). */
struct loc_frames {
	uint32_t *frames;
	size_t *off;
};

static int location_frames(struct flame_tree *t, const Profile *m, bool no_inline,
			   struct loc_frames *lf)
{
	struct ids fns = {0}, maps = {0};
	size_t nframes = 0;
	int rc = -ENOMEM;
	for (size_t i = 0; i < m->n_location; i++)
		nframes += m->location[i]->n_line ? m->location[i]->n_line : 1;
	lf->off = calloc(m->n_location + 1, sizeof(*lf->off));
	lf->frames = calloc(nframes ? nframes : 1, sizeof(*lf->frames));
	fns.id = calloc(m->n_function + 1, sizeof(uint64_t));
	maps.id = calloc(m->n_mapping + 1, sizeof(uint64_t));
	if (!lf->off || !lf->frames || !fns.id || !maps.id)
		goto out;
	for (size_t i = 0; i < m->n_function; i++)
		if (ids_add(&fns, i, m->function[i]->id) < 0)
			goto out;
	for (size_t i = 0; i < m->n_mapping; i++)
		if (ids_add(&maps, i, m->mapping[i]->id) < 0)
			goto out;
	char name[1024];
	size_t k = 0;
	for (size_t i = 0; i < m->n_location; i++) {
		const Location *loc = m->location[i];
		long mp = loc->mapping_id ? ids_get(&maps, loc->mapping_id) : -1;
		const char *file = mp >= 0 ? str_at(m, m->mapping[mp]->filename) : "";
		/* As perf's stackcollapse --kernel: the kernel's mapping, not the address, says it. */
		bool kernel = strncmp(file, "[kernel", 7) == 0;
		lf->off[i] = k;
		/* Lines are innermost first; a location without lines is one unknown frame. */
		size_t outer = loc->n_line ? loc->n_line : 1;
		for (size_t l = outer; l-- > (no_inline ? outer - 1 : 0);) {
			long f = loc->n_line ? ids_get(&fns, loc->line[l]->function_id) : -1;
			const Function *fn = f >= 0 ? m->function[f] : NULL;
			const char *s = "[unknown]";
			if (fn && *str_at(m, fn->name))
				s = str_at(m, fn->name);
			else if (fn && *str_at(m, fn->system_name))
				s = str_at(m, fn->system_name);
			snprintf(name, sizeof(name), "%s%s", s, kernel ? "_[k]" : "");
			int64_t id = name_id(t, name);
			if (id < 0)
				goto out;
			lf->frames[k++] = (uint32_t)id;
		}
	}
	lf->off[m->n_location] = k;
	rc = 0;
out:
	ids_free(&fns);
	ids_free(&maps);
	return rc;
}

/* The label keys the samples use, in order of first use. */
static int collect_keys(struct flame_tree *t, const Profile *m)
{
	for (size_t i = 0; i < m->n_sample; i++)
		for (size_t j = 0; j < m->sample[i]->n_label; j++) {
			const char *key = str_at(m, m->sample[i]->label[j]->key);
			size_t k = 0;
			while (k < t->nkeys && strcmp(t->keys[k], key) != 0)
				k++;
			if (k == t->nkeys) {
				if (BASE_GROW(t->keys, t->cap_keys, t->nkeys + 1) < 0)
					return -ENOMEM;
				t->keys[t->nkeys++] = key;
			}
		}
	return 0;
}

/* The sample's label values (a key's first), as name ids + 1 in vals[nkeys]; *comm: its comm. */
static int sample_labels(struct flame_tree *t, const Profile *m, const Sample *s, uint32_t *vals,
			 int64_t *comm)
{
	memset(vals, 0, t->nkeys * sizeof(*vals));
	*comm = -1;
	for (size_t j = 0; j < s->n_label; j++) {
		const Perftools__Profiles__Label *l = s->label[j];
		const char *key = str_at(m, l->key);
		size_t k = 0;
		while (k < t->nkeys && strcmp(t->keys[k], key) != 0)
			k++;
		if (k == t->nkeys || vals[k])
			continue;
		char num[32];
		if (!l->str)
			snprintf(num, sizeof(num), "%" PRId64, l->num);
		int64_t id = name_id(t, l->str ? str_at(m, l->str) : num);
		if (id < 0)
			return -ENOMEM;
		vals[k] = (uint32_t)id + 1;
		if (strcmp(key, "comm") == 0 && l->str)
			*comm = id;
	}
	return 0;
}

/* The root's child for a comm: its spaces become '_', as stackcollapse-perf.pl writes it. */
static int64_t comm_frame(struct flame_tree *t, uint32_t comm)
{
	char name[256];
	snprintf(name, sizeof(name), "%s", t->names[comm]);
	for (char *c = name; *c; c++)
		if (*c == ' ')
			*c = '_';
	int64_t id = name_id(t, name);
	return id < 0 ? id : node_child(t, 0, (uint32_t)id);
}

/* Adds m's samples to the tree, each value to its column (col, from tree_types). */
static int tree_add(struct flame_tree *t, const Profile *m, const long *col,
		    const struct flame_opts *o, const char *title, char *err, size_t errlen)
{
	struct loc_frames lf = {0};
	struct ids locs = {0};
	uint32_t *vals = NULL;
	int rc = -ENOMEM;
	if (location_frames(t, m, o->no_inline, &lf) < 0)
		goto out;
	if (!(vals = calloc(t->nkeys + 1, sizeof(*vals))) ||
	    !(locs.id = calloc(m->n_location + 1, sizeof(uint64_t))))
		goto out;
	for (size_t i = 0; i < m->n_location; i++)
		if (ids_add(&locs, i, m->location[i]->id) < 0)
			goto out;
	for (size_t i = 0; i < m->n_sample; i++) {
		const Sample *s = m->sample[i];
		int64_t node = 0, comm, set;
		if (sample_labels(t, m, s, vals, &comm) < 0 || (set = set_id(t, vals)) < 0)
			goto out;
		if (comm >= 0 && (node = comm_frame(t, (uint32_t)comm)) < 0)
			goto out;
		for (size_t j = s->n_location_id; j-- > 0;) {
			long loc = ids_get(&locs, s->location_id[j]);
			if (loc < 0) {
				rc = base_fail(err, errlen, -EINVAL,
					       "profile %s is malformed: a sample names location %" PRIu64
					       ", which it does not have", title, s->location_id[j]);
				goto out;
			}
			for (size_t f = lf.off[loc]; f < lf.off[loc + 1]; f++)
				if ((node = node_child(t, (uint32_t)node, lf.frames[f])) < 0)
					goto out;
		}
		if (entry_add(t, (uint32_t)node, (uint32_t)set, s->value, s->n_value, col) < 0)
			goto out;
	}
	rc = 0;
out:
	free(vals);
	free(lf.frames);
	free(lf.off);
	ids_free(&locs);
	return rc;
}

int flame_tree_build(struct flame_tree *t, const struct pprof_read *pr, const struct flame_opts *o,
		     char *err, size_t errlen)
{
	const Profile *m = pprof_read_message(pr);
	const Profile *base = o->baseline ? pprof_read_message(o->baseline) : NULL;
	memset(t, 0, sizeof(*t));
	long *col = calloc(m->n_sample_type + 1, sizeof(*col));
	long *base_col = calloc(base ? base->n_sample_type + 1 : 1, sizeof(*base_col));
	int rc = -ENOMEM;
	if (!col || !base_col)
		goto out;
	if ((rc = tree_types(t, pr, base, col, base_col, o, err, errlen)) < 0 ||
	    (rc = pick_type(t, m, o, err, errlen)) < 0)
		goto out;
	rc = -ENOMEM;
	if (name_id(t, "all") < 0 || BASE_GROW(t->nodes, t->cap_nodes, 1) < 0)
		goto out;
	t->nodes[t->nnodes++] = (struct flame_node){ UINT32_MAX, 0 };
	/* Both profiles' keys first: a label set's width is fixed once sets are made. */
	if ((base && collect_keys(t, base) < 0) || collect_keys(t, m) < 0)
		goto out;
	if (base && (rc = tree_add(t, base, base_col, o, o->baseline_title, err, errlen)) < 0)
		goto out;
	rc = tree_add(t, m, col, o, o->title, err, errlen);
out:
	if (rc == -ENOMEM)
		base_fail(err, errlen, rc, "flame graph of %s: out of memory", o->title);
	free(col);
	free(base_col);
	return rc;
}

/* qsort has no context argument: children are sorted as (name, node) pairs. */
struct named {
	const char *name;
	uint32_t node;
};

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

/* Each node's own and total value of one column of the entries. */
static void sum_side(struct flame_tree *t, size_t column, int64_t *self, int64_t *total)
{
	size_t stride = t->nsides * t->ntypes;
	for (size_t e = 0; e < t->nent; e++)
		self[t->ent[e].node] = base_sat_add(self[t->ent[e].node], t->vals[e * stride + column]);
	memcpy(total, self, t->nnodes * sizeof(*total));
	for (size_t i = t->nnodes; i-- > 1;)
		total[t->nodes[i].parent] = base_sat_add(total[t->nodes[i].parent], total[i]);
}

int flame_tree_sort(struct flame_tree *t)
{
	struct named *pairs = calloc(t->nnodes, sizeof(*pairs));
	t->first = calloc(t->nnodes + 1, sizeof(*t->first));
	t->child = calloc(t->nnodes, sizeof(*t->child));
	t->total = calloc(t->nnodes, sizeof(*t->total));
	t->self = calloc(t->nnodes, sizeof(*t->self));
	if (t->nsides == 2) {
		t->base_total = calloc(t->nnodes, sizeof(*t->base_total));
		t->base_self = calloc(t->nnodes, sizeof(*t->base_self));
	}
	if (!pairs || !t->first || !t->child || !t->total || !t->self ||
	    (t->nsides == 2 && (!t->base_total || !t->base_self))) {
		free(pairs);
		return -ENOMEM;
	}
	for (size_t i = 1; i < t->nnodes; i++)
		t->first[t->nodes[i].parent + 1]++;
	for (size_t i = 0; i < t->nnodes; i++)
		t->first[i + 1] += t->first[i];
	/* total counts each parent's slots filled so far, then holds the totals */
	for (size_t i = 1; i < t->nnodes; i++) {
		uint32_t p = t->nodes[i].parent;
		pairs[t->first[p] + (size_t)t->total[p]++] =
			(struct named){ t->names[t->nodes[i].name], (uint32_t)i };
	}
	for (size_t i = 0; i < t->nnodes; i++)
		qsort(&pairs[t->first[i]], t->first[i + 1] - t->first[i], sizeof(*pairs),
		      cmp_named);
	for (size_t i = 0; i + 1 < t->nnodes; i++)
		t->child[i] = pairs[i].node;
	free(pairs);
	sum_side(t, (t->nsides - 1) * t->ntypes + t->type, t->self, t->total);
	if (t->nsides == 2)
		sum_side(t, t->type, t->base_self, t->base_total);
	return 0;
}

void flame_tree_free(struct flame_tree *t)
{
	for (size_t i = 0; i < t->nnames; i++)
		free(t->names[i]);
	free(t->names);
	base_htab_free(&t->name_ix);
	free(t->nodes);
	base_htab_free(&t->node_ix);
	free(t->keys);
	free(t->sets);
	base_htab_free(&t->set_ix);
	free(t->ent);
	free(t->vals);
	base_htab_free(&t->ent_ix);
	free(t->first);
	free(t->child);
	free(t->total);
	free(t->self);
	free(t->base_total);
	free(t->base_self);
	free(t->type_name);
	free(t->type_unit);
}

int flame_render(const struct pprof_read *pr, const struct flame_opts *o, flame_print_fn print,
		 struct base_output *out, char *err, size_t errlen)
{
	struct flame_tree t;
	char *buf = NULL;
	size_t len = 0;
	int rc = flame_tree_build(&t, pr, o, err, errlen);
	if (rc < 0) {
		flame_tree_free(&t);
		return rc;
	}
	/* A differential graph is titled by both profiles: the baseline, then the profile. */
	char title[1024];
	snprintf(title, sizeof(title), "%s%s%s", o->baseline ? o->baseline_title : "",
		 o->baseline ? " \u2192 " : "", o->title);
	FILE *f = open_memstream(&buf, &len);
	rc = f && flame_tree_sort(&t) == 0 ? print(&t, title, f) : -ENOMEM;
	if (f && fclose(f) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0) {
		struct base_bytes b = { buf, len };
		rc = base_output_write(out, base_fill_bytes, &b, err, errlen);
	} else {
		base_fail(err, errlen, rc, "flame graph of %s: out of memory", o->title);
	}
	free(buf);
	flame_tree_free(&t);
	return rc;
}
