/*
 * diff — `pmuprof diff BASELINE PROFILE`: two profiles compared as perf diff
 * compares two perf.data files.
 *
 * Owns: joining the two profiles' rows by their --sort keys (report.c's
 * grouping: default dso,sym as perf diff's, or "stack" for whole stacks),
 * one table per sample type both profiles have: each row's self share of its
 * profile's total in the baseline and in the new profile, the change in
 * points (perf diff's "Delta"), and the ratio of the shares, sorted by the
 * largest change. Shares are of each profile's own total, so runs of
 * different lengths compare; a profile against itself is all zeros.
 */
#include "report_internal.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef Perftools__Profiles__Profile Profile;

struct diff_row {
	const char *key;
	int64_t base, now; /* values; their shares below */
	double base_pct, now_pct;
};

static double row_delta(const struct diff_row *r)
{
	return r->now_pct - r->base_pct;
}

/* Largest change first, then the larger new share, then by key: a stable order. */
static int cmp_diff_row(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	double dx = fabs(row_delta(x)), dy = fabs(row_delta(y));
	if (dx != dy)
		return dx > dy ? -1 : 1;
	if (x->now_pct != y->now_pct)
		return x->now_pct > y->now_pct ? -1 : 1;
	if (x->base_pct != y->base_pct)
		return x->base_pct > y->base_pct ? -1 : 1;
	return strcmp(x->key, y->key);
}

static const char *type_name(const Profile *m, size_t t)
{
	return m->string_table[m->sample_type[t]->type];
}

/* The type named name in r's profile, or -1. */
static long find_type(const struct rep *r, const char *name)
{
	for (size_t t = 0; t < r->ntypes; t++)
		if (strcmp(type_name(r->m, t), name) == 0)
			return (long)t;
	return -1;
}

/* r's events (its types but "samples"), comma separated, into buf. */
static const char *events_text(const struct rep *r, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t t = 0; t < r->ntypes && n < len; t++)
		if (strcmp(type_name(r->m, t), "samples") != 0 || r->ntypes == 1)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
					      type_name(r->m, t));
	return buf;
}

/* The ratio of the shares: "new" and "gone" where one side has none. */
static void ratio_text(char *buf, size_t len, const struct diff_row *r)
{
	if (r->base == 0)
		snprintf(buf, len, "new");
	else if (r->now == 0)
		snprintf(buf, len, "gone");
	else
		snprintf(buf, len, "%.3f", r->now_pct / r->base_pct);
}

/* One table: the rows of type ta in a and tb in b, joined by key. */
static int print_diff_type(const struct rep *a, size_t ta, const struct rep *b, size_t tb,
			   FILE *out)
{
	const struct pprof_report_opts *o = b->opts;
	int64_t ta_total = a->total[ta], tb_total = b->total[tb];
	struct diff_row *rows = malloc((a->nent + b->nent + 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	size_t nrows = 0;
	for (size_t i = 0; i < a->nent; i++) {
		const struct entry *other = report_find(b, a->ent[i].key);
		rows[nrows] = (struct diff_row){ a->ent[i].key, a->ent[i].flat[ta],
						 other ? other->flat[tb] : 0, 0, 0 };
		nrows += rows[nrows].base || rows[nrows].now;
	}
	for (size_t i = 0; i < b->nent; i++)
		if (b->ent[i].flat[tb] && !report_find(a, b->ent[i].key))
			rows[nrows++] = (struct diff_row){ b->ent[i].key, 0, b->ent[i].flat[tb], 0, 0 };
	size_t kept = 0;
	for (size_t i = 0; i < nrows; i++) {
		struct diff_row *r = &rows[i];
		r->base_pct = report_pct(r->base, ta_total);
		r->now_pct = report_pct(r->now, tb_total);
		if (r->base_pct >= o->percent_limit || r->now_pct >= o->percent_limit)
			rows[kept++] = *r;
	}
	nrows = kept;
	qsort(rows, nrows, sizeof(*rows), cmp_diff_row);
	size_t top = o->top > 0 ? (size_t)o->top : 20;
	size_t shown = nrows < top ? nrows : top;

	bool time = report_is_time(b->m, tb);
	char tot_a[32], tot_b[32];
	report_human(tot_a, sizeof(tot_a), ta_total, time);
	report_human(tot_b, sizeof(tot_b), tb_total, time);
	fprintf(out, "# Event '%s': baseline total %s, new total %s\n#\n", type_name(b->m, tb),
		tot_a, tot_b);

	size_t wkey[MAX_KEYS];
	report_key_widths(b, NULL, wkey);
	for (size_t i = 0; i < shown; i++)
		report_key_widths(b, rows[i].key, wkey);
	fputs("# Baseline       New     Delta   Ratio", out);
	report_print_key_names(b, wkey, out);
	fputs("\n# ........  ........  ........  ......", out);
	report_print_key_rules(b, wkey, out);
	fputs("\n#\n", out);

	int rc = 0;
	for (size_t i = 0; i < shown; i++) {
		const struct diff_row *r = &rows[i];
		char ratio[16], base[16];
		ratio_text(ratio, sizeof(ratio), r);
		/* perf diff leaves a row's baseline blank where the baseline has none. */
		if (r->base)
			snprintf(base, sizeof(base), "%.2f%%", r->base_pct);
		else
			base[0] = '\0';
		double d = row_delta(r);
		fprintf(out, "%10s  %7.2f%%  %+7.2f%%  %6s", base, r->now_pct,
			fabs(d) < 0.005 ? 0.0 : d, ratio);
		if ((rc = report_print_key(r->key, wkey, out)) < 0)
			break;
	}
	if (rc == 0)
		report_print_hidden(nrows - shown, out);
	free(rows);
	return rc;
}

int pprof_diff_print(const struct pprof_read *baseline, const char *baseline_path,
		     const struct pprof_read *pr, const char *path,
		     const struct pprof_report_opts *opts, FILE *out, char *err, size_t errlen)
{
	struct pprof_report_opts o = opts ? *opts : (struct pprof_report_opts){0};
	if (!o.sort || !*o.sort)
		o.sort = "dso,sym"; /* perf diff's default */
	o.call_graph = NULL;
	struct rep a, b;
	memset(&b, 0, sizeof(b));
	int rc = report_open(&a, baseline, baseline_path, &o, err, errlen);
	if (rc == 0)
		rc = report_open(&b, pr, path, &o, err, errlen);
	if (rc < 0)
		goto out;

	/* The types compared: the one asked for, else every event both have (not "samples"). */
	size_t ncommon = 0, nboth_empty = 0;
	char have_a[256], have_b[256];
	bool same_events = pprof_read_same_events(baseline, pr);
	if (o.sample_type && strcmp(o.sample_type, "samples") == 0 && !same_events) {
		rc = base_fail(err, errlen, -EINVAL,
			       "-e samples: the samples of %s are of %s, those of %s of %s; a diff "
			       "compares the same event: record both with the same -e",
			       baseline_path, events_text(&a, have_a, sizeof(have_a)), path,
			       events_text(&b, have_b, sizeof(have_b)));
		goto out;
	}
	for (size_t tb = 0; tb < b.ntypes; tb++) {
		const char *name = type_name(b.m, tb);
		if (o.sample_type ? strcmp(name, o.sample_type) != 0
				  : strcmp(name, "samples") == 0 && b.ntypes > 1)
			continue;
		long ta = find_type(&a, name);
		if (ta < 0 || (strcmp(name, "samples") == 0 && !same_events))
			continue;
		ncommon++;
		if (!a.total[ta] && !b.total[tb]) {
			nboth_empty++;
			continue;
		}
		if (ncommon - nboth_empty > 1)
			fputc('\n', out);
		else
			fprintf(out, "# baseline: %s\n# new:      %s\n#\n", baseline_path, path);
		if ((rc = print_diff_type(&a, (size_t)ta, &b, tb, out)) < 0)
			goto out;
	}
	if (ncommon == 0) {
		events_text(&a, have_a, sizeof(have_a));
		events_text(&b, have_b, sizeof(have_b));
		if (o.sample_type)
			rc = base_fail(err, errlen, -EINVAL,
				       "sample type '%s' is not in both profiles (%s has %s; %s has "
				       "%s): give -e one both have",
				       o.sample_type, baseline_path, have_a, path, have_b);
		else
			rc = base_fail(err, errlen, -EINVAL,
				       "%s and %s have no event in common (%s; %s): a diff compares "
				       "the same event, record both with the same -e",
				       baseline_path, path, have_a, have_b);
		goto out;
	}
	if (ncommon == nboth_empty)
		fprintf(out, "# no samples in either profile: nothing to compare\n");
	/* Stacks of a profile without call graphs are single frames: every stack then differs. */
	for (size_t k = 0; k < b.nkeys; k++)
		for (int side = 0; side < 2 && b.keys[k].kind == KEY_STACK; side++)
			if (!(side ? b.stacks : a.stacks))
				fprintf(out, "# %s has no call graphs (recorded without -g): its stacks "
					"are single frames\n", side ? path : baseline_path);
	/* Types only one profile has are named, so that a missing table is not a surprise. */
	for (size_t tb = 0; tb < b.ntypes && !o.sample_type; tb++)
		if (find_type(&a, type_name(b.m, tb)) < 0 && strcmp(type_name(b.m, tb), "samples"))
			fprintf(out, "# '%s' is only in %s: not compared\n", type_name(b.m, tb), path);
	for (size_t ta = 0; ta < a.ntypes && !o.sample_type; ta++)
		if (find_type(&b, type_name(a.m, ta)) < 0 && strcmp(type_name(a.m, ta), "samples"))
			fprintf(out, "# '%s' is only in %s: not compared\n", type_name(a.m, ta),
				baseline_path);
	errno = 0;
	if (fflush(out) != 0 || ferror(out)) {
		rc = errno ? -errno : -EIO;
		base_fail(err, errlen, 0, "writing the diff: %s", strerror(-rc));
	}
out:
	if (rc == -ENOMEM)
		base_fail(err, errlen, 0, "diff of %s and %s: out of memory", baseline_path, path);
	report_close(&a);
	report_close(&b);
	return rc;
}
