/*
 * The recorder channel (channel.h): a shared-memory ring of fixed-size
 * events from a program's threads to `pmuprof record`.
 *
 * Owns: the memfd and its layout, the writer's publish protocol and the
 * reader's consume protocol, and attaching to the ring named in the
 * environment. Depends on libc only (no pfm, no other pmu/ object), so that
 * a program that links just this file pays for nothing else.
 *
 * Layout: one header page, then `capacity` slots (a power of two):
 *
 *   header  magic, version, event size, capacity, slot offset   (read-only)
 *           write index   (own cache line: every writer fetch-adds it)
 *           lost          (own cache line: the reader's running total)
 *   slots   struct channel_event[capacity]; event i lives in slot i & mask
 *
 * Memory ordering, in the style of the kernel's perf ring (sampler/ring.c),
 * but with many producers and no back-pressure:
 *  - A writer claims index i with a relaxed fetch-add on the write index
 *    (the claim orders nothing; publication does).
 *  - It stores seq = 0 ("busy"), then a release fence, then fills the slot,
 *    then stores seq = i + 1 with release. This is a seqlock write: a reader
 *    that saw any byte of the new fill is guaranteed (fence-to-fence
 *    synchronisation) to see seq != the value it started with afterwards,
 *    so a slot that a later lap overwrites while it is being copied is
 *    detected, not delivered torn.
 *  - The reader loads seq with acquire: i + 1 means the fill of event i is
 *    visible; it copies the slot, issues an acquire fence and loads seq
 *    again: unchanged means the copy is event i, whole. A different value
 *    means a writer of a later lap overwrote it: lost.
 *  - seq < i + 1 (busy, or a previous lap): event i is not published yet;
 *    the reader stops and retries on its next call, unless writers already
 *    claimed a whole ring beyond it (then it was overwritten: lost) or it has
 *    stayed unpublished for STUCK_NS (its writer died or was stopped between
 *    claim and publish: lost, so one dead writer cannot stall the channel).
 *  - seq > i + 1: a later lap already published over it: lost.
 * Writers never wait for the reader; the reader never waits for a writer.
 * Slot data is copied with memcpy as the kernel ring's bytes are: the seq
 * protocol, not the C memory model's per-byte atomicity, decides validity.
 *
 * The program's memory is not trusted by the recorder: indices and sequence
 * numbers read back from the ring are only compared, never used unmasked,
 * and names are re-terminated.
 */
#include "base.h"
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHAN_MAGIC 0x314e414843554d50ULL /* "PMUCHAN1" little-endian */
#define CHAN_VERSION 1
#define CHAN_HDR_SIZE 4096
#define CHAN_MEMFD_NAME "pmuprof-channel"
#define CHAN_CAPACITY_MAX (1u << 22)
/* How long an unpublished slot may hold up the reader before it is skipped as lost. */
#define STUCK_NS 500000000ULL

struct chan_header {
	uint64_t magic;
	uint32_t version;
	uint32_t event_size; /* sizeof(struct channel_event) of the recorder */
	uint64_t capacity;
	uint64_t slots_offset;
	/* Writers hammer this line; keep it apart from the read-only fields. */
	alignas(64) uint64_t write;
	alignas(64) uint64_t lost; /* written by the reader only, for anyone who looks */
};

_Static_assert(sizeof(struct chan_header) <= CHAN_HDR_SIZE, "channel header exceeds its page");
_Static_assert(offsetof(struct channel_event, seq) == 0, "seq must lead the slot");

struct channel {
	struct chan_header *hdr;
	struct channel_event *slots;
	size_t map_len;
	uint64_t mask; /* our copy: never re-read from the shared header */
	int fd;        /* the recorder's memfd; -1 on the program side (the fd is not ours) */
	/* Reader state (recorder side). */
	uint64_t read;
	uint64_t lost_total;
	uint64_t stuck_at, stuck_since; /* index the reader waits on, and since when (0: not) */
};

static size_t map_size(uint64_t capacity)
{
	return CHAN_HDR_SIZE + (size_t)capacity * sizeof(struct channel_event);
}

int channel_create(struct channel **out, size_t capacity, char *err, size_t errlen)
{
	if (capacity < 2 || capacity > CHAN_CAPACITY_MAX || (capacity & (capacity - 1))) {
		snprintf(err, errlen, "channel capacity %zu is not a power of two in [2, %u]",
			 capacity, CHAN_CAPACITY_MAX);
		return -EINVAL;
	}
	struct channel *ch = calloc(1, sizeof(*ch));
	if (!ch) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ch->fd = memfd_create(CHAN_MEMFD_NAME, MFD_CLOEXEC);
	if (ch->fd < 0) {
		int e = errno;
		free(ch);
		snprintf(err, errlen, "cannot create the label channel (memfd_create): %s",
			 strerror(e));
		return -e;
	}
	ch->map_len = map_size(capacity);
	if (ftruncate(ch->fd, (off_t)ch->map_len) < 0) {
		int e = errno;
		close(ch->fd);
		free(ch);
		snprintf(err, errlen, "cannot size the label channel to %zu bytes: %s",
			 map_size(capacity), strerror(e));
		return -e;
	}
	void *p = mmap(NULL, ch->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, ch->fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		close(ch->fd);
		free(ch);
		snprintf(err, errlen, "cannot map the label channel: %s", strerror(e));
		return -e;
	}
	/* A fresh memfd reads as zeroes: write index, lost and every seq start at 0. */
	ch->hdr = p;
	ch->slots = (struct channel_event *)((char *)p + CHAN_HDR_SIZE);
	ch->mask = capacity - 1;
	ch->hdr->magic = CHAN_MAGIC;
	ch->hdr->version = CHAN_VERSION;
	ch->hdr->event_size = sizeof(struct channel_event);
	ch->hdr->capacity = capacity;
	ch->hdr->slots_offset = CHAN_HDR_SIZE;
	/* No fence needed: the fd reaches a writer only through fork/exec, full barriers. */
	*out = ch;
	return 0;
}

int channel_fd(const struct channel *ch)
{
	return ch ? ch->fd : -1;
}

/* Copies event i if it is published and whole: 1 copied, 0 not yet published, -1 lost. */
static int take_slot(struct channel *ch, uint64_t i, struct channel_event *out)
{
	struct channel_event *slot = &ch->slots[i & ch->mask];
	/* Acquire: pairs with the writer's release store; the fill of event i is visible. */
	uint64_t seq = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
	if (seq == i + 1) {
		memcpy(out, slot, sizeof(*out));
		/* Acquire fence: the copy's loads complete before seq is checked again. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&slot->seq, __ATOMIC_RELAXED) != i + 1)
			return -1; /* a later lap began writing while we copied */
		if (out->kind == CHANNEL_ALLOC || out->kind == CHANNEL_FREE) {
			if (out->alloc.nips > CHANNEL_ALLOC_IPS)
				out->alloc.nips = CHANNEL_ALLOC_IPS;
		} else {
			out->name[CHANNEL_NAME_MAX - 1] = '\0';
		}
		return 1;
	}
	return seq > i + 1 ? -1 : 0;
}

size_t channel_read(struct channel *ch, struct channel_event *out, size_t max, uint64_t *lost)
{
	uint64_t cap = ch->mask + 1, lost_now = 0;
	size_t n = 0;
	/* Relaxed: the write index only says how far writers claimed; seq says what is ready. */
	uint64_t w = __atomic_load_n(&ch->hdr->write, __ATOMIC_RELAXED);
	/* Writers claimed more than a ring beyond us: the oldest are overwritten. */
	if ((int64_t)(w - ch->read) > (int64_t)cap) {
		lost_now += w - cap - ch->read;
		ch->read = w - cap;
	}
	while (n < max && (int64_t)(w - ch->read) > 0) {
		int r = take_slot(ch, ch->read, &out[n]);
		if (r > 0) {
			n++;
			ch->read++;
			ch->stuck_since = 0;
			continue;
		}
		if (r < 0) {
			lost_now++;
			ch->read++;
			ch->stuck_since = 0;
			continue;
		}
		/* Not published yet: claimed, being written (or its writer is gone). */
		w = __atomic_load_n(&ch->hdr->write, __ATOMIC_RELAXED);
		if ((int64_t)(w - ch->read) > (int64_t)cap) {
			lost_now++; /* a later lap owns the slot now */
			ch->read++;
			ch->stuck_since = 0;
			continue;
		}
		uint64_t t = base_mono_ns();
		if (!ch->stuck_since || ch->stuck_at != ch->read) {
			ch->stuck_at = ch->read;
			ch->stuck_since = t;
			break;
		}
		if (t - ch->stuck_since < STUCK_NS)
			break;
		lost_now++; /* abandoned between claim and publish */
		ch->read++;
		ch->stuck_since = 0;
	}
	ch->lost_total += lost_now;
	__atomic_store_n(&ch->hdr->lost, ch->lost_total, __ATOMIC_RELAXED);
	if (lost)
		*lost = lost_now;
	return n;
}

/* The fd must be the recorder's memfd: an unrelated inherited fd is never mapped. */
static bool is_channel_fd(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_size < CHAN_HDR_SIZE)
		return false;
	char path[64], target[128];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return true; /* no /proc: the header check below still applies */
	target[n] = '\0';
	return strncmp(target, "/memfd:" CHAN_MEMFD_NAME, strlen("/memfd:" CHAN_MEMFD_NAME)) == 0;
}

struct channel *channel_attach_env(void)
{
	/* secure_getenv: a set-id program never maps what its caller's environment names. */
	const char *v = secure_getenv(CHANNEL_ENV);
	if (!v || *v < '0' || *v > '9')
		return NULL;
	char *end;
	errno = 0;
	long fd = strtol(v, &end, 10);
	if (errno || *end || fd < 0 || fd > INT_MAX)
		return NULL;
	struct stat st;
	if (!is_channel_fd((int)fd, &st))
		return NULL;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	const struct chan_header *h = p;
	uint64_t cap = h->capacity;
	if (h->magic != CHAN_MAGIC || h->version != CHAN_VERSION ||
	    h->event_size != sizeof(struct channel_event) || h->slots_offset != CHAN_HDR_SIZE ||
	    cap < 2 || cap > CHAN_CAPACITY_MAX || (cap & (cap - 1)) ||
	    (uint64_t)st.st_size < map_size(cap)) {
		munmap(p, (size_t)st.st_size);
		return NULL;
	}
	struct channel *ch = calloc(1, sizeof(*ch));
	if (!ch) {
		munmap(p, (size_t)st.st_size);
		return NULL;
	}
	ch->hdr = p;
	ch->slots = (struct channel_event *)((char *)p + CHAN_HDR_SIZE);
	ch->map_len = (size_t)st.st_size;
	ch->mask = cap - 1;
	ch->fd = -1; /* stays open: exec'd and forked children attach through it too */
	return ch;
}

void channel_write(struct channel *ch, enum channel_kind kind, const char *name,
		   const uint8_t trace_id[16], const uint8_t span_id[8])
{
	if (ch)
		channel_write_as(ch, getpid(), gettid(), kind, name, trace_id, span_id);
}

/* Claims the next slot and publishes ev in it (the seqlock write described at the top). */
static void publish(struct channel *ch, const struct channel_event *ev)
{
	/* Relaxed: the claim only has to be unique; publication below carries the ordering. */
	uint64_t i = __atomic_fetch_add(&ch->hdr->write, 1, __ATOMIC_RELAXED);
	struct channel_event *slot = &ch->slots[i & ch->mask];
	/* Busy first, then a release fence: a reader that sees our fill sees seq changed. */
	__atomic_store_n(&slot->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((char *)slot + sizeof(slot->seq), (const char *)ev + sizeof(ev->seq),
	       sizeof(*ev) - sizeof(ev->seq));
	/* Release: the fill above is visible to whoever acquires seq == i + 1. */
	__atomic_store_n(&slot->seq, i + 1, __ATOMIC_RELEASE);
}

void channel_write_as(struct channel *ch, pid_t pid, pid_t tid, enum channel_kind kind,
		      const char *name, const uint8_t trace_id[16], const uint8_t span_id[8])
{
	if (!ch)
		return;
	/* Assembled privately, so the shared slot is busy only for one memcpy. */
	struct channel_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.time = base_mono_ns(); /* the samples' clock (use_clockid) */
	ev.pid = (uint32_t)pid;
	ev.tid = (uint32_t)tid;
	ev.kind = (uint32_t)kind;
	if (trace_id)
		memcpy(ev.trace_id, trace_id, sizeof(ev.trace_id));
	if (span_id)
		memcpy(ev.span_id, span_id, sizeof(ev.span_id));
	if (name)
		memcpy(ev.name, name, strnlen(name, CHANNEL_NAME_MAX - 1));
	publish(ch, &ev);
}

void channel_write_alloc(struct channel *ch, pid_t pid, pid_t tid, enum channel_kind kind,
			 const struct channel_alloc *alloc)
{
	if (!ch)
		return;
	struct channel_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.time = base_mono_ns();
	ev.pid = (uint32_t)pid;
	ev.tid = (uint32_t)tid;
	ev.kind = (uint32_t)kind;
	ev.alloc = *alloc;
	if (ev.alloc.nips > CHANNEL_ALLOC_IPS)
		ev.alloc.nips = CHANNEL_ALLOC_IPS;
	publish(ch, &ev);
}

void channel_close(struct channel *ch)
{
	if (!ch)
		return;
	munmap(ch->hdr, ch->map_len);
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
}
