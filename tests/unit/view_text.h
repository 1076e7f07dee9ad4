/*
 * flame/'s views for the unit tests: a built profile encoded and read back as
 * the views read it, and a view as text, written through base's output into
 * a temporary file as the command writes it, and read back.
 */
#ifndef PMUPROF_TEST_VIEW_TEXT_H
#define PMUPROF_TEST_VIEW_TEXT_H

#include "base.h"
#include "flame.h"

struct pprof;

/* p encoded and read back (pprof_read_mem); p is freed. Aborts on failure. */
struct pprof_read *view_text_read(struct pprof *p);

typedef int (*view_text_fn)(const struct pprof_read *, const struct flame_opts *,
			    struct base_output *, char *, size_t);

/* fn's view of pr with o, read back (malloc'd, at most 1 MiB); *rc is fn's result. */
char *view_text(view_text_fn fn, const struct pprof_read *pr, const struct flame_opts *o, int *rc,
		char *err, size_t errlen);

#endif
