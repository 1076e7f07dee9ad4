/*
 * The kernel's mmap ring protocol (perf_event_open(2), "MMAP layout"):
 * the kernel writes records at data_head and we consume from data_tail.
 * data_head is read with acquire semantics so the record bytes it covers are
 * visible before we read them; data_tail is written with release semantics
 * so the kernel sees our reads complete before it reuses the space. This is
 * the smp_load_acquire/smp_store_release pairing of tools/lib/perf's mmap.
 */
#include "sampler.h"

#include <errno.h>
#include <string.h>

long smp_ring_read(struct smp_ring *r, unsigned char *scratch,
		   int (*fn)(void *arg, const struct perf_event_header *h), void *arg)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t start = r->meta->data_tail; /* only we write it */
	uint64_t tail = start;
	size_t mask = r->data_size - 1;
	long ret = 0;

	while (tail < head) {
		if (head - tail < sizeof(struct perf_event_header))
			break; /* cannot happen with a sane kernel: records are whole */
		size_t off = tail & mask;
		const struct perf_event_header *h = (const void *)(r->data + off);
		struct perf_event_header hdr;
		/* The header itself may straddle the end of the buffer. */
		if (off + sizeof(hdr) > r->data_size) {
			size_t first = r->data_size - off;
			memcpy(&hdr, r->data + off, first);
			memcpy((unsigned char *)&hdr + first, r->data, sizeof(hdr) - first);
		} else {
			memcpy(&hdr, h, sizeof(hdr));
		}
		if (hdr.size < sizeof(hdr) || hdr.size > head - tail) {
			ret = -EINVAL; /* corrupt ring: stop here rather than read garbage */
			break;
		}
		if (off + hdr.size > r->data_size) {
			/* The record wraps: copy it out whole so the consumer sees it contiguous. */
			size_t first = r->data_size - off;
			memcpy(scratch, r->data + off, first);
			memcpy(scratch + first, r->data, hdr.size - first);
			h = (const void *)scratch;
		}
		int rc = fn(arg, h);
		if (rc < 0) {
			ret = rc;
			break;
		}
		tail += hdr.size;
	}
	/* Release: our reads of [start, tail) happen before the kernel may overwrite them. */
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
	return ret < 0 ? ret : (long)(tail - start);
}
