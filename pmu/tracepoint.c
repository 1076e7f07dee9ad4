/*
 * Tracepoints as events: where tracefs is (found and, for root, mounted as
 * perf does), the tracepoints it lists (events/<sys>/<name>/id), and
 * "sys:name" strings with globs in either part resolved to their ids.
 */
#include "pmu_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#define TRACEFS_MAGIC 0x74726163
#define DEBUGFS_MAGIC 0x64626720

static bool is_fs(const char *path, long magic)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

/* The first mount of type `type` in /proc/mounts that is still there (not mounted over). */
static bool find_mount(const char *type, long magic, char *dir, size_t len)
{
	FILE *f = fopen("/proc/mounts", "re");
	if (!f)
		return false;
	char line[1024], path[512], fstype[64];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %511s %63s", path, fstype) == 2 &&
		    strcmp(fstype, type) == 0 && is_fs(path, magic))
			found = snprintf(dir, len, "%s", path) < (int)len;
	fclose(f);
	return found;
}

/* tracefs inside a debugfs mounted at `debugfs` (the kernel mounts it there on first access). */
static bool debugfs_tracing(const char *debugfs, char *dir, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/tracing", debugfs);
	if (!is_fs(path, TRACEFS_MAGIC))
		return false;
	return snprintf(dir, len, "%s", path) < (int)len;
}

int pmu_tracefs_dir(char *dir, size_t len, char *err, size_t errlen)
{
	/* perf's order (tools/lib/api/fs): TRACEFS_PATH, known places, /proc/mounts, mount. */
	const char *env = getenv("TRACEFS_PATH");
	if (env && *env && snprintf(dir, len, "%s", env) >= (int)len)
		return base_fail(err, errlen, -ENAMETOOLONG, "TRACEFS_PATH is too long");
	if (env && *env)
		return 0;
	static const char *const known[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
					    "/tracing", "/trace"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (is_fs(known[i], TRACEFS_MAGIC))
			return snprintf(dir, len, "%s", known[i]) < (int)len ? 0 : -ENAMETOOLONG;
	char debugfs[512];
	if (find_mount("tracefs", TRACEFS_MAGIC, dir, len))
		return 0;
	if (find_mount("debugfs", DEBUGFS_MAGIC, debugfs, sizeof(debugfs)) &&
	    debugfs_tracing(debugfs, dir, len))
		return 0;
	/* Not mounted: perf mounts tracefs (else debugfs) where it is looked for first. */
	if (mount("nodev", known[0], "tracefs", 0, NULL) == 0 && is_fs(known[0], TRACEFS_MAGIC))
		return snprintf(dir, len, "%s", known[0]) < (int)len ? 0 : -ENAMETOOLONG;
	int e = errno;
	if (mount("nodev", "/sys/kernel/debug", "debugfs", 0, NULL) == 0 &&
	    debugfs_tracing("/sys/kernel/debug", dir, len))
		return 0;
	return base_fail(err, errlen, -ENODEV,
			 "tracefs is not mounted, and mounting it at %s failed (%s); as root: "
			 "mount -t tracefs nodev %s",
			 known[0], strerror(e), known[0]);
}

int pmu_tp_events_dir(char *events, size_t len, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int ret = pmu_tracefs_dir(dir, sizeof(dir), err, errlen);
	if (ret < 0)
		return ret;
	if (snprintf(events, len, "%s/events", dir) >= (int)len)
		return base_fail(err, errlen, -ENAMETOOLONG, "%s/events: too long a path", dir);
	DIR *d = opendir(events);
	if (d) {
		closedir(d);
		return 0;
	}
	ret = -errno;
	if (ret == -EACCES || ret == -EPERM)
		return base_fail(
			err, errlen, ret,
			"tracefs at %s is not readable by this user (no permission to read "
			"%s): run as root, or as root: mount -o remount,mode=755 %s",
			dir, events, dir);
	if (ret == -ENOENT)
		return base_fail(err, errlen, ret,
				 "%s has no events/ directory (a kernel built without "
				 "CONFIG_EVENT_TRACING)",
				 dir);
	return base_fail(err, errlen, ret, "cannot read %s: %s", events, strerror(-ret));
}

/* --- the tracepoints tracefs lists ---------------------------------------------- */

static int only_dirs(const struct dirent *d)
{
	return d->d_name[0] != '.' && (d->d_type == DT_DIR || d->d_type == DT_UNKNOWN);
}

/*
 * Calls fn(sys, name, arg) for each tracepoint of subsystems matching
 * sys_glob and names matching name_glob (NULL: any), sorted as perf lists
 * them. Returns 0, fn's first non-zero return, or -errno of the events
 * directory (sys_seen: whether a subsystem matched).
 */
static int tp_walk(const char *events, const char *sys_glob, const char *name_glob, bool *sys_seen,
		   int (*fn)(const char *sys, const char *name, void *arg), void *arg)
{
	struct dirent **systems;
	int nsys = scandir(events, &systems, only_dirs, alphasort);
	if (nsys < 0)
		return -errno;
	int ret = 0;
	for (int i = 0; i < nsys; i++) {
		const char *sys = systems[i]->d_name;
		if (ret || (sys_glob && fnmatch(sys_glob, sys, 0) != 0))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", events, sys);
		struct dirent **names;
		int n = scandir(path, &names, only_dirs, alphasort);
		if (n < 0)
			continue; /* a file such as header_page, or a vanished subsystem */
		if (sys_seen)
			*sys_seen = true;
		for (int j = 0; j < n; j++) {
			if (!ret && (!name_glob || fnmatch(name_glob, names[j]->d_name, 0) == 0))
				ret = fn(sys, names[j]->d_name, arg);
			free(names[j]);
		}
		free(names);
	}
	for (int i = 0; i < nsys; i++)
		free(systems[i]);
	free(systems);
	return ret;
}

struct list_walk {
	const char *events;
	int (*fn)(const struct pmu_list_entry *, void *);
	void *arg;
};

static int list_one(const char *sys, const char *name, void *arg)
{
	struct list_walk *w = arg;
	char full[PMU_NAME_MAX * 2], id[PATH_MAX];
	snprintf(id, sizeof(id), "%s/%s/%s/id", w->events, sys, name);
	if (access(id, F_OK) != 0)
		return 0; /* no id, no perf event (ftrace's own), as perf list */
	snprintf(full, sizeof(full), "%s:%s", sys, name);
	struct pmu_list_entry e = {
		.group = PMU_LIST_TRACEPOINT, .name = full, .desc = "[Tracepoint event]"};
	return w->fn(&e, w->arg);
}

int pmu_tp_list(int (*fn)(const struct pmu_list_entry *e, void *arg), void *arg)
{
	char err[BASE_ERR_MAX], events[PATH_MAX];
	if (pmu_tp_events_dir(events, sizeof(events), err, sizeof(err)) < 0)
		return 0; /* no readable tracefs: no tracepoints to list */
	struct list_walk w = {events, fn, arg};
	int ret = tp_walk(events, NULL, NULL, NULL, list_one, &w);
	return ret < 0 ? 0 : ret;
}

/* --- resolving sys:name ------------------------------------------------------------ */

struct resolve_walk {
	const char *events;
	int (*fn)(const char *sys, const char *name, uint64_t id, void *arg);
	void *arg;
	size_t found;
	char *err;
	size_t errlen;
};

static int resolve_one(const char *sys, const char *name, void *arg)
{
	struct resolve_walk *w = arg;
	char path[PATH_MAX], text[32];
	snprintf(path, sizeof(path), "%s/%s/%s/id", w->events, sys, name);
	int ret = pmu_read_small_file(path, text, sizeof(text));
	if (ret == -ENOENT)
		return 0; /* a directory without an id is no tracepoint (ftrace-only events) */
	if (ret == -EACCES || ret == -EPERM)
		return base_fail(w->err, w->errlen, ret,
				 "no permission to read %s (tracefs's files are root's): run as "
				 "root, or as root: chmod o+r %s",
				 path, path);
	if (ret < 0)
		return base_fail(w->err, w->errlen, ret, "cannot read %s: %s", path,
				 strerror(-ret));
	char *end;
	errno = 0;
	uint64_t id = strtoull(text, &end, 10);
	if (errno || end == text || *end)
		return base_fail(w->err, w->errlen, -EINVAL, "%s holds '%s', not a tracepoint id",
				 path, text);
	w->found++;
	return w->fn(sys, name, id, w->arg);
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int pmu_tp_resolve(const struct pmu_ctx *ctx, const char *sys, const char *name,
		   int (*fn)(const char *sys, const char *name, uint64_t id, void *arg), void *arg,
		   bool *no_subsystem, char *err, size_t errlen)
{
	*no_subsystem = false;
	char events[PATH_MAX], why[BASE_ERR_MAX];
	int ret = pmu_tp_events_dir(events, sizeof(events), why, sizeof(why));
	if (ret < 0)
		return base_fail(err, errlen, ret, "tracepoint '%s:%s': %s", sys, name, why);
	struct resolve_walk w = {events, fn, arg, 0, err, errlen};
	bool sys_seen = false;
	if (errlen)
		err[0] = '\0';
	ret = tp_walk(events, sys, name, &sys_seen, resolve_one, &w);
	if (ret < 0 && errlen && !err[0]) /* events/ went unreadable since it was opened */
		return base_fail(err, errlen, ret, "tracepoint '%s:%s': cannot read %s: %s", sys,
				 name, events, strerror(-ret));
	if (ret < 0)
		return ret; /* resolve_one's or fn's error, said in err */
	if (w.found)
		return 0;
	if (has_glob(sys) || has_glob(name))
		return base_fail(err, errlen, -ENOENT,
				 "no tracepoint matches '%s:%s' in %s (run 'pmuprof list "
				 "tracepoint' to see this kernel's tracepoints)",
				 sys, name, events);
	*no_subsystem = !sys_seen;
	char full[PMU_NAME_MAX * 2], hint[256];
	snprintf(full, sizeof(full), "%s:%s", sys, name);
	pmu_suggest(ctx, full, hint, sizeof(hint));
	return base_fail(err, errlen, -ENOENT,
			 "unknown tracepoint '%s'%s (this kernel has no %s/%s/%s: misspelt, or "
			 "not built into it; run 'pmuprof list tracepoint' to see its tracepoints)",
			 full, hint, events, sys, sys_seen ? name : "");
}

/* --- format files ------------------------------------------------------------------ */

int pmu_tp_format_read(struct pmu_tp_format *out, const char *sys, const char *name, char *err,
		       size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	int ret = pmu_tracefs_dir(dir, sizeof(dir), err, errlen);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/events/%s/%s/format", dir, sys, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return base_fail(err, errlen, -errno, "cannot read %s: %s", path, strerror(errno));
	char *text = NULL;
	size_t used = 0, cap = 0;
	ret = 0;
	while (ret == 0) {
		if ((ret = base_grow((void **)&text, &cap, used + 4096, 1)) < 0)
			break;
		size_t n = fread(text + used, 1, cap - used, f);
		used += n;
		if (n == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (ret == 0 && bad)
		ret = base_fail(err, errlen, -EIO, "cannot read %s", path);
	else if (ret < 0)
		ret = base_fail(err, errlen, ret, "out of memory");
	else
		ret = pmu_tp_format_parse(out, text, used, err, errlen);
	free(text);
	return ret;
}
