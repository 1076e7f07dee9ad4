// Probe for the inline frames of tests/unit/test_symbols.c, built at -O2 -g:
// function templates forced inline (twice<T> inside scale<T>) into the
// noinline function sym_inline_scale_all.
#include <cstdio>

#define ALWAYS_INLINE __attribute__((always_inline)) inline

template <typename T> static ALWAYS_INLINE T twice(T x)
{
	return x + x;
}

template <typename T> static ALWAYS_INLINE T scale(T x, T k)
{
	T y = twice(x);
	return y * k + twice<T>(k);
}

namespace probe {
__attribute__((noinline)) long sym_inline_scale_all(long *v, int n, int k);
__attribute__((noinline)) long sym_inline_scale_all(long *v, int n, int k)
{
	long sum = 0;
	for (int i = 0; i < n; i++) {
		v[i] = scale<long>(v[i], k);
		sum += twice(static_cast<int>(v[i] & 0xff));
	}
	return sum;
}
} // namespace probe

int main(int argc, char **argv)
{
	long v[32];
	for (int i = 0; i < 32; i++)
		v[i] = i * argc + (argv[0][0] & 7);
	std::printf("%ld\n", probe::sym_inline_scale_all(v, 32, argc + 2));
	return 0;
}
