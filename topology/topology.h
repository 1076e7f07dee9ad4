/*
 * topology — the machine as hwloc sees it, and where reader threads go.
 *
 * Owns: loading the hwloc topology (this machine, or a synthetic description
 * for tests), the reader placement plan (which reader thread drains which
 * CPUs' rings and where that thread may run), pinning a thread to its plan
 * entry, node-local pre-faulted buffers (hwloc membind STRICT, else libnuma),
 * and the human description printed by `pmuprof topology`.
 * Depends on hwloc and libnuma only. Returns 0 or a negative errno, with a
 * one-line message in `err`.
 */
#ifndef PMUPROF_TOPOLOGY_H
#define PMUPROF_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>

struct topo;

/*
 * synthetic: NULL for this machine, or an hwloc synthetic description such as
 * "pack:2 numa:2 l3:1 core:8 pu:2" (see hwloc's documentation of synthetic
 * topologies); with one, CPUs are numbered 0..N-1 in PU order.
 * This machine's topology keeps CPUs outside the process's cpuset (cgroups),
 * so system-wide recording still has a reader for them; CPU numbers are the
 * kernel's. A loaded topology is read-only: threads may share it.
 */
int topo_load(struct topo **out, const char *synthetic, char *err, size_t errlen);
void topo_free(struct topo *t);

int topo_ncpus(const struct topo *t);     /* PUs (logical CPUs) */
int topo_nnodes(const struct topo *t);    /* NUMA nodes (1 when hwloc reports none) */
int topo_cpu_node(const struct topo *t, int cpu); /* NUMA node os index of a CPU, -1 unknown */
/* This machine's distance between two nodes as numactl -H prints it (libnuma), 0 unknown. */
int topo_node_distance(int a, int b);
size_t topo_cache_line(const struct topo *t);     /* bytes; 64 when unknown */
bool topo_is_synthetic(const struct topo *t);

/*
 * Where a CPU sits, with the kernel's ids as perf stat prints them
 * (/sys/devices/system/cpu/cpuN/topology: physical_package_id, die_id,
 * core_id; hwloc's os indexes of the Package, Die and Core objects, the
 * die_id file where hwloc makes no Die). An id the topology lacks is 0, the
 * node -1 where no node is reported.
 */
struct topo_cpu_ids {
	int node, socket, die, core;
};
int topo_cpu_ids(const struct topo *t, int cpu, struct topo_cpu_ids *ids);

/* How perf stat aggregates CPUs: --per-node, --per-socket, --per-core, -A. */
enum topo_aggr { TOPO_AGGR_NODE, TOPO_AGGR_SOCKET, TOPO_AGGR_CORE, TOPO_AGGR_CPU };

struct topo_group {
	struct topo_cpu_ids id; /* the fields the mode groups by; the others are -1 */
	int cpu;                /* TOPO_AGGR_CPU: the CPU; else -1 */
	int *idx;               /* indexes into the cpus[] given, ascending */
	int n;
};

/*
 * Splits cpus[0..ncpus) into the groups of `mode`, in perf stat's order
 * (ascending ids: node, socket, die, core, CPU). A CPU the topology does not
 * know is an error that names it. Free with topo_groups_free.
 */
int topo_group_cpus(const struct topo *t, enum topo_aggr mode, const int *cpus, int ncpus,
		    struct topo_group **out, int *ngroups, char *err, size_t errlen);
void topo_groups_free(struct topo_group *g, int ngroups);

enum topo_reader_mode {
	TOPO_READERS_NODE,  /* one reader per NUMA node (default) */
	TOPO_READERS_L3,    /* one reader per L3 cache domain */
	TOPO_READERS_CPU,   /* one reader per CPU */
	TOPO_READERS_COUNT, /* a fixed number of readers, CPUs split evenly in topology order */
};

/* Parses --readers: "node", "l3", "cpu" or a positive count. */
int topo_parse_readers(const char *arg, enum topo_reader_mode *mode, int *count, char *err,
		       size_t errlen);

struct topo_reader {
	int node;      /* NUMA node whose memory the reader's buffers live on, -1 if mixed/unknown */
	int *cpus;     /* CPUs whose rings this reader drains, ascending */
	int ncpus;
	int *affinity; /* CPUs the reader thread may run on (its domain), ascending */
	int naffinity;
};

struct topo_plan {
	struct topo_reader *readers;
	int nreaders;
	enum topo_reader_mode mode;
};

/*
 * Assigns each of the recorded CPUs `cpus[0..ncpus)` to exactly one reader.
 * Domains without recorded CPUs get no reader. In COUNT mode `count` readers
 * (at most ncpus) each take a contiguous run of CPUs in topology order and
 * run on those CPUs.
 * A CPU listed twice counts once; a CPU not in the topology is an error that
 * names it. Affinity only holds CPUs this process may run on (a domain with
 * none runs its reader on any allowed CPU). On error the plan is empty.
 */
int topo_plan_readers(const struct topo *t, enum topo_reader_mode mode, int count,
		      const int *cpus, int ncpus, struct topo_plan *plan, char *err, size_t errlen);
void topo_plan_free(struct topo_plan *plan);

/* Pins the calling thread to r->affinity (no-op on a synthetic topology). */
int topo_bind_thread(const struct topo *t, const struct topo_reader *r, char *err, size_t errlen);

/*
 * size bytes on NUMA node `node` (-1: anywhere), bound STRICT where the OS
 * allows, and pre-faulted by touching every page from the calling thread.
 * Falls back to plain anonymous memory (still pre-faulted) when binding is
 * impossible (one node, no permission). Free with topo_free_local().
 * Returns NULL only for size 0 or when memory is exhausted. The buffer is
 * page-aligned and preceded by one bookkeeping page. On a synthetic topology
 * node is ignored (plain memory).
 */
void *topo_alloc_local(const struct topo *t, int node, size_t size);
void topo_free_local(const struct topo *t, void *p, size_t size);

/*
 * Where the pages at addrs[0..n) of process pid (0: this one) are, as the
 * kernel says for the pages themselves (move_pages without moving):
 * node[i] is the node of addrs[i]'s page, or -errno for a page with none
 * (-ENOENT: not faulted in, -EFAULT: not mapped). 0, or -errno for the whole
 * call: -ENOSYS where the kernel has no NUMA support, -ESRCH when pid is
 * gone, -EPERM for another user's process without CAP_SYS_NICE.
 */
int topo_page_nodes(pid_t pid, const uint64_t *addrs, size_t n, int *node);

/*
 * The same over [addr, addr + len), every page or every stride-th (stride
 * 0 or 1: all): counts[node] grows by the pages on each node below
 * ncounts, *absent (when not NULL) by the pages with no node. Returns the
 * pages counted on a node, or -errno as topo_page_nodes.
 */
long topo_pages_per_node(pid_t pid, uint64_t addr, uint64_t len, uint64_t stride,
			 unsigned long *counts, int ncounts, unsigned long *absent);

/*
 * Which node holds a physical address: the kernel's memory blocks
 * (SYSFS/devices/system/memory/block_size_bytes) and each node's
 * (SYSFS/devices/system/node/nodeN/memoryM). sysfs NULL: /sys. 0, or -errno
 * with err set (-ENOENT: this kernel lists no memory blocks, e.g. without
 * memory hotplug).
 */
struct topo_phys_map;
int topo_phys_map_load(struct topo_phys_map **out, const char *sysfs, char *err, size_t errlen);
/*
 * The physical address of each page at addrs[0..n) of process pid, from
 * /proc/PID/pagemap (the frame of a present page, a page NUMA balancing's
 * scan made inaccessible too, which move_pages does not place): phys[i] 0
 * when not present or the frame is hidden (without CAP_SYS_ADMIN). 0, or
 * -errno when pagemap cannot be read.
 */
int topo_page_frames(pid_t pid, const uint64_t *addrs, size_t n, uint64_t *phys);
/* The node of physical address phys, or -1 (no block of any node holds it). */
int topo_phys_node(const struct topo_phys_map *m, uint64_t phys);
void topo_phys_map_free(struct topo_phys_map *m);

/*
 * The machine: packages, NUMA nodes (memory), L3 domains, cores, PUs, caches, line size;
 * for this machine also the nodes' total and free memory and their distances (libnuma), as
 * `numactl -H` prints them.
 */
void topo_print(const struct topo *t, FILE *out);
/* The plan: one line per reader with its node, CPUs and affinity. */
void topo_plan_print(const struct topo_plan *plan, FILE *out);

#endif
