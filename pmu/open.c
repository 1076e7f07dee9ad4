/*
 * The one event opener: an event opened on every CPU x thread of two lists,
 * an fd per pair, as libperf's evsel__open over a perf_cpu_map and a
 * perf_thread_map. Counting sets, sampling sessions, watchpoints and the
 * harness open through it, so all share one paranoid/permission policy and
 * one explanation per failure (pmu_open_counter, pmu_explain_open_error).
 */
#include "pmu_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Skipped by the caller's flags: the host lacks the event there, or the thread has gone. */
static bool skippable(unsigned flags, int errnum)
{
	return ((flags & PMU_OPEN_SKIP_UNSUPPORTED) && pmu_errno_unsupported(errnum)) ||
	       ((flags & PMU_OPEN_SKIP_EXITED) && errnum == ESRCH);
}

static void close_opened(int *fds, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (fds[k] >= 0) {
			close(fds[k]);
			fds[k] = -1;
		}
}

int pmu_open_event(int *fds, uint64_t *ids, const struct pmu_ctx *ctx, struct pmu_event *ev,
		   struct perf_event_attr *attr, const struct pmu_cpus *cpus,
		   const struct pmu_threads *threads, const int *group_fds, unsigned flags,
		   char *err, size_t errlen)
{
	size_t n = (size_t)cpus->n * (size_t)threads->n;
	int opened = 0, first = 0;
	char scratch[BASE_ERR_MAX];
	for (size_t k = 0; k < n; k++) {
		fds[k] = -1;
		if (ids)
			ids[k] = 0; /* where no fd opens, no id */
	}
	for (int c = 0; c < cpus->n; c++)
		for (int t = 0; t < threads->n; t++) {
			size_t k = (size_t)c * (size_t)threads->n + (size_t)t;
			/* A member goes where its leader went: never opened alone in its place. */
			if (group_fds && group_fds[k] < 0)
				continue;
			pid_t pid = threads->tid[t];
			/* The first skipped failure's message stays in err, for when nothing opens. */
			char *msg = first ? scratch : err;
			size_t msglen = first ? sizeof(scratch) : errlen;
			int fd = pmu_open_counter(
				ctx, ev, attr, pid, cpus->cpu[c], group_fds ? group_fds[k] : -1,
				(flags & PMU_OPEN_USER_FALLBACK) && pid != -1, msg, msglen);
			if (fd < 0 && skippable(flags, -fd)) {
				first = first ? first : fd;
				continue;
			}
			if (fd < 0) {
				if (first)
					snprintf(err, errlen, "%s", scratch);
				close_opened(fds, n);
				return fd;
			}
			fds[k] = fd;
			if (ids && ioctl(fd, PERF_EVENT_IOC_ID, &ids[k]) < 0) {
				int e = errno;
				close_opened(fds, n);
				return base_fail(err, errlen, -e,
						 "cannot read the id of event '%s': %s", ev->name,
						 strerror(e));
			}
			opened++;
		}
	return opened || !first ? opened : first;
}

int pmu_open_self(int *fd, const struct pmu_ctx *ctx, struct pmu_event *ev,
		  struct perf_event_attr *attr, const int *group_fd, unsigned flags, char *err,
		  size_t errlen)
{
	struct pmu_cpus *any = NULL;
	struct pmu_threads *self = NULL;
	int ret = pmu_cpus_any(&any);
	if (ret == 0)
		ret = pmu_threads_new(&self, (const pid_t[]){0}, 1);
	if (ret == 0)
		ret = pmu_open_event(fd, NULL, ctx, ev, attr, any, self, group_fd, flags, err,
				     errlen);
	else
		base_fail(err, errlen, ret, "out of memory");
	pmu_cpus_free(any);
	pmu_threads_free(self);
	return ret;
}
