/*
 * Kernel or user address: decided by what the record says about it (the
 * sample header's cpumode for the sample's ip, the callchain's context
 * markers for its frames), so that no architecture's address split is
 * assumed where the kernel already told. Only an address the record says
 * nothing about (a data address, a location without a mapping) falls back
 * to the address itself.
 */
#include "perfabi.h"

enum smp_addr_mode smp_mode_of_misc(uint16_t misc)
{
	switch (misc & PERF_RECORD_MISC_CPUMODE_MASK) {
	case PERF_RECORD_MISC_KERNEL:
	case PERF_RECORD_MISC_GUEST_KERNEL:
		return SMP_MODE_KERNEL;
	case PERF_RECORD_MISC_USER:
	case PERF_RECORD_MISC_GUEST_USER:
		return SMP_MODE_USER;
	default: /* CPUMODE_UNKNOWN, or the hypervisor */
		return SMP_MODE_UNKNOWN;
	}
}

enum smp_addr_mode smp_mode_of_context(uint64_t marker)
{
	switch (marker) {
	case PERF_CONTEXT_KERNEL:
	case PERF_CONTEXT_GUEST_KERNEL:
		return SMP_MODE_KERNEL;
	case PERF_CONTEXT_USER:
	case PERF_CONTEXT_GUEST_USER:
		return SMP_MODE_USER;
	default: /* PERF_CONTEXT_HV, PERF_CONTEXT_GUEST: no address space of its own */
		return SMP_MODE_UNKNOWN;
	}
}

bool smp_addr_is_kernel(enum smp_addr_mode mode, uint64_t addr)
{
	if (mode != SMP_MODE_UNKNOWN)
		return mode == SMP_MODE_KERNEL;
	return addr >= SMP_KERNEL_HALF;
}
