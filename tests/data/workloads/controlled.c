/*
 * A harness that enables sampling only around its measured loop, through
 * libpmuprof's control calls (which drive `pmuprof record --control`): the
 * set-up and tear-down work around the loop must not appear in the profile.
 */
#include <pmuprof/pmuprof.h>

#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long long sink;

/* Busy work for about `ms` milliseconds of one CPU, in a named function. */
__attribute__((noinline)) void setup_work(int ms);
__attribute__((noinline)) void setup_work(int ms)
{
	unsigned long long x = 1;
	for (long i = 0; i < (long)ms * 300000L; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink = x;
}

__attribute__((noinline)) void measured_loop(int ms);
__attribute__((noinline)) void measured_loop(int ms)
{
	unsigned long long x = 7;
	for (long i = 0; i < (long)ms * 300000L; i++)
		x = x * 2862933555777941757ULL + 3037000493ULL;
	sink = x;
}

int main(void)
{
	char err[256];
	pmuprof_session *s;
	if (pmuprof_session_open(&s, "task-clock", err, sizeof(err)) < 0) {
		fprintf(stderr, "controlled: %s\n", err);
		return 1;
	}
	setup_work(400);
	if (pmuprof_sampling_enable(s, err, sizeof(err)) < 0) {
		fprintf(stderr, "controlled: enable: %s\n", err);
		return 1;
	}
	measured_loop(1500);
	if (pmuprof_sampling_disable(s, err, sizeof(err)) < 0) {
		fprintf(stderr, "controlled: disable: %s\n", err);
		return 1;
	}
	setup_work(400);
	pmuprof_session_close(s);
	printf("controlled: %llu\n", sink);
	return 0;
}
