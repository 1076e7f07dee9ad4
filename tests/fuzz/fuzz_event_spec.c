/* The -e event-spec parser (pmu_parse_events) on any string, on the test sysfs and tracefs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pmu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One context for the whole run: building it reads sysfs and initializes libpfm4. */
static struct pmu_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[BASE_ERR_MAX];
	if (!ctx && (setenv("TRACEFS_PATH", TEST_TRACEFS, 1) < 0 ||
		     pmu_ctx_new(&ctx, TEST_SYSFS_ROOT, err, sizeof(err)) < 0))
		abort();
	char *spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	struct pmu_event_list list;
	memset(&list, 0, sizeof(list));
	(void)pmu_parse_events(ctx, spec, &list, err, sizeof(err));
	pmu_event_list_free(&list);
	free(spec);
	return 0;
}
