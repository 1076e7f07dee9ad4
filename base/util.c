/* Small pieces every module shares (declared in base.h). */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t base_htab_cap_for(const struct base_htab *h, size_t more)
{
	size_t cap = h->cap;
	while ((h->n + more) * 2 > cap)
		cap = cap ? cap * 2 : 64;
	return cap;
}

int base_htab_reserve(struct base_htab *h)
{
	if ((h->n + 1) * 2 <= h->cap)
		return 0;
	size_t ncap = base_htab_cap_for(h, 1);
	struct base_htab_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->slot[i].idx1)
			continue;
		size_t j = h->slot[i].hash & (ncap - 1);
		while (ns[j].idx1)
			j = (j + 1) & (ncap - 1);
		ns[j] = h->slot[i];
	}
	free(h->slot);
	h->slot = ns;
	h->cap = ncap;
	return 0;
}

struct base_htab_slot *base_htab_find(const struct base_htab *h, uint64_t hash, base_htab_eq_fn eq,
				      const void *ctx, const void *key)
{
	size_t j = hash & (h->cap - 1);
	for (;;) {
		struct base_htab_slot *s = &h->slot[j];
		if (!s->idx1 || (s->hash == hash && eq(ctx, s->idx1 - 1, key)))
			return s;
		j = (j + 1) & (h->cap - 1);
	}
}

void base_htab_free(struct base_htab *h)
{
	free(h->slot);
	h->slot = NULL;
	h->cap = h->n = 0;
}

uint64_t base_htab_hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = base_htab_mix(h, w);
		s += 8;
		n -= 8;
	}
	/* The tail byte by byte: memcpy of a variable length into w stalls store forwarding. */
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(uint8_t)s[i] << (8 * i);
	return base_htab_mix(h, w);
}

int base_mkdir_p(const char *path)
{
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			return -errno;
		*s = saved;
		if (!saved)
			break;
	}
	struct stat st;
	if (stat(p, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int base_write_atomic_at(int dirfd, const char *path, mode_t mode, base_fill_fn fill, void *arg,
			 const char *what, char *err, size_t errlen)
{
	struct base_output_opts o = {.mode = mode, .flags = BASE_OUTPUT_NO_FOLLOW, .what = what};
	return base_write_file_at(dirfd, path, &o, fill, arg, err, errlen);
}

int base_write_atomic(const char *path, mode_t mode, base_fill_fn fill, void *arg, const char *what,
		      char *err, size_t errlen)
{
	return base_write_atomic_at(AT_FDCWD, path, mode, fill, arg, what, err, errlen);
}

/* 0 when the folder open as fd is the user's (or root's) and nobody else may write it. */
int base_check_private_dir(int fd, const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = -errno;
		return base_fail(err, errlen, rc, "cannot check the %s %s: %s", what, path,
				 strerror(-rc));
	}
	uid_t me = geteuid();
	if (st.st_uid != me && st.st_uid != 0) {
		return base_fail(
			err, errlen, -EPERM,
			"the %s %s belongs to uid %u, not to you (uid %u) or root: its owner "
			"could plant links there; choose a folder of your own",
			what, path, (unsigned)st.st_uid, (unsigned)me);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		/* A shared folder (/tmp, sticky; or root's under sudo) is not to be chmod'ed. */
		bool own = st.st_uid == me && !(st.st_mode & S_ISVTX);
		return base_fail(
			err, errlen, -EPERM,
			"the %s %s is writable by other users (mode %04o): they could plant "
			"links there; %s%s%schoose a folder only you can write",
			what, path, (unsigned)(st.st_mode & 07777),
			own ? "make it private (chmod go-w " : "", own ? path : "",
			own ? ") or " : "");
	}
	return 0;
}

int base_open_private_dir(const char *path, const char *what, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		return base_fail(err, errlen, rc, "cannot open the %s %s: %s", what, path,
				 strerror(-rc));
	}
	int rc = base_check_private_dir(fd, path, what, err, errlen);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int base_open_log(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	if (!*base) {
		return base_fail(err, errlen, -EISDIR, "--log %s names a folder; give a file name",
				 path);
	}
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >=
		 sizeof(dir)) {
		return base_fail(err, errlen, -ENAMETOOLONG, "--log %s: %s", path,
				 strerror(ENAMETOOLONG));
	}
	int dfd = base_open_private_dir(dir, "log folder", err, errlen);
	if (dfd < 0)
		return dfd;
	int fd = openat(dfd, base, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -errno : 0;
	close(dfd);
	if (rc == -ELOOP) {
		return base_fail(
			err, errlen, rc,
			"--log %s is a symbolic link: not followed (it could point the log at "
			"any file); give the path of the file itself",
			path);
	}
	if (rc < 0) {
		return base_fail(err, errlen, rc, "cannot open log %s: %s", path, strerror(-rc));
	}
	return fd;
}

void base_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void base_escape(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (!outlen)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char e[5] = {'\\', 0, 0, 0, 0};
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			e[0] = (char)ch;
		} else if (ch == '\\' || ch == '\n' || ch == '\r' || ch == '\t') {
			e[1] = ch == '\\' ? '\\' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't';
		} else {
			e[1] = 'x';
			e[2] = hex[ch >> 4];
			e[3] = hex[ch & 15];
		}
		size_t el = strlen(e);
		if (o + el >= outlen)
			break; /* only whole escapes: never half of one */
		memcpy(out + o, e, el);
		o += el;
	}
	out[o] = '\0';
}

size_t base_grow_cap(size_t cap, size_t need)
{
	if (need <= cap)
		return cap;
	size_t n = cap ? cap : 16;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return 0;
		n *= 2;
	}
	return n;
}

int base_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = base_grow_cap(*cap, need);
	if (!n || n > SIZE_MAX / size)
		return -ENOMEM;
	void *q = realloc(*arr, n * size);
	if (!q)
		return -ENOMEM;
	*arr = q;
	*cap = n;
	return 0;
}

void base_list_unlink(struct base_list *l, struct base_link *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

void base_list_push_front(struct base_list *l, struct base_link *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head)
		l->head->prev = e;
	l->head = e;
	if (!l->tail)
		l->tail = e;
}
