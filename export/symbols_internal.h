/*
 * Internal to the symbolizer (symbols.c, symbols_elf.c, symbols_kernel.c):
 * the sorted address table shared by ELF, kallsyms and JIT maps, the string
 * interner, the per-module cache entry and the cache itself. Not part of the
 * module's public header.
 */
#ifndef PMUPROF_SYMBOLS_INTERNAL_H
#define PMUPROF_SYMBOLS_INTERNAL_H

#include "symbols.h"

#include <elfutils/libdwfl.h>
#include <time.h>

/* ---- sorted address tables ---- */

/* One symbol: [start, end). `interned` is filled on first use (see sym_entry_name). */
struct sym_entry {
	uint64_t start, end;
	const char *name;     /* into the owning table's `names` block */
	const char *interned; /* the cache's copy, which outlives the table */
};

struct sym_table {
	struct sym_entry *v;
	size_t n;
	char *names;
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

/* ---- string interning: returned strings live until sym_cache_free ---- */

struct sym_chunk;
struct sym_intern {
	const char **slots;
	size_t cap, n;
	struct sym_chunk *chunks;
	char *cur;
	size_t left;
};

const char *sym_intern(struct sym_intern *in, const char *s, size_t len);
const char *sym_entry_name(struct sym_intern *in, struct sym_entry *e);

/* ---- ELF modules ---- */

struct sym_load {
	uint64_t offset, filesz, vaddr;
};

#define SYM_FILE_MEMO 64 /* power of two */

struct sym_module {
	uint64_t id; /* unique within the cache, never reused: keys the frame memo */
	/* key: the caller's build id (lower-case hex), else path + size + mtime */
	char *key_build_id;
	char *path;
	off_t size;
	struct timespec mtime;
	uint64_t hash;
	struct sym_module *hnext;
	struct sym_module *prev, *next; /* LRU, most recent first */

	int status; /* 0, or the negative errno every lookup returns (negative cache) */
	struct sym_load *loads;
	size_t nloads;
	struct sym_table syms;
	char build_id[41];

	/* Line tables, opened on first need. */
	int dwfl_state; /* 0 not tried, 1 open, -1 unavailable */
	Dwfl *dwfl;
	Dwfl_Module *dmod;
	GElf_Addr bias;
	bool has_lines;
	int inline_state; /* 0 not checked, 1 DWARF has inlined subroutines, -1 none */
	/* Per CU touched by sym_elf_frames: its functions' address ranges, sorted. */
	struct sym_cu_scopes *cu_scopes; /* open addressing by CU offset */
	size_t cu_cap, cu_used;
	/*
	 * libdw hands back one pointer per file of a CU: remember interned copies
	 * by that pointer (direct-mapped) instead of hashing the string each time.
	 */
	struct {
		const char *raw, *interned;
	} files[SYM_FILE_MEMO];
};

/* Fills loads, syms and build_id from path (and its debug file). 0 or -errno. */
int sym_elf_load(struct sym_module *m, const char *path, const char *want_build_id);
/* Opens the module's line tables (idempotent); 1 when lines exist, else 0. */
int sym_elf_lines_open(struct sym_module *m);
/* Source file and line of an ELF vaddr; file is libdw's string (intern it). */
int sym_elf_line(struct sym_module *m, uint64_t vaddr, const char **file, int *line);
struct sym_cu_scopes; /* symbols_elf.c */

/* Inline frames are followed this deep at most; real code stays far below. */
#define SYM_FRAMES_MAX 32
/*
 * The frames at an ELF vaddr from the module's DWARF, innermost first (see
 * sym_lookup_frames), with libdw's strings and the symbol table's names (intern
 * them). Needs sym_elf_lines_open. Returns the count; 0 when no function DIE
 * covers the address.
 */
int sym_elf_frames(struct sym_module *m, uint64_t vaddr, struct sym_frame *out, size_t max);
/* 1 when the module's DWARF has a DW_TAG_inlined_subroutine (checked once), else 0. */
int sym_elf_has_inlines(struct sym_module *m);
/* Releases what sym_elf_load and sym_elf_lines_open acquired. */
void sym_elf_release(struct sym_module *m);
/* True when want (caller's hex, maybe zero-padded by perf) names have (the file's hex). */
bool sym_build_id_matches(const char *want, const char *have);

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
	struct timespec mtime, ctime; /* ctime also catches a chown */
	uint64_t used;                /* LRU tick */
	struct sym_table t;
};

/* A handful of JIT processes at a time; the least recently used is dropped. */
#define SYM_JIT_MAX 32

void sym_kernel_release(struct sym_kernel *k);
void sym_jit_release(struct sym_jit *j);
int sym_kernel_load(struct sym_kernel *k, const char *kallsyms_path);
int sym_jit_load(struct sym_jit *j, pid_t pid);

/* ---- the cache ---- */

/*
 * At most this many ELF modules stay open. Each open module holds its symbol
 * array (~0.3 MB for libc) and, once lines were asked for, a Dwfl with up to
 * two open descriptors and mmaps (the file and its debug file, 4+ MB for
 * libc). 256 covers the working set of a whole system profile while keeping
 * descriptors well below the usual 1024 limit.
 */
#define SYM_MODULES_MAX 256
#define SYM_HASH_BUCKETS 512 /* power of two, twice SYM_MODULES_MAX */

/*
 * Frames already computed, by (module id, vaddr): hot addresses repeat and
 * walking DWARF scopes costs microseconds. Open addressing, grown by doubling
 * up to a bound, then emptied: at most ~9 MB (3 slots + 6 frames) whatever
 * the profile.
 */
struct sym_memo_slot {
	uint64_t vaddr;
	uint64_t module; /* 0: empty slot */
	uint32_t first;  /* into sym_memo.frames */
	uint32_t n;
};

#define SYM_MEMO_SLOTS_MIN 1024
#define SYM_MEMO_SLOTS_MAX (1u << 17)  /* power of two; filled to half at most */
#define SYM_MEMO_FRAMES_MAX (1u << 18) /* 24 bytes each */

struct sym_memo {
	struct sym_memo_slot *slots;
	size_t cap, used;
	struct sym_frame *frames;
	size_t nframes, framecap;
};

struct sym_cache {
	struct sym_module *buckets[SYM_HASH_BUCKETS];
	struct sym_module *lru_head, *lru_tail;
	size_t nmodules;
	struct sym_intern intern;
	struct sym_kernel kernel;
	struct sym_jit jit[SYM_JIT_MAX];
	uint64_t jit_tick;
	uint64_t module_serial; /* last sym_module.id handed out */
	struct sym_memo memo;
};

#endif
