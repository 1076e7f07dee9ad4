/* Output files: replaced atomically, or written in place where renaming would destroy (see base.h). */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Symlink hops followed before giving up, as the kernel's own limit (MAXSYMLINKS). */
#define OUTPUT_MAX_LINKS 40

enum output_kind {
	OUTPUT_FILE,   /* replaced through a temporary */
	OUTPUT_STDOUT, /* "-" */
	OUTPUT_STREAM, /* device, FIFO or socket, opened in place */
};

struct base_output {
	struct base_output_opts opts;
	enum output_kind kind;
	char *name;     /* as given */
	char *path;     /* symlinks followed */
	char *tmp;      /* OUTPUT_FILE: the temporary while one exists */
	int dirfd;      /* names are relative to this folder (AT_FDCWD: the usual) */
	int fd;         /* the content's descriptor: temporary, stream or scratch; -1 */
	int stream_fd;  /* OUTPUT_STREAM: the opened stream; -1 until opened */
	int scratch_fd; /* SEEKABLE on a stream: the content before its copy; -1 */
	mode_t keep_mode;
	bool replaces;  /* OUTPUT_FILE: path existed when opened */
	bool exists;    /* path existed when opened: its identity is dev, ino */
	dev_t dev;
	ino_t ino;
	mode_t type;    /* S_IFMT bits of what exists */
	bool old_kept;
};

int base_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

int base_write_all(int fd, const void *buf, size_t n)
{
	const unsigned char *b = buf;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* What the user can do about e, named by the option that chose the path. */
static const char *fix_for(const struct base_output *o, int e, char *buf, size_t len)
{
	const char *flag = o->opts.flag ? o->opts.flag : "the output";
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		snprintf(buf, len, "; free some space there or give %s a path on another file system",
			 flag);
		break;
	case EACCES:
	case EPERM:
	case EROFS:
		snprintf(buf, len, "; give %s a path in a directory you can write to", flag);
		break;
	case ENOENT:
	case ENOTDIR:
		snprintf(buf, len, "; the directory does not exist: create it or give %s another path",
			 flag);
		break;
	default:
		buf[0] = '\0';
	}
	return buf;
}

static int output_error(struct base_output *o, int rc, const char *step, const char *file,
			const char *why, char *err, size_t errlen)
{
	char fix[160];
	const char *what = o->opts.what ? o->opts.what : "output";
	if (step)
		return base_fail(err, errlen, rc, "cannot write %s %s: %s %s: %s%s", what, o->name,
				 step, file, why ? why : strerror(-rc), fix_for(o, -rc, fix, sizeof(fix)));
	return base_fail(err, errlen, rc, "cannot write %s %s: %s%s", what, o->name,
			 why ? why : strerror(-rc), fix_for(o, -rc, fix, sizeof(fix)));
}

/* dir of path into buf ("." for a bare name). */
static void dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

/*
 * Follows symlinks to the name that will really be written: the last
 * existing non-link (st filled, *exists) or the name a dangling link points
 * to (created there, as a shell's `>` would).
 */
static int follow_links(const char *name, char *path, size_t len, struct stat *st, bool *exists)
{
	if (strlen(name) >= len)
		return -ENAMETOOLONG;
	strcpy(path, name);
	for (int hop = 0; hop <= OUTPUT_MAX_LINKS; hop++) {
		if (lstat(path, st) < 0) {
			if (errno != ENOENT)
				return -errno;
			*exists = false;
			return 0;
		}
		if (!S_ISLNK(st->st_mode)) {
			*exists = true;
			return 0;
		}
		char target[PATH_MAX], dir[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (target[0] == '/') {
			if ((size_t)n >= len)
				return -ENAMETOOLONG;
			strcpy(path, target);
		} else {
			dir_of(path, dir, sizeof(dir));
			if ((size_t)snprintf(path, len, "%s/%s", dir, target) >= len)
				return -ENAMETOOLONG;
		}
	}
	return -ELOOP;
}

/* The name itself, whatever is there (BASE_OUTPUT_NO_FOLLOW). */
static int lstat_name(int dirfd, const char *name, char *path, size_t len, struct stat *st,
		      bool *exists)
{
	if (strlen(name) >= len)
		return -ENAMETOOLONG;
	strcpy(path, name);
	*exists = fstatat(dirfd, path, st, AT_SYMLINK_NOFOLLOW) == 0;
	return *exists || errno == ENOENT ? 0 : -errno;
}

/* A fresh temporary next to the target; O_EXCL so a stale or planted file is never reused. */
static int make_temp(struct base_output *o, char *err, size_t errlen)
{
	size_t n = strlen(o->path) + 40;
	char *tmp = malloc(n);
	if (!tmp)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	int fd = -1;
	for (unsigned i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(tmp, n, "%s.tmp.%ld", o->path, (long)getpid());
		else
			snprintf(tmp, n, "%s.tmp.%ld.%u", o->path, (long)getpid(), i);
		fd = openat(o->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    o->opts.mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int rc = -errno;
		output_error(o, rc, "creating", tmp, NULL, err, errlen);
		free(tmp);
		return rc;
	}
	/* Replacing a file keeps its permission bits (a 0600 profile stays private). */
	if (o->replaces)
		(void)fchmod(fd, o->keep_mode);
	o->tmp = tmp;
	o->fd = fd;
	return 0;
}

/* A Unix socket is "opened" by connecting to it. */
static int connect_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/*
 * A FIFO is opened now if a reader is there; otherwise at begin, where the
 * open waits for one (perf record -o FIFO behaves alike).
 */
static int open_stream(struct base_output *o, const struct stat *st, bool wait)
{
	int fd;
	if (S_ISSOCK(st->st_mode))
		return connect_socket(o->path);
	if (S_ISFIFO(st->st_mode) && !wait) {
		fd = open(o->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return errno == ENXIO ? 0 : -errno; /* 0: no reader yet */
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		return fd;
	}
	fd = open(o->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

int base_scratch_file(const char **dir)
{
	const char *d = getenv("TMPDIR");
	if (!d || !*d)
		d = "/tmp";
	if (dir)
		*dir = d;
	int fd = open(d, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char tmpl[PATH_MAX];
		snprintf(tmpl, sizeof(tmpl), "%s/pmuprof-XXXXXX", d);
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmpl);
	}
	return fd < 0 ? -errno : fd;
}

static int make_scratch(struct base_output *o, char *err, size_t errlen)
{
	const char *dir;
	int fd = base_scratch_file(&dir);
	if (fd < 0)
		return base_fail(err, errlen, fd,
				 "cannot write %s %s: a scratch file in %s: %s; set TMPDIR to a "
				 "writable folder",
				 o->opts.what ? o->opts.what : "output", o->name, dir,
				 strerror(-fd));
	o->scratch_fd = fd;
	return 0;
}

static int open_at(int dirfd, struct base_output **out, const char *name,
		   const struct base_output_opts *opts, char *err, size_t errlen)
{
	*out = NULL;
	struct base_output *o = calloc(1, sizeof(*o));
	if (!o)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	o->opts = *opts;
	o->dirfd = dirfd;
	o->fd = o->stream_fd = o->scratch_fd = -1;
	o->name = strdup(name ? name : "");
	if (!o->name) {
		free(o);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	int rc = 0;
	if (!*o->name) {
		rc = base_fail(err, errlen, -EINVAL, "cannot write %s: no file name",
			       opts->what ? opts->what : "output");
		goto fail;
	}
	if (strcmp(o->name, "-") == 0) {
		o->kind = OUTPUT_STDOUT;
		if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
			rc = output_error(o, -EBADF, NULL, NULL, "standard output is closed", err,
					  errlen);
			goto fail;
		}
		o->stream_fd = STDOUT_FILENO;
	} else {
		char path[PATH_MAX];
		struct stat st;
		bool exists = false;
		if (opts->flags & BASE_OUTPUT_NO_FOLLOW)
			rc = lstat_name(dirfd, o->name, path, sizeof(path), &st, &exists);
		else
			rc = follow_links(o->name, path, sizeof(path), &st, &exists);
		if (rc < 0) {
			output_error(o, rc, NULL, NULL, NULL, err, errlen);
			goto fail;
		}
		if (!(o->path = strdup(path))) {
			rc = base_fail(err, errlen, -ENOMEM, "out of memory");
			goto fail;
		}
		o->exists = exists;
		o->dev = st.st_dev;
		o->ino = st.st_ino;
		o->type = st.st_mode & S_IFMT;
		if (exists && S_ISDIR(st.st_mode)) {
			rc = output_error(o, -EISDIR, NULL, NULL, "it is a directory; name a file in it",
					  err, errlen);
			goto fail;
		}
		if (exists && S_ISBLK(st.st_mode)) {
			rc = output_error(o, -EINVAL, NULL, NULL,
					  "it is a block device; pmuprof does not write onto disks",
					  err, errlen);
			goto fail;
		}
		if (exists && !S_ISREG(st.st_mode) && !(opts->flags & BASE_OUTPUT_NO_FOLLOW)) {
			o->kind = OUTPUT_STREAM;
			rc = open_stream(o, &st, false);
			if (rc < 0) {
				output_error(o, rc, "opening", o->path, NULL, err, errlen);
				goto fail;
			}
			o->stream_fd = rc > 0 ? rc : -1;
			if (rc == 0 && access(o->path, W_OK) < 0) {
				rc = -errno;
				output_error(o, rc, "opening", o->path, NULL, err, errlen);
				goto fail;
			}
			rc = 0;
		} else {
			o->kind = OUTPUT_FILE;
			o->replaces = exists && S_ISREG(st.st_mode);
			o->keep_mode = st.st_mode & 07777;
			if ((rc = make_temp(o, err, errlen)) < 0)
				goto fail;
		}
	}
	if (o->kind != OUTPUT_FILE && (opts->flags & BASE_OUTPUT_SEEKABLE) &&
	    (rc = make_scratch(o, err, errlen)) < 0)
		goto fail;
	*out = o;
	return 0;
fail:
	base_output_close(o);
	return rc;
}

int base_output_open(struct base_output **out, const char *name,
		     const struct base_output_opts *opts, char *err, size_t errlen)
{
	return open_at(AT_FDCWD, out, name, opts, err, errlen);
}

int base_output_begin(struct base_output *o, int *fd, char *err, size_t errlen)
{
	int rc = 0;
	if (o->kind == OUTPUT_FILE) {
		if (o->fd < 0)
			rc = make_temp(o, err, errlen);
	} else if (o->opts.flags & BASE_OUTPUT_SEEKABLE) {
		if (o->scratch_fd < 0)
			rc = make_scratch(o, err, errlen);
		o->fd = o->scratch_fd;
	} else {
		rc = base_output_wait_for_reader(o, err, errlen); /* a FIFO's reader, if not yet */
		o->fd = o->stream_fd;
	}
	*fd = o->fd;
	return rc;
}

/* After rename, the directory entry itself must reach the disk; best effort. */
static void sync_dir_of(int dirfd, const char *path)
{
	if (dirfd != AT_FDCWD) {
		(void)fsync(dirfd);
		return;
	}
	char dir[PATH_MAX];
	dir_of(path, dir, sizeof(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* PATH.old becomes the file PATH was; PATH itself never goes missing (link, then rename). */
static int keep_old(struct base_output *o, char *err, size_t errlen)
{
	size_t n = strlen(o->path) + sizeof(".old");
	char *old = malloc(n);
	if (!old)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	snprintf(old, n, "%s.old", o->path);
	int rc = 0;
	if (unlinkat(o->dirfd, old, 0) < 0 && errno != ENOENT)
		rc = -errno;
	else if (linkat(o->dirfd, o->path, o->dirfd, old, 0) < 0 && errno != ENOENT)
		rc = -errno;
	if (rc < 0)
		output_error(o, rc, "keeping the previous file as", old, NULL, err, errlen);
	free(old);
	return rc;
}

/* The scratch file's bytes, from its start, to the stream. */
static int copy_scratch(struct base_output *o, char *err, size_t errlen)
{
	int rc = base_output_wait_for_reader(o, err, errlen);
	if (rc < 0)
		return rc;
	if (lseek(o->scratch_fd, 0, SEEK_SET) < 0)
		return output_error(o, -errno, "reading back", "its scratch file", NULL, err, errlen);
	char buf[65536];
	for (;;) {
		ssize_t n = read(o->scratch_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return output_error(o, -errno, "reading back", "its scratch file", NULL, err,
					    errlen);
		if (n == 0)
			break;
		rc = base_write_all(o->stream_fd, buf, (size_t)n);
		if (rc < 0)
			return output_error(o, rc, "writing", o->name, NULL, err, errlen);
	}
	close(o->scratch_fd);
	o->scratch_fd = o->fd = -1;
	return 0;
}

int base_output_commit(struct base_output *o, char *err, size_t errlen)
{
	if (o->fd < 0)
		return base_fail(err, errlen, -EINVAL, "cannot write %s %s: nothing was begun",
				 o->opts.what ? o->opts.what : "output", o->name);
	if (o->kind != OUTPUT_FILE) {
		if (o->opts.flags & BASE_OUTPUT_SEEKABLE)
			return copy_scratch(o, err, errlen);
		o->fd = -1; /* the stream stays open for the next content */
		return 0;
	}
	int fd = o->fd, rc = 0;
	const char *step = "syncing";
	o->fd = -1;
	if (fsync(fd) < 0)
		rc = -errno;
	/* close() can be where NFS or a full disk finally reports the error. */
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		step = "closing";
	}
	if (rc < 0) {
		output_error(o, rc, step, o->tmp, NULL, err, errlen);
		goto drop;
	}
	if ((o->opts.flags & BASE_OUTPUT_KEEP_OLD) && o->replaces && !o->old_kept) {
		if ((rc = keep_old(o, err, errlen)) < 0)
			goto drop;
		o->old_kept = true;
	}
	if (renameat(o->dirfd, o->tmp, o->dirfd, o->path) < 0) {
		rc = -errno;
		output_error(o, rc, "renaming onto", o->path, NULL, err, errlen);
		goto drop;
	}
	free(o->tmp);
	o->tmp = NULL;
	sync_dir_of(o->dirfd, o->path);
	return 0;
drop:
	unlinkat(o->dirfd, o->tmp, 0);
	free(o->tmp);
	o->tmp = NULL;
	return rc;
}

/* Drops the content begun: a temporary is removed, a scratch file emptied. */
static void drop_content(struct base_output *o)
{
	if (o->kind == OUTPUT_FILE && o->fd >= 0) {
		close(o->fd);
		unlinkat(o->dirfd, o->tmp, 0);
	} else if (o->scratch_fd >= 0) {
		close(o->scratch_fd);
		o->scratch_fd = -1;
	}
	o->fd = -1;
	free(o->tmp);
	o->tmp = NULL;
}

int base_output_fail(struct base_output *o, const char *step, int rc, const char *why, char *err,
		     size_t errlen)
{
	const char *file = o->kind == OUTPUT_FILE && o->tmp ? o->tmp : o->name;
	output_error(o, rc, step, file, why, err, errlen);
	drop_content(o);
	return rc;
}

int base_fill_bytes(int fd, void *arg, const char **why)
{
	(void)why;
	const struct base_bytes *b = arg;
	return base_write_all(fd, b->buf, b->len);
}

int base_output_write(struct base_output *o, base_fill_fn fill, void *arg, char *err,
		      size_t errlen)
{
	int fd;
	int rc = base_output_begin(o, &fd, err, errlen);
	if (rc < 0)
		return rc;
	const char *why = NULL;
	rc = fill(fd, arg, &why);
	if (rc < 0)
		return base_output_fail(o, "writing", rc, why, err, errlen);
	return base_output_commit(o, err, errlen);
}

bool base_output_waits_for_reader(const struct base_output *o)
{
	return o->kind == OUTPUT_STREAM && o->stream_fd < 0;
}

int base_output_wait_for_reader(struct base_output *o, char *err, size_t errlen)
{
	if (!base_output_waits_for_reader(o))
		return 0;
	struct stat st;
	if (stat(o->path, &st) < 0)
		return output_error(o, -errno, "opening", o->path, NULL, err, errlen);
	int fd = open_stream(o, &st, true);
	if (fd < 0)
		return output_error(o, fd, "opening", o->path, NULL, err, errlen);
	o->stream_fd = fd;
	return 0;
}

/*
 * The same file, the same new name, the same FIFO or socket, or both
 * standard output: one content would overwrite or run into the other (a
 * character device such as /dev/null takes both).
 */
static bool same_target(const struct base_output *a, const struct base_output *b)
{
	if (a->kind == OUTPUT_STDOUT || b->kind == OUTPUT_STDOUT)
		return a->kind == b->kind;
	if (a->exists && b->exists)
		return a->dev == b->dev && a->ino == b->ino && a->type != S_IFCHR;
	return !a->exists && !b->exists && strcmp(a->path, b->path) == 0;
}

int base_outputs_distinct(struct base_output *const *outs, size_t n, const char *input,
			  char *err, size_t errlen)
{
	struct stat in = {0};
	bool have_in = input && strcmp(input, "-") != 0 && stat(input, &in) == 0;
	for (size_t i = 0; i < n; i++) {
		const struct base_output *a = outs[i];
		if (!a)
			continue;
		if (have_in && a->kind != OUTPUT_STDOUT && a->exists && a->dev == in.st_dev &&
		    a->ino == in.st_ino)
			return base_fail(err, errlen, -EINVAL,
					 "%s %s is the input %s: writing it would destroy what is "
					 "read; give %s another name",
					 a->opts.flag ? a->opts.flag : "the output", a->name, input,
					 a->opts.flag ? a->opts.flag : "it");
		for (size_t j = 0; j < i; j++)
			if (outs[j] && same_target(outs[j], a))
				return base_fail(err, errlen, -EINVAL,
						 "%s %s and %s %s are the same %s: one would "
						 "overwrite the other; give them different names",
						 outs[j]->opts.flag ? outs[j]->opts.flag : "",
						 outs[j]->name, a->opts.flag ? a->opts.flag : "",
						 a->name, a->kind == OUTPUT_STDOUT ? "stream" : "file");
	}
	return 0;
}

const char *base_output_name(const struct base_output *o)
{
	return o->name;
}

bool base_output_in_place(const struct base_output *o)
{
	return o->kind != OUTPUT_FILE;
}

void base_output_close(struct base_output *o)
{
	if (!o)
		return;
	drop_content(o);
	if (o->stream_fd >= 0 && o->kind == OUTPUT_STREAM)
		close(o->stream_fd);
	free(o->path);
	free(o->name);
	free(o);
}

int base_write_file(const char *name, const struct base_output_opts *opts, base_fill_fn fill,
		    void *arg, char *err, size_t errlen)
{
	return base_write_file_at(AT_FDCWD, name, opts, fill, arg, err, errlen);
}

int base_write_file_at(int dirfd, const char *name, const struct base_output_opts *opts,
		       base_fill_fn fill, void *arg, char *err, size_t errlen)
{
	struct base_output_opts o_at = *opts;
	if (dirfd != AT_FDCWD)
		o_at.flags |= BASE_OUTPUT_NO_FOLLOW; /* links are never followed out of the folder */
	struct base_output *o;
	int rc = open_at(dirfd, &o, name, &o_at, err, errlen);
	if (rc < 0)
		return rc;
	rc = base_output_write(o, fill, arg, err, errlen);
	base_output_close(o);
	return rc;
}
