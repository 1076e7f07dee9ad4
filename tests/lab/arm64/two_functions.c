/* THREADS threads each run two_fn_a for A passes then two_fn_b for B passes of a
 * two-instruction loop, so on the lab's arm64 guest (-icount: one cycle per
 * instruction) each function retires 2*A or 2*B instructions per thread and
 * `record -e cycles -c N` owes it 2*A/N and 2*B/N samples per thread.
 * THREADS 0: the main thread runs them itself.
 * Usage: two_functions THREADS A B */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long passes_a, passes_b;

static void __attribute__((noinline)) two_fn_a(long n)
{
	__asm__ __volatile__("1: subs %0, %0, #1\n\tb.ne 1b" : "+r"(n) : : "cc");
}

/* Another two instructions a pass, so the compiler cannot fold it into two_fn_a. */
static void __attribute__((noinline)) two_fn_b(long n)
{
	__asm__ __volatile__("1: sub %0, %0, #1\n\tcbnz %0, 1b" : "+r"(n));
}

static void *two_thread(void *arg)
{
	(void)arg;
	two_fn_a(passes_a);
	two_fn_b(passes_b);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s THREADS A B\n", argv[0]);
		return 2;
	}
	int threads = atoi(argv[1]);
	passes_a = atol(argv[2]);
	passes_b = atol(argv[3]);
	if (threads < 0 || threads > 64 || passes_a < 1 || passes_b < 1) {
		fprintf(stderr, "%s: THREADS 0-64, A and B at least 1\n", argv[0]);
		return 2;
	}
	if (threads == 0) {
		two_thread(NULL);
		return 0;
	}
	pthread_t tid[64];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, two_thread, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
