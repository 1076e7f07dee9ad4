/*
 * The recorder channel: how a program linked with libpmuprof tells a
 * `pmuprof record` that runs it which region each thread is in and which
 * trace context is current, so that samples can be labelled.
 *
 * The recorder creates a shared-memory ring (a memfd, passed to the program
 * as the file descriptor named in PMUPROF_CHANNEL_FD, inherited across exec
 * and fork) and reads it; the program appends fixed-size events, each
 * stamped with CLOCK_MONOTONIC (the clock of the samples) and its thread id.
 * Many threads (and forked processes) write: a slot is claimed with an
 * atomic fetch-add on the write index, filled, then published with a release
 * store of its sequence number; the reader consumes slots in order with
 * acquire loads and never blocks a writer. When the reader falls a whole ring
 * behind, writers overwrite and the reader counts the loss (never silent).
 *
 * The same ring carries heap allocations from libpmuprof's preload library
 * (harness/preload/alloc_preload.c, opt-in): the range, how it was made and the
 * return addresses of the code that asked for it, so a sampled data address
 * maps back to the allocation that holds it.
 *
 * A module of its own near the bottom of the stack because both libpmuprof
 * (harness/, the writer) and engine/ (the reader) use it; libc only.
 */
#ifndef PMUPROF_PMU_CHANNEL_H
#define PMUPROF_PMU_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHANNEL_ENV "PMUPROF_CHANNEL_FD"
#define CHANNEL_NAME_MAX 48

enum channel_kind {
	CHANNEL_REGION_BEGIN = 1, /* name: the region */
	CHANNEL_REGION_END = 2,   /* name: the region being closed */
	CHANNEL_TRACE = 3,        /* trace_id/span_id become current for the thread (zeros: none) */
	CHANNEL_ALLOC = 4,        /* alloc: [addr, addr + len) made by the code at alloc.ips */
	CHANNEL_FREE = 5,         /* alloc.addr, an address CHANNEL_ALLOC named, released */
};

/* How an allocation was made (channel_alloc.how). */
enum channel_alloc_how {
	CHANNEL_ALLOC_MALLOC = 1, /* malloc, calloc, realloc, memalign and friends */
	CHANNEL_ALLOC_MMAP = 2,   /* an anonymous mmap */
};

#define CHANNEL_ALLOC_IPS 6

/* CHANNEL_ALLOC and CHANNEL_FREE: what the allocation events carry instead of names. */
struct channel_alloc {
	uint64_t addr, len;
	uint32_t how;  /* enum channel_alloc_how */
	uint32_t nips; /* valid entries of ips, at most CHANNEL_ALLOC_IPS */
	uint64_t ips[CHANNEL_ALLOC_IPS]; /* return addresses, the allocating call first */
};

struct channel_event {
	uint64_t seq;  /* slot sequence + 1 once published; written last, with release */
	uint64_t time; /* CLOCK_MONOTONIC, ns */
	uint32_t pid, tid;
	uint32_t kind;
	uint32_t pad;
	union {
		struct {
			uint8_t trace_id[16];
			uint8_t span_id[8];
			char name[CHANNEL_NAME_MAX]; /* NUL-terminated, truncated */
		};
		struct channel_alloc alloc; /* CHANNEL_ALLOC, CHANNEL_FREE */
	};
};

struct channel;

/* Recorder side: creates the ring (capacity events, a power of two) and its fd. */
int channel_create(struct channel **out, size_t capacity, char *err, size_t errlen);
/* The fd to leave open in the child (not close-on-exec) and name in CHANNEL_ENV. */
int channel_fd(const struct channel *ch);
/*
 * Copies the events published since the last call into out[0..max) in
 * write order; returns how many. *lost counts events overwritten before
 * they could be read.
 */
size_t channel_read(struct channel *ch, struct channel_event *out, size_t max, uint64_t *lost);

/* Program side: maps the ring named by CHANNEL_ENV; NULL when not under record. */
struct channel *channel_attach_env(void);
/* Appends one event stamped now with the caller's pid/tid; lock-free, never blocks. */
void channel_write(struct channel *ch, enum channel_kind kind, const char *name,
		   const uint8_t trace_id[16], const uint8_t span_id[8]);
/*
 * The same with the pid/tid the caller already knows (libpmuprof caches them
 * per attached thread): getpid() and gettid() are real system calls, two
 * thirds of a write's cost in a VM.
 */
void channel_write_as(struct channel *ch, pid_t pid, pid_t tid, enum channel_kind kind,
		      const char *name, const uint8_t trace_id[16], const uint8_t span_id[8]);

/* Appends a CHANNEL_ALLOC or CHANNEL_FREE event; lock-free, never blocks, never allocates. */
void channel_write_alloc(struct channel *ch, pid_t pid, pid_t tid, enum channel_kind kind,
			 const struct channel_alloc *alloc);

void channel_close(struct channel *ch);

#endif
