/*
 * libpfm4 native names. Debian's libpfm4 4.13 has no table for this Zen 5
 * host, so CTest runs this with LIBPFM_FORCE_PMU=amd64_fam19h_zen3: a table
 * libpfm4 knows, used for encoding only (nothing is opened).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pmu_internal.h"

static struct pmu_ctx *g_ctx; /* test fixture */

static int setup(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	const char *forced = getenv("LIBPFM_FORCE_PMU");
	if (!forced || strcmp(forced, "amd64_fam19h_zen3") != 0) {
		print_error("run with LIBPFM_FORCE_PMU=amd64_fam19h_zen3 (CTest sets it)\n");
		return -1;
	}
	return pmu_ctx_new(&g_ctx, TEST_SYSFS_ROOT, err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	pmu_ctx_free(g_ctx);
	return 0;
}

static void expect(const char *spec, uint32_t type, uint64_t config, bool exclude_kernel)
{
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX] = "";
	int ret = pmu_parse_events(g_ctx, spec, &list, err, sizeof(err));
	if (ret != 0)
		fail_msg("'%s': %s", spec, err);
	assert_int_equal(list.n, 1);
	const struct perf_event_attr *a = &list.ev[0].attr;
	if (a->type != type || a->config != config)
		fail_msg("'%s': type %u config %#llx, expected %u %#llx", spec, a->type,
			 (unsigned long long)a->config, type, (unsigned long long)config);
	assert_int_equal(a->exclude_kernel, exclude_kernel);
	assert_int_equal(a->size, sizeof(*a));
	assert_string_equal(list.ev[0].name, spec);
	pmu_event_list_free(&list);
}

/* libpfm4 has its x86 tables only in x86 builds (an arm64 build has Arm's): skip elsewhere. */
static void skip_without_x86_pfm(void)
{
#if !defined(__x86_64__) && !defined(__i386__)
	print_message("skip: this libpfm4 build has no x86 tables (they exist in x86 builds only)\n");
	skip();
#endif
}

static void test_native_encoding(void **state)
{
	(void)state;
	skip_without_x86_pfm();
	/* Zen 3: RETIRED_INSTRUCTIONS is event 0xc0; privilege goes to exclude_*, not config. */
	expect("amd64_fam19h_zen3::RETIRED_INSTRUCTIONS", PERF_TYPE_RAW, 0xc0, false);
	expect("amd64_fam19h_zen3::RETIRED_INSTRUCTIONS:u", PERF_TYPE_RAW, 0xc0, true);
	/* Without the PMU prefix libpfm4 uses its default (forced) table. */
	expect("RETIRED_INSTRUCTIONS", PERF_TYPE_RAW, 0xc0, false);
	/* In a group and a list, next to built-in names. */
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_parse_events(g_ctx,
					  "{cycles,amd64_fam19h_zen3::RETIRED_BRANCH_INSTRUCTIONS}",
					  &list, err, sizeof(err)),
			 0);
	assert_int_equal(list.n, 2);
	assert_int_equal(list.ev[1].leader, 0);
	assert_int_equal(list.ev[1].attr.config & 0xff, 0xc2);
	pmu_event_list_free(&list);
}

static void test_native_errors(void **state)
{
	(void)state;
	skip_without_x86_pfm();
	struct pmu_event_list list = {0};
	char err[BASE_ERR_MAX] = "";
	assert_int_equal(pmu_parse_events(g_ctx, "amd64_fam19h_zen3::NO_SUCH_EVENT", &list, err,
					  sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "libpfm4 cannot encode 'amd64_fam19h_zen3::NO_SUCH_EVENT'"));
	assert_non_null(strstr(err, "amd64_fam19h_zen3")); /* names the PMUs present */
	assert_int_equal(pmu_parse_events(g_ctx, "amd64_fam19h_zen3::RETIRED_INSTRUCTIONS:zz",
					  &list, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(list.n, 0);
	pmu_event_list_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_encoding),
		cmocka_unit_test(test_native_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
