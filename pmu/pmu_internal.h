/*
 * Internal to pmu/: the built-in name tables, the sysfs PMU descriptions
 * held by a pmu_ctx, and helpers shared between the parser, the catalogue
 * and the opener. Not part of the module's public header.
 */
#ifndef PMUPROF_PMU_INTERNAL_H
#define PMUPROF_PMU_INTERNAL_H

#include "pmu.h"

#include <limits.h>
#include <stdarg.h>

/* A perf "legacy" event: generic hardware or software, by name. */
struct pmu_named_event {
	const char *name;
	uint32_t type;
	uint64_t config;
	const char *desc;
};

extern const struct pmu_named_event pmu_generic_events[];
extern const size_t pmu_generic_events_count;

/* perf's cache event naming: <cache>-<op>-<result>, with aliases. */
struct pmu_cache_name {
	unsigned id;
	const char *names[5]; /* canonical first, NULL-terminated */
};
extern const struct pmu_cache_name pmu_cache_types[PERF_COUNT_HW_CACHE_MAX];
extern const struct pmu_cache_name pmu_cache_ops[PERF_COUNT_HW_CACHE_OP_MAX];
extern const struct pmu_cache_name pmu_cache_results[PERF_COUNT_HW_CACHE_RESULT_MAX];

/* Which cache/op pairs perf lists (the rest the hardware never implements). */
bool pmu_cache_op_valid(unsigned type, unsigned op);

/* One bit range of a sysfs format: value bits land in [lo, hi] of config[word]. */
struct pmu_format_range {
	unsigned lo, hi;
};

struct pmu_format {
	char name[32];
	unsigned word; /* 0 = config, 1 = config1, 2 = config2 */
	unsigned nranges;
	struct pmu_format_range ranges[4];
};

/* A named event of a sysfs PMU (its events/ directory). */
struct pmu_alias {
	char name[96];
	char terms[256]; /* e.g. "event=0x2e,umask=0x41" */
	char unit[16];
	double scale;
	char *desc; /* sysfs has none; kept for symmetry with libpfm4 (NULL) */
};

struct pmu_sysfs {
	char name[64];
	uint32_t type;
	int max_precise; /* caps/max_precise, -1 when absent */
	struct pmu_format *formats;
	size_t nformats;
	struct pmu_alias *aliases;
	size_t naliases;
};

struct pmu_ctx {
	char root[PATH_MAX];
	struct pmu_sysfs *pmus;
	size_t npmus;
};

const struct pmu_sysfs *pmu_sysfs_find(const struct pmu_ctx *ctx, const char *name);
const struct pmu_sysfs *pmu_sysfs_find_type(const struct pmu_ctx *ctx, uint32_t type);
const struct pmu_format *pmu_sysfs_format(const struct pmu_sysfs *pmu, const char *name);
const struct pmu_alias *pmu_sysfs_alias(const struct pmu_sysfs *pmu, const char *name);
/* The core CPU PMU ("cpu", "cpu_core", "armv8_pmuv3_0", ...), or NULL. */
const struct pmu_sysfs *pmu_sysfs_core(const struct pmu_ctx *ctx);

/* Opens (type, config) for the calling task, user space only, and closes it: 0 or -errno. */
int pmu_probe_event(uint32_t type, uint64_t config);

/* Place `value` into attr->config* through `fmt`'s bit ranges; -ERANGE if it does not fit. */
int pmu_format_place(const struct pmu_format *fmt, uint64_t value, struct perf_event_attr *attr);
/* Width in bits of a format (sum of its ranges). */
unsigned pmu_format_bits(const struct pmu_format *fmt);

int pmu_sysfs_load(struct pmu_ctx *ctx, char *err, size_t errlen);
void pmu_sysfs_free(struct pmu_ctx *ctx);

/* Cache event config from its perf name, or -ENOENT. */
int pmu_cache_lookup(const char *name, uint64_t *config);


/* Appends "; did you mean 'x' or 'y'?" for the nearest known names, if any are near. */
void pmu_suggest(const struct pmu_ctx *ctx, const char *word, char *buf, size_t buflen);
/* Levenshtein distance, case-insensitive; exposed for the unit tests. */
size_t pmu_edit_distance(const char *a, const char *b);

#endif
