/*
 * Decompressed copies of separate debug files, kept on disk by build id.
 *
 * Distributions ship debug files (libc6-dbg's among them) with zlib-compressed
 * .debug_* sections, and libdw inflates every one of them when it opens the
 * file: ~50 ms of CPU for libc's 4 MB, paid again by every run that wants a
 * libc line number. This cache holds the same file with its sections stored
 * plain, so later runs map it and read lines without inflating anything (the
 * idea of perf's ~/.debug build-id cache, for a different cost).
 *
 * DIR/debug/<build-id>.debug: written under a temporary name and renamed, so
 * concurrent runs race harmlessly and a crash leaves no half file under the
 * real name; made only while its file system keeps SYM_DEBUG_CACHE_RESERVE
 * free after it; trusted only when it is a regular file owned by us whose
 * build id is its name; touched on use; the least recently used go first
 * once the folder holds more than SYM_DEBUG_CACHE_MAX bytes.
 */
#include "binary.h"
#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/*
 * True when fd is an ELF file with at least one SHF_COMPRESSED .debug_*
 * section; *plain_bytes (if given) is then about what a plain copy takes.
 */
static bool has_compressed_debug(int fd, uint64_t *plain_bytes)
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t shstrndx;
	bool found = false;
	uint64_t bytes = 0;
	if (elf && elf_kind(elf) == ELF_K_ELF && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
			GElf_Shdr sh;
			GElf_Chdr ch;
			const char *name;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
				continue;
			bool compressed = (sh.sh_flags & SHF_COMPRESSED) && gelf_getchdr(scn, &ch);
			bytes += compressed ? ch.ch_size : sh.sh_size;
			found |= compressed && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
				 strncmp(name, ".debug_", 7) == 0;
		}
	}
	elf_end(elf);
	if (plain_bytes)
		*plain_bytes = bytes;
	return found;
}

static bool room_for(const char *dir, uint64_t bytes)
{
	struct statvfs fs;
	if (statvfs(dir, &fs) != 0)
		return false;
	uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize;
	return avail > bytes && avail - bytes >= SYM_DEBUG_CACHE_RESERVE;
}

static bool is_hex_id(const char *s)
{
	size_t n = strlen(s);
	if (n < 8 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* 0 when path is a folder of ours, not a link: another user's is no place to take files from. */
static int owned_folder(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM;
	return 0;
}

/*
 * Whether folders may be made below path's nearest existing ancestor: it is
 * ours, or a sticky directory anyone may write (/tmp). Under sudo, HOME can
 * still be the invoking user's: root must not leave a root-owned ~/.cache
 * there (the user's own programs could no longer write it).
 */
static bool may_create_below(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	struct stat st;
	while (stat(p, &st) != 0) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			return stat("/", &st) == 0 && st.st_uid == geteuid();
		*slash = '\0';
	}
	return S_ISDIR(st.st_mode) &&
	       (st.st_uid == geteuid() || ((st.st_mode & S_ISVTX) && (st.st_mode & S_IWOTH)));
}

/* Creates dir and dir/debug (mode 0700, parents as needed); fills sub with the latter. */
static int cache_folder(const char *dir, char *sub, size_t sublen)
{
	if ((size_t)snprintf(sub, sublen, "%s/debug", dir) >= sublen)
		return -ENAMETOOLONG;
	if (!may_create_below(sub))
		return -EPERM;
	int ret = base_mkdir_p(sub); /* parents too: ~/.cache may not exist yet */
	if (ret == 0)
		ret = owned_folder(dir);
	return ret < 0 ? ret : owned_folder(sub);
}

/* The cached file at path if it is one we can trust for build_id; else -errno. */
static int open_cached(const char *path, const char *build_id)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	char bid[41];
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_size == 0 || bin_read_build_id(path, bid) != 0 || strcmp(bid, build_id) != 0 ||
	    has_compressed_debug(fd, NULL)) {
		close(fd);
		return -EINVAL;
	}
	futimens(fd, NULL); /* least recently used goes first: this one was just used */
	return fd;
}

static int copy_fd(int from, int to)
{
	char buf[1 << 16];
	off_t at = 0;
	for (;;) {
		ssize_t n = pread(from, buf, sizeof(buf), at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		int ret = base_write_all(to, buf, (size_t)n);
		if (ret < 0)
			return ret;
		at += n;
	}
}

/*
 * Stores every compressed section of the ELF file in fd plainly, in place.
 * libelf lays the file out again; sections before the first compressed one
 * (the notes, which the program headers point at) keep their offsets.
 */
static int decompress_in_place(int fd)
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_RDWR, NULL);
	if (!elf)
		return -EINVAL;
	int ret = 0, n = 0;
	for (Elf_Scn *scn = NULL; ret == 0 && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_COMPRESSED))
			continue;
		if (elf_compress(scn, 0, 0) < 0)
			ret = -EINVAL;
		n++;
	}
	if (ret == 0 && n == 0)
		ret = -ENOENT;
	if (ret == 0 && elf_update(elf, ELF_C_WRITE) < 0)
		ret = -EIO;
	elf_end(elf);
	return ret;
}

struct cached_file {
	char name[64];
	off_t size;
	struct timespec used;
};

static int by_use(const void *a, const void *b)
{
	const struct timespec *x = &((const struct cached_file *)a)->used;
	const struct timespec *y = &((const struct cached_file *)b)->used;
	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? -1 : 1;
	return (x->tv_nsec > y->tv_nsec) - (x->tv_nsec < y->tv_nsec);
}

/* Removes the least recently used files until the folder holds at most max bytes. */
static void cache_trim(const char *sub, uint64_t max)
{
	DIR *d = opendir(sub);
	if (!d)
		return;
	struct cached_file *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	int dfd = dirfd(d);
	time_t hour_ago = time(NULL) - 3600;
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		struct stat st;
		/* A temporary copy an hour old was left by a run that died making it. */
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < hour_ago) {
			unlinkat(dfd, e->d_name, 0);
			continue;
		}
		if (len < 7 || len >= sizeof(v->name) || strcmp(e->d_name + len - 6, ".debug") != 0 ||
		    e->d_name[0] == '.' || fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct cached_file *nv = realloc(v, ncap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
			cap = ncap;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", e->d_name);
		v[n].size = st.st_size;
		v[n].used = st.st_mtim;
		total += (uint64_t)st.st_size;
		n++;
	}
	if (total > max && n > 0) {
		qsort(v, n, sizeof(*v), by_use);
		for (size_t i = 0; i < n && total > max; i++)
			if (unlinkat(dfd, v[i].name, 0) == 0)
				total -= (uint64_t)v[i].size;
	}
	free(v);
	closedir(d);
}

int sym_debug_cache_open(const char *dir, int fd, const char *build_id, uint64_t max_bytes,
			 char **cached_path)
{
	*cached_path = NULL;
	if (!dir || !dir[0] || !build_id || !is_hex_id(build_id))
		return -EINVAL;
	uint64_t plain_bytes;
	if (!has_compressed_debug(fd, &plain_bytes))
		return -ENOENT; /* plain already: libdw maps it as it is */
	char sub[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	int ret = cache_folder(dir, sub, sizeof(sub));
	if (ret < 0)
		return ret;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.debug", sub, build_id) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", sub, build_id) >= sizeof(tmp))
		return -ENAMETOOLONG;
	int out = open_cached(path, build_id);
	if (out < 0) {
		/* Missing, or not one to trust: make it (again), if the disk can spare it. */
		if (!room_for(sub, plain_bytes))
			return -ENOSPC;
		int t = mkstemp(tmp);
		if (t < 0)
			return -errno;
		char bid[41];
		ret = copy_fd(fd, t);
		if (ret == 0)
			ret = decompress_in_place(t);
		if (ret == 0 && fsync(t) != 0)
			ret = -errno;
		close(t);
		/* The notes must still say who it is, or libdwfl would refuse the file. */
		if (ret == 0 && (bin_read_build_id(tmp, bid) != 0 || strcmp(bid, build_id) != 0))
			ret = -EINVAL;
		if (ret == 0 && rename(tmp, path) != 0)
			ret = -errno;
		if (ret < 0) {
			unlink(tmp);
			return ret;
		}
		cache_trim(sub, max_bytes);
		out = open_cached(path, build_id);
		if (out < 0)
			return out; /* trimmed at once: larger than the whole cache */
	}
	*cached_path = strdup(path);
	if (!*cached_path) {
		close(out);
		return -ENOMEM;
	}
	return out;
}
