/*
 * Tracepoint format text (pmu_tp_format_parse), as perf.data files carry it,
 * and every field of what it accepts read out of a payload made of the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pmu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[BASE_ERR_MAX];
	struct pmu_tp_format f;
	if (pmu_tp_format_parse(&f, (const char *)data, size, err, sizeof(err)) < 0)
		return 0;
	for (size_t i = 0; i < f.nfields; i++) {
		uint64_t v;
		const void *p;
		size_t n;
		(void)pmu_tp_field_int(&f.fields[i], data, size, &v);
		if (pmu_tp_field_data(&f.fields[i], data, size, &p, &n) == 0 && n &&
		    ((const uint8_t *)p < data || (const uint8_t *)p + n > data + size))
			abort(); /* a field outside the payload */
	}
	pmu_tp_format_free(&f);
	return 0;
}
