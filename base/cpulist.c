/* CPU lists as the kernel prints them (sysfs, perf.data's topology) and -C takes them. */
#include "base.h"

#include <errno.h>
#include <stdlib.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int base_parse_cpu_list(const char *s, int **cpus, int *ncpus, char *err, size_t errlen)
{
	int *out = NULL, n = 0, cap = 0;
	const char *p = s;
	while (*p) {
		char *end;
		long lo = strtol(p, &end, 10), hi;
		if (end == p || lo < 0)
			goto bad;
		p = end;
		hi = lo;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			if (end == p + 1 || hi < lo)
				goto bad;
			p = end;
		}
		if (hi > 65535)
			goto bad;
		for (long c = lo; c <= hi; c++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				int *grown = realloc(out, (size_t)cap * sizeof(int));
				if (!grown) {
					free(out);
					return base_fail(err, errlen, -ENOMEM, "out of memory");
				}
				out = grown;
			}
			out[n++] = (int)c;
		}
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	if (n == 0)
		goto bad;
	qsort(out, (size_t)n, sizeof(int), cmp_int);
	int k = 0;
	for (int i = 0; i < n; i++)
		if (k == 0 || out[k - 1] != out[i])
			out[k++] = out[i];
	*cpus = out;
	*ncpus = k;
	return 0;
bad:
	free(out);
	return base_fail(err, errlen, -EINVAL,
			 "malformed CPU list '%s'; expected numbers and ranges like 0-3,6", s);
}
