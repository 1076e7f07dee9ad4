/*
 * binary — one object per binary file on disk, shared by symbolization,
 * unwinding and data-symbol lookups (perf's `struct dso`).
 *
 * Owns: the file opened once and mapped read-only through libelf (no
 * descriptor kept), its GNU build id and the one check of it against the id
 * a sample's mapping carried, its PT_LOAD segments, and its separate debug
 * file, searched once (/usr/lib/debug/.build-id, then .gnu_debuglink next to
 * the file, in its .debug/ and under /usr/lib/debug) and opened once, with
 * the debug cache's plain copy of it when its sections are compressed.
 * Objects are keyed by path and file identity (device, inode, size, mtime):
 * a replaced file is a new object. Consumers (symbols.c, unwind_module.c)
 * hang their tables on an object by holding a reference; objects nobody
 * references stay cached, least recently used dropped first past
 * BIN_UNUSED_MAX, or past the byte budget the consumers share.
 *
 * Not locked: one thread at a time (the aggregator's).
 */
#ifndef PMUPROF_BINARY_H
#define PMUPROF_BINARY_H

#include "base.h"

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct bin_load {
	uint64_t offset, filesz, memsz, vaddr;
	uint32_t flags;
};

struct bin {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int status; /* 0, or the -errno every use gets (a file that is not readable ELF) */
	Elf *elf;   /* mapped read-only; NULL when status < 0 */
	const unsigned char *image;
	size_t image_size;
	char build_id[41]; /* the file's own, lower-case hex (first 20 bytes); "" if none */
	struct bin_load *loads;
	size_t nloads;

	/* The separate debug file: 0 not searched yet, 1 found (fields below), -ENOENT none. */
	int debug_state;
	char *debug_path;
	int debug_fd; /* kept for libdwfl, which opens debug files by descriptor only */
	Elf *debug_elf;
	/* The debug cache's plain copy: 0 not tried, 1 made (plain_*), -errno none. */
	int plain_state;
	char *plain_path;
	int plain_fd;

	/* the cache's bookkeeping */
	unsigned refs;
	uint64_t hash;
	struct bin *hnext;   /* hash chain */
	struct base_link lru; /* in the cache's LRU order, most recent first */
	size_t bytes;                    /* what bin_cache counts for it */
};

struct bin_cache;

int bin_cache_new(struct bin_cache **out);
void bin_cache_free(struct bin_cache *c);

/*
 * The object for the file at path, opened on first use, with a reference
 * taken (also when it failed: status says why, so a broken file is not
 * reopened for each caller). NULL when path cannot be stat'ed (or out of
 * memory): *err is then the negative errno.
 */
struct bin *bin_get(struct bin_cache *c, const char *path, int *err);
/*
 * Another reference to b, from bin_get: a held object stays readable,
 * whatever happens to its path since (a deleted or replaced file).
 */
void bin_hold(struct bin_cache *c, struct bin *b);
/* Drops a reference (NULL is ignored). */
void bin_put(struct bin_cache *c, struct bin *b);

/*
 * The one build-id check: 0 when `want` (the id a sample's mapping carried,
 * hex, maybe zero-padded to 20 bytes by perf) names the file's own id, or
 * either is unknown; -ESTALE when the file was replaced since the samples.
 */
int bin_check_build_id(const struct bin *b, const char *want);
/* The GNU build id of an ELF handle as lower-case hex ("" when none). */
void bin_build_id_hex(Elf *elf, char hex[41]);
/* The same of the file at path, read without caching it: 0, or -ENOENT when unreadable or none. */
int bin_read_build_id(const char *path, char hex[41]);
/* The PT_LOAD segments of elf in a malloc'd array: 0 or -ENOMEM. */
int bin_read_loads(Elf *elf, struct bin_load **out, size_t *n);

/*
 * The separate debug file (searched and opened on first call): its ELF
 * handle, or NULL when there is none. A candidate counts when it is ELF,
 * not the file itself, has a .symtab, and its build id matches (when both
 * have one).
 */
Elf *bin_debug_elf(struct bin *b);

/*
 * A fresh descriptor (the caller owns it) of the debug file as libdw should
 * read it: the plain copy under debug_dir when its sections are compressed
 * and debug_dir is set (made on first need), else the debug file itself;
 * *path is set to a malloc'd copy of the file's path. -ENOENT when there is
 * no debug file, -errno otherwise.
 */
int bin_debug_dup(struct bin *b, const char *debug_dir, char **path);

/*
 * Consumers' bytes counted with the objects' (their tables hang on them):
 * delta is what they now hold more (or, negative, less).
 */
void bin_cache_charge(struct bin_cache *c, ptrdiff_t delta);
/* Everything counted: the objects and what consumers charged. */
size_t bin_cache_bytes(const struct bin_cache *c);
/*
 * Drops every object nobody references now (their mappings, whose pages
 * read so far count in the process's RSS), for a consumer done with them.
 */
void bin_cache_drop_unused(struct bin_cache *c);
/* The shared byte budget (0: none); objects nobody references go first past it. */
void bin_cache_set_budget(struct bin_cache *c, size_t bytes);
size_t bin_cache_budget(const struct bin_cache *c);
/* Objects held now, and files opened since bin_cache_new (for tests and comments). */
size_t bin_cache_count(const struct bin_cache *c);
uint64_t bin_cache_opens(const struct bin_cache *c);

/* ---- the decompressed debug file cache (debug_cache.c) ---- */

/* The folder's bound: past it, the least recently used copies are removed. */
#define SYM_DEBUG_CACHE_MAX (UINT64_C(1) << 30)

/*
 * What the cache leaves free on its file system: a copy is made only when
 * this much remains after it, so that the cache never takes the space a
 * profile being written (or anything else) needs.
 */
#define SYM_DEBUG_CACHE_RESERVE (UINT64_C(512) << 20)

/*
 * For the debug file open as fd with that build id (lower-case hex): a
 * descriptor of its copy with plain .debug_* sections under dir, made now if
 * missing or untrustworthy, and its path in *cached_path (malloc'd). -ENOENT
 * when fd's sections are not compressed (nothing to gain); any error leaves
 * the caller to use fd as it is.
 */
int sym_debug_cache_open(const char *dir, int fd, const char *build_id, uint64_t max_bytes,
			 char **cached_path);

#endif
