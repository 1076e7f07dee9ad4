/*
 * Kernel or user address (sampler/addr_mode.c): the record's cpumode and
 * callchain markers decide, on x86-64 and arm64 addresses alike; the
 * address-only fallback splits at the upper half of the address space. The
 * physical address in a page-table entry, as the migration tracepoints
 * print entries (x86-64 and arm64 layouts, whichever this build is).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sampler.h"

struct addr_case {
	uint64_t addr;
	bool kernel;
	const char *what;
};

static const struct addr_case cases[] = {
	{0xffffffff81234567ull, true, "x86-64 kernel text"},
	{0xffff888100000000ull, true, "x86-64 direct map"},
	{0xffffc90000001000ull, true, "x86-64 vmalloc"},
	{0xffff800008123456ull, true, "arm64 kernel text (Linux >= 5.4, 48-bit VA)"},
	{0xffff000008081000ull, true, "arm64 kernel text (Linux < 5.4)"},
	{0xffff00000a000040ull, true, "arm64 linear map"},
	{0xfff0000000001000ull, true, "arm64 52-bit VA linear map"},
	{0x0000000000401000ull, false, "x86-64 executable"},
	{0x00007f1234567000ull, false, "x86-64 shared library"},
	{0x0000aaaad0001000ull, false, "arm64 executable"},
	{0x0000ffffa0001000ull, false, "arm64 shared library (48-bit VA)"},
};

static void test_fallback_by_address(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (pabi_addr_is_kernel(PABI_MODE_UNKNOWN, cases[i].addr) != cases[i].kernel)
			fail_msg("%s %#llx: kernel=%d expected", cases[i].what,
				 (unsigned long long)cases[i].addr, cases[i].kernel);
}

/* The record's word wins over the address, either way. */
static void test_mode_decides(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(pabi_addr_is_kernel(PABI_MODE_KERNEL, cases[i].addr));
		assert_false(pabi_addr_is_kernel(PABI_MODE_USER, cases[i].addr));
	}
}

static void test_cpumode(void **state)
{
	(void)state;
	assert_int_equal(pabi_mode_of_misc(PERF_RECORD_MISC_KERNEL), PABI_MODE_KERNEL);
	assert_int_equal(pabi_mode_of_misc(PERF_RECORD_MISC_GUEST_KERNEL), PABI_MODE_KERNEL);
	assert_int_equal(pabi_mode_of_misc(PERF_RECORD_MISC_USER), PABI_MODE_USER);
	assert_int_equal(pabi_mode_of_misc(PERF_RECORD_MISC_GUEST_USER), PABI_MODE_USER);
	assert_int_equal(pabi_mode_of_misc(PERF_RECORD_MISC_HYPERVISOR), PABI_MODE_UNKNOWN);
	assert_int_equal(pabi_mode_of_misc(PERF_RECORD_MISC_CPUMODE_UNKNOWN), PABI_MODE_UNKNOWN);
	/* Bits outside the cpumode (EXACT_IP) do not change it. */
	assert_int_equal(pabi_mode_of_misc(PERF_RECORD_MISC_USER | PERF_RECORD_MISC_EXACT_IP),
			 PABI_MODE_USER);
}

static void test_context_markers(void **state)
{
	(void)state;
	assert_int_equal(pabi_mode_of_context(PERF_CONTEXT_KERNEL), PABI_MODE_KERNEL);
	assert_int_equal(pabi_mode_of_context(PERF_CONTEXT_GUEST_KERNEL), PABI_MODE_KERNEL);
	assert_int_equal(pabi_mode_of_context(PERF_CONTEXT_USER), PABI_MODE_USER);
	assert_int_equal(pabi_mode_of_context(PERF_CONTEXT_GUEST_USER), PABI_MODE_USER);
	assert_int_equal(pabi_mode_of_context(PERF_CONTEXT_HV), PABI_MODE_UNKNOWN);
	assert_int_equal(pabi_mode_of_context(PERF_CONTEXT_GUEST), PABI_MODE_UNKNOWN);
}

/* pabi_parse_sample keeps the header's misc, where the sample's ip mode is. */
static void test_parse_keeps_misc(void **state)
{
	(void)state;
	struct {
		struct perf_event_header h;
		uint64_t ip;
	} rec = {{PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL, sizeof(rec)}, 0xffff000008081000ull};
	struct perf_event_attr attr = {.size = sizeof(attr), .sample_type = PERF_SAMPLE_IP};
	struct pabi_layout l;
	pabi_layout_from_attr(&l, &attr);
	struct pabi_sample s;
	assert_int_equal(pabi_parse_sample(&l, &rec.h, &s), 0);
	assert_true(pabi_addr_is_kernel(pabi_mode_of_misc(s.misc), s.ip));
}

static void test_pte_phys(void **state)
{
	(void)state;
#if defined(__x86_64__)
	/* NX, a present user PTE of frame 0x1234567 (bit 62.. software bits). */
	assert_int_equal(pabi_pte_phys(0x8000001234567067ull, false), 0x1234567000ull);
	/* A huge PMD: PSE and its PAT bit (12) set, a 2 MiB frame. */
	assert_int_equal(pabi_pte_phys(0x80000004a32010e7ull, true), 0x4a3200000ull);
#elif defined(__aarch64__)
	/* UXN/PXN, AF, a page descriptor of 0x123456000; a block descriptor of 0x40200000. */
	assert_int_equal(pabi_pte_phys(0x00e8000123456f43ull, false), 0x123456000ull);
	assert_int_equal(pabi_pte_phys(0x00e8000040200f41ull, true), 0x40200000ull);
#else
	assert_int_equal(pabi_pte_phys(0x1234567067ull, false), 0);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pte_phys),        cmocka_unit_test(test_fallback_by_address),
		cmocka_unit_test(test_mode_decides),    cmocka_unit_test(test_cpumode),
		cmocka_unit_test(test_context_markers), cmocka_unit_test(test_parse_keeps_misc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
