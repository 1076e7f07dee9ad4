/*
 * process — the model of the processes a profile covers: their threads,
 * names and memory maps, as side-band records (MMAP2, COMM, FORK, EXIT)
 * build it in time order, or as /proc describes a process that already
 * runs. Symbolization, unwinding and the memory-access reports look
 * addresses up in it.
 *
 * Depends on perfabi/ (record layout) and base/.
 */
#ifndef PMUPROF_PROCESS_H
#define PMUPROF_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perfabi.h"

/* --- process model ------------------------------------------------------------- */

struct proc_map {
	uint64_t start, end, pgoff;
	const char *filename; /* owned by the model */
	char build_id[41];    /* hex from MMAP2, "" if the kernel gave none */
	uint32_t prot, flags;
	uint64_t cookie; /* the consumer's id for this mapping (pprof mapping id); 0 = none yet */
};

struct proc_model;
int proc_model_new(struct proc_model **out);
void proc_model_free(struct proc_model *m);

/* Side-band records, applied in time order. */
int proc_on_mmap(struct proc_model *m, pid_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		 const char *filename, const char *build_id, uint32_t prot, uint32_t flags);
int proc_on_comm(struct proc_model *m, pid_t pid, pid_t tid, const char *comm, bool exec);
int proc_on_fork(struct proc_model *m, pid_t pid, pid_t ppid, pid_t tid, pid_t ptid);
void proc_on_exit(struct proc_model *m, pid_t pid, pid_t tid);
/* The record-level entry point: applies MMAP/MMAP2/COMM/FORK/EXIT, ignores the rest. */
int proc_apply_record(struct proc_model *m, const struct perf_event_header *h);

/*
 * Applies the records perfabi synthesizes from /proc for a process that
 * already runs (its threads' names and executable mappings; with data, every
 * mapping): for readers of a live process outside a recording (c2c watch,
 * c2c's symbol lookups, numa pages). 0, -ENOENT / -ESRCH when it is gone, or
 * -ENOMEM.
 */
int proc_synthesize(struct proc_model *m, pid_t pid, bool data);

struct proc_map *proc_find_map(struct proc_model *m, pid_t pid, uint64_t addr);
/* The mapping just below map (from proc_find_map of the same pid), or NULL. */
struct proc_map *proc_prev_map(struct proc_model *m, pid_t pid, const struct proc_map *map);
/* The mapping just above map, or the lowest when map is NULL; NULL past the last. */
struct proc_map *proc_next_map(struct proc_model *m, pid_t pid, const struct proc_map *map);
/*
 * A number that changes whenever any process's mappings may have changed
 * (mmap, exec, fork, forgetting exited processes): what was resolved through
 * the maps under one number holds while it stays.
 */
uint64_t proc_maps_generation(const struct proc_model *m);
/* Thread name (COMM) of tid, else of its process, else NULL. */
const char *proc_comm(const struct proc_model *m, pid_t pid, pid_t tid);
/*
 * Frees the processes and threads that exited (call between aggregation
 * windows, when no sample of theirs can still be in flight). Returns how
 * many processes were forgotten, or -ENOMEM (the model is then smaller but
 * consistent).
 */
int proc_model_forget_exited(struct proc_model *m);
/* Processes the model knows. */
size_t proc_model_size(const struct proc_model *m);
/* Executable path of a process (its first file mapping after the last exec), or NULL. */
const char *proc_exe(const struct proc_model *m, pid_t pid);

#endif
