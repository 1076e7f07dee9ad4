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

/* The events of a that b lacks, in a's order and comma separated, into buf; their number. */
static size_t missing_events(const struct eng_stat_result *a, const struct eng_stat_result *b,
			     char *buf, size_t len)
{
	size_t n = 0, used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < a->n; i++)
		if (!find_entry(b, a->e[i].name) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", n++ ? ", " : "",
						 a->e[i].name);
	return n;
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
	char only_a[256], only_b[256];
	size_t na = missing_events(a, b, only_a, sizeof(only_a));
	size_t nb = missing_events(b, a, only_b, sizeof(only_b));
	if (na || nb)
		return base_fail(err, errlen, -EINVAL,
				 "%s and %s count different events (%s%s%s%s%s%s%s); compare "
				 "results of the same -e EVENTS",
				 name_a, name_b, only_a, na ? " only in " : "", na ? name_a : "",
				 na && nb ? "; " : "", only_b, nb ? " only in " : "",
				 nb ? name_b : "");
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
