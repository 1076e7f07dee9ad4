/*
 * perf c2c's counters: each memory sample classified by its data source
 * exactly as perf's c2c_decode_stats does (Intel HITM, Arm/AMD peer,
 * Skylake's bare remote bit), on the fields perfabi's pabi_memsrc_decode splits out.
 */
#include "c2c.h"

#include <errno.h>
#include <linux/perf_event.h>

/*
 * Old level bits implied by lvl_num/remote, for sources that fill only the
 * new fields: perf's rules read the old bits, so map onto them.
 */
static unsigned lvl_from_num(unsigned num, bool remote)
{
	switch (num) {
	case PERF_MEM_LVLNUM_L1:
		return remote ? PERF_MEM_LVL_REM_CCE1 : PERF_MEM_LVL_L1;
	case PERF_MEM_LVLNUM_L2:
	case PABI_MEMSRC_LVLNUM_L2_MHB:
		return remote ? PERF_MEM_LVL_REM_CCE1 : PERF_MEM_LVL_L2;
	case PERF_MEM_LVLNUM_L3:
	case PERF_MEM_LVLNUM_L4:
	case PABI_MEMSRC_LVLNUM_MSC:
		return remote ? PERF_MEM_LVL_REM_CCE1 : PERF_MEM_LVL_L3;
	case PERF_MEM_LVLNUM_ANY_CACHE:
		return remote ? PERF_MEM_LVL_REM_CCE1 : PERF_MEM_LVL_L3;
	case PERF_MEM_LVLNUM_LFB:
		return PERF_MEM_LVL_LFB;
	case PERF_MEM_LVLNUM_RAM:
	case PERF_MEM_LVLNUM_PMEM:
	case PERF_MEM_LVLNUM_CXL:
		return remote ? PERF_MEM_LVL_REM_RAM1 : PERF_MEM_LVL_LOC_RAM;
	case PERF_MEM_LVLNUM_IO:
		return PERF_MEM_LVL_IO;
	case PABI_MEMSRC_LVLNUM_UNC:
		return PERF_MEM_LVL_UNC;
	default:
		return 0;
	}
}

int c2c_classify(struct c2c_stats *st, uint64_t v, uint64_t daddr, bool mapped)
{
	struct pabi_memsrc m;
	pabi_memsrc_decode(v, &m);
	unsigned op = m.op_bits, lvl = m.lvl, snoop = m.snoop, snoopx = m.snoopx;
	unsigned lock = m.lock, blk = m.blk;
	const unsigned where = ~(unsigned)(PERF_MEM_LVL_NA | PERF_MEM_LVL_HIT | PERF_MEM_LVL_MISS);
	/*
	 * Skylake reports an unknown remote level through the bare remote bit;
	 * with hops set (POWER, IBS) remote means another core, not another node.
	 */
	bool mrem = m.remote && !m.hops;

	if (!(lvl & where))
		lvl |= lvl_from_num(m.lvl_num, m.remote && !mrem);

	st->nr_entries++;
	if (lock & PERF_MEM_LOCK_LOCKED)
		st->locks++;
	if (blk & PERF_MEM_BLK_DATA)
		st->blk_data++;
	if (blk & PERF_MEM_BLK_ADDR)
		st->blk_addr++;

	if (op & PERF_MEM_OP_LOAD) {
		st->load++;
		if (!daddr) {
			st->ld_noadrs++;
			return -EINVAL;
		}
		if (lvl & PERF_MEM_LVL_HIT) {
			if (lvl & PERF_MEM_LVL_UNC)
				st->ld_uncache++;
			if (lvl & PERF_MEM_LVL_IO)
				st->ld_io++;
			if (lvl & PERF_MEM_LVL_LFB)
				st->ld_fbhit++;
			if (lvl & PERF_MEM_LVL_L1)
				st->ld_l1hit++;
			if (lvl & PERF_MEM_LVL_L2) {
				st->ld_l2hit++;
				if (snoopx & PERF_MEM_SNOOPX_PEER) {
					st->lcl_peer++;
					st->tot_peer++;
				}
			}
			if (lvl & PERF_MEM_LVL_L3) {
				if (snoop & PERF_MEM_SNOOP_HITM) {
					st->lcl_hitm++;
					st->tot_hitm++;
				} else {
					st->ld_llchit++;
				}
				if (snoopx & PERF_MEM_SNOOPX_PEER) {
					st->lcl_peer++;
					st->tot_peer++;
				}
			}
			if (lvl & PERF_MEM_LVL_LOC_RAM) {
				st->lcl_dram++;
				if (snoop & PERF_MEM_SNOOP_HIT)
					st->ld_shared++;
				else
					st->ld_excl++;
			}
			if ((lvl & (PERF_MEM_LVL_REM_RAM1 | PERF_MEM_LVL_REM_RAM2)) || mrem) {
				st->rmt_dram++;
				if (snoop & PERF_MEM_SNOOP_HIT)
					st->ld_shared++;
				else
					st->ld_excl++;
			}
		}
		if ((lvl & (PERF_MEM_LVL_REM_CCE1 | PERF_MEM_LVL_REM_CCE2)) || mrem) {
			if (snoop & PERF_MEM_SNOOP_HIT) {
				st->rmt_hit++;
			} else if (snoop & PERF_MEM_SNOOP_HITM) {
				st->rmt_hitm++;
				st->tot_hitm++;
			} else if (snoopx & PERF_MEM_SNOOPX_PEER) {
				st->rmt_hit++;
				st->rmt_peer++;
				st->tot_peer++;
			}
		}
		if (lvl & PERF_MEM_LVL_MISS)
			st->ld_miss++;
	} else if (op & PERF_MEM_OP_STORE) {
		st->store++;
		if (!daddr) {
			st->st_noadrs++;
			return -EINVAL;
		}
		if (lvl & PERF_MEM_LVL_HIT) {
			if (lvl & PERF_MEM_LVL_UNC)
				st->st_uncache++;
			if (lvl & PERF_MEM_LVL_L1)
				st->st_l1hit++;
		}
		if ((lvl & PERF_MEM_LVL_MISS) && (lvl & PERF_MEM_LVL_L1))
			st->st_l1miss++;
		if (lvl & PERF_MEM_LVL_NA)
			st->st_na++;
	} else {
		st->noparse++;
		return -EINVAL;
	}
	if (!mapped) {
		st->nomap++;
		return -EINVAL;
	}
	return 0;
}

void c2c_stats_add(struct c2c_stats *to, const struct c2c_stats *from)
{
	/* Every member is a uint64_t counter: add them as an array. */
	_Static_assert(sizeof(struct c2c_stats) % sizeof(uint64_t) == 0, "c2c_stats: u64 only");
	uint64_t *t = (uint64_t *)to;
	const uint64_t *f = (const uint64_t *)from;
	for (size_t i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
		t[i] += f[i];
}
