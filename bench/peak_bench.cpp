// The machine's fp32 FMA peak, measured: a loop of independent FMA chains
// (bench/fma_peak_*.cpp, each built with its ISA's flags; avx512 and avx2 on
// x86, neon on aarch64, and the baseline code of the portable path) on one
// core, per ISA path the CPU has; paths it lacks are not registered. Every GEMM or
// kernel figure is quoted as a fraction of this number.
//   cnn_bench --benchmark_filter=fma_peak
// The threaded variant runs one loop per thread (real time), for the peak
// of all cores together.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <string>
#include <vector>

#include "kernels/common/cpu.h"

namespace cnn::bench {

double fma_peak_portable(long iters);  // fma_peak_portable.cpp: baseline code
double fma_peak_portable_flops_per_iter();
#if CNN_X86
double fma_peak_avx2(long iters);
double fma_peak_avx2_flops_per_iter();
double fma_peak_avx512(long iters);
double fma_peak_avx512_flops_per_iter();
#endif
#if CNN_AARCH64
double fma_peak_neon(long iters);
double fma_peak_neon_flops_per_iter();
#endif

namespace {

constexpr long kIters = 1 << 20;  // ~0.1-0.2 ms of FMAs per call at a few GHz

using LoopFn = double (*)(long);

void run_peak(benchmark::State& state, LoopFn loop, double flops_per_iter, int threads) {
  double sink = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += loop(kIters);
  }
  benchmark::DoNotOptimize(sink);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iter * kIters * threads * double(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate);
}

int register_all() {
  [[maybe_unused]] const auto& f = cpu_features();
  struct Path {
    const char* isa;
    bool ok;
    LoopFn loop;
    double fpi;
  };
  std::vector<Path> paths;
#if CNN_X86
  paths.push_back({"avx512", f.avx512, fma_peak_avx512, fma_peak_avx512_flops_per_iter()});
  paths.push_back({"avx2", f.avx2_fma, fma_peak_avx2, fma_peak_avx2_flops_per_iter()});
#endif
#if CNN_AARCH64
  paths.push_back({"neon", f.neon, fma_peak_neon, fma_peak_neon_flops_per_iter()});
#endif
  // The compute roof of the portable path (tools/roofline.py): the
  // multiply-add rate of code built without ISA flags.
  paths.push_back({"portable", true, fma_peak_portable, fma_peak_portable_flops_per_iter()});
  const int all = omp_get_num_procs();
  for (const auto& p : paths) {
    if (!p.ok) continue;
    benchmark::RegisterBenchmark((std::string("fma_peak/") + p.isa + "/threads:1").c_str(),
                                 run_peak, p.loop, p.fpi, 1)
        ->Unit(benchmark::kMicrosecond);
    if (all > 1)
      benchmark::RegisterBenchmark(
          (std::string("fma_peak/") + p.isa + "/threads:" + std::to_string(all)).c_str(), run_peak,
          p.loop, p.fpi, all)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
  }
  return 0;
}
const int kRegistered = register_all();

}  // namespace
}  // namespace cnn::bench
