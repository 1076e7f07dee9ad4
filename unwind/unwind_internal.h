/*
 * Internal to the unwinder (unwind.c, unwind_module.c): the per-module unwind
 * data and its cache. Not part of the module's public header.
 */
#ifndef PMUPROF_UNWIND_INTERNAL_H
#define PMUPROF_UNWIND_INTERNAL_H

#include "binary.h"
#include "unwind.h"

#include <asm/perf_regs.h>
#include <gelf.h>
#include <libelf.h>
#include <libunwind.h>
#include <time.h>

/*
 * The target's ELF machine and perf's register numbering for it
 * (asm/perf_regs.h): UW_PERF_REGS registers, of which IP and SP start an
 * unwind. The only place the unwinder names an architecture besides
 * unwind.c's map to libunwind's registers.
 */
#if defined(__x86_64__)
#define UW_EM_MACHINE EM_X86_64
#define UW_PERF_REGS PERF_REG_X86_64_MAX
#define UW_PERF_REG_IP PERF_REG_X86_IP
#define UW_PERF_REG_SP PERF_REG_X86_SP
#elif defined(__aarch64__)
#define UW_EM_MACHINE EM_AARCH64
#define UW_PERF_REGS PERF_REG_ARM64_MAX
#define UW_PERF_REG_IP PERF_REG_ARM64_PC
#define UW_PERF_REG_SP PERF_REG_ARM64_SP
#else
#error "the DWARF unwinder knows x86-64 and arm64 only (unwind/unwind_internal.h)"
#endif

/*
 * Modules nobody uses any more that stay cached. Each holds its binary
 * (binary.h: a read-only mapping of the file, and for a deleted or replaced
 * file the disk space behind it): 64 covers the libraries of a usual profile,
 * while a long system-wide session cannot pin every binary it ever met.
 * Modules a cached process uses are never evicted.
 */
#define UW_MODULES_MAX 64
#define UW_MODULE_BUCKETS 128 /* power of two */

/*
 * libunwind searches a .debug_frame through its own descriptor (struct
 * unw_debug_frame_list in its internal dwarf.h), built by
 * dwarf_find_debug_frame — which libunwind 1.6 does not export. Its exported
 * dwarf_search_unwind_table still handles UNW_INFO_FORMAT_TABLE, so we build
 * the descriptor ourselves. The layout is libunwind's internal one, read off
 * 1.6.2's code (the section at +0x18, the index at +0x28, its size in bytes
 * at +0x30); releases before and after differ, and get no .debug_frame
 * fallback rather than a wrong one.
 */
#if UNW_VERSION_MAJOR == 1 && UNW_VERSION_MINOR == 6
#define UW_DEBUG_FRAME 1
#else
#define UW_DEBUG_FRAME 0
#endif

/* One row of a binary search table (.eh_frame_hdr's, or ours for .debug_frame). */
struct uw_table_entry {
	int32_t start_ip_offset;
	int32_t fde_offset;
};

struct uw_debug_frame_list {
	unw_word_t start, end;
	unw_word_t load_offset;
	char *debug_frame;
	size_t debug_frame_size;
	struct uw_table_entry *index;
	size_t index_size; /* bytes */
	void *next;
};

struct uw_module {
	/* key: path and the caller's build id; without one, the file's identity */
	char *path;
	char key_build_id[41];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct uw_module *hnext;               /* hash chain */
	struct base_link lru;                  /* in the cache's LRU order, most recent first */
	unsigned refs;                         /* references from cached processes */

	int status; /* 0, or the -errno every use returns (negative cache) */
	struct bin *bin; /* the file's binary (a reference); NULL for the vDSO */
	Elf *elf;        /* the binary's, or the vDSO copy's own */
	void *owned;     /* the copy elf_memory reads (vDSO), else NULL */
	const unsigned char *image;
	size_t image_size;
	const struct bin_load *loads; /* the binary's, or the vDSO's own (owned_loads) */
	struct bin_load *owned_loads;
	size_t nloads;
	uint64_t lo_vaddr, hi_vaddr; /* extent of the PT_LOAD segments */

	bool has_hdr;       /* .eh_frame_hdr with a binary search table */
	uint64_t hdr_vaddr; /* where .eh_frame_hdr is */
	uint64_t table_off; /* its table, from the section start */
	uint64_t fde_count;

	int df_state; /* .debug_frame: 0 not tried, 1 loaded, <0 none */
	char *df_buf;
	struct uw_debug_frame_list dfl;
};

struct uw_modules {
	struct uw_module *buckets[UW_MODULE_BUCKETS];
	struct base_list lru; /* modules, most recent first */
	size_t n;
	struct bin_cache *bins; /* the binaries, maybe shared (uw_use_binaries) */
	bool own_bins;
};

/*
 * The module for (path, build id), opened on first use ("[vdso]": this
 * process's vDSO). Returns it with a reference taken, also when it failed to
 * load (status < 0: a negative entry, so a broken file is not reopened for
 * every sample), or NULL without memory.
 */
struct uw_module *uw_module_get(struct uw_modules *c, const char *path, const char *build_id);
/* Drops a reference; unused modules beyond UW_MODULES_MAX, or over the shared byte budget, are closed. */
void uw_module_put(struct uw_modules *c, struct uw_module *m);
void uw_modules_free(struct uw_modules *c);
#if UW_DEBUG_FRAME
/* Loads the module's .debug_frame on first need: 0 when it has one. */
int uw_module_debug_frame(struct uw_modules *c, struct uw_module *m);
#endif

/*
 * signal_mask.c: while uw_stepping is true, libunwind's sigprocmask calls in
 * this thread are skipped (and counted in uw_masks_skipped).
 */
extern _Thread_local bool uw_stepping;
extern _Thread_local uint64_t uw_masks_skipped;

#endif
