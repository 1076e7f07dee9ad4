/*
 * Internal to pmu/: the built-in name tables, the sysfs PMU descriptions
 * held by a pmu_ctx, helpers shared between the parser, the catalogue
 * and the opener, and the arithmetic of the perf mmap page's user-space
 * read (the harness's rdpmc path). Not part of the module's public header.
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
	struct pmu_cpu cpu; /* the CPU presets are expanded for (tests may overwrite it) */
};

const struct pmu_sysfs *pmu_sysfs_find(const struct pmu_ctx *ctx, const char *name);
const struct pmu_sysfs *pmu_sysfs_find_type(const struct pmu_ctx *ctx, uint32_t type);
const struct pmu_format *pmu_sysfs_format(const struct pmu_sysfs *pmu, const char *name);
const struct pmu_alias *pmu_sysfs_alias(const struct pmu_sysfs *pmu, const char *name);
/* The core CPU PMU ("cpu", "cpu_core", "armv8_pmuv3_0", ...), or NULL. */
const struct pmu_sysfs *pmu_sysfs_core(const struct pmu_ctx *ctx);

/* Opens (type, config) for the calling task, user space only, and closes it: 0 or -errno. */
int pmu_probe_event(uint32_t type, uint64_t config);

/*
 * Opens an event (counting or sampling) with attr (the caller's copy of
 * ev->attr, adjusted) on one CPU and task: pmu_open_event's step, with its
 * older-kernel retries. user_fallback: PMU_OPEN_USER_FALLBACK's retry. The
 * fd, or the negative errno with err explaining the failure.
 */
int pmu_open_counter(const struct pmu_ctx *ctx, struct pmu_event *ev, struct perf_event_attr *attr,
		     pid_t pid, int cpu, int group_fd, bool user_fallback, char *err,
		     size_t errlen);

/* Place `value` into attr->config* through `fmt`'s bit ranges; -ERANGE if it does not fit. */
int pmu_format_place(const struct pmu_format *fmt, uint64_t value, struct perf_event_attr *attr);
/* Width in bits of a format (sum of its ranges). */
unsigned pmu_format_bits(const struct pmu_format *fmt);

/* Reads a small sysfs or tracefs file into buf without its trailing newline; -errno on failure. */
int pmu_read_small_file(const char *path, char *buf, size_t len);

int pmu_sysfs_load(struct pmu_ctx *ctx, char *err, size_t errlen);
void pmu_sysfs_free(struct pmu_ctx *ctx);

/* Cache event config from its perf name, or -ENOENT. */
int pmu_cache_lookup(const char *name, uint64_t *config);

/* --- host CPU identity (host.c) ---------------------------------------------- */

/* "GenuineIntel-6-55-4" / "AuthenticAMD-26-2" (family decimal, model and stepping hex). */
int pmu_cpu_parse(const char *spec, struct pmu_cpu *out, char *err, size_t errlen);
/* The first processor's vendor_id, cpu family, model, stepping; zeroed fields when absent. */
int pmu_cpu_from_cpuinfo(const char *path, struct pmu_cpu *out);
/* PMUPROF_CPUID when set (an error if malformed), else /proc/cpuinfo. */
int pmu_cpu_detect(struct pmu_cpu *out, char *err, size_t errlen);

/* --- presets (presets.c) ------------------------------------------------------ */

/* One event of a preset for one CPU row: a raw event/umask, or a perf generic name. */
struct pmu_preset_event {
	const char *name;    /* display name: the perf JSON spelling */
	const char *generic; /* perf generic event ("L1-dcache-load-misses"), NULL when raw */
	uint16_t event;      /* event select (AMD: up to 12 bits, 8-11 go to config 32-35) */
	uint8_t umask;
	const char *pfm;     /* libpfm4 spelling with the same code, NULL when it has none */
	const char *what;    /* what it counts, and its caveats */
};

/* A CPU family/model range and its expansion of each preset. */
struct pmu_preset_row {
	const char *label;     /* "AMD Zen 4" */
	const char *vendor;    /* "AuthenticAMD" */
	unsigned family;
	const char *models;    /* hex ranges, "10-1f,60-ff" */
	const char *steppings; /* hex ranges, NULL for any */
	const char *source;    /* the perf JSON file the codes come from */
	bool hybrid_core;      /* raw events go to the cpu_core PMU where it exists */
	const struct pmu_preset_event *sharing;
	size_t nsharing;
	const struct pmu_preset_event *cache;
	size_t ncache;
};

/* The table, for tests and docs: row i, or NULL past the end. */
const struct pmu_preset_row *pmu_preset_row(size_t i);
/* Does row r cover cpu (vendor, family, model and stepping ranges)? */
bool pmu_preset_row_covers(const struct pmu_preset_row *r, const struct pmu_cpu *cpu);
/* The row covering cpu, or NULL. */
const struct pmu_preset_row *pmu_preset_match(const struct pmu_cpu *cpu);
/* True when `name` (without modifiers) is a preset. */
bool pmu_preset_is(const char *name);

#define PMU_PRESET_MAX 8 /* events a preset expands to, at most */

/* One expanded event, with how it was encoded ("raw r0444", "libpfm4 skl::...", "generic"). */
struct pmu_preset_item {
	struct pmu_event ev;
	char how[PMU_NAME_MAX + 16];
	const char *what;
};

/*
 * Expands preset `name` for ctx->cpu into items[0..*n). A CPU the table
 * lacks gets generic events where the preset has a generic meaning (cache)
 * and a one-line `notice` saying so; where it has none (sharing) the call
 * fails with -ENOENT and a message that names the CPU and the alternatives.
 */
int pmu_preset_expand(const struct pmu_ctx *ctx, const char *name, struct pmu_preset_item *items,
		      size_t *n, char *notice, size_t noticelen, char *err, size_t errlen);

/* The presets as `list` entries (PMU_LIST_PRESET). no_hw: say they cannot open here. */
int pmu_preset_list(const struct pmu_ctx *ctx, bool no_hw,
		    int (*fn)(const struct pmu_list_entry *e, void *arg), void *arg);

/* --- tracepoints (tracepoint.c) ----------------------------------------------- */

/*
 * Calls fn for each tracepoint matching sys:name (globs in either part), in
 * perf's listing order, with its id. An unknown name or a glob that matches
 * nothing is -ENOENT (no_subsystem: no subsystem matched either), with a
 * line naming the cause and the nearest names; no readable tracefs, its error.
 */
int pmu_tp_resolve(const struct pmu_ctx *ctx, const char *sys, const char *name,
		   int (*fn)(const char *sys, const char *name, uint64_t id, void *arg), void *arg,
		   bool *no_subsystem, char *err, size_t errlen);
/* The tracepoints as `list` entries (PMU_LIST_TRACEPOINT); none without a tracefs. */
int pmu_tp_list(int (*fn)(const struct pmu_list_entry *e, void *arg), void *arg);

/* Appends "; did you mean 'x' or 'y'?" for the nearest known names, if any are near. */
void pmu_suggest(const struct pmu_ctx *ctx, const char *word, char *buf, size_t buflen);
/* Levenshtein distance, case-insensitive; exposed for the unit tests. */
size_t pmu_edit_distance(const char *a, const char *b);

#endif
