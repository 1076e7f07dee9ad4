/*
 * c2c: the cache-line report of `pmuprof c2c report` (perf c2c report's
 * spirit). Owns grouping memory samples (PEBS, IBS, SPE: data address +
 * data_src) by cache line and by offset within the line, perf c2c's
 * counters per line and per offset (via c2c_classify in memsrc.c), the
 * threads, CPUs, nodes and code locations per offset, the sharing verdict
 * per line, the text rendering and the per-sample pprof labels. Pure logic:
 * samples in, report out; symbolization is the caller's.
 */
#include "c2c.h"
#include "base.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

const char *c2c_verdict_name(enum c2c_verdict v)
{
	switch (v) {
	case C2C_FALSE_SHARING: return "false sharing";
	case C2C_TRUE_SHARING: return "true sharing";
	case C2C_MIXED: return "true+false sharing";
	default: return "none";
	}
}

/* Room for one more element in a growing array; 0 or -ENOMEM. */
/* A sorted set of ints: insert v if absent; 0 or -ENOMEM. */
static int set_add(int32_t **a, size_t *n, size_t *cap, int32_t v)
{
	size_t i = 0;
	while (i < *n && (*a)[i] < v)
		i++;
	if (i < *n && (*a)[i] == v)
		return 0;
	if (base_grow((void **)a, cap, *n + 1, sizeof(**a)))
		return -ENOMEM;
	memmove(*a + i + 1, *a + i, (*n - i) * sizeof(**a));
	(*a)[i] = v;
	(*n)++;
	return 0;
}

/* The data_src perf's rules see: the caller's is_store stands in for a missing op. */
static uint64_t effective_src(const struct c2c_sample *s)
{
	uint64_t op = s->data_src & 0x1f;
	if (!(op & (PERF_MEM_OP_LOAD | PERF_MEM_OP_STORE)) && s->is_store)
		return (s->data_src & ~0x1full) | PERF_MEM_OP_STORE;
	return s->data_src;
}

/* A sample's place in the sort; its counters are classified again when added (300 bytes each). */
struct keyed {
	uint64_t line;
	uint32_t off;
	uint32_t idx;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Capacities while building; not kept in the report. */
struct off_caps {
	size_t threads, cpus, nodes, code;
};

static int add_to_offset(struct c2c_offset *o, struct off_caps *cap, const struct c2c_sample *s,
			 const struct c2c_stats *st)
{
	c2c_stats_add(&o->st, st);
	o->weight += s->weight;
	bool store = st->store != 0;

	size_t i = 0;
	while (i < o->nthreads && o->threads[i].tid < s->tid)
		i++;
	if (i == o->nthreads || o->threads[i].tid != s->tid) {
		if (base_grow((void **)&o->threads, &cap->threads, o->nthreads + 1,
			      sizeof(*o->threads)))
			return -ENOMEM;
		memmove(o->threads + i + 1, o->threads + i, (o->nthreads - i) * sizeof(*o->threads));
		o->threads[i] = (struct c2c_thread){ .pid = s->pid, .tid = s->tid };
		o->nthreads++;
	}
	if (store)
		o->threads[i].stores++;
	else
		o->threads[i].loads++;

	if (s->cpu >= 0 && set_add(&o->cpus, &o->ncpus, &cap->cpus, s->cpu))
		return -ENOMEM;
	if (s->node >= 0 && set_add(&o->nodes, &o->nnodes, &cap->nodes, s->node))
		return -ENOMEM;

	struct c2c_code *c = NULL;
	for (size_t k = 0; k < o->ncode; k++)
		if (o->code[k].ip == s->ip)
			c = &o->code[k];
	if (!c) {
		if (base_grow((void **)&o->code, &cap->code, o->ncode + 1, sizeof(*o->code)))
			return -ENOMEM;
		c = &o->code[o->ncode];
		*c = (struct c2c_code){ .ip = s->ip, .line = s->line };
		if ((s->func && !(c->func = strdup(s->func))) ||
		    (s->file && !(c->file = strdup(s->file)))) {
			free(c->func);
			return -ENOMEM;
		}
		o->ncode++;
	}
	if (store)
		c->stores++;
	else
		c->loads++;
	c->hitm += st->tot_hitm;
	c->peer += st->tot_peer;
	return 0;
}

static int cmp_code(const void *a, const void *b)
{
	const struct c2c_code *x = a, *y = b;
	uint64_t tx = x->hitm + x->peer, ty = y->hitm + y->peer;
	if (tx != ty)
		return tx > ty ? -1 : 1;
	uint64_t nx = x->loads + x->stores, ny = y->loads + y->stores;
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return (x->ip > y->ip) - (x->ip < y->ip);
}

void c2c_sharing_judge(const struct c2c_access *a, size_t n, struct c2c_sharing *out)
{
	bool tru = false, fal = false;
	*out = (struct c2c_sharing){ .verdict = C2C_NONE };
	for (size_t i = 0; i < n; i++) {
		if (!a[i].wrote)
			continue;
		size_t first = 0;
		while (first < i && !(a[first].wrote && a[first].tid == a[i].tid))
			first++;
		if (first == i)
			out->nwriters++;
		for (size_t j = 0; j < n; j++) {
			if (a[j].tid == a[i].tid || !(a[j].wrote || a[j].read))
				continue;
			bool same = a[j].loc == a[i].loc;
			tru |= same;
			fal |= !same;
			out->same_written |= same && a[j].wrote;
			out->diff_written |= !same && a[j].wrote;
		}
	}
	out->verdict = tru && fal ? C2C_MIXED : tru ? C2C_TRUE_SHARING
				: fal ? C2C_FALSE_SHARING : C2C_NONE;
}

/*
 * A sample thread's accesses to an offset: stored (wrote) or loaded (read).
 * The verdict needs observed transfers (HITM or peer) too: without them
 * the threads did not contend for the line. scratch is reused line to line.
 */
static int judge(struct c2c_line *l, struct c2c_access **scratch, size_t *cap)
{
	size_t n = 0;
	for (size_t a = 0; a < l->noff; a++) {
		const struct c2c_offset *o = &l->off[a];
		if (base_grow((void **)scratch, cap, n + o->nthreads, sizeof(**scratch)))
			return -ENOMEM;
		for (size_t i = 0; i < o->nthreads; i++)
			(*scratch)[n++] = (struct c2c_access){ .loc = o->offset, .tid = o->threads[i].tid,
							       .wrote = o->threads[i].stores != 0,
							       .read = o->threads[i].loads != 0 };
	}
	struct c2c_sharing sh;
	c2c_sharing_judge(*scratch, n, &sh);
	l->nwriters = sh.nwriters;
	l->verdict = l->st.tot_hitm + l->st.tot_peer ? sh.verdict : C2C_NONE;
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	const struct c2c_line *x = a, *y = b;
	if (x->st.tot_hitm != y->st.tot_hitm)
		return x->st.tot_hitm > y->st.tot_hitm ? -1 : 1;
	uint64_t px = x->st.tot_peer + x->st.rmt_hit, py = y->st.tot_peer + y->st.rmt_hit;
	if (px != py)
		return px > py ? -1 : 1;
	if (x->st.nr_entries != y->st.nr_entries)
		return x->st.nr_entries > y->st.nr_entries ? -1 : 1;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

void c2c_report_free(struct c2c_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nlines; i++) {
		struct c2c_line *l = &r->lines[i];
		for (size_t j = 0; j < l->noff; j++) {
			struct c2c_offset *o = &l->off[j];
			for (size_t k = 0; k < o->ncode; k++) {
				free(o->code[k].func);
				free(o->code[k].file);
			}
			free(o->code);
			free(o->threads);
			free(o->cpus);
			free(o->nodes);
		}
		free(l->off);
		free(l->data_sym);
	}
	free(r->lines);
	memset(r, 0, sizeof(*r));
}

bool c2c_attr_has_data_addresses(const struct perf_event_attr *attr)
{
	uint64_t need = PERF_SAMPLE_ADDR | PERF_SAMPLE_DATA_SRC;
	return (attr->sample_type & need) == need;
}

int c2c_build(struct c2c_report *r, const struct c2c_sample *s, size_t n,
	      const struct c2c_options *opt, char *err, size_t errlen)
{
	uint32_t ls = opt && opt->line_size ? opt->line_size : 64;
	memset(r, 0, sizeof(*r));
	if (ls & (ls - 1) || ls > 4096) {
		return base_fail(err, errlen, -EINVAL,
				 "c2c: cache line size %u is not a power of two up to 4096", ls);
	}
	r->line_size = ls;

	if (n > UINT32_MAX) {
		return base_fail(err, errlen, -E2BIG, "c2c: more than 2^32 memory samples");
	}
	struct keyed *k = n ? malloc(n * sizeof(*k)) : NULL;
	if (n && !k)
		goto nomem;
	size_t nk = 0;
	for (size_t i = 0; i < n; i++) {
		struct c2c_stats one = { 0 };
		int rc = c2c_classify(&one, effective_src(&s[i]), s[i].addr, !s[i].nomap);
		c2c_stats_add(&r->total, &one);
		/* Samples without an address or op stay out of the lines; unmapped ones count. */
		if (rc && !one.nomap)
			continue;
		k[nk++] = (struct keyed){ .line = s[i].addr & ~(uint64_t)(ls - 1),
					  .off = (uint32_t)(s[i].addr & (ls - 1)), .idx = (uint32_t)i };
	}
	if (nk)
		qsort(k, nk, sizeof(*k), cmp_keyed);

	size_t lcap = 0, scratch_cap = 0;
	struct c2c_access *scratch = NULL;
	for (size_t i = 0; i < nk;) {
		if (base_grow((void **)&r->lines, &lcap, r->nlines + 1, sizeof(*r->lines)))
			goto nomem;
		struct c2c_line *l = &r->lines[r->nlines++];
		*l = (struct c2c_line){ .addr = k[i].line };
		size_t ocap = 0;
		for (; i < nk && k[i].line == l->addr;) {
			if (base_grow((void **)&l->off, &ocap, l->noff + 1, sizeof(*l->off)))
				goto nomem;
			struct c2c_offset *o = &l->off[l->noff++];
			*o = (struct c2c_offset){ .offset = k[i].off };
			struct off_caps cap = { 0 };
			for (; i < nk && k[i].line == l->addr && k[i].off == o->offset; i++) {
				const struct c2c_sample *x = &s[k[i].idx];
				struct c2c_stats one = { 0 };
				c2c_classify(&one, effective_src(x), x->addr, !x->nomap);
				if (add_to_offset(o, &cap, x, &one))
					goto nomem;
				if (!l->data_sym && x->data_sym && !(l->data_sym = strdup(x->data_sym)))
					goto nomem;
			}
			c2c_stats_add(&l->st, &o->st);
			l->weight += o->weight;
			if (o->ncode > 1)
				qsort(o->code, o->ncode, sizeof(*o->code), cmp_code);
		}
		if (judge(l, &scratch, &scratch_cap))
			goto nomem;
	}
	if (r->nlines > 1)
		qsort(r->lines, r->nlines, sizeof(*r->lines), cmp_line);
	free(k);
	free(scratch);
	return 0;
nomem:
	free(k);
	free(scratch);
	c2c_report_free(r);
	return base_fail(err, errlen, -ENOMEM, "c2c: out of memory building the cache-line report");
}

static void print_rule(FILE *f, const char *title)
{
	fprintf(f, "=================================================\n");
	fprintf(f, "%*s\n", (int)(25 + strlen(title) / 2), title);
	fprintf(f, "=================================================\n");
}

static void print_totals(FILE *f, const struct c2c_stats *t)
{
	/* perf c2c's "Trace Event Information" rows, same names. */
	const struct {
		const char *name;
		uint64_t v;
	} row[] = {
		{ "Total records", t->nr_entries },
		{ "Locked Load/Store Operations", t->locks },
		{ "Load Operations", t->load },
		{ "Loads - uncacheable", t->ld_uncache },
		{ "Loads - IO", t->ld_io },
		{ "Loads - Miss", t->ld_miss },
		{ "Loads - no mapping", t->ld_noadrs },
		{ "Load Fill Buffer Hit", t->ld_fbhit },
		{ "Load L1D hit", t->ld_l1hit },
		{ "Load L2D hit", t->ld_l2hit },
		{ "Load LLC hit", t->ld_llchit + t->lcl_hitm },
		{ "Load Local HITM", t->lcl_hitm },
		{ "Load Remote HITM", t->rmt_hitm },
		{ "Load Remote HIT", t->rmt_hit },
		{ "Load Local DRAM", t->lcl_dram },
		{ "Load Remote DRAM", t->rmt_dram },
		{ "Load MESI State Exclusive", t->ld_excl },
		{ "Load MESI State Shared", t->ld_shared },
		{ "Load LLC Misses", t->rmt_hit + t->rmt_hitm + t->lcl_dram + t->rmt_dram },
		{ "Load access blocked by data", t->blk_data },
		{ "Load access blocked by address", t->blk_addr },
		{ "Load HIT Local Peer", t->lcl_peer },
		{ "Load HIT Remote Peer", t->rmt_peer },
		{ "Store Operations", t->store },
		{ "Store - uncacheable", t->st_uncache },
		{ "Store - no mapping", t->st_noadrs },
		{ "Store L1D Hit", t->st_l1hit },
		{ "Store L1D Miss", t->st_l1miss },
		{ "Store No available memory level", t->st_na },
		{ "No Page Map Rejects", t->nomap },
		{ "Unable to parse data source", t->noparse },
	};
	for (size_t i = 0; i < sizeof(row) / sizeof(row[0]); i++)
		fprintf(f, "  %-40s: %10" PRIu64 "\n", row[i].name, row[i].v);
}

static void print_ints(FILE *f, const int32_t *v, size_t n)
{
	if (!n)
		fprintf(f, "-");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%" PRId32, i ? "," : "", v[i]);
}

int c2c_print(const struct c2c_report *r, FILE *f, size_t max_lines)
{
	size_t nl = max_lines && max_lines < r->nlines ? max_lines : r->nlines;

	print_rule(f, "Trace Event Information");
	print_totals(f, &r->total);
	fprintf(f, "\n");
	print_rule(f, "Shared Data Cache Line Table");
	fprintf(f, "# %5s  %-18s %8s %8s %8s %8s %8s %8s %8s %8s  %s\n", "Index", "Cacheline",
		"Tot Hitm", "Lcl Hitm", "Rmt Hitm", "Lcl Peer", "Rmt Peer", "Loads", "Stores",
		"Records", "Verdict / data symbol");
	for (size_t i = 0; i < nl; i++) {
		const struct c2c_line *l = &r->lines[i];
		fprintf(f, "  %5zu  0x%-16" PRIx64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
			   " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "  %s%s%s\n",
			i, l->addr, l->st.tot_hitm, l->st.lcl_hitm, l->st.rmt_hitm, l->st.lcl_peer,
			l->st.rmt_peer, l->st.load, l->st.store, l->st.nr_entries,
			c2c_verdict_name(l->verdict), l->data_sym ? "  " : "",
			l->data_sym ? l->data_sym : "");
	}
	fprintf(f, "\n");
	print_rule(f, "Cacheline details");
	for (size_t i = 0; i < nl; i++) {
		const struct c2c_line *l = &r->lines[i];
		const struct c2c_stats *t = &l->st;
		fprintf(f, "\nCacheline %zu 0x%" PRIx64 " %s%s(%s, %zu writing threads)\n", i, l->addr,
			l->data_sym ? l->data_sym : "", l->data_sym ? " " : "", c2c_verdict_name(l->verdict), l->nwriters);
		fprintf(f, "  loads %" PRIu64 ": L1 %" PRIu64 ", LFB %" PRIu64 ", L2 %" PRIu64
			   ", LLC %" PRIu64 ", lcl HITM %" PRIu64 ", rmt HITM %" PRIu64
			   ", rmt hit %" PRIu64 ", lcl peer %" PRIu64 ", rmt peer %" PRIu64
			   ", lcl DRAM %" PRIu64 ", rmt DRAM %" PRIu64 ", miss %" PRIu64 "\n",
			t->load, t->ld_l1hit, t->ld_fbhit, t->ld_l2hit, t->ld_llchit, t->lcl_hitm,
			t->rmt_hitm, t->rmt_hit, t->lcl_peer, t->rmt_peer, t->lcl_dram, t->rmt_dram,
			t->ld_miss);
		fprintf(f, "  stores %" PRIu64 ": L1 hit %" PRIu64 ", L1 miss %" PRIu64
			   ", N/A %" PRIu64 "; locked %" PRIu64 "; weight %" PRIu64 "\n",
			t->store, t->st_l1hit, t->st_l1miss, t->st_na, t->locks, l->weight);
		fprintf(f, "# %6s %8s %8s %8s %8s %8s %10s  %s\n", "Offset", "Lcl Hitm", "Rmt Hitm",
			"Peer", "Loads", "Stores", "Weight", "Threads (pid:tid loads/stores) | CPUs | Nodes");
		for (size_t j = 0; j < l->noff; j++) {
			const struct c2c_offset *o = &l->off[j];
			fprintf(f, "  0x%-4" PRIx32 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
				   " %8" PRIu64 " %10" PRIu64 "  ",
				o->offset, o->st.lcl_hitm, o->st.rmt_hitm, o->st.tot_peer, o->st.load,
				o->st.store, o->weight);
			for (size_t k = 0; k < o->nthreads; k++)
				fprintf(f, "%s%" PRIu32 ":%" PRIu32 " %" PRIu64 "/%" PRIu64, k ? " " : "",
					o->threads[k].pid, o->threads[k].tid, o->threads[k].loads,
					o->threads[k].stores);
			fprintf(f, " | ");
			print_ints(f, o->cpus, o->ncpus);
			fprintf(f, " | ");
			print_ints(f, o->nodes, o->nnodes);
			fprintf(f, "\n");
			for (size_t k = 0; k < o->ncode; k++) {
				const struct c2c_code *c = &o->code[k];
				fprintf(f, "           code 0x%" PRIx64 " %s", c->ip, c->func ? c->func : "[unknown]");
				if (c->file)
					fprintf(f, " %s:%" PRIu32, c->file, c->line);
				fprintf(f, "  loads %" PRIu64 " stores %" PRIu64 " hitm %" PRIu64
					   " peer %" PRIu64 "\n",
					c->loads, c->stores, c->hitm, c->peer);
			}
		}
	}
	return ferror(f) ? -EIO : 0;
}

/*
 * The line is the sampled virtual address's, as perf c2c prints its lines.
 * perf report's dcacheline key prints the map-relative address instead (the
 * file offset in a file-backed mapping), which is no address of the process
 * and carries no file with it in a label.
 */
void c2c_sample_labels(const struct c2c_sample *s, uint32_t line_size, struct c2c_labels *out)
{
	uint64_t ls = line_size ? line_size : 64;
	snprintf(out->cacheline, sizeof(out->cacheline), "0x%" PRIx64, s->addr & ~(ls - 1));
	out->offset = s->addr & (ls - 1);
	pabi_memsrc_str(effective_src(s), false, out->data_src, sizeof(out->data_src));
	out->weight = s->weight;
}

/* --- c2c watch: the watchpoints' evidence ------------------------------------- */

struct c2c_watch_row *c2c_watch_add(struct c2c_watch_tally *t, const struct smp_watch_hit *h)
{
	struct c2c_watch_row *r = NULL;
	for (size_t i = 0; i < t->nrows && !r; i++)
		if (t->rows[i].word == h->word && t->rows[i].tid == h->tid)
			r = &t->rows[i];
	if (!r) {
		if (BASE_GROW(t->rows, t->caprows, t->nrows + 1) < 0)
			return NULL;
		r = &t->rows[t->nrows++];
		*r = (struct c2c_watch_row){.word = h->word, .pid = h->pid, .tid = h->tid};
	}
	struct c2c_watch_loc *l = NULL;
	for (size_t i = 0; i < t->nlocs && !l; i++)
		if (t->locs[i].ip == h->ip && t->locs[i].word == h->word && t->locs[i].rw == h->rw)
			l = &t->locs[i];
	if (!l) {
		if (BASE_GROW(t->locs, t->caplocs, t->nlocs + 1) < 0)
			return NULL;
		l = &t->locs[t->nlocs++];
		*l = (struct c2c_watch_loc){.ip = h->ip, .pid = h->pid, .word = h->word, .rw = h->rw};
	}
	r->hits[h->rw]++;
	l->hits++;
	return r;
}

/*
 * A thread's accesses to a watched word: a write-window hit is a write; x86
 * has no read-only watchpoints, so a read is a read-write-window hit of a
 * thread that never hit that word in a write window.
 */
int c2c_watch_verdict(const struct c2c_watch_tally *t, const char **out)
{
	*out = NULL;
	if (t->nrows == 0)
		return 0;
	struct c2c_access *a = malloc(t->nrows * sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < t->nrows; i++) {
		const struct c2c_watch_row *r = &t->rows[i];
		a[i] = (struct c2c_access){ .loc = (uint32_t)r->word, .tid = r->tid,
					    .wrote = r->hits[0] > 0,
					    .read = !r->hits[0] && r->hits[1] > 0 };
	}
	struct c2c_sharing sh;
	c2c_sharing_judge(a, t->nrows, &sh);
	free(a);
	switch (sh.verdict) {
	case C2C_TRUE_SHARING:
		*out = sh.same_written
			       ? "true sharing (the same word written by more than one thread)"
			       : "true sharing (a word written by one thread is read by another)";
		break;
	case C2C_FALSE_SHARING:
		*out = sh.diff_written
			       ? "false sharing (different words written by different threads)"
			       : "false sharing (read-write: one thread writes a word, another reads "
				 "a different word of the line)";
		break;
	case C2C_MIXED:
		*out = "true+false sharing (a word written by one thread is touched by another, "
		       "and so are other words of the line)";
		break;
	case C2C_NONE:
		*out = "none (only one thread touches the line)";
		break;
	}
	return 0;
}

void c2c_watch_tally_free(struct c2c_watch_tally *t)
{
	free(t->rows);
	free(t->locs);
	*t = (struct c2c_watch_tally){0};
}
