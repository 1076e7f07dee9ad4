/*
 * procfs: the facts pmuprof reads about a running process, each from one
 * place. Files there are small and change under the reader (a process may
 * end at any time), so each read is one open, one read, one close, and a
 * process that is gone reads as -ENOENT or -ESRCH.
 */
#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void proc_path(char *path, size_t len, pid_t pid, pid_t tid, const char *name)
{
	if (tid > 0)
		snprintf(path, len, "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
	else
		snprintf(path, len, "/proc/%d/%s", (int)pid, name);
}

ssize_t base_proc_read(pid_t pid, pid_t tid, const char *name, char *buf, size_t len)
{
	char path[96];
	proc_path(path, sizeof(path), pid, tid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (len)
		buf[n] = 0;
	return (ssize_t)n;
}

int base_proc_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	ssize_t n = base_proc_read(pid, tid, "comm", buf, len);
	if (n < 0) {
		if (len)
			buf[0] = 0;
		return (int)n;
	}
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int base_proc_cmdline(pid_t pid, char *buf, size_t len)
{
	ssize_t n = base_proc_read(pid, 0, "cmdline", buf, len);
	if (n < 0) {
		if (len)
			buf[0] = 0;
		return (int)n;
	}
	for (ssize_t i = 0; i + 1 < n; i++)
		if (buf[i] == 0)
			buf[i] = ' '; /* arguments are NUL-separated */
	return 0;
}

int base_proc_tgid(pid_t id, pid_t *tgid)
{
	char buf[4096];
	ssize_t n = base_proc_read(id, 0, "status", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	const char *p = strstr(buf, "\nTgid:");
	if (!p)
		return -ESRCH;
	*tgid = (pid_t)atoi(p + 6);
	return 0;
}

int base_proc_owner(pid_t pid, uid_t *uid)
{
	char path[32];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) < 0)
		return -errno;
	*uid = st.st_uid;
	return 0;
}

int base_proc_exe(pid_t pid, char *buf, size_t len)
{
	char path[32];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/exe");
	ssize_t n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int base_proc_auxv(pid_t pid, uint64_t type, uint64_t *value)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t kv[2];
	int ret = -ENOENT;
	/* AT_NULL (0) ends the vector. */
	while (ret == -ENOENT && read(fd, kv, sizeof(kv)) == (ssize_t)sizeof(kv) && kv[0] != 0)
		if (kv[0] == type)
			*value = kv[1], ret = 0;
	close(fd);
	return ret;
}

int base_proc_threads(pid_t pid, pid_t **out, int *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	pid_t *v = NULL;
	int cnt = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			pid_t *nv = realloc(v, (size_t)cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	*out = v;
	*n = cnt;
	return 0;
}
