/*
 * base: what every module may use, on libc alone. It owns the one way
 * pmuprof writes a file a user named (base_output_*): a profile, a
 * perf.data, an OTLP request, a counts table, a harness report.
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
#include <sys/types.h>

/* Fills err (if any) printf-style and returns ret (a negative errno). */
int base_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* write(2) until done (EINTR retried); 0 or -errno (-EIO on a zero-length write). */
int base_write_all(int fd, const void *buf, size_t n);

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

#endif
