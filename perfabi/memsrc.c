/*
 * memsrc: the perf_mem_data_src word that PEBS, IBS and SPE samples carry
 * (PERF_SAMPLE_DATA_SRC), split into its fields, rendered as perf renders
 * it (`perf mem report`, `perf script -F data_src`).
 * Pure functions on a u64: no state, no allocation.
 */
#include "perfabi.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Field extraction by shift and width: the uapi bitfield union is endian-specific. */
#define MS_FIELD(v, shift, width) ((unsigned)(((v) >> (shift)) & ((1u << (width)) - 1)))
#define MS_OP(v) MS_FIELD(v, PERF_MEM_OP_SHIFT, 5)
#define MS_LVL(v) MS_FIELD(v, PERF_MEM_LVL_SHIFT, 14)
#define MS_SNOOP(v) MS_FIELD(v, PERF_MEM_SNOOP_SHIFT, 5)
#define MS_LOCK(v) MS_FIELD(v, PERF_MEM_LOCK_SHIFT, 2)
#define MS_DTLB(v) MS_FIELD(v, PERF_MEM_TLB_SHIFT, 7)
#define MS_LVLNUM(v) MS_FIELD(v, PERF_MEM_LVLNUM_SHIFT, 4)
#define MS_REMOTE(v) MS_FIELD(v, PERF_MEM_REMOTE_SHIFT, 1)
#define MS_SNOOPX(v) MS_FIELD(v, PERF_MEM_SNOOPX_SHIFT, 2)
#define MS_BLK(v) MS_FIELD(v, PERF_MEM_BLK_SHIFT, 3)
#define MS_HOPS(v) MS_FIELD(v, PERF_MEM_HOPS_SHIFT, 3)

/* perf's name tables (tools/perf/util/mem-events.c), indexed by bit or value. */
static const char *const tlb_names[] = { "N/A", "HIT", "MISS", "L1", "L2", "Walker", "Fault" };
static const char *const lvl_names[] = {
	"N/A", "HIT", "MISS", "L1", "LFB/MAB", "L2", "L3", "Local RAM",
	"Remote RAM (1 hop)", "Remote RAM (2 hops)", "Remote Cache (1 hop)",
	"Remote Cache (2 hops)", "I/O", "Uncached",
};
static const char *const lvlnum_names[16] = {
	[PERF_MEM_LVLNUM_L1] = "L1",
	[PERF_MEM_LVLNUM_L2] = "L2",
	[PERF_MEM_LVLNUM_L3] = "L3",
	[PERF_MEM_LVLNUM_L4] = "L4",
	[PABI_MEMSRC_LVLNUM_L2_MHB] = "L2 MHB",
	[PABI_MEMSRC_LVLNUM_MSC] = "Memory-side Cache",
	[PABI_MEMSRC_LVLNUM_UNC] = "Uncached",
	[PERF_MEM_LVLNUM_CXL] = "CXL",
	[PERF_MEM_LVLNUM_IO] = "I/O",
	[PERF_MEM_LVLNUM_ANY_CACHE] = "Any cache",
	[PERF_MEM_LVLNUM_LFB] = "LFB/MAB",
	[PERF_MEM_LVLNUM_RAM] = "RAM",
	[PERF_MEM_LVLNUM_PMEM] = "PMEM",
	[PERF_MEM_LVLNUM_NA] = "N/A",
};
/* "Remote " is printed before these, as perf does. */
static const char *const hops_names[8] = {
	"N/A", "core, same node", "node, same socket", "socket, same board", "board",
};
static const char *const snoop_names[] = { "N/A", "None", "Hit", "Miss", "HitM" };
static const char *const snoopx_names[] = { "Fwd", "Peer" };

static enum pabi_memsrc_level level_of(unsigned lvl, unsigned num, bool remote)
{
	switch (num) {
	case 0:
	case PERF_MEM_LVLNUM_NA:
		break;
	case PERF_MEM_LVLNUM_L1:
		return remote ? PABI_MEMSRC_LVL_REMOTE_CACHE : PABI_MEMSRC_LVL_L1;
	case PERF_MEM_LVLNUM_L2:
	case PABI_MEMSRC_LVLNUM_L2_MHB:
		return remote ? PABI_MEMSRC_LVL_REMOTE_CACHE : PABI_MEMSRC_LVL_L2;
	case PERF_MEM_LVLNUM_L3:
		return remote ? PABI_MEMSRC_LVL_REMOTE_CACHE : PABI_MEMSRC_LVL_L3;
	case PERF_MEM_LVLNUM_L4:
	case PABI_MEMSRC_LVLNUM_MSC:
		return remote ? PABI_MEMSRC_LVL_REMOTE_CACHE : PABI_MEMSRC_LVL_L4;
	case PERF_MEM_LVLNUM_ANY_CACHE:
		return remote ? PABI_MEMSRC_LVL_REMOTE_CACHE : PABI_MEMSRC_LVL_ANY_CACHE;
	case PERF_MEM_LVLNUM_LFB:
		return PABI_MEMSRC_LVL_LFB;
	case PERF_MEM_LVLNUM_RAM:
		return remote ? PABI_MEMSRC_LVL_REMOTE_RAM : PABI_MEMSRC_LVL_RAM;
	case PERF_MEM_LVLNUM_PMEM:
		return PABI_MEMSRC_LVL_PMEM;
	case PERF_MEM_LVLNUM_CXL:
		return PABI_MEMSRC_LVL_CXL;
	case PERF_MEM_LVLNUM_IO:
		return PABI_MEMSRC_LVL_IO;
	case PABI_MEMSRC_LVLNUM_UNC:
		return PABI_MEMSRC_LVL_UNCACHED;
	default:
		return PABI_MEMSRC_LVL_OTHER;
	}
	/* Old bits: the first named level, in perf's table order. */
	if (lvl & PERF_MEM_LVL_L1)
		return PABI_MEMSRC_LVL_L1;
	if (lvl & PERF_MEM_LVL_LFB)
		return PABI_MEMSRC_LVL_LFB;
	if (lvl & PERF_MEM_LVL_L2)
		return PABI_MEMSRC_LVL_L2;
	if (lvl & PERF_MEM_LVL_L3)
		return PABI_MEMSRC_LVL_L3;
	if (lvl & PERF_MEM_LVL_LOC_RAM)
		return remote ? PABI_MEMSRC_LVL_REMOTE_RAM : PABI_MEMSRC_LVL_RAM;
	if (lvl & (PERF_MEM_LVL_REM_RAM1 | PERF_MEM_LVL_REM_RAM2))
		return PABI_MEMSRC_LVL_REMOTE_RAM;
	if (lvl & (PERF_MEM_LVL_REM_CCE1 | PERF_MEM_LVL_REM_CCE2))
		return PABI_MEMSRC_LVL_REMOTE_CACHE;
	if (lvl & PERF_MEM_LVL_IO)
		return PABI_MEMSRC_LVL_IO;
	if (lvl & PERF_MEM_LVL_UNC)
		return PABI_MEMSRC_LVL_UNCACHED;
	return PABI_MEMSRC_LVL_NA;
}

void pabi_memsrc_decode(uint64_t v, struct pabi_memsrc *m)
{
	memset(m, 0, sizeof(*m));
	m->raw = v;
	unsigned op = MS_OP(v);
	if (op & PERF_MEM_OP_NA)
		m->op = PABI_MEMSRC_OP_NA;
	else if (op & PERF_MEM_OP_LOAD)
		m->op = PABI_MEMSRC_OP_LOAD;
	else if (op & PERF_MEM_OP_STORE)
		m->op = PABI_MEMSRC_OP_STORE;
	else if (op & PERF_MEM_OP_PFETCH)
		m->op = PABI_MEMSRC_OP_PFETCH;
	else if (op & PERF_MEM_OP_EXEC)
		m->op = PABI_MEMSRC_OP_EXEC;
	else
		m->op = PABI_MEMSRC_OP_NONE;
	m->op_bits = (uint8_t)op;
	m->lvl = (uint16_t)MS_LVL(v);
	m->lvl_num = (uint8_t)MS_LVLNUM(v);
	m->remote = MS_REMOTE(v);
	m->hops = (uint8_t)MS_HOPS(v);
	m->snoop = (uint8_t)MS_SNOOP(v);
	m->snoopx = (uint8_t)MS_SNOOPX(v);
	m->lock = (uint8_t)MS_LOCK(v);
	m->dtlb = (uint8_t)MS_DTLB(v);
	m->blk = (uint8_t)MS_BLK(v);
	m->hit = m->lvl & PERF_MEM_LVL_HIT;
	m->miss = m->lvl & PERF_MEM_LVL_MISS;
	m->level = level_of(m->lvl, m->lvl_num, m->remote);
	m->snoop_na = m->snoop & PERF_MEM_SNOOP_NA;
	m->snoop_none = m->snoop & PERF_MEM_SNOOP_NONE;
	m->snoop_hit = m->snoop & PERF_MEM_SNOOP_HIT;
	m->snoop_miss = m->snoop & PERF_MEM_SNOOP_MISS;
	m->hitm = m->snoop & PERF_MEM_SNOOP_HITM;
	m->fwd = m->snoopx & PERF_MEM_SNOOPX_FWD;
	m->peer = m->snoopx & PERF_MEM_SNOOPX_PEER;
	m->lock_na = m->lock & PERF_MEM_LOCK_NA;
	m->locked = !m->lock_na && (m->lock & PERF_MEM_LOCK_LOCKED);
	m->tlb_na = m->dtlb & PERF_MEM_TLB_NA;
	m->tlb_hit = m->dtlb & PERF_MEM_TLB_HIT;
	m->tlb_miss = m->dtlb & PERF_MEM_TLB_MISS;
	m->blk_data = m->blk & PERF_MEM_BLK_DATA;
	m->blk_addr = m->blk & PERF_MEM_BLK_ADDR;
}

/* An appending writer: counts the full length, truncates safely. */
struct sbuf {
	char *p;
	size_t len, n;
};

static void sb_put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = b->n < b->len ? b->len - b->n : 0;
	int k = vsnprintf(room ? b->p + b->n : NULL, room, fmt, ap);
	va_end(ap);
	if (k > 0)
		b->n += (size_t)k;
}

static struct sbuf sb_init(char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	return (struct sbuf){ .p = buf, .len = len };
}

/* Names of the set bits of m (index i = bit i), joined by " or "; count printed. */
static int sb_bits(struct sbuf *b, unsigned m, const char *const *names, size_t nnames, int printed)
{
	for (size_t i = 0; m && i < nnames; i++, m >>= 1) {
		if (!(m & 1))
			continue;
		sb_put(b, "%s%s", printed++ ? " or " : "", names[i]);
	}
	return printed;
}

size_t pabi_memsrc_op_str(uint64_t v, char *buf, size_t len)
{
	static const char *const names[] = {
		[PABI_MEMSRC_OP_NONE] = "No",       [PABI_MEMSRC_OP_NA] = "N/A",
		[PABI_MEMSRC_OP_LOAD] = "LOAD",     [PABI_MEMSRC_OP_STORE] = "STORE",
		[PABI_MEMSRC_OP_PFETCH] = "PFETCH", [PABI_MEMSRC_OP_EXEC] = "EXEC",
	};
	struct pabi_memsrc m;
	pabi_memsrc_decode(v, &m);
	struct sbuf b = sb_init(buf, len);
	sb_put(&b, "%s", names[m.op]);
	return b.n;
}

static void lvlnum_name(struct sbuf *b, unsigned num)
{
	if (lvlnum_names[num])
		sb_put(b, "%s", lvlnum_names[num]);
	else
		sb_put(b, "Unknown level %u", num);
}

size_t pabi_memsrc_lvl_str(uint64_t v, bool legacy, char *buf, size_t len)
{
	struct pabi_memsrc m;
	pabi_memsrc_decode(v, &m);
	struct sbuf b = sb_init(buf, len);
	const char *hm = m.hit ? "hit" : m.miss ? "miss" : "";
	unsigned lvl = m.lvl & ~(unsigned)(PERF_MEM_LVL_HIT | PERF_MEM_LVL_MISS);

	if (legacy) {
		/* perf <= 6.2: remote, hops or old bits (N/A included), then " or " lvl_num. */
		int printed = 0;
		if (m.remote)
			sb_put(&b, "Remote ");
		if (m.hops)
			sb_put(&b, "%s ", hops_names[m.hops]);
		else
			printed = sb_bits(&b, lvl, lvl_names, 14, 0);
		if (m.lvl_num) {
			sb_put(&b, "%s", printed++ ? " or " : "");
			if (lvlnum_names[m.lvl_num])
				sb_put(&b, "%s", lvlnum_names[m.lvl_num]);
			else
				sb_put(&b, "L%u", m.lvl_num);
		}
		if (b.n == 0)
			sb_put(&b, "N/A");
		if (m.hit)
			sb_put(&b, " hit");
		if (m.miss)
			sb_put(&b, " miss");
		return b.n;
	}
	/* Current perf: lvl_num when given, else the old bits, else N/A. */
	if (m.lvl_num && m.lvl_num != PERF_MEM_LVLNUM_NA) {
		if (m.remote)
			sb_put(&b, "Remote ");
		if (m.hops)
			sb_put(&b, "%s ", hops_names[m.hops]);
		lvlnum_name(&b, m.lvl_num);
		sb_put(&b, " %s", hm);
		return b.n;
	}
	lvl &= ~(unsigned)PERF_MEM_LVL_NA;
	if (lvl && sb_bits(&b, lvl, lvl_names, 14, 0)) {
		sb_put(&b, " %s", hm);
		return b.n;
	}
	b = sb_init(buf, len);
	sb_put(&b, "N/A");
	return b.n;
}

size_t pabi_memsrc_snoop_str(uint64_t v, char *buf, size_t len)
{
	struct sbuf b = sb_init(buf, len);
	int printed = sb_bits(&b, MS_SNOOP(v), snoop_names, 5, 0);
	printed = sb_bits(&b, MS_SNOOPX(v), snoopx_names, 2, printed);
	if (!printed)
		sb_put(&b, "N/A");
	return b.n;
}

size_t pabi_memsrc_tlb_str(uint64_t v, char *buf, size_t len)
{
	unsigned m = MS_DTLB(v);
	struct sbuf b = sb_init(buf, len);
	if (!sb_bits(&b, m & ~(unsigned)(PERF_MEM_TLB_HIT | PERF_MEM_TLB_MISS), tlb_names, 7, 0))
		sb_put(&b, "N/A");
	if (m & PERF_MEM_TLB_HIT)
		sb_put(&b, " hit");
	if (m & PERF_MEM_TLB_MISS)
		sb_put(&b, " miss");
	return b.n;
}

size_t pabi_memsrc_lock_str(uint64_t v, char *buf, size_t len)
{
	unsigned m = MS_LOCK(v);
	struct sbuf b = sb_init(buf, len);
	sb_put(&b, "%s", m & PERF_MEM_LOCK_NA ? "N/A" : m & PERF_MEM_LOCK_LOCKED ? "Yes" : "No");
	return b.n;
}

size_t pabi_memsrc_blk_str(uint64_t v, char *buf, size_t len)
{
	unsigned m = MS_BLK(v);
	struct sbuf b = sb_init(buf, len);
	if (!m || (m & PERF_MEM_BLK_NA)) {
		sb_put(&b, " N/A");
		return b.n;
	}
	if (m & PERF_MEM_BLK_DATA)
		sb_put(&b, " Data");
	if (m & PERF_MEM_BLK_ADDR)
		sb_put(&b, " Addr");
	return b.n;
}

size_t pabi_memsrc_str(uint64_t v, bool legacy, char *buf, size_t len)
{
	char f[6][96];
	pabi_memsrc_op_str(v, f[0], sizeof(f[0]));
	pabi_memsrc_lvl_str(v, legacy, f[1], sizeof(f[1]));
	pabi_memsrc_snoop_str(v, f[2], sizeof(f[2]));
	pabi_memsrc_tlb_str(v, f[3], sizeof(f[3]));
	pabi_memsrc_lock_str(v, f[4], sizeof(f[4]));
	pabi_memsrc_blk_str(v, f[5], sizeof(f[5]));
	struct sbuf b = sb_init(buf, len);
	sb_put(&b, "|OP %s|LVL %s|SNP %s|TLB %s|LCK %s|BLK %s", f[0], f[1], f[2], f[3], f[4], f[5]);
	return b.n;
}
