/*
 * The one event opener (pmu/open.c) over CPU and thread lists (pmu/lists.c),
 * with the software events and breakpoints this host has: a CPU list parsed
 * once (numbers vs indexes), a child's threads from /proc, an fd per CPU x
 * thread with group members joined to their leader's fd at the same pair, a
 * thread that exited (skipped, or one line naming it), the per-process fd
 * limit (one line naming `ulimit -n`, nothing left open), and watchpoints
 * (sampler/watch.c) opened through it: the same explanations, worded for a
 * watchpoint, where each cause once got one catch-all line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/hw_breakpoint.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmu.h"
#include "sampler.h"

/* --- a child with three threads -------------------------------------------- */

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* Forks a child that starts two more threads, and waits until /proc lists all three. */
static pid_t child_with_threads(void)
{
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with the test, whatever fails */
		pthread_t t;
		for (int i = 0; i < 2; i++)
			if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
				_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char c;
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void child_end(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A pid that existed and is gone (reaped). */
static pid_t gone_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static int open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static struct pmu_event sw_event(const char *name, uint64_t config)
{
	struct pmu_event ev = {0};
	ev.attr.size = sizeof(ev.attr);
	ev.attr.type = PERF_TYPE_SOFTWARE;
	ev.attr.config = config;
	ev.attr.exclude_kernel = 1;
	ev.attr.exclude_hv = 1;
	ev.group_size = 1;
	snprintf(ev.name, sizeof(ev.name), "%s", name);
	return ev;
}

/* --- lists --------------------------------------------------------------------- */

static void test_cpu_list(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	struct pmu_cpus *c;
	assert_int_equal(pmu_cpus_parse(&c, "3,0-2,2,7-8", err, sizeof(err)), 0);
	int want[] = {0, 1, 2, 3, 7, 8};
	assert_int_equal(c->n, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(c->cpu[i], want[i]);
	assert_int_equal(pmu_cpus_index(c, 7), 4); /* CPU 7 sits at index 4 */
	assert_int_equal(pmu_cpus_index(c, 4), -1);
	pmu_cpus_free(c);
	assert_int_equal(pmu_cpus_parse(&c, "2-1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "malformed CPU list '2-1'"));
	assert_int_equal(pmu_cpus_parse(&c, "1,", err, sizeof(err)), -EINVAL);
	assert_int_equal(pmu_cpus_online(&c, err, sizeof(err)), 0);
	assert_true(c->n == sysconf(_SC_NPROCESSORS_ONLN));
	pmu_cpus_free(c);
}

static void test_thread_list(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	pid_t pid = child_with_threads();
	struct pmu_threads *t;
	assert_int_equal(pmu_threads_of(&t, pid, err, sizeof(err)), 0);
	assert_int_equal(t->n, 3);
	assert_int_equal(t->tid[0], pid); /* the main thread's id is the pid, the lowest */
	for (int i = 1; i < t->n; i++)
		assert_true(t->tid[i] > t->tid[i - 1]);
	pmu_threads_free(t);
	child_end(pid);
	pid_t gone = gone_pid();
	assert_int_equal(pmu_threads_of(&t, gone, err, sizeof(err)), -ESRCH);
	char want[64];
	snprintf(want, sizeof(want), "process %d does not exist", (int)gone);
	assert_non_null(strstr(err, want));
}

/* --- the opener -------------------------------------------------------------------- */

/* task-clock led group with a page-faults member, on each of a child's threads. */
static void test_open_threads_group(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX] = "";
	pid_t pid = child_with_threads();
	struct pmu_threads *t;
	struct pmu_cpus *any;
	assert_int_equal(pmu_threads_of(&t, pid, err, sizeof(err)), 0);
	assert_int_equal(pmu_cpus_any(&any), 0);
	struct pmu_event lead = sw_event("task-clock", PERF_COUNT_SW_TASK_CLOCK);
	struct pmu_event member = sw_event("page-faults", PERF_COUNT_SW_PAGE_FAULTS);
	struct perf_event_attr la = lead.attr, ma = member.attr;
	la.read_format = ma.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID;
	int lfd[3], mfd[3];
	uint64_t lid[3], mid[3];
	assert_int_equal(
		pmu_open_event(lfd, lid, NULL, &lead, &la, any, t, NULL, 0, err, sizeof(err)), 3);
	assert_int_equal(
		pmu_open_event(mfd, mid, NULL, &member, &ma, any, t, lfd, 0, err, sizeof(err)), 3);
	for (int i = 0; i < 3; i++) {
		/* The group read of each leader lists itself and the member at the same thread. */
		uint64_t buf[1 + 2 * 2];
		assert_int_equal(read(lfd[i], buf, sizeof(buf)), (ssize_t)sizeof(buf));
		assert_int_equal(buf[0], 2);
		assert_int_equal(buf[2], lid[i]);
		assert_int_equal(buf[4], mid[i]);
		for (int j = 0; j < i; j++)
			assert_true(lid[j] != lid[i]);
		assert_true(fcntl(lfd[i], F_GETFD) & FD_CLOEXEC);
		close(mfd[i]);
		close(lfd[i]);
	}
	pmu_threads_free(t);
	pmu_cpus_free(any);
	child_end(pid);
}

/* Per CPU, every task: an fd for each online CPU, or the paranoid policy's line. */
static void test_open_cpus(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX] = "";
	struct pmu_cpus *cpus;
	struct pmu_threads *all;
	assert_int_equal(pmu_cpus_online(&cpus, err, sizeof(err)), 0);
	assert_int_equal(pmu_threads_any(&all), 0);
	struct pmu_event ev = sw_event("cpu-clock", PERF_COUNT_SW_CPU_CLOCK);
	ev.attr.exclude_kernel = 0;
	struct perf_event_attr a = ev.attr;
	int *fds = malloc((size_t)cpus->n * sizeof(int));
	assert_non_null(fds);
	int ret = pmu_open_event(fds, NULL, NULL, &ev, &a, cpus, all, NULL, 0, err, sizeof(err));
	if (ret == -EACCES || ret == -EPERM) {
		/* The message is the policy's: it names the paranoid level that would allow it. */
		assert_non_null(strstr(err, "perf_event_paranoid<=0"));
		free(fds);
		pmu_cpus_free(cpus);
		pmu_threads_free(all);
		skip();
	}
	assert_int_equal(ret, cpus->n);
	for (int i = 0; i < cpus->n; i++)
		close(fds[i]);
	free(fds);
	pmu_cpus_free(cpus);
	pmu_threads_free(all);
}

static void test_open_exited_thread(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX] = "";
	pid_t gone = gone_pid();
	pid_t tids[2] = {getpid(), gone};
	struct pmu_threads *t;
	struct pmu_cpus *any;
	assert_int_equal(pmu_threads_new(&t, tids, 2), 0);
	assert_int_equal(pmu_cpus_any(&any), 0);
	struct pmu_event ev = sw_event("task-clock", PERF_COUNT_SW_TASK_CLOCK);
	struct perf_event_attr a = ev.attr;
	int fds[2] = {7, 7};
	int before = open_fd_count();
	assert_int_equal(pmu_open_event(fds, NULL, NULL, &ev, &a, any, t, NULL,
					PMU_OPEN_SKIP_EXITED, err, sizeof(err)),
			 1);
	assert_true(fds[0] >= 0);
	assert_int_equal(fds[1], -1);
	close(fds[0]);
	/* Not skipped: one line naming it, and the fd opened before it closed again. */
	assert_int_equal(
		pmu_open_event(fds, NULL, NULL, &ev, &a, any, t, NULL, 0, err, sizeof(err)),
		-ESRCH);
	char want[64];
	snprintf(want, sizeof(want), "process %d does not exist", (int)gone);
	assert_non_null(strstr(err, want));
	assert_int_equal(fds[0], -1);
	assert_int_equal(open_fd_count(), before);
	pmu_threads_free(t);
	pmu_cpus_free(any);
}

/* Leaves exactly `spare` descriptors to open: the limit is the (spare + 1)th free number. */
static void limit_fds(struct rlimit *saved, int spare)
{
	assert_int_equal(getrlimit(RLIMIT_NOFILE, saved), 0);
	int limit = 0;
	for (int free_seen = 0; free_seen <= spare; limit++)
		if (fcntl(limit, F_GETFD) < 0)
			free_seen++;
	struct rlimit low = {(rlim_t)(limit - 1), saved->rlim_max};
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
}

static void test_open_emfile(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX] = "";
	pid_t pid = child_with_threads();
	struct pmu_threads *t;
	struct pmu_cpus *any;
	assert_int_equal(pmu_threads_of(&t, pid, err, sizeof(err)), 0);
	assert_int_equal(pmu_cpus_any(&any), 0);
	struct pmu_event ev = sw_event("task-clock", PERF_COUNT_SW_TASK_CLOCK);
	struct perf_event_attr a = ev.attr;
	int fds[3];
	int before = open_fd_count();
	struct rlimit saved;
	limit_fds(&saved, 2); /* room for two of the three */
	int ret = pmu_open_event(fds, NULL, NULL, &ev, &a, any, t, NULL, 0, err, sizeof(err));
	setrlimit(RLIMIT_NOFILE, &saved);
	assert_int_equal(ret, -EMFILE);
	assert_non_null(strstr(err, "cannot open event 'task-clock': too many open files"));
	assert_non_null(strstr(err, "ulimit -n"));
	assert_int_equal(open_fd_count(), before);
	pmu_threads_free(t);
	pmu_cpus_free(any);
	child_end(pid);
}

/* --- watchpoints through the opener ------------------------------------------------ */

static volatile uint64_t watched[8] __attribute__((aligned(64)));

static void test_watch_emfile(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX] = "";
	struct smp_watch_options o = {
		.addr = (uint64_t)(uintptr_t)watched,
		.len = 16,
		.pid = getpid(),
		.ring_pages = 1,
	};
	struct smp_watch *w = NULL;
	struct rlimit saved;
	limit_fds(&saved, 1);
	int ret = smp_watch_open(&w, &o, err, sizeof(err));
	setrlimit(RLIMIT_NOFILE, &saved);
	if (ret == -ENOENT || ret == -EOPNOTSUPP)
		skip(); /* no breakpoint PMU */
	/* The first word on a second CPU, or the second word where there is one CPU. */
	unsigned long long at = 0;
	if (ret != -EMFILE || sscanf(err, "cannot open a hardware watchpoint on %llx", &at) != 1 ||
	    (at != (uintptr_t)&watched[0] && at != (uintptr_t)&watched[1]))
		fail_msg("expected a watchpoint on %p or %p (EMFILE), got %d: %s",
			 (void *)&watched[0], (void *)&watched[1], ret, err);
	assert_non_null(strstr(err, "too many open files"));
	assert_non_null(strstr(err, "ulimit -n"));
}

/* Every debug register of this thread taken: the watch says which resource ran out. */
static void test_watch_no_debug_register(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX] = "";
	int held[8], nheld = 0;
	for (; nheld < 8; nheld++) {
		struct pmu_event ev = {0};
		ev.attr.size = sizeof(ev.attr);
		ev.attr.type = PERF_TYPE_BREAKPOINT;
		ev.attr.bp_type = HW_BREAKPOINT_W;
		ev.attr.bp_addr = (uint64_t)(uintptr_t)&watched[nheld];
		ev.attr.bp_len = HW_BREAKPOINT_LEN_8;
		ev.attr.disabled = 1;
		ev.attr.exclude_kernel = ev.attr.exclude_hv = 1;
		snprintf(ev.name, sizeof(ev.name), "hold");
		struct perf_event_attr a = ev.attr;
		if (pmu_open_self(&held[nheld], NULL, &ev, &a, NULL, 0, err, sizeof(err)) < 0)
			break;
	}
	if (nheld == 0 || nheld == 8) {
		for (int i = 0; i < nheld; i++)
			close(held[i]);
		skip(); /* no breakpoints here, or more than this test can exhaust */
	}
	assert_non_null(strstr(err, "no free debug register"));
	struct smp_watch_options o = {
		.addr = (uint64_t)(uintptr_t)watched,
		.len = 16,
		.pid = getpid(),
		.ring_pages = 1,
	};
	struct smp_watch *w = NULL;
	int ret = smp_watch_open(&w, &o, err, sizeof(err));
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	assert_int_equal(ret, -ENOSPC);
	assert_non_null(strstr(err, "cannot open a hardware watchpoint on"));
	assert_non_null(strstr(err, "no free debug register for task"));
	assert_null(strstr(err, "paranoid")); /* not a permission problem */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test(test_thread_list),
		cmocka_unit_test(test_open_threads_group),
		cmocka_unit_test(test_open_cpus),
		cmocka_unit_test(test_open_exited_thread),
		cmocka_unit_test(test_open_emfile),
		cmocka_unit_test(test_watch_emfile),
		cmocka_unit_test(test_watch_no_debug_register),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
