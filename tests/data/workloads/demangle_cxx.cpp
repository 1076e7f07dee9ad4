// C++ names for the demangling test (tests/e2e/test_demangle.py): one hot
// function of each kind a C++ profile names, each taking a similar share of
// the run: a class template's member in a namespace with two instantiations,
// a lambda, operators, two overloads, and std::map (whose _Rb_tree members
// and operator new/delete come from the standard library's templates).
// Built -O2 -g with frame pointers; the hot functions are kept out of line.
#include <cstdio>
#include <cstdlib>
#include <map>

#define NOINLINE __attribute__((noinline))

namespace app {

template <typename T, int N> struct Accum {
	T acc{};
	NOINLINE T run(const T *v)
	{
		for (int i = 0; i < N; i++)
			acc = acc * static_cast<T>(3) + v[i];
		return acc;
	}
};

struct Vec {
	double x, y;
	NOINLINE Vec operator+(const Vec &o) const
	{
		Vec r{x, y};
		for (int i = 0; i < 12; i++)
			r = Vec{r.x * 0.5 + o.x, r.y * 0.5 + o.y};
		return r;
	}
	NOINLINE bool operator<(const Vec &o) const
	{
		double a = x, b = o.x;
		for (int i = 0; i < 24; i++) {
			a = a * 0.999 + y;
			b = b * 0.999 + o.y;
		}
		return a < b;
	}
};

NOINLINE long mix(long v)
{
	unsigned long u = static_cast<unsigned long>(v); /* wraps, as hashing means to */
	for (int i = 0; i < 40; i++)
		u = (u ^ (u >> 7)) * 2654435761UL + 0x9e3779b9UL;
	return static_cast<long>(u >> 1);
}

NOINLINE double mix(double v)
{
	for (int i = 0; i < 40; i++)
		v = v * 0.5 + 1.0;
	return v;
}

} // namespace app

static double dv[3000];
static long lv[3000];

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? std::atol(argv[1]) : 10000;
	app::Accum<double, 3000> ad;
	app::Accum<long, 3000> al;
	auto spin = [](long x) NOINLINE {
		unsigned long u = static_cast<unsigned long>(x);
		for (int i = 0; i < 64; i++)
			u = u * 6364136223846793005UL + 1442695040888963407UL;
		return static_cast<long>(u >> 1);
	};
	unsigned long sum = 0;
	double dsum = 0;
	app::Vec acc{1, 2};
	for (long r = 0; r < rounds; r++) {
		for (int k = 0; k < 6; k++) {
			dsum += ad.run(dv);
			sum += al.run(lv);
		}
		for (int i = 0; i < 200; i++) {
			sum += static_cast<unsigned long>(spin(r + i)) +
			       static_cast<unsigned long>(app::mix(static_cast<long>(sum >> 1) + i));
			dsum = app::mix(dsum);
			acc = acc + app::Vec{static_cast<double>(i), 1};
			sum += acc < app::Vec{1, static_cast<double>(i)};
		}
		std::map<long, long> m;
		for (long i = 0; i < 600; i++)
			m[(i * 7919 + r) % 997] = i;
		sum += m.size();
	}
	std::printf("demangle_cxx: %lu %g %g\n", sum, dsum, acc.x);
	return 0;
}
