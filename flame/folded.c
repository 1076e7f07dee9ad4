/*
 * Folded stacks: one line per distinct stack with a value of the chosen
 * sample type, frames root first separated by ';' (a ';' inside a name
 * becomes ':', as perf's stackcollapse writes it), then a space and the value.
 * A differential tree prints the baseline's value, then the profile's:
 * "stack BASELINE VALUE", the input of flamegraph.pl's differential graphs.
 */
#include "flame_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static void put_name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : *s, f);
}

/* Every node with a value of its own, in name order, depth first. */
static int print_folded(const struct flame_tree *t, const char *title, FILE *f)
{
	(void)title;
	uint32_t *todo = malloc(t->nnodes * sizeof(*todo)), *path = malloc(t->nnodes * sizeof(*path));
	size_t ntodo = 0;
	if (!todo || !path) {
		free(todo);
		free(path);
		return -ENOMEM;
	}
	/* Children pushed in reverse so they pop in name order. */
	for (size_t c = t->first[1]; c-- > t->first[0];)
		todo[ntodo++] = t->child[c];
	while (ntodo) {
		uint32_t n = todo[--ntodo];
		if (t->self[n] || (t->base_self && t->base_self[n])) {
			size_t depth = 0;
			for (uint32_t p = n; p != 0; p = t->nodes[p].parent)
				path[depth++] = p;
			while (depth--) {
				put_name(f, t->names[t->nodes[path[depth]].name]);
				fputc(depth ? ';' : ' ', f);
			}
			if (t->base_self)
				fprintf(f, "%" PRId64 " ", t->base_self[n]);
			fprintf(f, "%" PRId64 "\n", t->self[n]);
		}
		for (size_t c = t->first[n + 1]; c-- > t->first[n];)
			todo[ntodo++] = t->child[c];
	}
	free(todo);
	free(path);
	return 0;
}

int flame_write_folded(const struct pprof_read *pr, const struct flame_opts *o,
		       struct base_output *out, char *err, size_t errlen)
{
	return flame_render(pr, o, print_folded, out, err, errlen);
}
