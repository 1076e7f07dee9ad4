/*
 * What the kernel moved during numa record (numa.h, "the kernel's NUMA
 * activity"): the NUMA tracepoints this kernel has — migrate:mm_migrate_pages
 * (pages migrated, and why: numa_misplaced is automatic balancing),
 * sched:sched_move_numa / sched_swap_numa (a task moved or swapped to
 * another node by balancing), sched:sched_stick_numa (a move it tried and
 * gave up), migrate:remove_migration_pte / thp:remove_migration_pmd (a
 * page or huge page mapped again after its migration: its address, and its
 * new frame's node, which times the move of a sampled page exactly) — read
 * through their format files' fields, each hit kept for the profile with its
 * stack; and /proc/vmstat's numa_* and pgmigrate_* counters before and
 * after, which are the whole machine's, not the command's.
 */
#include "numa.h"
#include "base.h"
#include "numa_internal.h"
#include "topology.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const kernel_tracepoints[NUMA_KERNEL_TP] = {
	"migrate:mm_migrate_pages", "sched:sched_move_numa",        "sched:sched_swap_numa",
	"sched:sched_stick_numa",   "migrate:remove_migration_pte", "thp:remove_migration_pmd",
};
enum { TP_MIGRATE_PAGES, TP_REMOVE_PTE = 4, TP_REMOVE_PMD = 5 };

/* /proc/vmstat's counters of NUMA balancing and migration, in its own words. */
static const char *const vmstat_names[NUMA_KERNEL_VMSTAT] = {
	"numa_hint_faults", "numa_hint_faults_local", "numa_pages_migrated", "pgmigrate_success",
	"pgmigrate_fail",   "numa_pte_updates",       "numa_huge_pte_updates",
};

/* One kept hit: its thread, CPU, node, stack and what the summary and profile say of it. */
struct kernel_hit {
	uint32_t pid, tid;
	int32_t cpu, node;
	int tp;             /* index in kernel_tracepoints */
	int type;           /* the event's sample type in the profile */
	uint64_t pages;     /* mm_migrate_pages: succeeded; remove_migration_*: the page's */
	int src_nid, dst_nid; /* sched_*_numa; remove_migration_*: dst_nid */
	char reason[24];    /* mm_migrate_pages: reason, as the kernel names it */
	size_t stack, nstack;
};

struct numa_kernel {
	struct numa_kernel_options o;
	struct pmu_tp_format fmt[NUMA_KERNEL_TP];
	bool have[NUMA_KERNEL_TP];
	struct numa_kernel_stats st;
	struct kernel_hit *hits;
	size_t nhits, hitcap;
	uint64_t *stacks;
	size_t nstacks, stackcap;
	int64_t *values;
	bool window_closed; /* /proc/vmstat read at the sampling's end */
	uint64_t page;      /* the page size, for a migrated entry's range */
};

static int tp_split(const char *full, char *sys, size_t syslen, const char **name)
{
	const char *colon = strchr(full, ':');
	snprintf(sys, syslen, "%.*s", (int)(colon - full), full);
	*name = colon + 1;
	return 0;
}

int numa_kernel_events(char *buf, size_t len, char *why, size_t whylen)
{
	size_t used = 0;
	buf[0] = why[0] = '\0';
	for (int i = 0; i < NUMA_KERNEL_TP; i++) {
		char sys[32], err[BASE_ERR_MAX];
		const char *name;
		tp_split(kernel_tracepoints[i], sys, sizeof(sys), &name);
		struct pmu_tp_format f;
		if (pmu_tp_format_read(&f, sys, name, err, sizeof(err)) < 0) {
			if (!why[0])
				snprintf(why, whylen, "%s", err);
			continue;
		}
		pmu_tp_format_free(&f);
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", kernel_tracepoints[i]);
		if (n < 0 || (size_t)n >= len - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	return 0;
}

/* The counters named in vmstat_names now; -errno when /proc/vmstat cannot be read. */
static int read_vmstat(uint64_t *v)
{
	FILE *f = fopen("/proc/vmstat", "re");
	if (!f)
		return -errno;
	memset(v, 0, NUMA_KERNEL_VMSTAT * sizeof(*v));
	char name[64];
	unsigned long long x;
	while (fscanf(f, "%63s %llu", name, &x) == 2)
		for (int i = 0; i < NUMA_KERNEL_VMSTAT; i++)
			if (strcmp(name, vmstat_names[i]) == 0)
				v[i] = x;
	fclose(f);
	return 0;
}

int numa_kernel_new(struct numa_kernel **out, const struct numa_kernel_options *o, char *err,
		    size_t errlen)
{
	struct numa_kernel *k = calloc(1, sizeof(*k));
	if (!k || !(k->values = calloc(1 + o->ntypes, sizeof(*k->values)))) {
		free(k);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	k->o = *o;
	long ps = sysconf(_SC_PAGESIZE);
	k->page = ps > 0 ? (uint64_t)ps : 4096;
	for (int i = 0; i < NUMA_KERNEL_TP; i++) {
		char sys[32], e[BASE_ERR_MAX];
		const char *name;
		tp_split(kernel_tracepoints[i], sys, sizeof(sys), &name);
		k->have[i] = pmu_tp_format_read(&k->fmt[i], sys, name, e, sizeof(e)) == 0;
	}
	*out = k;
	return 0;
}

void numa_kernel_window(struct numa_kernel *k, bool end)
{
	if (!end) {
		k->st.vmstat_ok = read_vmstat(k->st.vmstat_before) == 0;
		return;
	}
	uint64_t after[NUMA_KERNEL_VMSTAT];
	if (k->st.vmstat_ok && !k->window_closed && read_vmstat(after) == 0)
		for (int i = 0; i < NUMA_KERNEL_VMSTAT; i++)
			k->st.vmstat_delta[i] = after[i] - k->st.vmstat_before[i];
	else if (!k->window_closed)
		k->st.vmstat_ok = false;
	k->window_closed = true;
}

void numa_kernel_free(struct numa_kernel *k)
{
	if (!k)
		return;
	for (int i = 0; i < NUMA_KERNEL_TP; i++)
		pmu_tp_format_free(&k->fmt[i]);
	free(k->hits);
	free(k->stacks);
	free(k->values);
	free(k);
}

/* Which of kernel_tracepoints an event is (by its tracepoint id), or -1. */
static int tp_of(const struct numa_kernel *k, const struct eng_event *ev)
{
	if (ev->attr.type != PERF_TYPE_TRACEPOINT)
		return -1;
	for (int i = 0; i < NUMA_KERNEL_TP; i++)
		if (k->have[i] && k->fmt[i].id == ev->attr.config)
			return i;
	return -1;
}

static bool field_u64(const struct numa_kernel *k, int tp, const struct pabi_sample *s,
		      const char *name, uint64_t *v)
{
	const struct pmu_tp_field *f = pmu_tp_field(&k->fmt[tp], name);
	return f && pmu_tp_field_int(f, s->raw, s->raw_size, v) == 0;
}

static int64_t field(const struct numa_kernel *k, int tp, const struct pabi_sample *s,
		     const char *name)
{
	uint64_t v;
	return field_u64(k, tp, s, name, &v) ? (int64_t)v : -1;
}

/* A page mapped again after its migration: the sampled pages it holds moved then. */
static int migrated_mapped(struct numa_kernel *k, int tp, const struct pabi_sample *s,
			   struct kernel_hit *h)
{
	uint64_t addr, entry, order = 0, page = k->page;
	if (!field_u64(k, tp, s, "addr", &addr) ||
	    !field_u64(k, tp, s, tp == TP_REMOVE_PTE ? "pte" : "pmd", &entry))
		return 0;
	if (tp == TP_REMOVE_PMD)
		order = (uint64_t)__builtin_ctzll((2ull << 20) / page);
	else if (!field_u64(k, tp, s, "order", &order) || order > 20)
		order = 0;
	uint64_t phys = pabi_pte_phys(entry, tp == TP_REMOVE_PMD);
	h->dst_nid = phys ? topo_phys_node(k->o.phys, phys) : -1;
	h->pages = 1ull << order;
	k->st.migrated_mapped += h->pages;
	return k->o.run ? numa_page_moved(k->o.run, (pid_t)s->pid, addr, page << order, h->dst_nid,
					  s->time)
			: 0;
}

int numa_kernel_sample(struct numa_kernel *k, const struct eng_event *ev,
		       const struct pabi_sample *s)
{
	int tp = tp_of(k, ev);
	if (tp < 0 || (k->o.self && (pid_t)s->pid == k->o.self))
		return 0;
	if (BASE_GROW(k->hits, k->hitcap, k->nhits + 1) < 0 ||
	    BASE_GROW(k->stacks, k->stackcap, k->nstacks + AGG_MAX_STACK) < 0)
		return -ENOMEM;
	struct kernel_hit *h = &k->hits[k->nhits++];
	*h = (struct kernel_hit){
		.pid = s->pid,
		.tid = s->tid,
		.cpu = (int32_t)s->cpu,
		.node = k->o.node_of_cpu ? k->o.node_of_cpu(k->o.node_ctx, (int)s->cpu) : -1,
		.tp = tp,
		.type = ev->type,
		.src_nid = -1,
		.dst_nid = -1,
		.stack = k->nstacks,
	};
	h->nstack = agg_sample_stack(k->o.agg, s, k->stacks + k->nstacks);
	k->nstacks += h->nstack;
	k->st.hits[tp]++;
	if (tp == TP_REMOVE_PTE || tp == TP_REMOVE_PMD)
		return migrated_mapped(k, tp, s, h);
	if (tp == TP_MIGRATE_PAGES) {
		int64_t ok = field(k, tp, s, "succeeded"), failed = field(k, tp, s, "failed");
		int64_t reason = field(k, tp, s, "reason");
		h->pages = ok > 0 ? (uint64_t)ok : 0;
		k->st.migrated += h->pages;
		k->st.migrate_failed += failed > 0 ? (uint64_t)failed : 0;
		if (reason < 0 ||
		    !pmu_tp_symbolic(&k->fmt[tp], "reason", (uint64_t)reason, h->reason,
				     sizeof(h->reason)))
			snprintf(h->reason, sizeof(h->reason), "%" PRId64, reason);
		if (strcmp(h->reason, "numa_misplaced") == 0)
			k->st.migrated_balancing += h->pages;
	} else {
		h->src_nid = (int)field(k, tp, s, "src_nid");
		h->dst_nid = (int)field(k, tp, s, "dst_nid");
	}
	return 0;
}

int numa_kernel_finish(struct numa_kernel *k, char *err, size_t errlen)
{
	numa_kernel_window(k, true); /* when the caller did not close it at the sampling's end */
	for (size_t i = 0; i < k->nhits; i++) {
		const struct kernel_hit *h = &k->hits[i];
		const char *comm = proc_comm(k->o.procs, (pid_t)h->pid, (pid_t)h->tid);
		struct pprof_label l[8] = {
			{.key = "pid", .num = h->pid, .num_unit = "pid"},
			{.key = "tid", .num = h->tid, .num_unit = "tid"},
			{.key = "comm", .str = comm ? comm : "[unknown]"},
			{.key = "cpu", .num = h->cpu, .num_unit = "cpu"},
		};
		size_t n = 4;
		if (h->node >= 0)
			l[n++] = (struct pprof_label){.key = "node", .num = h->node, .num_unit = "node"};
		if (h->tp == TP_MIGRATE_PAGES) {
			l[n++] = (struct pprof_label){.key = "reason", .str = h->reason};
			l[n++] = (struct pprof_label){
				.key = "pages_migrated", .num = (int64_t)h->pages, .num_unit = "pages"};
		} else if (h->tp == TP_REMOVE_PTE || h->tp == TP_REMOVE_PMD) {
			l[n++] = (struct pprof_label){.key = "pages_migrated",
						      .num = (int64_t)h->pages,
						      .num_unit = "pages"};
			if (h->dst_nid >= 0)
				l[n++] = (struct pprof_label){
					.key = "dst_node", .num = h->dst_nid, .num_unit = "node"};
		} else if (h->dst_nid >= 0) {
			l[n++] = (struct pprof_label){
				.key = "src_node", .num = h->src_nid, .num_unit = "node"};
			l[n++] = (struct pprof_label){
				.key = "dst_node", .num = h->dst_nid, .num_unit = "node"};
		}
		memset(k->values, 0, (1 + k->o.ntypes) * sizeof(*k->values));
		k->values[0] = 1;
		if (h->type >= 0 && (size_t)h->type < k->o.ntypes)
			k->values[1 + h->type] = 1;
		int ret = pprof_add_sample(agg_profile(k->o.agg), k->stacks + h->stack, h->nstack,
					   k->values, l, n);
		if (ret < 0)
			return base_fail(err, errlen, ret, "numa: out of memory adding %zu tracepoint hits",
					 k->nhits);
	}
	return 0;
}

const struct numa_kernel_stats *numa_kernel_stats(const struct numa_kernel *k)
{
	return &k->st;
}

void numa_kernel_print(const struct numa_kernel *k, FILE *out)
{
	const struct numa_kernel_stats *st = &k->st;
	bool any = false;
	for (int i = 0; i < NUMA_KERNEL_TP; i++)
		any |= k->have[i];
	if (any) {
		fprintf(out, "the kernel, for the recorded threads: %" PRIu64
			     " page migrations (mm_migrate_pages) moved %" PRIu64 " pages, %" PRIu64
			     " of them for NUMA balancing (numa_misplaced), %" PRIu64 " failed\n",
			st->hits[0], st->migrated, st->migrated_balancing, st->migrate_failed);
		fprintf(out, "  tasks moved to another node by balancing: %" PRIu64
			     " (sched_move_numa), swapped: %" PRIu64 " (sched_swap_numa), moves "
			     "given up: %" PRIu64 " (sched_stick_numa)\n",
			st->hits[1], st->hits[2], st->hits[3]);
		if (k->have[TP_REMOVE_PTE] || k->have[TP_REMOVE_PMD])
			fprintf(out,
				"  pages mapped again after a migration, with their address: "
				"%" PRIu64 " (remove_migration_pte: %" PRIu64
				" pages, _pmd: %" PRIu64 " huge pages)\n",
				st->migrated_mapped, st->hits[TP_REMOVE_PTE],
				st->hits[TP_REMOVE_PMD]);
		for (size_t i = 0; i < k->nhits; i++) {
			const struct kernel_hit *h = &k->hits[i];
			if (h->tp != 1 && h->tp != 2)
				continue;
			fprintf(out, "    tid %" PRIu32 " %s node %d -> node %d\n", h->tid,
				h->tp == 1 ? "moved" : "swapped", h->src_nid, h->dst_nid);
		}
	}
	if (st->vmstat_ok)
		fprintf(out, "the whole machine during the run (/proc/vmstat): numa_hint_faults %" PRIu64
			     " (local %" PRIu64 "), numa_pages_migrated %" PRIu64 ", pgmigrate_success %"
			     PRIu64 ", numa_pte_updates %" PRIu64 "\n",
			st->vmstat_delta[0], st->vmstat_delta[1], st->vmstat_delta[2],
			st->vmstat_delta[3], st->vmstat_delta[5]);
}
