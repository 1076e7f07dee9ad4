/*
 * numa report: numa record's profile read back (its samples' labels and its
 * NUMA comments), tallied per data object, per function and per thread, and
 * judged: each verdict names the finding with its numbers and the fix a NUMA
 * expert would suggest (numa.h).
 */
#include "numa.h"
#include "base.h"
#include "numa_internal.h"
#include "profile.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Sampled faults below which an object or a thread is not judged (4 from a thread's stack are noise). */
#define MIN_JUDGE 8
/* Serial first touch: one thread placed this share of the sampled pages ... */
#define SERIAL_TOUCH 0.9
/* ... and this share of the later accesses came from other nodes. */
#define FOREIGN_USE 0.2
/* Interleaved: no node holds more than 1/nodes + this of the pages ... */
#define SPREAD_SLACK 0.2
/* ... and this share of the accesses is remote. */
#define INTERLEAVED_REMOTE 0.3
/* A thread on one node with this share of remote accesses works on remote memory ... */
#define PINNED_REMOTE 0.5
/* ... when that node ran this share of all its faults. */
#define PINNED_ON_NODE 0.8
/* A thread wanders when the nodes other than its main one ran this share of its faults. */
#define WANDER_SHARE 0.1
/* Moved: balancing moved this share of the sampled pages during the run. */
#define MOVED_SHARE 0.25
/* Well placed: at most this share of the accesses is remote. */
#define WELL_PLACED_REMOTE 0.1
/* The text report's objects and functions, most-faulted first, without --all (as numa record's). */
#define REPORT_OBJECTS 10
#define REPORT_FUNCS 15

typedef Perftools__Profiles__Profile Profile;

/* --- reading numa record's profile -------------------------------------------- */

struct numa_rep_file {
	struct pprof_read *pr;
	struct numa_rep_input in;
	struct numa_rep_sample *samples;
	struct numa_rep_object *objects;
	size_t objcap;
	struct numa_rep_thread *threads;
	size_t threadcap;
	char **names; /* perf mem's object names, one per sample (owned) */
};

const struct numa_rep_input *numa_rep_input(const struct numa_rep_file *f)
{
	return &f->in;
}

void numa_rep_file_free(struct numa_rep_file *f)
{
	if (!f)
		return;
	pprof_read_free(f->pr);
	for (size_t i = 0; f->names && i < f->in.nsamples; i++)
		free(f->names[i]);
	free(f->names);
	free(f->samples);
	free(f->objects);
	free(f->threads);
	free(f);
}

/* A comma-separated list of numbers into v[0..max): the characters read, 0 if none. */
static size_t parse_list(const char *s, uint64_t *v, size_t max, char sep)
{
	const char *p = s;
	for (size_t i = 0; i < max; i++) {
		char *end;
		errno = 0;
		unsigned long long x = strtoull(p, &end, 10);
		if (end == p || errno)
			return 0;
		v[i] = x;
		p = end;
		if (*p != sep)
			break;
		p++;
	}
	return (size_t)(p - s);
}

static int read_comment(struct numa_rep_file *f, const char *c, bool *machine)
{
	struct numa_rep_input *in = &f->in;
	int k = 0;
	if (strncmp(c, NUMA_COMMENT_OBJECT " ", sizeof(NUMA_COMMENT_OBJECT)) == 0) {
		struct numa_rep_object o = {0};
		if (sscanf(c,
			   NUMA_COMMENT_OBJECT " pid=%d start=0x%" SCNx64 " end=0x%" SCNx64
					       " asked=%" SCNu64 " absent=%" SCNu64
					       " stride=%" SCNu64 " err=%d pages_by_node=%n",
			   &o.pid, &o.start, &o.end, &o.asked, &o.absent, &o.stride, &o.err,
			   &k) != 7 ||
		    !k)
			return 0;
		c += k;
		c += parse_list(c, o.pages_on, NUMA_MAX_NODES, ',');
		k = 0;
		if (sscanf(c, " moved=%" SCNu64 " moves_to=%n", &o.moved, &k) != 1 || !k)
			return 0;
		c += k;
		c += parse_list(c, o.moves_to, NUMA_MAX_NODES, ',');
		double after, before;
		k = 0;
		if (sscanf(c, " moved_s=%lf-%lf%n", &after, &before, &k) != 2 || !k ||
		    !(after >= 0 && after <= before && before < 1e9))
			return 0;
		c += k;
		o.moved_after_ns = (uint64_t)(after * 1e9);
		o.moved_before_ns = (uint64_t)(before * 1e9);
		if (strncmp(c, " name=", 6) != 0)
			return 0;
		o.name = c + 6;
		if (BASE_GROW(f->objects, f->objcap, in->nobjects + 1) < 0)
			return -ENOMEM;
		f->objects[in->nobjects++] = o;
		return 0;
	}
	if (strncmp(c, NUMA_COMMENT_THREAD " ", sizeof(NUMA_COMMENT_THREAD)) == 0) {
		struct numa_rep_thread t = {0};
		if (sscanf(c, NUMA_COMMENT_THREAD " pid=%d tid=%u node_switches=%" SCNu64, &t.pid,
			   &t.tid, &t.node_switches) != 3)
			return 0;
		if (BASE_GROW(f->threads, f->threadcap, in->nthreads + 1) < 0)
			return -ENOMEM;
		f->threads[in->nthreads++] = t;
		return 0;
	}
	if (strncmp(c, NUMA_COMMENT " ", sizeof(NUMA_COMMENT)) != 0)
		return 0;
	int attached = 0;
	if (sscanf(c,
		   NUMA_COMMENT " nodes=%d balancing=%d moves=%" SCNu64 " objects=%" SCNu64
				" attached=%d distances=%n",
		   &in->nnodes, &in->balancing, &in->moves, &in->objects_recorded, &attached,
		   &k) != 5 ||
	    !k)
		return 0;
	in->attached = attached != 0;
	*machine = true;
	int nn = in->nnodes < NUMA_MAX_NODES ? in->nnodes : NUMA_MAX_NODES;
	c += k;
	for (int i = 0; i < nn; i++) {
		uint64_t row[NUMA_MAX_NODES] = {0};
		size_t n = parse_list(c, row, (size_t)nn, ',');
		for (int j = 0; j < nn; j++)
			in->distance[i][j] = row[j] < 1000 ? (int)row[j] : 0;
		c += n;
		if (*c != ';')
			break;
		c++;
	}
	return 0;
}

static const Perftools__Profiles__Location *location_of(const Profile *m, uint64_t id)
{
	if (id >= 1 && id <= m->n_location && m->location[id - 1]->id == id)
		return m->location[id - 1];
	for (size_t i = 0; i < m->n_location; i++)
		if (m->location[i]->id == id)
			return m->location[i];
	return NULL;
}

static const char *leaf_function(const Profile *m, const Perftools__Profiles__Sample *s)
{
	const Perftools__Profiles__Location *loc =
		s->n_location_id ? location_of(m, s->location_id[0]) : NULL;
	if (!loc || !loc->n_line)
		return NULL;
	/* The function the leaf address is in (its last line), not a function inlined there. */
	uint64_t id = loc->line[loc->n_line - 1]->function_id;
	const Perftools__Profiles__Function *fn =
		id >= 1 && id <= m->n_function && m->function[id - 1]->id == id
			? m->function[id - 1]
			: NULL;
	for (size_t i = 0; !fn && i < m->n_function; i++)
		if (m->function[i]->id == id)
			fn = m->function[i];
	return fn && fn->name > 0 ? m->string_table[fn->name] : NULL;
}

static void read_sample(const Profile *m, const Perftools__Profiles__Sample *s,
			struct numa_rep_sample *o)
{
	*o = (struct numa_rep_sample){.node = -1, .data_node = -1};
	o->count = s->n_value ? (uint64_t)(s->value[0] > 0 ? s->value[0] : 0) : 0;
	o->func = leaf_function(m, s);
	for (size_t j = 0; j < s->n_label; j++) {
		const Perftools__Profiles__Label *l = s->label[j];
		const char *key = m->string_table[l->key];
		const char *str = l->str ? m->string_table[l->str] : NULL;
		if (strcmp(key, "pid") == 0)
			o->pid = (pid_t)l->num;
		else if (strcmp(key, "tid") == 0)
			o->tid = (uint32_t)l->num;
		else if (strcmp(key, "comm") == 0)
			o->comm = str;
		else if (strcmp(key, "node") == 0)
			o->node = l->num >= 0 && l->num < NUMA_MAX_NODES ? (int)l->num : -1;
		else if (strcmp(key, "data_node") == 0)
			o->data_node = l->num >= 0 && l->num < NUMA_MAX_NODES ? (int)l->num : -1;
		else if (strcmp(key, "object") == 0)
			o->object = str;
		else if (strcmp(key, "object_start") == 0)
			o->object_start = (uint64_t)l->num;
		else if (strcmp(key, "touch") == 0)
			o->first = str && strcmp(str, "first") == 0;
		else if (strcmp(key, "access") == 0 && str)
			o->access = strcmp(str, "local") == 0    ? NUMA_ACCESS_LOCAL
				    : strcmp(str, "remote") == 0 ? NUMA_ACCESS_REMOTE
								 : NUMA_ACCESS_UNKNOWN;
	}
}

int numa_rep_read(struct numa_rep_file **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	struct numa_rep_file *f = calloc(1, sizeof(*f));
	if (!f)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	int rc = pprof_read_file(&f->pr, path, 0, err, errlen);
	if (rc < 0) {
		numa_rep_file_free(f);
		return rc;
	}
	const Profile *m = pprof_read_message(f->pr);
	bool machine = false;
	f->in.balancing = -ENOENT;
	for (size_t i = 0; i < m->n_comment && rc == 0; i++)
		rc = read_comment(f, m->string_table[m->comment[i]], &machine);
	if (rc == 0 && m->n_sample && !(f->samples = calloc(m->n_sample, sizeof(*f->samples))))
		rc = -ENOMEM;
	if (rc < 0) {
		numa_rep_file_free(f);
		return base_fail(err, errlen, rc, "out of memory reading %s", path);
	}
	size_t with_object = 0;
	for (size_t i = 0; i < m->n_sample; i++) {
		struct numa_rep_sample *s = &f->samples[f->in.nsamples];
		read_sample(m, m->sample[i], s);
		if (s->object) {
			with_object++;
			f->in.nsamples++;
		}
	}
	if (!machine || (m->n_sample && !with_object)) {
		/* The command to suggest must not overwrite the user's file: a name beside it. */
		size_t stem = strlen(path);
		static const char *const ext[] = {".pb.gz", ".gz", ".pb"};
		for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
			size_t n = strlen(ext[i]);
			if (stem > n && strcmp(path + stem - n, ext[i]) == 0) {
				stem -= n;
				break;
			}
		}
		numa_rep_file_free(f);
		return base_fail(err, errlen, -EINVAL,
				 "%s is not a profile of pmuprof numa record (%s): record one with "
				 "'pmuprof numa record -o %.*s.numa.pb.gz -- CMD' and run 'pmuprof "
				 "numa report %.*s.numa.pb.gz'",
				 path,
				 !machine ? "it has no 'numa:' comment with the machine's nodes"
					  : "no sample has an object label",
				 (int)stem, path, (int)stem, path);
	}
	f->in.samples = f->samples;
	f->in.objects = f->objects;
	f->in.threads = f->threads;
	*out = f;
	return 0;
}

int numa_rep_from_mem(struct numa_rep_file **out, const struct c2c_sample *s, size_t n, int nnodes,
		      char *err, size_t errlen)
{
	*out = NULL;
	struct numa_rep_file *f = calloc(1, sizeof(*f));
	if (!f || !(f->samples = calloc(n + 1, sizeof(*f->samples))) ||
	    !(f->names = calloc(n + 1, sizeof(*f->names)))) {
		numa_rep_file_free(f);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	f->in = (struct numa_rep_input){
		.nnodes = nnodes > 0 ? nnodes : 1, .perf_mem = true, .balancing = -ENOENT};
	for (size_t i = 0; i < n; i++) {
		const char *sym = s[i].data_sym && *s[i].data_sym ? s[i].data_sym : "[unknown]";
		const char *off = strrchr(sym, '+'); /* "grid+0x40": the object is grid */
		size_t len = off && off > sym && strncmp(off, "+0x", 3) == 0 ? (size_t)(off - sym)
									     : strlen(sym);
		if (!(f->names[i] = strndup(sym, len))) {
			numa_rep_file_free(f);
			return base_fail(err, errlen, -ENOMEM, "out of memory");
		}
		f->in.nsamples++;
		f->samples[i] = (struct numa_rep_sample){
			.pid = (pid_t)s[i].pid,
			.tid = s[i].tid,
			.node = s[i].node >= 0 && s[i].node < NUMA_MAX_NODES ? s[i].node : -1,
			.data_node = -1,
			.object = f->names[i],
			.func = s[i].func,
			.access = numa_access_of_data_src(s[i].data_src),
			.count = 1,
		};
	}
	f->in.samples = f->samples;
	*out = f;
	return 0;
}

/* --- tallies ------------------------------------------------------------------ */

struct r_toucher {
	pid_t pid;
	uint32_t tid;
	const char *comm;
	int node;
	const char *func;
	uint64_t pages;
};

struct r_object {
	pid_t pid;
	uint64_t start;
	const char *name;
	const struct numa_rep_object *place; /* NULL: not queried */
	uint64_t pages, faults;              /* first touches (sampled pages), all sampled faults */
	uint64_t placed[NUMA_MAX_NODES]; /* first touches by the node the page got then */
	struct r_toucher *touchers;          /* by pages, descending */
	size_t ntouchers, touchcap;
	uint64_t from[NUMA_MAX_NODES]; /* accesses after the first touch, by the CPU's node */
	uint64_t later, local, remote; /* the same; local/remote where the page's node is known */
};

struct r_func {
	const char *func;
	uint64_t first, first_on[NUMA_MAX_NODES]; /* pages first touched, by the CPU's node */
	uint64_t later, local, remote;
};

struct r_thread {
	pid_t pid;
	uint32_t tid;
	const char *comm;
	uint64_t faults;
	uint64_t on[NUMA_MAX_NODES]; /* faults by the CPU's node (where it ran) */
	uint64_t to[NUMA_MAX_NODES]; /* faults by the page's node at the end */
	uint64_t local, remote;
	uint64_t later, later_on[NUMA_MAX_NODES]; /* faults after each page's first touch */
	/*
	 * Where it ran, judged on its faults after the first touch when it has
	 * MIN_JUDGE of them (a thread that pins itself first-touches its stack
	 * and TLS where it was created), else on all its faults.
	 */
	const uint64_t *ran_on;
	uint64_t ran;
	int main_node; /* the node most of those faults came from, -1 none */
	uint64_t node_switches; /* numa record's count of its moves between nodes */
	bool wanders;
};

struct numa_report {
	const struct numa_rep_input *in;
	int nn; /* node columns: the machine's nodes, or more if a label names a higher one */
	uint64_t faults, pages;
	struct r_object *objects;
	size_t nobjects, objcap;
	struct r_func *funcs;
	size_t nfuncs, funccap;
	struct r_thread *threads;
	size_t nthreads, threadcap;
	struct numa_verdict *verdicts;
	size_t nverdicts, verdictcap;
	struct base_htab oidx, fidx, tidx;
};

static const char *name_or(const char *s, const char *unknown)
{
	return s ? s : unknown;
}

static bool in_object(const struct numa_rep_sample *s, const struct r_object *o)
{
	return o->pid == s->pid && o->start == s->object_start && strcmp(o->name, s->object) == 0;
}

static bool object_eq(const void *ctx, uint32_t idx, const void *key)
{
	return in_object(key, &((const struct numa_report *)ctx)->objects[idx]);
}

static bool func_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct r_func *f = &((const struct numa_report *)ctx)->funcs[idx];
	const struct numa_rep_sample *s = key;
	return strcmp(f->func, name_or(s->func, "[unknown]")) == 0;
}

static bool thread_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct r_thread *t = &((const struct numa_report *)ctx)->threads[idx];
	const struct numa_rep_sample *s = key;
	return t->pid == s->pid && t->tid == s->tid;
}

/* The entry of h equal to sample s (hash), or a new zeroed one of arr; -ENOMEM. */
static int64_t entry(struct numa_report *r, struct base_htab *h, base_htab_eq_fn eq, uint64_t hash,
		     const struct numa_rep_sample *s, void **arr, size_t *n, size_t *cap,
		     size_t size)
{
	bool added;
	return numa_index_entry(h, hash, eq, r, s, arr, n, cap, size, &added);
}

static uint64_t str_hash(const char *s)
{
	return base_htab_hash_bytes(s, strlen(s));
}

static int add_toucher(struct r_object *o, const struct numa_rep_sample *s)
{
	for (size_t i = 0; i < o->ntouchers; i++) {
		struct r_toucher *t = &o->touchers[i];
		if (t->pid == s->pid && t->tid == s->tid && t->node == s->node &&
		    strcmp(name_or(t->func, ""), name_or(s->func, "")) == 0) {
			t->pages += s->count;
			return 0;
		}
	}
	if (BASE_GROW(o->touchers, o->touchcap, o->ntouchers + 1) < 0)
		return -ENOMEM;
	o->touchers[o->ntouchers++] =
		(struct r_toucher){s->pid, s->tid, s->comm, s->node, s->func, s->count};
	return 0;
}

static int tally_sample(struct numa_report *r, const struct numa_rep_sample *s)
{
	uint64_t h = base_htab_mix(base_htab_mix(str_hash(s->object), (uint64_t)s->pid),
				   s->object_start);
	int64_t oi = entry(r, &r->oidx, object_eq, h, s, (void **)&r->objects, &r->nobjects,
			   &r->objcap, sizeof(*r->objects));
	int64_t fi =
		oi < 0 ? oi
		       : entry(r, &r->fidx, func_eq, str_hash(name_or(s->func, "[unknown]")), s,
			       (void **)&r->funcs, &r->nfuncs, &r->funccap, sizeof(*r->funcs));
	int64_t ti = fi < 0 ? fi
			    : entry(r, &r->tidx, thread_eq, base_htab_mix((uint64_t)s->pid, s->tid),
				    s, (void **)&r->threads, &r->nthreads, &r->threadcap,
				    sizeof(*r->threads));
	if (ti < 0)
		return (int)ti;
	struct r_object *o = &r->objects[oi];
	struct r_func *f = &r->funcs[fi];
	struct r_thread *t = &r->threads[ti];
	o->pid = s->pid;
	o->start = s->object_start;
	o->name = s->object;
	f->func = name_or(s->func, "[unknown]");
	t->pid = s->pid;
	t->tid = s->tid;
	t->comm = t->comm ? t->comm : s->comm;
	bool known = s->access != NUMA_ACCESS_UNKNOWN;
	bool local = s->access == NUMA_ACCESS_LOCAL;
	r->faults += s->count;
	o->faults += s->count;
	t->faults += s->count;
	if (s->node >= 0)
		t->on[s->node] += s->count;
	if (s->data_node >= 0)
		t->to[s->data_node] += s->count;
	if (known)
		*(local ? &t->local : &t->remote) += s->count;
	if (!s->first) {
		t->later += s->count;
		if (s->node >= 0)
			t->later_on[s->node] += s->count;
	}
	if (s->first) {
		r->pages += s->count;
		o->pages += s->count;
		if (s->data_node >= 0 && s->data_node < NUMA_MAX_NODES)
			o->placed[s->data_node] += s->count;
		f->first += s->count;
		if (s->node >= 0)
			f->first_on[s->node] += s->count;
		return add_toucher(o, s);
	}
	o->later += s->count;
	f->later += s->count;
	if (s->node >= 0)
		o->from[s->node] += s->count;
	if (known) {
		*(local ? &o->local : &o->remote) += s->count;
		*(local ? &f->local : &f->remote) += s->count;
	}
	return 0;
}

static int by_pages(const void *a, const void *b)
{
	const struct r_toucher *x = a, *y = b;
	return (x->pages < y->pages) - (x->pages > y->pages);
}

static int by_faults(const void *a, const void *b)
{
	const struct r_object *x = a, *y = b;
	return (x->faults < y->faults) - (x->faults > y->faults);
}

static int func_by_faults(const void *a, const void *b)
{
	const struct r_func *x = a, *y = b;
	uint64_t fx = x->first + x->later, fy = y->first + y->later;
	return (fx < fy) - (fx > fy);
}

/* --- verdicts ----------------------------------------------------------------- */

static struct numa_verdict *verdict(struct numa_report *r, enum numa_verdict_kind kind,
				    const char *object, pid_t pid, uint32_t tid, const char *fmt,
				    ...) __attribute__((format(printf, 6, 7)));

static struct numa_verdict *verdict(struct numa_report *r, enum numa_verdict_kind kind,
				    const char *object, pid_t pid, uint32_t tid, const char *fmt,
				    ...)
{
	if (BASE_GROW(r->verdicts, r->verdictcap, r->nverdicts + 1) < 0)
		return NULL;
	struct numa_verdict *v = &r->verdicts[r->nverdicts++];
	*v = (struct numa_verdict){.kind = kind, .object = object, .pid = pid, .tid = tid};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
	return v;
}

static const struct r_thread *thread_find(const struct numa_report *r, pid_t pid, uint32_t tid)
{
	for (size_t i = 0; i < r->nthreads; i++)
		if (r->threads[i].pid == pid && r->threads[i].tid == tid)
			return &r->threads[i];
	return NULL;
}

/* The function with the most later accesses to o from nodes other than `node` (-1: any). */
static const char *top_user(const struct numa_report *r, const struct r_object *o, int node)
{
	const char *best = NULL;
	uint64_t most = 0;
	for (size_t i = 0; i < r->nfuncs; i++) {
		uint64_t n = 0;
		for (size_t j = 0; j < r->in->nsamples; j++) {
			const struct numa_rep_sample *s = &r->in->samples[j];
			if (!s->first && s->node != node && in_object(s, o) &&
			    strcmp(name_or(s->func, "[unknown]"), r->funcs[i].func) == 0)
				n += s->count;
		}
		if (n > most)
			most = n, best = r->funcs[i].func;
	}
	return best;
}

/* "node 1 (42.1%), node 2 (3.0%)": o's later accesses from nodes other than `node`. */
static uint64_t foreign_nodes(const struct numa_report *r, const struct r_object *o, int node,
			      char *buf, size_t len)
{
	uint64_t n = 0;
	size_t k = 0;
	buf[0] = '\0';
	for (int i = 0; i < r->nn; i++) {
		if (i == node || !o->from[i])
			continue;
		n += o->from[i];
		if (k < len)
			k += (size_t)snprintf(buf + k, len - k, "%snode %d (%.1f%%)", k ? ", " : "",
					      i, numa_pct(o->from[i], o->later));
	}
	return n;
}

/* Nodes holding o's pages: how many, and the largest share. */
static int spread(const struct numa_report *r, const struct r_object *o, double *max_share,
		  char *buf, size_t len)
{
	/*
	 * Where its pages went at their first touch, when the samples say: an
	 * interleaving policy spreads them then, balancing only later. Else at
	 * the end.
	 */
	uint64_t placed = 0;
	for (int i = 0; i < r->nn; i++)
		placed += o->placed[i];
	const uint64_t *on = placed >= MIN_JUDGE ? o->placed : o->place ? o->place->pages_on : NULL;
	uint64_t present = 0, most = 0;
	int nodes = 0;
	for (int i = 0; i < r->nn && on; i++) {
		present += on[i];
		most = on[i] > most ? on[i] : most;
		nodes += on[i] > 0;
	}
	size_t k = 0;
	buf[0] = '\0';
	for (int i = 0; i < r->nn && on && k < len; i++)
		if (on[i])
			k += (size_t)snprintf(buf + k, len - k, "%snode%d %.1f%%", k ? ", " : "", i,
					      numa_pct(on[i], present));
	*max_share = present ? (double)most / (double)present : 1;
	return nodes;
}

/* Distinct nodes of the threads that accessed o after its first touch and ran on one node. */
static int pinned_users(const struct numa_report *r, const struct r_object *o, char *buf,
			size_t len)
{
	bool on[NUMA_MAX_NODES] = {false};
	for (size_t j = 0; j < r->in->nsamples; j++) {
		const struct numa_rep_sample *s = &r->in->samples[j];
		if (s->first || !in_object(s, o))
			continue;
		const struct r_thread *t = thread_find(r, s->pid, s->tid);
		if (t && !t->wanders && t->main_node >= 0)
			on[t->main_node] = true;
	}
	int n = 0;
	size_t k = 0;
	buf[0] = '\0';
	for (int i = 0; i < r->nn; i++)
		if (on[i]) {
			n++;
			if (k < len)
				k += (size_t)snprintf(buf + k, len - k, "%s%d", k ? ", " : "", i);
		}
	return n;
}

/* Balancing moved much of o during the run: 1 when that is its verdict, 0 not, -ENOMEM. */
static int judge_moved(struct numa_report *r, const struct r_object *o, const struct r_toucher *top,
		       uint64_t known)
{
	if (!o->place || o->place->moved < MIN_JUDGE ||
	    (double)o->place->moved < MOVED_SHARE * (double)o->pages)
		return 0;
	int to = 0;
	for (int i = 1; i < r->nn; i++)
		to = o->place->moves_to[i] > o->place->moves_to[to] ? i : to;
	char first[256] = "";
	if (top)
		snprintf(first, sizeof(first),
			 "; %.1f%% of its pages were first-touched by tid %u (%s) on node %d in %s",
			 numa_pct(top->pages, o->pages), top->tid, name_or(top->comm, "?"),
			 top->node, name_or(top->func, "[unknown]"));
	return verdict(r, NUMA_V_MOVED, o->name, o->pid, 0,
		       "`%s`: automatic NUMA balancing moved %.1f%% of its sampled pages (%" PRIu64
		       " of %" PRIu64 "), mostly to node %d, between %.2f s and %.2f s after the "
		       "start%s; %.1f%% of its %" PRIu64
		       " accesses after the first touch were remote -> place it on node %d from "
		       "the start: first-touch it from the thread that uses it there, or bind it "
		       "(numactl --membind=%d, mbind), so the run neither works on remote memory "
		       "nor pays for the migrations",
		       o->name, numa_pct(o->place->moved, o->pages), o->place->moved, o->pages, to,
		       (double)o->place->moved_after_ns / 1e9,
		       (double)o->place->moved_before_ns / 1e9, first, numa_pct(o->remote, known),
		       known, to, to)
		       ? 1
		       : -ENOMEM;
}

static int judge_object(struct numa_report *r, const struct r_object *o)
{
	char size[32] = "", sz[48] = "", where[256], users[256], from[256];
	if (o->place) {
		numa_human_size(o->place->end - o->place->start, size, sizeof(size));
		snprintf(sz, sizeof(sz), " of its %s", size);
	}
	if (o->later < MIN_JUDGE)
		return 0;
	uint64_t known = o->local + o->remote;
	const struct r_toucher *top = o->ntouchers ? &o->touchers[0] : NULL;
	double max_share;
	int nodes = spread(r, o, &max_share, where, sizeof(where));
	int pinned = pinned_users(r, o, users, sizeof(users));
	if (nodes >= 2 && max_share <= 1.0 / r->nn + SPREAD_SLACK && pinned >= 2 &&
	    known >= MIN_JUDGE && (double)o->remote / (double)known >= INTERLEAVED_REMOTE)
		return verdict(r, NUMA_V_INTERLEAVED_PARTITIONED, o->name, o->pid, 0,
			       "`%s`: its pages are spread over the nodes (%s) while threads that "
			       "each stay on one node (nodes %s) use it: %.1f%% of its %" PRIu64
			       " accesses after the first touch are remote -> first-touch each "
			       "thread's part from that thread (or mbind each part to its "
			       "thread's node) instead of interleaving it",
			       o->name, where, users, numa_pct(o->remote, known), known)
			       ? 0
			       : -ENOMEM;
	/* Attached to a running process: its first touches came before, unseen. */
	if (!r->in->attached && top && top->node >= 0 &&
	    (double)top->pages >= SERIAL_TOUCH * (double)o->pages) {
		uint64_t foreign = foreign_nodes(r, o, top->node, from, sizeof(from));
		int from_nodes = 0;
		for (int i = 0; i < r->nn; i++)
			from_nodes += o->from[i] > 0;
		/* Used from one other node only: the thread's verdict (remote memory) says it. */
		if (from_nodes >= 2 && (double)foreign >= FOREIGN_USE * (double)o->later) {
			const char *user = top_user(r, o, top->node);
			return verdict(r, NUMA_V_SERIAL_FIRST_TOUCH, o->name, o->pid, 0,
				       "`%s`: %.1f%%%s first-touched by tid %u (%s) on node %d in "
				       "%s (serial init); %.1f%% of its %" PRIu64
				       " accesses after the first touch come from %s -> touch it "
				       "in "
				       "parallel with the same partitioning as `%s`, or interleave "
				       "it (numactl --interleave=all)",
				       o->name, numa_pct(top->pages, o->pages), sz, top->tid,
				       name_or(top->comm, "?"), top->node,
				       name_or(top->func, "[unknown]"), numa_pct(foreign, o->later),
				       o->later, from, name_or(user, "the threads that use it"))
				       ? 0
				       : -ENOMEM;
		}
	}
	/* Balancing fixing a serial first touch leaves it to fix; otherwise the moves are the story. */
	int moved = judge_moved(r, o, top, known);
	if (moved != 0)
		return moved < 0 ? moved : 0;
	if (known >= MIN_JUDGE && (double)o->remote <= WELL_PLACED_REMOTE * (double)known)
		return verdict(r, NUMA_V_WELL_PLACED, o->name, o->pid, 0,
			       "`%s`: %.1f%% of its %" PRIu64 " accesses after the first touch "
			       "are local (pages: %s) -> well placed, nothing to change",
			       o->name, numa_pct(o->local, known), known,
			       where[0] ? where : "node unknown")
			       ? 0
			       : -ENOMEM;
	return 0;
}

/* The object with the most remote faults of thread t, and the node most of them are on. */
static const char *remote_object(const struct numa_report *r, const struct r_thread *t)
{
	const char *best = NULL;
	uint64_t most = 0;
	for (size_t i = 0; i < r->nobjects; i++) {
		uint64_t n = 0;
		for (size_t j = 0; j < r->in->nsamples; j++) {
			const struct numa_rep_sample *s = &r->in->samples[j];
			if (s->pid == t->pid && s->tid == t->tid &&
			    s->access == NUMA_ACCESS_REMOTE && in_object(s, &r->objects[i]))
				n += s->count;
		}
		if (n > most)
			most = n, best = r->objects[i].name;
	}
	return best;
}

static int judge_thread(struct numa_report *r, const struct r_thread *t)
{
	if (t->faults < MIN_JUDGE)
		return 0;
	char buf[256];
	if (t->wanders) {
		size_t k = 0;
		for (int i = 0; i < r->nn && k < sizeof(buf); i++)
			if (t->ran_on[i])
				k += (size_t)snprintf(buf + k, sizeof(buf) - k,
						      "%snode %d (%.1f%%)", k ? ", " : "", i,
						      numa_pct(t->ran_on[i], t->ran));
		char moves[64] = "";
		if (t->node_switches)
			snprintf(moves, sizeof(moves), ", moving between them %" PRIu64 " times",
				 t->node_switches);
		return verdict(r, NUMA_V_WANDERING, NULL, t->pid, t->tid,
			       "tid %u (%s) ran on CPUs of several nodes: %s of its %" PRIu64
			       " sampled faults%s%s -> pin it (numactl --cpunodebind=%d, or "
			       "taskset "
			       "-c with that node's CPUs) so it stays with its memory",
			       t->tid, name_or(t->comm, "?"), buf, t->ran,
			       t->ran_on == t->later_on ? " after the first touch" : "", moves,
			       t->main_node)
			       ? 0
			       : -ENOMEM;
	}
	uint64_t known = t->local + t->remote;
	/* "Runs only on node N": most of all its faults too, not only those after a first touch. */
	if (t->main_node < 0 || known < MIN_JUDGE ||
	    (double)t->remote < PINNED_REMOTE * (double)known ||
	    (double)t->on[t->main_node] < PINNED_ON_NODE * (double)t->faults)
		return 0;
	int mem = -1; /* the node most of its remote pages are on; -1: not known (perf mem) */
	for (int i = 0; i < r->nn; i++)
		if (i != t->main_node && t->to[i] && (mem < 0 || t->to[i] > t->to[mem]))
			mem = i;
	const char *obj = remote_object(r, t);
	for (size_t i = 0; obj && i < r->nverdicts; i++)
		if (r->verdicts[i].kind != NUMA_V_WELL_PLACED && r->verdicts[i].object &&
		    r->verdicts[i].pid == t->pid && strcmp(r->verdicts[i].object, obj) == 0)
			return 0; /* its object's verdict (serial first touch, interleaved) is the fix */
	char where[96], thread_to[64];
	size_t k = 0;
	where[0] = '\0';
	if (mem >= 0 || obj)
		k += (size_t)snprintf(where + k, sizeof(where) - k, " (mostly");
	if (mem >= 0)
		k += (size_t)snprintf(where + k, sizeof(where) - k, " node %d", mem);
	if (obj && k < sizeof(where))
		k += (size_t)snprintf(where + k, sizeof(where) - k, "%s`%s`", mem >= 0 ? ", " : " ",
				      obj);
	if (k && k < sizeof(where))
		snprintf(where + k, sizeof(where) - k, ")");
	if (mem >= 0)
		snprintf(thread_to, sizeof(thread_to), "node %d (numactl --cpunodebind=%d)", mem,
			 mem);
	else
		snprintf(thread_to, sizeof(thread_to), "its memory's node (numactl --cpunodebind)");
	return verdict(r, NUMA_V_REMOTE_PINNED, obj, t->pid, t->tid,
		       "tid %u (%s) runs only on node %d, yet %.1f%% of its %" PRIu64
		       " sampled %s are remote%s -> move the thread to %s or the memory to node %d "
		       "(numactl --membind=%d, migrate_pages, mbind)",
		       t->tid, name_or(t->comm, "?"), t->main_node, numa_pct(t->remote, known),
		       known, r->in->perf_mem ? "accesses" : "faults", where, thread_to,
		       t->main_node, t->main_node)
		       ? 0
		       : -ENOMEM;
}

static int judge(struct numa_report *r)
{
	if (r->in->nnodes <= 1)
		return verdict(r, NUMA_V_ONE_NODE, NULL, 0, 0,
			       "the machine has one node, so every access is local -> nothing to "
			       "tune; record on a machine with 2 nodes or more to see placement")
			       ? 0
			       : -ENOMEM;
	size_t judged = 0;
	for (size_t i = 0; i < r->nobjects; i++) {
		judged += r->objects[i].later >= MIN_JUDGE;
		int rc = judge_object(r, &r->objects[i]);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < r->nthreads; i++) {
		int rc = judge_thread(r, &r->threads[i]);
		if (rc < 0)
			return rc;
	}
	if (judged == 0 &&
	    !verdict(r, NUMA_V_TOO_FEW, NULL, 0, 0,
		     "no object had %d sampled %s: too few accesses to judge placement%s",
		     MIN_JUDGE, r->in->perf_mem ? "accesses" : "faults after its first touch",
		     r->in->perf_mem ? " -> record longer, or with a lower period (perf mem "
				       "record -c)"
		     : r->in->balancing == 0
			     ? " -> automatic NUMA balancing was off: its hinting faults are the "
			       "accesses after the first touch (echo 1 > "
			       "/proc/sys/kernel/numa_balancing for the run)"
			     : " -> record longer, or sample more faults (-c 1)"))
		return -ENOMEM;
	return 0;
}

int numa_report_new(struct numa_report **out, const struct numa_rep_input *in, char *err,
		    size_t errlen)
{
	*out = NULL;
	struct numa_report *r = calloc(1, sizeof(*r));
	if (!r)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	r->in = in;
	r->nn = in->nnodes > 0 ? in->nnodes : 1;
	int rc = 0;
	for (size_t i = 0; i < in->nsamples && rc == 0; i++) {
		const struct numa_rep_sample *s = &in->samples[i];
		r->nn = s->node >= r->nn ? s->node + 1 : r->nn;
		r->nn = s->data_node >= r->nn ? s->data_node + 1 : r->nn;
		rc = tally_sample(r, s);
	}
	r->nn = r->nn < NUMA_MAX_NODES ? r->nn : NUMA_MAX_NODES;
	for (size_t i = 0; i < r->nobjects; i++) {
		struct r_object *o = &r->objects[i];
		for (size_t j = 0; j < in->nobjects && !o->place; j++)
			if (in->objects[j].pid == o->pid && in->objects[j].start == o->start &&
			    strcmp(in->objects[j].name, o->name) == 0)
				o->place = &in->objects[j];
		if (o->ntouchers) /* qsort's base may not be NULL, even for no element */
			qsort(o->touchers, o->ntouchers, sizeof(*o->touchers), by_pages);
	}
	for (size_t i = 0; i < r->nthreads; i++) {
		struct r_thread *t = &r->threads[i];
		t->ran_on = t->later >= MIN_JUDGE ? t->later_on : t->on;
		t->main_node = -1;
		for (int n = 0; n < r->nn; n++) {
			t->ran += t->ran_on[n];
			if (t->ran_on[n] &&
			    (t->main_node < 0 || t->ran_on[n] > t->ran_on[t->main_node]))
				t->main_node = n;
		}
		/* numa record counts moves: one (pinning itself after it started) is no wandering. */
		for (size_t j = 0; j < in->nthreads; j++)
			if (in->threads[j].pid == t->pid && in->threads[j].tid == t->tid)
				t->node_switches = in->threads[j].node_switches;
		t->wanders = r->in->nnodes > 1 && t->main_node >= 0 &&
			     (double)(t->ran - t->ran_on[t->main_node]) >=
				     WANDER_SHARE * (double)t->ran &&
			     (in->perf_mem || t->node_switches >= NUMA_WANDER_SWITCHES);
	}
	if (r->nobjects) {
		qsort(r->objects, r->nobjects, sizeof(*r->objects), by_faults);
		qsort(r->funcs, r->nfuncs, sizeof(*r->funcs), func_by_faults);
	}
	if (rc == 0)
		rc = judge(r);
	if (rc < 0) {
		numa_report_free(r);
		return base_fail(err, errlen, rc, "numa report: out of memory");
	}
	*out = r;
	return 0;
}

void numa_report_free(struct numa_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nobjects; i++)
		free(r->objects[i].touchers);
	free(r->objects);
	free(r->funcs);
	free(r->threads);
	free(r->verdicts);
	base_htab_free(&r->oidx);
	base_htab_free(&r->fidx);
	base_htab_free(&r->tidx);
	free(r);
}

const struct numa_verdict *numa_report_verdicts(const struct numa_report *r, size_t *n)
{
	*n = r->nverdicts;
	return r->verdicts;
}

const char *numa_verdict_name(enum numa_verdict_kind k)
{
	static const char *const names[] = {
		[NUMA_V_ONE_NODE] = "one_node",
		[NUMA_V_SERIAL_FIRST_TOUCH] = "serial_first_touch",
		[NUMA_V_INTERLEAVED_PARTITIONED] = "interleaved_partitioned",
		[NUMA_V_REMOTE_PINNED] = "remote_memory",
		[NUMA_V_WANDERING] = "wandering_thread",
		[NUMA_V_MOVED] = "moved_by_balancing",
		[NUMA_V_WELL_PLACED] = "well_placed",
		[NUMA_V_TOO_FEW] = "too_few_accesses",
	};
	return (size_t)k < sizeof(names) / sizeof(*names) ? names[k] : "unknown";
}

/* --- text --------------------------------------------------------------------- */

static void print_by_node(FILE *out, const struct numa_report *r, const uint64_t *v, uint64_t whole,
			  bool zeros)
{
	numa_print_by_node(out, v, r->nn, whole, zeros);
}

const char *numa_never_asked(const char *name)
{
	if (strcmp(name, "[kernel]") == 0)
		return "kernel memory, no process's pages";
	if (strcmp(name, "[unknown]") == 0)
		return "an address in no mapping numa record knew of";
	return NULL;
}

const char *numa_unanswered(int err)
{
	return err == ESRCH    ? "the process had ended"
	       : err == EINVAL ? "the process had exited, its memory gone"
	       : err           ? strerror(err)
			       : "the process ended before the query";
}

static void print_object(const struct numa_report *r, const struct r_object *o, FILE *out)
{
	char size[32], at[24];
	const char *never = numa_never_asked(o->name);
	fprintf(out, "%s (pid %d", o->name, (int)o->pid);
	/* Where it is, as numa record's summary says it; an anonymous mapping's name has it. */
	snprintf(at, sizeof(at), "0x%" PRIx64, o->start);
	if (!never && o->start && !strstr(o->name, at)) {
		fprintf(out, ", ");
		if (o->place) {
			numa_human_size(o->place->end - o->place->start, size, sizeof(size));
			fprintf(out, "%s ", size);
		}
		fprintf(out, "at %s", at);
	}
	if (r->in->perf_mem) {
		fprintf(out, "): %" PRIu64 " accesses sampled\n", o->faults);
		fprintf(out, "  accesses from");
		print_by_node(out, r, o->from, o->later, false);
		fprintf(out, "; local %" PRIu64 " (%.1f%%), remote %" PRIu64 " (%.1f%%)\n",
			o->local, numa_pct(o->local, o->local + o->remote), o->remote,
			numa_pct(o->remote, o->local + o->remote));
		return;
	}
	fprintf(out, "): %" PRIu64 " pages sampled, %" PRIu64 " faults sampled\n", o->pages,
		o->faults);
	uint64_t present = 0;
	for (int n = 0; o->place && n < NUMA_MAX_NODES; n++)
		present += o->place->pages_on[n];
	/* As numa record's summary says it. */
	if (never) {
		fprintf(out, "  pages by node: not asked (%s)\n", never);
	} else if (o->place && o->place->asked && !present) {
		fprintf(out,
			"  pages by node at the end: none present of %" PRIu64
			" asked (freed or unmapped)\n",
			o->place->asked);
	} else if (o->place && o->place->asked) {
		fprintf(out, "  pages by node at the end:");
		print_by_node(out, r, o->place->pages_on, present, false);
		fprintf(out, " of %" PRIu64 " present", present);
		if (o->place->stride > 1)
			fprintf(out, " (every %" PRIu64 "%s page asked)", o->place->stride,
				numa_ordinal(o->place->stride));
		fprintf(out, "\n");
	} else if (!o->place && r->in->objects_recorded > r->in->nobjects) {
		fprintf(out,
			"  pages by node at the end: not in the profile (it keeps the %d "
			"most-faulted objects'; numa record's summary printed the most-faulted)\n",
			NUMA_COMMENT_OBJECTS);
	} else {
		fprintf(out, "  pages by node at the end: unknown (%s)\n",
			numa_unanswered(o->place ? o->place->err : 0));
	}
	if (o->place && o->place->moved) {
		fprintf(out,
			"  moved: %" PRIu64 " sampled pages changed node after their first touch,",
			o->place->moved);
		uint64_t moves = 0;
		for (int n = 0; n < NUMA_MAX_NODES; n++)
			moves += o->place->moves_to[n];
		numa_print_moves(out, o->place->moves_to, r->nn, moves, o->place->moved_after_ns,
				 o->place->moved_before_ns);
	}
	const char *first = r->in->attached ? "first fault seen" : "first touch";
	for (size_t i = 0; i < o->ntouchers && i < 3; i++) {
		const struct r_toucher *t = &o->touchers[i];
		fprintf(out, "  %s: %.1f%% of pages by tid %u (%s) on node %d in %s\n", first,
			numa_pct(t->pages, o->pages), t->tid, name_or(t->comm, "?"), t->node,
			name_or(t->func, "[unknown]"));
	}
	if (o->ntouchers > 3)
		fprintf(out, "  %s: %zu more thread/node/function combinations\n", first,
			o->ntouchers - 3);
	if (!o->later) {
		fprintf(out, "  accesses after the first touch: none sampled\n");
		return;
	}
	fprintf(out, "  accesses after the first touch: %" PRIu64 " from", o->later);
	print_by_node(out, r, o->from, o->later, false);
	fprintf(out, "; local %" PRIu64 " (%.1f%%), remote %" PRIu64 " (%.1f%%)\n", o->local,
		numa_pct(o->local, o->local + o->remote), o->remote,
		numa_pct(o->remote, o->local + o->remote));
}

/* Leftover rows of a list cut at `shown`: one line says how many and where they are. */
static void print_more(FILE *out, size_t n, size_t shown, const char *what)
{
	if (n > shown)
		fprintf(out, "  (%zu more %s: --all prints them, --json has them all)\n", n - shown,
			what);
}

void numa_report_print(const struct numa_report *r, FILE *out, bool all)
{
	size_t nobj = all || r->nobjects < REPORT_OBJECTS ? r->nobjects : REPORT_OBJECTS;
	size_t nfunc = all || r->nfuncs < REPORT_FUNCS ? r->nfuncs : REPORT_FUNCS;
	const struct numa_rep_input *in = r->in;
	if (in->nnodes <= 1) {
		fprintf(out, "one NUMA node: no NUMA effects here (every access is local)\n");
	} else {
		fprintf(out, "%d NUMA nodes (distances:", in->nnodes);
		bool known = in->distance[0][0] != 0;
		for (int i = 0; i < r->nn && known; i++) {
			fprintf(out, "%s node%d", i ? ";" : "", i);
			for (int j = 0; j < r->nn; j++)
				fprintf(out, " %d", in->distance[i][j]);
		}
		if (!known)
			fprintf(out, " unknown");
		fprintf(out, "); automatic NUMA balancing %s\n",
			in->balancing > 0 ? "on (accesses after a first touch: its hinting faults)"
			: in->balancing == 0 ? "off (few accesses after a first touch)"
					     : "unknown");
	}
	if (in->attached)
		fprintf(out, "%s\n", NUMA_ATTACHED_NOTE);
	if (in->perf_mem)
		fprintf(out,
			"%" PRIu64 " perf mem samples in %zu objects: each an access, local or "
			"remote by its data_src (no first touch, no placement)\n",
			r->faults, r->nobjects);
	else
		fprintf(out,
			"%" PRIu64 " sampled faults, %" PRIu64
			" pages sampled in %zu objects; %" PRIu64
			" moves of sampled pages to another node between numa record's queries\n",
			r->faults, r->pages, r->nobjects, in->moves);
	fprintf(out, "\ndata objects:\n");
	for (size_t i = 0; i < nobj; i++)
		print_object(r, &r->objects[i], out);
	print_more(out, r->nobjects, nobj, "objects");
	fprintf(out, "\ncode locations (the function of each fault's address):\n");
	for (size_t i = 0; i < nfunc; i++) {
		const struct r_func *f = &r->funcs[i];
		fprintf(out, "  %s: first touch of %" PRIu64 " page%s", f->func, f->first,
			f->first == 1 ? "" : "s");
		if (f->first) {
			fprintf(out, " (on");
			print_by_node(out, r, f->first_on, f->first, false);
			fprintf(out, ")");
		}
		fprintf(out,
			"; %" PRIu64 " accesses after the first touch, local %" PRIu64
			", remote %" PRIu64 "\n",
			f->later, f->local, f->remote);
	}
	print_more(out, r->nfuncs, nfunc, "functions");
	fprintf(out, "\nthread x node (sampled faults by the CPU's node: ran on; by the page's "
		     "node at the end: pages on):\n");
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct r_thread *t = &r->threads[i];
		fprintf(out, "  tid %u (%s): ran on", t->tid, name_or(t->comm, "?"));
		print_by_node(out, r, t->on, t->faults, true);
		fprintf(out, "; pages on");
		print_by_node(out, r, t->to, t->faults, true);
		fprintf(out, "; local %" PRIu64 ", remote %" PRIu64, t->local, t->remote);
		if (t->later) {
			fprintf(out, "; after the first touch ran on");
			print_by_node(out, r, t->later_on, t->later, true);
		}
		fprintf(out, "\n");
	}
	size_t wander = 0;
	for (size_t i = 0; i < r->nthreads; i++)
		wander += r->threads[i].wanders;
	if (in->nnodes > 1)
		fprintf(out, "wandering threads (faults from CPUs of several nodes): %zu of %zu\n",
			wander, r->nthreads);
	fprintf(out, "\nverdicts:\n");
	for (size_t i = 0; i < r->nverdicts; i++)
		fprintf(out, "  %s: %s\n", numa_verdict_name(r->verdicts[i].kind),
			r->verdicts[i].text);
}

/* --- JSON --------------------------------------------------------------------- */

static void json_str(FILE *out, const char *s)
{
	s ? base_json_string(out, s) : (void)fputs("null", out);
}

static void json_nodes(FILE *out, const struct numa_report *r, const uint64_t *v)
{
	fputc('[', out);
	for (int n = 0; n < r->nn; n++)
		fprintf(out, "%s%" PRIu64, n ? ", " : "", v[n]);
	fputc(']', out);
}

static void json_object(FILE *out, const struct numa_report *r, const struct r_object *o)
{
	fprintf(out, "    {\"name\": ");
	json_str(out, o->name);
	fprintf(out, ", \"pid\": %d, ", (int)o->pid);
	if (o->place) {
		uint64_t present = 0;
		for (int n = 0; n < NUMA_MAX_NODES; n++)
			present += o->place->pages_on[n];
		fprintf(out,
			"\"start\": \"0x%" PRIx64 "\", \"end\": \"0x%" PRIx64
			"\", \"bytes\": %" PRIu64 ", \"pages_by_node\": ",
			o->place->start, o->place->end, o->place->end - o->place->start);
		json_nodes(out, r, o->place->pages_on);
		fprintf(out,
			", \"pages_present\": %" PRIu64 ",\n     \"moved\": {\"pages\": %" PRIu64
			", \"to_node\": ",
			present, o->place->moved);
		json_nodes(out, r, o->place->moves_to);
		fprintf(out, ", \"after_s\": %.3f, \"before_s\": %.3f},\n     ",
			(double)o->place->moved_after_ns / 1e9,
			(double)o->place->moved_before_ns / 1e9);
	} else {
		fprintf(out, "\"start\": null, \"end\": null, \"bytes\": null, \"pages_by_node\": "
			     "null, \"pages_present\": null, \"moved\": null, ");
	}
	fprintf(out,
		"\"pages_sampled\": %" PRIu64 ", \"faults\": %" PRIu64 ",\n     \"first_touch\": [",
		o->pages, o->faults);
	for (size_t i = 0; i < o->ntouchers; i++) {
		const struct r_toucher *t = &o->touchers[i];
		fprintf(out, "%s{\"tid\": %u, \"comm\": ", i ? ", " : "", t->tid);
		json_str(out, t->comm);
		fprintf(out, ", \"node\": %d, \"function\": ", t->node);
		json_str(out, t->func);
		fprintf(out, ", \"pages\": %" PRIu64 ", \"percent\": %.1f}", t->pages,
			numa_pct(t->pages, o->pages));
	}
	fprintf(out, "],\n     \"accesses\": {\"total\": %" PRIu64 ", \"by_node\": ", o->later);
	json_nodes(out, r, o->from);
	fprintf(out,
		", \"local\": %" PRIu64 ", \"remote\": %" PRIu64 ", \"remote_percent\": %.1f}}",
		o->local, o->remote, numa_pct(o->remote, o->local + o->remote));
}

void numa_report_print_json(const struct numa_report *r, FILE *out)
{
	const struct numa_rep_input *in = r->in;
	fprintf(out, "{\n  \"nodes\": %d, \"balancing\": %d, \"distances\": [", in->nnodes,
		in->balancing < 0 ? -1 : in->balancing);
	for (int i = 0; i < r->nn; i++) {
		fprintf(out, "%s[", i ? ", " : "");
		for (int j = 0; j < r->nn; j++)
			fprintf(out, "%s%d", j ? ", " : "", in->distance[i][j]);
		fputc(']', out);
	}
	fprintf(out,
		"],\n  \"faults\": %" PRIu64 ", \"pages_sampled\": %" PRIu64 ", \"moves\": %" PRIu64
		",\n  \"objects\": [\n",
		r->faults, r->pages, in->moves);
	for (size_t i = 0; i < r->nobjects; i++) {
		json_object(out, r, &r->objects[i]);
		fprintf(out, "%s\n", i + 1 < r->nobjects ? "," : "");
	}
	fprintf(out, "  ],\n  \"functions\": [\n");
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct r_func *f = &r->funcs[i];
		fprintf(out, "    {\"function\": ");
		json_str(out, f->func);
		fprintf(out, ", \"first_touch_pages\": %" PRIu64 ", \"first_touch_by_node\": ",
			f->first);
		json_nodes(out, r, f->first_on);
		fprintf(out,
			", \"accesses\": %" PRIu64 ", \"local\": %" PRIu64 ", \"remote\": %" PRIu64
			"}%s\n",
			f->later, f->local, f->remote, i + 1 < r->nfuncs ? "," : "");
	}
	fprintf(out, "  ],\n  \"threads\": [\n");
	for (size_t i = 0; i < r->nthreads; i++) {
		const struct r_thread *t = &r->threads[i];
		fprintf(out, "    {\"pid\": %d, \"tid\": %u, \"comm\": ", (int)t->pid, t->tid);
		json_str(out, t->comm);
		fprintf(out, ", \"faults\": %" PRIu64 ", \"ran_on\": ", t->faults);
		json_nodes(out, r, t->on);
		fprintf(out, ", \"pages_on\": ");
		json_nodes(out, r, t->to);
		fprintf(out, ", \"accesses_ran_on\": ");
		json_nodes(out, r, t->later_on);
		fprintf(out,
			", \"local\": %" PRIu64 ", \"remote\": %" PRIu64 ", \"wanders\": %s}%s\n",
			t->local, t->remote, t->wanders ? "true" : "false",
			i + 1 < r->nthreads ? "," : "");
	}
	fprintf(out, "  ],\n  \"verdicts\": [\n");
	for (size_t i = 0; i < r->nverdicts; i++) {
		const struct numa_verdict *v = &r->verdicts[i];
		fprintf(out, "    {\"kind\": \"%s\", \"object\": ", numa_verdict_name(v->kind));
		json_str(out, v->object);
		fprintf(out, ", \"pid\": %d, \"tid\": ", (int)v->pid);
		v->tid ? fprintf(out, "%u", v->tid) : fprintf(out, "null");
		fprintf(out, ", \"text\": ");
		json_str(out, v->text);
		fprintf(out, "}%s\n", i + 1 < r->nverdicts ? "," : "");
	}
	fprintf(out, "  ]\n}\n");
}

int numa_report_write(const struct numa_rep_file *f, const struct numa_report *r,
		      struct base_output *out, char *err, size_t errlen)
{
	const char **lines = calloc(r->nverdicts + 1, sizeof(*lines));
	char(*buf)[sizeof(r->verdicts->text) + 64] = calloc(r->nverdicts + 1, sizeof(*buf));
	if (!lines || !buf) {
		free(lines);
		free(buf);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < r->nverdicts; i++) {
		snprintf(buf[i], sizeof(*buf), "numa verdict: %s: %s",
			 numa_verdict_name(r->verdicts[i].kind), r->verdicts[i].text);
		lines[i] = buf[i];
	}
	int rc = pprof_read_write_output(f->pr, lines, r->nverdicts, out, err, errlen);
	free(lines);
	free(buf);
	return rc;
}
