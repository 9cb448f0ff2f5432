// FMA-throughput loop for bench/peak_bench.cpp, AVX2+FMA (compiled with
// -mavx2 -mfma, see bench/CMakeLists.txt). 12 independent accumulator
// chains: Zen 4 has two 256-bit FMA pipes with 4 cycles of latency, so 8
// chains are the minimum to keep both busy; 12 leave slack and fit in the 16
// ymm registers with the two operands.
#include <immintrin.h>

namespace cnn::bench {

double fma_peak_avx2(long iters) {
  constexpr int kChains = 12;
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(0.001f * float(c));
  // x <- x*a + b converges to b/(1-a): stays finite for any iteration count.
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  __m256 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm256_add_ps(s, acc[c]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return double(out[0]);
}

// FLOPs one iteration of the loop performs: chains x 8 lanes x 2.
double fma_peak_avx2_flops_per_iter() { return 12.0 * 8 * 2; }

}  // namespace cnn::bench
