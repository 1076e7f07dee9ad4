/*
 * The ring reader and the record layout on synthetic rings: records written
 * the way the kernel writes them (8-byte aligned, wrapping at the end of the
 * data area), every record type the sampler asks for, truncated records,
 * and loss records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "sampler.h"

#define RING_SIZE 4096

struct fake_ring {
	struct perf_event_mmap_page meta;
	unsigned char data[RING_SIZE];
	struct smp_ring ring;
};

static void ring_init(struct fake_ring *f, uint64_t start)
{
	memset(f, 0, sizeof(*f));
	f->meta.data_head = f->meta.data_tail = start;
	f->ring = (struct smp_ring){&f->meta, f->data, RING_SIZE, -1, 0};
}

/* The kernel's side: copy a record at data_head, wrapping, then publish. */
static void ring_write(struct fake_ring *f, const void *rec, size_t size)
{
	uint64_t head = f->meta.data_head;
	for (size_t i = 0; i < size; i++)
		f->data[(head + i) & (RING_SIZE - 1)] = ((const unsigned char *)rec)[i];
	__atomic_store_n(&f->meta.data_head, head + size, __ATOMIC_RELEASE);
}

/* A record buffer assembled u64 by u64 after a header. */
struct rec {
	union {
		struct perf_event_header h;
		uint64_t words[512];
	};
	size_t n; /* words after the header */
};

static void rec_begin(struct rec *r, uint32_t type, uint16_t misc)
{
	memset(r, 0, sizeof(*r));
	r->h.type = type;
	r->h.misc = misc;
}

static void put(struct rec *r, uint64_t v)
{
	r->words[1 + r->n++] = v;
	r->h.size = (uint16_t)(8 * (1 + r->n));
}

static void put_bytes(struct rec *r, const void *p, size_t len)
{
	size_t words = (len + 7) / 8;
	memcpy(&r->words[1 + r->n], p, len);
	r->n += words;
	r->h.size = (uint16_t)(8 * (1 + r->n));
}

/* sample_id trailer: TID, TIME, CPU, IDENTIFIER (the sampler's BASE_SAMPLE_TYPE). */
static void put_trailer(struct rec *r, uint32_t pid, uint32_t tid, uint64_t time, uint32_t cpu,
			uint64_t id)
{
	put(r, (uint64_t)tid << 32 | pid);
	put(r, time);
	put(r, cpu);
	put(r, id);
}

struct collected {
	int n;
	unsigned char bytes[16][512];
	uint16_t sizes[16];
	int fail_at; /* return -EIO on this record (1-based), 0 never */
};

static int collect(void *arg, const struct perf_event_header *h)
{
	struct collected *c = arg;
	if (c->fail_at && c->n + 1 == c->fail_at)
		return -EIO;
	memcpy(c->bytes[c->n], h, h->size);
	c->sizes[c->n++] = h->size;
	return 0;
}

static const struct pabi_layout base_layout = {
	.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
		       PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD,
	.read_format = PERF_FORMAT_ID,
};

static void make_sample(struct rec *r, uint64_t id, uint64_t ip, uint64_t time)
{
	rec_begin(r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	put(r, id);
	put(r, ip);
	put(r, (uint64_t)43 << 32 | 42); /* pid 42, tid 43 */
	put(r, time);
	put(r, 1);                        /* cpu 1 */
	put(r, 100003);                   /* period */
}

static void test_read_simple(void **state)
{
	(void)state;
	static struct fake_ring f;
	unsigned char scratch[65536];
	ring_init(&f, 0);
	struct rec r;
	for (int i = 0; i < 5; i++) {
		make_sample(&r, 7, 0x1000 + (uint64_t)i, 100 + (uint64_t)i);
		ring_write(&f, &r, r.h.size);
	}
	struct collected c = {0};
	long got = smp_ring_read(&f.ring, scratch, collect, &c);
	assert_int_equal(got, 5 * 56);
	assert_int_equal(c.n, 5);
	assert_int_equal(f.meta.data_tail, f.meta.data_head);
	struct pabi_sample s;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(pabi_parse_sample(&base_layout, (void *)c.bytes[i], &s), 0);
		assert_int_equal(s.ip, 0x1000 + (uint64_t)i);
		assert_int_equal(s.time, 100 + (uint64_t)i);
		assert_int_equal(s.pid, 42);
		assert_int_equal(s.tid, 43);
		assert_int_equal(s.cpu, 1);
		assert_int_equal(s.period, 100003);
		assert_int_equal(s.id, 7);
	}
	/* Nothing new: nothing read, tail unchanged. */
	c.n = 0;
	assert_int_equal(smp_ring_read(&f.ring, scratch, collect, &c), 0);
	assert_int_equal(c.n, 0);
}

static void test_read_wraparound(void **state)
{
	(void)state;
	static struct fake_ring f;
	unsigned char scratch[65536];
	/* Start 24 bytes before the end: the second record's body wraps. */
	ring_init(&f, 10 * RING_SIZE - 24 - 56);
	struct rec a, b, d;
	make_sample(&a, 1, 0xaaaa, 1);
	make_sample(&b, 2, 0xbbbb, 2);
	make_sample(&d, 3, 0xdddd, 3);
	ring_write(&f, &a, a.h.size);
	ring_write(&f, &b, b.h.size);
	ring_write(&f, &d, d.h.size);
	struct collected c = {0};
	assert_int_equal(smp_ring_read(&f.ring, scratch, collect, &c), 3 * 56);
	assert_int_equal(c.n, 3);
	assert_memory_equal(c.bytes[0], &a, a.h.size);
	assert_memory_equal(c.bytes[1], &b, b.h.size); /* copied out whole */
	assert_memory_equal(c.bytes[2], &d, d.h.size);
	assert_int_equal(f.meta.data_tail, 10 * RING_SIZE - 24 - 56 + 3 * 56);
	/* Many laps of the ring: every record intact, in order. */
	for (int lap = 0; lap < 300; lap++) {
		struct rec x;
		make_sample(&x, 9, (uint64_t)lap, (uint64_t)lap);
		ring_write(&f, &x, x.h.size);
		c.n = 0;
		assert_int_equal(smp_ring_read(&f.ring, scratch, collect, &c), 56);
		struct pabi_sample s;
		assert_int_equal(pabi_parse_sample(&base_layout, (void *)c.bytes[0], &s), 0);
		assert_int_equal(s.ip, (uint64_t)lap);
	}
}

static void test_read_partial_and_errors(void **state)
{
	(void)state;
	static struct fake_ring f;
	unsigned char scratch[65536];
	ring_init(&f, 0);
	struct rec r;
	make_sample(&r, 1, 0x10, 1);
	ring_write(&f, &r, r.h.size);
	/* A header whose record is not all there yet (head mid-record). */
	make_sample(&r, 2, 0x20, 2);
	ring_write(&f, &r, 16);
	struct collected c = {0};
	long got = smp_ring_read(&f.ring, scratch, collect, &c);
	assert_int_equal(got, -EINVAL);
	assert_int_equal(c.n, 1);
	assert_int_equal(f.meta.data_tail, 56); /* stops before the incomplete record */

	/* The consumer's error stops reading at that record, which stays unread. */
	ring_init(&f, 0);
	for (int i = 0; i < 3; i++) {
		make_sample(&r, 1, (uint64_t)i, (uint64_t)i);
		ring_write(&f, &r, r.h.size);
	}
	struct collected c2 = {.fail_at = 2};
	assert_int_equal(smp_ring_read(&f.ring, scratch, collect, &c2), -EIO);
	assert_int_equal(c2.n, 1);
	assert_int_equal(f.meta.data_tail, 56);
	c2.fail_at = 0;
	assert_int_equal(smp_ring_read(&f.ring, scratch, collect, &c2), 2 * 56);
	assert_int_equal(c2.n, 3);
}

static void test_sample_full_layout(void **state)
{
	(void)state;
	struct pabi_layout l = {
		.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
			       PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR | PERF_SAMPLE_CPU |
			       PERF_SAMPLE_PERIOD | PERF_SAMPLE_READ | PERF_SAMPLE_CALLCHAIN |
			       PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER | PERF_SAMPLE_WEIGHT |
			       PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_PHYS_ADDR,
		.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_TOTAL_TIME_ENABLED |
			       PERF_FORMAT_TOTAL_TIME_RUNNING | PERF_FORMAT_LOST,
		.regs_user_mask = 0x7, /* three registers */
	};
	struct rec r;
	rec_begin(&r, PERF_RECORD_SAMPLE, 0);
	put(&r, 99);                     /* identifier */
	put(&r, 0x401000);               /* ip */
	put(&r, (uint64_t)8 << 32 | 7);  /* pid 7 tid 8 */
	put(&r, 5555);                   /* time */
	put(&r, 0xdead0000);             /* addr */
	put(&r, 3);                      /* cpu */
	put(&r, 1000);                   /* period */
	put(&r, 2);                      /* read: nr */
	put(&r, 900);                    /* time_enabled */
	put(&r, 800);                    /* time_running */
	put(&r, 11), put(&r, 99), put(&r, 0);  /* value, id, lost */
	put(&r, 22), put(&r, 100), put(&r, 4);
	put(&r, 4);                      /* callchain nr */
	put(&r, PERF_CONTEXT_USER), put(&r, 0x401000), put(&r, 0x402000), put(&r, 0x403000);
	put(&r, 2);                      /* regs abi: 64-bit */
	put(&r, 0xa), put(&r, 0xb), put(&r, 0xc);
	put(&r, 16);                     /* stack size */
	put_bytes(&r, "0123456789abcdef", 16);
	put(&r, 12);                     /* dyn size */
	put(&r, 250);                    /* weight */
	put(&r, 0x1234);                 /* data_src */
	put(&r, 0x7000000);              /* phys addr */
	struct pabi_sample s;
	assert_int_equal(pabi_parse_sample(&l, &r.h, &s), 0);
	assert_int_equal(s.id, 99);
	assert_int_equal(s.ip, 0x401000);
	assert_int_equal(s.pid, 7);
	assert_int_equal(s.tid, 8);
	assert_int_equal(s.time, 5555);
	assert_int_equal(s.addr, 0xdead0000);
	assert_int_equal(s.cpu, 3);
	assert_int_equal(s.period, 1000);
	assert_int_equal(s.nr_read, 2);
	assert_int_equal(s.time_enabled, 900);
	assert_int_equal(s.time_running, 800);
	assert_int_equal(s.read[1].value, 22);
	assert_int_equal(s.read[1].id, 100);
	assert_int_equal(s.read[1].lost, 4);
	assert_int_equal(s.nr_callchain, 4);
	assert_int_equal(s.callchain[3], 0x403000);
	assert_int_equal(s.regs_abi, 2);
	assert_int_equal(s.regs[2], 0xc);
	assert_int_equal(s.stack_size, 16);
	assert_int_equal(s.stack_dyn_size, 12);
	assert_memory_equal(s.stack, "0123456789abcdef", 16);
	assert_int_equal(s.weight, 250);
	assert_int_equal(s.data_src, 0x1234);
	assert_int_equal(s.phys_addr, 0x7000000);
	assert_int_equal(pabi_record_id(&r.h), 99);

	/* Every truncation of it is rejected, never read past. */
	for (uint16_t size = 8; size < r.h.size; size += 8) {
		struct rec t = r;
		t.h.size = size;
		assert_int_equal(pabi_parse_sample(&l, &t.h, &s), -EINVAL);
	}
}

static void test_sample_compact(void **state)
{
	(void)state;
	struct pabi_layout l = {
		.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TIME |
			       PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER | PERF_SAMPLE_WEIGHT,
		.regs_user_mask = 0x3,
	};
	struct rec r;
	rec_begin(&r, PERF_RECORD_SAMPLE, 0);
	put(&r, 5), put(&r, 0x1234), put(&r, 777);
	put(&r, 2), put(&r, 0x11), put(&r, 0x22); /* abi, two regs */
	put(&r, 64);                               /* stack size */
	unsigned char stack[64];
	for (int i = 0; i < 64; i++)
		stack[i] = (unsigned char)i;
	put_bytes(&r, stack, 64);
	put(&r, 20);  /* dyn size: 20 valid bytes */
	put(&r, 999); /* weight, after the stack */
	unsigned char out[1024];
	size_t n = pabi_sample_compact(&l, &r.h, out);
	assert_int_equal(n, r.h.size - 64 + 24);
	struct pabi_sample s;
	assert_int_equal(pabi_parse_sample(&l, (void *)out, &s), 0);
	assert_int_equal(((struct perf_event_header *)out)->size, n);
	assert_int_equal(s.ip, 0x1234);
	assert_int_equal(s.time, 777);
	assert_int_equal(s.regs[1], 0x22);
	assert_int_equal(s.stack_size, 24);
	assert_int_equal(s.stack_dyn_size, 20);
	assert_memory_equal(s.stack, stack, 20);
	assert_int_equal(s.weight, 999);
	/* Nothing to cut: a full stack, or no stack at all. */
	struct rec full = r;
	full.words[1 + 6 + 1 + 8] = 64; /* dyn_size word: after id, ip, time, abi, 2 regs, size, 8 words */
	assert_int_equal(pabi_sample_compact(&l, &full.h, out), 0);
	assert_int_equal(pabi_sample_compact(&base_layout, &r.h, out), 0);
}

static void test_sideband_records(void **state)
{
	(void)state;
	struct proc_model *m;
	assert_int_equal(proc_model_new(&m), 0);
	struct rec r;
	struct pabi_sample_id sid;

	/* COMM with exec */
	rec_begin(&r, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
	put(&r, (uint64_t)42 << 32 | 42);
	put_bytes(&r, "worker\0\0", 8);
	put_trailer(&r, 42, 42, 500, 0, 7);
	assert_int_equal(proc_apply_record(m, &r.h), 0);
	assert_string_equal(proc_comm(m, 42, 42), "worker");
	assert_int_equal(pabi_parse_sample_id(&base_layout, &r.h, &sid), 0);
	assert_int_equal(sid.time, 500);
	assert_int_equal(sid.id, 7);
	assert_int_equal(sid.pid, 42);

	/* MMAP2 carrying a build id */
	rec_begin(&r, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER | PERF_RECORD_MISC_MMAP_BUILD_ID);
	put(&r, (uint64_t)42 << 32 | 42);
	put(&r, 0x400000), put(&r, 0x2000), put(&r, 0x1000);
	unsigned char bid[24] = {20, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
	put_bytes(&r, bid, 24);
	put(&r, (uint64_t)2 << 32 | 5); /* prot r-x, flags MAP_PRIVATE */
	put_bytes(&r, "/usr/bin/worker\0", 16);
	put_trailer(&r, 42, 42, 600, 0, 7);
	assert_int_equal(proc_apply_record(m, &r.h), 0);
	const struct proc_map *pm = proc_find_map(m, 42, 0x401234);
	assert_non_null(pm);
	assert_string_equal(pm->filename, "/usr/bin/worker");
	assert_int_equal(pm->pgoff, 0x1000);
	assert_int_equal(strncmp(pm->build_id, "deadbeef00", 10), 0);
	assert_int_equal(strlen(pm->build_id), 40);
	assert_string_equal(proc_exe(m, 42), "/usr/bin/worker");
	assert_null(proc_find_map(m, 42, 0x402000)); /* end is exclusive */

	/* FORK copies mappings and the name; a thread (pid == ppid) shares them */
	rec_begin(&r, PERF_RECORD_FORK, 0);
	put(&r, (uint64_t)42 << 32 | 50); /* pid 50, ppid 42 */
	put(&r, (uint64_t)42 << 32 | 50); /* tid 50, ptid 42 */
	put(&r, 650);
	put_trailer(&r, 50, 50, 650, 0, 7);
	assert_int_equal(proc_apply_record(m, &r.h), 0);
	assert_non_null(proc_find_map(m, 50, 0x401000));
	assert_string_equal(proc_comm(m, 50, 50), "worker");

	/* A bigger mapping over the middle splits the old one */
	assert_int_equal(proc_on_mmap(m, 42, 0x400800, 0x800, 0, "/lib/x.so", NULL, 5, 2), 0);
	assert_string_equal(proc_find_map(m, 42, 0x400100)->filename, "/usr/bin/worker");
	assert_string_equal(proc_find_map(m, 42, 0x400900)->filename, "/lib/x.so");
	pm = proc_find_map(m, 42, 0x401100);
	assert_string_equal(pm->filename, "/usr/bin/worker");
	assert_int_equal(pm->pgoff, 0x1000 + 0x1000); /* right part keeps its file offset */

	/* EXIT keeps the process for samples still in flight; exec resets mappings */
	rec_begin(&r, PERF_RECORD_EXIT, 0);
	put(&r, (uint64_t)42 << 32 | 50);
	put(&r, (uint64_t)42 << 32 | 50);
	put(&r, 700);
	put_trailer(&r, 50, 50, 700, 0, 7);
	assert_int_equal(proc_apply_record(m, &r.h), 0);
	assert_non_null(proc_find_map(m, 50, 0x401000));
	assert_int_equal(proc_on_comm(m, 42, 42, "other", true), 0);
	assert_null(proc_find_map(m, 42, 0x401000));

	/* Between windows the agent forgets exited processes and their threads. */
	size_t before = proc_model_size(m);
	assert_int_equal(proc_model_forget_exited(m), 1);
	assert_int_equal(proc_model_size(m), before - 1);
	assert_null(proc_find_map(m, 50, 0x401000));
	assert_null(proc_comm(m, 50, 50));
	assert_string_equal(proc_comm(m, 42, 42), "other");
	assert_int_equal(proc_model_forget_exited(m), 0);

	/* Truncated side-band records are rejected */
	rec_begin(&r, PERF_RECORD_MMAP2, 0);
	put(&r, 1);
	assert_int_equal(proc_apply_record(m, &r.h), -EINVAL);
	proc_model_free(m);
}

static void test_loss_records(void **state)
{
	(void)state;
	struct rec r;
	uint64_t id = 0, lost = 0;
	rec_begin(&r, PERF_RECORD_LOST, 0);
	put(&r, 77), put(&r, 1234);
	put_trailer(&r, 0, 0, 900, 1, 77);
	assert_int_equal(pabi_record_loss(&r.h, &id, &lost), 1);
	assert_int_equal(id, 77);
	assert_int_equal(lost, 1234);

	rec_begin(&r, PERF_RECORD_LOST_SAMPLES, 0);
	put(&r, 55);
	put_trailer(&r, 0, 0, 901, 1, 78);
	assert_int_equal(pabi_record_loss(&r.h, &id, &lost), 1);
	assert_int_equal(id, 78);
	assert_int_equal(lost, 55);

	rec_begin(&r, PERF_RECORD_THROTTLE, 0);
	put(&r, 902), put(&r, 79), put(&r, 79);
	put_trailer(&r, 0, 0, 902, 1, 79);
	assert_int_equal(pabi_record_loss(&r.h, &id, &lost), 0);
	struct pabi_sample_id sid;
	assert_int_equal(pabi_parse_sample_id(&base_layout, &r.h, &sid), 0);
	assert_int_equal(sid.id, 79);
	assert_int_equal(sid.time, 902);
	assert_int_equal(sid.cpu, 1);

	rec_begin(&r, PERF_RECORD_LOST, 0);
	put(&r, 1);
	assert_int_equal(pabi_record_loss(&r.h, &id, &lost), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_simple),
		cmocka_unit_test(test_read_wraparound),
		cmocka_unit_test(test_read_partial_and_errors),
		cmocka_unit_test(test_sample_full_layout),
		cmocka_unit_test(test_sample_compact),
		cmocka_unit_test(test_sideband_records),
		cmocka_unit_test(test_loss_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
