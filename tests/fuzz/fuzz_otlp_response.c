/* The OTLP/HTTP response decoder: a collector's ExportProfilesServiceResponse (partial_success). */
#include <stdint.h>
#include <string.h>

#include "otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t rejected;
	char msg[256];
	int r = otlp_decode_response(data, size, &rejected, msg, sizeof(msg));
	if (r >= 0 && strlen(msg) >= sizeof(msg))
		__builtin_trap(); /* the message must stay bounded and terminated */
	return 0;
}
