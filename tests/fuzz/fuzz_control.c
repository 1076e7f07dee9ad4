/*
 * record --control's command parser (pmu_control_take) on any byte stream,
 * delivered in pieces of the sizes a fifo read could return.
 */
#include <stdint.h>
#include <string.h>

#include "pmu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[PMU_CONTROL_LINE_MAX], last[PMU_CONTROL_LINE_MAX] = "";
	size_t used = 0, at = 0;
	/* The first byte picks the size of each read. */
	size_t chunk = size ? (size_t)data[0] % 64 + 1 : 1;
	while (at < size || used) {
		enum pmu_control_cmd cmd;
		while ((cmd = pmu_control_take(buf, &used, sizeof(buf), last, sizeof(last))) !=
		       PMU_CTL_NONE)
			if (cmd > PMU_CTL_UNKNOWN || strlen(last) >= sizeof(last))
				__builtin_trap();
		if (at == size)
			break;
		size_t n = sizeof(buf) - used;
		if (n > chunk)
			n = chunk;
		if (n > size - at)
			n = size - at;
		memcpy(buf + used, data + at, n);
		used += n;
		at += n;
	}
	return 0;
}
