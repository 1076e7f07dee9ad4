/*
 * Internal to pmu/: the libpfm4 boundary. Declared without any perf_event
 * types so both <linux/perf_event.h> users and pfm.c can include it.
 */
#ifndef PMUPROF_PMU_PFM_H
#define PMUPROF_PMU_PFM_H

#include <stddef.h>

/* Initialise libpfm4 on first use (idempotent, cheap afterwards); -ENODEV when it cannot. */
int pmu_pfm_init(void);

/* Encode a libpfm4 event string into a perf_event_attr of attr_size bytes. */
int pmu_pfm_encode(const char *name, void *attr, size_t attr_size, char *err, size_t errlen);

/* Calls fn for each event of each libpfm4 PMU present; stops at fn's first non-zero. */
int pmu_pfm_foreach(int (*fn)(const char *pmu, const char *pmu_desc, const char *event,
			      const char *desc, void *arg),
		    void *arg);

#endif
