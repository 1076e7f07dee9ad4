/*
 * The static flame graph: an SVG of one sample type as flamegraph.pl draws
 * it (root at the bottom, children in name order, warm colours, kernel
 * frames orange), each frame a rect with its name, value and share as a
 * <title> (the browser's tooltip) and its name as text where it fits.
 * A differential tree is drawn with the profile's widths and coloured by the
 * change of each frame's share from the baseline's: red grew, blue shrank.
 */
#include "flame_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SVG_WIDTH = 1200, SVG_PAD = 10, SVG_ROW = 16, SVG_TOP = 40, SVG_FONT = 12 };
/* Frames narrower than this many pixels are left out, as flamegraph.pl's --minwidth. */
#define SVG_MIN_WIDTH 0.1
/* An average glyph's width in the font, in font sizes (flamegraph.pl's fontwidth). */
#define SVG_GLYPH 0.59

/* s escaped for XML, at most max characters (never cutting one of UTF-8's sequences). */
static void xml_text(FILE *f, const char *s, size_t max)
{
	for (size_t n = 0; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80 && n++ == max)
			break;
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, f);
		}
	}
}

static void frame_colour(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);
	uint64_t h = base_htab_hash_bytes(name, n);
	unsigned a = (unsigned)(h & 0xff), b = (unsigned)(h >> 8 & 0xff), c = (unsigned)(h >> 16 & 0xff);
	if (n > 4 && strcmp(name + n - 4, "_[k]") == 0) /* kernel: flamegraph.pl's orange */
		snprintf(buf, len, "rgb(%u,%u,%u)", 200 + a * 55 / 255, 120 + b * 60 / 255, 40);
	else /* its "hot" palette */
		snprintf(buf, len, "rgb(%u,%u,%u)", 205 + a * 50 / 255, b * 230 / 255, c * 55 / 255);
}

/* The change of node i's share of the total from the baseline to the profile, in points. */
static double share_delta(const struct flame_tree *t, size_t i)
{
	double now = t->total[0] ? (double)t->total[i] / (double)t->total[0] : 0;
	double then = t->base_total[0] ? (double)t->base_total[i] / (double)t->base_total[0] : 0;
	double d = 100.0 * (now - then);
	return fabs(d) < 0.005 ? 0.0 : d; /* no "-0.00": rounding is no change */
}

/* flamegraph.pl's differential colours: red grew, blue shrank, white unchanged. */
static void delta_colour(double delta, double max, char *buf, size_t len)
{
	unsigned fade = max > 0 ? (unsigned)(210.0 * (1.0 - fabs(delta) / max)) : 210;
	if (fabs(delta) < 0.005)
		snprintf(buf, len, "rgb(235,235,235)");
	else if (delta > 0)
		snprintf(buf, len, "rgb(255,%u,%u)", fade, fade);
	else
		snprintf(buf, len, "rgb(%u,%u,255)", fade, fade);
}

static int print_svg(const struct flame_tree *t, const char *title, FILE *f)
{
	double *x = calloc(t->nnodes, sizeof(*x));
	uint32_t *depth = calloc(t->nnodes, sizeof(*depth));
	if (!x || !depth) {
		free(x);
		free(depth);
		return -ENOMEM;
	}
	const double width = SVG_WIDTH - 2 * SVG_PAD;
	const double scale = t->total[0] > 0 ? width / (double)t->total[0] : 0;
	uint32_t maxd = 0;
	/* Parents come before their children: each places its children left to right. */
	for (size_t i = 0; i < t->nnodes; i++) {
		double cx = x[i];
		for (size_t c = t->first[i]; c < t->first[i + 1]; c++) {
			uint32_t k = t->child[c];
			x[k] = cx;
			cx += (double)t->total[k] * scale;
			depth[k] = depth[i] + 1;
			if ((double)t->total[k] * scale >= SVG_MIN_WIDTH && depth[k] > maxd)
				maxd = depth[k];
		}
	}
	double max_delta = 0;
	for (size_t i = 1; t->base_total && i < t->nnodes; i++)
		if (fabs(share_delta(t, i)) > max_delta)
			max_delta = fabs(share_delta(t, i));
	int height = SVG_TOP + (int)(maxd + 1) * SVG_ROW + SVG_PAD;
	fprintf(f, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		   "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\">\n"
		   "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f8\"/>\n"
		   "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-family=\"Verdana, sans-serif\" "
		   "font-size=\"17\">%s: ",
		SVG_WIDTH, height, SVG_WIDTH, height, SVG_WIDTH / 2,
		t->base_total ? "Differential Flame Graph" : "Flame Graph");
	xml_text(f, title, SIZE_MAX);
	fputs(" (", f);
	xml_text(f, t->type_name[t->type], SIZE_MAX);
	fprintf(f, ")</text>\n<g font-family=\"Verdana, sans-serif\" font-size=\"%d\">\n", SVG_FONT);
	for (size_t i = 0; i < t->nnodes; i++) {
		double w = (double)t->total[i] * scale;
		if (w < SVG_MIN_WIDTH || t->total[i] <= 0)
			continue;
		const char *name = t->names[t->nodes[i].name];
		double y = SVG_TOP + (double)(maxd - depth[i]) * SVG_ROW;
		char colour[32];
		if (t->base_total)
			delta_colour(share_delta(t, i), max_delta, colour, sizeof(colour));
		else
			frame_colour(i ? name : "", colour, sizeof(colour));
		fputs("<g class=\"frame\"><title>", f);
		xml_text(f, name, SIZE_MAX);
		fprintf(f, " (%" PRId64 " %s, %.2f%%", t->total[i], t->type_unit[t->type],
			100.0 * (double)t->total[i] / (double)t->total[0]);
		if (t->base_total)
			fprintf(f, "; baseline %" PRId64 ", %.2f%%; %+.2f points", t->base_total[i],
				t->base_total[0] ? 100.0 * (double)t->base_total[i] /
							   (double)t->base_total[0]
						 : 0.0,
				share_delta(t, i));
		fprintf(f, ")</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
			   "fill=\"%s\" rx=\"2\"/>",
			SVG_PAD + x[i], y, w, SVG_ROW - 1, i ? colour : "rgb(200,200,200)");
		size_t fit = (size_t)((w - 6) / (SVG_FONT * SVG_GLYPH));
		if (fit >= 3) {
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", SVG_PAD + x[i] + 3, y + SVG_ROW - 4);
			size_t n = strlen(name);
			xml_text(f, name, n <= fit ? n : fit - 2);
			fputs(n <= fit ? "" : "..", f);
			fputs("</text>", f);
		}
		fputs("</g>\n", f);
	}
	fputs("</g>\n</svg>\n", f);
	free(x);
	free(depth);
	return 0;
}

int flame_write_svg(const struct pprof_read *pr, const struct flame_opts *o,
		    struct base_output *out, char *err, size_t errlen)
{
	return flame_render(pr, o, print_svg, out, err, errlen);
}
