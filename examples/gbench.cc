// A Google Benchmark harness reporting pmuprof counters as benchmark user
// counters (per iteration), next to the timings gbench measures itself.
// Also shows a region per benchmark in pmuprof's own report (on stderr).
//
//   pmuprof_example_gbench [gbench flags]      e.g. --benchmark_format=json
//   PMUPROF_EVENTS=instructions:u,cycles:u pmuprof_example_gbench
//
// The counters are opened on the thread that runs main(); Google Benchmark
// runs single-threaded benchmarks on that thread, so the pmuprof_thread is
// used by its owner only (multi-threaded benchmarks would attach one each).
#include <pmuprof/pmuprof.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace {

struct Counters {
	pmuprof_session *session;
	pmuprof_thread *thread;
};

// Deterministic work: a dependent chain of multiply-adds over a vector.
uint64_t Work(const std::vector<uint64_t> &v)
{
	uint64_t x = 1;
	for (uint64_t e : v)
		x = x * 6364136223846793005u + e;
	return x;
}

void RunWithCounters(benchmark::State &state, const Counters &c, const char *region)
{
	if (state.threads() != 1) {
		state.SkipWithError("the pmuprof thread belongs to the main thread");
		return;
	}
	std::vector<uint64_t> data(static_cast<size_t>(state.range(0)));
	std::iota(data.begin(), data.end(), 0);
	size_t n = pmuprof_session_nevents(c.session);
	std::vector<uint64_t> before(n), after(n);
	if (pmuprof_region_begin(c.thread, region) < 0 || pmuprof_read(c.thread, before.data()) < 0) {
		state.SkipWithError(pmuprof_thread_error(c.thread));
		return;
	}
	for (auto _ : state)
		benchmark::DoNotOptimize(Work(data));
	if (pmuprof_read(c.thread, after.data()) < 0 || pmuprof_region_end(c.thread, region) < 0) {
		state.SkipWithError(pmuprof_thread_error(c.thread));
		return;
	}
	for (size_t i = 0; i < n; i++)
		state.counters[pmuprof_session_event_name(c.session, i)] = benchmark::Counter(
			static_cast<double>(after[i] - before[i]), benchmark::Counter::kAvgIterations);
}

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 2;
	char err[512];
	Counters c{};
	if (pmuprof_session_open(&c.session, nullptr, err, sizeof(err)) < 0) {
		std::fprintf(stderr, "gbench example: %s\n", err);
		return 1;
	}
	if (pmuprof_thread_attach(c.session, &c.thread, err, sizeof(err)) < 0) {
		std::fprintf(stderr, "gbench example: %s\n", err);
		pmuprof_session_close(c.session);
		return 1;
	}
	benchmark::RegisterBenchmark("BM_Work", [&c](benchmark::State &st) {
		RunWithCounters(st, c, "BM_Work");
	})->Arg(1 << 10)->Arg(1 << 14);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	pmuprof_session_report(c.session, stderr, PMUPROF_REPORT_TEXT);
	return pmuprof_session_close(c.session) < 0 ? 1 : 0;
}
