/*
 * The comments every profile producer (record, agent, import) writes: the
 * command line, the samples per event, and the lost and throttled counts
 * (once each). Lines are built on the heap, so any number of events with
 * names of any length fit, up to PPROF_COMMENT_MAX bytes a line (a longer
 * one ends in "..." instead of growing without bound).
 */
#include "profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line {
	char *p;
	size_t n, cap;
	bool cut;
	int error;
};

static void line_add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line_add(struct line *l, const char *fmt, ...)
{
	if (l->cut || l->error)
		return;
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0) {
		l->error = -EINVAL;
		return;
	}
	size_t need = l->n + (size_t)len + 1;
	if (need > PPROF_COMMENT_MAX) {
		l->cut = true;
		return;
	}
	if (need > l->cap) {
		size_t cap = l->cap ? l->cap : 256;
		while (cap < need)
			cap *= 2;
		char *p = realloc(l->p, cap);
		if (!p) {
			l->error = -ENOMEM;
			return;
		}
		l->p = p;
		l->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(l->p + l->n, l->cap - l->n, fmt, ap);
	va_end(ap);
	l->n += (size_t)len;
}

/* Adds the line as a comment and empties it; 0 or -ENOMEM. */
static int line_flush(struct pprof *prof, struct line *l)
{
	int ret = l->error;
	if (ret == 0 && l->cut) {
		l->cut = false;
		line_add(l, " ...");
		ret = l->error;
	}
	if (ret == 0 && l->n)
		ret = pprof_add_comment(prof, l->p);
	l->n = 0;
	l->cut = false;
	l->error = 0;
	return ret;
}

/* " (a 3, b 1)": the events with a non-zero count, when more than one event could have one. */
static void split(struct line *l, const struct pprof_run_comments *c, bool throttles)
{
	if (c->nev < 2)
		return;
	const char *sep = " (";
	for (size_t i = 0; i < c->nev; i++) {
		uint64_t v = throttles ? c->ev[i].throttles : c->ev[i].lost;
		if (!v)
			continue;
		line_add(l, "%s%s %llu", sep, c->ev[i].name, (unsigned long long)v);
		sep = ", ";
	}
	if (strcmp(sep, ", ") == 0)
		line_add(l, ")");
}

int pprof_add_run_comments(struct pprof *prof, const struct pprof_run_comments *c)
{
	struct line l = {0};
	line_add(&l, "%s", c->head);
	for (int i = 0; i < c->argc; i++)
		line_add(&l, "%s %s", i ? "" : ":", c->argv[i]);
	int ret = line_flush(prof, &l);
	if (ret == 0 && c->nev && !c->counts_only) {
		line_add(&l, "samples:");
		for (size_t i = 0; i < c->nev; i++)
			line_add(&l, "%s %s=%llu", i ? ";" : "", c->ev[i].name,
				 (unsigned long long)c->ev[i].samples);
		ret = line_flush(prof, &l);
	}
	if (ret == 0 && !c->counts_only) {
		uint64_t lost = c->unattributed_lost, throttled = c->unattributed_throttles;
		for (size_t i = 0; i < c->nev; i++) {
			lost += c->ev[i].lost;
			throttled += c->ev[i].throttles;
		}
		line_add(&l, "lost samples: %llu", (unsigned long long)lost);
		if (lost)
			split(&l, c, false);
		line_add(&l, "; throttle events: %llu", (unsigned long long)throttled);
		if (throttled)
			split(&l, c, true);
		ret = line_flush(prof, &l);
	}
	free(l.p);
	return ret;
}
