/*
 * The topology module, whole: loading the hwloc topology (this machine or a
 * synthetic description) into a read-only struct topo, the reader placement
 * plans built from it, pinning reader threads, node-local pre-faulted
 * buffers, and the human descriptions of the machine and of a plan.
 *
 * A struct topo is never modified after topo_load(), so reader threads may
 * call topo_bind_thread() and topo_alloc_local() on it concurrently (hwloc
 * allows concurrent readers of one loaded topology).
 */
#include "topology.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <limits.h>
#include <numa.h>
#include <numaif.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

struct topo {
	hwloc_topology_t h;
	char *synthetic; /* the description, NULL for this machine */
	int npus;
	hwloc_obj_t *pus; /* PUs in logical (topology) order */
	int *pu_cpu;      /* CPU number of each PU: os index, or logical index if synthetic */
	int *pu_node;     /* index into nodes[] of each PU's NUMA node, -1 if none */
	bool *pu_allowed; /* false for PUs outside this process's cpuset (cgroups) */
	int maxcpu;
	int *cpu_pu; /* [0..maxcpu]: logical PU index of a CPU number, -1 if absent */
	int nnodes;
	hwloc_obj_t *nodes; /* NUMA nodes in logical order */
	size_t line;
};

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* ---- CPU lists and sizes as text ---- */

/* Next run lo..hi of consecutive numbers in ascending cpus[], from *i on. */
static bool next_range(const int *cpus, int n, int *i, int *lo, int *hi)
{
	if (*i >= n)
		return false;
	*lo = *hi = cpus[(*i)++];
	while (*i < n && cpus[*i] == *hi + 1)
		*hi = cpus[(*i)++];
	return true;
}

static void print_cpulist(FILE *out, const int *cpus, int n)
{
	int i = 0, lo, hi;
	bool first = true;
	if (n == 0)
		fputs("none", out);
	while (next_range(cpus, n, &i, &lo, &hi)) {
		fprintf(out, hi == lo ? "%s%d" : "%s%d-%d", first ? "" : ",", lo, hi);
		first = false;
	}
}

/* The same into buf; a list too long for it ends in "...". */
static void format_cpulist(char *buf, size_t len, const int *cpus, int n)
{
	int i = 0, lo, hi;
	size_t used = 0;
	buf[0] = '\0';
	while (next_range(cpus, n, &i, &lo, &hi)) {
		char part[32];
		int w = snprintf(part, sizeof(part), hi == lo ? "%s%d" : "%s%d-%d",
				 used ? "," : "", lo, hi);
		if (used + (size_t)w + 4 > len) {
			snprintf(buf + used, len - used, "...");
			return;
		}
		memcpy(buf + used, part, (size_t)w + 1);
		used += (size_t)w;
	}
}

/* Binary units, exact when possible: "48 KiB", "1 MiB", "4.7 GiB". */
static void format_bytes(char *buf, size_t len, uint64_t b)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int u = 0;
	uint64_t div = 1;
	while (u < 5 && b >= div * 1024) {
		div *= 1024;
		u++;
	}
	if (b % div == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(b / div), units[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)b / (double)div, units[u]);
}

/* ---- loading ---- */

/*
 * A PU's NUMA node: the one with the smallest cpuset containing it, so a
 * CPU-less node attached higher up (CXL memory, a machine-wide memory
 * node) never wins over the node next to the CPU; ties go to the lowest
 * os index (DRAM before high-bandwidth memory on such machines).
 */
static int pu_primary_node(const struct topo *t, hwloc_obj_t pu)
{
	int best = -1, best_w = 0;
	for (int n = 0; n < t->nnodes; n++) {
		hwloc_obj_t node = t->nodes[n];
		if (!node->cpuset || !hwloc_bitmap_isincluded(pu->cpuset, node->cpuset))
			continue;
		int w = hwloc_bitmap_weight(node->cpuset);
		if (best < 0 || w < best_w ||
		    (w == best_w && node->os_index < t->nodes[best]->os_index)) {
			best = n;
			best_w = w;
		}
	}
	return best;
}

static size_t find_line_size(hwloc_topology_t h)
{
	/* The L1 data cache's line is the unit of false sharing; else any cache's. */
	static const hwloc_obj_type_t types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE,
						 HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE,
						 HWLOC_OBJ_L5CACHE};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int n = hwloc_get_nbobjs_by_type(h, types[i]);
		for (int j = 0; j < n; j++) {
			hwloc_obj_t c = hwloc_get_obj_by_type(h, types[i], (unsigned)j);
			if (c->attr && c->attr->cache.linesize > 0 &&
			    c->attr->cache.type != HWLOC_OBJ_CACHE_INSTRUCTION)
				return c->attr->cache.linesize;
		}
	}
	return 64;
}

static int index_topology(struct topo *t, char *err, size_t errlen)
{
	hwloc_topology_t h = t->h;
	int npus = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PU);
	int nnodes = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_NUMANODE);
	if (npus <= 0) {
		snprintf(err, errlen, "hwloc found no processing units (PUs) in the topology");
		return -ENODEV;
	}
	if (nnodes < 0)
		nnodes = 0;
	t->npus = npus;
	t->nnodes = nnodes;
	t->pus = calloc((size_t)npus, sizeof(*t->pus));
	t->pu_cpu = calloc((size_t)npus, sizeof(*t->pu_cpu));
	t->pu_node = calloc((size_t)npus, sizeof(*t->pu_node));
	t->pu_allowed = calloc((size_t)npus, sizeof(*t->pu_allowed));
	t->nodes = calloc((size_t)nnodes + 1, sizeof(*t->nodes));
	if (!t->pus || !t->pu_cpu || !t->pu_node || !t->pu_allowed || !t->nodes)
		goto nomem;
	for (int n = 0; n < nnodes; n++)
		t->nodes[n] = hwloc_get_obj_by_type(h, HWLOC_OBJ_NUMANODE, (unsigned)n);

	hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(h);
	t->maxcpu = -1;
	for (int i = 0; i < npus; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(h, HWLOC_OBJ_PU, (unsigned)i);
		int cpu = i;
		if (!t->synthetic) {
			if (pu->os_index == HWLOC_UNKNOWN_INDEX || pu->os_index > INT_MAX) {
				snprintf(err, errlen,
					 "hwloc reports PU L#%d without a usable OS CPU number", i);
				return -ENODEV;
			}
			cpu = (int)pu->os_index;
		}
		t->pus[i] = pu;
		t->pu_cpu[i] = cpu;
		t->pu_node[i] = pu_primary_node(t, pu);
		t->pu_allowed[i] = t->synthetic || hwloc_bitmap_isincluded(pu->cpuset, allowed);
		if (cpu > t->maxcpu)
			t->maxcpu = cpu;
	}
	t->cpu_pu = malloc(((size_t)t->maxcpu + 1) * sizeof(*t->cpu_pu));
	if (!t->cpu_pu)
		goto nomem;
	for (int c = 0; c <= t->maxcpu; c++)
		t->cpu_pu[c] = -1;
	for (int i = 0; i < npus; i++)
		t->cpu_pu[t->pu_cpu[i]] = i;
	t->line = find_line_size(h);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory indexing the topology");
	return -ENOMEM;
}

int topo_load(struct topo **out, const char *synthetic, char *err, size_t errlen)
{
	int ret;
	*out = NULL;
	/* hwloc's ABI changes with its major version; a mismatch would misread objects. */
	if ((hwloc_get_api_version() >> 16) != (HWLOC_API_VERSION >> 16)) {
		snprintf(err, errlen,
			 "hwloc library version %#x does not match the headers pmuprof was built "
			 "with (%#x); rebuild pmuprof against the installed hwloc",
			 hwloc_get_api_version(), (unsigned)HWLOC_API_VERSION);
		return -ENOTSUP;
	}
	struct topo *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory loading the topology");
		return -ENOMEM;
	}
	if (hwloc_topology_init(&t->h) < 0) {
		ret = -errno;
		t->h = NULL;
		snprintf(err, errlen, "cannot initialise hwloc: %s", strerror(-ret));
		goto fail;
	}
	if (synthetic) {
		t->synthetic = strdup(synthetic);
		if (!t->synthetic) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory loading the topology");
			goto fail;
		}
		errno = 0;
		if (hwloc_topology_set_synthetic(t->h, synthetic) < 0) {
			ret = errno ? -errno : -EINVAL;
			snprintf(err, errlen,
				 "invalid synthetic topology '%s': expected hwloc's form, levels "
				 "of TYPE:COUNT such as \"pack:2 numa:2 l3:1 core:8 pu:2\"",
				 synthetic);
			goto fail;
		}
	} else {
		/*
		 * Keep CPUs outside our cpuset (containers): `record -a` still opens
		 * events on them and their rings need a reader; plans only place
		 * reader threads on allowed CPUs.
		 */
		hwloc_topology_set_flags(t->h, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
	}
	errno = 0;
	if (hwloc_topology_load(t->h) < 0) {
		ret = errno ? -errno : -EINVAL;
		snprintf(err, errlen, "hwloc cannot load the %s topology: %s",
			 synthetic ? "synthetic" : "machine's", strerror(-ret));
		goto fail;
	}
	ret = index_topology(t, err, errlen);
	if (ret < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	topo_free(t);
	return ret;
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	if (t->h)
		hwloc_topology_destroy(t->h);
	free(t->synthetic);
	free(t->pus);
	free(t->pu_cpu);
	free(t->pu_node);
	free(t->pu_allowed);
	free(t->cpu_pu);
	free(t->nodes);
	free(t);
}

int topo_ncpus(const struct topo *t)
{
	return t->npus;
}

int topo_nnodes(const struct topo *t)
{
	return t->nnodes > 0 ? t->nnodes : 1;
}

static int cpu_to_pu(const struct topo *t, int cpu)
{
	return cpu >= 0 && cpu <= t->maxcpu ? t->cpu_pu[cpu] : -1;
}

static int pu_node_os(const struct topo *t, int pu)
{
	int n = t->pu_node[pu];
	return n < 0 ? -1 : (int)t->nodes[n]->os_index;
}

int topo_cpu_node(const struct topo *t, int cpu)
{
	int pu = cpu_to_pu(t, cpu);
	return pu < 0 ? -1 : pu_node_os(t, pu);
}

/* An ancestor's id: its os index (the kernel's), else its logical index; 0 without one. */
static int ancestor_id(hwloc_topology_t h, hwloc_obj_type_t type, hwloc_obj_t pu)
{
	hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(h, type, pu);
	if (!a)
		return 0;
	return a->os_index != HWLOC_UNKNOWN_INDEX && a->os_index <= INT_MAX ? (int)a->os_index
									 : (int)a->logical_index;
}

/*
 * The kernel's die id of a CPU. hwloc makes Die objects only where a package has several,
 * but the kernel numbers dies anyway (one per package, numbered across packages on x86),
 * and perf prints that number: read where hwloc has no Die. 0 where the kernel has none.
 */
static int sysfs_die_id(int cpu)
{
	char path[96];
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/die_id", cpu);
	FILE *f = fopen(path, "re");
	int id = 0;
	if (f) {
		if (fscanf(f, "%d", &id) != 1 || id < 0)
			id = 0;
		fclose(f);
	}
	return id;
}

int topo_cpu_ids(const struct topo *t, int cpu, struct topo_cpu_ids *ids)
{
	int pu = cpu_to_pu(t, cpu);
	if (pu < 0)
		return -ENOENT;
	ids->node = pu_node_os(t, pu);
	ids->socket = ancestor_id(t->h, HWLOC_OBJ_PACKAGE, t->pus[pu]);
	bool die_obj = hwloc_get_ancestor_obj_by_type(t->h, HWLOC_OBJ_DIE, t->pus[pu]) != NULL;
	ids->die = die_obj || t->synthetic ? ancestor_id(t->h, HWLOC_OBJ_DIE, t->pus[pu])
					   : sysfs_die_id(cpu);
	ids->core = ancestor_id(t->h, HWLOC_OBJ_CORE, t->pus[pu]);
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct topo_group *x = a, *y = b;
	const int kx[] = {x->id.node, x->id.socket, x->id.die, x->id.core, x->cpu};
	const int ky[] = {y->id.node, y->id.socket, y->id.die, y->id.core, y->cpu};
	for (size_t i = 0; i < sizeof(kx) / sizeof(kx[0]); i++)
		if (kx[i] != ky[i])
			return kx[i] < ky[i] ? -1 : 1;
	return 0;
}

void topo_groups_free(struct topo_group *g, int ngroups)
{
	for (int i = 0; g && i < ngroups; i++)
		free(g[i].idx);
	free(g);
}

int topo_group_cpus(const struct topo *t, enum topo_aggr mode, const int *cpus, int ncpus,
		    struct topo_group **out, int *ngroups, char *err, size_t errlen)
{
	*out = NULL;
	*ngroups = 0;
	struct topo_group *g = calloc((size_t)(ncpus > 0 ? ncpus : 1), sizeof(*g));
	if (!g)
		goto nomem;
	int n = 0;
	for (int i = 0; i < ncpus; i++) {
		struct topo_cpu_ids id;
		if (topo_cpu_ids(t, cpus[i], &id) < 0) {
			topo_groups_free(g, n);
			snprintf(err, errlen, "CPU %d is not in the machine's topology", cpus[i]);
			return -ENOENT;
		}
		struct topo_group key = {.id = {-1, -1, -1, -1}, .cpu = -1};
		switch (mode) {
		case TOPO_AGGR_NODE: key.id.node = id.node; break;
		case TOPO_AGGR_SOCKET: key.id.socket = id.socket; break;
		case TOPO_AGGR_CORE:
			key.id.socket = id.socket;
			key.id.die = id.die;
			key.id.core = id.core;
			break;
		case TOPO_AGGR_CPU: key.cpu = cpus[i]; break;
		}
		int k = 0;
		while (k < n && cmp_group(&g[k], &key) != 0)
			k++;
		if (k == n) {
			key.idx = malloc((size_t)ncpus * sizeof(int));
			if (!key.idx) {
				topo_groups_free(g, n);
				goto nomem;
			}
			g[n++] = key;
		}
		g[k].idx[g[k].n++] = i;
	}
	qsort(g, (size_t)n, sizeof(*g), cmp_group);
	*out = g;
	*ngroups = n;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory grouping CPUs");
	return -ENOMEM;
}

size_t topo_cache_line(const struct topo *t)
{
	return t->line;
}

bool topo_is_synthetic(const struct topo *t)
{
	return t->synthetic != NULL;
}

/* ---- reader plans ---- */

int topo_parse_readers(const char *arg, enum topo_reader_mode *mode, int *count, char *err,
		       size_t errlen)
{
	static const struct {
		const char *name;
		enum topo_reader_mode mode;
	} names[] = {
		{"node", TOPO_READERS_NODE},
		{"l3", TOPO_READERS_L3},
		{"cpu", TOPO_READERS_CPU},
	};
	if (!arg)
		arg = "";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(arg, names[i].name) == 0) {
			*mode = names[i].mode;
			*count = 0;
			return 0;
		}
	}
	/* Digits only: strtol alone would accept " 4", "+4" and "4x" prefixes. */
	bool digits = arg[0] != '\0';
	for (const char *p = arg; *p; p++)
		if (*p < '0' || *p > '9')
			digits = false;
	if (digits) {
		errno = 0;
		long v = strtol(arg, NULL, 10);
		if (errno == 0 && v >= 1 && v <= INT_MAX) {
			*mode = TOPO_READERS_COUNT;
			*count = (int)v;
			return 0;
		}
	}
	snprintf(err, errlen,
		 "invalid --readers '%s': expected node (one reader per NUMA node), l3 (per L3 "
		 "cache), cpu (per CPU) or a positive number of readers",
		 arg);
	return -EINVAL;
}

void topo_plan_free(struct topo_plan *plan)
{
	if (!plan)
		return;
	for (int i = 0; i < plan->nreaders; i++) {
		free(plan->readers[i].cpus);
		free(plan->readers[i].affinity);
	}
	free(plan->readers);
	plan->readers = NULL;
	plan->nreaders = 0;
}

/*
 * The domain of each PU for a mode, as a key in 0..ndomains), keys in
 * topology order. PUs outside every domain of the kind (possible on odd
 * machines) share one extra domain so no CPU is ever left without a reader.
 */
static int domain_keys(const struct topo *t, enum topo_reader_mode mode, int *key)
{
	hwloc_obj_type_t type = HWLOC_OBJ_MACHINE;
	int ndomains;
	switch (mode) {
	case TOPO_READERS_NODE:
		for (int i = 0; i < t->npus; i++)
			key[i] = t->pu_node[i] >= 0 ? t->pu_node[i] : t->nnodes;
		return t->nnodes + 1;
	case TOPO_READERS_CPU:
		for (int i = 0; i < t->npus; i++)
			key[i] = i;
		return t->npus;
	case TOPO_READERS_L3:
		/* No L3 (some embedded or virtual machines): a package shares the next cache. */
		if (hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_L3CACHE) > 0)
			type = HWLOC_OBJ_L3CACHE;
		else if (hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PACKAGE) > 0)
			type = HWLOC_OBJ_PACKAGE;
		break;
	case TOPO_READERS_COUNT:
		break;
	}
	if (type == HWLOC_OBJ_MACHINE) {
		for (int i = 0; i < t->npus; i++)
			key[i] = 0;
		return 1;
	}
	ndomains = hwloc_get_nbobjs_by_type(t->h, type);
	for (int i = 0; i < t->npus; i++) {
		hwloc_obj_t anc = hwloc_get_ancestor_obj_by_type(t->h, type, t->pus[i]);
		key[i] = anc ? (int)anc->logical_index : ndomains;
	}
	return ndomains + 1;
}

/*
 * Fills r->cpus from the PUs pus[0..n) and r->affinity from the allowed PUs
 * of aff[0..naff); a domain with no allowed PU (all outside our cpuset)
 * runs its reader anywhere we may run.
 */
static int fill_reader(const struct topo *t, struct topo_reader *r, const int *pus, int n,
		       const int *aff, int naff)
{
	bool any_allowed = false;
	for (int i = 0; i < naff && !any_allowed; i++)
		any_allowed = t->pu_allowed[aff[i]];
	r->cpus = malloc((size_t)n * sizeof(*r->cpus));
	r->affinity = malloc((size_t)(any_allowed ? naff : t->npus) * sizeof(*r->affinity));
	if (!r->cpus || !r->affinity)
		return -ENOMEM;
	r->ncpus = n;
	r->node = -2;
	for (int i = 0; i < n; i++) {
		int node = pu_node_os(t, pus[i]);
		r->cpus[i] = t->pu_cpu[pus[i]];
		r->node = r->node == -2 || r->node == node ? node : -1;
	}
	r->naffinity = 0;
	for (int i = 0; i < naff && any_allowed; i++)
		if (t->pu_allowed[aff[i]])
			r->affinity[r->naffinity++] = t->pu_cpu[aff[i]];
	if (!any_allowed)
		for (int i = 0; i < t->npus; i++)
			if (t->pu_allowed[i])
				r->affinity[r->naffinity++] = t->pu_cpu[i];
	qsort(r->cpus, (size_t)r->ncpus, sizeof(int), cmp_int);
	qsort(r->affinity, (size_t)r->naffinity, sizeof(int), cmp_int);
	return 0;
}

/* Marks the recorded CPUs' PUs in sel[]; returns how many distinct ones. */
static int select_cpus(const struct topo *t, const int *cpus, int ncpus, bool *sel, char *err,
		       size_t errlen)
{
	int nsel = 0;
	for (int i = 0; i < ncpus; i++) {
		int pu = cpu_to_pu(t, cpus[i]);
		if (pu < 0) {
			char have[96];
			int *all = malloc((size_t)t->npus * sizeof(*all));
			if (all) {
				memcpy(all, t->pu_cpu, (size_t)t->npus * sizeof(*all));
				qsort(all, (size_t)t->npus, sizeof(int), cmp_int);
				format_cpulist(have, sizeof(have), all, t->npus);
				free(all);
			} else {
				snprintf(have, sizeof(have), "%d CPUs", t->npus);
			}
			snprintf(err, errlen,
				 "CPU %d is not in the %s topology (it has CPUs %s); choose CPUs "
				 "from that list",
				 cpus[i], t->synthetic ? "synthetic" : "machine's", have);
			return -EINVAL;
		}
		if (!sel[pu])
			nsel++;
		sel[pu] = true; /* a CPU listed twice still gets one reader */
	}
	return nsel;
}

int topo_plan_readers(const struct topo *t, enum topo_reader_mode mode, int count,
		      const int *cpus, int ncpus, struct topo_plan *plan, char *err, size_t errlen)
{
	int ret = 0, nsel, ndomains = 0;
	bool *sel = NULL;
	int *order = NULL, *key = NULL, *members = NULL, *domain = NULL;

	memset(plan, 0, sizeof(*plan));
	plan->mode = mode;
	if (ncpus <= 0 || !cpus) {
		snprintf(err, errlen, "no CPUs to record: the reader plan needs at least one");
		return -EINVAL;
	}
	if (mode == TOPO_READERS_COUNT && count < 1) {
		snprintf(err, errlen, "invalid reader count %d: it must be at least 1", count);
		return -EINVAL;
	}
	sel = calloc((size_t)t->npus, sizeof(*sel));
	order = malloc((size_t)t->npus * sizeof(*order));
	key = malloc((size_t)t->npus * sizeof(*key));
	members = malloc((size_t)t->npus * sizeof(*members));
	domain = malloc((size_t)t->npus * sizeof(*domain));
	if (!sel || !order || !key || !members || !domain)
		goto nomem;
	nsel = select_cpus(t, cpus, ncpus, sel, err, errlen);
	if (nsel < 0) {
		ret = nsel;
		goto out;
	}
	int n = 0;
	for (int i = 0; i < t->npus; i++)
		if (sel[i])
			order[n++] = i; /* recorded PUs in topology order */

	if (mode == TOPO_READERS_COUNT) {
		int k = count < nsel ? count : nsel;
		plan->readers = calloc((size_t)k, sizeof(*plan->readers));
		if (!plan->readers)
			goto nomem;
		/* The first nsel % k runs take one CPU more, so sizes differ by at most one. */
		for (int r = 0, start = 0; r < k; r++) {
			int len = nsel / k + (r < nsel % k);
			plan->nreaders = r + 1;
			if (fill_reader(t, &plan->readers[r], order + start, len, order + start, len))
				goto nomem;
			start += len;
		}
		goto out;
	}

	ndomains = domain_keys(t, mode, key);
	plan->readers = calloc((size_t)ndomains, sizeof(*plan->readers));
	if (!plan->readers)
		goto nomem;
	for (int d = 0; d < ndomains; d++) {
		int nrec = 0, nall = 0;
		for (int i = 0; i < t->npus; i++) {
			if (key[i] != d)
				continue;
			domain[nall++] = i;
			if (sel[i])
				members[nrec++] = i;
		}
		if (nrec == 0)
			continue; /* nothing recorded here: no reader */
		plan->nreaders++;
		if (fill_reader(t, &plan->readers[plan->nreaders - 1], members, nrec, domain, nall))
			goto nomem;
	}
	goto out;
nomem:
	snprintf(err, errlen, "out of memory planning reader threads");
	ret = -ENOMEM;
out:
	if (ret < 0)
		topo_plan_free(plan);
	free(sel);
	free(order);
	free(key);
	free(members);
	free(domain);
	return ret;
}

/* ---- pinning and node-local memory ---- */

int topo_bind_thread(const struct topo *t, const struct topo_reader *r, char *err, size_t errlen)
{
	if (t->synthetic)
		return 0; /* a synthetic machine is not the one we run on */
	if (!r || r->naffinity <= 0) {
		snprintf(err, errlen, "cannot pin reader thread: its plan entry has no CPUs");
		return -EINVAL;
	}
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	if (!set) {
		snprintf(err, errlen, "out of memory pinning reader thread");
		return -ENOMEM;
	}
	int ret = 0;
	for (int i = 0; i < r->naffinity && ret == 0; i++) {
		int pu = cpu_to_pu(t, r->affinity[i]);
		if (pu < 0)
			ret = -EINVAL;
		else if (hwloc_bitmap_or(set, set, t->pus[pu]->cpuset) < 0)
			ret = -ENOMEM;
	}
	if (ret == 0 && hwloc_set_cpubind(t->h, set, HWLOC_CPUBIND_THREAD) < 0)
		ret = errno ? -errno : -EINVAL;
	if (ret < 0) {
		char list[96];
		format_cpulist(list, sizeof(list), r->affinity, r->naffinity);
		snprintf(err, errlen, "cannot pin reader thread to CPUs %s: %s", list,
			 ret == -EINVAL ? "a CPU is not in the topology or not allowed"
					: strerror(-ret));
	}
	hwloc_bitmap_free(set);
	return ret;
}

/*
 * Each buffer starts with one bookkeeping page saying which allocator made
 * it, so topo_free_local() releases it the same way without any registry;
 * the caller's memory starts one page in, still page-aligned.
 */
enum local_kind { LOCAL_HWLOC = 1, LOCAL_NUMA, LOCAL_MMAP };

struct local_hdr {
	uint64_t magic;
	size_t total;
	int kind;
};

#define LOCAL_MAGIC 0x706d7570726f666cULL /* "pmuprofl" */

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

/* The node's allowed memory, when libnuma works and the node is one we may use. */
static bool numa_node_usable(int node)
{
	return numa_available() >= 0 && node <= numa_max_node() &&
	       numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)node);
}

int topo_node_distance(int a, int b)
{
	return numa_available() >= 0 && a >= 0 && b >= 0 && a <= numa_max_node() &&
			       b <= numa_max_node()
		       ? numa_distance(a, b)
		       : 0;
}

void *topo_alloc_local(const struct topo *t, int node, size_t size)
{
	size_t page = page_size();
	if (size == 0 || size > SIZE_MAX - 2 * page)
		return NULL;
	size_t total = (size + page - 1) / page * page + page;
	void *base = NULL;
	int kind = 0;
	hwloc_obj_t obj = NULL;

	/* Node numbers of a synthetic machine mean nothing here: plain memory. */
	if (node >= 0 && !t->synthetic)
		obj = hwloc_get_numanode_obj_by_os_index(t->h, (unsigned)node);
	if (obj) {
		base = hwloc_alloc_membind(t->h, total, obj->nodeset, HWLOC_MEMBIND_BIND,
					   HWLOC_MEMBIND_STRICT | HWLOC_MEMBIND_BYNODESET);
		kind = LOCAL_HWLOC;
		if (!base && numa_node_usable(node)) {
			base = numa_alloc_onnode(total, node);
			kind = LOCAL_NUMA;
		}
	}
	if (!base) {
		/* Unbound, but touched from the calling thread: first touch puts it near. */
		base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED)
			return NULL;
		kind = LOCAL_MMAP;
	}
	/*
	 * Pre-fault now so the reader never takes page faults while draining
	 * rings: in one call where the kernel can (5.14), as a fault costs a
	 * trap per page, which under some hypervisors is most of a reader's time.
	 */
	if (madvise(base, total, MADV_POPULATE_WRITE) < 0) {
		volatile char *bytes = base;
		for (size_t off = 0; off < total; off += page)
			bytes[off] = 0;
	}
	struct local_hdr *hdr = base;
	hdr->magic = LOCAL_MAGIC;
	hdr->total = total;
	hdr->kind = kind;
	return (char *)base + page;
}

void topo_free_local(const struct topo *t, void *p, size_t size)
{
	if (!p)
		return;
	size_t page = page_size();
	struct local_hdr *hdr = (struct local_hdr *)((char *)p - page);
	/* Not from topo_alloc_local(): leave it rather than unmap someone else's memory. */
	if (hdr->magic != LOCAL_MAGIC)
		return;
	/* The header records the mapped length; size is the caller's view of it. */
	size_t total = hdr->total;
	(void)size;
	hdr->magic = 0;
	switch (hdr->kind) {
	case LOCAL_HWLOC:
		hwloc_free(t->h, hdr, total);
		break;
	case LOCAL_NUMA:
		numa_free(hdr, total);
		break;
	default:
		munmap(hdr, total);
		break;
	}
}

int topo_page_nodes(pid_t pid, const uint64_t *addrs, size_t n, int *node)
{
	/* move_pages takes pointers: its arrays, a batch at a time, on the stack. */
	enum { BATCH = 256 };
	void *pages[BATCH];
	for (size_t done = 0; done < n;) {
		size_t k = n - done < BATCH ? n - done : BATCH;
		for (size_t i = 0; i < k; i++)
			pages[i] = (void *)(uintptr_t)addrs[done + i];
		if (move_pages(pid, (unsigned long)k, pages, NULL, node + done, 0) < 0)
			return -errno;
		done += k;
	}
	return 0;
}

long topo_pages_per_node(pid_t pid, uint64_t addr, uint64_t len, uint64_t stride,
			 unsigned long *counts, int ncounts, unsigned long *absent)
{
	enum { BATCH = 256 };
	uint64_t page = page_size(), step = page * (stride > 1 ? stride : 1);
	uint64_t start = addr / page * page, end = addr + len < addr ? UINT64_MAX : addr + len;
	uint64_t pages[BATCH];
	int node[BATCH];
	long found = 0;
	while (start < end) {
		size_t n = 0;
		for (; n < BATCH && start < end;
		     n++, start = start + step < start ? end : start + step)
			pages[n] = start;
		int ret = topo_page_nodes(pid, pages, n, node);
		if (ret < 0)
			return ret;
		for (size_t i = 0; i < n; i++) {
			if (node[i] >= 0 && node[i] < ncounts) {
				counts[node[i]]++;
				found++;
			} else if (node[i] < 0 && absent) {
				(*absent)++;
			}
		}
	}
	return found;
}

/* ---- physical memory by node ---- */

struct phys_block {
	uint64_t block;
	int node;
};

struct topo_phys_map {
	uint64_t block_size;
	struct phys_block *blocks; /* by block number */
	size_t n, cap;
};

static int by_block(const void *a, const void *b)
{
	const struct phys_block *x = a, *y = b;
	return (x->block > y->block) - (x->block < y->block);
}

int topo_phys_map_load(struct topo_phys_map **out, const char *sysfs, char *err, size_t errlen)
{
	char path[PATH_MAX];
	*out = NULL;
	sysfs = sysfs ? sysfs : "/sys";
	struct topo_phys_map *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/devices/system/memory/block_size_bytes", sysfs);
	FILE *f = fopen(path, "re");
	unsigned long long size = 0;
	int ok = f && fscanf(f, "%llx", &size) == 1 && size;
	if (f)
		fclose(f);
	if (!ok) {
		free(m);
		snprintf(err, errlen,
			 "%s: no memory block size (this kernel lists no memory blocks)", path);
		return -ENOENT;
	}
	m->block_size = size;
	snprintf(path, sizeof(path), "%s/devices/system/node", sysfs);
	DIR *nodes = opendir(path);
	for (struct dirent *d; nodes && (d = readdir(nodes));) {
		int node;
		char tail;
		if (sscanf(d->d_name, "node%d%c", &node, &tail) != 1 || node < 0)
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", path, d->d_name);
		DIR *blocks = opendir(dir);
		for (struct dirent *b; blocks && (b = readdir(blocks));) {
			unsigned long long block;
			if (sscanf(b->d_name, "memory%llu%c", &block, &tail) != 1)
				continue;
			if (m->n == m->cap) {
				size_t cap = m->cap ? 2 * m->cap : 64;
				struct phys_block *nb = realloc(m->blocks, cap * sizeof(*nb));
				if (!nb) {
					closedir(blocks);
					closedir(nodes);
					topo_phys_map_free(m);
					snprintf(err, errlen, "out of memory");
					return -ENOMEM;
				}
				m->blocks = nb;
				m->cap = cap;
			}
			m->blocks[m->n++] = (struct phys_block){block, node};
		}
		if (blocks)
			closedir(blocks);
	}
	if (nodes)
		closedir(nodes);
	if (!m->n) {
		topo_phys_map_free(m);
		snprintf(err, errlen, "%s: no node lists a memory block", path);
		return -ENOENT;
	}
	qsort(m->blocks, m->n, sizeof(*m->blocks), by_block);
	*out = m;
	return 0;
}

int topo_page_frames(pid_t pid, const uint64_t *addrs, size_t n, uint64_t *phys)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid ? (int)pid : (int)getpid());
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t page = page_size();
	for (size_t i = 0; i < n; i++) {
		uint64_t e = 0;
		/* Bit 63: present; bits 0-54: the frame number (0 when hidden). */
		if (pread(fd, &e, sizeof(e), (off_t)(addrs[i] / page * sizeof(e))) != sizeof(e))
			e = 0;
		phys[i] = (e >> 63) & 1 ? (e & ((1ull << 55) - 1)) * page : 0;
	}
	close(fd);
	return 0;
}

int topo_phys_node(const struct topo_phys_map *m, uint64_t phys)
{
	if (!m)
		return -1;
	struct phys_block key = {.block = phys / m->block_size};
	const struct phys_block *b = bsearch(&key, m->blocks, m->n, sizeof(*b), by_block);
	return b ? b->node : -1;
}

void topo_phys_map_free(struct topo_phys_map *m)
{
	if (!m)
		return;
	free(m->blocks);
	free(m);
}

/* ---- descriptions ---- */

/* CPU numbers of the PUs inside obj's cpuset, ascending; *n of them. */
static int *obj_cpus(const struct topo *t, hwloc_obj_t obj, int *n)
{
	int *cpus = malloc((size_t)t->npus * sizeof(*cpus));
	*n = 0;
	if (!cpus)
		return NULL;
	for (int i = 0; i < t->npus; i++)
		if (obj->cpuset && hwloc_bitmap_isincluded(t->pus[i]->cpuset, obj->cpuset))
			cpus[(*n)++] = t->pu_cpu[i];
	qsort(cpus, (size_t)*n, sizeof(int), cmp_int);
	return cpus;
}

static void print_obj_cpus(const struct topo *t, FILE *out, hwloc_obj_t obj)
{
	int n;
	int *cpus = obj_cpus(t, obj, &n);
	if (cpus)
		print_cpulist(out, cpus, n);
	else
		fputs("?", out);
	free(cpus);
}

static void print_nodes(const struct topo *t, FILE *out)
{
	char size[32];
	fprintf(out, "NUMA nodes: %d (", topo_nnodes(t));
	if (t->nnodes == 0)
		fputs("none reported; all PUs treated as one node", out);
	for (int n = 0; n < t->nnodes; n++) {
		hwloc_obj_t node = t->nodes[n];
		uint64_t mem = node->attr ? node->attr->numanode.local_memory : 0;
		if (mem)
			format_bytes(size, sizeof(size), mem);
		else
			snprintf(size, sizeof(size), "memory unknown");
		fprintf(out, "%snode %u: %s, PUs ", n ? "; " : "", node->os_index, size);
		print_obj_cpus(t, out, node);
	}
	fputs(")\n", out);
}

/*
 * What `numactl -H` prints for this machine (libnuma): each node's CPUs, its total and
 * free memory in MiB (numa_node_size64), and the distance matrix (numa_distance: the
 * firmware's SLIT, 10 meaning local), in numactl's layout so the two can be compared.
 */
static void print_numa_memory(const struct topo *t, FILE *out)
{
	if (t->synthetic || numa_available() < 0) {
		fputs("node memory and distances: not available (libnuma reports no NUMA support)\n",
		      out);
		return;
	}
	int maxnode = numa_max_node();
	fputs("node memory and distances (as numactl -H):\n", out);
	for (int n = 0; n <= maxnode; n++) {
		if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)n))
			continue;
		fprintf(out, "node %d cpus:", n);
		for (int i = 0; i < t->npus; i++)
			if (topo_cpu_node(t, t->pu_cpu[i]) == n)
				fprintf(out, " %d", t->pu_cpu[i]);
		long long free_bytes = 0, size = numa_node_size64(n, &free_bytes);
		fprintf(out, "\nnode %d size: %lld MB\nnode %d free: %lld MB\n", n,
			size > 0 ? size >> 20 : 0, n, free_bytes > 0 ? free_bytes >> 20 : 0);
	}
	fputs("node distances:\nnode ", out);
	for (int n = 0; n <= maxnode; n++)
		if (numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)n))
			fprintf(out, "% 3d ", n);
	fputc('\n', out);
	for (int i = 0; i <= maxnode; i++) {
		if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)i))
			continue;
		fprintf(out, "% 3d: ", i);
		for (int k = 0; k <= maxnode; k++)
			if (numa_bitmask_isbitset(numa_nodes_ptr, (unsigned)k))
				fprintf(out, "% 3d ", numa_distance(i, k));
		fputc('\n', out);
	}
}

static void print_l3(const struct topo *t, FILE *out)
{
	int n = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_L3CACHE);
	char size[32];
	if (n <= 0) {
		fprintf(out, "L3 domains: none (l3 readers use one per %s)\n",
			hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PACKAGE) > 0 ? "package"
									      : "machine");
		return;
	}
	bool same = true;
	hwloc_obj_t first = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_L3CACHE, 0);
	for (int i = 1; i < n; i++)
		if (hwloc_get_obj_by_type(t->h, HWLOC_OBJ_L3CACHE, (unsigned)i)->attr->cache.size !=
		    first->attr->cache.size)
			same = false;
	fprintf(out, "L3 domains: %d (", n);
	if (same) {
		format_bytes(size, sizeof(size), first->attr->cache.size);
		fprintf(out, n > 1 ? "%s each; " : "%s; ", size);
	}
	for (int i = 0; i < n; i++) {
		hwloc_obj_t c = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_L3CACHE, (unsigned)i);
		fprintf(out, "%sL3 %d: ", i ? "; " : "", i);
		if (!same) {
			format_bytes(size, sizeof(size), c->attr->cache.size);
			fprintf(out, "%s, ", size);
		}
		fputs("PUs ", out);
		print_obj_cpus(t, out, c);
	}
	fputs(")\n", out);
}

static void print_cores(const struct topo *t, FILE *out)
{
	int ncores = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_CORE);
	int nallowed = 0;
	for (int i = 0; i < t->npus; i++)
		nallowed += t->pu_allowed[i];
	if (ncores > 0) {
		int lo = INT_MAX, hi = 0;
		for (int i = 0; i < ncores; i++) {
			hwloc_obj_t c = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_CORE, (unsigned)i);
			int w = hwloc_bitmap_weight(c->cpuset);
			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
		}
		fprintf(out, "cores: %d, PUs: %d (", ncores, t->npus);
		fprintf(out, lo == hi ? "%d per core" : "%d-%d per core", lo, hi);
		if (nallowed < t->npus)
			fprintf(out, "; %d outside this process's cpuset", t->npus - nallowed);
		fputs(")\n", out);
		return;
	}
	fprintf(out, "cores: not reported, PUs: %d", t->npus);
	if (nallowed < t->npus)
		fprintf(out, " (%d outside this process's cpuset)", t->npus - nallowed);
	fputc('\n', out);
}

static void print_caches(const struct topo *t, FILE *out)
{
	static const hwloc_obj_type_t types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE,
						 HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE,
						 HWLOC_OBJ_L5CACHE};
	bool any = false;
	fputs("caches: ", out);
	for (size_t l = 0; l < sizeof(types) / sizeof(types[0]); l++) {
		int n = hwloc_get_nbobjs_by_type(t->h, types[l]);
		uint64_t lo = UINT64_MAX, hi = 0;
		bool data = false;
		for (int i = 0; i < n; i++) {
			hwloc_obj_t c = hwloc_get_obj_by_type(t->h, types[l], (unsigned)i);
			uint64_t s = c->attr->cache.size;
			if (c->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION)
				continue;
			data = data || c->attr->cache.type == HWLOC_OBJ_CACHE_DATA;
			lo = s < lo ? s : lo;
			hi = s > hi ? s : hi;
		}
		if (hi == 0)
			continue;
		char a[32], b[32];
		format_bytes(a, sizeof(a), lo);
		format_bytes(b, sizeof(b), hi);
		/* Hybrid CPUs (P and E cores) have caches of several sizes per level. */
		fprintf(out, "%sL%zu%s %s%s%s", any ? ", " : "", l + 1, data ? "d" : "", a,
			lo == hi ? "" : "-", lo == hi ? "" : b);
		any = true;
	}
	fprintf(out, "%s; line size %zu B\n", any ? "" : "not reported", t->line);
}

void topo_print(const struct topo *t, FILE *out)
{
	/* HWLOC_VERSION is the release; hwloc_get_api_version() only tracks API changes. */
	if (t->synthetic)
		fprintf(out, "machine: synthetic \"%s\" (CPU numbers are PU logical indexes)\n",
			t->synthetic);
	else
		fprintf(out, "machine: this host (hwloc %s)\n", HWLOC_VERSION);
	fprintf(out, "packages: %d\n", hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PACKAGE));
	print_nodes(t, out);
	print_l3(t, out);
	print_cores(t, out);
	print_caches(t, out);
	print_numa_memory(t, out);
}

void topo_plan_print(const struct topo_plan *plan, FILE *out)
{
	for (int i = 0; i < plan->nreaders; i++) {
		const struct topo_reader *r = &plan->readers[i];
		if (r->node >= 0)
			fprintf(out, "reader %d: node %d, drains CPUs ", i, r->node);
		else
			fprintf(out, "reader %d: node mixed, drains CPUs ", i);
		print_cpulist(out, r->cpus, r->ncpus);
		fputs(", runs on CPUs ", out);
		print_cpulist(out, r->affinity, r->naffinity);
		fputc('\n', out);
	}
}
