// A static inline C-style function and a C++ function template, both forced
// inline into one hot loop: the profile must name them as inline frames of
// the loop's function, each with its own line.
#include <cstdio>
#include <cstdlib>

static inline __attribute__((always_inline)) unsigned mix_bits(unsigned x)
{
	for (int i = 0; i < 64; i++)
		x = (x ^ (x >> 7)) * 2654435761u + 0x9e3779b9u;
	return x;
}

template <typename T> static inline __attribute__((always_inline)) T scale_up(T x)
{
	T acc = x;
	for (int i = 0; i < 32; i++)
		acc = acc * static_cast<T>(3) + static_cast<T>(i);
	return acc;
}

__attribute__((noinline)) unsigned hot_loop(unsigned seed, long iters)
{
	unsigned h = seed;
	double d = 1.0;
	for (long i = 0; i < iters; i++) {
		h += mix_bits(h + static_cast<unsigned>(i));
		d = scale_up<double>(d) * 1e-30 + 1.0;
	}
	return h + static_cast<unsigned>(d);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? std::atol(argv[1]) : 3000000;
	std::printf("inline_hot: %u\n", hot_loop(1, iters));
	return 0;
}
