/*
 * threads_spin N SECONDS: N threads share SECONDS of CPU time, each spinning
 * SECONDS / N of its own CPU time, so the samples a recording takes are the same
 * whatever N and only the number of runnable threads changes (the memory test).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double share;

static double thread_cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *spin(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	double end = thread_cpu_s() + share;
	while (thread_cpu_s() < end)
		for (int i = 0; i < 100000; i++)
			x += (unsigned long)i;
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	double secs = argc > 2 ? atof(argv[2]) : 0;
	if (n < 1 || n > 1024 || secs <= 0) {
		fprintf(stderr, "usage: threads_spin N(1..1024) SECONDS\n");
		return 2;
	}
	share = secs / n;
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	if (!th)
		return 1;
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, spin, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	return 0;
}
