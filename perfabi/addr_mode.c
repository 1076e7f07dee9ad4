/*
 * Kernel or user address: decided by what the record says about it (the
 * sample header's cpumode for the sample's ip, the callchain's context
 * markers for its frames), so that no architecture's address split is
 * assumed where the kernel already told. Only an address the record says
 * nothing about (a data address, a location without a mapping) falls back
 * to the address itself. Also the physical address in a page-table entry
 * a tracepoint reports.
 */
#include "perfabi.h"

enum pabi_addr_mode pabi_mode_of_misc(uint16_t misc)
{
	switch (misc & PERF_RECORD_MISC_CPUMODE_MASK) {
	case PERF_RECORD_MISC_KERNEL:
	case PERF_RECORD_MISC_GUEST_KERNEL:
		return PABI_MODE_KERNEL;
	case PERF_RECORD_MISC_USER:
	case PERF_RECORD_MISC_GUEST_USER:
		return PABI_MODE_USER;
	default: /* CPUMODE_UNKNOWN, or the hypervisor */
		return PABI_MODE_UNKNOWN;
	}
}

enum pabi_addr_mode pabi_mode_of_context(uint64_t marker)
{
	switch (marker) {
	case PERF_CONTEXT_KERNEL:
	case PERF_CONTEXT_GUEST_KERNEL:
		return PABI_MODE_KERNEL;
	case PERF_CONTEXT_USER:
	case PERF_CONTEXT_GUEST_USER:
		return PABI_MODE_USER;
	default: /* PERF_CONTEXT_HV, PERF_CONTEXT_GUEST: no address space of its own */
		return PABI_MODE_UNKNOWN;
	}
}

bool pabi_addr_is_kernel(enum pabi_addr_mode mode, uint64_t addr)
{
	if (mode != PABI_MODE_UNKNOWN)
		return mode == PABI_MODE_KERNEL;
	return addr >= PABI_KERNEL_HALF;
}

uint64_t pabi_pte_phys(uint64_t entry, bool pmd)
{
#if defined(__x86_64__)
	uint64_t mask = 0x000ffffffffff000ull;
#elif defined(__aarch64__)
	uint64_t mask = 0x0000fffffffff000ull;
#else
	uint64_t mask = 0;
#endif
	if (pmd)
		mask &= ~((1ull << 21) - 1);
	return entry & mask;
}
