/*
 * The binary objects (binary.h): opening and mapping a file once, its build
 * id, segments and separate debug file, and the cache of objects with the
 * byte budget its consumers share.
 */
#include "binary.h"
#include "base.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEBUG_ROOT "/usr/lib/debug"

/*
 * Objects nobody references that stay open: each pins a read-only mapping of
 * its file (address space and page cache, not private memory) and, for a
 * deleted or replaced file, the disk space behind it, and at most one
 * descriptor (its debug file's). 64 covers the libraries of a usual profile;
 * a long system-wide session does not pin every binary it met.
 */
#define BIN_UNUSED_MAX 64
#define BIN_BUCKETS 512 /* power of two */

struct bin_cache {
	struct bin *buckets[BIN_BUCKETS];
	struct base_list lru; /* most recent first */
	size_t n, unused;
	size_t bytes;   /* the objects' own */
	size_t charged; /* consumers' (bin_cache_charge) */
	size_t budget;
	uint64_t opens;
};

int bin_cache_new(struct bin_cache **out)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void bin_build_id_hex(Elf *elf, char hex[41])
{
	const void *bits;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &bits);
	hex[0] = '\0';
	if (n <= 0)
		return;
	if (n > 20) /* longer ids do not fit pprof's field; the first 20 bytes still key */
		n = 20;
	for (ssize_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)bits)[i]);
}

/* True when want (hex, maybe zero-padded by perf) names have (the file's hex). */
static bool bin_build_id_matches(const char *want, const char *have)
{
	size_t n = strlen(have);
	if (n == 0 || strncasecmp(want, have, n) != 0)
		return false;
	/* perf pads shorter ids (md5: 16 bytes) with zeros to 20 bytes. */
	for (const char *p = want + n; *p; p++)
		if (*p != '0')
			return false;
	return true;
}

int bin_check_build_id(const struct bin *b, const char *want)
{
	if (!want || !want[0] || !b->build_id[0])
		return 0;
	return bin_build_id_matches(want, b->build_id) ? 0 : -ESTALE;
}

/* Maps path read-only through libelf and closes the descriptor: 0 or -ENOENT. */
static int map_elf(const char *path, Elf **out, int *keep_fd)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || (!keep_fd && elf_cntl(elf, ELF_C_FDREAD) != 0)) {
		if (elf)
			elf_end(elf);
		close(fd);
		return -ENOENT;
	}
	if (keep_fd) {
		*keep_fd = fd;
	} else {
		elf_cntl(elf, ELF_C_FDDONE);
		close(fd);
	}
	*out = elf;
	return 0;
}

int bin_read_loads(Elf *elf, struct bin_load **out, size_t *nout)
{
	size_t n;
	*out = NULL;
	*nout = 0;
	if (elf_getphdrnum(elf, &n) != 0)
		return 0; /* no program headers: nothing maps */
	struct bin_load *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		v[(*nout)++] = (struct bin_load){ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_vaddr,
						 ph.p_flags};
	}
	*out = v;
	return 0;
}

int bin_read_build_id(const char *path, char hex[41])
{
	Elf *elf;
	hex[0] = '\0';
	if (elf_version(EV_CURRENT) == EV_NONE) /* libelf's own setup; no cache did it here */
		return -ENOENT;
	if (map_elf(path, &elf, NULL) != 0)
		return -ENOENT;
	bin_build_id_hex(elf, hex);
	elf_end(elf);
	return hex[0] ? 0 : -ENOENT;
}

static int bin_open(struct bin_cache *c, struct bin *b)
{
	c->opens++;
	int ret = map_elf(b->path, &b->elf, NULL);
	if (ret < 0)
		return ret;
	b->image = (const unsigned char *)elf_rawfile(b->elf, &b->image_size);
	if (!b->image)
		return -ENOENT;
	bin_build_id_hex(b->elf, b->build_id);
	return bin_read_loads(b->elf, &b->loads, &b->nloads);
}

static bool has_symtab(Elf *elf)
{
	GElf_Shdr sh;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));)
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			return true;
	return false;
}

/* A usable debug file is ELF, not b itself, has a .symtab and (when both have one) b's build id. */
static bool debug_candidate(struct bin *b, const char *cand)
{
	Elf *elf;
	int fd;
	if (map_elf(cand, &elf, &fd) != 0)
		return false;
	struct stat st;
	if (fstat(fd, &st) == 0 && !(st.st_dev == b->dev && st.st_ino == b->ino) &&
	    has_symtab(elf)) {
		char dbid[41];
		bin_build_id_hex(elf, dbid);
		if ((!b->build_id[0] || !dbid[0] || bin_build_id_matches(b->build_id, dbid)) &&
		    (b->debug_path = strdup(cand))) {
			b->debug_elf = elf;
			b->debug_fd = fd;
			return true;
		}
	}
	elf_end(elf);
	close(fd);
	return false;
}

/*
 * Where gdb and libdwfl look: /usr/lib/debug/.build-id/xx/rest.debug, then
 * the .gnu_debuglink name next to the file, in its .debug/ directory, and
 * under /usr/lib/debug/<dir>.
 */
static bool find_debug_file(struct bin *b)
{
	char cand[PATH_MAX];
	const char *bid = b->build_id;
	if (strlen(bid) > 2) {
		snprintf(cand, sizeof(cand), DEBUG_ROOT "/.build-id/%.2s/%s.debug", bid, bid + 2);
		if (debug_candidate(b, cand))
			return true;
	}
	GElf_Word crc;
	const char *link = dwelf_elf_gnu_debuglink(b->elf, &crc);
	if (!link || !link[0] || strchr(link, '/'))
		return false;
	/* Both the directory as named and as resolved: /lib is often a link to /usr/lib. */
	char dirs[2][PATH_MAX];
	snprintf(dirs[0], sizeof(dirs[0]), "%s", b->path);
	char *slash = strrchr(dirs[0], '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dirs[0], sizeof(dirs[0]), ".");
	int ndirs = 1;
	if (realpath(b->path, dirs[1])) {
		slash = strrchr(dirs[1], '/');
		if (slash)
			*slash = '\0';
		if (strcmp(dirs[0], dirs[1]) != 0)
			ndirs = 2;
	}
	for (int d = 0; d < ndirs; d++) {
		static const char *const fmts[] = {"%s/%s", "%s/.debug/%s", DEBUG_ROOT "%s/%s"};
		for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++) {
			if (k == 2 && dirs[d][0] != '/')
				continue;
			snprintf(cand, sizeof(cand), fmts[k], dirs[d], link);
			if (debug_candidate(b, cand))
				return true;
		}
	}
	return false;
}

Elf *bin_debug_elf(struct bin *b)
{
	if (b->status < 0)
		return NULL;
	if (b->debug_state == 0)
		b->debug_state = find_debug_file(b) ? 1 : -ENOENT;
	return b->debug_state > 0 ? b->debug_elf : NULL;
}

int bin_debug_dup(struct bin *b, const char *debug_dir, char **path)
{
	*path = NULL;
	if (!bin_debug_elf(b))
		return -ENOENT;
	if (debug_dir && b->plain_state == 0) {
		char bid[41];
		bin_build_id_hex(b->debug_elf, bid);
		b->plain_state = -ENOENT;
		if (bid[0]) {
			int fd = sym_debug_cache_open(debug_dir, b->debug_fd, bid,
						      SYM_DEBUG_CACHE_MAX, &b->plain_path);
			if (fd >= 0)
				b->plain_fd = fd, b->plain_state = 1;
		}
	}
	bool plain = debug_dir && b->plain_state > 0;
	int fd = fcntl(plain ? b->plain_fd : b->debug_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* libdwfl reads from the descriptor's current offset: start each at 0. */
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    !(*path = strdup(plain ? b->plain_path : b->debug_path))) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

static void bin_free(struct bin *b)
{
	if (b->elf)
		elf_end(b->elf);
	if (b->debug_elf)
		elf_end(b->debug_elf);
	if (b->debug_fd >= 0)
		close(b->debug_fd);
	if (b->plain_fd >= 0)
		close(b->plain_fd);
	free(b->debug_path);
	free(b->plain_path);
	free(b->loads);
	free(b->path);
	free(b);
}

static void bin_drop(struct bin_cache *c, struct bin *b)
{
	struct bin **pp = &c->buckets[b->hash & (BIN_BUCKETS - 1)];
	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	base_list_unlink(&c->lru, &b->lru);
	c->n--;
	if (b->refs == 0)
		c->unused--;
	c->bytes -= b->bytes;
	bin_free(b);
}

/* Drops unreferenced objects, least recently used first, past the count bound or the budget. */
static void cache_trim(struct bin_cache *c)
{
	for (struct bin *b = BASE_ENTRY(c->lru.tail, struct bin, lru); b;) {
		struct bin *prev = BASE_ENTRY(b->lru.prev, struct bin, lru);
		bool over = c->unused > BIN_UNUSED_MAX ||
			    (c->budget && c->bytes + c->charged > c->budget);
		if (!over)
			break;
		if (b->refs == 0)
			bin_drop(c, b);
		b = prev;
	}
}

void bin_cache_drop_unused(struct bin_cache *c)
{
	for (struct bin *b = BASE_ENTRY(c->lru.tail, struct bin, lru); b;) {
		struct bin *prev = BASE_ENTRY(b->lru.prev, struct bin, lru);
		if (b->refs == 0)
			bin_drop(c, b);
		b = prev;
	}
}

void bin_cache_free(struct bin_cache *c)
{
	if (!c)
		return;
	while (c->lru.head)
		bin_drop(c, BASE_ENTRY(c->lru.head, struct bin, lru));
	free(c);
}

static uint64_t key_hash(const char *path, const struct stat *st)
{
	uint64_t h = base_htab_hash_bytes(path, strlen(path));
	h = base_htab_mix(h, (uint64_t)st->st_dev);
	h = base_htab_mix(h, (uint64_t)st->st_ino);
	h = base_htab_mix(h, (uint64_t)st->st_size);
	return base_htab_mix(h,
			     (uint64_t)st->st_mtim.tv_sec ^ ((uint64_t)st->st_mtim.tv_nsec << 32));
}

struct bin *bin_get(struct bin_cache *c, const char *path, int *err)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		*err = -ENOENT;
		return NULL;
	}
	uint64_t h = key_hash(path, &st);
	struct bin *b;
	for (b = c->buckets[h & (BIN_BUCKETS - 1)]; b; b = b->hnext)
		if (b->hash == h && b->dev == st.st_dev && b->ino == st.st_ino &&
		    b->size == st.st_size && b->mtime.tv_sec == st.st_mtim.tv_sec &&
		    b->mtime.tv_nsec == st.st_mtim.tv_nsec && strcmp(b->path, path) == 0)
			break;
	if (b) {
		if (c->lru.head != &b->lru) {
			base_list_unlink(&c->lru, &b->lru);
			base_list_push_front(&c->lru, &b->lru);
		}
		if (b->refs++ == 0)
			c->unused--;
		return b;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(path))) {
		free(b);
		*err = -ENOMEM;
		return NULL;
	}
	b->debug_fd = b->plain_fd = -1;
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	b->size = st.st_size;
	b->mtime = st.st_mtim;
	b->hash = h;
	b->status = bin_open(c, b);
	if (b->status == -ENOMEM) { /* not a property of the file: do not remember it */
		bin_free(b);
		*err = -ENOMEM;
		return NULL;
	}
	if (b->status < 0 && b->elf) {
		elf_end(b->elf);
		b->elf = NULL;
		b->image = NULL;
		b->image_size = 0;
	}
	b->bytes = sizeof(*b) + strlen(path) + 1 + b->nloads * sizeof(*b->loads);
	c->bytes += b->bytes;
	b->hnext = c->buckets[h & (BIN_BUCKETS - 1)];
	c->buckets[h & (BIN_BUCKETS - 1)] = b;
	base_list_push_front(&c->lru, &b->lru);
	c->n++;
	b->refs = 1;
	cache_trim(c);
	return b;
}

void bin_hold(struct bin_cache *c, struct bin *b)
{
	if (b->refs++ == 0)
		c->unused--;
}

void bin_put(struct bin_cache *c, struct bin *b)
{
	if (!b || b->refs == 0)
		return;
	if (--b->refs == 0) {
		c->unused++;
		cache_trim(c);
	}
}

void bin_cache_charge(struct bin_cache *c, ptrdiff_t delta)
{
	c->charged = (size_t)((ptrdiff_t)c->charged + delta);
	if (delta < 0)
		return;
	cache_trim(c);
}

size_t bin_cache_bytes(const struct bin_cache *c)
{
	return c->bytes + c->charged;
}

void bin_cache_set_budget(struct bin_cache *c, size_t bytes)
{
	c->budget = bytes;
	cache_trim(c);
}

size_t bin_cache_budget(const struct bin_cache *c)
{
	return c->budget;
}

size_t bin_cache_count(const struct bin_cache *c)
{
	return c->n;
}

uint64_t bin_cache_opens(const struct bin_cache *c)
{
	return c->opens;
}
