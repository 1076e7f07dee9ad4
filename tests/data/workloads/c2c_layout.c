/*
 * c2c_layout - a known data layout for the c2c report tests: they build
 * synthetic memory-sample streams (PEBS- and IBS-style perf.data files)
 * whose data addresses fall on these objects at known offsets, and check
 * that pmuprof (and perf, as the oracle) names them:
 *   pair_line     .data, 64-byte aligned: two words written by two threads
 *                 (false sharing at offsets 0 and 8)
 *   bss_block     .bss, large enough to spill past the file's last page into
 *                 the loader's anonymous mapping: `hot` at a known offset
 *   lock_word     .bss, small: one word every thread writes (true sharing)
 * Built as a PIE (the default), so the tests place it at a load bias.
 * Running it just touches each object once.
 */
#include <stdalign.h>
#include <stdio.h>

struct pair {
	alignas(64) volatile long a;
	volatile long b;
};

struct big {
	char pad[200000];
	alignas(64) volatile long hot;
};

struct pair pair_line = { 1, 2 };
struct big bss_block;
alignas(64) volatile long lock_word;

void touch_a(void);
void touch_b(void);
void touch_hot(void);

__attribute__((noinline)) void touch_a(void) { pair_line.a++; }
__attribute__((noinline)) void touch_b(void) { pair_line.b++; }
__attribute__((noinline)) void touch_hot(void) { bss_block.hot++; lock_word++; }

int main(void)
{
	touch_a();
	touch_b();
	touch_hot();
	printf("c2c_layout: %ld %ld %ld %ld\n", pair_line.a, pair_line.b, bss_block.hot, lock_word);
	return 0;
}
