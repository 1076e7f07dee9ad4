/*
 * symbols — addresses to function names, source files and lines.
 *
 * Owns: per-module symbol tables (ELF .symtab, else .dynsym, or the debug file
 * under /usr/lib/debug/.build-id) built once with libelf into a sorted array
 * and binary-searched per address; line numbers through libdw/libdwfl; the
 * kernel's symbols from /proc/kallsyms; JIT symbols from /tmp/perf-PID.map.
 * Modules are cached by build id (else by path + size + mtime), least
 * recently used dropped first: past SYM_MODULES_MAX modules, and past the
 * cache's byte budget when one is set (sym_cache_set_budget).
 * Never hand-parses ELF or DWARF: libelf and libdw do that.
 *
 * Strings handed out (function, file and data names) belong to the cache
 * and stay valid at least until the next call on it, which may empty memos
 * or drop modules: copy what must live longer. Without a byte budget, names
 * from sym_lookup_file, sym_lookup_func and sym_lookup_data live as long as
 * their module (dropped past SYM_MODULES_MAX modules); kernel names until
 * sym_cache_free; JIT names until the process's map is read again.
 */
#ifndef PMUPROF_SYMBOLS_H
#define PMUPROF_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sym_cache;

/* A cache is not locked: use it from one thread at a time. */
int sym_cache_new(struct sym_cache **out, char *err, size_t errlen);
void sym_cache_free(struct sym_cache *c);

struct bin_cache;
/*
 * Reads binaries through `bins` (binary.h), shared with the unwinder, instead
 * of a cache of its own; the byte budget (sym_cache_set_budget) then bounds
 * both together. Before the first lookup (-EBUSY after); bins must outlive c.
 */
int sym_cache_use_binaries(struct sym_cache *c, struct bin_cache *bins);

/*
 * Bounds what the cache holds to `bytes` after each call (0, the default:
 * no byte bound). Counted: each module's symbol tables and names, its
 * inline-frame memo, its CU index, and an estimate of libdw's memory for its
 * open DWARF (the debug sections it maps or decompresses, the line tables it
 * decoded); the kernel's table (which stays) and JIT maps. Over the budget,
 * the least recently used modules first lose their tables and DWARF (Dwfl
 * closed; what their memos hold is still answered, the rest read again on
 * demand), then go whole; the module just used stays even when it alone is
 * larger. Memos together take at most a quarter of the budget (9 MiB
 * without one).
 */
void sym_cache_set_budget(struct sym_cache *c, size_t bytes);
/*
 * Keep plain copies of compressed separate debug files (libc6-dbg's, say)
 * under dir/debug, by build id, so libdw need not inflate them on every run;
 * NULL (the default) reads them as shipped. Returns -ENOMEM, else 0.
 */
int sym_cache_set_debug_dir(struct sym_cache *c, const char *dir);
/* The bytes the cache accounts for now (see sym_cache_set_budget). */
size_t sym_cache_bytes(const struct sym_cache *c);

/*
 * Function and data names are given as their language writes them: C++ and
 * Rust (legacy and v0) names demangled by libiberty as `c++filt -i` and
 * `perf report -v` show them (parameters included, so overloads differ), each
 * symbol demangled once per module; the name as the binary spells it is the
 * system name (pprof's Function.system_name), which keys a function: two
 * instantiations never merge.
 */
struct sym_result {
	const char *function;    /* demangled; NULL when unknown. Owned by the cache. */
	const char *system_name; /* as in the binary (mangled); NULL when function is. */
	const char *file;     /* source file, NULL when unknown. Owned by the cache. */
	int line;             /* 0 when unknown */
	uint64_t func_start;  /* ELF vaddr of the function's start, 0 when unknown */
	uint64_t elf_vaddr;   /* the address looked up, as an ELF virtual address */
};

/*
 * Symbolizes an address of a file-backed mapping given as its file offset
 * (ip - map_start + map_pgoff). `build_id` (hex, may be NULL) keys the cache
 * and finds a separate debug file. Returns 0 (fields NULL/0 where unknown) or
 * -ENOENT when the file cannot be read.
 */
int sym_lookup_file(struct sym_cache *c, const char *path, const char *build_id,
		    uint64_t file_offset, struct sym_result *out);

/*
 * The same without source lines (file NULL, line 0): only the binary search
 * of the module's symbol table, for callers that need function names alone.
 */
int sym_lookup_func(struct sym_cache *c, const char *path, const char *build_id,
		    uint64_t file_offset, struct sym_result *out);

/*
 * One frame of the inline chain at an address. Strings are owned by the
 * cache; function and file may be NULL (unknown), line 0 (unknown).
 */
struct sym_frame {
	const char *function;
	const char *file;
	int line;
	const char *system_name; /* the mangled name (see sym_result); NULL when function is */
};

/*
 * The frames at a file offset, innermost inline frame first: frames[0] is the
 * function whose code is at the address (possibly inlined, with the line from
 * the line table), then each caller it was inlined into (with the call site's
 * line), the last being the concrete out-of-line function. Names come from
 * DWARF's DW_AT_linkage_name when mangled, demangled (`app::twice<int>(int)`),
 * else from DW_AT_name, qualified with its namespaces and classes in C++ and
 * Rust (`app::twice<int>`: a static function inlined everywhere has no
 * linkage name); the concrete function is named by the symbol table when its
 * symbol there is mangled (a clone such as `f() [clone .isra.0]`, as perf
 * names it). Without DWARF there is one frame, named from the ELF symbol
 * table like sym_lookup_func.
 * Writes at most `max` frames (the innermost ones) and returns how many were
 * written (0 when nothing is known), or -ENOENT if the file is unreadable
 * (-EINVAL, -ENOMEM otherwise). Results are memoized per (module, address):
 * a repeated address costs ~20 ns, a new one microseconds.
 */
int sym_lookup_frames(struct sym_cache *c, const char *path, const char *build_id,
		      uint64_t file_offset, struct sym_frame *frames, size_t max);

/* What the module offers, for pprof's has_* mapping flags. */
struct sym_module_info {
	bool has_functions, has_filenames, has_line_numbers;
	bool has_inline_frames; /* its DWARF has DW_TAG_inlined_subroutine entries */
	char build_id[41]; /* hex, read from the file when the kernel gave none; "" if none */
};
int sym_module_info(struct sym_cache *c, const char *path, const char *build_id,
		    struct sym_module_info *out);

/*
 * sym_lookup_frames and sym_module_info of the binary b (binary.h's, from
 * the cache's binaries: sym_cache_use_binaries), held by the caller since
 * its samples were taken: the file is read through b, not found by its path
 * again, so a binary deleted or replaced since still answers. build_id as
 * there; NULL: b's own.
 */
struct bin;
int sym_lookup_frames_bin(struct sym_cache *c, struct bin *b, const char *build_id,
			  uint64_t file_offset, struct sym_frame *frames, size_t max);
int sym_module_info_bin(struct sym_cache *c, struct bin *b, const char *build_id,
			struct sym_module_info *out);
/*
 * Drops every module's tables and DWARF, and the binaries nobody else holds
 * (bin_cache_drop_unused), keeping what memos and module info answer: for a
 * caller done with one module's addresses, so that memory holds one module
 * at a time.
 */
void sym_cache_unload(struct sym_cache *c);

/*
 * The GNU build id of an ELF file as hex, read from its notes (no cache
 * needed: for --no-symbolize, once per mapping). 0, or -ENOENT when the
 * file is unreadable or has none.
 */
int sym_read_build_id(const char *path, char hex[41]);

/* Kernel address via /proc/kallsyms (readable and unrestricted only). -ENOENT otherwise. */
int sym_lookup_kernel(struct sym_cache *c, uint64_t addr, struct sym_result *out);
/* True when kallsyms gave real addresses (kptr_restrict did not hide them). */
bool sym_kernel_available(struct sym_cache *c);
/*
 * The address to name a kernel caller frame (a return address, ret) at:
 * ret - 1, the call instruction, unless ret is a function's first byte and
 * ret - 1 lies in the padding symbol the kernel puts before it (__pfx_F from
 * objtool, __cfi_F from kCFI): no call ends in padding, so ret is an
 * interrupted instruction (an exception or interrupt frame the kernel's
 * unwinder crossed) and is named at itself, F, as perf names it. ret - 1
 * when kallsyms is unavailable.
 */
uint64_t sym_kernel_caller_addr(struct sym_cache *c, uint64_t ret);

/* JIT address via /tmp/perf-PID.map (owned by the process's user). -ENOENT otherwise. */
int sym_lookup_jit(struct sym_cache *c, pid_t pid, uint64_t addr, struct sym_result *out);

/* The ELF virtual address of a file offset of a module (PT_LOAD program headers); -ENOENT when unreadable, -ERANGE when no segment holds it. */
int sym_offset_to_vaddr(struct sym_cache *c, const char *path, const char *build_id, uint64_t file_offset, uint64_t *vaddr);
/* A data object (STT_OBJECT, also STT_COMMON/STT_TLS-less globals and statics from .symtab, else .dynsym) containing ELF vaddr: [start, start+size), or == start for size-0 symbols. 0 and out filled (name owned by the cache), -ENOENT when none or unreadable. */
struct sym_data { const char *name; uint64_t start, size; }; /* name demangled */
int sym_lookup_data(struct sym_cache *c, const char *path, const char *build_id, uint64_t vaddr, struct sym_data *out);
/*
 * The data object named `name` (the same table, searched by name): 0 and out
 * filled, -ENOENT when absent or unreadable.
 */
int sym_find_data(struct sym_cache *c, const char *path, const char *build_id, const char *name,
		  struct sym_data *out);
/*
 * (Notes on the three above.) A file offset in a segment's zero-filled tail
 * (the .bss sharing the last page mapped from the file) maps too. The data
 * table of a module is read on its first sym_lookup_data, never by the
 * function lookups, and counts in the byte budget; among aliases at one
 * address the sized, global, least-underscored name wins, as for functions.
 * -ENOMEM may also be returned.
 */

#endif
