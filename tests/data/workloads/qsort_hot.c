/*
 * A hot comparator that runs inside libc's qsort: built -O2 without frame
 * pointers, so only DWARF unwinding can walk from the comparator through
 * qsort (libc has no frame pointers either) back to main.
 */
#include <stdio.h>
#include <stdlib.h>

static unsigned long long rng = 88172645463325252ULL;

static unsigned long long next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int compare_keys(const void *a, const void *b);

/* Deliberately costly so the samples land here, inside qsort. */
__attribute__((noinline)) int compare_keys(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	for (int i = 0; i < 24; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		y = y * 6364136223846793005ULL + 1442695040888963407ULL;
	}
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	size_t n = 200000;
	int rounds = argc > 1 ? atoi(argv[1]) : 12;
	unsigned long long *v = malloc(n * sizeof(*v));
	if (!v)
		return 1;
	unsigned long long sum = 0;
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++)
			v[i] = next_random();
		qsort(v, n, sizeof(*v), compare_keys);
		sum += v[n / 2];
	}
	printf("qsort_hot: %llu\n", sum);
	free(v);
	return 0;
}
