/* The pprof reader `pmuprof report` uses (gzipped or not) and the report printed from it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct pprof_read *pr;
	/* 64 MiB: enough for any seed, small enough that a bomb ends quickly. */
	if (pprof_read_mem(&pr, "fuzz.pb.gz", data, size, 64 << 20, err, sizeof(err)) < 0)
		return 0;
	FILE *out = fopen("/dev/null", "w");
	if (!out)
		abort();
	static const char *const sorts[] = {"sym", "comm,dso,sym,srcline"};
	for (size_t i = 0; i < 2; i++) {
		struct pprof_report_opts o = {.sort = sorts[i], .top = 5};
		(void)pprof_report_print_read(pr, "fuzz.pb.gz", &o, out, err, sizeof(err));
	}
	fclose(out);
	pprof_read_free(pr);
	return 0;
}
