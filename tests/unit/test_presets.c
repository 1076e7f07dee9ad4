/*
 * Unit tests of the event presets (`-e sharing`, `-e cache`): the expansion
 * for every vendor/family row of the table with exact type/config values and
 * display names, the model lists (perf's mapfile.csv), presets combined with
 * other events, modifiers and groups, the unknown-CPU messages, the CPU id
 * from PMUPROF_CPUID and /proc/cpuinfo, the `list` entries, and the libpfm4
 * path: this binary forces libpfm4's Zen 3 table (LIBPFM_FORCE_PMU), and runs
 * itself once per libpfm4 table the preset table names to check that each
 * libpfm4 spelling encodes to the table's raw code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pfm.h"
#include "pmu_internal.h"

#define FORCED_PFM "amd64_fam19h_zen3" /* the libpfm4 table this process uses */

static struct pmu_ctx *g_ctx; /* tests/data/sysfs: a core PMU "cpu" of type 4 */

static int setup(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	if (pmu_ctx_new(&g_ctx, TEST_SYSFS_ROOT, err, sizeof(err)) < 0) {
		print_error("%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pmu_ctx_free(g_ctx);
	return 0;
}

static void set_cpu(struct pmu_ctx *ctx, const char *id)
{
	char err[BASE_ERR_MAX];
	if (pmu_cpu_parse(id, &ctx->cpu, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/* --- expected expansions ------------------------------------------------------ */

struct exp_ev {
	const char *name;
	uint32_t type;
	uint64_t config;
};

#define HWC PERF_TYPE_HW_CACHE
#define RAW PERF_TYPE_RAW
#define L1D {"L1-dcache-load-misses", HWC, 0x10000}
#define LLC {"LLC-load-misses", HWC, 0x10002}

struct exp_case {
	const char *cpuid;
	const char *row; /* label of the table row it must match */
	const char *preset;
	struct exp_ev ev[PMU_PRESET_MAX];
};

#define SNB_SH                                                                              \
	{"MEM_LOAD_UOPS_LLC_HIT_RETIRED.XSNP_HITM", RAW, 0x04d2},                           \
	{"MEM_LOAD_UOPS_LLC_HIT_RETIRED.XSNP_HIT", RAW, 0x02d2}
#define HSW_SH                                                                              \
	{"MEM_LOAD_UOPS_L3_HIT_RETIRED.XSNP_HITM", RAW, 0x04d2},                            \
	{"MEM_LOAD_UOPS_L3_HIT_RETIRED.XSNP_HIT", RAW, 0x02d2}
#define HSX_RMT                                                                             \
	{"MEM_LOAD_UOPS_L3_MISS_RETIRED.REMOTE_HITM", RAW, 0x10d3},                         \
	{"MEM_LOAD_UOPS_L3_MISS_RETIRED.REMOTE_FWD", RAW, 0x20d3}
#define SKL_SH                                                                              \
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_HITM", RAW, 0x04d2},                                 \
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_HIT", RAW, 0x02d2}
#define ICL_SH                                                                              \
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_FWD", RAW, 0x04d2},                                  \
	{"MEM_LOAD_L3_HIT_RETIRED.XSNP_NO_FWD", RAW, 0x02d2}
#define SKX_RMT                                                                             \
	{"MEM_LOAD_L3_MISS_RETIRED.REMOTE_HITM", RAW, 0x04d3},                              \
	{"MEM_LOAD_L3_MISS_RETIRED.REMOTE_FWD", RAW, 0x08d3}
#define UOPS_L2 {"MEM_LOAD_UOPS_RETIRED.L2_MISS", RAW, 0x10d1}
#define RET_L2 {"MEM_LOAD_RETIRED.L2_MISS", RAW, 0x10d1}
#define AMD_L2 {"l2_cache_req_stat.ls_rd_blk_c", RAW, 0x0864}
#define ZEN3_SH                                                                             \
	{"ls_any_fills_from_sys.int_cache", RAW, 0x0244},                                   \
	{"ls_any_fills_from_sys.ext_cache_local", RAW, 0x0444},                             \
	{"ls_any_fills_from_sys.ext_cache_remote", RAW, 0x1044}
#define ZEN4_SH                                                                             \
	{"ls_any_fills_from_sys.local_ccx", RAW, 0x0244},                                   \
	{"ls_any_fills_from_sys.near_cache", RAW, 0x0444},                                  \
	{"ls_any_fills_from_sys.far_cache", RAW, 0x1044}
#define ZEN4_CA L1D, AMD_L2, {"ls_any_fills_from_sys.dram_io_all", RAW, 0x4844}

static const struct exp_case cases[] = {
	/* Intel, family 6, models from mapfile.csv */
	{"GenuineIntel-6-2A", "Intel Sandy Bridge", "sharing", {SNB_SH}},
	{"GenuineIntel-6-2A", "Intel Sandy Bridge", "cache", {L1D, LLC}},
	{"GenuineIntel-6-2D", "Intel Sandy Bridge-EP", "sharing", {SNB_SH}},
	{"GenuineIntel-6-2D", "Intel Sandy Bridge-EP", "cache", {L1D, LLC}},
	{"GenuineIntel-6-3A", "Intel Ivy Bridge", "sharing", {SNB_SH}},
	{"GenuineIntel-6-3A", "Intel Ivy Bridge", "cache", {L1D, UOPS_L2, LLC}},
	{"GenuineIntel-6-3E", "Intel Ivy Bridge-EP", "sharing",
	 {SNB_SH, {"MEM_LOAD_UOPS_LLC_MISS_RETIRED.REMOTE_HITM", RAW, 0x10d3},
	  {"MEM_LOAD_UOPS_LLC_MISS_RETIRED.REMOTE_FWD", RAW, 0x20d3}}},
	{"GenuineIntel-6-3E", "Intel Ivy Bridge-EP", "cache", {L1D, UOPS_L2, LLC}},
	{"GenuineIntel-6-3C", "Intel Haswell", "sharing", {HSW_SH}},
	{"GenuineIntel-6-45", "Intel Haswell", "sharing", {HSW_SH}},
	{"GenuineIntel-6-46", "Intel Haswell", "cache", {L1D, UOPS_L2, LLC}},
	{"GenuineIntel-6-3F", "Intel Haswell-EP", "sharing", {HSW_SH, HSX_RMT}},
	{"GenuineIntel-6-3F", "Intel Haswell-EP", "cache", {L1D, UOPS_L2, LLC}},
	{"GenuineIntel-6-3D", "Intel Broadwell", "sharing", {HSW_SH}},
	{"GenuineIntel-6-47", "Intel Broadwell", "cache", {L1D, UOPS_L2, LLC}},
	{"GenuineIntel-6-56", "Intel Broadwell-DE", "sharing", {HSW_SH}},
	{"GenuineIntel-6-4F", "Intel Broadwell-EP", "sharing", {HSW_SH, HSX_RMT}},
	{"GenuineIntel-6-4F", "Intel Broadwell-EP", "cache", {L1D, UOPS_L2, LLC}},
	{"GenuineIntel-6-4E", "Intel Skylake (client, incl. Kaby/Coffee/Comet Lake)", "sharing",
	 {SKL_SH}},
	{"GenuineIntel-6-5E", "Intel Skylake (client, incl. Kaby/Coffee/Comet Lake)", "cache",
	 {L1D, RET_L2, LLC}},
	{"GenuineIntel-6-8E", "Intel Skylake (client, incl. Kaby/Coffee/Comet Lake)", "sharing",
	 {SKL_SH}},
	{"GenuineIntel-6-9E", "Intel Skylake (client, incl. Kaby/Coffee/Comet Lake)", "sharing",
	 {SKL_SH}},
	{"GenuineIntel-6-A5", "Intel Skylake (client, incl. Kaby/Coffee/Comet Lake)", "sharing",
	 {SKL_SH}},
	{"GenuineIntel-6-A6", "Intel Skylake (client, incl. Kaby/Coffee/Comet Lake)", "sharing",
	 {SKL_SH}},
	{"GenuineIntel-6-55-4", "Intel Skylake-SP", "sharing", {SKL_SH, SKX_RMT}},
	{"GenuineIntel-6-55-0", "Intel Skylake-SP", "cache", {L1D, RET_L2, LLC}},
	{"GenuineIntel-6-55-7", "Intel Cascade Lake-SP", "sharing", {SKL_SH, SKX_RMT}},
	{"GenuineIntel-6-55-B", "Intel Cascade Lake-SP", "cache", {L1D, RET_L2, LLC}},
	{"GenuineIntel-6-7D", "Intel Ice Lake (client)", "sharing", {SKL_SH}},
	{"GenuineIntel-6-7E", "Intel Ice Lake (client)", "cache", {L1D, RET_L2, LLC}},
	{"GenuineIntel-6-6A", "Intel Ice Lake-SP", "sharing", {ICL_SH, SKX_RMT}},
	{"GenuineIntel-6-6C", "Intel Ice Lake-SP", "cache", {L1D, RET_L2, LLC}},
	{"GenuineIntel-6-8F", "Intel Sapphire/Emerald Rapids", "sharing", {ICL_SH, SKX_RMT}},
	{"GenuineIntel-6-CF", "Intel Sapphire/Emerald Rapids", "sharing", {ICL_SH, SKX_RMT}},
	{"GenuineIntel-6-8F", "Intel Sapphire/Emerald Rapids", "cache", {L1D, RET_L2, LLC}},
	/* No cpu_core PMU in this tree: raw events stay PERF_TYPE_RAW (see test_hybrid). */
	{"GenuineIntel-6-97", "Intel Alder/Raptor Lake (P-cores)", "sharing", {ICL_SH}},
	{"GenuineIntel-6-9A", "Intel Alder/Raptor Lake (P-cores)", "cache", {L1D, RET_L2, LLC}},
	{"GenuineIntel-6-B7", "Intel Alder/Raptor Lake (P-cores)", "sharing", {ICL_SH}},
	{"GenuineIntel-6-BA", "Intel Alder/Raptor Lake (P-cores)", "sharing", {ICL_SH}},
	{"GenuineIntel-6-BF", "Intel Alder/Raptor Lake (P-cores)", "sharing", {ICL_SH}},
	/* AMD */
	{"AuthenticAMD-23-31", "AMD Zen 2", "sharing",
	 {{"ls_refills_from_sys.ls_mabresp_lcl_cache", RAW, 0x0243},
	  {"ls_refills_from_sys.ls_mabresp_rmt_cache", RAW, 0x1043}}},
	{"AuthenticAMD-23-71", "AMD Zen 2", "cache",
	 {L1D, AMD_L2, {"ls_refills_from_sys.ls_mabresp_lcl_dram", RAW, 0x0843},
	  {"ls_refills_from_sys.ls_mabresp_rmt_dram", RAW, 0x4043}}},
	{"AuthenticAMD-25-1", "AMD Zen 3", "sharing", {ZEN3_SH}},
	{"AuthenticAMD-25-21", "AMD Zen 3", "sharing", {ZEN3_SH}},
	{"AuthenticAMD-25-50", "AMD Zen 3", "cache",
	 {L1D, AMD_L2, {"l1_data_cache_fills_from_memory", RAW, 0x4844}}},
	{"AuthenticAMD-25-11", "AMD Zen 4", "sharing", {ZEN4_SH}},
	{"AuthenticAMD-25-61", "AMD Zen 4", "sharing", {ZEN4_SH}},
	{"AuthenticAMD-25-A0", "AMD Zen 4", "cache", {ZEN4_CA}},
	{"AuthenticAMD-26-2", "AMD Zen 5", "sharing", {ZEN4_SH}},
	{"AuthenticAMD-26-44", "AMD Zen 5", "cache", {ZEN4_CA}},
};

static void expect_case(struct pmu_ctx *ctx, const struct exp_case *c)
{
	set_cpu(ctx, c->cpuid);
	const struct pmu_preset_row *row = pmu_preset_match(&ctx->cpu);
	if (!row || strcmp(row->label, c->row) != 0)
		fail_msg("%s: row '%s', expected '%s'", c->cpuid, row ? row->label : "(none)",
			 c->row);
	struct pmu_event_list l = {0};
	char err[BASE_ERR_MAX] = "";
	if (pmu_parse_events(ctx, c->preset, &l, err, sizeof(err)) < 0)
		fail_msg("%s %s: %s", c->cpuid, c->preset, err);
	size_t n = 0;
	while (n < PMU_PRESET_MAX && c->ev[n].name)
		n++;
	if (l.n != n)
		fail_msg("%s %s: %zu events, expected %zu", c->cpuid, c->preset, l.n, n);
	for (size_t i = 0; i < n; i++) {
		const struct pmu_event *ev = &l.ev[i];
		if (strcmp(ev->name, c->ev[i].name) != 0 || ev->attr.type != c->ev[i].type ||
		    ev->attr.config != c->ev[i].config)
			fail_msg("%s %s event %zu: '%s' type %u config %#llx; expected '%s' %u %#llx",
				 c->cpuid, c->preset, i, ev->name, ev->attr.type,
				 (unsigned long long)ev->attr.config, c->ev[i].name, c->ev[i].type,
				 (unsigned long long)c->ev[i].config);
		/* Each its own sample type: no groups, default privilege, no precise. */
		assert_int_equal(ev->leader, (int)i);
		assert_int_equal(ev->group_size, 1);
		assert_int_equal(ev->attr.size, sizeof(ev->attr));
		assert_int_equal(ev->attr.exclude_user | ev->attr.exclude_kernel |
					 ev->attr.exclude_hv | ev->attr.precise_ip,
				 0);
		assert_int_equal(ev->attr.config1, 0);
	}
	assert_string_equal(l.notice, "");
	pmu_event_list_free(&l);
}

static void test_expansion_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_case(g_ctx, &cases[i]);
}

/* Every row: well-formed ranges, no CPU matched by two rows, sane event lists. */
static void test_table_sanity(void **state)
{
	(void)state;
	const struct pmu_preset_row *r;
	for (size_t i = 0; (r = pmu_preset_row(i)) != NULL; i++) {
		assert_non_null(strstr(r->source, "tools/perf/pmu-events/arch/x86/"));
		assert_true(r->nsharing >= 1 && r->nsharing <= PMU_PRESET_MAX);
		assert_true(r->ncache >= 2 && r->ncache <= PMU_PRESET_MAX);
		size_t hits = 0;
		for (unsigned model = 0; model < 256; model++)
			for (unsigned step = 0; step < 16; step++) {
				struct pmu_cpu cpu = {.family = r->family, .model = model,
						      .stepping = step};
				snprintf(cpu.vendor, sizeof(cpu.vendor), "%s", r->vendor);
				size_t covering = 0;
				for (size_t j = 0; pmu_preset_row(j); j++)
					covering += pmu_preset_row_covers(pmu_preset_row(j), &cpu);
				if (covering > 1)
					fail_msg("%s family %#x model %#x stepping %#x: %zu rows",
						 r->vendor, r->family, model, step, covering);
				hits += pmu_preset_match(&cpu) == r;
			}
		if (hits == 0)
			fail_msg("row '%s' matches no CPU (models '%s')", r->label, r->models);
		const struct pmu_preset_event *lists[2] = {r->sharing, r->cache};
		size_t lens[2] = {r->nsharing, r->ncache};
		for (size_t l = 0; l < 2; l++)
			for (size_t a = 0; a < lens[l]; a++) {
				assert_non_null(lists[l][a].what);
				for (size_t b = a + 1; b < lens[l]; b++)
					assert_string_not_equal(lists[l][a].name, lists[l][b].name);
			}
	}
}

static void test_hybrid(void **state)
{
	(void)state;
	/* Alder Lake with its cpu_core PMU: raw events and generic ones name the P-core PMU. */
	char root[512], err[BASE_ERR_MAX];
	snprintf(root, sizeof(root), "%s/sysfs-pebs/alderlake", TEST_DATA_DIR);
	struct pmu_ctx *ctx;
	assert_int_equal(pmu_ctx_new(&ctx, root, err, sizeof(err)), 0);
	set_cpu(ctx, "GenuineIntel-6-97");
	struct pmu_event_list l = {0};
	assert_int_equal(pmu_parse_events(ctx, "sharing,cache", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.ev[0].name, "MEM_LOAD_L3_HIT_RETIRED.XSNP_FWD");
	assert_int_equal(l.ev[0].attr.type, 4); /* cpu_core's type in this tree */
	assert_int_equal(l.ev[0].attr.config, 0x04d2);
	assert_string_equal(l.ev[2].name, "L1-dcache-load-misses");
	assert_int_equal(l.ev[2].attr.type, PERF_TYPE_HW_CACHE);
	assert_int_equal(l.ev[2].attr.config, 0x10000 | 4ULL << 32);
	assert_int_equal(l.ev[3].attr.config, 0x10d1);
	assert_int_equal(l.ev[4].attr.config, 0x10002 | 4ULL << 32);
	struct pmu_preset_item items[PMU_PRESET_MAX];
	size_t n;
	char notice[BASE_ERR_MAX];
	assert_int_equal(pmu_preset_expand(ctx, "sharing", items, &n, notice, sizeof(notice), err,
					   sizeof(err)),
			 0);
	assert_string_equal(items[0].how, "cpu_core/event=0xd2,umask=0x4/");
	pmu_event_list_free(&l);
	pmu_ctx_free(ctx);
}

/* --- combination with other events ------------------------------------------------ */

static void test_combinations(void **state)
{
	(void)state;
	set_cpu(g_ctx, "AuthenticAMD-26-2");
	struct pmu_event_list l = {0};
	char err[BASE_ERR_MAX];

	assert_int_equal(pmu_parse_events(g_ctx, "sharing,cycles", &l, err, sizeof(err)), 0);
	const char *const names[] = {"ls_any_fills_from_sys.local_ccx",
				     "ls_any_fills_from_sys.near_cache",
				     "ls_any_fills_from_sys.far_cache", "cycles"};
	assert_int_equal(l.n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(l.ev[i].name, names[i]);
		assert_int_equal(l.ev[i].leader, (int)i);
	}
	assert_int_equal(l.ev[3].attr.type, PERF_TYPE_HARDWARE);
	pmu_event_list_free(&l);

	/* Modifiers apply to every expanded event and show in its name. */
	assert_int_equal(pmu_parse_events(g_ctx, "cycles,cache:u", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.ev[1].name, "L1-dcache-load-misses:u");
	assert_string_equal(l.ev[3].name, "ls_any_fills_from_sys.dram_io_all:u");
	for (size_t i = 1; i < 4; i++) {
		assert_int_equal(l.ev[i].attr.exclude_user, 0);
		assert_int_equal(l.ev[i].attr.exclude_kernel, 1);
		assert_true(l.ev[i].priv_explicit);
	}
	pmu_event_list_free(&l);

	/* In a group, each expanded event is a member; group modifiers reach them all. */
	assert_int_equal(pmu_parse_events(g_ctx, "{cycles,sharing}:S", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.ev[0].group_size, 4);
	assert_true(l.ev[0].sample_read);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(l.ev[i].leader, 0);
	assert_string_equal(l.ev[0].name, "cycles:S");
	assert_string_equal(l.ev[1].name, "ls_any_fills_from_sys.local_ccx:S");
	pmu_event_list_free(&l);

	/* Twice is allowed (perf allows repeated events); a bad modifier is not. */
	assert_int_equal(pmu_parse_events(g_ctx, "sharing,sharing", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 6);
	pmu_event_list_free(&l);
	assert_int_equal(pmu_parse_events(g_ctx, "cycles,sharing:q", &l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid modifier 'q'"));
	assert_int_equal(l.n, 0);
	pmu_event_list_free(&l);

	/* Names that only start like a preset are ordinary events. */
	assert_int_equal(pmu_parse_events(g_ctx, "cache-misses", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ev[0].attr.type, PERF_TYPE_HARDWARE);
	pmu_event_list_free(&l);
}

/* --- CPUs the table lacks ---------------------------------------------------------- */

static void test_unknown_cpu(void **state)
{
	(void)state;
	struct pmu_event_list l = {0};
	char err[BASE_ERR_MAX];
	/* Nehalem: no coherence event in the table; the list keeps what it had. */
	set_cpu(g_ctx, "GenuineIntel-6-1A");
	assert_int_equal(pmu_parse_events(g_ctx, "cycles", &l, err, sizeof(err)), 0);
	assert_int_equal(pmu_parse_events(g_ctx, "sharing", &l, err, sizeof(err)), -ENOENT);
	assert_string_equal(
		err, "preset 'sharing': no cache-coherence event is known for GenuineIntel family "
		     "0x6 model 0x1a stepping 0 (the table covers Intel Sandy Bridge to Sapphire "
		     "Rapids and AMD Zen 2 to Zen 5); confirm a suspected line with 'pmuprof c2c "
		     "watch', or record 'perf c2c record' on a PEBS/IBS host and read it with "
		     "'pmuprof import --c2c'");
	assert_int_equal(l.n, 1);
	pmu_event_list_free(&l);

	/* `cache` falls back to the generic events, with a one-line notice. */
	assert_int_equal(pmu_parse_events(g_ctx, "cache", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ev[0].name, "L1-dcache-load-misses");
	assert_string_equal(l.ev[1].name, "LLC-load-misses");
	assert_int_equal(l.ev[1].attr.config, 0x10002);
	assert_string_equal(l.notice,
			    "preset 'cache': no vendor events are known for GenuineIntel family "
			    "0x6 model 0x1a stepping 0; using the generic events "
			    "L1-dcache-load-misses,LLC-load-misses instead");
	pmu_event_list_free(&l);
	assert_string_equal(l.notice, "");

	/* AMD before Zen 2: the kernel has no generic LLC event there; cache-misses instead. */
	set_cpu(g_ctx, "AuthenticAMD-23-1");
	assert_int_equal(pmu_parse_events(g_ctx, "cache", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ev[1].name, "cache-misses");
	assert_int_equal(l.ev[1].attr.type, PERF_TYPE_HARDWARE);
	assert_non_null(strstr(l.notice, "AuthenticAMD family 0x17 model 0x01"));
	assert_non_null(strstr(l.notice, "L1-dcache-load-misses,cache-misses"));
	pmu_event_list_free(&l);

	/* No vendor at all (a non-x86 cpuinfo). */
	memset(&g_ctx->cpu, 0, sizeof(g_ctx->cpu));
	assert_int_equal(pmu_parse_events(g_ctx, "sharing", &l, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "an unidentified CPU"));
	pmu_event_list_free(&l);
}

/* --- the CPU id ------------------------------------------------------------------ */

static void test_cpu_id(void **state)
{
	(void)state;
	struct pmu_cpu cpu;
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_cpu_parse("AuthenticAMD-26-2", &cpu, err, sizeof(err)), 0);
	assert_string_equal(cpu.vendor, "AuthenticAMD");
	assert_int_equal(cpu.family, 26);
	assert_int_equal(cpu.model, 2);
	assert_int_equal(cpu.stepping, 0);
	assert_int_equal(pmu_cpu_parse("GenuineIntel-6-55-4", &cpu, err, sizeof(err)), 0);
	assert_int_equal(cpu.model, 0x55);
	assert_int_equal(cpu.stepping, 4);
	const char *const bad[] = {"", "GenuineIntel", "GenuineIntel-6", "GenuineIntel-x-55",
				   "GenuineIntel-6-5G", "GenuineIntel-6-55-4-1",
				   "AVendorNameThatIsTooLong-6-55"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pmu_cpu_parse(bad[i], &cpu, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "expected vendor-family-model"));
	}

	/* PMUPROF_CPUID reaches a new context; a malformed one fails it. */
	setenv("PMUPROF_CPUID", "GenuineIntel-6-55-4", 1);
	struct pmu_ctx *ctx = NULL;
	assert_int_equal(pmu_ctx_new(&ctx, TEST_SYSFS_ROOT, err, sizeof(err)), 0);
	assert_int_equal(pmu_ctx_cpu(ctx)->model, 0x55);
	char desc[160];
	pmu_cpu_describe(pmu_ctx_cpu(ctx), desc, sizeof(desc));
	assert_string_equal(desc, "GenuineIntel family 0x6 model 0x55 stepping 4 (Intel Skylake-SP)");
	pmu_ctx_free(ctx);
	setenv("PMUPROF_CPUID", "Intel-Skylake", 1);
	assert_int_equal(pmu_ctx_new(&ctx, TEST_SYSFS_ROOT, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "PMUPROF_CPUID: malformed CPU id 'Intel-Skylake'"));
	unsetenv("PMUPROF_CPUID");

	/* /proc/cpuinfo's first processor (this one is from a Zen 5 guest). */
	char path[] = "/tmp/pmuprof-cpuinfo-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n"
	      "model name\t: AMD EPYC\nstepping\t: 1\nmicrocode\t: 0x1000065\n\n"
	      "processor\t: 1\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n",
	      f);
	fclose(f);
	int ret = pmu_cpu_from_cpuinfo(path, &cpu);
	unlink(path);
	assert_int_equal(ret, 0);
	assert_string_equal(cpu.vendor, "AuthenticAMD");
	assert_int_equal(cpu.family, 26);
	assert_int_equal(cpu.model, 2);
	assert_int_equal(cpu.stepping, 1);
	assert_int_equal(pmu_cpu_from_cpuinfo("/nonexistent/cpuinfo", &cpu), -ENOENT);
}

/* --- list entries ------------------------------------------------------------------ */

struct collect {
	char text[8192];
	size_t presets;
	int first_other; /* group of the first non-preset entry */
};

static int collect_entry(const struct pmu_list_entry *e, void *arg)
{
	struct collect *c = arg;
	if (e->group != PMU_LIST_PRESET) {
		if (c->first_other < 0)
			c->first_other = (int)e->group;
		return 0;
	}
	if (c->first_other >= 0)
		fail_msg("preset '%s' listed after other events", e->name);
	c->presets++;
	size_t used = strlen(c->text);
	snprintf(c->text + used, sizeof(c->text) - used, "[%s] %s: %s\n", e->pmu, e->name,
		 e->desc);
	return 0;
}

static void test_list(void **state)
{
	(void)state;
	set_cpu(g_ctx, "AuthenticAMD-26-2");
	struct collect c = {.first_other = -1};
	assert_int_equal(pmu_list_events(g_ctx, false, collect_entry, &c), 0);
	assert_int_equal(c.presets, 2);
	assert_non_null(strstr(c.text, "[AuthenticAMD family 0x1a model 0x02 stepping 0 (AMD Zen 5)] "
				       "sharing: cache-line transfers between cores"));
	assert_non_null(strstr(c.text, "\n= ls_any_fills_from_sys.near_cache  [raw r0444]  fills "
				       "from the cache of another CCX"));
	assert_non_null(strstr(c.text, "\n= L1-dcache-load-misses  [generic]"));
	assert_null(strstr(c.text, "cannot be opened here")); /* probe=false: no claim */

	/* A CPU the table lacks: the entry carries the reason instead of events. */
	set_cpu(g_ctx, "GenuineIntel-6-1A");
	memset(&c, 0, sizeof(c));
	c.first_other = -1;
	assert_int_equal(pmu_list_events(g_ctx, false, collect_entry, &c), 0);
	assert_non_null(strstr(c.text, "no cache-coherence event is known"));
	assert_non_null(strstr(c.text, "= LLC-load-misses  [generic]"));
	assert_non_null(strstr(c.text, "preset 'cache': no vendor events are known"));
}

/* --- libpfm4 --------------------------------------------------------------------- */

/* libpfm4 has its x86 tables only in x86 builds (an arm64 build has Arm's): skip elsewhere. */
static void skip_without_x86_pfm(void)
{
#if !defined(__x86_64__) && !defined(__i386__)
	print_message("skip: this libpfm4 build has no x86 tables (they exist in x86 builds only)\n");
	skip();
#endif
}

static void test_libpfm_path(void **state)
{
	(void)state;
	skip_without_x86_pfm();
	/* This process forced libpfm4's Zen 3 table: Zen 3 rows encode through it. */
	struct pmu_preset_item items[PMU_PRESET_MAX];
	size_t n;
	char notice[BASE_ERR_MAX], err[BASE_ERR_MAX];
	set_cpu(g_ctx, "AuthenticAMD-25-21");
	assert_int_equal(pmu_preset_expand(g_ctx, "sharing", items, &n, notice, sizeof(notice),
					   err, sizeof(err)),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(items[0].how,
			    "libpfm4 " FORCED_PFM "::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:INT_CACHE");
	assert_int_equal(items[0].ev.attr.type, PERF_TYPE_RAW);
	assert_int_equal(items[0].ev.attr.config, 0x0244);
	assert_int_equal(items[2].ev.attr.config, 0x1044);
	/* libpfm4 excludes the hypervisor on AMD; the preset keeps only its encoding. */
	assert_int_equal(items[0].ev.attr.exclude_hv, 0);
	assert_int_equal(pmu_preset_expand(g_ctx, "cache", items, &n, notice, sizeof(notice), err,
					   sizeof(err)),
			 0);
	assert_string_equal(items[2].how, "libpfm4 " FORCED_PFM
					  "::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:MEM_IO_LCL:MEM_IO_RMT");
	assert_int_equal(items[2].ev.attr.config, 0x4844);
	assert_string_equal(items[0].how, "generic");

	/* Zen 4: libpfm4 has the table but did not detect (or force) it: the raw codes. */
	set_cpu(g_ctx, "AuthenticAMD-25-11");
	assert_int_equal(pmu_preset_expand(g_ctx, "sharing", items, &n, notice, sizeof(notice),
					   err, sizeof(err)),
			 0);
	assert_string_equal(items[1].how, "raw r0444");
	assert_int_equal(items[1].ev.attr.config, 0x0444);
}

/* In a child: every libpfm4 spelling of table `pfm` encodes to its row's raw code. */
static int pfm_check(const char *pfm)
{
	if (pmu_pfm_init() < 0) {
		fprintf(stderr, "libpfm4 did not initialise with LIBPFM_FORCE_PMU=%s\n", pfm);
		return 1;
	}
	size_t len = strlen(pfm), checked = 0;
	int bad = 0;
	const struct pmu_preset_row *r;
	for (size_t i = 0; (r = pmu_preset_row(i)) != NULL; i++) {
		const struct pmu_preset_event *lists[2] = {r->sharing, r->cache};
		size_t lens[2] = {r->nsharing, r->ncache};
		for (size_t l = 0; l < 2; l++)
			for (size_t k = 0; k < lens[l]; k++) {
				const struct pmu_preset_event *pe = &lists[l][k];
				if (!pe->pfm || strncmp(pe->pfm, pfm, len) != 0 ||
				    strncmp(pe->pfm + len, "::", 2) != 0)
					continue;
				struct perf_event_attr a;
				char err[BASE_ERR_MAX];
				uint64_t raw = (uint64_t)(pe->event & 0xff) | (uint64_t)pe->umask << 8 |
					       (uint64_t)((pe->event >> 8) & 0xf) << 32;
				checked++;
				if (pmu_pfm_encode(pe->pfm, &a, sizeof(a), err, sizeof(err)) < 0) {
					fprintf(stderr, "%s (%s): %s\n", pe->pfm, r->label, err);
					bad = 1;
				} else if (a.type != PERF_TYPE_RAW || a.config != raw) {
					fprintf(stderr, "%s (%s): config %#llx, table says %#llx\n",
						pe->pfm, r->label, (unsigned long long)a.config,
						(unsigned long long)raw);
					bad = 1;
				}
			}
	}
	if (checked == 0) {
		fprintf(stderr, "no table entry names libpfm4 PMU %s\n", pfm);
		return 1;
	}
	return bad;
}

static void test_libpfm_spellings(void **state)
{
	(void)state;
	skip_without_x86_pfm();
	/* Every libpfm4 table the preset table names, each in its own process. */
	char pmus[32][32];
	size_t npmus = 0;
	const struct pmu_preset_row *r;
	for (size_t i = 0; (r = pmu_preset_row(i)) != NULL; i++) {
		const struct pmu_preset_event *lists[2] = {r->sharing, r->cache};
		size_t lens[2] = {r->nsharing, r->ncache};
		for (size_t l = 0; l < 2; l++)
			for (size_t k = 0; k < lens[l]; k++) {
				const char *p = lists[l][k].pfm;
				if (!p)
					continue;
				char name[32];
				snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, ":"), p);
				size_t j = 0;
				while (j < npmus && strcmp(pmus[j], name) != 0)
					j++;
				if (j == npmus) {
					assert_true(npmus < 32);
					snprintf(pmus[npmus++], sizeof(pmus[0]), "%s", name);
				}
			}
	}
	assert_true(npmus >= 17);
	for (size_t j = 0; j < npmus; j++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			setenv("LIBPFM_FORCE_PMU", pmus[j], 1);
			execl("/proc/self/exe", "test_presets", "--pfm-check", pmus[j], (char *)NULL);
			_exit(127);
		}
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("libpfm4 table %s: spellings disagree with the raw codes (status %d)",
				 pmus[j], status);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--pfm-check") == 0)
		return pfm_check(argv[2]);
	/* Before anything initialises libpfm4 (its choice of tables is made once). */
	setenv("LIBPFM_FORCE_PMU", FORCED_PFM, 1);
	unsetenv("PMUPROF_CPUID");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expansion_table), cmocka_unit_test(test_table_sanity),
		cmocka_unit_test(test_hybrid),          cmocka_unit_test(test_combinations),
		cmocka_unit_test(test_unknown_cpu),     cmocka_unit_test(test_cpu_id),
		cmocka_unit_test(test_list),            cmocka_unit_test(test_libpfm_path),
		cmocka_unit_test(test_libpfm_spellings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
