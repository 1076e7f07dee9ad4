/*
 * pmu — the event layer.
 *
 * Owns: turning event strings into fully formed perf_event_attr structures
 * (generic hardware, perf cache, software, kernel sysfs PMUs, raw rNNNN,
 * libpfm4 native names, tracepoints, modifiers, terms and groups); tracepoint
 * format files and the fields of their payloads; the catalogue of events
 * usable on this host (for `pmuprof list` and "did you mean"); CPU and
 * thread lists; opening events on every CPU x thread of them with one
 * permission policy, and explaining failures in one line; and counting
 * sets (open, enable, read, scale) shared by `stat` and the harness; and
 * stat's derived metrics (metrics.c).
 *
 * Also owns the event presets (`-e sharing`, `-e cache`: several vendor
 * events per CPU family, see docs/cache-events.md), the host CPU identity
 * they are chosen by, and the choice of data-address sampling events
 * (PEBS load latency, AMD IBS) for memory profiling.
 *
 * Depends on base/ only. Functions return 0 (or a count/fd) on
 * success and a negative errno on failure, with a one-line message for the
 * user written into the caller's `err` buffer.
 */
#ifndef PMUPROF_PMU_H
#define PMUPROF_PMU_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base.h"

#define PMU_NAME_MAX 128

/* --- context ------------------------------------------------------------ */

/*
 * A pmu_ctx holds what the parser reads from the host: the sysfs root
 * (overridable so tests can place terms against a synthetic PMU tree),
 * the list of sysfs PMUs with their format/ and events/ files, and whether
 * libpfm4 initialised. Read once at creation; immutable afterwards.
 */
struct pmu_ctx;

/*
 * sysfs_root: directory holding bus/event_source/devices; NULL means "/sys".
 * The CPU identity comes from /proc/cpuinfo, or from the environment variable
 * PMUPROF_CPUID ("vendor-family-model[-stepping]" as perf's mapfile.csv
 * spells it: family decimal, model and stepping hex, e.g. "AuthenticAMD-26-2",
 * "GenuineIntel-6-55-4"), so presets can be expanded for another CPU.
 */
int pmu_ctx_new(struct pmu_ctx **out, const char *sysfs_root, char *err, size_t errlen);
void pmu_ctx_free(struct pmu_ctx *ctx);

/* The CPU presets are expanded for. vendor is cpuinfo's vendor_id ("" when unknown). */
struct pmu_cpu {
	char vendor[16]; /* "GenuineIntel", "AuthenticAMD", ... */
	unsigned family, model, stepping;
};
const struct pmu_cpu *pmu_ctx_cpu(const struct pmu_ctx *ctx);
/* "AuthenticAMD family 0x1a model 0x02 stepping 1 (AMD Zen 5)", for messages. */
void pmu_cpu_describe(const struct pmu_cpu *cpu, char *buf, size_t len);

/* --- events --------------------------------------------------------------- */

struct pmu_event {
	struct perf_event_attr attr;
	char name[PMU_NAME_MAX]; /* display name: the user's spelling, or name= */
	char preset[PMU_NAME_MAX]; /* the preset the user typed that made it ("cache"), or "" */
	char unit[16];           /* sysfs .unit, "msec" for clocks, else "" */
	double scale;            /* sysfs .scale (1.0 when absent) */
	int leader;              /* index of this event's group leader (itself if alone) */
	int group_size;          /* on a leader: members including itself; 1 when alone */
	bool sample_read;        /* group with :S: sample the leader, read the group */
	bool priv_explicit;      /* :u/:k/:h given: never widen or narrow privilege levels */
	bool period_explicit;    /* period= or freq= given in the event string */
	/*
	 * Sample bits this event needs beyond the sampler's own (set by
	 * pmu_mem_events: ADDR, DATA_SRC, WEIGHT, PHYS_ADDR). The sampler builds
	 * attr.sample_type itself, so its caller must OR this into
	 * smp_options.extra_sample_type. 0 for ordinary events.
	 */
	uint64_t sample_type_extra;
	/* The PMU cannot follow a task (AMD IBS): open per CPU with pid -1 and filter. */
	bool cpu_wide_only;
	/*
	 * attr's period is the event's own default (a tracepoint: 1, every hit, as
	 * perf): sampling keeps it unless the user gives a period or frequency.
	 */
	bool period_default;
};

struct pmu_event_list {
	struct pmu_event *ev;
	size_t n;
	size_t cap;
	/*
	 * One line for the user that is not an error, e.g. a preset that fell back
	 * to generic events on a CPU the preset table lacks ("" when none). The
	 * command line prints it to stderr before it starts.
	 */
	char notice[BASE_ERR_MAX];
};

/*
 * Parse a comma-separated event list, appending to `out`. A bare item that
 * names a preset ("sharing", "cache", see pmu_presets below) expands to its
 * events for this CPU, each with its own display name; modifiers after it
 * (sharing:u) apply to each. Grammar otherwise (perf's):
 *   list   := item (',' item)*
 *   item   := '{' list '}' [':' MODS] | event
 *   event  := NAME [':' MODS] | NAME '/' TERMS '/' [MODS] | PMU '/' TERMS '/' [MODS]
 *           | 'r' HEX [':' MODS] | 'mem:' ADDR ['/' LEN] [':' rwx] | PFMPMU '::' EVENT[:...]
 *           | SYS ':' TRACEPOINT [':' MODS]   (globs in SYS and TRACEPOINT: 'sched:sched_*')
 *   MODS   := [ukhpPSGHDe]+      TERMS := term (',' term)*   term := key ['=' value]
 * On error `out` holds the events it held before the call (its buffer may have
 * grown: free it with pmu_event_list_free() either way).
 */
int pmu_parse_events(const struct pmu_ctx *ctx, const char *spec, struct pmu_event_list *out,
		     char *err, size_t errlen);
void pmu_event_list_free(struct pmu_event_list *list);

/* True for software events counted by the kernel's clock (cpu-clock, task-clock). */
bool pmu_event_is_clock(const struct pmu_event *ev);

/* --- perf's --control protocol, reading side (control.c) ------------------- */

enum pmu_control_cmd {
	PMU_CTL_NONE,
	PMU_CTL_ENABLE,
	PMU_CTL_DISABLE,
	PMU_CTL_SNAPSHOT,
	PMU_CTL_STOP,
	PMU_CTL_PING,
	PMU_CTL_UNKNOWN,
};

/* The longest command line kept (a longer one is cut for `last`). */
#define PMU_CONTROL_LINE_MAX 256

/*
 * Takes the first complete line out of buf[0, *used) (blank lines skipped),
 * copies it to `last` for messages, and returns its command; PMU_CTL_NONE
 * when no complete line is there yet. A buffer filled to `cap` without a
 * newline is dropped as PMU_CTL_UNKNOWN (no command is that long).
 */
enum pmu_control_cmd pmu_control_take(char *buf, size_t *used, size_t cap, char *last,
				      size_t lastlen);

/* --- the host ------------------------------------------------------------- */

/* Value of kernel.perf_event_paranoid, or INT32_MIN when unreadable. */
int pmu_paranoid_level(void);

/* True when the host exposes hardware counters (generic cycles counts). */
bool pmu_host_has_hw_counters(void);

/*
 * Removes from `list` the ungrouped events this host cannot sample (a trial
 * open for the calling task, user space only, fails as pmu_errno_unsupported
 * says), for default event sets; their names go comma-separated to
 * `dropped` ("" when none). Returns how many events remain.
 */
size_t pmu_events_keep_samplable(struct pmu_event_list *list, char *dropped, size_t len);

/* The same for counting (a counting open), for default counting sets. */
size_t pmu_events_keep_countable(struct pmu_event_list *list, char *dropped, size_t len);

/* Highest precise_ip the core PMU supports (0 when it has no PEBS/IBS). */
int pmu_host_max_precise(const struct pmu_ctx *ctx);

/* --- memory sampling (for c2c record / mem record) ---------------------------- */

/* perf mem/c2c's default load-latency threshold (cycles) on Intel. */
#define PMU_MEM_DEFAULT_LDLAT 30
/* perf record's default sampling frequency, which perf mem record keeps. */
#define PMU_MEM_DEFAULT_FREQ 4000

/*
 * Appends the data-address sampling events of this host, chosen as
 * `perf mem record` / `perf c2c record` choose them:
 *   Intel PEBS: per core PMU with events/mem-loads (cpu, or cpu_core and
 *     cpu_atom on hybrids) "PMU/mem-loads,ldlat=N/P" (loads; ldlat 0 means
 *     PMU_MEM_DEFAULT_LDLAT) and "PMU/mem-stores/P" (stores), precise_ip at
 *     the PMU's caps/max_precise (1 when the kernel does not say). Where the
 *     PMU has events/mem-loads-aux (Sapphire Rapids, Alder Lake P-cores) the
 *     load event is grouped behind it, as the kernel requires.
 *   AMD IBS: one "ibs_op//" event (type from ibs_op/type) gives both loads
 *     and stores; ldlat goes to its ldlat format term where the kernel has
 *     one (Zen 5 kernels, 128..2048 cycles), else it is ignored with a notice.
 *     IBS cannot follow a task: cpu_wide_only is set.
 * Every event gets sample_type_extra = ADDR | DATA_SRC | WEIGHT | PHYS_ADDR
 * (also set in attr.sample_type with IP | TID | TIME | ADDR | CPU | PERIOD |
 * IDENTIFIER, the full set perf uses). Where the host has neither PEBS load
 * latency nor IBS, returns -EOPNOTSUPP with a line naming what is missing
 * and the methods that work without it.
 */
int pmu_mem_events(const struct pmu_ctx *ctx, bool loads, bool stores, uint32_t ldlat,
		   struct pmu_event_list *out, char *err, size_t errlen);

/* --- opening -------------------------------------------------------------- */

/*
 * True for perf_event_open errors that mean the host lacks the event (no such
 * hardware event, no PMU for it, no sampling interrupt), as opposed to
 * permissions, limits or a malformed attr.
 */
bool pmu_errno_unsupported(int errnum);

/* perf_event_open(2); returns an fd or -errno. */
int pmu_sys_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd, unsigned long flags);

/*
 * Explain a failed perf_event_open of `ev` (with the attr actually tried)
 * as one line naming the cause and the fix: permission and paranoid level,
 * missing hardware PMU, missing PEBS/IBS for precise sampling, unknown PMU
 * type, too many counters in a group or debug registers, a vanished target.
 * ctx may be NULL for the kernel's own PMUs (software, breakpoint): what
 * only the sysfs view tells (a hardware PMU, precise support) is then left out.
 */
void pmu_explain_open_error(const struct pmu_ctx *ctx, const struct pmu_event *ev,
			    const struct perf_event_attr *attr, int errnum, pid_t pid, int cpu,
			    char *err, size_t errlen);

/* --- CPU and thread lists (lists.c) ----------------------------------------- */

/*
 * A CPU list: index i (0 <= i < n) holds CPU number cpu[i], ascending. The
 * list {-1} means any CPU (an event that follows a task wherever it runs).
 */
struct pmu_cpus {
	int n;
	int cpu[];
};
/* From an array of CPU numbers; any: {-1}. Both return 0 or -ENOMEM. */
int pmu_cpus_new(struct pmu_cpus **out, const int *cpus, int n);
int pmu_cpus_any(struct pmu_cpus **out);
/* "0-3,5,7-8" (-C, sysfs cpu lists): sorted, de-duplicated. */
int pmu_cpus_parse(struct pmu_cpus **out, const char *list, char *err, size_t errlen);
/* The online CPUs of this host (/sys/devices/system/cpu/online). */
int pmu_cpus_online(struct pmu_cpus **out, char *err, size_t errlen);
/* The index of CPU number `cpu` in c, or -1. */
int pmu_cpus_index(const struct pmu_cpus *c, int cpu);
void pmu_cpus_free(struct pmu_cpus *c);

/* A thread list: index i holds thread id tid[i]. {-1} means every task (per-CPU events). */
struct pmu_threads {
	int n;
	pid_t tid[];
};
/* From an array of thread ids; any: {-1}. Both return 0 or -ENOMEM. */
int pmu_threads_new(struct pmu_threads **out, const pid_t *tids, int n);
int pmu_threads_any(struct pmu_threads **out);
/* The threads of process pid now (/proc/PID/task), ascending; -ESRCH when it is gone. */
int pmu_threads_of(struct pmu_threads **out, pid_t pid, char *err, size_t errlen);
void pmu_threads_free(struct pmu_threads *t);

/* --- the event opener (open.c) -------------------------------------------------- */

/* Flags of pmu_open_event. */
enum {
	/*
	 * Permission refused (EACCES/EPERM) for a task's event whose string gave
	 * no privilege modifier: count user space only, as perf does under
	 * perf_event_paranoid >= 2 (recorded in ev: exclude_kernel, ":u").
	 */
	PMU_OPEN_USER_FALLBACK = 1u << 0,
	/* Where the host lacks the event (pmu_errno_unsupported), leave fd -1. */
	PMU_OPEN_SKIP_UNSUPPORTED = 1u << 1,
	/* Where the thread has exited meanwhile (ESRCH), leave fd -1. */
	PMU_OPEN_SKIP_EXITED = 1u << 2,
};

/*
 * Opens ev (with attr: the caller's copy of ev->attr, adjusted; left as the
 * kernel took it) on every CPU x thread: fds[c * threads->n + t] for CPU
 * index c and thread index t, close-on-exec. What an older kernel refuses
 * with EINVAL is dropped from attr and tried again, as perf does: ksymbol
 * (Linux < 5.1), and inherit on an event with PERF_SAMPLE_READ (Linux < 6.12;
 * the event then follows only the task it is opened on). ctx as for
 * pmu_explain_open_error. group_fds (NULL for a leader or
 * a lone event) holds the leader's fds in the same layout; a pair where the
 * leader has none is left -1. ids (NULL when not wanted) gets each fd's
 * kernel id (PERF_EVENT_IOC_ID). A failure the flags do not skip closes
 * what this call opened and returns -errno with err naming the cause and
 * the fix (pmu_explain_open_error). Returns how many fds opened; when the
 * flags skipped every pair, the first skipped failure (-errno, err set).
 */
int pmu_open_event(int *fds, uint64_t *ids, const struct pmu_ctx *ctx, struct pmu_event *ev,
		   struct perf_event_attr *attr, const struct pmu_cpus *cpus,
		   const struct pmu_threads *threads, const int *group_fds, unsigned flags,
		   char *err, size_t errlen);
/* pmu_open_event on any CPU x the calling thread: one fd, in *fd. */
int pmu_open_self(int *fd, const struct pmu_ctx *ctx, struct pmu_event *ev,
		  struct perf_event_attr *attr, const int *group_fd, unsigned flags, char *err,
		  size_t errlen);

/* --- catalogue (for `list` and suggestions) -------------------------------- */

enum pmu_list_group {
	PMU_LIST_HARDWARE,
	PMU_LIST_CACHE,
	PMU_LIST_SOFTWARE,
	PMU_LIST_SYSFS,      /* one heading per sysfs PMU: `pmu` names it */
	PMU_LIST_TRACEPOINT, /* "sys:name", from tracefs */
	PMU_LIST_LIBPFM,     /* one heading per present libpfm4 PMU */
	PMU_LIST_PRESET,     /* `pmu` names the CPU the presets were expanded for */
};

struct pmu_list_entry {
	enum pmu_list_group group;
	const char *pmu;  /* sysfs or libpfm4 PMU name; presets: the CPU; else NULL */
	const char *name; /* the string to pass to -e */
	const char *desc; /* may be NULL; presets: one line per expanded event after the first */
};

/*
 * Call fn for every event usable on this host, in listing order (presets
 * first, with their expansion for this CPU, then as perf lists). Generic
 * hardware and cache events are probed with perf_event_open and only those
 * the host counts are given (probe=false skips the probe, for suggestions).
 * Returns 0, or fn's first non-zero return.
 */
int pmu_list_events(const struct pmu_ctx *ctx, bool probe,
		    int (*fn)(const struct pmu_list_entry *e, void *arg), void *arg);

/* --- tracepoints (tracepoint.c, tpformat.c) ------------------------------------- */

/*
 * The tracefs directory (holding events/), found as perf finds it: $TRACEFS_PATH,
 * /sys/kernel/tracing, /sys/kernel/debug/tracing, /tracing, /trace, a tracefs
 * or debugfs in /proc/mounts; where none is mounted, mounts tracefs at
 * /sys/kernel/tracing (root only; as perf). 0, or -errno with a line saying
 * how to mount it.
 */
int pmu_tracefs_dir(char *dir, size_t len, char *err, size_t errlen);
/*
 * tracefs's events/ directory, opened to check that this user may list it. 0, or
 * -errno with a line naming the cause and the fix (not mounted, not readable by
 * this user, a kernel without events).
 */
int pmu_tp_events_dir(char *events, size_t len, char *err, size_t errlen);

enum pmu_tp_loc {
	PMU_TP_PLAIN,    /* the field's bytes are at offset */
	PMU_TP_DATA_LOC, /* __data_loc: a u32 at offset, data offset (low 16) and length (high 16) */
	PMU_TP_REL_LOC,  /* __rel_loc: the same, the offset counted from the field's end */
};

/* One field of a tracepoint's payload, as its format file declares it. */
struct pmu_tp_field {
	char name[64];
	char type[96]; /* "pid_t", "char[16]", "__data_loc char[]" */
	uint32_t offset, size;
	bool is_signed;
	bool is_array; /* type[N] (or a dynamic array) */
	enum pmu_tp_loc loc;
};

struct pmu_tp_format {
	char name[PMU_NAME_MAX];     /* "sched_switch" */
	uint64_t id;                 /* attr.config of the tracepoint */
	struct pmu_tp_field *fields; /* the common_ fields first, as the file lists them */
	size_t nfields;
	char *print_fmt; /* the text after "print fmt: " (NULL: none), for pmu_tp_symbolic */
};

/*
 * Parses a format file's text (from tracefs or a perf.data file: untrusted):
 * name:, ID: and the field: lines up to print fmt:. 0, or -EINVAL with the
 * line at fault in err; out is empty on error. Free with pmu_tp_format_free.
 */
int pmu_tp_format_parse(struct pmu_tp_format *out, const char *text, size_t len, char *err,
			size_t errlen);
/* The format of tracepoint sys:name from tracefs. */
int pmu_tp_format_read(struct pmu_tp_format *out, const char *sys, const char *name, char *err,
		       size_t errlen);
void pmu_tp_format_free(struct pmu_tp_format *f);
/* The field called name, or NULL. */
const struct pmu_tp_field *pmu_tp_field(const struct pmu_tp_format *f, const char *name);
/*
 * The name print fmt gives value of field through __print_symbolic(REC->field,
 * {N, "name"}, ...), as the kernel prints it (migrate:mm_migrate_pages' reason 5
 * is "numa_misplaced" where this kernel numbers it so): copied into buf and
 * returned, or NULL when print fmt names no such value.
 */
const char *pmu_tp_symbolic(const struct pmu_tp_format *f, const char *field, uint64_t value,
			    char *buf, size_t len);
/*
 * The bytes of field fld in a sample's raw payload (PERF_SAMPLE_RAW's data,
 * rawlen bytes): a plain field's own bytes, a __data_loc/__rel_loc field's
 * data. -ERANGE when they lie outside the payload.
 */
int pmu_tp_field_data(const struct pmu_tp_field *fld, const void *raw, size_t rawlen,
		      const void **data, size_t *len);
/*
 * An integer field's value (1, 2, 4 or 8 bytes, sign-extended when signed):
 * -EINVAL for an array or a field of another size, -ERANGE outside the payload.
 */
int pmu_tp_field_int(const struct pmu_tp_field *fld, const void *raw, size_t rawlen,
		     uint64_t *value);

/* --- counting sets -------------------------------------------------------- */

/*
 * What to count: either tasks (pids, with inherit so threads and children are
 * followed) on any CPU, or every task on a set of CPUs. `enable_on_exec`
 * starts the counters when a stopped child execs, as perf does.
 */
struct pmu_target {
	const pid_t *pids; /* NULL or npids task ids; cpu-wide when NULL */
	int npids;
	const int *cpus; /* CPUs for cpu-wide counting */
	int ncpus;
	bool inherit;
	bool enable_on_exec;
};

struct pmu_count {
	uint64_t value;   /* raw count summed over the slots read */
	uint64_t enabled; /* time_enabled, ns */
	uint64_t running; /* time_running, ns */
	uint64_t lost;    /* PERF_FORMAT_LOST where the kernel supports it */
};

/* value scaled for multiplexing (value * enabled / running), 0 if it never ran. */
double pmu_count_scaled(const struct pmu_count *c);

struct pmu_counters;

/*
 * Opens every event of `list` on every slot (pid or cpu) of `target`,
 * disabled. Like perf stat, an event the host lacks (pmu_errno_unsupported)
 * is left out (pmu_counters_supported) unless it leads a group or nothing
 * else can be counted: then its error is returned.
 */
int pmu_counters_open(struct pmu_counters **out, const struct pmu_ctx *ctx,
		      const struct pmu_event_list *list, const struct pmu_target *target,
		      char *err, size_t errlen);
int pmu_counters_enable(struct pmu_counters *c);
int pmu_counters_disable(struct pmu_counters *c);
/* Number of slots (CPUs or tasks) the set was opened on. */
int pmu_counters_nslots(const struct pmu_counters *c);
/*
 * Reads counts for slot `slot` (or all slots summed when slot < 0) into
 * out[0..list->n). Groups are read in one read() with PERF_FORMAT_GROUP.
 */
int pmu_counters_read(struct pmu_counters *c, int slot, struct pmu_count *out, char *err,
		      size_t errlen);
/* The same for the slots slots[0..n) summed (stat's per-node, per-socket, per-core counts). */
int pmu_counters_read_slots(struct pmu_counters *c, const int *slots, int n,
			    struct pmu_count *out, char *err, size_t errlen);
/* The event list the set counts, with attrs as finally opened (after fallbacks). */
const struct pmu_event_list *pmu_counters_events(const struct pmu_counters *c);
/*
 * False when event i was left out because the host does not support it on
 * any slot (perf stat's "<not supported>"); its counts then stay 0.
 */
bool pmu_counters_supported(const struct pmu_counters *c, size_t i);
void pmu_counters_close(struct pmu_counters *c);

/* pmu_cpus_online's list as a plain array (malloc'd). */
int pmu_online_cpus(int **cpus, int *ncpus, char *err, size_t errlen);

/* --- a counter read in user space through its mmap page --------------------- */

/*
 * What one pass of the perf mmap page's seqlock loop read (linux/perf_event.h,
 * "self-monitoring"): the page's fields, and the counter (rdpmc) and time counter
 * values taken inside the same pass.
 */
struct pmu_page_snap {
	uint32_t index;     /* the counter + 1; 0: the event is not on a counter now */
	bool user_rdpmc;    /* cap_user_rdpmc */
	uint16_t pmc_width; /* bits the counter holds: the rest are its sign */
	uint64_t offset;    /* added to the counter's value */
	uint64_t pmc;       /* rdpmc(index - 1), when index and user_rdpmc */
	uint64_t enabled, running;
	bool user_time, user_time_short; /* cap_user_time(_short) */
	uint64_t tsc;                    /* the time counter (TSC, CNTVCT_EL0), when user_time */
	uint64_t time_offset, time_cycles, time_mask;
	uint32_t time_mult;
	uint16_t time_shift;
};

/*
 * The count and the time enabled / running up to now from a snapshot: the
 * counter sign-extended from pmc_width bits plus offset; both times moved on
 * by the TSC cycles since the kernel last wrote them (running only while
 * the event is on a counter), scaled by time_mult >> time_shift without
 * overflow, the short form wrapping the cycles at time_mask first.
 */
static inline void pmu_page_compute(const struct pmu_page_snap *s, uint64_t *value,
				    uint64_t *enabled, uint64_t *running)
{
	uint64_t count = s->offset;
	if (s->user_rdpmc && s->index) {
		uint64_t pmc = s->pmc;
		if (s->pmc_width > 0 && s->pmc_width < 64) {
			unsigned shift = 64u - s->pmc_width;
			pmc = (uint64_t)((int64_t)(pmc << shift) >> shift);
		}
		count += pmc;
	}
	*value = count;
	*enabled = s->enabled;
	*running = s->running;
	if (s->user_time && s->time_shift < 64) {
		uint64_t cyc = s->tsc;
		if (s->user_time_short)
			cyc = s->time_cycles + ((cyc - s->time_cycles) & s->time_mask);
		uint64_t quot = cyc >> s->time_shift;
		uint64_t rem = cyc & ((UINT64_C(1) << s->time_shift) - 1);
		uint64_t delta = s->time_offset + quot * s->time_mult +
				 ((rem * s->time_mult) >> s->time_shift);
		*enabled += delta;
		if (s->index)
			*running += delta;
	}
}

/* --- derived metrics (metrics.c): perf stat's shadow metrics ----------------- */

struct pmu_metric {
	double value;
	const char *unit; /* "insn per cycle", "GHz", "of all branches", ... */
	const char *fmt;  /* perf's printf format of the value, e.g. "%7.2f%%" */
	/* perf colours it (past a threshold); its --metric-only column is then wider by the
	 * colour's escapes, printed or not */
	bool colored;
};
#define PMU_METRICS_MAX 2

/*
 * The metrics perf stat prints beside event i of n counted events (ev[k]
 * counted counts[k], scaled for multiplexing): CPUs utilized for a clock
 * (wall_ns: the elapsed time), GHz for cycles, insn per cycle and stalled
 * cycles per insn for instructions, frontend or backend cycles idle for stalled
 * cycles, % of all cache refs or branches and MPKI for misses, else a rate per
 * second of task time. The base events are found by type and config, whatever their
 * modifiers. Topdown's events (pmu_topdown) give perf stat --topdown's level 1 shares in
 * percent: Retiring, Bad Speculation, Frontend Bound, Backend Bound beside the PERF_METRICS
 * events (each over their sum, when two or more counted); retiring, bad speculation,
 * frontend bound and backend bound beside the older slot and bubble events (perf's formulas
 * over topdown-total-slots, sysfs .scale applied); slots and total slots, like any event.
 * Fills m and returns how many (0: event i never ran, or no base).
 */
int pmu_metrics(const struct pmu_event *ev, const struct pmu_count *counts, size_t n, size_t i,
		double wall_ns, struct pmu_metric m[PMU_METRICS_MAX]);

/* --- topdown level 1 (topdown.c) -------------------------------------------- */

enum pmu_topdown_kind {
	PMU_TOPDOWN_METRICS = 1, /* slots and the PERF_METRICS events (Intel Ice Lake and later) */
	PMU_TOPDOWN_BUBBLES,     /* the older slot and bubble counts (earlier Intel CPUs) */
};

struct pmu_topdown {
	enum pmu_topdown_kind kind;
	char events[512]; /* what to count, for pmu_parse_events: the metric events in a group
			   * led by slots, as the kernel requires, or the older events */
	bool per_core;    /* the older events count per core: perf stat --topdown wants -a and
			   * shows them per core */
};

/*
 * The topdown level 1 events this CPU's core PMU defines in sysfs (events/ of cpu, or
 * cpu_core on a hybrid CPU), as perf stat --topdown chooses them: the PERF_METRICS ones
 * where they all are, else the older ones (topdown-recovery-bubbles optional). 0, or
 * -ENOENT with a message naming the directory looked in.
 */
int pmu_topdown(const struct pmu_ctx *ctx, struct pmu_topdown *td, char *err, size_t errlen);

#endif
