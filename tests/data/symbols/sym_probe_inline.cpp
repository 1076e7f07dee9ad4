// Probe for the inline frames of tests/unit/test_symbols.c, built at -O2 -g:
// function templates forced inline (twice<T> inside scale<T>, a member
// function of a class template in an anonymous namespace) into the noinline
// function probe::sym_inline_scale_all. The static templates are inlined
// everywhere, so GCC gives them no DW_AT_linkage_name: their names must be
// qualified from the DWARF scopes (probe::detail::twice<int>); the member
// function and the out-of-line one have a linkage name to demangle, as has
// the globals probe::sym_probe_hits and probe::Wide<...>::hits (data symbols,
// the second's demangled name longer than 512 characters).
// twice<int>'s result is a divisor, so that it keeps an instruction of its
// own: GCC 12 for arm64 folds a doubling that is added into the add's shifted
// operand, leaving the inlined instance an empty range that no address is in.
#include <cstdio>
#include <map>

#define ALWAYS_INLINE __attribute__((always_inline)) inline

namespace probe {
long sym_probe_hits;

template <typename... T> struct Wide {
	static long hits;
};
template <typename... T> long Wide<T...>::hits;
using WideHits = Wide<std::map<long, long>, std::map<int, int>, std::map<long, int>,
		      std::map<int, long>, std::map<short, long>, std::map<long, short>>;

namespace detail {
template <typename T> static ALWAYS_INLINE T twice(T x)
{
	return x + x;
}
} // namespace detail

template <typename T> static ALWAYS_INLINE T scale(T x, T k)
{
	T y = detail::twice(x);
	return y * k + detail::twice<T>(k);
}

namespace {
template <typename T> struct Offset {
	T by;
	ALWAYS_INLINE T apply(T x) const
	{
		return x ^ by;
	}
};
} // namespace

__attribute__((noinline)) long sym_inline_scale_all(long *v, int n, int k);
__attribute__((noinline)) long sym_inline_scale_all(long *v, int n, int k)
{
	long sum = 0;
	Offset<long> off{k};
	for (int i = 0; i < n; i++) {
		v[i] = off.apply(scale<long>(v[i], k));
		sum += v[i] / detail::twice(static_cast<int>(v[i] & 0xff) | 1);
	}
	return sum;
}
} // namespace probe

int main(int argc, char **argv)
{
	long v[32];
	for (int i = 0; i < 32; i++)
		v[i] = i * argc + (argv[0][0] & 7);
	probe::sym_probe_hits += probe::sym_inline_scale_all(v, 32, argc + 2);
	probe::WideHits::hits += argc;
	std::printf("%ld\n", probe::sym_probe_hits);
	return 0;
}
