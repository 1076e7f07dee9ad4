/*
 * The interactive flame graph: page.html (its CSS and script inline, no
 * network) with the profile's tree as JSON where the page says DATA_MARK.
 * The data is the tree once (frame names deduplicated, each node its parent
 * and name), the label sets, and per (leaf node, label set) the values of
 * every sample type: the page sums what the chosen type and filters keep.
 * A differential tree ("sides": 2) has the baseline's values of every type
 * and then the profile's in each entry; the page colours frames by the change.
 */
#include "flame_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

extern const char flame_page_html[]; /* flame_page.c, generated from page.html */

#define DATA_MARK "/*DATA*/"

/* A JSON string safe inside <script>: '<' escaped, so no "</script>" can end it. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void print_data(const struct flame_tree *t, const char *title, FILE *f)
{
	fputs("{\"title\":", f);
	json_str(f, title);
	fprintf(f, ",\"sides\":%zu", t->nsides);
	fputs(",\"types\":[", f);
	for (size_t i = 0; i < t->ntypes; i++) {
		fputs(i ? ",[" : "[", f);
		json_str(f, t->type_name[i]);
		fputc(',', f);
		json_str(f, t->type_unit[i]);
		fputc(']', f);
	}
	fprintf(f, "],\"type\":%zu,\"names\":[", t->type);
	for (size_t i = 0; i < t->nnames; i++) {
		if (i)
			fputc(',', f);
		json_str(f, t->names[i]);
	}
	fputs("],\"parent\":[-1", f);
	for (size_t i = 1; i < t->nnodes; i++)
		fprintf(f, ",%" PRIu32, t->nodes[i].parent);
	fputs("],\"name\":[", f);
	for (size_t i = 0; i < t->nnodes; i++)
		fprintf(f, "%s%" PRIu32, i ? "," : "", t->nodes[i].name);
	fputs("],\"keys\":[", f);
	for (size_t i = 0; i < t->nkeys; i++) {
		if (i)
			fputc(',', f);
		json_str(f, t->keys[i]);
	}
	fputs("],\"sets\":[", f);
	for (size_t i = 0; i < t->nsets * t->nkeys; i++)
		fprintf(f, "%s%" PRId64, i ? "," : "", (int64_t)t->sets[i] - 1);
	fputs("],\"entries\":[", f);
	for (size_t e = 0; e < t->nent; e++) {
		fprintf(f, "%s%" PRIu32 ",%" PRIu32, e ? "," : "", t->ent[e].node, t->ent[e].set);
		for (size_t i = 0; i < t->nsides * t->ntypes; i++)
			fprintf(f, ",%" PRId64, t->vals[e * t->nsides * t->ntypes + i]);
	}
	fputs("]}", f);
}

/* The page, its data where the page holds DATA_MARK. */
static int print_page(const struct flame_tree *t, const char *title, FILE *f)
{
	const char *mark = strstr(flame_page_html, DATA_MARK);
	fwrite(flame_page_html, 1, (size_t)(mark - flame_page_html), f);
	print_data(t, title, f);
	fputs(mark + strlen(DATA_MARK), f);
	return 0;
}

int flame_write_html(const struct pprof_read *pr, const struct flame_opts *o,
		     struct base_output *out, char *err, size_t errlen)
{
	return flame_render(pr, o, print_page, out, err, errlen);
}
