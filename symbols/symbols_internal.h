/*
 * Internal to the symbolizer (symbols.c, symbols_elf.c, symbols_kernel.c):
 * the sorted address table shared by ELF, kallsyms and JIT maps, the
 * per-module cache entry (its heavy part and its memo), the byte accounting
 * and the cache itself. Not part of the module's public header.
 */
#ifndef PMUPROF_SYMBOLS_INTERNAL_H
#define PMUPROF_SYMBOLS_INTERNAL_H

#include "binary.h"
#include "symbols.h"
#include "base.h"

#include <elfutils/libdwfl.h>
#include <time.h>

/* ---- sorted address tables ---- */

/* One symbol: [start, end). Names live as long as the owning table. */
struct sym_entry {
	uint64_t start, end;
	const char *name; /* into the owning table's `names` block */
};

struct sym_table {
	struct sym_entry *v;
	size_t n;
	char *names;
	size_t bytes; /* heap held by v and names, for the cache's byte budget */
};

/* Symbols as read, before sorting and choosing among aliases. */
struct sym_raw {
	uint64_t start, size, limit;
	uint32_t rank;     /* lower wins among symbols sharing a start */
	uint32_t seq;      /* input order, to keep ties deterministic */
	uint32_t name_off; /* into sym_builder.names */
	bool sized;
};

struct sym_builder {
	struct sym_raw *v;
	size_t n, cap;
	char *names;
	size_t nlen, ncap;
	/*
	 * Data objects: an unsized symbol covers its start alone (end == start,
	 * see sym_table_find_data) instead of running to the next symbol as a
	 * function label does.
	 */
	bool exact;
};

/* Binding classes for sym_rank, best first. */
enum sym_bind { SYM_BIND_GLOBAL, SYM_BIND_WEAK, SYM_BIND_LOCAL };

/*
 * Rank among symbols at one address: sized before unsized (an unsized symbol
 * is usually an assembler label inside or before the real function), then
 * GLOBAL, WEAK, LOCAL, then fewer leading underscores (malloc over
 * __libc_malloc).
 */
uint32_t sym_rank(bool sized, enum sym_bind bind, const char *name, size_t len);

/*
 * `limit` bounds an unsized symbol's end (its section's end; 0 when unknown).
 * `len` is the name's length (names need not be NUL-terminated).
 */
int sym_builder_add(struct sym_builder *b, uint64_t start, uint64_t size, bool sized,
		    uint64_t limit, uint32_t rank, const char *name, size_t len);
/* Sorts, keeps the best symbol per address, fixes ends; frees the builder. */
int sym_builder_finish(struct sym_builder *b, struct sym_table *out);
void sym_builder_free(struct sym_builder *b);
void sym_table_free(struct sym_table *t);
/* The symbol covering addr, or NULL. O(log n). */
struct sym_entry *sym_table_find(const struct sym_table *t, uint64_t addr);
/* For an `exact` table: the object containing addr, or a size-0 one starting at addr. */
struct sym_entry *sym_table_find_data(const struct sym_table *t, uint64_t addr);

/* ---- ELF modules ---- */

/*
 * Strings of one module's memo, copied once each: the memo then outlives the
 * module's tables and DWARF (sym_elf_unload). Chunks grow from small, as most
 * modules only ever see a few names.
 */
struct sym_chunk;
struct sym_strs {
	struct base_htab index; /* by content, into v */
	const char **v;
	size_t n, cap;
	struct sym_chunk *chunks;
	char *cur;
	size_t left, chunk_next;
	size_t bytes; /* index, v and chunks */
};

/*
 * Frames already computed for one module, by vaddr: hot addresses repeat
 * (the agent symbolizes its hot set again every window) and walking DWARF
 * scopes costs microseconds. A base_htab by vaddr, grown by doubling; all
 * modules' memos together stay under the cache's memo bound (see
 * sym_cache.memo_cap), emptied least recently used module first. Self-
 * contained (its own strings): a module whose tables and DWARF were dropped
 * still answers the addresses it memoized.
 */
struct sym_memo_entry {
	uint64_t vaddr;
	uint32_t first; /* into sym_memo.frames */
	uint32_t n;
};

#define SYM_MEMO_FRAMES_MIN 256

struct sym_memo {
	struct base_htab index; /* by vaddr, into v */
	struct sym_memo_entry *v;
	size_t used, cap;
	struct sym_frame *frames;
	size_t nframes, framecap;
	struct sym_strs strs;
};

/*
 * Names one module derived once and keeps: demangled names keyed by the
 * mangled string's address (a symbol table's name or a libdw string), and
 * qualified DWARF names keyed by their DIE's address in .debug_info. Both
 * keys stay valid while the heavy part does, and the map goes with it: a
 * symbol is demangled once, however many addresses and samples it covers.
 */
struct sym_dmap_entry {
	const void *key;
	const char *name;
};

struct sym_dmap {
	struct base_htab index; /* by key pointer, into v */
	struct sym_dmap_entry *v;
	size_t n, cap;
	struct sym_strs strs;
};

struct sym_module {
	/* key: the build id (lower-case hex; the caller's, else the file's), else path + size + mtime */
	char *key_build_id;
	char *path;
	off_t size;
	struct timespec mtime;
	uint64_t hash;
	struct sym_module *hnext;
	struct base_link lru; /* in the cache's LRU order, most recent first */

	int status; /* 0, or the negative errno every lookup returns (negative cache) */
	struct bin_load *loads; /* a copy of the binary's: kept when the heavy part goes */
	size_t nloads;
	char build_id[41];
	/* sym_module_info's answer, kept when the tables are dropped: it is asked every window. */
	bool info_known, info_functions, info_lines, info_inlines;

	/*
	 * The heavy part, dropped first under the byte budget (sym_elf_unload)
	 * and read again on the next lookup the memo cannot answer.
	 */
	bool loaded;
	struct bin_cache *bins;
	struct bin *bin; /* the binary the heavy part was read from (a reference), else NULL */
	struct sym_table syms;
	struct sym_dmap names; /* derived names (demangled, qualified), see sym_dmap */

	/* Data objects, read on the first sym_lookup_data only: 0 not yet, 1 read, -errno. */
	int data_state;
	struct sym_table data;

	/* Line tables, opened on first need. */
	int dwfl_state; /* 0 not tried, 1 open, -1 unavailable */
	Dwfl *dwfl;
	Dwfl_Module *dmod;
	GElf_Addr bias;
	bool has_lines;
	int inline_state; /* 0 not checked, 1 DWARF has inlined subroutines, -1 none */
	/* Per CU touched: libdw's line table counted, and (sym_elf_frames) its functions' ranges. */
	struct sym_cu_scopes *cu_scopes; /* open addressing by CU offset */
	size_t cu_cap, cu_used;
	size_t cu_bytes; /* held by cu_scopes */
	/*
	 * libdw's memory for this module, estimated (it has no accounting of its
	 * own): the debug sections it maps or decompresses when opened, then per
	 * CU touched its decoded line table and abbreviations.
	 */
	size_t dw_bytes;
	size_t dw_open_bytes; /* dw_bytes on opening: the debug sections as stored (sym_elf_load) */
	bool dw_info_mapped;  /* .debug_info is plain (mapped): each CU's part counts when read */

	struct sym_memo memo;
	size_t own_bytes; /* the struct, its path and key, its segments */
	size_t accounted; /* this module's share of sym_cache.bytes */
};

/* Whether name is for libiberty to demangle (Itanium C++, Rust legacy or v0). */
bool sym_looks_mangled(const char *name);
/*
 * name as its language writes it (demangled, see symbols.h), from m's names
 * map; name itself when it is not mangled (or memory ran out). name must
 * live as long as m's heavy part.
 */
const char *sym_demangled(struct sym_module *m, const char *name);
/* The name kept under key in m's names map, else NULL. */
const char *sym_names_find(const struct sym_module *m, const void *key);
/* Keeps a copy of name under key (not there yet); returns the copy, NULL when out of memory. */
const char *sym_names_add(struct sym_module *m, const void *key, const char *name);
/* Empties a names map (its keys die with the heavy part). */
void sym_dmap_free(struct sym_dmap *d);

/*
 * Fills loads, syms and build_id from m->path's binary in m->bins (pin, a
 * binary the caller holds, when not NULL) and its debug file, again after
 * sym_elf_unload; holds a reference to the binary until then. 0 or -errno
 * (-ENOENT when the file is not the one want_build_id names).
 */
int sym_elf_load(struct sym_module *m, const char *want_build_id, struct bin *pin);
/* Fills m->data (data objects) from m's binary. 0, -ENOENT or -ENOMEM. */
int sym_elf_load_data(struct sym_module *m);
/* Opens the module's line tables (idempotent); 1 when lines exist, else 0. */
/* debug_dir: where decompressed copies of compressed debug files live (debug_cache.c); NULL: none. */
int sym_elf_lines_open(struct sym_module *m, const char *debug_dir);
/* Source file and line of an ELF vaddr; file is libdw's string, valid while the Dwfl is open. */
int sym_elf_line(struct sym_module *m, uint64_t vaddr, const char **file, int *line);
struct sym_cu_scopes; /* symbols_elf.c */

/*
 * libdw's cost estimates: a decoded line table row (its Dwarf_Line, ~56
 * bytes, plus the arrays around it; measured 67 bytes per row over libc's
 * 291 K rows) and a CU's parsed abbreviations and bookkeeping (measured
 * ~0.5 KB per CU walking all of libc's DIEs).
 */
#define SYM_DW_LINE_BYTES 68
#define SYM_DW_CU_BYTES 512

/* Inline frames are followed this deep at most; real code stays far below. */
#define SYM_FRAMES_MAX 32
/*
 * The frames at an ELF vaddr from the module's DWARF, innermost first (see
 * sym_lookup_frames), with libdw's strings and the symbol table's names (both
 * live as long as the heavy part). Needs sym_elf_lines_open. Returns the count; 0
 * when no function DIE covers the address.
 */
int sym_elf_frames(struct sym_module *m, uint64_t vaddr, struct sym_frame *out, size_t max);
/* 1 when the module's DWARF has a DW_TAG_inlined_subroutine (checked once), else 0. */
int sym_elf_has_inlines(struct sym_module *m);
/* Drops the heavy part: symbol and data tables, Dwfl, CU index, the binary's reference (segments and build id stay). */
void sym_elf_unload(struct sym_module *m);
/* Releases what sym_elf_load, sym_elf_load_data and sym_elf_lines_open acquired. */
void sym_elf_release(struct sym_module *m);

/* ---- kernel and JIT ---- */

struct sym_kernel {
	bool loaded, available;
	struct sym_table t;
};

struct sym_jit {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	off_t size;
	uid_t uid;                    /* the owner it was trusted for */
	struct timespec mtime, ctime; /* ctime also catches a chown, at the clock's granularity */
	uint64_t used;                /* LRU tick */
	struct sym_table t;
};

/* A handful of JIT processes at a time; the least recently used is dropped. */
#define SYM_JIT_MAX 32

void sym_kernel_release(struct sym_kernel *k);
void sym_jit_release(struct sym_jit *j);
int sym_kernel_load(struct sym_kernel *k, const char *kallsyms_path);
/* sym_kernel_caller_addr on a loaded kernel table. */
uint64_t sym_kernel_table_caller_addr(const struct sym_table *t, uint64_t ret);
int sym_jit_load(struct sym_jit *j, pid_t pid);

/* ---- the cache ---- */

/*
 * At most this many ELF modules stay open whatever the byte budget: each one
 * with a separate debug file holds two descriptors of it (its binary's, and
 * the Dwfl's duplicate once lines are read), and 256 covers the
 * working set of a whole system profile while keeping descriptors well below
 * the usual 1024 limit.
 */
#define SYM_MODULES_MAX 256
#define SYM_HASH_BUCKETS 512 /* power of two, twice SYM_MODULES_MAX */

/* The memo bound without a byte budget (what one global memo was capped at before). */
#define SYM_MEMO_BYTES_DEFAULT ((size_t)9 << 20)

/* Paths known to name a file with a build id (symbols.c); past this many, all are forgotten. */
#define SYM_ALIASES_MAX 1024
struct sym_alias;

struct sym_cache {
	/* Chained, not a base_htab: modules and aliases leave, and base_htab has no removal. */
	struct sym_module *buckets[SYM_HASH_BUCKETS];
	struct sym_alias *aliases[SYM_HASH_BUCKETS];
	size_t naliases;
	struct base_list lru; /* modules, most recent first */
	size_t nmodules;
	struct sym_kernel kernel;
	struct sym_jit jit[SYM_JIT_MAX];
	uint64_t jit_tick;
	size_t budget;     /* bytes; 0: unlimited (count-bounded LRU only) */
	size_t bytes;      /* everything accounted: modules, kernel, JIT tables, this struct */
	size_t memo_bytes; /* all modules' memos (part of bytes) */
	size_t memo_cap;   /* bound of memo_bytes: a quarter of the budget, else the default */
	char *debug_dir;   /* sym_cache_set_debug_dir; NULL: debug files are read as shipped */
	struct bin_cache *bins; /* the binaries, maybe shared (sym_cache_use_binaries) */
	bool own_bins;
	size_t charged; /* the part of bytes charged to bins so far (bin_cache_charge) */
};

/*
 * Ends a lookup: counts what `keep` (the module it used, or NULL) holds now
 * and, over the budget, drops the least recently used modules other than
 * keep, then JIT tables other than keep_jit.
 */
void sym_cache_settle(struct sym_cache *c, struct sym_module *keep, const struct sym_jit *keep_jit);

#endif
