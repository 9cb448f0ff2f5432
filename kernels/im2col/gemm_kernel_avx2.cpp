// AVX2+FMA GEMM micro-kernel: a 4x24 register tile (4 rows x 3 ymm).
//
// Per k step it loads 3 B vectors, broadcasts 4 A values and issues 12
// independent FMAs into 12 accumulators: 12 + 3 + 1 of the 16 ymm registers.
// Zen 4 retires two 256-bit FMAs a cycle with a 4-cycle latency, so at least
// 8 independent chains are needed to fill both pipes; 12 leave slack. The 7
// loads per 12 FMAs (6 cycles) stay well under the 3 loads a cycle the core
// can issue. 4 rows rather than the classic 6x16: the convolution's products
// have M = 8 (filters), which 4 divides, and N = 784 = 32*24 + 16, which the
// narrower 16-column variant covers without waste.
//
// Narrow tiles (n <= 8 or <= 16) run a variant with 1 or 2 column vectors
// (template NV), so a product with N = 10 costs 2 vectors, not 3. Edges are
// handled in the epilogue with masked loads/stores; the packed panels are
// zero-padded, so the loop itself never tests bounds.
//
// Compiled with -mavx2 -mfma (kernels/CMakeLists.txt); only reached when the
// run-time probe reports AVX2+FMA.
#include <immintrin.h>

#include <cstdint>

#include "kernels/im2col/gemm_epilogue.h"

namespace cnn::gemm {

namespace {

constexpr int MR = 4, NR = 24;

// Lanes [0, valid) set, valid in 0..8.
inline __m256i lane_mask(int valid) {
  static const std::int32_t tbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tbl + 8 - valid));
}

// One accumulator vector through the epilogue into c[0..valid).
inline void finish(float* c, __m256 acc, int valid, const TileEpilogue& ep, int r, int col) {
  __m256 x = ep.alpha == 1.0f ? acc : _mm256_mul_ps(_mm256_set1_ps(ep.alpha), acc);
  if (valid >= 8) {
    if (ep.first) {
      if (ep.beta != 0.0f) x = _mm256_fmadd_ps(_mm256_set1_ps(ep.beta), _mm256_loadu_ps(c), x);
      if (ep.rb) x = _mm256_add_ps(x, _mm256_set1_ps(ep.rb[r]));
      if (ep.cb) x = _mm256_add_ps(x, _mm256_loadu_ps(ep.cb + col));
    } else {
      x = _mm256_add_ps(_mm256_loadu_ps(c), x);
    }
    if (ep.relu) x = _mm256_max_ps(x, _mm256_setzero_ps());
    _mm256_storeu_ps(c, x);
  } else {
    const __m256i mk = lane_mask(valid);
    if (ep.first) {
      if (ep.beta != 0.0f)
        x = _mm256_fmadd_ps(_mm256_set1_ps(ep.beta), _mm256_maskload_ps(c, mk), x);
      if (ep.rb) x = _mm256_add_ps(x, _mm256_set1_ps(ep.rb[r]));
      if (ep.cb) x = _mm256_add_ps(x, _mm256_maskload_ps(ep.cb + col, mk));
    } else {
      x = _mm256_add_ps(_mm256_maskload_ps(c, mk), x);
    }
    if (ep.relu) x = _mm256_max_ps(x, _mm256_setzero_ps());
    _mm256_maskstore_ps(c, mk, x);
  }
}

template <int NV>
void ukr_4xnv(int kc, const float* A, const float* B, long ldb, float* C, long ldc, int m, int n,
              const Epilogue& epilogue) {
  __m256 acc[MR][NV];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();

#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    __m256 b[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) b[v] = _mm256_loadu_ps(B + 8 * v);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_broadcast_ss(A + r);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(a, b[v], acc[r][v]);
    }
    A += MR;
    B += ldb;
  }

  const TileEpilogue ep(epilogue);
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    if (r >= m) break;
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      const int valid = n - 8 * v;
      if (valid <= 0) break;
      finish(C + r * ldc + 8 * v, acc[r][v], valid, ep, r, 8 * v);
    }
  }
}

void ukr_avx2(int kc, const float* A, const float* B, long ldb, float* C, long ldc, int m, int n,
              const Epilogue& ep) {
  if (n > 16)
    ukr_4xnv<3>(kc, A, B, ldb, C, ldc, m, n, ep);
  else if (n > 8)
    ukr_4xnv<2>(kc, A, B, ldb, C, ldc, m, n, ep);
  else
    ukr_4xnv<1>(kc, A, B, ldb, C, ldc, m, n, ep);
}

// ---- Inner-product kernel: a 2x5 tile of dot products, 8 lanes of K ----
// Per 8 k: 2 A and 5 B vector loads, 10 FMAs into 10 accumulators (+ 5 + 1
// of the 16 ymm registers). Tile rows/columns past m/n re-read the last
// valid row (no bounds tests in the loop) and are not stored.
constexpr int DM = 2, DN = 5;

inline float hsum(__m256 v) {
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

void dot_avx2(int K, const float* A, long lda, const float* B, long ldb, float* C, long ldc, int m,
              int n, const Epilogue& ep) {
  const float* a[DM];
  const float* b[DN];
  dot_rows(A, lda, m, a);
  dot_rows(B, ldb, n, b);
  __m256 acc[DM][DN];
#pragma GCC unroll 2
  for (int i = 0; i < DM; ++i)
#pragma GCC unroll 5
    for (int j = 0; j < DN; ++j) acc[i][j] = _mm256_setzero_ps();
  int k = 0;
  auto step = [&](auto load) {
    __m256 bv[DN];
#pragma GCC unroll 5
    for (int j = 0; j < DN; ++j) bv[j] = load(b[j] + k);
#pragma GCC unroll 2
    for (int i = 0; i < DM; ++i) {
      const __m256 av = load(a[i] + k);
#pragma GCC unroll 5
      for (int j = 0; j < DN; ++j) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
    }
  };
  for (; k + 8 <= K; k += 8) step([](const float* p) { return _mm256_loadu_ps(p); });
  if (k < K) {
    const __m256i mk = lane_mask(K - k);
    step([mk](const float* p) { return _mm256_maskload_ps(p, mk); });
  }
  dot_store<DM, DN>(ep, C, ldc, m, n, [&](int i, int j) { return hsum(acc[i][j]); });
}

}  // namespace

// Cache blocks for Zen 4 (L1d 32 KiB, L2 1 MiB per core):
//  KC = 160: the B micro-panel (KC x 24 floats = 15 KiB) is reused by every
//    A micro-panel of the block, so it should stay in L1; half of L1 leaves
//    room for the streamed A micro-panel (4 x KC = 2.5 KiB) and C lines.
//  MC = 768: the packed A block (MC x KC = 480 KiB) stays in L2 while the
//    B micro-panels sweep over it; about half of L2, the rest for B and C.
//  NC = 4080 (170 x 24): the packed B block (KC x NC = 2.5 MiB) lives in the
//    shared L3 (32 MiB); large so B is packed once per K block in practice.
const GemmKernel& gemm_kernel_avx2() {
  static const GemmKernel k{"avx2", MR, NR, 8, 768, 160, 4080, ukr_avx2, DM, DN, dot_avx2};
  return k;
}

}  // namespace cnn::gemm
