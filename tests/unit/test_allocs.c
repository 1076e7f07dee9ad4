/*
 * Heap allocations on the recorder channel. The index (engine/allocs.c):
 * an address names the allocation live at the sample's time, not one freed
 * before or made after it at the same place; the newest wins when a lost
 * free left two; hundreds of blocks across processes and the unsorted tail
 * agree with a linear scan. Then the real thing: tests/data/workloads'
 * alloc_sites runs with libpmuprof_alloc.so preloaded on a channel this test
 * created, and its malloc, calloc and mmap arrive with their addresses,
 * sizes and the return address of the allocating function, the freed grid
 * ends before its successor starts, and a few of its 20,000 small mallocs
 * are sampled, not all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"

static struct channel_event ev_alloc(uint32_t pid, uint64_t time, uint64_t addr, uint64_t len,
				     uint64_t ip)
{
	struct channel_event e = {.time = time, .pid = pid, .tid = pid, .kind = CHANNEL_ALLOC};
	e.alloc.addr = addr;
	e.alloc.len = len;
	e.alloc.how = CHANNEL_ALLOC_MALLOC;
	e.alloc.nips = 1;
	e.alloc.ips[0] = ip;
	return e;
}

static struct channel_event ev_free(uint32_t pid, uint64_t time, uint64_t addr)
{
	struct channel_event e = {.time = time, .pid = pid, .tid = pid, .kind = CHANNEL_FREE};
	e.alloc.addr = addr;
	return e;
}

static void test_reuse_by_time(void **state)
{
	(void)state;
	struct lbl_timeline *tl;
	assert_int_equal(lbl_new(&tl), 0);
	assert_null(lbl_allocs(tl));
	struct channel_event evs[] = {
		ev_alloc(10, 100, 0x10000, 0x1000, 0xa1), /* grid, freed at 200 */
		ev_free(10, 200, 0x10000),
		ev_alloc(10, 300, 0x10000, 0x800, 0xb2), /* a smaller block at the same place */
		ev_alloc(11, 150, 0x10000, 0x1000, 0xc3), /* another process, same address */
		ev_free(10, 400, 0x99999),                /* a free of nothing reported */
		ev_alloc(10, 500, 0x50000, 0, 0xd4),      /* empty: dropped */
	};
	assert_int_equal(lbl_add(tl, evs, sizeof(evs) / sizeof(evs[0])), 0);
	struct eng_allocs *a = lbl_allocs(tl);
	assert_non_null(a);
	const struct eng_alloc *e = eng_allocs_find(a, 10, 0x10fff, 150);
	assert_non_null(e);
	assert_int_equal(e->ips[0], 0xa1);
	assert_int_equal(e->freed, 200);
	assert_null(eng_allocs_find(a, 10, 0x10fff, 50));  /* before it was made */
	assert_null(eng_allocs_find(a, 10, 0x10fff, 250)); /* freed, nothing new yet */
	assert_null(eng_allocs_find(a, 10, 0x10fff, 350)); /* the new block is smaller */
	e = eng_allocs_find(a, 10, 0x10100, 350);
	assert_non_null(e);
	assert_int_equal(e->ips[0], 0xb2);
	e = eng_allocs_find(a, 11, 0x10100, 350);
	assert_non_null(e);
	assert_int_equal(e->ips[0], 0xc3);
	struct eng_allocs_stats st;
	eng_allocs_get_stats(a, &st);
	assert_int_equal(st.allocs, 3);
	assert_int_equal(st.freed, 1);
	assert_int_equal(st.unmatched_frees, 1);
	assert_int_equal(st.bad, 1);
	lbl_free(tl);
}

/* A lost FREE: a second ALLOC at a live start ends the first one there. */
static void test_lost_free(void **state)
{
	(void)state;
	struct eng_allocs *a;
	assert_int_equal(eng_allocs_new(&a), 0);
	struct channel_event e1 = ev_alloc(1, 10, 0x8000, 0x100, 1), e2 = ev_alloc(1, 20, 0x8000, 0x100, 2);
	assert_int_equal(eng_allocs_add(a, &e1), 0);
	assert_int_equal(eng_allocs_add(a, &e2), 0);
	assert_int_equal(eng_allocs_find(a, 1, 0x8010, 15)->ips[0], 1);
	assert_int_equal(eng_allocs_find(a, 1, 0x8010, 25)->ips[0], 2);
	struct channel_event other = {.kind = CHANNEL_TRACE};
	assert_int_equal(eng_allocs_add(a, &other), -EINVAL);
	eng_allocs_free(a);
}

/* Many blocks in random order, some freed: every lookup agrees with a linear scan. */
static void test_against_scan(void **state)
{
	(void)state;
	enum { N = 700 };
	static struct channel_event ev[N];
	struct eng_allocs *a;
	assert_int_equal(eng_allocs_new(&a), 0);
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t pid = 1 + (uint32_t)(x % 3);
		uint64_t addr = 0x100000 + (x >> 8) % 64 * 0x1000;
		if (i % 5 == 4)
			ev[i] = ev_free(pid, (uint64_t)i * 10, addr);
		else
			ev[i] = ev_alloc(pid, (uint64_t)i * 10, addr, 0x800 + (x >> 20) % 0x2000, i);
		assert_int_equal(eng_allocs_add(a, &ev[i]), 0);
	}
	for (int q = 0; q < 3000; q++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t pid = 1 + (uint32_t)(x % 3);
		uint64_t addr = 0x100000 + (x >> 8) % (70 * 0x1000);
		uint64_t time = (x >> 30) % (N * 10 + 20);
		/* The oracle: replay the events up to `time` with a live flag per block. */
		static bool live[N];
		memset(live, 0, sizeof(live));
		for (int i = 0; i < N && ev[i].time <= time; i++) {
			if (ev[i].pid != pid)
				continue;
			for (int j = 0; j < i; j++) /* a FREE, or a new block at a live start, ends it */
				if (live[j] && ev[j].pid == pid && ev[j].alloc.addr == ev[i].alloc.addr)
					live[j] = false;
			live[i] = ev[i].kind == CHANNEL_ALLOC;
		}
		int want = -1;
		for (int i = 0; i < N; i++)
			if (live[i] && addr - ev[i].alloc.addr < ev[i].alloc.len)
				want = i; /* the newest */
		const struct eng_alloc *got = eng_allocs_find(a, pid, addr, time);
		if (want < 0) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		assert_int_equal(got->time, ev[want].time);
		assert_int_equal(got->addr, ev[want].alloc.addr);
	}
	eng_allocs_free(a);
}

/* --- the preload library on a real program ---------------------------------------- */

#if defined(ALLOC_PRELOAD) && defined(ALLOC_SITES)
static uint64_t printed(const char *out, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\n%s 0x", name);
	char buf[8192];
	snprintf(buf, sizeof(buf), "\n%s", out);
	const char *p = strstr(buf, key);
	assert_non_null(p);
	return strtoull(p + strlen(key), NULL, 16);
}
#endif

static void test_preload(void **state)
{
	(void)state;
#if defined(ALLOC_PRELOAD) && defined(ALLOC_SITES)
	char err[256];
	struct channel *ch;
	assert_int_equal(channel_create(&ch, 1 << 12, err, sizeof(err)), 0);
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", channel_fd(ch));
		fcntl(channel_fd(ch), F_SETFD, 0); /* the recorder's fd is close-on-exec */
		setenv(CHANNEL_ENV, fd, 1);
		setenv("LD_PRELOAD", ALLOC_PRELOAD, 1);
		unsetenv("PMUPROF_ALLOC_MIN");
		setenv("PMUPROF_ALLOC_SAMPLE", "524288", 1);
		dup2(out[1], 1);
		execl(ALLOC_SITES, ALLOC_SITES, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char text[4096];
	size_t len = 0;
	ssize_t r;
	while ((r = read(out[0], text + len, sizeof(text) - 1 - len)) > 0)
		len += (size_t)r;
	text[len] = '\0';
	close(out[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	static struct channel_event ev[1 << 12];
	uint64_t lost = 0;
	size_t n = channel_read(ch, ev, sizeof(ev) / sizeof(ev[0]), &lost);
	assert_int_equal(lost, 0);
	struct lbl_timeline *tl;
	assert_int_equal(lbl_new(&tl), 0);
	assert_int_equal(lbl_add(tl, ev, n), 0);
	struct eng_allocs *a = lbl_allocs(tl);
	assert_non_null(a);
	struct {
		const char *block, *site;
		uint64_t len;
		uint32_t how;
	} want[] = {
		{"grid", "make_grid", 1 << 20, CHANNEL_ALLOC_MALLOC},
		{"table", "make_table", 256 << 10, CHANNEL_ALLOC_MALLOC},
		{"arena", "map_arena", 2 << 20, CHANNEL_ALLOC_MMAP},
	};
	/* The blocks are looked up just before the first free: all three live. */
	uint64_t t_free = 0, t_grid2 = 0, grid2 = printed(text, "grid2");
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind == CHANNEL_FREE && !t_free)
			t_free = ev[i].time;
		if (ev[i].kind == CHANNEL_ALLOC && ev[i].alloc.addr == grid2 && ev[i].alloc.len == 1 << 20)
			t_grid2 = ev[i].time;
	}
	assert_true(t_free > 0 && t_grid2 > t_free);
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		uint64_t addr = printed(text, want[w].block), site = printed(text, want[w].site);
		const struct eng_alloc *e = eng_allocs_find(a, (uint32_t)pid, addr + 4096, t_free - 1);
		assert_non_null(e);
		assert_int_equal(e->addr, addr);
		assert_int_equal(e->len, want[w].len);
		assert_int_equal(e->how, want[w].how);
		assert_true(e->nips >= 2);
		/* The allocating call returns into the site, a few instructions after its start. */
		assert_true(e->ips[0] > site && e->ips[0] - site < 256);
		print_message("%s: %#llx+%llu by %s (+%llu), %u frames\n", want[w].block,
			      (unsigned long long)e->addr, (unsigned long long)e->len, want[w].site,
			      (unsigned long long)(e->ips[0] - site), e->nips);
	}
	/* The first grid ended before its successor began, wherever the successor landed. */
	const struct eng_alloc *old = eng_allocs_find(a, (uint32_t)pid, printed(text, "grid"), t_free - 1);
	assert_true(old->freed < t_grid2);
	assert_null(eng_allocs_find(a, (uint32_t)pid, printed(text, "grid") + 8, old->freed));
	const struct eng_alloc *g2 = eng_allocs_find(a, (uint32_t)pid, grid2 + 8, t_grid2);
	assert_non_null(g2);
	assert_int_equal(g2->time, t_grid2);
	/* 20,000 x 100 bytes with one sample per ~512 KiB: a few, not all. */
	uint64_t small_site = printed(text, "make_small");
	int small = 0;
	for (size_t i = 0; i < n; i++)
		if (ev[i].kind == CHANNEL_ALLOC && ev[i].alloc.len == 100 && ev[i].alloc.nips &&
		    ev[i].alloc.ips[0] - small_site < 256)
			small++;
	print_message("small mallocs sampled: %d of 20000\n", small);
	assert_true(small >= 1 && small <= 12);
	struct eng_allocs_stats st;
	eng_allocs_get_stats(a, &st);
	assert_true(st.freed >= 3); /* grid, arena, table (and the sampled small ones) */
	assert_int_equal(st.unmatched_frees, 0);
	lbl_free(tl);
	channel_close(ch);
#else
	print_message("skipped: built without the workload alloc_sites (a cross build)\n");
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_by_time),
		cmocka_unit_test(test_lost_free),
		cmocka_unit_test(test_against_scan),
		cmocka_unit_test(test_preload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
