/*
 * flame — a profile's stacks as views: Brendan Gregg's folded stacks
 * (flamegraph.pl, speedscope), one self-contained interactive HTML flame
 * graph (every sample type, zoom, search, flame or icicle, label filters;
 * no network), and a static SVG flame graph of one sample type.
 *
 * All three are drawn from one prefix tree of frames built from a decoded
 * pprof (profile's pprof_read): root first, the sample's comm label as the
 * root frame (as stackcollapse-perf.pl does), then each location's lines
 * outermost first, so inline frames are frames of their own; a frame is its
 * function's name, "[unknown]" without one, and kernel frames carry "_[k]"
 * (perf's stackcollapse --kernel). Each output is written through base's
 * output (atomically, or in place for "-", a device or a FIFO). Returns 0
 * or a negative errno with a one-line message.
 */
#ifndef PMUPROF_FLAME_H
#define PMUPROF_FLAME_H

#include <stdbool.h>
#include <stddef.h>

struct base_output; /* base.h */
struct pprof_read;  /* profile.h */

struct flame_opts {
	const char *sample_type; /* NULL: the profile's default sample type, else its first event */
	const char *title;       /* names the profile in the graph and in messages */
	bool no_inline;          /* a location is its outermost function only (perf's --no-inline) */
	/*
	 * A baseline makes each view differential (pmuprof diff): frames of both profiles in
	 * one tree, of the sample types both have; widths are the profile's, and a frame's
	 * colour is the change of its share of the total from the baseline's, red where it
	 * grew and blue where it shrank (Brendan Gregg's differential flame graphs). Folded
	 * stacks get both values, "stack BASELINE VALUE", as flamegraph.pl reads them.
	 */
	const struct pprof_read *baseline;
	const char *baseline_title;
};

/* Folded stacks of one sample type: "comm;root;...;leaf VALUE", one line per distinct stack. */
int flame_write_folded(const struct pprof_read *pr, const struct flame_opts *o,
		       struct base_output *out, char *err, size_t errlen);
/* The interactive HTML flame graph of every sample type (o->sample_type: the one shown first). */
int flame_write_html(const struct pprof_read *pr, const struct flame_opts *o,
		     struct base_output *out, char *err, size_t errlen);
/* A static SVG flame graph of one sample type. */
int flame_write_svg(const struct pprof_read *pr, const struct flame_opts *o,
		    struct base_output *out, char *err, size_t errlen);

#endif
