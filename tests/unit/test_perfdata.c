/*
 * The perf.data reader (perfabi/perfdata.c): synthetic files in file and
 * pipe mode (ids resolved by id_pos/is_pos without PERF_SAMPLE_IDENTIFIER,
 * names from HEADER_EVENT_DESC and EVENT_UPDATE), every truncation and
 * many corruptions of them rejected without a crash, and the real captures
 * in ../shared/testdata/perf-data/ read with the record counts per type and
 * the samples per event that `perf report --stats` prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampler.h"

#define NTYPES 128

/* --- a synthetic perf.data ----------------------------------------------------- */

struct buf {
	unsigned char d[8192];
	size_t n;
};

static size_t put(struct buf *b, const void *p, size_t n)
{
	size_t at = b->n;
	assert_true(b->n + n <= sizeof(b->d));
	memcpy(b->d + b->n, p, n);
	b->n += n;
	return at;
}

static size_t put64(struct buf *b, uint64_t v)
{
	return put(b, &v, 8);
}

static void patch64(struct buf *b, size_t at, uint64_t v)
{
	memcpy(b->d + at, &v, 8);
}

static void make_attr(struct perf_event_attr *a, uint64_t config)
{
	memset(a, 0, sizeof(*a));
	a->type = PERF_TYPE_SOFTWARE;
	a->size = sizeof(*a);
	a->config = config;
	a->sample_period = 1000;
	/* perf's usual layout: ID but no IDENTIFIER, so ids sit mid-record */
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID |
			 PERF_SAMPLE_CPU;
	a->sample_id_all = 1;
}

static const uint64_t ids[2] = {100, 200};

static void put_header(struct buf *b, uint32_t type, uint16_t size)
{
	struct perf_event_header h = {.type = type, .misc = 0, .size = size};
	put(b, &h, sizeof(h));
}

/* COMM, 3 samples of event 0 and 2 of event 1 (times out of order), FINISHED_ROUND. */
static void put_records(struct buf *b)
{
	put_header(b, PERF_RECORD_COMM, 8 + 8 + 8 + 32);
	put64(b, 42 | (42ULL << 32));
	put(b, "spin\0\0\0\0", 8);
	/* trailer: TID, TIME, ID, CPU; is_pos = 2 */
	put64(b, 42 | (42ULL << 32));
	put64(b, 5);
	put64(b, ids[1]);
	put64(b, 1);
	static const struct {
		int ev;
		uint64_t time;
	} s[] = {{0, 10}, {1, 30}, {0, 20}, {1, 40}, {0, 50}};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		put_header(b, PERF_RECORD_SAMPLE, 8 + 5 * 8);
		put64(b, 0x401000 + i);
		put64(b, 42 | (42ULL << 32));
		put64(b, s[i].time);
		put64(b, ids[s[i].ev]);
		put64(b, 1);
	}
	put_header(b, 68 /* FINISHED_ROUND */, 8);
}

static void put_string(struct buf *b, const char *s)
{
	char pad[64] = {0};
	uint32_t len = 64; /* perf pads names to 64 bytes */
	snprintf(pad, sizeof(pad), "%s", s);
	put(b, &len, 4);
	put(b, pad, len);
}

static void build_file(struct buf *b)
{
	struct perf_event_attr a[2];
	make_attr(&a[0], PERF_COUNT_SW_CPU_CLOCK);
	make_attr(&a[1], PERF_COUNT_SW_TASK_CLOCK);
	memset(b, 0, sizeof(*b));
	put64(b, 0x32454c4946524550ULL);
	put64(b, 104);
	put64(b, sizeof(struct perf_event_attr) + 16);
	size_t hdr_attrs = put64(b, 0);
	put64(b, 0);
	size_t hdr_data = put64(b, 0);
	put64(b, 0);
	put64(b, 0); /* event_types */
	put64(b, 0);
	uint64_t feat[4] = {1ULL << 12}; /* HEADER_EVENT_DESC */
	put(b, feat, sizeof(feat));
	size_t ids_at = b->n;
	put64(b, ids[0]);
	put64(b, ids[1]);
	size_t attrs_at = b->n;
	for (int i = 0; i < 2; i++) {
		put(b, &a[i], sizeof(a[i]));
		put64(b, ids_at + 8 * (uint64_t)i);
		put64(b, 8);
	}
	patch64(b, hdr_attrs, attrs_at);
	patch64(b, hdr_attrs + 8, b->n - attrs_at);
	size_t data_at = b->n;
	put_records(b);
	patch64(b, hdr_data, data_at);
	patch64(b, hdr_data + 8, b->n - data_at);
	/* feature table: one section, then EVENT_DESC */
	size_t sec = put64(b, 0);
	put64(b, 0);
	size_t desc = b->n;
	uint32_t nr = 2, asz = sizeof(struct perf_event_attr), one = 1;
	put(b, &nr, 4);
	put(b, &asz, 4);
	for (int i = 0; i < 2; i++) {
		put(b, &a[i], sizeof(a[i]));
		put(b, &one, 4);
		put_string(b, i ? "task-clock:u" : "cpu-clock:u");
		put64(b, ids[i]);
	}
	patch64(b, sec, desc);
	patch64(b, sec + 8, b->n - desc);
}

/* A pipe-mode header and a HEADER_ATTR record for each of the two events. */
static void put_pipe_head(struct buf *b, const struct perf_event_attr a[2])
{
	memset(b, 0, sizeof(*b));
	put64(b, 0x32454c4946524550ULL);
	put64(b, 16);
	for (int i = 0; i < 2; i++) {
		put_header(b, 64 /* HEADER_ATTR */, (uint16_t)(8 + sizeof(a[i]) + 8));
		put(b, &a[i], sizeof(a[i]));
		put64(b, ids[i]);
	}
}

static void build_pipe(struct buf *b)
{
	struct perf_event_attr a[2];
	make_attr(&a[0], PERF_COUNT_SW_CPU_CLOCK);
	make_attr(&a[1], PERF_COUNT_SW_TASK_CLOCK);
	put_pipe_head(b, a);
	/* EVENT_UPDATE NAME for the second event */
	put_header(b, 78, 8 + 16 + 16);
	put64(b, 2);
	put64(b, ids[1]);
	put(b, "task-clock:upp\0\0", 16);
	put_records(b);
}

static char *write_tmp(const struct buf *b)
{
	char *path = strdup("/tmp/test_perfdata.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->d, b->n), (ssize_t)b->n);
	close(fd);
	return path;
}

static void check_synthetic(const struct buf *b, bool pipe, const char *name1)
{
	char err[512], *path = write_tmp(b);
	struct pabi_perfdata *pd;
	assert_int_equal(pabi_perfdata_open(&pd, path, err, sizeof(err)), 0);
	assert_int_equal(pabi_perfdata_is_pipe(pd), pipe);
	assert_int_equal(pabi_perfdata_nevents(pd), 2);
	assert_string_equal(pabi_perfdata_event(pd, 0)->name, pipe ? "cpu-clock" : "cpu-clock:u");
	assert_string_equal(pabi_perfdata_event(pd, 1)->name, name1);
	assert_int_equal(pabi_perfdata_event_of_id(pd, ids[1]), 1);
	struct pabi_pd_record r;
	int per_event[2] = {0}, comm_event = -2, n, rounds = 0;
	uint64_t last_sample_time = 0;
	while ((n = pabi_perfdata_next(pd, &r, err, sizeof(err))) > 0) {
		if (r.h->type == PERF_RECORD_SAMPLE) {
			assert_in_range(r.event, 0, 1);
			per_event[r.event]++;
			struct pabi_sample s;
			assert_int_equal(
				pabi_parse_sample(&pabi_perfdata_event(pd, (size_t)r.event)->layout,
						  r.h, &s),
				0);
			assert_int_equal(s.id, ids[r.event]);
			assert_int_equal(s.time, r.time);
			last_sample_time = r.time;
		} else if (r.h->type == PERF_RECORD_COMM) {
			comm_event = r.event;
			assert_int_equal(r.time, 5);
		} else if (r.h->type == 68) {
			rounds++;
			assert_int_equal(r.event, -1);
		}
	}
	assert_int_equal(n, 0);
	assert_int_equal(per_event[0], 3);
	assert_int_equal(per_event[1], 2);
	assert_int_equal(comm_event, 1); /* from the trailer's id, is_pos 2 */
	assert_int_equal(rounds, 1);
	assert_int_equal(last_sample_time, 50);
	pabi_perfdata_close(pd);
	unlink(path);
	free(path);
}

static void test_file_mode(void **state)
{
	(void)state;
	struct buf b;
	build_file(&b);
	check_synthetic(&b, false, "task-clock:u");
}

static void test_pipe_mode(void **state)
{
	(void)state;
	struct buf b;
	build_pipe(&b);
	check_synthetic(&b, true, "task-clock:upp");
}

/* --- every sampling ABI field -------------------------------------------------- */

/*
 * A sample of `a` with every field its sample_type asks for, in the order of
 * include/uapi/linux/perf_event.h, filled with values derived from `seed`.
 */
static void put_abi_sample(struct buf *b, const struct perf_event_attr *a, uint64_t id,
			   uint64_t seed)
{
	uint64_t t = a->sample_type;
	struct buf body = {.n = 0};
	if (t & PERF_SAMPLE_IDENTIFIER)
		put64(&body, id);
	if (t & PERF_SAMPLE_IP)
		put64(&body, 0x401000 + seed);
	if (t & PERF_SAMPLE_TID)
		put64(&body, 42 | (43ULL << 32));
	if (t & PERF_SAMPLE_TIME)
		put64(&body, 1000 + seed);
	if (t & PERF_SAMPLE_ADDR)
		put64(&body, 0x7000 + seed);
	if (t & PERF_SAMPLE_ID)
		put64(&body, id);
	if (t & PERF_SAMPLE_STREAM_ID)
		put64(&body, 0x5000 + seed);
	if (t & PERF_SAMPLE_CPU)
		put64(&body, 3);
	if (t & PERF_SAMPLE_PERIOD)
		put64(&body, 10000 + seed);
	if (t & PERF_SAMPLE_READ) {
		/* read_format PERF_FORMAT_GROUP | ID | LOST: nr, {value, id, lost}[nr] */
		put64(&body, 2);
		for (uint64_t i = 0; i < 2; i++) {
			put64(&body, 100 * (i + 1) + seed);
			put64(&body, id + i);
			put64(&body, i);
		}
	}
	if (t & PERF_SAMPLE_CALLCHAIN) {
		put64(&body, 2);
		put64(&body, 0x401000 + seed);
		put64(&body, 0x402000);
	}
	if (t & PERF_SAMPLE_RAW) {
		uint32_t size = 12;
		put(&body, &size, 4);
		put(&body, "raw-bytes-12", 12); /* 16 bytes: already 8-aligned */
	}
	if (t & PERF_SAMPLE_BRANCH_STACK) {
		put64(&body, 2);
		if (a->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX)
			put64(&body, 7);
		for (uint64_t i = 0; i < 6; i++)
			put64(&body, 0xb000 + i);
		if (a->branch_sample_type & PERF_SAMPLE_BRANCH_COUNTERS) {
			put64(&body, 0xc0);
			put64(&body, 0xc1);
		}
	}
	if (t & PERF_SAMPLE_REGS_USER) {
		put64(&body, 2); /* PERF_SAMPLE_REGS_ABI_64 */
		for (int i = 0; i < __builtin_popcountll(a->sample_regs_user); i++)
			put64(&body, 0xa000 + (uint64_t)i);
	}
	if (t & PERF_SAMPLE_STACK_USER) {
		put64(&body, 16);
		put64(&body, 0x1111);
		put64(&body, 0x2222);
		put64(&body, 8);
	}
	if (t & (PERF_SAMPLE_WEIGHT | PERF_SAMPLE_WEIGHT_STRUCT))
		put64(&body, 0x0003000200000111ULL + seed); /* var3_w 3, var2_w 2, var1_dw 0x111 */
	if (t & PERF_SAMPLE_DATA_SRC)
		put64(&body, 0x5080021ULL);
	if (t & PERF_SAMPLE_TRANSACTION)
		put64(&body, 0x77);
	if (t & PERF_SAMPLE_REGS_INTR) {
		put64(&body, 2);
		for (int i = 0; i < __builtin_popcountll(a->sample_regs_intr); i++)
			put64(&body, 0xe000 + (uint64_t)i);
	}
	if (t & PERF_SAMPLE_PHYS_ADDR)
		put64(&body, 0x123456000ULL + seed);
	if (t & PERF_SAMPLE_CGROUP)
		put64(&body, 0xc6);
	if (t & PERF_SAMPLE_DATA_PAGE_SIZE)
		put64(&body, 2 << 20);
	if (t & PERF_SAMPLE_CODE_PAGE_SIZE)
		put64(&body, 4096);
	if (t & PERF_SAMPLE_AUX) {
		put64(&body, 16);
		put(&body, "aux-data-16bytes", 16);
	}
	put_header(b, PERF_RECORD_SAMPLE, (uint16_t)(8 + body.n));
	put(b, body.d, body.n);
}

/* Checks what put_abi_sample wrote, field by field. */
static void check_abi_sample(const struct perf_event_attr *a, const struct pabi_sample *s,
			     uint64_t id, uint64_t seed)
{
	uint64_t t = a->sample_type;
	assert_int_equal(s->id, id);
	assert_int_equal(s->ip, 0x401000 + seed);
	assert_int_equal(s->pid, 42);
	assert_int_equal(s->tid, 43);
	assert_int_equal(s->time, 1000 + seed);
	if (t & PERF_SAMPLE_ADDR)
		assert_int_equal(s->addr, 0x7000 + seed);
	if (t & PERF_SAMPLE_STREAM_ID)
		assert_int_equal(s->stream_id, 0x5000 + seed);
	assert_int_equal(s->cpu, 3);
	assert_int_equal(s->period, 10000 + seed);
	if (t & PERF_SAMPLE_READ) {
		assert_int_equal(s->nr_read, 2);
		assert_int_equal(s->read[1].value, 200 + seed);
		assert_int_equal(s->read[1].id, id + 1);
		assert_int_equal(s->read[1].lost, 1);
	}
	if (t & PERF_SAMPLE_CALLCHAIN) {
		assert_int_equal(s->nr_callchain, 2);
		assert_int_equal(s->callchain[1], 0x402000);
	}
	if (t & PERF_SAMPLE_RAW) {
		assert_int_equal(s->raw_size, 12);
		assert_memory_equal(s->raw, "raw-bytes-12", 12);
	} else {
		assert_null(s->raw);
	}
	if (t & PERF_SAMPLE_BRANCH_STACK) {
		assert_int_equal(s->nr_branch, 2);
		assert_int_equal(s->branch_hw_idx,
				 a->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX ? 7 : (uint64_t)-1);
		assert_int_equal(s->branch[0], 0xb000);
		assert_int_equal(s->branch[5], 0xb005);
		if (a->branch_sample_type & PERF_SAMPLE_BRANCH_COUNTERS)
			assert_int_equal(s->branch_counters[1], 0xc1);
		else
			assert_null(s->branch_counters);
	}
	if (t & PERF_SAMPLE_REGS_USER) {
		assert_int_equal(s->regs_abi, 2);
		assert_int_equal(s->regs[2], 0xa002);
	}
	if (t & PERF_SAMPLE_STACK_USER) {
		assert_int_equal(s->stack_size, 16);
		assert_int_equal(s->stack_dyn_size, 8);
	}
	if (t & PERF_SAMPLE_WEIGHT_STRUCT) {
		assert_int_equal(s->weight, 0x111 + seed);
		assert_int_equal(s->ins_lat, 2);
		assert_int_equal(s->retire_lat, 3);
	} else if (t & PERF_SAMPLE_WEIGHT) {
		assert_int_equal(s->weight, 0x0003000200000111ULL + seed);
	}
	if (t & PERF_SAMPLE_DATA_SRC)
		assert_int_equal(s->data_src, 0x5080021ULL);
	if (t & PERF_SAMPLE_TRANSACTION)
		assert_int_equal(s->transaction, 0x77);
	if (t & PERF_SAMPLE_REGS_INTR) {
		assert_int_equal(s->regs_intr_abi, 2);
		assert_int_equal(s->regs_intr[3], 0xe003);
	}
	if (t & PERF_SAMPLE_PHYS_ADDR)
		assert_int_equal(s->phys_addr, 0x123456000ULL + seed);
	if (t & PERF_SAMPLE_CGROUP)
		assert_int_equal(s->cgroup, 0xc6);
	if (t & PERF_SAMPLE_DATA_PAGE_SIZE)
		assert_int_equal(s->data_page_size, 2 << 20);
	if (t & PERF_SAMPLE_CODE_PAGE_SIZE)
		assert_int_equal(s->code_page_size, 4096);
	if (t & PERF_SAMPLE_AUX) {
		assert_int_equal(s->aux_size, 16);
		assert_memory_equal(s->aux, "aux-data-16bytes", 16);
	}
}

/*
 * For each field perf may write (and all at once), a pipe-mode file with two
 * events of different layouts, interleaved: a plain cpu-clock and one whose
 * attr asks for the field (with PHYS_ADDR and CODE_PAGE_SIZE after it, so a
 * misread size shows). Every sample of both must decode to what was written.
 */
static void test_sample_abi_fields(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		uint64_t sample_type, branch, regs_user, regs_intr;
	} cases[] = {
		{"REGS_INTR", PERF_SAMPLE_REGS_INTR, 0, 0, 0xf00ff},
		{"BRANCH_STACK", PERF_SAMPLE_BRANCH_STACK, PERF_SAMPLE_BRANCH_ANY, 0, 0},
		{"BRANCH_STACK hw_idx", PERF_SAMPLE_BRANCH_STACK,
		 PERF_SAMPLE_BRANCH_ANY | PERF_SAMPLE_BRANCH_HW_INDEX, 0, 0},
		{"BRANCH_STACK counters", PERF_SAMPLE_BRANCH_STACK,
		 PERF_SAMPLE_BRANCH_ANY | PERF_SAMPLE_BRANCH_HW_INDEX | PERF_SAMPLE_BRANCH_COUNTERS, 0,
		 0},
		{"WEIGHT_STRUCT", PERF_SAMPLE_WEIGHT_STRUCT | PERF_SAMPLE_DATA_SRC, 0, 0, 0},
		{"DATA_PAGE_SIZE", PERF_SAMPLE_DATA_PAGE_SIZE | PERF_SAMPLE_ADDR, 0, 0, 0},
		{"CGROUP", PERF_SAMPLE_CGROUP, 0, 0, 0},
		{"AUX", PERF_SAMPLE_AUX, 0, 0, 0},
		{"READ group lost", PERF_SAMPLE_READ, 0, 0, 0},
		{"all", PERF_SAMPLE_ADDR | PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_READ |
				PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW | PERF_SAMPLE_BRANCH_STACK |
				PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER | PERF_SAMPLE_WEIGHT |
				PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_TRANSACTION | PERF_SAMPLE_REGS_INTR |
				PERF_SAMPLE_CGROUP | PERF_SAMPLE_DATA_PAGE_SIZE | PERF_SAMPLE_AUX,
		 PERF_SAMPLE_BRANCH_ANY | PERF_SAMPLE_BRANCH_HW_INDEX, 0x1ff, 0x3ff},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		print_message("case %s\n", cases[c].what);
		struct perf_event_attr a[2];
		make_attr(&a[0], PERF_COUNT_SW_CPU_CLOCK);
		make_attr(&a[1], PERF_COUNT_SW_TASK_CLOCK);
		for (int i = 0; i < 2; i++)
			a[i].sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
					   PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD;
		a[1].sample_type |= cases[c].sample_type | PERF_SAMPLE_PHYS_ADDR |
				    PERF_SAMPLE_CODE_PAGE_SIZE;
		a[1].branch_sample_type = cases[c].branch;
		a[1].sample_regs_user = cases[c].regs_user;
		a[1].sample_regs_intr = cases[c].regs_intr;
		a[1].read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_LOST;
		struct buf *b = malloc(sizeof(*b));
		assert_non_null(b);
		put_pipe_head(b, a);
		for (uint64_t k = 0; k < 4; k++)
			put_abi_sample(b, &a[k % 2], ids[k % 2], k);
		char err[512], *path = write_tmp(b);
		struct pabi_perfdata *pd;
		assert_int_equal(pabi_perfdata_open(&pd, path, err, sizeof(err)), 0);
		struct pabi_pd_record r;
		uint64_t k = 0;
		int n;
		while ((n = pabi_perfdata_next(pd, &r, err, sizeof(err))) > 0) {
			if (r.h->type != PERF_RECORD_SAMPLE)
				continue;
			assert_int_equal(r.event, (int)(k % 2));
			struct pabi_sample s;
			assert_int_equal(
				pabi_parse_sample(&pabi_perfdata_event(pd, k % 2)->layout, r.h, &s),
				0);
			check_abi_sample(&a[k % 2], &s, ids[k % 2], k);
			k++;
		}
		assert_int_equal(n, 0);
		assert_int_equal(k, 4);
		pabi_perfdata_close(pd);
		unlink(path);
		free(path);
		free(b);
	}
}

/* Opens and iterates to the end; returns 0 or the first error (which must name an offset). */
static int read_all(const struct buf *b)
{
	char err[512] = "", *path = write_tmp(b);
	struct pabi_perfdata *pd;
	int ret = pabi_perfdata_open(&pd, path, err, sizeof(err));
	if (ret == 0) {
		struct pabi_pd_record r;
		while ((ret = pabi_perfdata_next(pd, &r, err, sizeof(err))) > 0) {
			struct pabi_sample s;
			if (r.h->type == PERF_RECORD_SAMPLE && r.event >= 0)
				(void)pabi_parse_sample(
					&pabi_perfdata_event(pd, (size_t)r.event)->layout, r.h, &s);
		}
		pabi_perfdata_close(pd);
	}
	if (ret < 0) {
		assert_non_null(strchr(err, ' ')); /* a message, one line */
		assert_null(strchr(err, '\n'));
	}
	unlink(path);
	free(path);
	return ret;
}

/* Every truncation, and every byte of the header and tables forced to 0xff, fails cleanly. */
static void test_corrupt(void **state)
{
	(void)state;
	for (int pipe = 0; pipe < 2; pipe++) {
		struct buf b, c;
		if (pipe)
			build_pipe(&b);
		else
			build_file(&b);
		assert_int_equal(read_all(&b), 0);
		for (size_t len = 0; len < b.n; len += 3) {
			c = b;
			c.n = len;
			(void)read_all(&c);
		}
		for (size_t i = 0; i < b.n; i += 5) {
			c = b;
			c.d[i] = 0xff;
			c.d[i + 1 < b.n ? i + 1 : i] = 0xff;
			(void)read_all(&c);
		}
	}
}

/* --- the real captures against perf report --stats ---------------------------- */

static const char *const type_names[NTYPES] = {
	[1] = "MMAP", [2] = "LOST", [3] = "COMM", [4] = "EXIT", [5] = "THROTTLE",
	[6] = "UNTHROTTLE", [7] = "FORK", [8] = "READ", [9] = "SAMPLE", [10] = "MMAP2",
	[11] = "AUX", [12] = "ITRACE_START", [13] = "LOST_SAMPLES", [14] = "SWITCH",
	[15] = "SWITCH_CPU_WIDE", [16] = "NAMESPACES", [17] = "KSYMBOL", [18] = "BPF_EVENT",
	[19] = "CGROUP", [20] = "TEXT_POKE", [21] = "AUX_OUTPUT_HW_ID", [64] = "ATTR",
	[65] = "EVENT_TYPE", [66] = "TRACING_DATA", [67] = "BUILD_ID", [68] = "FINISHED_ROUND",
	[69] = "ID_INDEX", [70] = "AUXTRACE_INFO", [71] = "AUXTRACE", [72] = "AUXTRACE_ERROR",
	[73] = "THREAD_MAP", [74] = "CPU_MAP", [75] = "STAT_CONFIG", [76] = "STAT",
	[77] = "STAT_ROUND", [78] = "EVENT_UPDATE", [79] = "TIME_CONV", [80] = "FEATURE",
	[81] = "COMPRESSED", [82] = "FINISHED_INIT",
};

static const char *testdata_dir(void)
{
	const char *d = getenv("PMUPROF_PERF_TESTDATA");
	return d ? d : TEST_DATA_DIR "/../../../shared/testdata/perf-data";
}

struct perf_stats {
	uint64_t types[NTYPES];
	uint64_t total;
	uint64_t samples[64]; /* per evsel section with any SAMPLE line, in perf's order */
	int nsections;
};

/* Parses `perf report --stats`; false when perf cannot run or read the file. */
static bool perf_report_stats(const char *path, struct perf_stats *st)
{
	char cmd[4096], line[512];
	memset(st, 0, sizeof(*st));
	snprintf(cmd, sizeof(cmd), "perf report --stats -i '%s' 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	if (!p)
		return false;
	bool aggregated = false, any = false;
	while (fgets(line, sizeof(line), p)) {
		char name[128];
		unsigned long long n;
		if (strstr(line, "Aggregated stats:")) {
			aggregated = true;
			continue;
		}
		if (strstr(line, " stats:")) {
			aggregated = false;
			if (st->nsections < 64)
				st->nsections++;
			continue;
		}
		if (sscanf(line, " %127s events: %llu", name, &n) != 2)
			continue;
		any = true;
		if (aggregated) {
			if (strcmp(name, "TOTAL") == 0)
				st->total = n;
			for (int t = 0; t < NTYPES; t++)
				if (type_names[t] && strcmp(type_names[t], name) == 0)
					st->types[t] = n;
		} else if (strcmp(name, "SAMPLE") == 0 && st->nsections > 0) {
			st->samples[st->nsections - 1] = n;
		}
	}
	int status = pclose(p);
	return any && status == 0;
}

static void test_testdata(void **state)
{
	(void)state;
	const char *dir = testdata_dir();
	DIR *d = opendir(dir);
	if (!d) {
		printf("SKIP: %s is absent: no real perf.data captures to read\n", dir);
		skip();
	}
	bool have_perf = system("perf --version >/dev/null 2>&1") == 0;
	if (!have_perf)
		printf("note: perf is not installed: record counts are not compared with perf\n");
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "perf.data", 9) != 0)
			continue;
		char path[4096], err[512];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct pabi_perfdata *pd;
		int ret = pabi_perfdata_open(&pd, path, err, sizeof(err));
		if (ret < 0)
			fail_msg("%s: %s", de->d_name, err);
		uint64_t types[NTYPES] = {0}, total = 0, samples[64] = {0};
		size_t nev = pabi_perfdata_nevents(pd);
		struct pabi_pd_record r;
		while ((ret = pabi_perfdata_next(pd, &r, err, sizeof(err))) > 0) {
			total++;
			if (r.h->type < NTYPES)
				types[r.h->type]++;
			if (r.h->type == PERF_RECORD_SAMPLE) {
				if (r.event < 0)
					fail_msg("%s: sample at offset %llu has an unknown id", de->d_name,
						 (unsigned long long)r.offset);
				struct pabi_sample s;
				if (pabi_parse_sample(
					    &pabi_perfdata_event(pd, (size_t)r.event)->layout, r.h,
					    &s) < 0)
					fail_msg("%s: sample at offset %llu does not parse", de->d_name,
						 (unsigned long long)r.offset);
				if (r.event < 64)
					samples[r.event]++;
			}
		}
		if (ret < 0)
			fail_msg("%s: %s", de->d_name, err);
		files++;
		struct perf_stats ps;
		if (!have_perf || !perf_report_stats(path, &ps)) {
			printf("note: %s: perf report --stats cannot read it; not compared\n",
			       de->d_name);
			pabi_perfdata_close(pd);
			continue;
		}
		assert_int_equal(total, ps.total);
		for (int t = 0; t < NTYPES; t++)
			if (types[t] != ps.types[t])
				fail_msg("%s: %llu %s records, perf report says %llu", de->d_name,
					 (unsigned long long)types[t], type_names[t] ? type_names[t] : "?",
					 (unsigned long long)ps.types[t]);
		/* perf lists only events that have records: compare the non-zero totals in order. */
		uint64_t ours[64], theirs[64];
		size_t no = 0, nt = 0;
		for (size_t i = 0; i < nev && i < 64; i++)
			if (samples[i])
				ours[no++] = samples[i];
		for (int i = 0; i < ps.nsections; i++)
			if (ps.samples[i])
				theirs[nt++] = ps.samples[i];
		assert_int_equal(no, nt);
		for (size_t i = 0; i < no; i++)
			if (ours[i] != theirs[i])
				fail_msg("%s: event %zu has %llu samples, perf report says %llu",
					 de->d_name, i, (unsigned long long)ours[i],
					 (unsigned long long)theirs[i]);
		printf("ok: %s: %llu records, %zu events, match perf report --stats\n", de->d_name,
		       (unsigned long long)total, nev);
		pabi_perfdata_close(pd);
	}
	closedir(d);
	assert_true(files > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_mode),
		cmocka_unit_test(test_pipe_mode),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_sample_abi_fields),
		cmocka_unit_test(test_testdata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
