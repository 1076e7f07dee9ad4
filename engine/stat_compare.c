/*
 * stat --compare: benchstat's table for two stat -j results, in numbers:
 * per event each side's mean and perf's "+-" percent, Welch's test over the
 * runs and the delta when the test finds a difference (p <= 0.05).
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct eng_stat_entry *find_entry(const struct eng_stat_result *r, const char *name)
{
	for (size_t j = 0; j < r->n; j++)
		if (!strcmp(r->e[j].name, name))
			return &r->e[j];
	return NULL;
}

/* The first event of a that b lacks (in a's order), or NULL. */
static const char *missing_event(const struct eng_stat_result *a, const struct eng_stat_result *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!find_entry(b, a->e[i].name))
			return a->e[i].name;
	return NULL;
}

static struct eng_stat_side side_of(const struct eng_stat_entry *e, struct eng_runstats *st)
{
	*st = (struct eng_runstats){0};
	for (size_t i = 0; i < e->n; i++)
		eng_runstats_add(st, e->values[i]);
	return (struct eng_stat_side){
		.n = e->n,
		.mean = st->mean,
		.pct = eng_runstats_rel_pct(eng_runstats_stderr(st), st->mean),
	};
}

int eng_stat_compare(const struct eng_stat_result *a, const char *name_a,
		     const struct eng_stat_result *b, const char *name_b,
		     struct eng_stat_cmp_row **rows, char *err, size_t errlen)
{
	*rows = NULL;
	const char *only_a = missing_event(a, b), *only_b = missing_event(b, a);
	if (only_a || only_b)
		return base_fail(err, errlen, -EINVAL,
				 "%s and %s count different events (%s only in %s); "
				 "compare results of the same -e EVENTS",
				 name_a, name_b, only_a ? only_a : only_b, only_a ? name_a : name_b);
	*rows = calloc(a->n ? a->n : 1, sizeof(**rows));
	if (!*rows)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < a->n; i++) {
		const struct eng_stat_entry *ea = &a->e[i], *eb = find_entry(b, ea->name);
		struct eng_stat_cmp_row *row = &(*rows)[i];
		struct eng_runstats sa, sb;
		row->entry = ea;
		row->a = side_of(ea, &sa);
		row->b = side_of(eb, &sb);
		if (!ea->n || !eb->n)
			continue;
		row->tested = eng_welch(&sa, &sb, &row->welch) == 0;
		if (row->tested && row->welch.p <= 0.05 && sa.mean != 0.0) {
			row->differs = true;
			row->delta_pct = 100.0 * (sb.mean - sa.mean) / sa.mean;
		}
	}
	return 0;
}
