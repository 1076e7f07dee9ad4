/*
 * Internal to export/: small pieces its files share. The open-addressing
 * index of the pprof builder and the report (it stores only hash and
 * index + 1 per slot; entries live in the caller's array, compared through
 * the caller's eq function), and the error-message formatter.
 */
#ifndef PMUPROF_EXPORT_UTIL_H
#define PMUPROF_EXPORT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base.h"

/* A slot holds the full hash (so growing never rehashes keys) and index + 1 (0 = empty). */
struct htab_slot {
	uint64_t hash;
	uint32_t idx1;
};

struct htab {
	struct htab_slot *slot;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

typedef bool (*htab_eq_fn)(const void *ctx, uint32_t idx, const void *key);

/* Makes room for one more entry at a load factor of at most 1/2; -ENOMEM. */
int htab_reserve(struct htab *h);
/* The slot holding an entry equal to key, or the empty slot where it would go. */
struct htab_slot *htab_find(const struct htab *h, uint64_t hash, htab_eq_fn eq, const void *ctx,
			    const void *key);
void htab_free(struct htab *h);

static inline uint64_t htab_mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

uint64_t htab_hash_bytes(const char *s, size_t n);

/* a + b, held at INT64_MAX / INT64_MIN instead of overflowing (values read from files). */
static inline int64_t exp_sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Grows *arr (of *cap elements of `size` bytes) to hold `need`, doubling; 0 or -ENOMEM. */
int exp_grow(void **arr, size_t *cap, size_t need, size_t size);
#define EXP_GROW(arr, cap, need) exp_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))


/* mkdir -p: what it creates gets mode 0700; 0 when path is a directory at the end, else -errno. */
int exp_mkdir_p(const char *path);

/*
 * Produces a file's content into fd: 0 or -errno; may point *why at a
 * reason more precise than strerror (e.g. zlib's message).
 */
typedef base_fill_fn exp_fill_fn;

/*
 * Writes a file pmuprof names itself in its own folder (a spool file)
 * through base's atomic writer: whatever is at path is replaced, never
 * followed. err reads "cannot write WHAT PATH: STEP FILE: REASON".
 */
int exp_write_atomic(const char *path, mode_t mode, exp_fill_fn fill, void *arg,
		     const char *what, char *err, size_t errlen);
/* The same with name relative to the open folder dirfd (which is synced after). */
int exp_write_atomic_at(int dirfd, const char *name, mode_t mode, exp_fill_fn fill, void *arg,
			const char *what, char *err, size_t errlen);

/*
 * Folders pmuprof takes files from (the OTLP spool, the log's): the user's
 * own or root's, and writable by nobody else, as ssh's StrictModes wants
 * (a sticky /tmp is writable by others too: anyone may plant a link there).
 * The check is on the open folder, so a path swapped after it cannot
 * matter to what is then done relative to it. -EPERM with the message
 * (naming what, path, the cause and the fix).
 */
int exp_check_private_dir(int fd, const char *path, const char *what, char *err, size_t errlen);
/* Opens path (O_DIRECTORY) and checks it as above: the fd, or -errno with the message. */
int exp_open_private_dir(const char *path, const char *what, char *err, size_t errlen);

/* Escapes s[0..n) for one log line: control bytes, '\\' and bytes >= 0x80 as \n, \xHH, ... */
void exp_escape(const char *s, size_t n, char *out, size_t outlen);

/* Fills err (if any) printf-style with the one-line message for the user. */
void exp_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
