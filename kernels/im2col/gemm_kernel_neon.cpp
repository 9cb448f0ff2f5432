// NEON GEMM micro-kernel (AArch64 Advanced SIMD): an 8x12 register tile
// (8 rows x 3 q vectors of 4 floats).
//
// Per k step: 3 B vector loads, 2 A vector loads (the step's 8 A values,
// used lane by lane through fmla's by-element form, so no broadcasts), and
// 24 independent FMAs into 24 accumulators: 24 + 3 + 2 of the 32 q
// registers. Current aarch64 cores run 2 to 4 FMA pipes of about 4 cycles'
// latency, so 8 to 16 independent chains keep them busy; 24 leave slack.
// M = 8 (the convolution's filters) is exactly one tile row; N = 784 =
// 65*12 + 4 ends in the one-vector variant.
//
// Narrow tiles (n <= 4 or <= 8) run a variant with 1 or 2 column vectors
// (template NV), so a product with N = 10 costs 3 vectors only where it
// must. The packed panels are zero-padded, so the loop never tests bounds;
// a partial vector of C goes through the epilogue via a copy of its valid
// lanes.
//
// Built on aarch64 targets only (kernels/CMakeLists.txt), where Advanced
// SIMD is part of the baseline.
#include <arm_neon.h>

#include "kernels/im2col/gemm_epilogue.h"

namespace cnn::gemm {

namespace {

constexpr int MR = 8, NR = 12;

// The first `valid` floats at p (0 < valid <= 4), the rest zero; and back.
inline float32x4_t load_part(const float* p, int valid) {
  if (valid >= 4) return vld1q_f32(p);
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int i = 0; i < valid; ++i) t[i] = p[i];
  return vld1q_f32(t);
}
inline void store_part(float* p, float32x4_t v, int valid) {
  if (valid >= 4) return vst1q_f32(p, v);
  float t[4];
  vst1q_f32(t, v);
  for (int i = 0; i < valid; ++i) p[i] = t[i];
}

// One accumulator vector through the epilogue into c[0..valid). ReLU by
// mask, so NaN goes to 0 as in the other kernels (fmax would keep it).
inline void finish(float* c, float32x4_t acc, int valid, const TileEpilogue& ep, int r, int col) {
  float32x4_t x = ep.alpha == 1.0f ? acc : vmulq_f32(vdupq_n_f32(ep.alpha), acc);
  if (ep.first) {
    if (ep.beta != 0.0f) x = vfmaq_f32(x, vdupq_n_f32(ep.beta), load_part(c, valid));
    if (ep.rb) x = vaddq_f32(x, vdupq_n_f32(ep.rb[r]));
    if (ep.cb) x = vaddq_f32(x, load_part(ep.cb + col, valid));
  } else {
    x = vaddq_f32(load_part(c, valid), x);
  }
  if (ep.relu)
    x = vreinterpretq_f32_u32(vandq_u32(vcgtq_f32(x, vdupq_n_f32(0.0f)), vreinterpretq_u32_f32(x)));
  store_part(c, x, valid);
}

template <int NV>
void ukr_8xnv(int kc, const float* A, const float* B, long ldb, float* C, long ldc, int m, int n,
              const Epilogue& epilogue) {
  float32x4_t acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[r][v] = vdupq_n_f32(0.0f);

#pragma GCC unroll 2
  for (int k = 0; k < kc; ++k) {
    float32x4_t b[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) b[v] = vld1q_f32(B + 4 * v);
    const float32x4_t a0 = vld1q_f32(A), a1 = vld1q_f32(A + 4);
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      acc[0][v] = vfmaq_laneq_f32(acc[0][v], b[v], a0, 0);
      acc[1][v] = vfmaq_laneq_f32(acc[1][v], b[v], a0, 1);
      acc[2][v] = vfmaq_laneq_f32(acc[2][v], b[v], a0, 2);
      acc[3][v] = vfmaq_laneq_f32(acc[3][v], b[v], a0, 3);
      acc[4][v] = vfmaq_laneq_f32(acc[4][v], b[v], a1, 0);
      acc[5][v] = vfmaq_laneq_f32(acc[5][v], b[v], a1, 1);
      acc[6][v] = vfmaq_laneq_f32(acc[6][v], b[v], a1, 2);
      acc[7][v] = vfmaq_laneq_f32(acc[7][v], b[v], a1, 3);
    }
    A += MR;
    B += ldb;
  }

  store_tile<MR, NV, 4>(epilogue, acc, C, ldc, m, n, finish);
}

void ukr_neon(int kc, const float* A, const float* B, long ldb, float* C, long ldc, int m, int n,
              const Epilogue& ep) {
  if (n > 8)
    ukr_8xnv<3>(kc, A, B, ldb, C, ldc, m, n, ep);
  else if (n > 4)
    ukr_8xnv<2>(kc, A, B, ldb, C, ldc, m, n, ep);
  else
    ukr_8xnv<1>(kc, A, B, ldb, C, ldc, m, n, ep);
}

// ---- Inner-product kernel: a 4x5 tile of dot products, 4 lanes of K ----
// Per 4 k: 4 A and 5 B vector loads, 20 FMAs into 20 accumulators (+ 5 + 1
// of the 32 q registers). Tile rows/columns past m/n re-read the last valid
// row (no bounds tests in the loop) and are not stored. Each dot product is
// reduced once at the end, by pairs: (s0 + s1) + (s2 + s3).
constexpr int DM = 4, DN = 5;

void dot_neon(int K, const float* A, long lda, const float* B, long ldb, float* C, long ldc, int m,
              int n, const Epilogue& ep) {
  const float* a[DM];
  const float* b[DN];
  dot_rows(A, lda, m, a);
  dot_rows(B, ldb, n, b);
  float32x4_t acc[DM][DN];
#pragma GCC unroll 4
  for (int i = 0; i < DM; ++i)
#pragma GCC unroll 5
    for (int j = 0; j < DN; ++j) acc[i][j] = vdupq_n_f32(0.0f);
  int k = 0;
  auto step = [&](int valid) {
    float32x4_t bv[DN];
#pragma GCC unroll 5
    for (int j = 0; j < DN; ++j) bv[j] = load_part(b[j] + k, valid);
#pragma GCC unroll 4
    for (int i = 0; i < DM; ++i) {
      const float32x4_t av = load_part(a[i] + k, valid);
#pragma GCC unroll 5
      for (int j = 0; j < DN; ++j) acc[i][j] = vfmaq_f32(acc[i][j], av, bv[j]);
    }
  };
  for (; k + 4 <= K; k += 4) step(4);
  if (k < K) step(K - k);
  dot_store<DM, DN>(ep, C, ldc, m, n, [&](int i, int j) { return vaddvq_f32(acc[i][j]); });
}

}  // namespace

// Cache blocks for a typical aarch64 core (L1d 64 KiB, L2 1 MiB per core,
// as Neoverse N1/V1; Apple's cores have more of both):
//  KC = 256: the B micro-panel (KC x 12 floats = 12 KiB) is reused by every
//    A micro-panel of the block and stays in L1 with room for the streamed A
//    micro-panel (8 x KC = 8 KiB) and C lines.
//  MC = 512: the packed A block (MC x KC = 512 KiB) stays in L2, half of it.
//  NC = 4080 (340 x 12): the packed B block (KC x NC, 4 MiB) in the L3 or
//    system cache; large so B is packed once per K block in practice.
const GemmKernel& gemm_kernel_neon() {
  static const GemmKernel k{"neon", MR, NR, 4, 512, 256, 4080, ukr_neon, DM, DN, dot_neon};
  return k;
}

}  // namespace cnn::gemm
