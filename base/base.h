/*
 * base: what every module may use, on libc alone: the error helper, the
 * clock, a hash index, array growth, private folders, a log file, log
 * escaping (util.c), and the one way pmuprof writes a file a user named
 * (base_output_*, output.c): a profile, a perf.data, an OTLP request, a
 * counts table, a harness report.
 *
 * An output is never destroyed by being written:
 *   - a regular file (or a new name) is replaced atomically: the content goes
 *     to a fresh temporary next to it (O_EXCL), is synced, and is renamed
 *     over it; an existing file keeps its permission bits;
 *   - a symlink is followed, and its final target is replaced that way in
 *     the target's own folder (the link stays a link);
 *   - a character device, FIFO or socket, and "-" (standard output), are
 *     written in place, never renamed over;
 *   - a folder or a block device is refused.
 * The temporary is made when the output is opened, so a missing folder or
 * a path the user cannot write fails before any work starts (as perf record
 * does), not after a long run whose result would be lost.
 */
#ifndef PMUPROF_BASE_H
#define PMUPROF_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The size callers give to err buffers: one line for the user. */
#define BASE_ERR_MAX 512

/* Fills err (if any) printf-style and returns ret (a negative errno). */
int base_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Parses "0-3,5,7-8" into a sorted, de-duplicated, malloc'd CPU array; 0 or -errno. */
int base_parse_cpu_list(const char *s, int **cpus, int *ncpus, char *err, size_t errlen);

/* write(2) until done (EINTR retried); 0 or -errno (-EIO on a zero-length write). */
int base_write_all(int fd, const void *buf, size_t n);

/*
 * An unnamed read-write file in $TMPDIR (else /tmp), gone when closed:
 * O_TMPFILE, or a created-then-unlinked name where the file system lacks
 * it. The descriptor, or -errno; *dir (if not NULL) is the folder tried.
 */
int base_scratch_file(const char **dir);

/* CLOCK_MONOTONIC in ns: the clock pmuprof's events, labels and windows are on. */
uint64_t base_mono_ns(void);

/* An existing regular file becomes PATH.old at the first commit, as perf keeps perf.data.old. */
#define BASE_OUTPUT_KEEP_OLD 0x1u
/*
 * The writer seeks back (perf.data's header): on a device, FIFO, socket or
 * standard output the content is built in an unnamed scratch file in
 * $TMPDIR and copied out at commit.
 */
#define BASE_OUTPUT_SEEKABLE 0x2u

/*
 * For files pmuprof names itself in its own folders (spool files): whatever
 * is at the name (a planted symlink, a FIFO) is replaced, never followed.
 */
#define BASE_OUTPUT_NO_FOLLOW 0x4u

struct base_output_opts {
	mode_t mode;      /* of a new file (an existing one keeps its bits) */
	unsigned flags;   /* BASE_OUTPUT_* */
	const char *what; /* names the output in messages: "profile", "perf.data" */
	const char *flag; /* the option that named it, for the fix: "-o", "--perf-data" */
};

struct base_output;

/*
 * Resolves name ("-" is standard output), checks it, and for a file makes
 * the temporary now: 0, or -errno with err reading
 * "cannot write WHAT NAME: CAUSE; FIX".
 */
int base_output_open(struct base_output **out, const char *name,
		     const struct base_output_opts *opts, char *err, size_t errlen);

/*
 * The descriptor to write the next content to (a temporary, the stream, or
 * the scratch file). A FIFO with no reader yet is opened here, waiting for
 * one. Between commits it is the same descriptor.
 */
int base_output_begin(struct base_output *o, int *fd, char *err, size_t errlen);

/*
 * Makes the content begun the output's: syncs and renames a temporary
 * into place (keeping .old once under KEEP_OLD), or copies the scratch
 * file to the stream. Afterwards begin may start another content (a
 * snapshot, then the final profile). On failure the target is untouched.
 */
int base_output_commit(struct base_output *o, char *err, size_t errlen);

/*
 * A writer's own failure (rc, e.g. -ENOSPC, while STEP "writing"; why,
 * if not NULL, more precise than strerror): the content begun is dropped
 * and err says so; returns rc.
 */
int base_output_fail(struct base_output *o, const char *step, int rc, const char *why, char *err,
		     size_t errlen);

/* Produces a content into fd: 0 or -errno; may point *why at a more precise reason. */
typedef int (*base_fill_fn)(int fd, void *arg, const char **why);

/* Bytes already in memory as a content: base_fill_bytes writes them (arg: a struct base_bytes). */
struct base_bytes {
	const void *buf;
	size_t len;
};
int base_fill_bytes(int fd, void *arg, const char **why);

/* begin, fill, commit; on any failure the content is dropped and the target untouched. */
int base_output_write(struct base_output *o, base_fill_fn fill, void *arg, char *err,
		      size_t errlen);

/*
 * A FIFO that had no reader when opened: base_output_wait_for_reader opens
 * it now, waiting for one (before the work starts, as perf record does).
 */
bool base_output_waits_for_reader(const struct base_output *o);
int base_output_wait_for_reader(struct base_output *o, char *err, size_t errlen);

/*
 * 0 when no two of outs[0..n) (NULL entries skipped) are the same file or
 * both standard output, and none is the file input (NULL: none), which
 * writing would destroy; else -EINVAL and err says which and what to do.
 */
int base_outputs_distinct(struct base_output *const *outs, size_t n, const char *input,
			  char *err, size_t errlen);

/* The name as the user gave it. */
const char *base_output_name(const struct base_output *o);

/* Written in place (standard output, a device, a FIFO, a socket), not replaced. */
bool base_output_in_place(const struct base_output *o);

/* Drops a content begun and not committed (its temporary is removed); NULL is fine. */
void base_output_close(struct base_output *o);

/* open, write, close: one content to one name. */
int base_write_file(const char *name, const struct base_output_opts *opts, base_fill_fn fill,
		    void *arg, char *err, size_t errlen);
/* The same with name relative to the open folder dirfd, as BASE_OUTPUT_NO_FOLLOW. */
int base_write_file_at(int dirfd, const char *name, const struct base_output_opts *opts,
		       base_fill_fn fill, void *arg, char *err, size_t errlen);

/* --- an intrusive doubly-linked list (util.c): the caches' LRU orders --------- */

/* A link inside each entry; the owner keeps the list's ends (head: most recent). */
struct base_link {
	struct base_link *prev, *next;
};
struct base_list {
	struct base_link *head, *tail;
};
void base_list_unlink(struct base_list *l, struct base_link *e);
void base_list_push_front(struct base_list *l, struct base_link *e);
/* The entry of type `type` whose member `member` is link; NULL for NULL. */
#define BASE_ENTRY(link, type, member) \
	((link) ? (type *)(void *)((char *)(link) - offsetof(type, member)) : (type *)NULL)

/* --- a running process, from /proc (procfs.c) ----------------------------- */
/* A process that is gone reads as -ENOENT or -ESRCH. */

/*
 * /proc/PID/NAME (tid > 0: /proc/PID/task/TID/NAME) into buf, at most
 * len - 1 bytes, NUL-terminated: the bytes read, or -errno.
 */
ssize_t base_proc_read(pid_t pid, pid_t tid, const char *name, char *buf, size_t len);
/* The thread's (tid 0: the process's) name, without the newline; "" and -errno if gone. */
int base_proc_comm(pid_t pid, pid_t tid, char *buf, size_t len);
/* The command line, arguments joined by spaces; "" and -errno if gone. */
int base_proc_cmdline(pid_t pid, char *buf, size_t len);
/* The thread group (process) a pid or tid belongs to. */
int base_proc_tgid(pid_t id, pid_t *tgid);
/* The user owning the process (/proc/PID's owner). */
int base_proc_owner(pid_t pid, uid_t *uid);
/* The program a process runs (its exe link; pid 0: this one), NUL-terminated in buf. */
int base_proc_exe(pid_t pid, char *buf, size_t len);
/* One value of the auxiliary vector (AT_ENTRY, AT_HWCAP, ...); -ENOENT if absent. */
int base_proc_auxv(pid_t pid, uint64_t type, uint64_t *value);
/* Every thread of a process now (malloc'd). */
int base_proc_threads(pid_t pid, pid_t **out, int *n);

/* --- hash index, growth, folders, escaping (util.c) ------------------------- */

/* A slot holds the full hash (so growing never rehashes keys) and index + 1 (0 = empty). */
struct base_htab_slot {
	uint64_t hash;
	uint32_t idx1;
};

struct base_htab {
	struct base_htab_slot *slot;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

typedef bool (*base_htab_eq_fn)(const void *ctx, uint32_t idx, const void *key);

/* Makes room for one more entry at a load factor of at most 1/2; -ENOMEM. */
int base_htab_reserve(struct base_htab *h);
/* The capacity base_htab_reserve reaches for `more` entries beyond h->n (for byte budgets). */
size_t base_htab_cap_for(const struct base_htab *h, size_t more);
/* The slot holding an entry equal to key, or the empty slot where it would go. */
struct base_htab_slot *base_htab_find(const struct base_htab *h, uint64_t hash, base_htab_eq_fn eq,
				      const void *ctx, const void *key);
void base_htab_free(struct base_htab *h);

static inline uint64_t base_htab_mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

uint64_t base_htab_hash_bytes(const char *s, size_t n);

/* a + b, held at INT64_MAX / INT64_MIN instead of overflowing (values read from files). */
static inline int64_t base_sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Grows *arr (of *cap elements of `size` bytes) to hold `need`, doubling; 0 or -ENOMEM. */
int base_grow(void **arr, size_t *cap, size_t need, size_t size);
/* The capacity base_grow reaches from cap for need elements (for byte budgets); 0 on overflow. */
size_t base_grow_cap(size_t cap, size_t need);
#define BASE_GROW(arr, cap, need) base_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))


/* mkdir -p: what it creates gets mode 0700; 0 when path is a directory at the end, else -errno. */
int base_mkdir_p(const char *path);

/*
 * Writes a file pmuprof names itself in its own folder (a spool file)
 * through base's atomic writer: whatever is at path is replaced, never
 * followed. err reads "cannot write WHAT PATH: STEP FILE: REASON".
 */
int base_write_atomic(const char *path, mode_t mode, base_fill_fn fill, void *arg, const char *what,
		      char *err, size_t errlen);
/* The same with name relative to the open folder dirfd (which is synced after). */
int base_write_atomic_at(int dirfd, const char *name, mode_t mode, base_fill_fn fill, void *arg,
			 const char *what, char *err, size_t errlen);

/*
 * Folders pmuprof takes files from (the OTLP spool, the log's): the user's
 * own or root's, and writable by nobody else, as ssh's StrictModes wants
 * (a sticky /tmp is writable by others too: anyone may plant a link there).
 * The check is on the open folder, so a path swapped after it cannot
 * matter to what is then done relative to it. -EPERM with the message
 * (naming what, path, the cause and the fix).
 */
int base_check_private_dir(int fd, const char *path, const char *what, char *err, size_t errlen);
/* Opens path (O_DIRECTORY) and checks it as above: the fd, or -errno with the message. */
int base_open_private_dir(const char *path, const char *what, char *err, size_t errlen);

/* Escapes s[0..n) for one log line: control bytes, '\\' and bytes >= 0x80 as \n, \xHH, ... */
void base_escape(const char *s, size_t n, char *out, size_t outlen);
/* s as a JSON string, quoted and escaped ('"', '\\', control bytes). */
void base_json_string(FILE *out, const char *s);

/* --- a long-running process's log ----------------------------------------- */

/*
 * Opens path for appending (O_APPEND, created 0644), relative to its opened
 * folder, which must be the user's or root's and writable by nobody else;
 * a symbolic link is refused, never followed (as root, a link planted in a
 * shared folder would append the log to any file). The fd, or -errno with a
 * one-line message naming the cause and the fix.
 */
int base_open_log(const char *path, char *err, size_t errlen);

#endif
