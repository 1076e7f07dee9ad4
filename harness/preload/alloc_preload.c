/*
 * libpmuprof_alloc.so — an opt-in LD_PRELOAD library (part of libpmuprof)
 * that tells `pmuprof record` which code made the large heap allocations, so
 * that a sampled data address maps back to the malloc or mmap that holds it
 * (`pmuprof numa record --alloc`).
 *
 * It interposes malloc, calloc, realloc, the aligned allocators, free, and
 * anonymous mmap/munmap. An allocation of at least PMUPROF_ALLOC_MIN bytes
 * (default 64 KiB) is always reported; smaller ones are sampled, about one
 * per PMUPROF_ALLOC_SAMPLE bytes allocated by the thread (default 512 KiB;
 * 0 turns sampling off). A report is one CHANNEL_ALLOC event on the recorder
 * channel (channel/channel.h): the range, how it was made, and the return
 * addresses of the allocating code (glibc's backtrace). Freeing a reported
 * address sends CHANNEL_FREE, so a later allocation at the same address is
 * not mistaken for it. Without PMUPROF_CHANNEL_FD (not under a recorder)
 * every call goes straight to glibc.
 *
 * The real allocator is glibc's __libc_* entry points, not dlsym(RTLD_NEXT):
 * dlsym itself allocates, which would recurse before the hooks are set.
 * Anonymous mmap/munmap go to the system calls directly (glibc's malloc maps
 * its large blocks through its internal mmap, so those are not seen twice).
 *
 * Global state: an interposed malloc gets no context argument, so the
 * channel, the thresholds and the set of reported addresses live in file
 * scope, set once in the constructor (the set under per-shard locks).
 */
#include "channel.h"

#include <errno.h>
#include <malloc.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALLOC_API __attribute__((visibility("default")))
#define ALLOC_MIN_DEFAULT (64u * 1024)
#define ALLOC_SAMPLE_DEFAULT (512u * 1024)
/* Frames of this library above the allocating call: record() and the hook. */
#define ALLOC_OWN_FRAMES 2
#define ALLOC_SHARDS 64

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

/* The addresses reported and not yet freed: open addressing, one lock per shard. */
struct alloc_shard {
	pthread_mutex_t lock;
	uintptr_t *slot; /* 0: empty */
	size_t cap, n;
};

static struct channel *alloc_channel;
static size_t alloc_min = ALLOC_MIN_DEFAULT;
static size_t alloc_sample = ALLOC_SAMPLE_DEFAULT;
/* Reported addresses live anywhere: free() looks only while this is non-zero. */
static size_t alloc_live;
static struct alloc_shard alloc_shards[ALLOC_SHARDS];

/* initial-exec: a preloaded library's TLS must not be reached through __tls_get_addr, which allocates. */
static __thread int alloc_busy __attribute__((tls_model("initial-exec")));
static __thread int64_t alloc_countdown __attribute__((tls_model("initial-exec")));
static __thread uint64_t alloc_rng __attribute__((tls_model("initial-exec")));

static size_t env_size(const char *name, size_t dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	return errno || *end ? dflt : (size_t)x;
}

__attribute__((constructor)) static void alloc_init(void)
{
	alloc_busy = 1;
	for (int i = 0; i < ALLOC_SHARDS; i++)
		pthread_mutex_init(&alloc_shards[i].lock, NULL);
	alloc_min = env_size("PMUPROF_ALLOC_MIN", ALLOC_MIN_DEFAULT);
	alloc_sample = env_size("PMUPROF_ALLOC_SAMPLE", ALLOC_SAMPLE_DEFAULT);
	/* backtrace loads libgcc's unwinder on first use, which allocates: do it now, not in a hook. */
	void *warm[2];
	backtrace(warm, 2);
	__atomic_store_n(&alloc_channel, channel_attach_env(), __ATOMIC_RELEASE);
	alloc_busy = 0;
}

static struct alloc_shard *shard_of(uintptr_t a)
{
	return &alloc_shards[(a >> 12 ^ a >> 20) % ALLOC_SHARDS];
}

static size_t slot_of(uintptr_t a, size_t cap)
{
	return (size_t)((a >> 4) * 0x9e3779b97f4a7c15ULL >> 17) & (cap - 1);
}

/* Adds a to the reported set; false when out of memory (then it is not reported). */
static bool set_add(uintptr_t a)
{
	struct alloc_shard *s = shard_of(a);
	bool ok = true;
	pthread_mutex_lock(&s->lock);
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uintptr_t *slot = __libc_calloc(cap, sizeof(*slot));
		if (!slot) {
			ok = false;
			goto out;
		}
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			size_t j = slot_of(s->slot[i], cap);
			while (slot[j])
				j = (j + 1) & (cap - 1);
			slot[j] = s->slot[i];
		}
		__libc_free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	size_t j = slot_of(a, s->cap);
	while (s->slot[j] && s->slot[j] != a)
		j = (j + 1) & (s->cap - 1);
	if (!s->slot[j]) {
		s->slot[j] = a;
		s->n++;
		__atomic_add_fetch(&alloc_live, 1, __ATOMIC_RELAXED);
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* Removes a from the reported set; true when it was there. */
static bool set_remove(uintptr_t a)
{
	struct alloc_shard *s = shard_of(a);
	bool found = false;
	pthread_mutex_lock(&s->lock);
	if (!s->cap)
		goto out;
	size_t j = slot_of(a, s->cap);
	while (s->slot[j] && s->slot[j] != a)
		j = (j + 1) & (s->cap - 1);
	if (!s->slot[j])
		goto out;
	found = true;
	s->n--;
	__atomic_sub_fetch(&alloc_live, 1, __ATOMIC_RELAXED);
	/* Backward-shift deletion: later entries of the probe run move up, no tombstones. */
	size_t hole = j;
	for (size_t k = (j + 1) & (s->cap - 1); s->slot[k]; k = (k + 1) & (s->cap - 1)) {
		size_t home = slot_of(s->slot[k], s->cap);
		if (((k - home) & (s->cap - 1)) >= ((k - hole) & (s->cap - 1))) {
			s->slot[hole] = s->slot[k];
			hole = k;
		}
	}
	s->slot[hole] = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* The thread's next gap between sampled allocations, uniform in [sample/2, 3*sample/2): no aliasing with a periodic allocation pattern. */
static int64_t next_gap(void)
{
	if (!alloc_rng)
		alloc_rng = (uint64_t)(uintptr_t)&alloc_rng ^ 0x2545f4914f6cdd1dULL;
	alloc_rng ^= alloc_rng << 13;
	alloc_rng ^= alloc_rng >> 7;
	alloc_rng ^= alloc_rng << 17;
	return (int64_t)(alloc_sample / 2 + alloc_rng % alloc_sample);
}

/* Whether this allocation is reported: always from alloc_min up, else one per ~alloc_sample bytes. */
static bool wanted(size_t size)
{
	if (size >= alloc_min)
		return true;
	if (!alloc_sample)
		return false;
	if (!alloc_rng)
		alloc_countdown = next_gap();
	alloc_countdown -= (int64_t)size;
	if (alloc_countdown > 0)
		return false;
	alloc_countdown = next_gap();
	return true;
}

__attribute__((noinline)) static void record(void *p, size_t size, enum channel_alloc_how how)
{
	struct channel *ch = __atomic_load_n(&alloc_channel, __ATOMIC_ACQUIRE);
	if (!p || !ch || alloc_busy || !wanted(size))
		return;
	int saved = errno;
	alloc_busy = 1;
	void *frames[CHANNEL_ALLOC_IPS + ALLOC_OWN_FRAMES];
	int n = backtrace(frames, CHANNEL_ALLOC_IPS + ALLOC_OWN_FRAMES);
	struct channel_alloc a = {.addr = (uintptr_t)p, .len = size, .how = (uint32_t)how};
	for (int i = ALLOC_OWN_FRAMES; i < n; i++)
		a.ips[a.nips++] = (uintptr_t)frames[i];
	if (set_add((uintptr_t)p))
		channel_write_alloc(ch, getpid(), gettid(), CHANNEL_ALLOC, &a);
	alloc_busy = 0;
	errno = saved;
}

static void forget(void *p)
{
	struct channel *ch = __atomic_load_n(&alloc_channel, __ATOMIC_ACQUIRE);
	if (!p || !ch || !__atomic_load_n(&alloc_live, __ATOMIC_RELAXED))
		return;
	int saved = errno;
	if (set_remove((uintptr_t)p)) {
		struct channel_alloc a = {.addr = (uintptr_t)p};
		channel_write_alloc(ch, getpid(), gettid(), CHANNEL_FREE, &a);
	}
	errno = saved;
}

ALLOC_API void *malloc(size_t size)
{
	void *p = __libc_malloc(size);
	record(p, size, CHANNEL_ALLOC_MALLOC);
	return p;
}

ALLOC_API void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);
	record(p, n * size, CHANNEL_ALLOC_MALLOC); /* glibc failed an overflowing product: p is NULL */
	return p;
}

ALLOC_API void *realloc(void *old, size_t size)
{
	void *p = __libc_realloc(old, size);
	/* A failed realloc keeps the old block: only a success ends it. */
	if (p || !size)
		forget(old);
	record(p, size, CHANNEL_ALLOC_MALLOC);
	return p;
}

ALLOC_API void free(void *p)
{
	forget(p);
	__libc_free(p);
}

static bool power_of_two(size_t x)
{
	return x && !(x & (x - 1));
}

ALLOC_API void *memalign(size_t align, size_t size)
{
	void *p = __libc_memalign(align, size);
	record(p, size, CHANNEL_ALLOC_MALLOC);
	return p;
}

ALLOC_API void *aligned_alloc(size_t align, size_t size)
{
	if (!power_of_two(align)) {
		errno = EINVAL;
		return NULL;
	}
	void *p = __libc_memalign(align, size);
	record(p, size, CHANNEL_ALLOC_MALLOC);
	return p;
}

ALLOC_API int posix_memalign(void **out, size_t align, size_t size)
{
	if (!power_of_two(align) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = __libc_memalign(align, size);
	if (!p) {
		int e = errno;
		errno = saved;
		return e;
	}
	record(p, size, CHANNEL_ALLOC_MALLOC);
	*out = p;
	return 0;
}

ALLOC_API void *valloc(size_t size)
{
	void *p = __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
	record(p, size, CHANNEL_ALLOC_MALLOC);
	return p;
}

ALLOC_API void *pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t rounded = (size + page - 1) & ~(page - 1);
	void *p = __libc_memalign(page, rounded ? rounded : page);
	record(p, rounded, CHANNEL_ALLOC_MALLOC);
	return p;
}

ALLOC_API void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	/* syscall() returns -1 with errno set on failure, which is MAP_FAILED. */
	void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_ANONYMOUS))
		record(p, len, CHANNEL_ALLOC_MMAP);
	return p;
}

ALLOC_API void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

ALLOC_API int munmap(void *addr, size_t len)
{
	int r = (int)syscall(SYS_munmap, addr, len);
	if (!r)
		forget(addr);
	return r;
}
