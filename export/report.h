/*
 * report — `pmuprof report`: a pprof profile read back and printed as perf
 * report users expect: per sample type, the top entries by flat share with
 * cumulative share, counts, and per-entry ratios between sample types.
 */
#ifndef PMUPROF_REPORT_H
#define PMUPROF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct report_opts {
	const char *sample_type; /* -s TYPE: one sample type, NULL for all (except samples) */
	const char *sort;        /* --sort keys, comma separated: comm,dso,sym,srcline; default "sym" */
	int top;                 /* rows per sample type, default 20 when 0 */
	uint64_t max_inflated;   /* bytes a gzipped profile may inflate to; 0: PPROF_MAX_INFLATED */
};

/* Reads the profile at path (-EFBIG: it inflates past max_inflated) and prints its tables. */
int report_print(const char *path, const struct report_opts *opts, FILE *out, char *err,
		 size_t errlen);
/* The same for a profile already read (pprof_read_mem); `path` names it in messages. */
struct pprof_read;
int report_print_read(const struct pprof_read *pr, const char *path,
		      const struct report_opts *opts, FILE *out, char *err, size_t errlen);

#endif
