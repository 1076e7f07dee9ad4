/*
 * "Did you mean": the nearest known event names to a misspelt one, by
 * case-insensitive edit distance over the catalogue (without probing).
 */
#include "pmu_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

size_t pmu_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 256 || lb > 256)
		return (size_t)-1;
	size_t row[257];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

#define SUGGEST_MAX 3

struct suggest_state {
	const char *word;
	size_t limit;
	char names[SUGGEST_MAX][PMU_NAME_MAX];
	size_t dist[SUGGEST_MAX];
	int n;
};

static void consider(struct suggest_state *st, const char *name)
{
	size_t d = pmu_edit_distance(st->word, name);
	if (d == 0 || d > st->limit)
		return;
	for (int i = 0; i < st->n; i++)
		if (strcmp(st->names[i], name) == 0)
			return;
	/* Insert sorted by distance, keeping the first SUGGEST_MAX. */
	int pos = st->n;
	while (pos > 0 && st->dist[pos - 1] > d)
		pos--;
	if (pos >= SUGGEST_MAX)
		return;
	int last = st->n < SUGGEST_MAX ? st->n : SUGGEST_MAX - 1;
	for (int i = last; i > pos; i--) {
		memcpy(st->names[i], st->names[i - 1], PMU_NAME_MAX);
		st->dist[i] = st->dist[i - 1];
	}
	snprintf(st->names[pos], PMU_NAME_MAX, "%s", name);
	st->dist[pos] = d;
	if (st->n < SUGGEST_MAX)
		st->n++;
}

static int consider_entry(const struct pmu_list_entry *e, void *arg)
{
	struct suggest_state *st = arg;
	consider(st, e->name);
	/* "cpu/cache-misses/" is also reachable as plain "cache-misses". */
	if (e->group == PMU_LIST_SYSFS) {
		const char *slash = strchr(e->name, '/');
		if (slash) {
			char bare[PMU_NAME_MAX];
			snprintf(bare, sizeof(bare), "%s", slash + 1);
			size_t n = strlen(bare);
			if (n && bare[n - 1] == '/')
				bare[n - 1] = 0;
			consider(st, bare);
		}
	}
	return 0;
}

void pmu_suggest(const struct pmu_ctx *ctx, const char *word, char *buf, size_t buflen)
{
	struct suggest_state st = {.word = word};
	size_t len = strlen(word);
	st.limit = len / 3 > 2 ? len / 3 : 2;
	pmu_list_events(ctx, false, consider_entry, &st);
	for (size_t i = 0; i < ctx->npmus; i++)
		consider(&st, ctx->pmus[i].name);
	buf[0] = 0;
	if (st.n == 0)
		return;
	size_t used = (size_t)snprintf(buf, buflen, "; did you mean ");
	for (int i = 0; i < st.n && used < buflen; i++)
		used += (size_t)snprintf(buf + used, buflen - used, "%s'%s'",
					 i == 0 ? "" : (i == st.n - 1 ? " or " : ", "), st.names[i]);
	if (used < buflen)
		snprintf(buf + used, buflen - used, "?");
}
