/*
 * libpmuprof — hardware performance counters for benchmark harnesses.
 *
 * Counters are read from user space (the perf mmap page with rdpmc, or one
 * read() of a perf group, whichever is faster on the host), accumulated per
 * named region and per thread, and reported as text or JSON. Under
 * `pmuprof record` the same region calls label the recorded samples, and the
 * program can switch sampling on and off around its measured code.
 *
 *     char err[256];
 *     pmuprof_session *s;
 *     pmuprof_thread *t;
 *     if (pmuprof_session_open(&s, "instructions:u,cycles:u", err, sizeof(err)) < 0 ||
 *         pmuprof_thread_attach(s, &t, err, sizeof(err)) < 0)
 *             fprintf(stderr, "%s\n", err);
 *     pmuprof_region_begin(t, "solve");
 *     solve();
 *     pmuprof_region_end(t, "solve");
 *     pmuprof_session_report(s, stdout, PMUPROF_REPORT_TEXT);
 *     pmuprof_session_close(s);
 *
 * Conventions: functions returning int return 0 on success and a negative
 * errno value on failure. Calls that take `char *err, size_t errlen` write a
 * one-line message there (err may be NULL); the per-thread calls on the hot
 * path keep theirs in the thread, for pmuprof_thread_error(). No call exits
 * or prints, except pmuprof_session_close() which names a failure to write
 * $PMUPROF_REPORT on stderr (it runs at exit, when no one checks).
 *
 * Threads: a session may be shared by all threads. A pmuprof_thread belongs
 * to the thread that attached it; only that thread may pass it to read,
 * region and trace-context calls (rdpmc reads the counters of the CPU the
 * caller runs on, and region state is not locked, so the hot path is cheap).
 * Counters follow their thread only: threads it creates and children it
 * forks are not counted, and a forked child must open its own session.
 *
 * Environment (read by pmuprof_session_open unless noted):
 *   PMUPROF_EVENTS        events when pmuprof_session_open is given NULL
 *   PMUPROF_READ          rdpmc | read | auto: force a read path (default auto)
 *   PMUPROF_REPORT        file the report is written to by pmuprof_session_close
 *                         (JSON when it ends in .json, "-" for stderr)
 *   PMUPROF_CONTROL_FIFO  set by `pmuprof record --control`: CTL[,ACK] fifos
 *   PMUPROF_CHANNEL_FD    set by `pmuprof record`: the sample-label channel
 */
#ifndef PMUPROF_PMUPROF_H
#define PMUPROF_PMUPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PMUPROF_API __attribute__((visibility("default")))
#else
#define PMUPROF_API
#endif

/* One event list, its per-thread counter sets, their regions. */
typedef struct pmuprof_session pmuprof_session;
/* The counters of one thread, and its regions. */
typedef struct pmuprof_thread pmuprof_thread;

/* Regions may nest this deep on one thread. */
#define PMUPROF_MAX_DEPTH 32

/* Report formats and options for pmuprof_session_report(). */
enum {
	PMUPROF_REPORT_TEXT = 0,
	PMUPROF_REPORT_JSON = 1,
	PMUPROF_REPORT_THREADS = 2, /* text: one row per thread under each region */
};

/* What a region accumulated, on one thread or summed over all of them. */
struct pmuprof_region_info {
	uint64_t calls;   /* completed begin/end pairs */
	uint64_t time_ns; /* wall-clock time inside the region, summed over calls */
	uint32_t threads; /* threads that completed the region at least once */
};

/* The library's version, e.g. "0.1.0". Thread-safe. */
PMUPROF_API const char *pmuprof_version(void);

/* --- sessions ------------------------------------------------------------ */

/*
 * Opens a session counting `events`, in pmuprof/perf syntax
 * ("instructions:u,cycles", "{cycles,cache-misses}", "r0444", ...). NULL
 * means $PMUPROF_EVENTS, or else instructions and cycles in user space,
 * those of the two the PMU counts (the software events task-clock,
 * page-faults,context-switches when it counts neither; the report says what
 * it lacks). Events not grouped by the caller are put in one group, so one
 * read() returns them all; if the PMU cannot hold them together they are
 * counted separately and multiplexed, and the counts are scaled as
 * `pmuprof stat` scales them.
 *
 * The events are opened once on the calling thread to fail early with the
 * cause (unknown event, no hardware PMU, perf_event_paranoid) in err.
 * Thread-safe (sessions are independent).
 */
PMUPROF_API int pmuprof_session_open(pmuprof_session **out, const char *events, char *err,
				     size_t errlen);

/*
 * Writes the report to $PMUPROF_REPORT when it is set, then frees the
 * session and every thread attached to it (their counters are closed).
 * Returns a negative errno if writing the report failed. No thread may use
 * the session or its threads during or after this call.
 */
PMUPROF_API int pmuprof_session_close(pmuprof_session *s);

/* Number of events, and the name of event i as opened ("instructions:u"). Thread-safe. */
PMUPROF_API size_t pmuprof_session_nevents(const pmuprof_session *s);
PMUPROF_API const char *pmuprof_session_event_name(const pmuprof_session *s, size_t i);

/*
 * Writes the per-region report of every thread attached so far: per region
 * the threads, calls, wall time and the scaled count of each event (summed
 * over threads; with PMUPROF_REPORT_THREADS also per thread), the read path
 * in use and how it was chosen, and notes on multiplexed events. JSON holds
 * the same, per thread and summed. Thread-safe: may run while other threads
 * are inside regions (it sees the calls they completed).
 */
PMUPROF_API int pmuprof_session_report(pmuprof_session *s, FILE *out, unsigned flags);

/*
 * What region `name` accumulated on thread t, or summed over all threads
 * when t is NULL; counts (may be NULL) receives one scaled value per event.
 * -ENOENT when no thread completed the region. Thread-safe like the report.
 */
PMUPROF_API int pmuprof_region_get(pmuprof_session *s, const pmuprof_thread *t, const char *name,
				   struct pmuprof_region_info *info, uint64_t *counts);

/* --- threads ------------------------------------------------------------- */

/*
 * Opens the session's counters on the calling thread (counting starts now,
 * for this thread only) and chooses the read path: the first thread of the
 * session times both paths and keeps the faster, unless PMUPROF_READ forces
 * one (PMUPROF_READ=rdpmc where rdpmc cannot work is an error, with the
 * reason). The thread stays listed in the session's report until the
 * session is closed. Thread-safe; call it on the thread to be measured.
 */
PMUPROF_API int pmuprof_thread_attach(pmuprof_session *s, pmuprof_thread **out, char *err,
				      size_t errlen);

/*
 * Closes the thread's counters; its regions stay in the session's report.
 * Regions still open are ended here (the report counts these). Afterwards
 * the handle may only be given to pmuprof_region_get(). Owner thread only.
 */
PMUPROF_API int pmuprof_thread_detach(pmuprof_thread *t);

/* "rdpmc" or "read": how t reads its counters. Thread-safe. */
PMUPROF_API const char *pmuprof_read_path(const pmuprof_thread *t);

/*
 * The counts since attach, one per event, scaled for multiplexing.
 * Owner thread only.
 */
PMUPROF_API int pmuprof_read(pmuprof_thread *t, uint64_t *values);

/*
 * Regions: counts, calls and wall time accumulate per name and per thread.
 * Regions nest (up to PMUPROF_MAX_DEPTH); end must name the innermost open
 * region, and a region cannot be re-entered while open (-EINVAL, -EBUSY).
 * Under `pmuprof record` both are also published to the recorder, which
 * labels the samples taken inside with the region's name. begin reads the
 * counters last and end reads them first, so the bookkeeping stays outside.
 * Owner thread only.
 */
PMUPROF_API int pmuprof_region_begin(pmuprof_thread *t, const char *name);
PMUPROF_API int pmuprof_region_end(pmuprof_thread *t, const char *name);

/*
 * Makes (trace_id, span_id) the thread's current trace context (NULLs
 * clear it): under `pmuprof record` its samples carry them (OTLP links,
 * pprof labels). Outside record this only costs a branch. Owner thread only.
 */
PMUPROF_API int pmuprof_set_trace_context(pmuprof_thread *t, const uint8_t trace_id[16],
					  const uint8_t span_id[8]);

/* The message of the last failed call on t ("" if none). Owner thread only. */
PMUPROF_API const char *pmuprof_thread_error(const pmuprof_thread *t);

/* --- sampling control (`pmuprof record --control`) ------------------------- */

/*
 * Ask the recorder running this program to start / stop sampling, through
 * the fifo it named in PMUPROF_CONTROL_FIFO, and wait up to 1 s for its
 * acknowledgement when it gave an ack fifo. -ENOTCONN when not running
 * under `pmuprof record --control`, -ETIMEDOUT when no ack came, -EPIPE or
 * -ENXIO when the recorder is gone. Thread-safe (calls are serialised).
 */
PMUPROF_API int pmuprof_sampling_enable(pmuprof_session *s, char *err, size_t errlen);
PMUPROF_API int pmuprof_sampling_disable(pmuprof_session *s, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
