/*
 * Built-in event names: perf's generic hardware and software events and its
 * cache-event grammar. Spellings and aliases follow perf's so that command
 * lines move between the two tools unchanged.
 */
#include "pmu_internal.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define HW(n, c, d) {n, PERF_TYPE_HARDWARE, PERF_COUNT_HW_##c, d}
#define SW(n, c, d) {n, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_##c, d}

/* Canonical names come first for each config so listings show them. */
const struct pmu_named_event pmu_generic_events[] = {
	HW("cycles", CPU_CYCLES, "CPU cycles"),
	HW("cpu-cycles", CPU_CYCLES, NULL),
	HW("instructions", INSTRUCTIONS, "instructions retired"),
	HW("cache-references", CACHE_REFERENCES, "cache accesses (usually last-level cache)"),
	HW("cache-misses", CACHE_MISSES, "cache misses (usually last-level cache)"),
	HW("branches", BRANCH_INSTRUCTIONS, "branch instructions retired"),
	HW("branch-instructions", BRANCH_INSTRUCTIONS, NULL),
	HW("branch-misses", BRANCH_MISSES, "mispredicted branches"),
	HW("bus-cycles", BUS_CYCLES, "bus cycles"),
	HW("stalled-cycles-frontend", STALLED_CYCLES_FRONTEND, "cycles stalled in the front end"),
	HW("idle-cycles-frontend", STALLED_CYCLES_FRONTEND, NULL),
	HW("stalled-cycles-backend", STALLED_CYCLES_BACKEND, "cycles stalled in the back end"),
	HW("idle-cycles-backend", STALLED_CYCLES_BACKEND, NULL),
	HW("ref-cycles", REF_CPU_CYCLES, "reference cycles (constant rate)"),
	SW("cpu-clock", CPU_CLOCK, "per-CPU high-resolution timer"),
	SW("task-clock", TASK_CLOCK, "per-task clock: time the task ran"),
	SW("page-faults", PAGE_FAULTS, "page faults"),
	SW("faults", PAGE_FAULTS, NULL),
	SW("context-switches", CONTEXT_SWITCHES, "context switches"),
	SW("cs", CONTEXT_SWITCHES, NULL),
	SW("cpu-migrations", CPU_MIGRATIONS, "migrations of the task to another CPU"),
	SW("migrations", CPU_MIGRATIONS, NULL),
	SW("minor-faults", PAGE_FAULTS_MIN, "page faults served without I/O"),
	SW("major-faults", PAGE_FAULTS_MAJ, "page faults that needed I/O"),
	SW("alignment-faults", ALIGNMENT_FAULTS, "alignment faults fixed up by the kernel"),
	SW("emulation-faults", EMULATION_FAULTS, "instructions emulated by the kernel"),
	SW("dummy", DUMMY, "placeholder that counts nothing (side-band records only)"),
	SW("bpf-output", BPF_OUTPUT, "output from BPF programs"),
	SW("cgroup-switches", CGROUP_SWITCHES, "context switches to a task in another cgroup"),
};
const size_t pmu_generic_events_count = sizeof(pmu_generic_events) / sizeof(pmu_generic_events[0]);

const struct pmu_cache_name pmu_cache_types[PERF_COUNT_HW_CACHE_MAX] = {
	{PERF_COUNT_HW_CACHE_L1D, {"L1-dcache", "l1-d", "l1d", "L1-data", NULL}},
	{PERF_COUNT_HW_CACHE_L1I, {"L1-icache", "l1-i", "l1i", "L1-instruction", NULL}},
	{PERF_COUNT_HW_CACHE_LL, {"LLC", "L2", NULL}},
	{PERF_COUNT_HW_CACHE_DTLB, {"dTLB", "d-tlb", "Data-TLB", NULL}},
	{PERF_COUNT_HW_CACHE_ITLB, {"iTLB", "i-tlb", "Instruction-TLB", NULL}},
	{PERF_COUNT_HW_CACHE_BPU, {"branch", "branches", "bpu", "btb", NULL}},
	{PERF_COUNT_HW_CACHE_NODE, {"node", NULL}},
};

const struct pmu_cache_name pmu_cache_ops[PERF_COUNT_HW_CACHE_OP_MAX] = {
	{PERF_COUNT_HW_CACHE_OP_READ, {"load", "loads", "read", NULL}},
	{PERF_COUNT_HW_CACHE_OP_WRITE, {"store", "stores", "write", NULL}},
	{PERF_COUNT_HW_CACHE_OP_PREFETCH,
	 {"prefetch", "prefetches", "speculative-read", "speculative-load", NULL}},
};

const struct pmu_cache_name pmu_cache_results[PERF_COUNT_HW_CACHE_RESULT_MAX] = {
	{PERF_COUNT_HW_CACHE_RESULT_ACCESS, {"refs", "Reference", "ops", "access", NULL}},
	{PERF_COUNT_HW_CACHE_RESULT_MISS, {"misses", "miss", NULL}},
};

bool pmu_cache_op_valid(unsigned type, unsigned op)
{
	/* As perf: instruction caches and the branch unit are only read. */
	if (type == PERF_COUNT_HW_CACHE_L1I || type == PERF_COUNT_HW_CACHE_ITLB ||
	    type == PERF_COUNT_HW_CACHE_BPU)
		return op == PERF_COUNT_HW_CACHE_OP_READ;
	return true;
}

/* Length of the alias of `table` that prefixes `s` (followed by '-' or end), 0 if none. */
static size_t match_alias(const struct pmu_cache_name *table, size_t n, const char *s, unsigned *id)
{
	size_t best = 0;
	for (size_t i = 0; i < n; i++) {
		for (const char *const *a = table[i].names; *a; a++) {
			size_t len = strlen(*a);
			if (len > best && strncasecmp(s, *a, len) == 0 && (s[len] == '-' || s[len] == 0)) {
				best = len;
				*id = table[i].id;
			}
		}
	}
	return best;
}

int pmu_cache_lookup(const char *name, uint64_t *config)
{
	unsigned type = 0, op = PERF_COUNT_HW_CACHE_OP_READ, result = PERF_COUNT_HW_CACHE_RESULT_ACCESS;
	size_t n = match_alias(pmu_cache_types, PERF_COUNT_HW_CACHE_MAX, name, &type);
	if (n == 0)
		return -ENOENT;
	const char *rest = name + n;
	if (*rest == 0)
		return -ENOENT; /* a bare cache name ("LLC") is not an event */
	rest++;
	/* Up to two more parts, op and result, each optional (perf's defaults). */
	bool have_op = false, have_result = false;
	while (*rest) {
		unsigned id;
		size_t m;
		if (!have_op && !have_result &&
		    (m = match_alias(pmu_cache_ops, PERF_COUNT_HW_CACHE_OP_MAX, rest, &id)) > 0) {
			op = id;
			have_op = true;
		} else if (!have_result &&
			   (m = match_alias(pmu_cache_results, PERF_COUNT_HW_CACHE_RESULT_MAX, rest,
					    &id)) > 0) {
			result = id;
			have_result = true;
		} else {
			return -ENOENT;
		}
		rest += m;
		if (*rest == '-')
			rest++;
		else if (*rest)
			return -ENOENT;
	}
	if (!pmu_cache_op_valid(type, op))
		return -ENOENT;
	*config = type | (op << 8) | ((uint64_t)result << 16);
	return 0;
}
