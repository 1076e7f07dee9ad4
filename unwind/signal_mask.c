/*
 * libunwind's signal masking, skipped while a session steps.
 *
 * libunwind built with CONFIG_BLOCK_SIGNALS (its default, and Debian's
 * build) blocks every signal around each use of its register-state cache
 * and memory pools, so that a signal handler that unwinds cannot deadlock
 * on a lock its own thread holds: two sigprocmask system calls per frame.
 * On these VMs that was 95 % of --call-graph dwarf's unwinding time (185 ms
 * for 84 K frames; 9 ms without). pmuprof's signal handlers never unwind,
 * and a session unwinds in one thread, so inside unw_step the masking
 * protects nothing. This sigprocmask interposes libc's for the whole
 * process (the executable exports it: unwind/CMakeLists.txt); it does
 * nothing while the calling thread is inside unw_step (uw_stepping, set by
 * unwind.c), and forwards every other call to pthread_sigmask, which glibc's
 * sigprocmask is.
 *
 * The flag is thread-local, mutable and global because the interposed
 * function gets no argument to find a session by.
 */
#include "unwind_internal.h"

#include <errno.h>
#include <signal.h>

_Thread_local bool uw_stepping;
_Thread_local uint64_t uw_masks_skipped;

int sigprocmask(int how, const sigset_t *set, sigset_t *old);

__attribute__((visibility("default"))) int sigprocmask(int how, const sigset_t *set,
							sigset_t *old)
{
	if (uw_stepping) {
		/* libunwind only saves the old mask to set it back, also inside the step. */
		if (old)
			sigemptyset(old);
		uw_masks_skipped++;
		return 0;
	}
	int ret = pthread_sigmask(how, set, old);
	if (ret) {
		errno = ret;
		return -1;
	}
	return 0;
}
