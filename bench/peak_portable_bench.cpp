// The compute roof of the portable ISA path (tools/roofline.py): the
// multiply-add rate of baseline code, the flags every non-ISA file of the
// project is built with. peak_bench.cpp measures the FMA peak of each vector
// ISA from files built with that ISA's flags; this is the same measurement
// for code built without them: on x86 that is SSE2, 4 lanes, a multiply and
// an add per element (no FMA), on AArch64 the compiler's fused NEON form.
//   cnn_bench --benchmark_filter=fma_peak/portable
// Names follow peak_bench.cpp: fma_peak/portable/threads:<n>, counter GFLOP/s.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <string>

namespace cnn::bench {
namespace {

// 12 independent accumulators of 4 lanes: as many 128-bit registers as SSE2
// has to spare (16 minus the two constants), enough to cover the
// multiply-then-add latency on two pipes.
constexpr int kAcc = 48;
constexpr long kIters = 1 << 20;

__attribute__((noinline)) double mul_add_loop(long iters) {
  float acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = 0.001f * float(i);
  const float a = 0.999f, b = 0.001f;
  for (long it = 0; it < iters; ++it) {
#pragma omp simd
    for (int i = 0; i < kAcc; ++i) acc[i] = acc[i] * a + b;
  }
  float s = 0;
  for (int i = 0; i < kAcc; ++i) s += acc[i];
  return double(s);
}

void run_portable_peak(benchmark::State& state, int threads) {
  double sink = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += mul_add_loop(kIters);
  }
  benchmark::DoNotOptimize(sink);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kAcc * kIters * threads * double(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate);
  state.SetLabel("portable (baseline code) threads=" + std::to_string(threads));
}

int register_all() {
  const int all = omp_get_num_procs();
  benchmark::RegisterBenchmark("fma_peak/portable/threads:1", run_portable_peak, 1)
      ->Unit(benchmark::kMicrosecond);
  if (all > 1)
    benchmark::RegisterBenchmark(("fma_peak/portable/threads:" + std::to_string(all)).c_str(),
                                 run_portable_peak, all)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  return 0;
}
const int kRegistered = register_all();

}  // namespace
}  // namespace cnn::bench
