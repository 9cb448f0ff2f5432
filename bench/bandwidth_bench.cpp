// Memory bandwidth, the slopes of the roofline (tools/roofline.py): a
// STREAM-style triad a[i] = b[i] + s*c[i] over arrays far larger than any
// cache (DRAM), and over arrays sized to stay in one core's L2, on 1 thread
// and on every core.
//   cnn_bench --benchmark_filter=bandwidth
// Names: bandwidth/triad_<dram|l2>/threads:<n>. Counter GB/s (and
// bytes_per_second) counts what STREAM counts: 12 bytes per element, b and c
// read once, a written once; the write-allocate read of a is not counted.
//
// Each thread runs the triad over its own arrays, so a thread's L2 set stays
// in its own L2 and the DRAM set splits evenly between threads. The loop is
// baseline code (SSE2 on x86): on the machine it was written on, AVX-512
// reaches the same L2 and DRAM figures (the triad is bound by the memory
// system, not by the vector width), so the slopes hold for every ISA path.
#include <benchmark/benchmark.h>
#include <omp.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <vector>

namespace cnn::bench {
namespace {

// 3 x 128 MiB: several times the L3 of current server parts (the whole set
// per run, whatever the thread count).
constexpr std::size_t kDramFloats = std::size_t(1) << 25;

// Per thread, the three arrays fill half of the L2 (sysconf; 1 MiB if the
// system does not say): well above the L1, with room for the L2's other
// traffic.
std::size_t l2_floats() {
  long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l2 <= 0) l2 = 1 << 20;
  return std::size_t(l2) / 2 / (3 * sizeof(float)) / 16 * 16;
}

__attribute__((noinline)) void triad(float* __restrict a, const float* __restrict b,
                                     const float* __restrict c, float s, std::size_t n) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

// per_thread floats in each of a thread's three arrays; `passes` triads per
// iteration (the L2 set is swept many times so that the parallel region's
// start-up is lost in the noise).
void run_triad(benchmark::State& state, std::size_t per_thread, int passes, int threads) {
  std::vector<std::vector<float>> a(threads), b(threads), c(threads);
  for (int t = 0; t < threads; ++t) {
    a[t].assign(per_thread, 0.0f);
    b[t].assign(per_thread, 1.0f);
    c[t].assign(per_thread, 2.0f);
  }
  int ran = threads;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      if (t == 0) ran = omp_get_num_threads();
      for (int p = 0; p < passes; ++p)
        triad(a[t].data(), b[t].data(), c[t].data(), 0.5f, per_thread);
    }
    benchmark::ClobberMemory();
  }
  if (ran != threads) {
    state.SkipWithError("OpenMP ran fewer threads than asked for");
    return;
  }
  const double bytes =
      3.0 * sizeof(float) * double(per_thread) * threads * passes * double(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(std::int64_t(bytes));
  state.SetLabel(std::to_string(3 * per_thread * sizeof(float) / 1024) +
                 " KiB per thread, threads=" + std::to_string(threads));
}

int register_all() {
  const int all = omp_get_num_procs();
  for (int t : {1, all}) {
    const std::string th = "/threads:" + std::to_string(t);
    benchmark::RegisterBenchmark(("bandwidth/triad_dram" + th).c_str(), run_triad, kDramFloats / t,
                                 1, t)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("bandwidth/triad_l2" + th).c_str(), run_triad, l2_floats(), 64, t)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    if (all == 1) break;
  }
  return 0;
}
const int kRegistered = register_all();

}  // namespace
}  // namespace cnn::bench
