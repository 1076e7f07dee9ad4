/*
 * cli — the pmuprof command: subcommand entry points and the pieces they
 * share (running the workload as a child, signal forwarding). Only cli/ may
 * exit(); every other module returns errors.
 */
#ifndef PMUPROF_CLI_H
#define PMUPROF_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "engine.h"
#include "pmu.h"
#include "topology.h"

int cmd_list(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv); /* report_cmd.c: report's tables and views of two profiles */
int cmd_topology(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_import(int argc, char **argv); /* import.c */

/* A perf.data file through the export pipeline (import.c), for import and c2c report. */
struct cli_import_opts {
	const char *cmd;    /* "import", "c2c report" or "numa report", for messages */
	const char *path;   /* perf.data, "-" for stdin */
	const char *output; /* pprof ("-": standard output); NULL: none */
	bool keep_old;      /* output is the default name: its previous file becomes .old */
	const char *otlp;   /* OTLP request file, or NULL */
	bool symbolize;
	bool c2c;           /* print the cache-line report to stdout */
	size_t c2c_lines;   /* lines detailed (0: all) */
	uint32_t line_size; /* 0: 64 */
	bool numa;          /* print numa report's view of the perf mem samples to stdout */
	bool numa_json;     /* ... as JSON */
	bool numa_all;      /* ... every object and function (text) */
	int argc;           /* the command line, for the pprof's comment */
	char **argv;
};
/* The exit status (an error was printed when non-zero). */
int cli_import_run(const struct cli_import_opts *o);
int cmd_c2c(int argc, char **argv);    /* c2c.c: "c2c watch", "c2c report" */
int cmd_c2c_report(int argc, char **argv); /* c2c_report.c */
int cmd_c2c_record(int argc, char **argv); /* c2c_record.c */
int cmd_numa(int argc, char **argv);       /* numa.c: "numa record", "numa pages" */
int cli_numa_pages(int argc, char **argv); /* numa_pages.c */
void cli_numa_pages_usage(FILE *out);

/*
 * A duration as a user writes it: "10" or "10s" seconds, "500ms", "2m", "1h",
 * "1.5" (> 0); else prints "pmuprof CMD: OPT needs ..." and returns -1.
 */
int cli_parse_seconds(const char *cmd, const char *opt, const char *s, double *v);

/*
 * Before the work starts: the outputs (NULL entries skipped) are distinct
 * and none is the input (NULL: none); a FIFO without a reader is waited for,
 * saying so. 0, or -errno with the error printed.
 */
struct base_output;
int cli_outputs_ready(const char *cmd, struct base_output *const *outs, size_t n,
		      const char *input);

/* Prints "pmuprof <cmd>: <message>" on stderr as one line. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A workload started stopped: forked, waiting on a pipe until cli_child_go()
 * so counters can be attached first; exec failures come back to the parent.
 */
struct cli_child {
	pid_t pid;
	int go_fd;   /* write end: one byte releases the child */
	int err_fd;  /* read end: errno from a failed exec, EOF on success */
	bool stdout_to_stderr; /* pmuprof's output is on standard output (-o -) */
	bool traced; /* stopped under ptrace (cli_child_go_stopped) until released */
};

int cli_child_prepare(struct cli_child *c, char **argv, char *err, size_t errlen);
/* Releases the child to exec; returns 0 or the child's exec errno (negated). */
int cli_child_go(struct cli_child *c);
/*
 * On an error path: lets a prepared (or running) child go without exec'ing
 * and reaps it; a traced one is killed.
 */
void cli_child_abandon(struct cli_child *c);
/*
 * Like cli_child_go, but the child stops under ptrace right after its exec:
 * the kernel has mapped the program and its loader, no instruction of it ran.
 * 0, or -errno (the child's exec errno, or why it cannot be traced).
 */
int cli_child_go_stopped(struct cli_child *c);
/*
 * Runs a child stopped at its exec on to its program's entry point, where the
 * loader has mapped the libraries the program links, and stops it there
 * again. 0, -ENOTSUP on architectures other than x86-64 and arm64, -ESRCH
 * when it ended first, or -errno.
 */
int cli_child_run_to_entry(struct cli_child *c);
/*
 * Like cli_child_go, but traced (PTRACE_O_TRACEEXIT) so that its exit stops
 * it before its memory is torn down; poll it with cli_child_poll_held.
 * 0, or -errno (the child's exec errno, or why it cannot be traced).
 */
int cli_child_go_held(struct cli_child *c);
/*
 * cli_child_poll for a held child: at its exit stop at_exit(arg, pid) runs
 * while its address space is still there, then the child is let go; signals
 * for it are delivered. 1 when it exited (status filled), 0 while it runs,
 * or -errno.
 */
int cli_child_poll_held(struct cli_child *c, void (*at_exit)(void *arg, pid_t pid), void *arg,
			int *shell_status);
/*
 * A held child (cli_child_go_held) that runs on untraced: its exit will not
 * stop it any more. 0, -ESRCH when it ended meanwhile, or -errno.
 */
int cli_child_unhold(struct cli_child *c);
/* Lets a stopped child run on, no longer traced: 0 or -errno. */
int cli_child_release(struct cli_child *c);

/*
 * The recorder channel offered to a command (channel/channel.h): libpmuprof's
 * regions and trace context, libpmuprof_alloc.so's allocations. Open it before
 * the fork (it is named in the environment the child inherits, by an fd that
 * survives its exec; the recorder's own copy is close-on-exec), call
 * cli_labels_forked after it, attach tl to the aggregation (agg_set_labels),
 * close after the pipeline. A failure costs the labels only and is said on
 * stderr; -errno.
 */
struct cli_labels {
	struct channel *ch;
	struct lbl_timeline *tl;
	int child_fd;    /* the dup the child inherits (no FD_CLOEXEC); -1: none */
	bool env_set;    /* CHANNEL_ENV is ours until the fork is done */
	char *outer_env; /* an enclosing recorder's CHANNEL_ENV, restored after the fork */
};
int cli_labels_open(struct cli_labels *l, const char *cmd);
void cli_labels_forked(struct cli_labels *l);
void cli_labels_close(struct cli_labels *l, const char *cmd);

/*
 * SIGINT/SIGTERM/SIGHUP handling while a workload runs: signals sent to
 * pmuprof by kill(2) are forwarded to the child (terminal-generated ones
 * already reach it through the process group). cli_signals_pending()
 * returns the last signal caught, 0 if none.
 */
void cli_signals_install(pid_t forward_to);
int cli_signals_pending(void);
/* The last signal caught, and forget it (the agent handles SIGHUP and goes on). */
int cli_signals_take(void);

/* Waits for the child; fills the exit status as a shell reports it (128+sig). */
int cli_child_wait(pid_t pid, int *shell_status, struct rusage *ru);
/* Like cli_child_wait without blocking: 1 when it exited, 0 when still running. */
int cli_child_poll(pid_t pid, int *shell_status);
/* A pidfd for pid (pidfd_open), or -1 where the kernel has none (before 5.3). */
int cli_pidfd(pid_t pid);
/*
 * Sleeps ms, or less: returns 1 as soon as pidfd (-1: none) says the process
 * ended, reaped or not; 0 after the time or a signal.
 */
int cli_nap(int pidfd, double ms);

/*
 * Every thread of every pid in "1,2,3" (from /proc/PID/task); tid_list: the
 * list is -t's thread ids, which messages then call threads.
 */
int cli_resolve_threads(const char *list, bool tid_list, pid_t **out, int *n, char *err,
			size_t errlen);
/* True while any pid of "1,2,3" still exists. */
bool cli_any_alive(const char *list);

/* Appends one -e argument to the comma-separated list *events (malloc'd). */
int cli_append_events(char **events, const char *spec);
/* After getopt returned '?': names the option that lacks its value (one of with_value) or is unknown. */
void cli_option_error(const char *cmd, char **argv, const char *with_value);
/* 1234567 -> "1,234,567", as perf prints counts. */
void cli_format_count(double v, char *buf, size_t len);
/* CLOCK_MONOTONIC in seconds (durations, pacing), CLOCK_REALTIME in ns (profile times). */
double cli_mono_s(void);
int64_t cli_realtime_ns(void);
/*
 * pmuprof's cache folder (plain copies of compressed debug files, see
 * sym_cache_set_debug_dir): $PMUPROF_CACHE_DIR, else $XDG_CACHE_HOME/pmuprof,
 * else ~/.cache/pmuprof. NULL (no cache) when PMUPROF_CACHE_DIR is empty or
 * no home is known.
 */
const char *cli_cache_dir(char *buf, size_t len);

/* --- record --control fifo:CTL[,ACK] (control.c) --- */

/* The commands of the protocol (pmu_control_take parses them), under record's names. */
enum cli_control_cmd {
	CLI_CTL_NONE = PMU_CTL_NONE,
	CLI_CTL_ENABLE = PMU_CTL_ENABLE,
	CLI_CTL_DISABLE = PMU_CTL_DISABLE,
	CLI_CTL_SNAPSHOT = PMU_CTL_SNAPSHOT,
	CLI_CTL_STOP = PMU_CTL_STOP,
	CLI_CTL_PING = PMU_CTL_PING,
	CLI_CTL_UNKNOWN = PMU_CTL_UNKNOWN,
};

struct cli_control {
	int ctl_fd, ack_fd;
	char paths[1024]; /* "CTL[,ACK]", advertised to the workload in PMUPROF_CONTROL_FIFO */
	char buf[PMU_CONTROL_LINE_MAX]; /* a partial line */
	size_t used;
	char last[PMU_CONTROL_LINE_MAX]; /* the last command line, for messages */
};

int cli_control_open(struct cli_control *c, const char *spec, char *err, size_t errlen);
/* The next complete command, or CLI_CTL_NONE when none is waiting (never blocks). */
enum cli_control_cmd cli_control_poll(struct cli_control *c);
void cli_control_ack(struct cli_control *c);
void cli_control_close(struct cli_control *c);

/* --- the sampling pipeline of record and agent (pipeline.c) --- */

struct cli_pipeline_opts {
	const char *cmd;            /* "record" or "agent", for messages */
	const char *events;         /* -e, NULL for the defaults */
	const char *default_events; /* with a hardware PMU */
	const char *fallback_events; /* without one (a notice says so) */
	uint64_t period, freq;
	bool rate_given; /* -c or -F typed (not the default frequency) */
	bool callchain;
	uint32_t stack_dump; /* --call-graph dwarf */
	const char *cpus;    /* -C, NULL: all online */
	const char *pids;    /* -p */
	const char *tid;     /* -t */
	struct cli_child *child; /* a prepared command, or NULL */
	bool cpu_wide;           /* -a/-C: every process on the CPUs (with a command: while it runs) */
	size_t ring_pages;
	size_t buffer_bytes; /* the readers' memory before they spill (0: the default) */
	const char *readers;
	bool symbolize;
	bool start_disabled; /* -D: sampling waits for enable (control fifo or the delay) */
	const char *perf_data; /* --perf-data FILE: the raw stream too, as perf.data */
	/*
	 * --mem: data-address sampling (PEBS load latency + stores, AMD IBS) as
	 * perf mem/c2c record choose it, instead of events; ldlat 0: the default.
	 */
	bool mem;
	uint32_t ldlat;
	/*
	 * numa record: the events, plus the host's data-address events where it
	 * has them (at PMU_MEM_DEFAULT_FREQ each; AMD IBS only with cpu_wide, as
	 * it cannot follow a task); a notice says which, or that there are none.
	 */
	bool mem_also;
	size_t symbol_cache_bytes; /* the symbol cache's budget (agent); 0: unbounded (record) */
	uint64_t stop_after_ns;    /* --duration: the sampling window, kept by the readers */
	uint64_t sample_type_extra;  /* fields every event samples too (numa record's ADDR) */
	const struct eng_tool *tool; /* the engine's tool, or NULL */
	bool tool_profiles;          /* the tool adds the samples to the profile, not the engine */
	/*
	 * Records are processed only once sampling stopped (cli_pipeline_stop):
	 * until then the readers keep them (in memory, then spilled to a file),
	 * so the work that costs most per sample (--call-graph dwarf's
	 * unwinding) does not compete with the workload, as perf script after
	 * perf record.
	 */
	bool defer;
	int argc;              /* the command line (after "pmuprof"), for perf.data's header */
	char **argv;
};

struct cli_pipeline {
	struct pmu_ctx *ctx;
	struct pmu_event_list evs;
	/* mem_also's notice, for the caller to say once the recording runs (not before an error) */
	char mem_notice[BASE_ERR_MAX];
	struct topo *topo;
	struct topo_plan plan;
	struct smp_session *session;
	struct proc_model *procs;
	struct eng_source src; /* the session's records and events */
	struct eng *eng;
	struct agg *agg; /* the engine's */
	int *cpus, ncpus;
	pid_t *tids;
	int ntids;
	pid_t workload; /* the command, or the first -p/-t target; -1 for -a */
	int error; /* first error while aggregating (negative errno) */
	const char *cmd;
	struct pabi_pdw *pdw; /* --perf-data: every merged record, in delivery order */
	int pdw_error;       /* its first failure (printed when it happened); it stops then */
	bool defer;          /* cli_pipeline_opts.defer */
	bool stopped;        /* cli_pipeline_stop was called */
};

/*
 * The live status line of a long record or agent (status.c): on stderr when
 * it is a terminal, rewritten in place once a second after the first; clear
 * it before printing anything else to stderr.
 */
struct cli_status {
	const char *cmd;
	bool on, shown;
	double start, next;
};
struct smp_session;
void cli_status_init(struct cli_status *st, const char *cmd);
void cli_status_update(struct cli_status *st, const struct smp_session *s);
void cli_status_clear(struct cli_status *st);

/* 0, or the exit status to return (the error is printed). */
int cli_pipeline_open(struct cli_pipeline *p, const struct cli_pipeline_opts *o);
/* Merges and aggregates (part of) what the readers have; negative errno on failure. */
int cli_pipeline_pump(struct cli_pipeline *p);
/* Everything the readers have so far, deferred or not (a snapshot); negative errno on failure. */
int cli_pipeline_catch_up(struct cli_pipeline *p);
/* The last pump left a backlog: pump again at once rather than nap. */
bool cli_pipeline_behind(const struct cli_pipeline *p);
/* Ends sampling (smp_stop): what the readers still hold is processed by the next pump. */
void cli_pipeline_stop(struct cli_pipeline *p);
/*
 * --perf-data: after the last pump, writes the tables and renames the file
 * into place; 0 (also without --perf-data) or negative errno, the error
 * printed. *size gets the file's size.
 */
int cli_pipeline_finish_perf_data(struct cli_pipeline *p, uint64_t *size);
void cli_pipeline_close(struct cli_pipeline *p);

/* --- report's and diff's views: --folded, --flamegraph OUT.html|OUT.svg (report_view.c) --- */

struct pprof_read;
struct cli_view {
	const char *cmd;        /* "report" or "diff", for messages */
	bool folded;            /* --folded */
	const char *output;     /* --folded's -o (NULL: standard output) */
	const char *flamegraph; /* --flamegraph OUT */
	bool no_inline;         /* --no-inline */
	/* diff: the baseline; the views are then differential */
	const struct pprof_read *baseline;
	const char *baseline_path;
	struct base_output *out;
};
/* Opens the view's output before any work: 0, or the exit status with the error printed. */
int cli_view_open(struct cli_view *v, const char *input);
/* Writes the view of pr (read from path); 0 or the exit status with the error printed. */
int cli_view_write(struct cli_view *v, const struct pprof_read *pr, const char *path,
		   const char *sample_type);
void cli_view_close(struct cli_view *v);

/* --- OTLP output (otlp_out.c) --- */

struct pprof;
struct proc_model;
struct cli_otlp_ctx {
	struct proc_model *procs;
	pid_t workload; /* the recorded command's pid, whose argv we know */
	char **argv;
	char cmdline[4096]; /* scratch for process_info */
};
/* The finished pprof as a serialized ExportProfilesServiceRequest (malloc'd). */
int cli_otlp_encode(struct cli_otlp_ctx *c, const struct pprof *prof, bool payload,
		    uint8_t **req, size_t *req_len, char *err, size_t errlen);
/* One-shot POST (record): spooled counts as done; the outcome is logged on stderr. */
int cli_otlp_post(const char *endpoint, const char *spool, const uint8_t *req, size_t len,
		  const char *cmd, char *err, size_t errlen);
struct otlp_export_result;
/* One log line per export: outcome 0 delivered, 1 spooled, < 0 failed. */
void cli_otlp_log_result(FILE *log, const char *cmd, const struct otlp_export_result *r,
			 int outcome, size_t request_len);

#endif
