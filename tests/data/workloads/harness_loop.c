/* libpmuprof's region count of a loop of known length: PASSES passes of a
 * two-instruction loop (x86-64 or arm64) between pmuprof_region_begin and _end.
 * Prints "path <read path> instructions <count>"; exit status 4 when instructions:u
 * cannot be counted (the reason on stderr). e2e.test_harness_acceptance_hw compares
 * the count with 2 * PASSES; the arm64 lab compares counts for two PASSES (their
 * difference is exactly 2 * the difference under -icount).
 * Usage: harness_loop PASSES */
#include <pmuprof/pmuprof.h>
#include <stdio.h>
#include <stdlib.h>

static void __attribute__((noinline)) harness_loop(long n)
{
	if (n <= 0)
		return;
#if defined(__x86_64__)
	__asm__ __volatile__("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
#elif defined(__aarch64__)
	__asm__ __volatile__("1: subs %0, %0, #1\n\tb.ne 1b" : "+r"(n) : : "cc");
#else
#error "harness_loop: no two-instruction loop for this architecture"
#endif
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	char err[512];
	pmuprof_session *s;
	pmuprof_thread *t;
	if (pmuprof_session_open(&s, "instructions:u", err, sizeof(err)) < 0 ||
	    pmuprof_thread_attach(s, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	pmuprof_region_begin(t, "loop");
	harness_loop(n);
	pmuprof_region_end(t, "loop");
	uint64_t c;
	if (pmuprof_region_get(s, t, "loop", NULL, &c) < 0)
		return 5;
	printf("path %s instructions %llu\n", pmuprof_read_path(t), (unsigned long long)c);
	return pmuprof_session_close(s) < 0 ? 6 : 0;
}
