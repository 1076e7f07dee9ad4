/*
 * CPU and thread lists, in the manner of libperf's perf_cpu_map and
 * perf_thread_map: a small immutable object holding numbers, addressed by
 * index, so an index (a slot in an fd array) and a CPU number or thread id
 * are never mixed up. A list of the single entry -1 means "any CPU" or "any
 * task", as perf_event_open(2) spells it.
 */
#include "pmu_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Sorted and de-duplicated: numbers ascend in every list. */
static int sort_unique(int *v, int n)
{
	qsort(v, (size_t)n, sizeof(int), cmp_int);
	int k = 0;
	for (int i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

int pmu_cpus_new(struct pmu_cpus **out, const int *cpus, int n)
{
	struct pmu_cpus *c = malloc(sizeof(*c) + (size_t)(n > 0 ? n : 1) * sizeof(int));
	if (!c)
		return -ENOMEM;
	c->n = n;
	if (n > 0)
		memcpy(c->cpu, cpus, (size_t)n * sizeof(int));
	*out = c;
	return 0;
}

int pmu_cpus_any(struct pmu_cpus **out)
{
	return pmu_cpus_new(out, (const int[]){-1}, 1);
}

int pmu_cpus_parse(struct pmu_cpus **out, const char *s, char *err, size_t errlen)
{
	int *v, n;
	int ret = base_parse_cpu_list(s, &v, &n, err, errlen); /* sorted, de-duplicated */
	if (ret < 0)
		return ret;
	ret = pmu_cpus_new(out, v, n);
	free(v);
	return ret < 0 ? base_fail(err, errlen, ret, "out of memory") : 0;
}

int pmu_cpus_online(struct pmu_cpus **out, char *err, size_t errlen)
{
	char buf[4096];
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		int e = errno;
		if (f)
			fclose(f);
		return base_fail(
			err, errlen, -(e ? e : EIO),
			"cannot read /sys/devices/system/cpu/online: %s; is sysfs mounted?",
			strerror(e ? e : EIO));
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return pmu_cpus_parse(out, buf, err, errlen);
}

int pmu_cpus_index(const struct pmu_cpus *c, int cpu)
{
	for (int i = 0; i < c->n; i++)
		if (c->cpu[i] == cpu)
			return i;
	return -1;
}

void pmu_cpus_free(struct pmu_cpus *c)
{
	free(c);
}

int pmu_threads_new(struct pmu_threads **out, const pid_t *tids, int n)
{
	struct pmu_threads *t = malloc(sizeof(*t) + (size_t)(n > 0 ? n : 1) * sizeof(pid_t));
	if (!t)
		return -ENOMEM;
	t->n = n;
	if (n > 0)
		memcpy(t->tid, tids, (size_t)n * sizeof(pid_t));
	*out = t;
	return 0;
}

int pmu_threads_any(struct pmu_threads **out)
{
	return pmu_threads_new(out, (const pid_t[]){-1}, 1);
}

int pmu_threads_of(struct pmu_threads **out, pid_t pid, char *err, size_t errlen)
{
	pid_t *v;
	int n, ret = base_proc_threads(pid, &v, &n);
	if (ret == -ENOENT)
		return base_fail(err, errlen, -ESRCH,
				 "process %d does not exist (no /proc/%d/task)", (int)pid,
				 (int)pid);
	if (ret < 0)
		return base_fail(err, errlen, ret, "cannot list the threads of process %d: %s",
				 (int)pid, strerror(-ret));
	n = n ? sort_unique(v, n) : 0;
	ret = pmu_threads_new(out, v, n);
	free(v);
	return ret < 0 ? base_fail(err, errlen, ret, "out of memory") : 0;
}

void pmu_threads_free(struct pmu_threads *t)
{
	free(t);
}
