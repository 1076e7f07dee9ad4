/*
 * memsrc + c2c: the perf_mem_data_src decoder on real Skylake PEBS values
 * (checked against this host's perf) and on composed values, then the
 * cache-line report on synthetic PEBS (Intel: HITM) and IBS (AMD: peer)
 * streams built from a known layout: two threads writing offsets 0 and 8
 * of one line (false sharing), two threads writing offset 16 of another
 * (true sharing), one thread alone on a third (none). Last, the resolver's
 * memo: the same answers again while the maps stay, new ones once they change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "symbols.h"

#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

#define S(a, s) PERF_MEM_S(a, s)

/*
 * The 14 samples of ../shared/testdata/perf-data/perf.data.weight_struct
 * (Skylake-SP PEBS load latency), from
 *   perf script -i perf.data.weight_struct -F data_src,addr,weight,tid,cpu,ip,sym
 * (perf 6.1 on this host; its level column is perf <= 6.2's "old or new" form).
 */
static const struct {
	uint64_t src, addr, weight;
} skl[] = {
	{ 0x11868100242, 0x55ffba5cda08, 225 },     { 0x11868100242, 0xffffffffa5e120e8, 96 },
	{ 0x10268100142, 0xffffc36a5ba4ba40, 71 },  { 0x11868100242, 0x4a1cba76618, 70 },
	{ 0x1026a100142, 0x4e7ca80, 92 },           { 0x10468100442, 0xffff8b6d0d9cb308, 77 },
	{ 0x10650100842, 0x448253ad3300, 240 },     { 0x10668100842, 0xffff8b6ce18f1608, 70 },
	{ 0x10668100842, 0x4609440bd6d0, 117 },     { 0x1026a100142, 0xffffc36abf0c631c, 81 },
	{ 0x10668100842, 0xffff8b6d1f362fdc, 80 },  { 0x11868100242, 0xffff8b5520563cf8, 89 },
	{ 0x11868100242, 0xffffc36ac0131180, 249 }, { 0x10268100142, 0x7fc3ada9f408, 168 },
};

static void check_str(uint64_t v, bool legacy, const char *want)
{
	char buf[200];
	size_t n = pabi_memsrc_str(v, legacy, buf, sizeof(buf));
	if (strcmp(buf, want))
		fail_msg("data_src %#llx (%s): got \"%s\", want \"%s\"", (unsigned long long)v,
			 legacy ? "legacy" : "current", buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_decode_skylake(void **state)
{
	(void)state;
	/* Exact perf script -F data_src text of the capture (perf 6.1, command above). */
	check_str(0x11868100242, true, "|OP LOAD|LVL LFB/MAB or LFB/MAB hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A");
	check_str(0x10268100142, true, "|OP LOAD|LVL L1 or L1 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A");
	check_str(0x1026a100142, true, "|OP LOAD|LVL L1 or L1 hit|SNP None|TLB L1 or L2 hit|LCK Yes|BLK  N/A");
	check_str(0x10468100442, true, "|OP LOAD|LVL L2 or L2 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A");
	check_str(0x10650100842, true, "|OP LOAD|LVL L3 or L3 hit|SNP None|TLB L2 miss|LCK No|BLK  N/A");
	check_str(0x10668100842, true, "|OP LOAD|LVL L3 or L3 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A");
	/* Current perf prints lvl_num alone. */
	check_str(0x11868100242, false, "|OP LOAD|LVL LFB/MAB hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A");
	check_str(0x10268100142, false, "|OP LOAD|LVL L1 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A");
	check_str(0x10650100842, false, "|OP LOAD|LVL L3 hit|SNP None|TLB L2 miss|LCK No|BLK  N/A");

	struct pabi_memsrc m;
	pabi_memsrc_decode(0x1026a100142, &m);
	assert_int_equal(m.op, PABI_MEMSRC_OP_LOAD);
	assert_int_equal(m.level, PABI_MEMSRC_LVL_L1);
	assert_true(m.hit && !m.miss && m.locked && !m.lock_na && m.snoop_none && !m.hitm);
	assert_int_equal(m.lvl_num, PERF_MEM_LVLNUM_L1);
	assert_true(m.tlb_hit && !m.tlb_miss);
	pabi_memsrc_decode(0x10650100842, &m);
	assert_int_equal(m.level, PABI_MEMSRC_LVL_L3);
	assert_true(m.tlb_miss && !m.locked);

	/* perf c2c's counters over the capture: every sample a load, by level. */
	struct c2c_stats st = { 0 };
	for (size_t i = 0; i < sizeof(skl) / sizeof(skl[0]); i++)
		assert_int_equal(c2c_classify(&st, skl[i].src, skl[i].addr, true), 0);
	assert_int_equal(st.nr_entries, 14);
	assert_int_equal(st.load, 14);
	assert_int_equal(st.ld_l1hit, 4);
	assert_int_equal(st.ld_fbhit, 5);
	assert_int_equal(st.ld_l2hit, 1);
	assert_int_equal(st.ld_llchit, 4);
	assert_int_equal(st.locks, 2);
	assert_int_equal(st.tot_hitm + st.tot_peer + st.store + st.noparse + st.nomap, 0);
}

static const uint64_t TLB_L1L2_HIT = S(TLB, L1) | S(TLB, L2) | S(TLB, HIT);

static void test_decode_composed(void **state)
{
	(void)state;
	const struct {
		uint64_t v;
		const char *lvl_legacy, *lvl, *snoop, *tlb, *lock, *blk;
	} t[] = {
		/* Old bits only: both perf generations print them. */
		{ S(OP, LOAD) | S(LVL, HIT) | S(LVL, REM_CCE1) | S(SNOOP, HITM),
		  "Remote Cache (1 hop) hit", "Remote Cache (1 hop) hit", "HitM", "N/A", "No", " N/A" },
		{ S(OP, LOAD) | S(LVL, HIT) | S(LVL, LOC_RAM) | S(LVLNUM, RAM) | S(SNOOP, HIT) | S(SNOOPX, FWD),
		  "Local RAM or RAM hit", "RAM hit", "Hit or Fwd", "N/A", "No", " N/A" },
		/* AMD IBS, another CCX of the node: lvl_num + remote + hops + peer. */
		{ S(OP, LOAD) | S(LVL, HIT) | S(LVLNUM, ANY_CACHE) | S(REMOTE, REMOTE) | S(HOPS, 0) |
			  S(SNOOPX, PEER) | TLB_L1L2_HIT,
		  "Remote core, same node Any cache hit", "Remote core, same node Any cache hit",
		  "Peer", "L1 or L2 hit", "No", " N/A" },
		{ S(OP, LOAD) | S(LVL, MISS) | S(LVL, L3) | S(SNOOP, MISS) | S(TLB, WK) | S(TLB, MISS) |
			  S(LOCK, LOCKED) | S(BLK, DATA) | S(BLK, ADDR),
		  "L3 miss", "L3 miss", "Miss", "Walker miss", "Yes", " Data Addr" },
		{ S(OP, STORE) | S(LVL, NA) | S(SNOOP, NA) | S(TLB, NA) | S(LOCK, NA),
		  "N/A", "N/A", "N/A", "N/A", "N/A", " N/A" },
		{ 0, "N/A", "N/A", "N/A", "N/A", "No", " N/A" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char b[128];
		pabi_memsrc_lvl_str(t[i].v, true, b, sizeof(b));
		assert_string_equal(b, t[i].lvl_legacy);
		pabi_memsrc_lvl_str(t[i].v, false, b, sizeof(b));
		assert_string_equal(b, t[i].lvl);
		pabi_memsrc_snoop_str(t[i].v, b, sizeof(b));
		assert_string_equal(b, t[i].snoop);
		pabi_memsrc_tlb_str(t[i].v, b, sizeof(b));
		assert_string_equal(b, t[i].tlb);
		pabi_memsrc_lock_str(t[i].v, b, sizeof(b));
		assert_string_equal(b, t[i].lock);
		pabi_memsrc_blk_str(t[i].v, b, sizeof(b));
		assert_string_equal(b, t[i].blk);
	}
	char small[8];
	size_t n = pabi_memsrc_str(t[0].v, false, small, sizeof(small));
	assert_true(n > sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1); /* truncated, terminated */
	pabi_memsrc_op_str(S(OP, PFETCH), small, sizeof(small));
	assert_string_equal(small, "PFETCH");

	struct pabi_memsrc m;
	pabi_memsrc_decode(t[2].v, &m);
	assert_int_equal(m.level, PABI_MEMSRC_LVL_REMOTE_CACHE);
	assert_true(m.remote && m.peer && !m.fwd && m.hops == PERF_MEM_HOPS_0);
	pabi_memsrc_decode(t[3].v, &m);
	assert_true(m.miss && m.snoop_miss && m.locked && m.blk_data && m.blk_addr);
}

/* perf's own test (tools/perf/tests/mem.c): snoop text then level text, both generations. */
static void test_decode_perf_selftest(void **state)
{
	(void)state;
	const uint64_t hit = S(LVL, HIT), miss = S(LVL, MISS), rem = S(REMOTE, REMOTE);
	const struct {
		uint64_t v;
		const char *want;
	} t[] = {
		{ hit | S(LVLNUM, L4), "N/AL4 hit" },
		{ hit | S(LVLNUM, L4) | rem, "N/ARemote L4 hit" },
		{ miss | S(LVLNUM, PMEM), "N/APMEM miss" },
		{ miss | S(LVLNUM, PMEM) | rem, "N/ARemote PMEM miss" },
		{ miss | S(LVLNUM, RAM) | rem | S(SNOOPX, FWD), "FwdRemote RAM miss" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (int legacy = 0; legacy < 2; legacy++) {
			char b[128];
			size_t n = pabi_memsrc_snoop_str(t[i].v, b, sizeof(b));
			pabi_memsrc_lvl_str(t[i].v, legacy, b + n, sizeof(b) - n);
			assert_string_equal(b, t[i].want);
		}
	}
}

/* --- synthetic streams ---------------------------------------------------------- */

#define LINE_A 0x7f0000010000ull /* false sharing: offsets 0 and 8 */
#define LINE_B 0x7f0000010040ull /* true sharing: offset 16 */
#define LINE_C 0x7f0000010080ull /* one thread */

struct stream {
	struct c2c_sample s[128];
	size_t n;
};

static void add(struct stream *st, size_t times, uint32_t tid, int32_t cpu, int32_t node,
		uint64_t ip, const char *func, uint32_t line, uint64_t addr, uint64_t src,
		uint64_t weight, bool store)
{
	for (size_t i = 0; i < times; i++) {
		assert_true(st->n < sizeof(st->s) / sizeof(st->s[0]));
		st->s[st->n++] = (struct c2c_sample){
			.pid = 100, .tid = tid, .cpu = cpu, .node = node, .ip = ip, .func = func,
			.file = "fs.c", .line = line, .addr = addr, .data_src = src,
			.weight = weight, .is_store = store,
		};
	}
}

/* Intel PEBS encodings (mem-loads ldlat / mem-stores), as the kernel composes them. */
static const uint64_t PEBS_L1 = S(OP, LOAD) | S(LVL, HIT) | S(LVL, L1) | S(LVLNUM, L1) |
				S(SNOOP, NONE) | TLB_L1L2_HIT;
static const uint64_t PEBS_LCL_HITM = S(OP, LOAD) | S(LVL, HIT) | S(LVL, L3) | S(LVLNUM, L3) |
				      S(SNOOP, HITM) | TLB_L1L2_HIT;
static const uint64_t PEBS_RMT_HITM = S(OP, LOAD) | S(LVL, HIT) | S(LVL, REM_CCE1) |
				      S(LVLNUM, ANY_CACHE) | S(REMOTE, REMOTE) | S(HOPS, 2) |
				      S(SNOOP, HITM) | TLB_L1L2_HIT;
static const uint64_t PEBS_ST = S(OP, STORE) | S(LVL, HIT) | S(LVL, L1) | S(SNOOP, NA) |
				S(TLB, NA) | S(LOCK, NA);

static void pebs_stream(struct stream *st)
{
	st->n = 0;
	/* Line A: tid 101 on node 0 increments offset 0, tid 102 on node 1 offset 8. */
	add(st, 4, 101, 0, 0, 0x401004, "inc_a", 11, LINE_A + 0, PEBS_ST, 0, true);
	add(st, 3, 101, 0, 0, 0x401000, "inc_a", 10, LINE_A + 0, PEBS_LCL_HITM, 200, false);
	add(st, 1, 101, 0, 0, 0x401000, "inc_a", 10, LINE_A + 0, PEBS_L1, 30, false);
	add(st, 4, 102, 1, 1, 0x401104, "inc_b", 21, LINE_A + 8, PEBS_ST, 0, true);
	add(st, 2, 102, 1, 1, 0x401100, "inc_b", 20, LINE_A + 8, PEBS_RMT_HITM, 400, false);
	add(st, 2, 102, 1, 1, 0x401100, "inc_b", 20, LINE_A + 8, PEBS_L1, 30, false);
	st->s[0].data_sym = "counters"; /* as the caller's data symbolizer would name it */
	st->s[st->n - 1].data_sym = "counters+0x8";
	/* Line B: tids 103 and 104 both increment offset 16. */
	add(st, 2, 103, 2, 0, 0x402004, "inc_shared", 31, LINE_B + 16, PEBS_ST, 0, true);
	add(st, 1, 103, 2, 0, 0x402000, "inc_shared", 30, LINE_B + 16, PEBS_LCL_HITM, 150, false);
	add(st, 2, 104, 3, 0, 0x402004, "inc_shared", 31, LINE_B + 16, PEBS_ST, 0, true);
	add(st, 1, 104, 3, 0, 0x402000, "inc_shared", 30, LINE_B + 16, PEBS_LCL_HITM, 150, false);
	/* Line C: tid 105 alone. */
	add(st, 3, 105, 0, 0, 0x403004, "inc_alone", 41, LINE_C + 0, PEBS_ST, 0, true);
	add(st, 2, 105, 0, 0, 0x403000, "inc_alone", 40, LINE_C + 0, PEBS_L1, 20, false);
	/* Dropped from the lines, counted in the totals: no address; no op. */
	add(st, 1, 105, 0, 0, 0x403000, "inc_alone", 40, 0, PEBS_L1, 20, false);
	add(st, 1, 105, 0, 0, 0x403000, "inc_alone", 40, LINE_C, 0, 20, false);
}

static const struct c2c_offset *find_off(const struct c2c_line *l, uint32_t off)
{
	for (size_t i = 0; i < l->noff; i++)
		if (l->off[i].offset == off)
			return &l->off[i];
	fail_msg("offset %u missing", off);
	return NULL;
}

static void test_pebs(void **state)
{
	(void)state;
	struct stream st;
	pebs_stream(&st);
	struct c2c_report r;
	char err[128];
	assert_int_equal(c2c_build(&r, st.s, st.n, NULL, err, sizeof(err)), 0);
	assert_int_equal(r.line_size, 64);

	assert_int_equal(r.total.nr_entries, 29);
	assert_int_equal(r.total.load, 13);
	assert_int_equal(r.total.ld_noadrs, 1);
	assert_int_equal(r.total.noparse, 1);
	assert_int_equal(r.total.store, 15);
	assert_int_equal(r.total.lcl_hitm, 5);
	assert_int_equal(r.total.rmt_hitm, 2);
	assert_int_equal(r.total.tot_hitm, 7);

	assert_int_equal(r.nlines, 3);
	/* Sorted by HITM: A (5), B (2), C (0). */
	const struct c2c_line *a = &r.lines[0], *b = &r.lines[1], *c = &r.lines[2];
	assert_int_equal(a->addr, LINE_A);
	assert_int_equal(b->addr, LINE_B);
	assert_int_equal(c->addr, LINE_C);

	assert_int_equal(a->st.nr_entries, 16);
	assert_int_equal(a->st.load, 8);
	assert_int_equal(a->st.store, 8);
	assert_int_equal(a->st.st_l1hit, 8);
	assert_int_equal(a->st.ld_l1hit, 3);
	assert_int_equal(a->st.lcl_hitm, 3);
	assert_int_equal(a->st.rmt_hitm, 2);
	assert_int_equal(a->st.tot_hitm, 5);
	assert_int_equal(a->st.tot_peer, 0);
	assert_int_equal(a->weight, 3 * 200 + 30 + 2 * 400 + 2 * 30);
	assert_int_equal(a->nwriters, 2);
	assert_int_equal(a->verdict, C2C_FALSE_SHARING);
	assert_int_equal(a->noff, 2);

	const struct c2c_offset *o = find_off(a, 0);
	assert_int_equal(o->st.load, 4);
	assert_int_equal(o->st.store, 4);
	assert_int_equal(o->st.lcl_hitm, 3);
	assert_int_equal(o->st.rmt_hitm, 0);
	assert_int_equal(o->weight, 630);
	assert_int_equal(o->nthreads, 1);
	assert_int_equal(o->threads[0].tid, 101);
	assert_int_equal(o->threads[0].loads, 4);
	assert_int_equal(o->threads[0].stores, 4);
	assert_int_equal(o->ncpus, 1);
	assert_int_equal(o->cpus[0], 0);
	assert_int_equal(o->nnodes, 1);
	assert_int_equal(o->nodes[0], 0);
	assert_int_equal(o->ncode, 2);
	/* The load with the HITMs first. */
	assert_int_equal(o->code[0].ip, 0x401000);
	assert_string_equal(o->code[0].func, "inc_a");
	assert_string_equal(o->code[0].file, "fs.c");
	assert_int_equal(o->code[0].line, 10);
	assert_int_equal(o->code[0].loads, 4);
	assert_int_equal(o->code[0].hitm, 3);
	assert_int_equal(o->code[1].ip, 0x401004);
	assert_int_equal(o->code[1].stores, 4);
	assert_int_equal(o->code[1].hitm, 0);

	o = find_off(a, 8);
	assert_int_equal(o->st.load, 4);
	assert_int_equal(o->st.store, 4);
	assert_int_equal(o->st.lcl_hitm, 0);
	assert_int_equal(o->st.rmt_hitm, 2);
	assert_int_equal(o->nthreads, 1);
	assert_int_equal(o->threads[0].tid, 102);
	assert_int_equal(o->cpus[0], 1);
	assert_int_equal(o->nodes[0], 1);
	assert_int_equal(o->code[0].ip, 0x401100);
	assert_int_equal(o->code[0].hitm, 2);

	assert_int_equal(b->noff, 1);
	assert_int_equal(b->st.tot_hitm, 2);
	assert_int_equal(b->st.load, 2);
	assert_int_equal(b->st.store, 4);
	assert_int_equal(b->nwriters, 2);
	assert_int_equal(b->verdict, C2C_TRUE_SHARING);
	o = find_off(b, 16);
	assert_int_equal(o->nthreads, 2);
	assert_int_equal(o->threads[0].tid, 103);
	assert_int_equal(o->threads[0].stores, 2);
	assert_int_equal(o->threads[1].tid, 104);
	assert_int_equal(o->threads[1].loads, 1);
	assert_int_equal(o->ncpus, 2);
	assert_int_equal(o->cpus[1], 3);
	assert_int_equal(o->nnodes, 1);
	assert_int_equal(o->ncode, 2);

	assert_int_equal(c->st.nr_entries, 5);
	assert_int_equal(c->st.ld_l1hit, 2);
	assert_int_equal(c->st.store, 3);
	assert_int_equal(c->nwriters, 1);
	assert_int_equal(c->verdict, C2C_NONE);

	/* The text: both sections and each line's key row. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(c2c_print(&r, f, 0), 0);
	fclose(f);
	if (getenv("TEST_C2C_PRINT")) /* to eyeball the layout */
		fputs(text, stderr);
	assert_non_null(strstr(text, "Shared Data Cache Line Table"));
	assert_non_null(strstr(text, "Cacheline details"));
	assert_non_null(strstr(text, "  Load Local HITM                         :          5\n"));
	assert_non_null(strstr(text, "  Unable to parse data source             :          1\n"));
	assert_non_null(strstr(text, "      0  0x7f0000010000            5        3        2        0        0        8        8       16  false sharing  counters\n"));
	assert_non_null(strstr(text, "      1  0x7f0000010040            2        2        0        0        0        2        4        6  true sharing\n"));
	assert_non_null(strstr(text, "      2  0x7f0000010080            0        0        0        0        0        2        3        5  none\n"));
	assert_non_null(strstr(text, "Cacheline 0 0x7f0000010000 counters (false sharing, 2 writing threads)"));
	assert_non_null(strstr(text, "  0x8           0        2        0        4        4        860  100:102 4/4 | 1 | 1\n"));
	assert_non_null(strstr(text, "code 0x401000 inc_a fs.c:10  loads 4 stores 0 hitm 3 peer 0\n"));
	free(text);
	c2c_report_free(&r);

	/* 128-byte lines: A and B become one line with both kinds of sharing. */
	struct c2c_options opt = { .line_size = 128 };
	assert_int_equal(c2c_build(&r, st.s, st.n, &opt, err, sizeof(err)), 0);
	assert_int_equal(r.nlines, 2);
	assert_int_equal(r.lines[0].addr, LINE_A);
	assert_int_equal(r.lines[0].noff, 3);
	assert_int_equal(r.lines[0].off[2].offset, 0x50);
	assert_int_equal(r.lines[0].st.tot_hitm, 7);
	assert_int_equal(r.lines[0].verdict, C2C_MIXED);
	assert_int_equal(r.lines[1].addr, LINE_C);
	assert_int_equal(r.lines[1].verdict, C2C_NONE);
	c2c_report_free(&r);

	opt.line_size = 48;
	assert_int_equal(c2c_build(&r, st.s, st.n, &opt, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "48"));
}

/* AMD IBS encodings: no HITM; peer transfers via snoopx, lvl_num, remote and hops. */
static const uint64_t IBS_L1 = S(OP, LOAD) | S(LVL, HIT) | S(LVL, L1) | S(LVLNUM, L1) |
			       S(SNOOP, NA) | TLB_L1L2_HIT;
/* Another core's cache in this CCX. */
static const uint64_t IBS_CCX_PEER = S(OP, LOAD) | S(LVL, HIT) | S(LVL, L3) | S(LVLNUM, L3) |
				     S(SNOOPX, PEER) | TLB_L1L2_HIT;
/* Another CCX of this node: only the new fields name the level. */
static const uint64_t IBS_NODE_PEER = S(OP, LOAD) | S(LVL, HIT) | S(LVLNUM, ANY_CACHE) |
				      S(REMOTE, REMOTE) | S(HOPS, 0) | S(SNOOPX, PEER) |
				      TLB_L1L2_HIT;
static const uint64_t IBS_ST = S(OP, STORE) | S(LVL, NA) | S(SNOOP, NA) | S(TLB, NA);

static void test_ibs(void **state)
{
	(void)state;
	struct stream st = { .n = 0 };
	add(&st, 3, 201, 0, 0, 0x501004, "inc_a", 11, LINE_A + 0, IBS_ST, 0, true);
	add(&st, 2, 201, 0, 0, 0x501000, "inc_a", 10, LINE_A + 0, IBS_CCX_PEER, 90, false);
	add(&st, 3, 202, 8, 0, 0x501104, "inc_b", 21, LINE_A + 8, IBS_ST, 0, true);
	add(&st, 2, 202, 8, 0, 0x501100, "inc_b", 20, LINE_A + 8, IBS_NODE_PEER, 180, false);
	add(&st, 1, 203, 1, 0, 0x502004, "inc_shared", 31, LINE_B + 16, IBS_ST, 0, true);
	add(&st, 1, 203, 1, 0, 0x502000, "inc_shared", 30, LINE_B + 16, IBS_CCX_PEER, 90, false);
	add(&st, 1, 204, 2, 0, 0x502004, "inc_shared", 31, LINE_B + 16, IBS_ST, 0, true);
	add(&st, 1, 204, 2, 0, 0x502000, "inc_shared", 30, LINE_B + 16, IBS_CCX_PEER, 90, false);
	add(&st, 2, 205, 3, 0, 0x503004, "inc_alone", 41, LINE_C + 0, IBS_ST, 0, true);
	add(&st, 1, 205, 3, 0, 0x503000, "inc_alone", 40, LINE_C + 0, IBS_L1, 10, false);
	/* A store sample whose data_src carries no op: the caller's is_store decides. */
	add(&st, 1, 205, 3, 0, 0x503004, "inc_alone", 41, LINE_C + 0, S(LVL, NA), 0, true);

	struct c2c_report r;
	char err[128];
	assert_int_equal(c2c_build(&r, st.s, st.n, NULL, err, sizeof(err)), 0);
	assert_int_equal(r.total.nr_entries, 18);
	assert_int_equal(r.total.tot_hitm, 0);
	assert_int_equal(r.total.lcl_peer, 4);
	assert_int_equal(r.total.rmt_peer, 2);
	assert_int_equal(r.total.tot_peer, 6);
	assert_int_equal(r.total.st_na, 11);
	assert_int_equal(r.total.noparse, 0);

	assert_int_equal(r.nlines, 3);
	/* No HITM: sorted by peer and remote transfers. */
	const struct c2c_line *a = &r.lines[0], *b = &r.lines[1], *c = &r.lines[2];
	assert_int_equal(a->addr, LINE_A);
	assert_int_equal(a->st.load, 4);
	assert_int_equal(a->st.store, 6);
	assert_int_equal(a->st.ld_llchit, 2);
	assert_int_equal(a->st.lcl_peer, 2);
	assert_int_equal(a->st.rmt_peer, 2);
	assert_int_equal(a->st.rmt_hit, 2);
	assert_int_equal(a->st.tot_peer, 4);
	assert_int_equal(a->verdict, C2C_FALSE_SHARING);
	const struct c2c_offset *o = find_off(a, 8);
	assert_int_equal(o->st.rmt_peer, 2);
	assert_int_equal(o->st.lcl_peer, 0);
	assert_int_equal(o->weight, 360);
	assert_int_equal(o->threads[0].tid, 202);
	assert_int_equal(o->cpus[0], 8);
	assert_int_equal(o->code[0].peer, 2);
	o = find_off(a, 0);
	assert_int_equal(o->st.lcl_peer, 2);
	assert_int_equal(o->st.st_na, 3);

	assert_int_equal(b->addr, LINE_B);
	assert_int_equal(b->st.tot_peer, 2);
	assert_int_equal(b->verdict, C2C_TRUE_SHARING);
	assert_int_equal(c->addr, LINE_C);
	assert_int_equal(c->st.store, 3);
	assert_int_equal(c->st.ld_l1hit, 1);
	assert_int_equal(c->verdict, C2C_NONE);

	/* pprof labels of one sample. */
	struct c2c_labels lb;
	c2c_sample_labels(&st.s[8], 0, &lb); /* tid 202's node-peer load at A + 8 */
	assert_string_equal(lb.cacheline, "0x7f0000010000");
	assert_int_equal(lb.offset, 8);
	assert_int_equal(lb.weight, 180);
	assert_string_equal(lb.data_src, "|OP LOAD|LVL Remote core, same node Any cache hit|SNP Peer|TLB L1 or L2 hit|LCK No|BLK  N/A");
	c2c_report_free(&r);
}

/* Cross-thread writes without any observed transfer are not called sharing. */
static void test_no_transfers(void **state)
{
	(void)state;
	struct stream st = { .n = 0 };
	add(&st, 2, 301, 0, 0, 0x1, "w", 1, LINE_A + 0, PEBS_ST, 0, true);
	add(&st, 2, 302, 1, 0, 0x2, "w", 1, LINE_A + 8, PEBS_ST, 0, true);
	add(&st, 1, 302, 1, 0, 0x3, "r", 2, LINE_A + 8, PEBS_L1, 5, false);
	struct c2c_report r;
	assert_int_equal(c2c_build(&r, st.s, st.n, NULL, NULL, 0), 0);
	assert_int_equal(r.nlines, 1);
	assert_int_equal(r.lines[0].nwriters, 2);
	assert_int_equal(r.lines[0].verdict, C2C_NONE);
	c2c_report_free(&r);
	/* And nothing in, nothing out. */
	assert_int_equal(c2c_build(&r, NULL, 0, NULL, NULL, 0), 0);
	assert_int_equal(r.nlines, 0);
	c2c_report_free(&r);
}

/* Something for the resolver to name: a function and an initialized (file-backed) global. */
uint64_t c2c_memo_var[8] = {1};
uint64_t c2c_memo_probe(uint64_t x);
__attribute__((noinline)) uint64_t c2c_memo_probe(uint64_t x)
{
	return x * 3 + c2c_memo_var[1];
}

/* Feeds every mapping of path (this process's, from /proc/self/maps) to the model as pid. */
static int map_file_like_self(struct proc_model *pm, pid_t pid, const char *path)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4200];
	int n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		uint64_t lo, hi, pgoff;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n", &lo, &hi, perms,
			   &pgoff, &pos) < 4 || pos == 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line + pos, path) != 0)
			continue;
		uint32_t prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
				(perms[2] == 'x' ? PROT_EXEC : 0);
		assert_int_equal(proc_on_mmap(pm, pid, lo, hi - lo, pgoff, path, NULL, prot, MAP_PRIVATE), 0);
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* The file mapping holding addr in this process: path, start and page offset. */
static void self_mapping(uintptr_t addr, char *path, size_t len, uint64_t *lo, uint64_t *hi,
			 uint64_t *pgoff)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4200];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		uint64_t a, b, off;
		int pos = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %*s %*s %n", &a, &b, &off,
			   &pos) < 3 || pos == 0 || addr < a || addr >= b)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, len, "%s", line + pos);
		*lo = a;
		*hi = b;
		*pgoff = off;
		found = true;
	}
	if (f)
		fclose(f);
	assert_true(found);
}

static void test_resolver_memo(void **state)
{
	(void)state;
	struct proc_model *pm;
	struct sym_cache *sc;
	struct c2c_resolver *r;
	char err[256], exe[4096], libc[4096];
	assert_int_equal(proc_model_new(&pm), 0);
	assert_int_equal(sym_cache_new(&sc, err, sizeof(err)), 0);
	assert_int_equal(c2c_resolver_new(&r, pm, sc), 0);
	uint64_t lo, hi, pgoff;
	self_mapping((uintptr_t)c2c_memo_probe, exe, sizeof(exe), &lo, &hi, &pgoff);
	assert_int_equal(proc_on_comm(pm, 7, 7, "memo", true), 0);
	assert_true(map_file_like_self(pm, 7, exe) >= 2);

	struct c2c_sample a = {.pid = 7, .tid = 7, .ip = (uintptr_t)c2c_memo_probe + 1,
			       .addr = (uintptr_t)&c2c_memo_var[1]};
	struct c2c_sample b = a;
	c2c_resolve(r, &a);
	assert_non_null(a.func);
	assert_string_equal(a.func, "c2c_memo_probe");
	assert_non_null(a.file);
	assert_true(a.line > 0);
	assert_string_equal(a.data_sym, "c2c_memo_var+0x8");
	c2c_resolve(r, &b); /* from the memo: the very same strings */
	assert_ptr_equal(b.func, a.func);
	assert_ptr_equal(b.file, a.file);
	assert_int_equal(b.line, a.line);
	assert_ptr_equal(b.data_sym, a.data_sym);

	/* exec, and libc's text where the executable's was: the old answers are stale. */
	uint64_t libc_lo, libc_hi, libc_pgoff;
	self_mapping((uintptr_t)qsort, libc, sizeof(libc), &libc_lo, &libc_hi, &libc_pgoff);
	assert_int_equal(proc_on_comm(pm, 7, 7, "memo", true), 0);
	assert_int_equal(proc_on_mmap(pm, 7, lo, hi - lo, libc_pgoff, libc, NULL,
				      PROT_READ | PROT_EXEC, MAP_PRIVATE), 0);
	struct sym_result want;
	assert_int_equal(sym_lookup_file(sc, libc, NULL, a.ip - lo + libc_pgoff, &want), 0);
	struct c2c_sample c = {.pid = 7, .tid = 7, .ip = a.ip, .addr = a.addr};
	c2c_resolve(r, &c);
	assert_string_equal(c.func ? c.func : "-", want.function ? want.function : "-");
	assert_string_not_equal(c.func ? c.func : "-", "c2c_memo_probe");
	assert_string_equal(c.data_sym, "[unknown]"); /* the data segment went with the exec */

	c2c_resolver_free(r);
	sym_cache_free(sc);
	proc_model_free(pm);
}

/* The one definition of sharing, on the sample report's and c2c watch's cases. */
static void judge_case(const struct c2c_access *a, size_t n, enum c2c_verdict want,
		       bool same_written, bool diff_written, size_t nwriters)
{
	struct c2c_sharing sh;
	c2c_sharing_judge(a, n, &sh);
	assert_int_equal(sh.verdict, want);
	assert_int_equal(sh.same_written, same_written);
	assert_int_equal(sh.diff_written, diff_written);
	assert_int_equal(sh.nwriters, nwriters);
}

static void test_sharing_judge(void **state)
{
	(void)state;
	judge_case(NULL, 0, C2C_NONE, false, false, 0);
	/* One thread, two locations, several observations: one writer, nobody to share with. */
	const struct c2c_access alone[] = { { 0, 1, true, true }, { 8, 1, true, false },
					    { 16, 1, false, true } };
	judge_case(alone, 3, C2C_NONE, false, false, 1);
	/* Readers only: nothing is written, nothing is shared. */
	const struct c2c_access readers[] = { { 0, 1, false, true }, { 0, 2, false, true },
					      { 8, 3, false, true } };
	judge_case(readers, 3, C2C_NONE, false, false, 0);
	/* write_write: different locations written by different threads. */
	const struct c2c_access ww[] = { { 0, 1, true, false }, { 8, 2, true, false } };
	judge_case(ww, 2, C2C_FALSE_SHARING, false, true, 2);
	/* read_write: one thread writes, another reads a different location. */
	const struct c2c_access rw[] = { { 0, 1, true, false }, { 8, 2, false, true } };
	judge_case(rw, 2, C2C_FALSE_SHARING, false, false, 1);
	/* One location written by one thread and read by another (a sample: loads only). */
	const struct c2c_access wr_same[] = { { 0, 1, true, true }, { 0, 2, false, true } };
	judge_case(wr_same, 2, C2C_TRUE_SHARING, false, false, 1);
	/* true_sharing: one location written by both threads. */
	const struct c2c_access ts[] = { { 0, 1, true, false }, { 0, 2, true, true } };
	judge_case(ts, 2, C2C_TRUE_SHARING, true, false, 2);
	/* Both at once: thread 2 writes offset 0 with thread 1 and offset 8 alone. */
	const struct c2c_access mixed[] = { { 0, 1, true, false }, { 0, 2, true, false },
					    { 8, 2, true, false } };
	judge_case(mixed, 3, C2C_MIXED, true, true, 2);
	/* An observation with neither access (a watch row of no hit) touches nothing. */
	const struct c2c_access idle[] = { { 0, 1, true, false }, { 8, 2, false, false } };
	judge_case(idle, 2, C2C_NONE, false, false, 1);
}

/* c2c watch's verdict from its tally of hits (word, tid, read-write window?). */
static const char *watch_verdict_of(struct c2c_watch_tally *t, const int hits[][3], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct smp_watch_hit h = { .ip = 0x1000 + 0x10 * i, .pid = 10,
					   .tid = (uint32_t)hits[i][1], .word = hits[i][0],
					   .rw = hits[i][2] != 0 };
		assert_non_null(c2c_watch_add(t, &h));
	}
	const char *v = NULL;
	assert_int_equal(c2c_watch_verdict(t, &v), 0);
	return v;
}

/* c2c watch's verdict: only from hits, and none at all without one. */
static void test_watch_verdict(void **state)
{
	(void)state;
	struct c2c_watch_tally t = {0};
	const char *v = NULL;
	assert_int_equal(c2c_watch_verdict(&t, &v), 0);
	assert_null(v); /* no hit: no evidence, no verdict */
	const int one[][3] = { { 0, 10, 0 }, { 0, 10, 0 }, { 0, 10, 1 } };
	assert_string_equal(watch_verdict_of(&t, one, 3), "none (only one thread touches the line)");
	assert_int_equal(t.nrows, 1);
	assert_int_equal(t.rows[0].hits[0], 2);
	assert_int_equal(t.rows[0].hits[1], 1);
	assert_int_equal(t.nlocs, 3);
	/* Thread 11 hits word 1 in a read-write window only: it reads a word 10 writes not. */
	const int rd1[][3] = { { 1, 11, 1 } };
	assert_string_equal(watch_verdict_of(&t, rd1, 1),
			    "false sharing (read-write: one thread writes a word, another reads a "
			    "different word of the line)");
	c2c_watch_tally_free(&t);
	assert_null(t.rows);
	/* A read-write hit of a thread that also hit the word in a write window is a write. */
	const int ww[][3] = { { 0, 10, 0 }, { 1, 11, 0 }, { 1, 11, 1 } };
	assert_string_equal(watch_verdict_of(&t, ww, 3),
			    "false sharing (different words written by different threads)");
	c2c_watch_tally_free(&t);
	const int rd0[][3] = { { 0, 10, 0 }, { 0, 11, 1 } };
	assert_string_equal(watch_verdict_of(&t, rd0, 2),
			    "true sharing (a word written by one thread is read by another)");
	c2c_watch_tally_free(&t);
	const int ts[][3] = { { 0, 10, 0 }, { 0, 11, 0 } };
	assert_string_equal(watch_verdict_of(&t, ts, 2),
			    "true sharing (the same word written by more than one thread)");
	/*
	 * Thread 12 writes word 1 besides: both kinds at once, as the sample report
	 * says (C2C_MIXED), where no precedence hides the false sharing.
	 */
	const int w1[][3] = { { 1, 12, 0 } };
	assert_non_null(strstr(watch_verdict_of(&t, w1, 1), "true+false sharing ("));
	c2c_watch_tally_free(&t);
	/* Thread 10 writes word 0, thread 11 reads words 0 and 1: both kinds too. */
	const int rd01[][3] = { { 0, 10, 0 }, { 0, 11, 1 }, { 1, 11, 1 } };
	assert_non_null(strstr(watch_verdict_of(&t, rd01, 3), "true+false sharing ("));
	c2c_watch_tally_free(&t);
}

/* A variable of this (PIE) test program, found by name where it was loaded. */
uint64_t c2c_watch_target[8];

static void test_symbol_address(void **state)
{
	(void)state;
	struct proc_model *pm;
	struct sym_cache *sc;
	struct c2c_resolver *r;
	char err[256];
	assert_int_equal(proc_model_new(&pm), 0);
	assert_int_equal(sym_cache_new(&sc, err, sizeof(err)), 0);
	assert_int_equal(c2c_resolver_new(&r, pm, sc), 0);
	uint64_t addr = 0;
	const char *file = NULL;
	c2c_watch_target[0] = 1; /* keep it */
	assert_int_equal(c2c_symbol_address(r, getpid(), "c2c_watch_target", &addr, NULL, &file), 0);
	assert_int_equal(addr, (uintptr_t)&c2c_watch_target[0]);
	assert_non_null(strstr(file, "test_c2c"));
	/* A variable of libc (not copied into the program): where libc was loaded. */
	assert_int_equal(c2c_symbol_address(r, getpid(), "_IO_2_1_stdin_", &addr, NULL, &file), 0);
	assert_int_equal(addr, (uintptr_t)stdin);
	assert_non_null(strstr(file, "libc"));
	assert_int_equal(c2c_symbol_address(r, getpid(), "no_such_variable", &addr, NULL, &file), -ENOENT);
	c2c_resolver_free(r);
	sym_cache_free(sc);
	proc_model_free(pm);
}

/* The value of path's .symtab symbol named name (function or object), or 0. */
static uint64_t elf_symbol(const char *path, const char *name)
{
	uint64_t v = 0;
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *nm;
			if (gelf_getsym(d, (int)i, &sym) && (nm = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
			    strcmp(nm, name) == 0)
				v = sym.st_value;
		}
	}
	elf_end(elf);
	close(fd);
	return v;
}

/* Maps path's PT_LOAD segments into pid's model at base, in whole pages as the loader does. */
static void map_elf_at(struct proc_model *pm, pid_t pid, const char *path, uint64_t base)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	size_t n = 0;
	assert_int_equal(elf_getphdrnum(elf, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		uint64_t lo = (base + ph.p_vaddr) & ~UINT64_C(0xfff);
		uint32_t prot = (ph.p_flags & PF_R ? PROT_READ : 0) | (ph.p_flags & PF_W ? PROT_WRITE : 0) |
				(ph.p_flags & PF_X ? PROT_EXEC : 0);
		uint64_t hi = (base + ph.p_vaddr + ph.p_memsz + 0xfff) & ~UINT64_C(0xfff);
		assert_int_equal(proc_on_mmap(pm, pid, lo, hi - lo,
					      ph.p_offset & ~UINT64_C(0xfff), path, NULL, prot, MAP_PRIVATE),
				 0);
	}
	elf_end(elf);
	close(fd);
}

/* C++ code and data symbols are named as c++filt -i names them, however long. */
static void test_resolver_cxx(void **state)
{
	(void)state;
	char probe[4096];
	snprintf(probe, sizeof(probe), "%s/data/symbols/sym_probe_inline_cxx", TEST_BINARY_DIR);
	if (access(probe, R_OK) != 0) {
		print_message("skip: %s not built\n", probe);
		skip();
	}
	static const char wide[] =
		"_ZN5probe4WideIJSt3mapIllSt4lessIlESaISt4pairIKllEEES1_IiiS2_IiESaIS4_IKiiEEES1_IliS3_"
		"SaIS4_IS5_iEEES1_IilS9_SaIS4_ISA_lEEES1_IslS2_IsESaIS4_IKslEEES1_IlsS3_SaIS4_IS5_sEEEEE4hitsE";
	uint64_t fn = elf_symbol(probe, "_ZN5probe20sym_inline_scale_allEPlii");
	uint64_t hits = elf_symbol(probe, "_ZN5probe14sym_probe_hitsE");
	uint64_t whits = elf_symbol(probe, wide);
	assert_true(fn && hits && whits);

	struct proc_model *pm;
	struct sym_cache *sc;
	struct c2c_resolver *r;
	char err[256];
	assert_int_equal(proc_model_new(&pm), 0);
	assert_int_equal(sym_cache_new(&sc, err, sizeof(err)), 0);
	assert_int_equal(c2c_resolver_new(&r, pm, sc), 0);
	assert_int_equal(proc_on_comm(pm, 9, 9, "cxx", true), 0);
	const uint64_t base = 0x555500000000;
	map_elf_at(pm, 9, probe, base);

	struct c2c_sample a = {.pid = 9, .tid = 9, .ip = base + fn + 1, .addr = base + hits};
	c2c_resolve(r, &a);
	assert_string_equal(a.func, "probe::sym_inline_scale_all(long*, int, int)");
	assert_string_equal(a.data_sym, "probe::sym_probe_hits");

	struct c2c_sample b = {.pid = 9, .tid = 9, .ip = base + fn + 2, .addr = base + whits + 4};
	c2c_resolve(r, &b);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "c++filt -i %s 2>/dev/null", wide);
	FILE *p = popen(cmd, "r");
	char want[2048] = "";
	if (p && fgets(want, sizeof(want) - 8, p)) {
		want[strcspn(want, "\n")] = '\0';
		strcat(want, "+0x4");
		assert_true(strlen(want) > 512);
		assert_string_equal(b.data_sym, want);
	} else {
		print_message("no c++filt: the long name's length alone is checked\n");
		assert_true(strlen(b.data_sym) > 512);
	}
	if (p)
		pclose(p);

	c2c_resolver_free(r);
	sym_cache_free(sc);
	proc_model_free(pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_skylake),
		cmocka_unit_test(test_decode_composed),
		cmocka_unit_test(test_decode_perf_selftest),
		cmocka_unit_test(test_pebs),
		cmocka_unit_test(test_ibs),
		cmocka_unit_test(test_no_transfers),
		cmocka_unit_test(test_resolver_memo),
		cmocka_unit_test(test_sharing_judge),
		cmocka_unit_test(test_watch_verdict),
		cmocka_unit_test(test_symbol_address),
		cmocka_unit_test(test_resolver_cxx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
