/*
 * sampler — sampling events per CPU into mmap rings, drained by reader threads.
 *
 * Owns: the sampling attrs (sample_type, sample_id_all, CLOCK_MONOTONIC
 * timestamps, side-band records), opening every event on every recorded CPU
 * with one mmap ring per CPU (the CPU's other events redirected into it with
 * PERF_EVENT_IOC_SET_OUTPUT), the kernel's ring protocol, the reader threads
 * that a topology plan places next to their CPUs, and watchpoints (watch.c). Readers copy records out of the
 * rings into node-local chunks, queued per CPU for the consumer (engine/'s
 * merger), which gets them with smp_take() and gives chunks back with
 * smp_chunk_release().
 *
 * Depends on pmu/ (events), topology/ (placement, node-local memory) and
 * perfabi/ (the record layout).
 */
#ifndef PMUPROF_SAMPLER_H
#define PMUPROF_SAMPLER_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perfabi.h"
#include "pmu.h"
#include "topology.h"

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
	uint64_t min_time; /* the oldest record's time; UINT64_MAX when none has one */
	/*
	 * A chunk its reader spilled (its memory budget was used up while the
	 * consumer lagged): the records wait at spill_off in the reader's spill
	 * file, with data NULL, until smp_take loads them into a buffer of the
	 * consumer's.
	 */
	bool spilled;
	uint64_t spill_off;
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
	bool rate_given;     /* -c or -F typed: they override events' own periods too */
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
	/*
	 * Memory the readers may fill with records the consumer has not taken
	 * (0: SMP_DEFAULT_BUFFER_BYTES); beyond it they spill to a file in
	 * $TMPDIR, so a lagging consumer never makes a ring overflow.
	 */
	size_t buffer_bytes;
};

#define SMP_DEFAULT_BUFFER_BYTES (16u << 20)

struct smp_session;

int smp_open(struct smp_session **out, const struct pmu_ctx *ctx, const struct smp_options *o,
	     char *err, size_t errlen);
/*
 * Enables the side-band tracking now (a command's starts at its exec):
 * call it before synthesizing records of running processes from /proc, so
 * that a process that execs meanwhile is seen by one or the other (the
 * kernel's records come later in time and win). Idempotent; 0 or -errno.
 */
int smp_track(struct smp_session *s, char *err, size_t errlen);
/* Starts the reader threads, then the tracking and the events (unless enable_on_exec). */
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
 * Hands the consumer the chunks filled since the last call, one list per
 * recorded CPU (slot order of smp_options.cpus), and the time below which no
 * record can still arrive on any ring (every ring was drained after it; the
 * whole stream once stopped). About SMP_TAKE_BYTES per ring and call at
 * most (spilled chunks are read back here), so a consumer catching up on a
 * backlog holds a bounded part of it and returns to its loop often; what is
 * left waits for the next call (more), and the safe time stays below it. The consumer
 * owns the chunks until it calls smp_chunk_release().
 */
struct smp_batch {
	struct smp_chunk **per_cpu; /* ncpus lists (NULL when empty) */
	int ncpus;
	uint64_t safe_time;
	bool more;    /* chunks were left queued: take again */
	bool stopped; /* the session has stopped: what is queued is all there will be */
	bool final;   /* stopped, and nothing was left: nothing more will come */
};

#define SMP_TAKE_BYTES (1u << 20)
int smp_take(struct smp_session *s, struct smp_batch *batch);
void smp_chunk_release(struct smp_session *s, struct smp_chunk *c);

/* How the readers' memory and spill file were used (record -v, the profile's comments). */
struct smp_stats {
	size_t buffer_budget;   /* bytes of memory the readers may fill */
	size_t buffer_bytes;    /* bytes the readers allocated (their peak: kept for reuse) */
	uint64_t spilled_bytes; /* written to the spill file over the run */
	uint64_t spilled_chunks;
	int spill_error;       /* the first failure to spill (-errno; memory was used instead) */
	uint64_t spill_unread; /* spilled chunks that could not be read back: their records lost */
	uint64_t
		max_gap_ns; /* the longest a ring went unread (from one drain's start to the next's) */
	/* Taken from the rings so far (before the deadline): samples, the kernel's losses, bytes. */
	uint64_t samples, lost, bytes_read;
};
void smp_get_stats(const struct smp_session *s, struct smp_stats *st);
/*
 * One line on the readers' buffers when the consumer lagged (what was
 * spilled, a spill that failed and what to do, records lost reading it
 * back); 0 when it never did.
 */
int smp_buffer_summary(const struct smp_session *s, char *buf, size_t len);

/* Index of the event (in the options' list) that a record's id belongs to, -1 if none. */
int smp_event_index(const struct smp_session *s, uint64_t id);
const struct perf_event_attr *smp_event_attr(const struct smp_session *s, int index);
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

#endif
