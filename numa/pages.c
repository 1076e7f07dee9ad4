/*
 * numa pages (numa.h, "placement now"): where the pages of one object of a
 * running process are, by node, as the kernel says for the pages
 * themselves — a global or static variable found by name through c2c's
 * resolver (its run-time address and size), an address range, or every
 * mapping of the process — numa_maps' per-node counts, but per object.
 */
#include "numa.h"
#include "numa_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Pages asked per object or mapping; beyond, every k-th page (said in the output). */
#define PLACE_MAX_ASKED (1u << 20)

static uint64_t page_bytes(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (uint64_t)p : 4096;
}

/* Adds the placement of the pages of [start, end): every page, or every stride-th. */
static int place_span(pid_t pid, uint64_t start, uint64_t end, uint64_t stride,
		      struct numa_placement *p)
{
	uint64_t page = page_bytes();
	uint64_t first = start / page * page, npages = (end - first + page - 1) / page;
	unsigned long absent = 0, on[NUMA_MAX_NODES] = {0};
	long n = topo_pages_per_node(pid, first, npages * page, stride, on, NUMA_MAX_NODES,
				     &absent);
	if (n < 0)
		return (int)n;
	p->asked += (npages + stride - 1) / stride;
	p->absent += absent;
	for (int k = 0; k < NUMA_MAX_NODES; k++)
		p->on_node[k] += on[k];
	return 0;
}

/*
 * Placement of [start, end) in p: every page, or every stride-th when the range is huge.
 * With the process's mappings (pm), only the mapped part is asked: the bytes no mapping
 * covers go to p->unmapped, not into absent (pages that could be faulted in).
 */
static int place_range(pid_t pid, uint64_t start, uint64_t end, struct proc_model *pm,
		       struct numa_placement *p)
{
	uint64_t page = page_bytes();
	uint64_t npages = (end - start / page * page + page - 1) / page;
	p->pid = pid;
	p->addr = start;
	p->len = end - start;
	p->stride = npages > PLACE_MAX_ASKED ? (npages + PLACE_MAX_ASKED - 1) / PLACE_MAX_ASKED : 1;
	if (!pm)
		return place_span(pid, start, end, p->stride, p);
	uint64_t mapped = 0;
	for (const struct proc_map *m = proc_next_map(pm, pid, NULL); m && m->start < end;
	     m = proc_next_map(pm, pid, m)) {
		uint64_t s = m->start > start ? m->start : start, e = m->end < end ? m->end : end;
		if (s >= e)
			continue;
		mapped += e - s;
		int ret = place_span(pid, s, e, p->stride, p);
		if (ret < 0)
			return ret;
	}
	p->unmapped = p->len - mapped;
	return 0;
}

/* Whether the kernel will say where pid's pages are: 0, or -ESRCH, -EPERM, -ENOSYS. */
static int may_ask(pid_t pid)
{
	unsigned long absent = 0, on[1];
	long n = topo_pages_per_node(pid, 0, 1, 1, on, 1, &absent); /* page 0: never mapped */
	return n < 0 ? (int)n : 0;
}

static int query_error(int ret, pid_t pid, const char *what, char *err, size_t errlen)
{
	switch (-ret) {
	case ESRCH:
		return base_fail(err, errlen, ret, "no process %d (has it exited?)", (int)pid);
	case EPERM:
	case EACCES:
		return base_fail(err, errlen, ret,
				 "not allowed to ask where process %d's pages are (another user's "
				 "process): run as its owner or as root (CAP_SYS_NICE)",
				 (int)pid);
	case ENOSYS:
		return base_fail(err, errlen, ret,
				 "this kernel has no NUMA support (move_pages: ENOSYS): every page is "
				 "on the one node");
	default:
		return base_fail(err, errlen, ret, "cannot ask where %s of process %d is: %s", what,
				 (int)pid, strerror(-ret));
	}
}

int numa_place_symbol(pid_t pid, const char *symbol, struct numa_placement *out, char *err,
		      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct proc_model *pm = NULL;
	struct sym_cache *sc = NULL;
	struct c2c_resolver *res = NULL;
	int ret;
	if ((ret = may_ask(pid)) < 0)
		return query_error(ret, pid, symbol, err, errlen);
	if ((ret = proc_model_new(&pm)) < 0 || (ret = sym_cache_new(&sc, err, errlen)) < 0 ||
	    (ret = c2c_resolver_new(&res, pm, sc)) < 0) {
		if (ret == -ENOMEM)
			base_fail(err, errlen, ret, "out of memory");
		goto out;
	}
	uint64_t addr = 0, size = 0;
	const char *file = NULL;
	ret = c2c_symbol_address(res, pid, symbol, &addr, &size, &file);
	if (ret == -ENOENT) {
		base_fail(err, errlen, ret,
			  "no global or static variable '%s' in process %d's program or the "
			  "libraries it maps (a symbol table is needed: not stripped, or its "
			  "debug file installed); give its range with --addr ADDR,LEN instead",
			  symbol, (int)pid);
		goto out;
	}
	if (ret < 0) {
		query_error(ret, pid, symbol, err, errlen);
		goto out;
	}
	snprintf(out->name, sizeof(out->name), "%s", symbol);
	snprintf(out->file, sizeof(out->file), "%s", file ? file : "");
	ret = place_range(pid, addr, addr + (size ? size : 1), NULL, out);
	if (ret < 0)
		query_error(ret, pid, symbol, err, errlen);
out:
	c2c_resolver_free(res);
	sym_cache_free(sc);
	proc_model_free(pm);
	return ret;
}

int numa_place_range(pid_t pid, uint64_t addr, uint64_t len, struct numa_placement *out, char *err,
		     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!len || addr + len < addr)
		return base_fail(err, errlen, -EINVAL,
				 "an empty or wrapping range %#llx,%llu: give ADDR,LEN with LEN > 0",
				 (unsigned long long)addr, (unsigned long long)len);
	snprintf(out->name, sizeof(out->name), "%#llx-%#llx", (unsigned long long)addr,
		 (unsigned long long)(addr + len));
	struct proc_model *pm = NULL;
	int ret = may_ask(pid);
	if (ret < 0)
		return query_error(ret, pid, "that range", err, errlen);
	if ((ret = proc_model_new(&pm)) < 0)
		return base_fail(err, errlen, ret, "out of memory");
	ret = proc_synthesize(pm, pid, true);
	if (ret == 0)
		ret = place_range(pid, addr, addr + len, pm, out);
	proc_model_free(pm);
	if (ret < 0)
		return query_error(ret == -ENOENT ? -ESRCH : ret, pid, "that range", err, errlen);
	if (out->unmapped == len)
		return base_fail(err, errlen, -EFAULT,
				 "nothing of %s is mapped in process %d: give a range its "
				 "/proc/%d/maps lists, or see every mapping with pages present: "
				 "pmuprof numa pages -p %d --all",
				 out->name, (int)pid, (int)pid, (int)pid);
	return 0;
}

static int cmp_present(const void *a, const void *b)
{
	const struct numa_placement *x = a, *y = b;
	uint64_t px = x->asked - x->absent, py = y->asked - y->absent;
	return px < py ? 1 : px > py ? -1 : (x->addr > y->addr) - (x->addr < y->addr);
}

int numa_place_maps(pid_t pid, struct numa_placement **out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	struct proc_model *pm = NULL;
	struct numa_placement *v = NULL;
	size_t cap = 0, count = 0;
	int ret = may_ask(pid);
	if (ret < 0)
		return query_error(ret, pid, "its pages", err, errlen);
	if ((ret = proc_model_new(&pm)) < 0) {
		base_fail(err, errlen, ret, "out of memory");
		goto out;
	}
	if ((ret = proc_synthesize(pm, pid, true)) < 0) {
		query_error(ret == -ENOENT ? -ESRCH : ret, pid, "its maps", err, errlen);
		goto out;
	}
	for (const struct proc_map *m = proc_next_map(pm, pid, NULL); m; m = proc_next_map(pm, pid, m)) {
		/* The kernel's own pages ([vvar], [vdso], [vsyscall]) are no program's placement. */
		if (m->filename && m->filename[0] == '[' && strcmp(m->filename, "[heap]") &&
		    strncmp(m->filename, "[stack", 6) && strncmp(m->filename, "[anon:", 6))
			continue;
		if (BASE_GROW(v, cap, count + 1) < 0) {
			ret = base_fail(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
		struct numa_placement *p = &v[count];
		memset(p, 0, sizeof(*p));
		/* perf names anonymous mappings //anon; a person reads their range. */
		if (m->filename && m->filename[0] && strcmp(m->filename, "//anon"))
			snprintf(p->name, sizeof(p->name), "%s %#llx-%#llx", m->filename,
				 (unsigned long long)m->start, (unsigned long long)m->end);
		else
			snprintf(p->name, sizeof(p->name), "anon %#llx-%#llx",
				 (unsigned long long)m->start, (unsigned long long)m->end);
		ret = place_range(pid, m->start, m->end, NULL, p);
		if (ret == -ENOMEM || ret == -ESRCH || ret == -EPERM || ret == -ENOSYS) {
			query_error(ret, pid, p->name, err, errlen);
			goto out;
		}
		/* A mapping that went away meanwhile (EFAULT, ENOENT): skipped. */
		if (ret == 0 && p->asked > p->absent)
			count++;
		ret = 0;
	}
	qsort(v, count, sizeof(*v), cmp_present);
	*out = v;
	*n = count;
	v = NULL;
out:
	free(v);
	proc_model_free(pm);
	return ret;
}

void numa_placement_print(const struct numa_placement *p, size_t n, int nnodes, FILE *out)
{
	if (nnodes < 1)
		nnodes = 1;
	if (nnodes > NUMA_MAX_NODES)
		nnodes = NUMA_MAX_NODES;
	fprintf(out, "%10s %9s", "size", "present");
	for (int k = 0; k < nnodes; k++)
		fprintf(out, " %9s%-5d", "N", k);
	fprintf(out, " %9s  %s\n", "absent", "object");
	for (size_t i = 0; i < n; i++) {
		const struct numa_placement *q = &p[i];
		char size[32];
		numa_human_size(q->len, size, sizeof(size));
		uint64_t present = q->asked - q->absent;
		fprintf(out, "%10s %9llu", size, (unsigned long long)present);
		for (int k = 0; k < nnodes; k++)
			fprintf(out, " %9llu %3.0f%%", (unsigned long long)q->on_node[k],
				present ? 100.0 * (double)q->on_node[k] / (double)present : 0.0);
		fprintf(out, " %9llu  %s", (unsigned long long)q->absent, q->name);
		if (q->file[0] && strcmp(q->file, q->name))
			fprintf(out, " (%s)", q->file);
		if (q->stride > 1)
			fprintf(out, " [every %llu pages, one asked]", (unsigned long long)q->stride);
		fprintf(out, "\n");
	}
	for (size_t i = 0; i < n; i++) {
		const struct numa_placement *q = &p[i];
		if (!q->unmapped)
			continue;
		char unmapped[32], len[32];
		numa_human_size(q->unmapped, unmapped, sizeof(unmapped));
		numa_human_size(q->len, len, sizeof(len));
		fprintf(out,
			"# %s of the %s of %s is not mapped in process %d (see /proc/%d/maps): "
			"not counted above\n",
			unmapped, len, q->name, (int)q->pid, (int)q->pid);
	}
}
