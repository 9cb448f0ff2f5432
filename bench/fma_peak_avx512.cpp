// FMA-throughput loop for bench/peak_bench.cpp, AVX-512 (compiled with
// -mavx512f -mfma, see bench/CMakeLists.txt). 16 independent accumulator
// chains: more than enough for one 512-bit FMA a cycle (Zen 4 splits it over
// its two 256-bit pipes) at 4 cycles of latency, or for two a cycle on cores
// with two 512-bit FMA units.
#include <immintrin.h>

namespace cnn::bench {

double fma_peak_avx512(long iters) {
  constexpr int kChains = 16;
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(0.001f * float(c));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  alignas(64) float out[16];
  _mm512_store_ps(out, s);
  return double(out[0]);
}

double fma_peak_avx512_flops_per_iter() { return 16.0 * 16 * 2; }

}  // namespace cnn::bench
