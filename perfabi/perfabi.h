/*
 * perfabi — the perf_event sampling ABI as bytes: what a record holds and how
 * to read it, independent of where the record came from.
 *
 * Owns: the record layout derived from an attr and the parsing of samples
 * and side-band records (record.c), perf_mem_data_src decoding (memsrc.c),
 * perf's perf.data format, read (perfdata.c, file and pipe mode) and written
 * (perfdata_write.c, with the MMAP2/COMM records synthesized from /proc for
 * processes that already run).
 *
 * Depends on base/ only; the live sampler, the engine and the reports build
 * on it.
 */
#ifndef PMUPROF_PERFABI_H
#define PMUPROF_PERFABI_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base.h"

/* --- record layout -------------------------------------------------------- */

/*
 * Which fields a sample of an event carries, derived from its attr. Every
 * event of a session has PERF_SAMPLE_IDENTIFIER, so the id sits first in a
 * sample and last in the sample_id trailer of side-band records.
 */
struct pabi_layout {
	uint64_t sample_type;
	uint64_t read_format;
	uint64_t regs_user_mask;
	uint64_t regs_intr_mask;
	uint64_t branch_sample_type; /* HW_INDEX and COUNTERS change a branch stack's size */
};

/* Linux 6.8: one u64 of counters per branch entry (older uapi headers lack it). */
#ifndef PERF_SAMPLE_BRANCH_COUNTERS
#define PERF_SAMPLE_BRANCH_COUNTERS (1U << 19)
#endif

void pabi_layout_from_attr(struct pabi_layout *l, const struct perf_event_attr *attr);

struct pabi_read_value {
	uint64_t value, id, lost;
};

/*
 * A parsed PERF_RECORD_SAMPLE. Pointers refer into the record's bytes.
 * weight is the whole u64 of PERF_SAMPLE_WEIGHT, or the access latency
 * (var1_dw) of PERF_SAMPLE_WEIGHT_STRUCT, as perf reports it.
 */
struct pabi_sample {
	uint64_t id, ip, time, addr, period, data_src, weight, phys_addr;
	uint64_t stream_id, transaction, cgroup, data_page_size, code_page_size;
	uint16_t ins_lat, retire_lat; /* WEIGHT_STRUCT's var2_w and var3_w */
	uint32_t pid, tid, cpu;
	uint16_t misc; /* the record header's: misc & PERF_RECORD_MISC_CPUMODE_MASK is ip's mode */
	uint64_t nr_callchain;
	const uint64_t *callchain;
	/* RAW: raw_size bytes (a tracepoint's payload: pmu_tp_field_* read its fields) */
	uint32_t raw_size;
	const unsigned char *raw;
	/* READ: one value, or the group (nr_read values) with shared times */
	uint64_t time_enabled, time_running;
	uint64_t nr_read;
	/* REGS_USER / STACK_USER (DWARF unwinding) */
	uint64_t regs_abi;
	const uint64_t *regs; /* popcount(regs_user_mask) values when regs_abi != 0 */
	uint64_t stack_size, stack_dyn_size;
	const unsigned char *stack;
	/* BRANCH_STACK: nr_branch {from, to, flags} triples (hw_idx: -1 unless HW_INDEX) */
	uint64_t nr_branch, branch_hw_idx;
	const uint64_t *branch;
	const uint64_t *branch_counters; /* nr_branch values with BRANCH_COUNTERS, else NULL */
	/* REGS_INTR: popcount(regs_intr_mask) values when regs_intr_abi != 0 */
	uint64_t regs_intr_abi;
	const uint64_t *regs_intr;
	/* AUX: aux_size bytes of the AUX area sampled with the record */
	uint64_t aux_size;
	const unsigned char *aux;
	/*
	 * READ's values, read[0..nr_read): last, and only those entries set, so
	 * parsing a sample does not clear 384 bytes it mostly does not use.
	 */
	struct pabi_read_value read[16];
};

/* --- kernel or user address (addr_mode.c) ------------------------------------ */

enum pabi_addr_mode { PABI_MODE_UNKNOWN, PABI_MODE_USER, PABI_MODE_KERNEL };

/*
 * The fallback where a record says nothing of an address: the upper half of
 * the 64-bit address space is the kernel's on x86-64 (0xffff8000_00000000 and
 * up), arm64 (0xfff0... to 0xffff..., by VA_BITS and kernel version) and other
 * 64-bit Linux ports that split it; user space is the lower half.
 */
#define PABI_KERNEL_HALF 0x8000000000000000ull

/* The mode a sample's ip ran in: its header's misc & PERF_RECORD_MISC_CPUMODE_MASK. */
enum pabi_addr_mode pabi_mode_of_misc(uint16_t misc);
/* The mode of the callchain frames after a PERF_CONTEXT_* marker (>= PERF_CONTEXT_MAX). */
enum pabi_addr_mode pabi_mode_of_context(uint64_t marker);
/*
 * Whether addr is a kernel address: `mode` decides when the record gave one;
 * PABI_MODE_UNKNOWN (a data address, a frame before any marker, cpumode
 * unknown) falls back to PABI_KERNEL_HALF.
 */
bool pabi_addr_is_kernel(enum pabi_addr_mode mode, uint64_t addr);

/*
 * The physical address a present page-table entry maps, as tracepoints
 * print entries (migrate:remove_migration_pte's pte, thp:remove_migration_pmd's
 * pmd; pmd: a 2 MiB block), for this build's architecture with 4 KiB pages:
 * x86-64 bits 12-51 (a huge PMD's bit 12 is its PAT bit), arm64 bits 12-47.
 * 0 where the architecture is not known.
 */
uint64_t pabi_pte_phys(uint64_t entry, bool pmd);

/* Fields of the sample_id trailer every side-band record carries (sample_id_all). */
struct pabi_sample_id {
	uint32_t pid, tid, cpu;
	uint64_t time, id;
};

/* Parses a PERF_RECORD_SAMPLE; -EINVAL when the record is shorter than its layout says. */
int pabi_parse_sample(const struct pabi_layout *l, const struct perf_event_header *h,
		      struct pabi_sample *out);
/*
 * A sample with a user stack copy holds the whole requested size although
 * only dyn_size bytes are valid: writes the same sample to `out` with the
 * stack cut to dyn_size (rounded up to 8) and returns its size, or 0 when
 * there is nothing to cut (no stack, already tight, malformed). `out` must
 * hold h->size bytes.
 */
size_t pabi_sample_compact(const struct pabi_layout *l, const struct perf_event_header *h,
			   unsigned char *out);
/* The IDENTIFIER of any record: first u64 of a sample, last of a side-band record. */
uint64_t pabi_record_id(const struct perf_event_header *h);
/*
 * Samples a LOST or LOST_SAMPLES record says were dropped, and the event id
 * they belong to (0 when the record does not say). Returns 1 for such a
 * record, 0 for any other, -EINVAL for a truncated one.
 */
int pabi_record_loss(const struct perf_event_header *h, uint64_t *id, uint64_t *lost);
/* Parses the sample_id trailer of a side-band record (TID, TIME, CPU, IDENTIFIER). */
int pabi_parse_sample_id(const struct pabi_layout *l, const struct perf_event_header *h,
			 struct pabi_sample_id *out);

/* --- synthesized records (synth.c) ----------------------------------------- */

/*
 * Takes one record, valid during the call; 0, or a negative errno to stop
 * (the consumer keeps its own message).
 */
typedef int (*pabi_synth_fn)(void *arg, const struct perf_event_header *h);
/*
 * What the kernel would have announced for a process (pid or any of its
 * tids) had it started during the recording, as `perf record` synthesizes
 * it: a COMM per thread and an MMAP2 per executable mapping of
 * /proc/PID/maps (with data: every mapping, the others marked
 * PERF_RECORD_MISC_MMAP_DATA, as perf record --data), each handed to fn. Each record ends in a sample_id
 * trailer laid out for l (a zero layout: none) with sid's time, id
 * and cpu (its pid and tid are the record's own). -ENOENT / -ESRCH when
 * the process is gone.
 */
int pabi_synthesize(pid_t pid, bool data, const struct pabi_layout *l,
		    const struct pabi_sample_id *sid, pabi_synth_fn fn, void *arg, char *err,
		    size_t errlen);
/* The same for every process in /proc (-a); processes that end meanwhile are skipped. */
int pabi_synthesize_all(bool data, const struct pabi_layout *l, const struct pabi_sample_id *sid,
			pabi_synth_fn fn, void *arg, char *err, size_t errlen);
/*
 * The kernel's own map (PERF_RECORD_MMAP of "[kernel.kallsyms]_text" at
 * _text, pid -1), which perf report needs to place /proc/kallsyms; nothing
 * when /proc/kallsyms hides the addresses.
 */
int pabi_synthesize_kernel(const struct pabi_layout *l, const struct pabi_sample_id *sid,
			   pabi_synth_fn fn, void *arg, char *err, size_t errlen);

/* perf's own record types in a perf.data (tools/perf/util/event.h), after the kernel's. */
enum perfdata_user_record {
	PERFDATA_USER_TYPE_START = 64,
	PERFDATA_HEADER_ATTR = 64,
	PERFDATA_HEADER_EVENT_TYPE = 65,
	PERFDATA_HEADER_TRACING_DATA = 66,
	PERFDATA_FINISHED_ROUND = 68,
	PERFDATA_AUXTRACE = 71,
	PERFDATA_EVENT_UPDATE = 78,
	PERFDATA_HEADER_FEATURE = 80,
	PERFDATA_COMPRESSED = 81,
	PERFDATA_COMPRESSED2 = 83,
};

/* --- perf.data import (perfdata.c) ------------------------------------------ */

/*
 * Reads perf's perf.data format (file and pipe mode) written by `perf record`
 * on any host: the events (attrs, ids, names) and the records of the data
 * section in file order, each with its event resolved by id as perf does.
 * Not thread-safe; the records point into the reader's memory and stay
 * valid until pabi_perfdata_close (except a misaligned one, copied to a
 * scratch buffer valid until the next pabi_perfdata_next).
 */
struct pabi_perfdata;

struct pabi_pd_event {
	struct perf_event_attr attr; /* as recorded, zero-extended to this header's size */
	struct pabi_layout layout;   /* for pabi_parse_sample / pabi_parse_sample_id */
	char name[256];              /* HEADER_EVENT_DESC / EVENT_UPDATE name, else generic */
};

struct pabi_pd_record {
	const struct perf_event_header *h;
	uint64_t offset; /* in the file */
	int event;       /* index of its event; -1 for perf's user records or an unknown id */
	uint64_t time;   /* from the sample or its sample_id trailer; 0 if none */
	bool scratch;    /* h is the reader's scratch copy: copy it to keep it */
};

/* Opens PATH ("-": stdin) and reads its header and event tables; 0 or -errno. */
int pabi_perfdata_open(struct pabi_perfdata **out, const char *path, char *err, size_t errlen);
void pabi_perfdata_close(struct pabi_perfdata *pd);
/* PATH is a regular file that begins as a perf.data (file or pipe mode) does. */
bool pabi_perfdata_probe(const char *path);
bool pabi_perfdata_is_pipe(const struct pabi_perfdata *pd);
size_t pabi_perfdata_nevents(const struct pabi_perfdata *pd);
/* Event i (file order of the attrs), NULL past the end. */
const struct pabi_pd_event *pabi_perfdata_event(const struct pabi_perfdata *pd, size_t i);
/* Index of the event an id belongs to, -1 if none. */
int pabi_perfdata_event_of_id(struct pabi_perfdata *pd, uint64_t id);
/* The event a record of this file belongs to (as pabi_pd_record.event), -1 if none. */
int pabi_perfdata_record_event(struct pabi_perfdata *pd, const struct perf_event_header *h);
/*
 * The next record of the data section, in file order (user records such as
 * HEADER_ATTR and FINISHED_ROUND included): 1, 0 at the end, or -EINVAL with
 * a message naming the offset of a corrupt record.
 */
int pabi_perfdata_next(struct pabi_perfdata *pd, struct pabi_pd_record *r, char *err,
		       size_t errlen);
/* Back to the first record. */
void pabi_perfdata_rewind(struct pabi_perfdata *pd);
/* The recording host's NUMA node of cpu (HEADER_NUMA_TOPOLOGY), -1 when unknown. */
int pabi_perfdata_cpu_node(const struct pabi_perfdata *pd, int cpu);
/* Distinct NUMA nodes in HEADER_NUMA_TOPOLOGY (0 without it). */
int pabi_perfdata_nnodes(const struct pabi_perfdata *pd);

/* --- perf.data writer (perfdata_write.c) ------------------------------------ */

/*
 * Writes perf's perf.data file mode as records arrive, to a base output
 * (base.h: a temporary renamed onto PATH by pabi_pdw_finish, or a device or
 * FIFO written at the finish). The events (attrs with
 * every id, names for HEADER_EVENT_DESC) may be added at any time before
 * the finish; records go into the data section byte for byte in the order
 * given. Any failure removes the temporary file at once and every later
 * call returns it again, so nothing truncated is ever left behind.
 * Single-threaded.
 */
struct pabi_pdw;

struct pabi_pdw_info {
	const char *version; /* HEADER_VERSION, e.g. "pmuprof 1.2" (NULL: none) */
	int argc;            /* HEADER_CMDLINE */
	const char *const *argv;
	int clockid; /* of the record times (HEADER_CLOCKID, CLOCK_DATA) */
};

/* Creates the temporary file and writes the header's placeholder; 0 or -errno. */
int pabi_pdw_open(struct pabi_pdw **out, const char *path, const struct pabi_pdw_info *info,
		  char *err, size_t errlen);
/* One entry of the attr table (attr.size is set to this header's), ids copied. */
int pabi_pdw_add_event(struct pabi_pdw *w, const struct perf_event_attr *attr, const char *name,
		       const uint64_t *ids, size_t nids, char *err, size_t errlen);
/* Appends one record (h->size bytes) to the data section. */
int pabi_pdw_write(struct pabi_pdw *w, const struct perf_event_header *h, char *err, size_t errlen);
/*
 * Appends PERF_RECORD_FINISHED_ROUND when records came since the last one:
 * perf's readers then sort and flush in bounded rounds.
 */
int pabi_pdw_finish_round(struct pabi_pdw *w, char *err, size_t errlen);
/* The file it writes (base.h), for checks against the run's other outputs. */
struct base_output *pabi_pdw_output(struct pabi_pdw *w);
/*
 * Writes the feature sections, the ids and the attr table, rewrites the
 * header, syncs and renames the file onto PATH; *size (if not NULL) gets
 * the file's size.
 */
int pabi_pdw_finish(struct pabi_pdw *w, uint64_t *size, char *err, size_t errlen);
/* Frees; the temporary file is removed unless pabi_pdw_finish succeeded. */
void pabi_pdw_close(struct pabi_pdw *w);
/* --- perf_mem_data_src decoded and rendered as perf does (memsrc.c) ---------- */

/* The access's opcode class (PERF_MEM_OP_*; the first set bit wins, as in perf). */
enum pabi_memsrc_op {
	PABI_MEMSRC_OP_NONE, /* no op bit set */
	PABI_MEMSRC_OP_NA,
	PABI_MEMSRC_OP_LOAD,
	PABI_MEMSRC_OP_STORE,
	PABI_MEMSRC_OP_PFETCH,
	PABI_MEMSRC_OP_EXEC,
};

/* Where the data came from: mem_lvl_num when set (newer kernels), else the old mem_lvl bits. */
enum pabi_memsrc_level {
	PABI_MEMSRC_LVL_NA,
	PABI_MEMSRC_LVL_L1,
	PABI_MEMSRC_LVL_LFB, /* line fill buffer / miss address buffer */
	PABI_MEMSRC_LVL_L2,
	PABI_MEMSRC_LVL_L3,
	PABI_MEMSRC_LVL_L4,
	PABI_MEMSRC_LVL_ANY_CACHE, /* a cache, level unknown (AMD IBS peer transfers) */
	PABI_MEMSRC_LVL_REMOTE_CACHE,
	PABI_MEMSRC_LVL_RAM, /* local RAM unless `remote` */
	PABI_MEMSRC_LVL_REMOTE_RAM,
	PABI_MEMSRC_LVL_PMEM,
	PABI_MEMSRC_LVL_CXL,
	PABI_MEMSRC_LVL_IO,
	PABI_MEMSRC_LVL_UNCACHED,
	PABI_MEMSRC_LVL_OTHER, /* a level number perf has no name for */
};

/* Level numbers newer than some installed uapi headers (PERF_MEM_LVLNUM_*). */
#define PABI_MEMSRC_LVLNUM_L2_MHB 0x05
#define PABI_MEMSRC_LVLNUM_MSC 0x06
#define PABI_MEMSRC_LVLNUM_UNC 0x08

/* One data_src, every field of union perf_mem_data_src split out. */
struct pabi_memsrc {
	uint64_t raw;
	enum pabi_memsrc_op op;
	uint8_t op_bits; /* PERF_MEM_OP_* bits */
	enum pabi_memsrc_level level;
	uint16_t lvl;    /* PERF_MEM_LVL_* bits (old namespace) */
	uint8_t lvl_num; /* PERF_MEM_LVLNUM_* (0: not given) */
	uint8_t hops;    /* PERF_MEM_HOPS_* (0: not given) */
	uint8_t snoop;   /* PERF_MEM_SNOOP_* bits */
	uint8_t snoopx;  /* PERF_MEM_SNOOPX_* bits */
	uint8_t lock;    /* PERF_MEM_LOCK_* bits */
	uint8_t dtlb;    /* PERF_MEM_TLB_* bits */
	uint8_t blk;     /* PERF_MEM_BLK_* bits */
	bool remote;
	bool hit, miss; /* of the level (mem_lvl HIT/MISS) */
	bool snoop_na, snoop_none, snoop_hit, snoop_miss, hitm, fwd, peer;
	bool locked, lock_na;
	bool tlb_hit, tlb_miss, tlb_na;
	bool blk_data, blk_addr;
};

void pabi_memsrc_decode(uint64_t data_src, struct pabi_memsrc *out);
/*
 * perf's renderings of each field, as `perf mem report` / `perf script -F
 * data_src` print them; each returns strlen of the full text (snprintf-like,
 * always NUL-terminated when len > 0). pabi_memsrc_lvl_str: current perf ("L1 hit",
 * "Remote Cache (1 hop) hit", "Remote core, same node Any cache hit"); with
 * legacy, perf <= 6.2's "old bits or lvl_num" form ("L1 or L1 hit",
 * "Local RAM or RAM hit") that this host's perf 6.1 prints.
 */
size_t pabi_memsrc_op_str(uint64_t data_src, char *buf, size_t len);
size_t pabi_memsrc_lvl_str(uint64_t data_src, bool legacy, char *buf, size_t len);
size_t pabi_memsrc_snoop_str(uint64_t data_src, char *buf, size_t len); /* "HitM", "None or Peer" */
size_t pabi_memsrc_tlb_str(uint64_t data_src, char *buf, size_t len);   /* "L1 or L2 hit" */
size_t pabi_memsrc_lock_str(uint64_t data_src, char *buf, size_t len);  /* "Yes", "No", "N/A" */
size_t pabi_memsrc_blk_str(uint64_t data_src, char *buf,
			   size_t len); /* " N/A", " Data", " Data Addr" */
/* perf script's "|OP LOAD|LVL L1 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A". */
size_t pabi_memsrc_str(uint64_t data_src, bool legacy, char *buf, size_t len);

#endif
