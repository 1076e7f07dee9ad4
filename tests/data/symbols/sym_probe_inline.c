/*
 * Probe for the inline frames of tests/unit/test_symbols.c, built at -O2 -g:
 * static inline helpers forced inline (two levels deep, one inside a lexical
 * block) into the noinline function sym_inline_hot. Also built at -g0 and
 * stripped, to check that such modules claim no inline frames.
 */
#include <stdio.h>
#include <stdlib.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE unsigned mix(unsigned x)
{
	x ^= x >> 7;
	x *= 0x9e3779b1u;
	return x ^ (x >> 13);
}

ALWAYS_INLINE unsigned step(unsigned acc, unsigned v)
{
	unsigned m = mix(v + acc);
	return acc * 31u + m;
}

unsigned sym_inline_hot(const unsigned *v, int n) __attribute__((noinline));
unsigned sym_inline_hot(const unsigned *v, int n)
{
	unsigned acc = 1;
	for (int i = 0; i < n; i++) {
		unsigned t = v[i] & 0xffu;
		if (t > 3) {
			unsigned u = t * 3u;
			acc = step(acc, u);
		}
		acc = mix(acc + (unsigned)i);
	}
	return acc;
}

int main(int argc, char **argv)
{
	unsigned v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (unsigned)(i * argc + (argv[0][0] & 7));
	printf("%u\n", sym_inline_hot(v, 64));
	return 0;
}
