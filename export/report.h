/*
 * report — `pmuprof report`: a pprof profile read back and printed as perf
 * report users expect: per sample type, the top entries by flat share with
 * cumulative share, counts, and per-entry ratios between sample types.
 */
#ifndef PMUPROF_REPORT_H
#define PMUPROF_REPORT_H

#include <stddef.h>
#include <stdio.h>

struct report_opts {
	const char *sample_type; /* -s TYPE: one sample type, NULL for all (except samples) */
	const char *sort;        /* --sort keys, comma separated: comm,dso,sym,srcline; default "sym" */
	int top;                 /* rows per sample type, default 20 when 0 */
};

int report_print(const char *path, const struct report_opts *opts, FILE *out, char *err,
		 size_t errlen);

#endif
