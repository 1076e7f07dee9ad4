/*
 * Event presets: `-e sharing` (cache-line transfers between cores, the
 * signature of true and false sharing) and `-e cache` (L1D, L2 and last-level
 * misses), each expanded to the vendor events of the host's CPU family, one
 * sample type per event.
 *
 * Owns the preset table (CPU family/model ranges -> events), its expansion
 * into pmu_events (libpfm4 encodings where libpfm4 knows the CPU, the table's
 * raw codes otherwise), the fallback for CPUs the table lacks, and the
 * `pmuprof list` entries of the presets.
 *
 * The codes come from the Linux kernel's perf event tables
 * (tools/perf/pmu-events/arch/x86/CPU/NAME.json, models from mapfile.csv); each
 * row names its file, and docs/cache-events.md carries the same table with
 * the caveats of each event.
 */
#include "pfm.h"
#include "pmu_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Generic perf events (the kernel maps them per CPU). */
#define L1D_MISS                                                                           \
	{"L1-dcache-load-misses", "L1-dcache-load-misses", 0, 0, NULL,                     \
	 "L1 data cache load misses (perf generic; the kernel picks the vendor event)"}
#define LLC_MISS                                                                           \
	{"LLC-load-misses", "LLC-load-misses", 0, 0, NULL,                                 \
	 "last-level cache load misses (perf generic)"}

/* --- Intel ------------------------------------------------------------------ */

/* Sandy Bridge, Ivy Bridge: sandybridge/, jaketown/, ivybridge/, ivytown/ cache.json. */
#define SNB_HITM(pfm)                                                                      \
	{"MEM_LOAD_UOPS_LLC_HIT_RETIRED.XSNP_HITM", NULL, 0xd2, 0x04,                      \
	 pfm "::MEM_LOAD_UOPS_LLC_HIT_RETIRED:XSNP_HITM",                                 \
	 "retired loads that hit a modified line in another core's cache (HITM), same socket"}
#define SNB_HIT(pfm)                                                                       \
	{"MEM_LOAD_UOPS_LLC_HIT_RETIRED.XSNP_HIT", NULL, 0xd2, 0x02,                       \
	 pfm "::MEM_LOAD_UOPS_LLC_HIT_RETIRED:XSNP_HIT",                                  \
	 "retired loads whose LLC hit needed a clean line from another core (read sharing)"}
#define IVT_REMOTE(pfm)                                                                    \
	{"MEM_LOAD_UOPS_LLC_MISS_RETIRED.REMOTE_HITM", NULL, 0xd3, 0x10,                   \
	 pfm "::MEM_LOAD_UOPS_LLC_MISS_RETIRED:REMOTE_HITM",                              \
	 "retired loads served by a modified line in the other socket's cache"},           \
	{"MEM_LOAD_UOPS_LLC_MISS_RETIRED.REMOTE_FWD", NULL, 0xd3, 0x20,                    \
	 pfm "::MEM_LOAD_UOPS_LLC_MISS_RETIRED:REMOTE_FWD",                               \
	 "retired loads served by a clean line forwarded from the other socket"}
#define UOPS_L2_MISS(pfm)                                                                  \
	{"MEM_LOAD_UOPS_RETIRED.L2_MISS", NULL, 0xd1, 0x10,                                \
	 pfm "::MEM_LOAD_UOPS_RETIRED:L2_MISS", "retired loads that missed L2"}

static const struct pmu_preset_event snb_sharing[] = {SNB_HITM("snb"), SNB_HIT("snb")};
static const struct pmu_preset_event snbep_sharing[] = {SNB_HITM("snb_ep"), SNB_HIT("snb_ep")};
static const struct pmu_preset_event snb_cache[] = {L1D_MISS, LLC_MISS};
static const struct pmu_preset_event ivb_sharing[] = {SNB_HITM("ivb"), SNB_HIT("ivb")};
static const struct pmu_preset_event ivb_cache[] = {L1D_MISS, UOPS_L2_MISS("ivb"), LLC_MISS};
static const struct pmu_preset_event ivt_sharing[] = {SNB_HITM("ivb_ep"), SNB_HIT("ivb_ep"),
						      IVT_REMOTE("ivb_ep")};
static const struct pmu_preset_event ivt_cache[] = {L1D_MISS, UOPS_L2_MISS("ivb_ep"), LLC_MISS};

/* Haswell, Broadwell: haswell/, haswellx/, broadwell/, broadwellde/, broadwellx/ cache.json. */
#define HSW_HITM(pfm)                                                                      \
	{"MEM_LOAD_UOPS_L3_HIT_RETIRED.XSNP_HITM", NULL, 0xd2, 0x04,                       \
	 pfm "::MEM_LOAD_UOPS_L3_HIT_RETIRED:XSNP_HITM",                                  \
	 "retired loads that hit a modified line in another core's cache (HITM), same socket"}
#define HSW_HIT(pfm)                                                                       \
	{"MEM_LOAD_UOPS_L3_HIT_RETIRED.XSNP_HIT", NULL, 0xd2, 0x02,                        \
	 pfm "::MEM_LOAD_UOPS_L3_HIT_RETIRED:XSNP_HIT",                                   \
	 "retired loads whose L3 hit needed a clean line from another core (read sharing)"}
#define HSX_REMOTE(pfm)                                                                    \
	{"MEM_LOAD_UOPS_L3_MISS_RETIRED.REMOTE_HITM", NULL, 0xd3, 0x10,                    \
	 pfm "::MEM_LOAD_UOPS_L3_MISS_RETIRED:REMOTE_HITM",                               \
	 "retired loads served by a modified line in the other socket's cache"},           \
	{"MEM_LOAD_UOPS_L3_MISS_RETIRED.REMOTE_FWD", NULL, 0xd3, 0x20,                     \
	 pfm "::MEM_LOAD_UOPS_L3_MISS_RETIRED:REMOTE_FWD",                                \
	 "retired loads served by a clean line forwarded from the other socket"}

static const struct pmu_preset_event hsw_sharing[] = {HSW_HITM("hsw"), HSW_HIT("hsw")};
static const struct pmu_preset_event hsw_cache[] = {L1D_MISS, UOPS_L2_MISS("hsw"), LLC_MISS};
static const struct pmu_preset_event hsx_sharing[] = {HSW_HITM("hsw_ep"), HSW_HIT("hsw_ep"),
						      HSX_REMOTE("hsw_ep")};
static const struct pmu_preset_event hsx_cache[] = {L1D_MISS, UOPS_L2_MISS("hsw_ep"), LLC_MISS};
static const struct pmu_preset_event bdw_sharing[] = {HSW_HITM("bdw"), HSW_HIT("bdw")};
static const struct pmu_preset_event bdw_cache[] = {L1D_MISS, UOPS_L2_MISS("bdw"), LLC_MISS};
static const struct pmu_preset_event bdwde_sharing[] = {HSW_HITM("bdw_ep"), HSW_HIT("bdw_ep")};
static const struct pmu_preset_event bdx_sharing[] = {HSW_HITM("bdw_ep"), HSW_HIT("bdw_ep"),
						      HSX_REMOTE("bdw_ep")};
static const struct pmu_preset_event bdx_cache[] = {L1D_MISS, UOPS_L2_MISS("bdw_ep"), LLC_MISS};

/* Skylake and later: skylake/, skylakex/, cascadelakex/, icelake/, icelakex/, ... cache.json. */
#define SKL_HITM(pfm)                                                                      \
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_HITM", NULL, 0xd2, 0x04,                            \
	 pfm "::MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM",                                       \
	 "retired loads that hit a modified line in another core's cache (HITM), same socket"}
#define SKL_HIT(pfm)                                                                       \
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_HIT", NULL, 0xd2, 0x02,                             \
	 pfm "::MEM_LOAD_L3_HIT_RETIRED:XSNP_HIT",                                        \
	 "retired loads whose L3 hit needed a clean line from another core (read sharing)"}
/*
 * Ice Lake-SP and later renamed HITM/HIT to FWD/NO_FWD (same codes: FWD also
 * covers clean lines forwarded by the other core); libpfm4 4.13's icx keeps
 * the old names.
 */
#define ICL_FWD(pfm, upfm)                                                                 \
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_FWD", NULL, 0xd2, 0x04,                             \
	 pfm "::MEM_LOAD_L3_HIT_RETIRED:" upfm,                                           \
	 "retired loads served by another core's cache that forwarded the line (HITM or "  \
	 "clean forward), same socket"}
#define ICL_NO_FWD(pfm, upfm)                                                              \
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_NO_FWD", NULL, 0xd2, 0x02,                          \
	 pfm "::MEM_LOAD_L3_HIT_RETIRED:" upfm,                                           \
	 "retired loads whose L3 hit snooped another core without a forward (read sharing)"}
#define SKX_REMOTE(pfm)                                                                    \
	{"MEM_LOAD_L3_MISS_RETIRED.REMOTE_HITM", NULL, 0xd3, 0x04,                         \
	 pfm "::MEM_LOAD_L3_MISS_RETIRED:REMOTE_HITM",                                    \
	 "retired loads served by a modified line in another socket's cache"},             \
	{"MEM_LOAD_L3_MISS_RETIRED.REMOTE_FWD", NULL, 0xd3, 0x08,                          \
	 pfm "::MEM_LOAD_L3_MISS_RETIRED:REMOTE_FWD",                                     \
	 "retired loads served by a clean line forwarded from another socket"}
#define RET_L2_MISS(pfm)                                                                   \
	{"MEM_LOAD_RETIRED.L2_MISS", NULL, 0xd1, 0x10, pfm,                                \
	 "retired loads that missed L2"}

static const struct pmu_preset_event skl_sharing[] = {SKL_HITM("skl"), SKL_HIT("skl")};
static const struct pmu_preset_event skl_cache[] = {
	L1D_MISS, RET_L2_MISS("skl::MEM_LOAD_RETIRED:L2_MISS"), LLC_MISS};
static const struct pmu_preset_event skx_sharing[] = {SKL_HITM("skx"), SKL_HIT("skx"),
						      SKX_REMOTE("skx")};
static const struct pmu_preset_event skx_cache[] = {
	L1D_MISS, RET_L2_MISS("skx::MEM_LOAD_RETIRED:L2_MISS"), LLC_MISS};
static const struct pmu_preset_event clx_sharing[] = {SKL_HITM("clx"), SKL_HIT("clx"),
						      SKX_REMOTE("clx")};
static const struct pmu_preset_event clx_cache[] = {
	L1D_MISS, RET_L2_MISS("clx::MEM_LOAD_RETIRED:L2_MISS"), LLC_MISS};
/* Ice Lake client kept Skylake's names (icelake/cache.json); Ice Lake-SP took the new ones. */
static const struct pmu_preset_event icl_sharing[] = {SKL_HITM("icl"), SKL_HIT("icl")};
static const struct pmu_preset_event icl_cache[] = {
	L1D_MISS, RET_L2_MISS("icl::MEM_LOAD_RETIRED:L2_MISS"), LLC_MISS};
static const struct pmu_preset_event icx_sharing[] = {
	ICL_FWD("icx", "XSNP_HITM"), ICL_NO_FWD("icx", "XSNP_HIT"), SKX_REMOTE("icx")};
static const struct pmu_preset_event icx_cache[] = {
	L1D_MISS, RET_L2_MISS("icx::MEM_LOAD_RETIRED:L2_MISS"), LLC_MISS};
static const struct pmu_preset_event spr_sharing[] = {
	ICL_FWD("spr", "XSNP_FWD"), ICL_NO_FWD("spr", "XSNP_NO_FWD"), SKX_REMOTE("spr")};
static const struct pmu_preset_event spr_cache[] = {
	L1D_MISS, RET_L2_MISS("spr::MEM_LOAD_RETIRED:L2_MISS"), LLC_MISS};
/* Alder Lake / Raptor Lake P-cores (cpu_core); libpfm4 4.13 has no table for them. */
static const struct pmu_preset_event adl_sharing[] = {
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_FWD", NULL, 0xd2, 0x04, NULL,
	 "P-core retired loads served by another core's cache that forwarded the line"},
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_NO_FWD", NULL, 0xd2, 0x02, NULL,
	 "P-core retired loads whose L3 hit snooped another core without a forward"},
};
static const struct pmu_preset_event adl_cache[] = {L1D_MISS, RET_L2_MISS(NULL), LLC_MISS};

/* --- AMD -------------------------------------------------------------------- */

/*
 * The kernel maps no generic LLC event on family 17h and later (LLC-load-misses
 * fails to open), so `cache` counts L1 fills from DRAM instead: the loads the
 * L3 did not serve, as seen by this core.
 */
#define AMD_L2_MISS(pfm)                                                                   \
	{"l2_cache_req_stat.ls_rd_blk_c", NULL, 0x64, 0x08,                                \
	 pfm "::CORE_TO_L2_CACHEABLE_REQUEST_ACCESS_STATUS:LS_RD_BLK_C",                  \
	 "data cache requests that missed L2 (not counting L2 prefetches)"}

/* Zen 2: amdzen2/memory.json (0x43), amdzen2/cache.json (0x64). */
static const struct pmu_preset_event zen2_sharing[] = {
	{"ls_refills_from_sys.ls_mabresp_lcl_cache", NULL, 0x43, 0x02,
	 "amd64_fam17h_zen2::DATA_CACHE_REFILLS_FROM_SYSTEM:LS_MABRESP_LCL_CACHE",
	 "demand fills from another cache on this die: this CCX's L3 or another core's L2 "
	 "(mixes in L3 hits), or another CCX when the line's home is this die"},
	{"ls_refills_from_sys.ls_mabresp_rmt_cache", NULL, 0x43, 0x10,
	 "amd64_fam17h_zen2::DATA_CACHE_REFILLS_FROM_SYSTEM:LS_MABRESP_RMT_CACHE",
	 "demand fills from a cache of another CCX when the line's home is another die"},
};
static const struct pmu_preset_event zen2_cache[] = {
	L1D_MISS,
	AMD_L2_MISS("amd64_fam17h_zen2"),
	{"ls_refills_from_sys.ls_mabresp_lcl_dram", NULL, 0x43, 0x08,
	 "amd64_fam17h_zen2::DATA_CACHE_REFILLS_FROM_SYSTEM:LS_MABRESP_LCL_DRAM",
	 "demand fills from DRAM or IO of this die (missed every cache)"},
	{"ls_refills_from_sys.ls_mabresp_rmt_dram", NULL, 0x43, 0x40,
	 "amd64_fam17h_zen2::DATA_CACHE_REFILLS_FROM_SYSTEM:LS_MABRESP_RMT_DRAM",
	 "demand fills from DRAM or IO of another die (missed every cache)"},
};

/* Zen 3: amdzen3/memory.json (0x44), amdzen3/recommended.json (0x64, 0x44/0x48). */
static const struct pmu_preset_event zen3_sharing[] = {
	{"ls_any_fills_from_sys.int_cache", NULL, 0x44, 0x02,
	 "amd64_fam19h_zen3::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:INT_CACHE",
	 "fills from L3 or another core's L2 in this CCX (mixes in plain L3 hits)"},
	{"ls_any_fills_from_sys.ext_cache_local", NULL, 0x44, 0x04,
	 "amd64_fam19h_zen3::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_LCL",
	 "fills from the cache of another CCX in this node"},
	{"ls_any_fills_from_sys.ext_cache_remote", NULL, 0x44, 0x10,
	 "amd64_fam19h_zen3::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_RMT",
	 "fills from the cache of a CCX in another node"},
};
static const struct pmu_preset_event zen3_cache[] = {
	L1D_MISS,
	AMD_L2_MISS("amd64_fam19h_zen3"),
	{"l1_data_cache_fills_from_memory", NULL, 0x44, 0x48,
	 "amd64_fam19h_zen3::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:MEM_IO_LCL:MEM_IO_RMT",
	 "L1 fills from DRAM or IO of any node: what the L3 did not serve"},
};

/* Zen 4: amdzen4/cache.json (0x44 and 0x64). */
static const struct pmu_preset_event zen4_sharing[] = {
	{"ls_any_fills_from_sys.local_ccx", NULL, 0x44, 0x02,
	 "amd64_fam19h_zen4::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:LOCAL_CCX",
	 "fills from L3 or another core's L2 in this CCX (mixes in plain L3 hits)"},
	{"ls_any_fills_from_sys.near_cache", NULL, 0x44, 0x04,
	 "amd64_fam19h_zen4::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:NEAR_CACHE_NEAR_FAR",
	 "fills from the cache of another CCX when the line's home is this node"},
	{"ls_any_fills_from_sys.far_cache", NULL, 0x44, 0x10,
	 "amd64_fam19h_zen4::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:FAR_CACHE_NEAR_FAR",
	 "fills from the cache of another CCX when the line's home is another node"},
};
static const struct pmu_preset_event zen4_cache[] = {
	L1D_MISS,
	AMD_L2_MISS("amd64_fam19h_zen4"),
	{"ls_any_fills_from_sys.dram_io_all", NULL, 0x44, 0x48,
	 "amd64_fam19h_zen4::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:DRAM_IO_NEAR:DRAM_IO_FAR",
	 "L1 fills from DRAM or MMIO of any node: what the L3 did not serve"},
};

/* Zen 5: amdzen5/load-store.json (0x44), amdzen5/l2-cache.json (0x64); no libpfm4 4.13 table. */
static const struct pmu_preset_event zen5_sharing[] = {
	{"ls_any_fills_from_sys.local_ccx", NULL, 0x44, 0x02, NULL,
	 "fills from L3 or another core's L2 in this CCX (mixes in plain L3 hits)"},
	{"ls_any_fills_from_sys.near_cache", NULL, 0x44, 0x04, NULL,
	 "fills from the cache of another CCX when the line's home is this node"},
	{"ls_any_fills_from_sys.far_cache", NULL, 0x44, 0x10, NULL,
	 "fills from the cache of another CCX when the line's home is another node"},
};
static const struct pmu_preset_event zen5_cache[] = {
	L1D_MISS,
	{"l2_cache_req_stat.ls_rd_blk_c", NULL, 0x64, 0x08, NULL,
	 "data cache requests that missed L2 (not counting L2 prefetches)"},
	{"ls_any_fills_from_sys.dram_io_all", NULL, 0x44, 0x48, NULL,
	 "L1 fills from DRAM or MMIO of any node: what the L3 did not serve"},
};

#define ROW(lbl, vend, fam, mdl, step, src, hyb, sh, ca)                                   \
	{lbl, vend, fam, mdl, step, "tools/perf/pmu-events/arch/x86/" src, hyb, sh, N(sh), ca, \
	 N(ca)}
#define INTEL "GenuineIntel"
#define AMD "AuthenticAMD"

/* Model lists as tools/perf/pmu-events/arch/x86/mapfile.csv gives them. */
static const struct pmu_preset_row rows[] = {
	ROW("Intel Sandy Bridge", INTEL, 6, "2a", NULL, "sandybridge/cache.json", false,
	    snb_sharing, snb_cache),
	ROW("Intel Sandy Bridge-EP", INTEL, 6, "2d", NULL, "jaketown/cache.json", false,
	    snbep_sharing, snb_cache),
	ROW("Intel Ivy Bridge", INTEL, 6, "3a", NULL, "ivybridge/cache.json", false, ivb_sharing,
	    ivb_cache),
	ROW("Intel Ivy Bridge-EP", INTEL, 6, "3e", NULL, "ivytown/cache.json", false, ivt_sharing,
	    ivt_cache),
	ROW("Intel Haswell", INTEL, 6, "3c,45,46", NULL, "haswell/cache.json", false, hsw_sharing,
	    hsw_cache),
	ROW("Intel Haswell-EP", INTEL, 6, "3f", NULL, "haswellx/cache.json", false, hsx_sharing,
	    hsx_cache),
	ROW("Intel Broadwell", INTEL, 6, "3d,47", NULL, "broadwell/cache.json", false,
	    bdw_sharing, bdw_cache),
	ROW("Intel Broadwell-DE", INTEL, 6, "56", NULL, "broadwellde/cache.json", false,
	    bdwde_sharing, bdx_cache),
	ROW("Intel Broadwell-EP", INTEL, 6, "4f", NULL, "broadwellx/cache.json", false,
	    bdx_sharing, bdx_cache),
	ROW("Intel Skylake (client, incl. Kaby/Coffee/Comet Lake)", INTEL, 6, "4e,5e,8e,9e,a5,a6",
	    NULL, "skylake/cache.json", false, skl_sharing, skl_cache),
	ROW("Intel Skylake-SP", INTEL, 6, "55", "0-4", "skylakex/cache.json", false, skx_sharing,
	    skx_cache),
	ROW("Intel Cascade Lake-SP", INTEL, 6, "55", "5-f", "cascadelakex/cache.json", false,
	    clx_sharing, clx_cache),
	ROW("Intel Ice Lake (client)", INTEL, 6, "7d,7e", NULL, "icelake/cache.json", false,
	    icl_sharing, icl_cache),
	ROW("Intel Ice Lake-SP", INTEL, 6, "6a,6c", NULL, "icelakex/cache.json", false,
	    icx_sharing, icx_cache),
	ROW("Intel Sapphire/Emerald Rapids", INTEL, 6, "8f,cf", NULL,
	    "sapphirerapids/cache.json", false, spr_sharing, spr_cache),
	ROW("Intel Alder/Raptor Lake (P-cores)", INTEL, 6, "97,9a,b7,ba,bf", NULL,
	    "alderlake/cache.json", true, adl_sharing, adl_cache),
	ROW("AMD Zen 2", AMD, 0x17, "30-ff", NULL, "amdzen2/memory.json", false, zen2_sharing,
	    zen2_cache),
	ROW("AMD Zen 3", AMD, 0x19, "00-0f,20-5f", NULL, "amdzen3/memory.json", false,
	    zen3_sharing, zen3_cache),
	ROW("AMD Zen 4", AMD, 0x19, "10-1f,60-ff", NULL, "amdzen4/cache.json", false,
	    zen4_sharing, zen4_cache),
	ROW("AMD Zen 5", AMD, 0x1a, "00-ff", NULL, "amdzen5/load-store.json", false, zen5_sharing,
	    zen5_cache),
};

const struct pmu_preset_row *pmu_preset_row(size_t i)
{
	return i < N(rows) ? &rows[i] : NULL;
}

/* "10-1f,60-ff" (hex) covers v? */
static bool in_ranges(const char *ranges, unsigned v)
{
	const char *p = ranges;
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 16), hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 16);
		if (v >= lo && v <= hi)
			return true;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			break; /* malformed: the unit tests walk every row, so this never ships */
	}
	return false;
}

bool pmu_preset_row_covers(const struct pmu_preset_row *r, const struct pmu_cpu *cpu)
{
	return strcmp(r->vendor, cpu->vendor) == 0 && r->family == cpu->family &&
	       in_ranges(r->models, cpu->model) &&
	       (!r->steppings || in_ranges(r->steppings, cpu->stepping));
}

const struct pmu_preset_row *pmu_preset_match(const struct pmu_cpu *cpu)
{
	for (size_t i = 0; i < N(rows); i++)
		if (pmu_preset_row_covers(&rows[i], cpu))
			return &rows[i];
	return NULL;
}

/* --- expansion --------------------------------------------------------------- */

static const struct {
	const char *name;
	const char *summary;
} presets[] = {
	{"sharing", "cache-line transfers between cores (true and false sharing)"},
	{"cache", "L1 data, L2 and last-level cache misses"},
};

bool pmu_preset_is(const char *name)
{
	for (size_t i = 0; i < N(presets); i++)
		if (strcmp(presets[i].name, name) == 0)
			return true;
	return false;
}

static void init_event(struct pmu_event *ev, const char *name)
{
	memset(ev, 0, sizeof(*ev));
	ev->attr.size = sizeof(ev->attr);
	ev->scale = 1.0;
	ev->group_size = 1;
	snprintf(ev->name, sizeof(ev->name), "%s", name);
}

/* A perf generic name (cache or hardware event) to its attr. */
static int generic_attr(const char *name, struct perf_event_attr *a)
{
	uint64_t config;
	if (pmu_cache_lookup(name, &config) == 0) {
		a->type = PERF_TYPE_HW_CACHE;
		a->config = config;
		return 0;
	}
	for (size_t i = 0; i < pmu_generic_events_count; i++)
		if (strcmp(pmu_generic_events[i].name, name) == 0) {
			a->type = pmu_generic_events[i].type;
			a->config = pmu_generic_events[i].config;
			return 0;
		}
	return -ENOENT;
}

/* The hybrid core PMU (cpu_core) when the row wants it and the host has it. */
static const struct pmu_sysfs *hybrid_core(const struct pmu_ctx *ctx,
					   const struct pmu_preset_row *row)
{
	return row && row->hybrid_core ? pmu_sysfs_find(ctx, "cpu_core") : NULL;
}

static int expand_event(const struct pmu_ctx *ctx, const struct pmu_preset_row *row,
			const struct pmu_preset_event *pe, struct pmu_preset_item *it, char *err,
			size_t errlen)
{
	struct pmu_event *ev = &it->ev;
	init_event(ev, pe->name);
	it->what = pe->what;
	const struct pmu_sysfs *core = hybrid_core(ctx, row);
	if (pe->generic) {
		if (generic_attr(pe->generic, &ev->attr) < 0)
			return base_fail(err, errlen, -EINVAL,
					 "preset table: '%s' is not a perf generic event",
					 pe->generic);
		/* On a hybrid, a generic event names its PMU in the config's upper half. */
		if (core && ev->attr.type != PERF_TYPE_SOFTWARE)
			ev->attr.config |= (uint64_t)core->type << 32;
		snprintf(it->how, sizeof(it->how), "generic%s", core ? " (cpu_core)" : "");
		return 0;
	}
	/* libpfm4 where it knows this CPU: it answers "not found" for a PMU it did not detect. */
	char pfm_err[BASE_ERR_MAX];
	struct perf_event_attr pa;
	if (pe->pfm && pmu_pfm_init() == 0 &&
	    pmu_pfm_encode(pe->pfm, &pa, sizeof(pa), pfm_err, sizeof(pfm_err)) == 0) {
		/* Only the encoding: privilege levels stay the parser's (modifiers). */
		ev->attr.type = pa.type;
		ev->attr.config = pa.config;
		ev->attr.config1 = pa.config1;
		ev->attr.config2 = pa.config2;
		snprintf(it->how, sizeof(it->how), "libpfm4 %s", pe->pfm);
		return 0;
	}
	/* x86 raw layout: event bits 0-7 and 32-35 (AMD's extended select), umask 8-15. */
	ev->attr.type = core ? core->type : PERF_TYPE_RAW;
	ev->attr.config = (uint64_t)(pe->event & 0xff) | (uint64_t)pe->umask << 8 |
			  (uint64_t)((pe->event >> 8) & 0xf) << 32;
	if (core)
		snprintf(it->how, sizeof(it->how), "cpu_core/event=%#x,umask=%#x/", pe->event,
			 pe->umask);
	else
		snprintf(it->how, sizeof(it->how), "raw r%04llx", (unsigned long long)ev->attr.config);
	return 0;
}

/* The generic events `cache` falls back to where the table has no row. */
static const struct pmu_preset_event fallback_cache[] = {L1D_MISS, LLC_MISS};
/* AMD family 17h+ has no generic LLC mapping; cache-misses is its L2-miss count. */
static const struct pmu_preset_event fallback_cache_amd[] = {
	L1D_MISS,
	{"cache-misses", "cache-misses", 0, 0, NULL,
	 "cache misses (perf generic; on AMD the kernel counts L2 misses)"},
};

int pmu_preset_expand(const struct pmu_ctx *ctx, const char *name, struct pmu_preset_item *items,
		      size_t *n, char *notice, size_t noticelen, char *err, size_t errlen)
{
	*n = 0;
	if (notice && noticelen)
		notice[0] = 0;
	if (!pmu_preset_is(name))
		return base_fail(err, errlen, -ENOENT,
				 "'%s' is not a preset (presets: sharing, cache)", name);
	bool sharing = strcmp(name, "sharing") == 0;
	const struct pmu_preset_row *row = pmu_preset_match(&ctx->cpu);
	const struct pmu_preset_event *evs;
	size_t count;
	char cpu[160];
	pmu_cpu_describe(&ctx->cpu, cpu, sizeof(cpu));
	if (row) {
		evs = sharing ? row->sharing : row->cache;
		count = sharing ? row->nsharing : row->ncache;
	} else if (sharing) {
		return base_fail(
			err, errlen, -ENOENT,
			"preset 'sharing': no cache-coherence event is known for %s (the "
			"table covers Intel Sandy Bridge to Sapphire Rapids and AMD Zen 2 to "
			"Zen 5); confirm a suspected line with 'pmuprof c2c watch', or record "
			"'perf c2c record' on a PEBS/IBS host and read it with 'pmuprof "
			"import --c2c'",
			cpu);
	} else {
		bool amd = strcmp(ctx->cpu.vendor, AMD) == 0;
		evs = amd ? fallback_cache_amd : fallback_cache;
		count = amd ? N(fallback_cache_amd) : N(fallback_cache);
		if (notice && noticelen)
			snprintf(notice, noticelen,
				 "preset 'cache': no vendor events are known for %s; using the generic "
				 "events %s,%s instead",
				 cpu, evs[0].name, evs[1].name);
	}
	if (count > PMU_PRESET_MAX)
		return base_fail(err, errlen, -E2BIG, "preset table: too many events for '%s'",
				 name);
	for (size_t i = 0; i < count; i++) {
		int ret = expand_event(ctx, row, &evs[i], &items[i], err, errlen);
		if (ret < 0)
			return ret;
	}
	*n = count;
	return 0;
}

/* --- listing ------------------------------------------------------------------ */

int pmu_preset_list(const struct pmu_ctx *ctx, bool no_hw,
		    int (*fn)(const struct pmu_list_entry *e, void *arg), void *arg)
{
	char cpu[160];
	pmu_cpu_describe(&ctx->cpu, cpu, sizeof(cpu));
	for (size_t p = 0; p < N(presets); p++) {
		struct pmu_preset_item items[PMU_PRESET_MAX];
		size_t n = 0;
		char notice[BASE_ERR_MAX], why[BASE_ERR_MAX];
		char desc[4096];
		size_t used = (size_t)snprintf(desc, sizeof(desc), "%s", presets[p].summary);
		int ret = pmu_preset_expand(ctx, presets[p].name, items, &n, notice, sizeof(notice),
					    why, sizeof(why));
		/* Each expanded event on its own line: its name, its encoding, what it counts. */
		for (size_t i = 0; ret == 0 && i < n && used < sizeof(desc); i++)
			used += (size_t)snprintf(desc + used, sizeof(desc) - used,
						 "\n= %s  [%s]  %s", items[i].ev.name,
						 items[i].how, items[i].what);
		if (ret < 0 && used < sizeof(desc))
			used += (size_t)snprintf(desc + used, sizeof(desc) - used, "\n%s", why);
		if (ret == 0 && *notice && used < sizeof(desc))
			used += (size_t)snprintf(desc + used, sizeof(desc) - used, "\n%s", notice);
		if (no_hw && ret == 0 && used < sizeof(desc))
			snprintf(desc + used, sizeof(desc) - used,
				 "\n(cannot be opened here: this host exposes no hardware PMU)");
		struct pmu_list_entry e = {
			.group = PMU_LIST_PRESET, .pmu = cpu, .name = presets[p].name, .desc = desc};
		if ((ret = fn(&e, arg)) != 0)
			return ret;
	}
	return 0;
}
