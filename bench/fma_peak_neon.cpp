// FMA-throughput loop for bench/peak_bench.cpp, AArch64 Advanced SIMD
// (aarch64 builds only, no flags needed, see bench/CMakeLists.txt). 16
// independent accumulator chains: aarch64 cores have 2 to 4 128-bit FMA
// pipes with about 4 cycles of latency, so up to 16 chains are needed to
// keep them all busy; 16 + 2 operands fit in the 32 q registers.
#include <arm_neon.h>

namespace cnn::bench {

double fma_peak_neon(long iters) {
  constexpr int kChains = 16;
  float32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = vdupq_n_f32(0.001f * float(c));
  // x <- x*a + b converges to b/(1-a): stays finite for any iteration count.
  const float32x4_t a = vdupq_n_f32(0.999f), b = vdupq_n_f32(0.001f);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = vfmaq_f32(b, acc[c], a);
  }
  float32x4_t s = acc[0];
  for (int c = 1; c < kChains; ++c) s = vaddq_f32(s, acc[c]);
  return double(vgetq_lane_f32(s, 0));
}

// FLOPs one iteration of the loop performs: chains x 4 lanes x 2.
double fma_peak_neon_flops_per_iter() { return 16.0 * 4 * 2; }

}  // namespace cnn::bench
