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
#include <sys/types.h>

int cmd_list(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_topology(int argc, char **argv);

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
};

int cli_child_prepare(struct cli_child *c, char **argv, char *err, size_t errlen);
/* Releases the child to exec; returns 0 or the child's exec errno (negated). */
int cli_child_go(struct cli_child *c);
/* On an error path: lets a prepared (or running) child go without exec'ing and reaps it. */
void cli_child_abandon(struct cli_child *c);

/*
 * SIGINT/SIGTERM/SIGHUP handling while a workload runs: signals sent to
 * pmuprof by kill(2) are forwarded to the child (terminal-generated ones
 * already reach it through the process group). cli_signals_pending()
 * returns the last signal caught, 0 if none.
 */
void cli_signals_install(pid_t forward_to);
int cli_signals_pending(void);

/* Waits for the child; fills the exit status as a shell reports it (128+sig). */
int cli_child_wait(pid_t pid, int *shell_status, struct rusage *ru);
/* Like cli_child_wait without blocking: 1 when it exited, 0 when still running. */
int cli_child_poll(pid_t pid, int *shell_status);

/* Every thread of every pid in "1,2,3" (from /proc/PID/task). */
int cli_resolve_threads(const char *list, pid_t **out, int *n, char *err, size_t errlen);
/* True while any pid of "1,2,3" still exists. */
bool cli_any_alive(const char *list);

/* Appends one -e argument to the comma-separated list *events (malloc'd). */
int cli_append_events(char **events, const char *spec);
/* After getopt returned '?': names the option that lacks its value (one of with_value) or is unknown. */
void cli_option_error(const char *cmd, char **argv, const char *with_value);
/* 1234567 -> "1,234,567", as perf prints counts. */
void cli_format_count(double v, char *buf, size_t len);

#endif
