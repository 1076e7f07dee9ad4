/*
 * sampler — sampling events per CPU into mmap rings, drained by reader threads.
 *
 * Owns: the sampling attrs (sample_type, sample_id_all, CLOCK_MONOTONIC
 * timestamps, side-band records), opening every event on every recorded CPU
 * with one mmap ring per CPU (the CPU's other events redirected into it with
 * PERF_EVENT_IOC_SET_OUTPUT), the kernel's ring protocol, the record layout
 * (parsing samples and side-band records), and the reader threads that a
 * topology plan places next to their CPUs. Readers copy records out of the
 * rings into node-local chunks, queued per CPU for the consumer (export/'s
 * merger), which gets them with smp_take() and gives chunks back with
 * smp_chunk_release().
 *
 * Depends on pmu/ (events) and topology/ (placement, node-local memory).
 */
#ifndef PMUPROF_SAMPLER_H
#define PMUPROF_SAMPLER_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pmu.h"
#include "topology.h"

/* --- record layout -------------------------------------------------------- */

/*
 * Which fields a sample of an event carries, derived from its attr. Every
 * event of a session has PERF_SAMPLE_IDENTIFIER, so the id sits first in a
 * sample and last in the sample_id trailer of side-band records.
 */
struct smp_layout {
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

void smp_layout_from_attr(struct smp_layout *l, const struct perf_event_attr *attr);

struct smp_read_value {
	uint64_t value, id, lost;
};

/*
 * A parsed PERF_RECORD_SAMPLE. Pointers refer into the record's bytes.
 * weight is the whole u64 of PERF_SAMPLE_WEIGHT, or the access latency
 * (var1_dw) of PERF_SAMPLE_WEIGHT_STRUCT, as perf reports it.
 */
struct smp_sample {
	uint64_t id, ip, time, addr, period, data_src, weight, phys_addr;
	uint64_t stream_id, transaction, cgroup, data_page_size, code_page_size;
	uint16_t ins_lat, retire_lat; /* WEIGHT_STRUCT's var2_w and var3_w */
	uint32_t pid, tid, cpu;
	uint16_t misc; /* the record header's: misc & PERF_RECORD_MISC_CPUMODE_MASK is ip's mode */
	uint64_t nr_callchain;
	const uint64_t *callchain;
	/* READ: one value, or the group (nr_read values) with shared times */
	uint64_t time_enabled, time_running;
	uint64_t nr_read;
	struct smp_read_value read[16];
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
};

/* --- kernel or user address (addr_mode.c) --- */

enum smp_addr_mode { SMP_MODE_UNKNOWN, SMP_MODE_USER, SMP_MODE_KERNEL };

/*
 * The fallback where a record says nothing of an address: the upper half of
 * the 64-bit address space is the kernel's on x86-64 (0xffff8000_00000000 and
 * up), arm64 (0xfff0... to 0xffff..., by VA_BITS and kernel version) and other
 * 64-bit Linux ports that split it; user space is the lower half.
 */
#define SMP_KERNEL_HALF 0x8000000000000000ull

/* The mode a sample's ip ran in: its header's misc & PERF_RECORD_MISC_CPUMODE_MASK. */
enum smp_addr_mode smp_mode_of_misc(uint16_t misc);
/* The mode of the callchain frames after a PERF_CONTEXT_* marker (>= PERF_CONTEXT_MAX). */
enum smp_addr_mode smp_mode_of_context(uint64_t marker);
/*
 * Whether addr is a kernel address: `mode` decides when the record gave one;
 * SMP_MODE_UNKNOWN (a data address, a frame before any marker, cpumode
 * unknown) falls back to SMP_KERNEL_HALF.
 */
bool smp_addr_is_kernel(enum smp_addr_mode mode, uint64_t addr);

/* Fields of the sample_id trailer every side-band record carries (sample_id_all). */
struct smp_sample_id {
	uint32_t pid, tid, cpu;
	uint64_t time, id;
};

/* Parses a PERF_RECORD_SAMPLE; -EINVAL when the record is shorter than its layout says. */
int smp_parse_sample(const struct smp_layout *l, const struct perf_event_header *h,
		     struct smp_sample *out);
/*
 * A sample with a user stack copy holds the whole requested size although
 * only dyn_size bytes are valid: writes the same sample to `out` with the
 * stack cut to dyn_size (rounded up to 8) and returns its size, or 0 when
 * there is nothing to cut (no stack, already tight, malformed). `out` must
 * hold h->size bytes.
 */
size_t smp_sample_compact(const struct smp_layout *l, const struct perf_event_header *h,
			  unsigned char *out);
/* The IDENTIFIER of any record: first u64 of a sample, last of a side-band record. */
uint64_t smp_record_id(const struct perf_event_header *h);
/*
 * Samples a LOST or LOST_SAMPLES record says were dropped, and the event id
 * they belong to (0 when the record does not say). Returns 1 for such a
 * record, 0 for any other, -EINVAL for a truncated one.
 */
int smp_record_loss(const struct perf_event_header *h, uint64_t *id, uint64_t *lost);
/* Parses the sample_id trailer of a side-band record (TID, TIME, CPU, IDENTIFIER). */
int smp_parse_sample_id(const struct smp_layout *l, const struct perf_event_header *h,
			struct smp_sample_id *out);

/* --- rings ------------------------------------------------------------------ */

/*
 * One kernel ring: the perf_event_mmap_page followed by data_size bytes
 * (a power of two). Kept apart from the session so tests can drive the
 * reader on synthetic rings.
 */
struct smp_ring {
	struct perf_event_mmap_page *meta;
	unsigned char *data;
	size_t data_size;
	int fd;  /* the event that owns the buffer; -1 for synthetic rings */
	int cpu;
};

/*
 * Reads every complete record between data_tail and data_head, calling fn for
 * each (records that wrap past the end are copied into `scratch`, which must
 * hold 65536 bytes), then publishes the new tail. Returns the number of bytes
 * consumed, or fn's first negative return (the tail then stays at that record).
 */
long smp_ring_read(struct smp_ring *r, unsigned char *scratch,
		   int (*fn)(void *arg, const struct perf_event_header *h), void *arg);

/* --- chunks: records copied out of the rings -------------------------------- */

/*
 * Records copied out of one CPU's ring, each preceded by a smp_entry. Chunks
 * are allocated node-locally by the reader that fills them.
 */
struct smp_entry {
	uint64_t time; /* from the sample or the sample_id trailer; 0 if none */
	uint32_t size; /* of the record that follows, bytes */
	uint32_t cpu;  /* ring the record came from */
};

struct smp_chunk {
	struct smp_chunk *next;
	size_t used, cap;
	int refs;       /* owner's bookkeeping: records still pending in the consumer */
	int reader;     /* index of the reader that owns its memory */
	unsigned char *data;
};

/* --- the session ----------------------------------------------------------- */

struct smp_options {
	const struct pmu_event_list *events;
	const int *cpus; /* CPUs to record on (one ring each) */
	int ncpus;
	const pid_t *pids; /* tasks to follow; NULL = every task on the CPUs (-a) */
	int npids;
	bool inherit;        /* follow threads and children created later */
	bool enable_on_exec; /* start when the (stopped) child execs */
	bool start_disabled; /* -D -1: counting waits for smp_enable() (record --control) */
	uint64_t period;     /* -c: default sample period (0: use freq) */
	uint64_t freq;       /* -F: default frequency when no period is set */
	bool callchain;      /* -g: PERF_SAMPLE_CALLCHAIN */
	/*
	 * --call-graph dwarf: bytes of user stack to copy per sample (0: none) and
	 * the user registers to sample with it. The kernel part of the stack
	 * still comes from the kernel's callchain (exclude_callchain_user).
	 */
	uint32_t stack_dump;
	uint64_t regs_user_mask;
	uint64_t extra_sample_type; /* ADDR, DATA_SRC, WEIGHT, PHYS_ADDR ... */
	bool track_data_maps; /* MMAP2 for data mappings too (heap, stack, anon): mmap_data */
	size_t ring_pages;   /* data pages per ring, a power of two */
	const struct topo *topo;
	const struct topo_plan *plan; /* which reader drains which CPU's ring */
	/*
	 * --duration: the readers disable the events this long after smp_start,
	 * however far behind the consumer is (0: until smp_stop).
	 */
	uint64_t stop_after_ns;
};

struct smp_event_stats {
	uint64_t samples;   /* samples copied out of the rings */
	uint64_t lost;      /* PERF_RECORD_LOST attributed to the event */
	uint64_t throttles; /* PERF_RECORD_THROTTLE */
};

struct smp_session;

int smp_open(struct smp_session **out, const struct pmu_ctx *ctx, const struct smp_options *o,
	     char *err, size_t errlen);
/* Starts the reader threads, then enables the events (unless enable_on_exec). */
int smp_start(struct smp_session *s, char *err, size_t errlen);
/* Enables or disables every event (inherited copies included); 0 or -errno. */
int smp_enable(struct smp_session *s);
int smp_disable(struct smp_session *s);
/* Disables the events, drains every ring a last time, joins the readers. */
int smp_stop(struct smp_session *s);
/*
 * The sampling window so far: from smp_start to stop_after_ns or smp_stop,
 * whichever came first (to now while it is open); over once it has ended.
 */
uint64_t smp_window_ns(const struct smp_session *s);
bool smp_window_over(const struct smp_session *s);
void smp_close(struct smp_session *s);

/*
 * Hands the consumer every chunk filled since the last call, one list per
 * recorded CPU (slot order of smp_options.cpus), and the time below which no
 * record can still arrive on any ring (every ring was drained after it; the
 * whole stream once stopped). The consumer owns the chunks until it calls
 * smp_chunk_release().
 */
struct smp_batch {
	struct smp_chunk **per_cpu; /* ncpus lists (NULL when empty) */
	int ncpus;
	uint64_t safe_time;
	bool final; /* the session has stopped: nothing more will come */
};
int smp_take(struct smp_session *s, struct smp_batch *batch);
void smp_chunk_release(struct smp_session *s, struct smp_chunk *c);

/* Index of the event (in the options' list) that a record's id belongs to, -1 if none. */
int smp_event_index(const struct smp_session *s, uint64_t id);
/* Whether event EV's counters are inherited (one copy per thread) as opened. */
bool smp_event_inherited(const struct smp_session *s, int ev);
const struct smp_layout *smp_event_layout(const struct smp_session *s, int index);
const struct perf_event_attr *smp_event_attr(const struct smp_session *s, int index);
/* Counters the readers keep (samples, LOST, THROTTLE) per event index. */
void smp_event_stats(const struct smp_session *s, int index, struct smp_event_stats *out);
/* LOST records whose id matched no event, and ring bytes the readers dropped. */
uint64_t smp_unattributed_lost(const struct smp_session *s);
/*
 * One line for the user that is not an error ("" when none): the kernel
 * cannot follow threads created later with a group read at each sample, so
 * those groups sample only the tasks opened on (and what to do about it).
 */
const char *smp_notice(const struct smp_session *s);

/* --- where the readers' memory is (record -v) ---------------------------------- */

#define SMP_MAX_NODES 64

struct smp_reader_memory {
	const struct topo_reader *plan; /* its node, CPUs and affinity */
	/* Mapped pages of the rings it drains (each read once to find it); per node. */
	size_t ring_pages;
	unsigned long ring_node[SMP_MAX_NODES];
	/* Pages of its own buffers (chunks, scratch); per node, those faulted in. */
	size_t buffer_pages;
	unsigned long buffer_node[SMP_MAX_NODES];
};

/* Readers started by smp_start (0 before). */
int smp_nreaders(const struct smp_session *s);
/*
 * Where reader r's rings and buffers are, page by page as the kernel says
 * (move_pages): for a check that they are on its node. Call it between
 * smp_start and smp_close from the consumer's thread, while the consumer
 * holds no chunk (chunks it holds are not counted). 0 or -errno.
 */
int smp_reader_memory(struct smp_session *s, int r, struct smp_reader_memory *m);


/* --- watchpoints (watch.c): hardware breakpoints on a memory range ---------- */

/*
 * Write (or read-write) hardware watchpoints on the 8-byte words of a small
 * range, for every thread of a task (inherit: later threads and children
 * too), sampled on every hit. The hardware has few debug registers (x86: 4),
 * so at most four words are watched at a time (one where the probe below finds
 * a hit also reported on another watched word): successive windows rotate
 * across the words (PERF_EVENT_IOC_MODIFY_ATTRIBUTES where the kernel allows
 * it on inherited events, else the events are closed and reopened on every
 * thread). The caller paces the windows (duty cycle) with smp_watch_arm() /
 * smp_watch_disarm(); with `rw`, windows alternate write-only and
 * read-write so writes can be told from reads.
 */
struct smp_watch_options {
	uint64_t addr;       /* start of the range, 8-byte aligned */
	uint32_t len;        /* bytes, a multiple of 8 (<= 8 * SMP_WATCH_MAX_WORDS) */
	bool rw;             /* also read-write windows */
	pid_t pid;           /* the process to watch */
	bool enable_on_exec; /* pid is a stopped child: the first window opens at exec */
	size_t ring_pages;   /* data pages per CPU ring, a power of two (0: 128) */
	/*
	 * Rotate by closing and reopening on every current thread, as on kernels
	 * that refuse to modify inherited events (for tests). Reopened events
	 * miss processes the target forked.
	 */
	bool reopen;
	int slots;           /* words watched at once, 1..SMP_WATCH_SLOTS (0: SMP_WATCH_SLOTS) */
};

#define SMP_WATCH_MAX_WORDS 64
#define SMP_WATCH_SLOTS 4

struct smp_watch_hit {
	uint64_t ip, time, addr;
	uint32_t pid, tid;
	int word;   /* index of the 8-byte word in the range */
	bool rw;    /* seen in a read-write window (a read or a write), else a write */
};

struct smp_watch_stats {
	uint64_t windows, hits, lost;
	uint64_t armed_ns;                        /* time any word was armed */
	uint64_t word_ns[SMP_WATCH_MAX_WORDS][2]; /* per word: [0] write, [1] read-write windows */
	bool modify;                              /* rotated by MODIFY_ATTRIBUTES (else reopen) */
	int slots;                                /* words watched at once */
};

struct smp_watch;

/* What smp_watch_probe() found out about this machine's watchpoints. */
struct smp_watch_probe {
	int slots;             /* words a window may watch at once (smp_watch_options.slots) */
	uint64_t pair_writes;  /* writes to each of two words written in turn */
	uint64_t pair_hits[2]; /* hits their two watchpoints counted (word 0, word 1) */
};

/*
 * Arms a write watchpoint on a word of the caller's own stack, writes the
 * word and checks that the hits were counted: 0 when watchpoints fire here;
 * -ENOTSUP when they open but never fire (some VMs), with a message saying
 * that no verdict can be had; -errno when one cannot be opened. Then writes
 * two watched words in turn: where a hit also counts on the other word's
 * watchpoint (QEMU's TCG: a watchpoint's hit flag outlives its hit, so the
 * debug status register names it again beside the next one hit), a
 * sample's address is not always the word written, and out->slots is 1 (one
 * word per window: a single armed watchpoint cannot be reported in place of
 * another); else SMP_WATCH_SLOTS.
 */
int smp_watch_probe(struct smp_watch_probe *out, char *err, size_t errlen);

int smp_watch_open(struct smp_watch **out, const struct smp_watch_options *o, char *err,
		   size_t errlen);
/* Opens a window on the current words (or notes that exec opened the first one). */
int smp_watch_arm(struct smp_watch *w, char *err, size_t errlen);
/*
 * Closes the window, passes every hit it recorded to fn, and moves to the
 * next words. Returns 0, fn's first negative return or -errno.
 */
int smp_watch_disarm(struct smp_watch *w, int (*fn)(void *arg, const struct smp_watch_hit *h),
		     void *arg, char *err, size_t errlen);
void smp_watch_get_stats(const struct smp_watch *w, struct smp_watch_stats *out);
void smp_watch_close(struct smp_watch *w);

/* --- perf.data import (perfdata.c) ------------------------------------------ */

/*
 * Reads perf's perf.data format (file and pipe mode) written by `perf record`
 * on any host: the events (attrs, ids, names) and the records of the data
 * section in file order, each with its event resolved by id as perf does.
 * Not thread-safe; the records point into the reader's memory and stay
 * valid until smp_perfdata_close (except a misaligned one, copied to a
 * scratch buffer valid until the next smp_perfdata_next).
 */
struct smp_perfdata;

struct smp_pd_event {
	struct perf_event_attr attr; /* as recorded, zero-extended to this header's size */
	struct smp_layout layout;    /* for smp_parse_sample / smp_parse_sample_id */
	char name[256];              /* HEADER_EVENT_DESC / EVENT_UPDATE name, else generic */
};

struct smp_pd_record {
	const struct perf_event_header *h;
	uint64_t offset; /* in the file */
	int event;       /* index of its event; -1 for perf's user records or an unknown id */
	uint64_t time;   /* from the sample or its sample_id trailer; 0 if none */
	bool scratch;    /* h is the reader's scratch copy: copy it to keep it */
};

/* Opens PATH ("-": stdin) and reads its header and event tables; 0 or -errno. */
int smp_perfdata_open(struct smp_perfdata **out, const char *path, char *err, size_t errlen);
void smp_perfdata_close(struct smp_perfdata *pd);
bool smp_perfdata_is_pipe(const struct smp_perfdata *pd);
size_t smp_perfdata_nevents(const struct smp_perfdata *pd);
/* Event i (file order of the attrs), NULL past the end. */
const struct smp_pd_event *smp_perfdata_event(const struct smp_perfdata *pd, size_t i);
/* Index of the event an id belongs to, -1 if none. */
int smp_perfdata_event_of_id(struct smp_perfdata *pd, uint64_t id);
/*
 * The next record of the data section, in file order (user records such as
 * HEADER_ATTR and FINISHED_ROUND included): 1, 0 at the end, or -EINVAL with
 * a message naming the offset of a corrupt record.
 */
int smp_perfdata_next(struct smp_perfdata *pd, struct smp_pd_record *r, char *err,
		      size_t errlen);
/* Back to the first record. */
void smp_perfdata_rewind(struct smp_perfdata *pd);
/* The recording host's NUMA node of cpu (HEADER_NUMA_TOPOLOGY), -1 when unknown. */
int smp_perfdata_cpu_node(const struct smp_perfdata *pd, int cpu);
/* Distinct NUMA nodes in HEADER_NUMA_TOPOLOGY (0 without it). */
int smp_perfdata_nnodes(const struct smp_perfdata *pd);

/* --- perf.data writer (perfdata_write.c) ------------------------------------ */

/*
 * Writes perf's perf.data file mode as records arrive, to a base output
 * (base.h: a temporary renamed onto PATH by smp_pdw_finish, or a device or
 * FIFO written at the finish). The events (attrs with
 * every id, names for HEADER_EVENT_DESC) may be added at any time before
 * the finish; records go into the data section byte for byte in the order
 * given. Any failure removes the temporary file at once and every later
 * call returns it again, so nothing truncated is ever left behind.
 * Single-threaded.
 */
struct smp_pdw;

struct smp_pdw_info {
	const char *version;      /* HEADER_VERSION, e.g. "pmuprof 1.2" (NULL: none) */
	int argc;                 /* HEADER_CMDLINE */
	const char *const *argv;
	int clockid;              /* of the record times (HEADER_CLOCKID, CLOCK_DATA) */
};

/* Creates the temporary file and writes the header's placeholder; 0 or -errno. */
int smp_pdw_open(struct smp_pdw **out, const char *path, const struct smp_pdw_info *info,
		 char *err, size_t errlen);
/* One entry of the attr table (attr.size is set to this header's), ids copied. */
int smp_pdw_add_event(struct smp_pdw *w, const struct perf_event_attr *attr, const char *name,
		      const uint64_t *ids, size_t nids, char *err, size_t errlen);
/* Appends one record (h->size bytes) to the data section. */
int smp_pdw_write(struct smp_pdw *w, const struct perf_event_header *h, char *err,
		  size_t errlen);
/*
 * Appends PERF_RECORD_FINISHED_ROUND when records came since the last one:
 * perf's readers then sort and flush in bounded rounds.
 */
int smp_pdw_finish_round(struct smp_pdw *w, char *err, size_t errlen);
/* The file it writes (base.h), for checks against the run's other outputs. */
struct base_output *smp_pdw_output(struct smp_pdw *w);
/*
 * What the kernel would have announced for a process (pid or any of its
 * tids) had it started during the recording, as `perf record` synthesizes
 * it: a COMM per thread and an MMAP2 per executable mapping of
 * /proc/PID/maps. Each record ends in a sample_id trailer laid out for l
 * with sid's time, id and cpu (its pid and tid are the record's own).
 * -ENOENT / -ESRCH when the process is gone.
 */
int smp_pdw_synthesize(struct smp_pdw *w, pid_t pid, const struct smp_layout *l,
		       const struct smp_sample_id *sid, char *err, size_t errlen);
/*
 * The kernel's own map (PERF_RECORD_MMAP of "[kernel.kallsyms]_text" at
 * _text, pid -1), which perf report needs to place /proc/kallsyms; nothing
 * when /proc/kallsyms hides the addresses.
 */
int smp_pdw_synthesize_kernel(struct smp_pdw *w, const struct smp_layout *l,
			      const struct smp_sample_id *sid, char *err, size_t errlen);
/* The same for every process in /proc (-a); processes that end meanwhile are skipped. */
int smp_pdw_synthesize_all(struct smp_pdw *w, const struct smp_layout *l,
			   const struct smp_sample_id *sid, char *err, size_t errlen);
/*
 * Writes the feature sections, the ids and the attr table, rewrites the
 * header, syncs and renames the file onto PATH; *size (if not NULL) gets
 * the file's size.
 */
int smp_pdw_finish(struct smp_pdw *w, uint64_t *size, char *err, size_t errlen);
/* Frees; the temporary file is removed unless smp_pdw_finish succeeded. */
void smp_pdw_close(struct smp_pdw *w);

/*
 * The session's events as a perf.data attr table lists them: the options'
 * events (indexes 0 .. n-1, as smp_event_index), then the per-CPU tracking
 * dummy (index n) whose ids the side-band records (MMAP2, COMM, FORK,
 * EXIT) carry in their sample_id trailer.
 */
int smp_nevents_total(const struct smp_session *s);
/* The attr event `index` was opened with (sampling fields included) and its name. */
void smp_event_open_attr(const struct smp_session *s, int index, struct perf_event_attr *out,
			 const char **name);
/* Every id of event `index`, one per opened fd (CPU x task), malloc'd; 0 or -errno. */
int smp_event_ids(const struct smp_session *s, int index, uint64_t **ids, size_t *n);

/* --- threads --------------------------------------------------------------- */

/* Every thread of a process now, from /proc/PID/task (malloc'd); -errno (ENOENT: no such process). */
int smp_list_threads(pid_t pid, pid_t **out, int *n);

#endif
