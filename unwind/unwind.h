/*
 * unwind — user-space call stacks from sampled registers and stack bytes,
 * by DWARF CFI through libunwind's remote interface.
 *
 * Owns: one libunwind address space per process (cached; flushed when that
 * process's mappings change or it execs), the accessors libunwind calls
 * (registers from the sample; memory from the copied stack inside
 * [SP, SP + dyn_size) and from the mapped ELF file otherwise; find_proc_info
 * from the module's .eh_frame_hdr read with libelf, .debug_frame — also from a
 * separate debug file found by build id or debuglink — as the fallback), and
 * per-module unwind tables cached by file identity. Files and their debug
 * files are binary.h's objects, shared with the symbolizer.
 *
 * Mappings come from the process model (process.h); this file never parses
 * /proc itself. Not thread-safe: one uw_session per consumer thread.
 */
#ifndef PMUPROF_UNWIND_H
#define PMUPROF_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_model;

/*
 * The user registers perf samples for DWARF unwinding, in asm/perf_regs.h's
 * numbering, the mask perf itself uses: on x86-64 PERF_REG_X86_* (AX BX CX DX
 * SI DI BP SP IP FLAGS CS SS, R8..R15; not the segment registers DS ES FS GS),
 * on arm64 PERF_REG_ARM64_* (X0..X29, LR, SP, PC).
 */
uint64_t uw_sample_regs_mask(void);

struct uw_sample {
	pid_t pid;
	uint64_t regs_abi;             /* PERF_SAMPLE_REGS_ABI_64, or 0 when none were taken */
	const uint64_t *regs;          /* values in ascending bit order of regs_mask */
	uint64_t regs_mask;
	const unsigned char *stack;    /* bytes copied from SP upwards */
	uint64_t stack_size;           /* valid bytes (the record's dyn_size) */
};

enum uw_stop {
	UW_STOP_END,       /* reached the outermost frame (CFI says no return address) */
	UW_STOP_DEPTH,     /* `max` frames written */
	UW_STOP_STACK,     /* needed memory above the copied stack (dump too small) */
	UW_STOP_NO_CFI,    /* a frame's module has no unwind information */
	UW_STOP_NO_MAP,    /* an address outside every known mapping */
	UW_STOP_ERROR,     /* libunwind gave up for another reason */
};

struct uw_session;

int uw_new(struct uw_session **out, struct proc_model *procs, char *err, size_t errlen);
void uw_free(struct uw_session *u);

struct bin_cache;
/*
 * Reads binaries through `bins` (binary.h), shared with the symbolizer,
 * instead of a cache of its own; what the unwinder holds then counts in the
 * budget they share. Before the first unwind (-EBUSY after); bins must
 * outlive u.
 */
int uw_use_binaries(struct uw_session *u, struct bin_cache *bins);

/*
 * Unwinds one sample: ips[0] is the sampled IP, ips[1..] the return
 * addresses of its callers (not adjusted: the caller subtracts 1 when it
 * symbolizes). Returns the number of frames (>= 1 when regs were sampled,
 * 0 otherwise) and why it stopped.
 */
int uw_unwind(struct uw_session *u, const struct uw_sample *s, uint64_t *ips, int max,
	      enum uw_stop *stop);

/* Forget cached state of a process (its mappings changed, it exec'd or exited). */
void uw_flush_pid(struct uw_session *u, pid_t pid);

/* Counters for the profile's comments. */
struct uw_stats {
	uint64_t stacks, frames;
	uint64_t stops[UW_STOP_ERROR + 1];
	/*
	 * libunwind's signal-mask calls skipped by this thread so far
	 * (signal_mask.c): 0 after unwinding means the executable does not
	 * export pmuprof's sigprocmask, and every frame costs two system calls.
	 */
	uint64_t masks_skipped;
};
void uw_get_stats(const struct uw_session *u, struct uw_stats *out);

/* "end", "depth", "stack", "no-cfi", "no-map", "error": for those comments. (Addition.) */
const char *uw_stop_name(enum uw_stop s);

#endif
