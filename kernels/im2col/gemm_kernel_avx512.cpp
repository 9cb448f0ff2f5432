// AVX-512 GEMM micro-kernel: an 8x32 register tile (8 rows x 2 zmm).
//
// Per k step: 2 B vector loads, 8 broadcasts, 16 independent FMAs into 16
// accumulators (16 + 2 + 1 of the 32 zmm registers). Zen 4 executes a
// 512-bit FMA as two 256-bit halves, one per cycle at 4 cycles latency, so 16
// chains keep the pipes full with 4x slack, and 10 loads per 16 cycles are
// far below the load ports' limit. The peak is the same as AVX2's on this
// core; the gain is half the instructions per FLOP. M = 8 (the convolution's
// filters) is exactly one tile row; N = 784 = 24*32 + 16 ends in the
// one-vector variant.
//
// Narrow tiles (n <= 16) use one column vector (template NV); edges are
// masked in the epilogue with AVX-512 opmasks, the packed panels are
// zero-padded so the loop never tests bounds.
//
// Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma
// (kernels/CMakeLists.txt); only reached when the run-time probe reports
// AVX-512 with OS support for the ZMM state.
#include <immintrin.h>

#include "kernels/im2col/gemm_epilogue.h"

namespace cnn::gemm {

namespace {

constexpr int MR = 8, NR = 32;

// One accumulator vector through the epilogue into c[0..valid).
inline void finish(float* c, __m512 acc, int valid, const TileEpilogue& ep, int r, int col) {
  const __mmask16 mk = valid >= 16 ? __mmask16(0xffff) : __mmask16((1u << valid) - 1u);
  __m512 x = ep.alpha == 1.0f ? acc : _mm512_mul_ps(_mm512_set1_ps(ep.alpha), acc);
  if (ep.first) {
    if (ep.beta != 0.0f)
      x = _mm512_fmadd_ps(_mm512_set1_ps(ep.beta), _mm512_maskz_loadu_ps(mk, c), x);
    if (ep.rb) x = _mm512_add_ps(x, _mm512_set1_ps(ep.rb[r]));
    if (ep.cb) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, ep.cb + col));
  } else {
    x = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, c), x);
  }
  // maskz form: same result on the stored lanes, and it avoids GCC 12's
  // false -Wmaybe-uninitialized on the plain intrinsic's undefined source.
  if (ep.relu) x = _mm512_maskz_max_ps(mk, x, _mm512_setzero_ps());
  _mm512_mask_storeu_ps(c, mk, x);
}

template <int NV>
void ukr_8xnv(int kc, const float* A, const float* B, long ldb, float* C, long ldc, int m, int n,
              const Epilogue& epilogue) {
  __m512 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();

#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    __m512 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_ps(B + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(A[r]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
    }
    A += MR;
    B += ldb;
  }

  const TileEpilogue ep(epilogue);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    if (r >= m) break;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const int valid = n - 16 * v;
      if (valid <= 0) break;
      finish(C + r * ldc + 16 * v, acc[r][v], valid, ep, r, 16 * v);
    }
  }
}

void ukr_avx512(int kc, const float* A, const float* B, long ldb, float* C, long ldc, int m, int n,
                const Epilogue& ep) {
  if (n > 16)
    ukr_8xnv<2>(kc, A, B, ldb, C, ldc, m, n, ep);
  else
    ukr_8xnv<1>(kc, A, B, ldb, C, ldc, m, n, ep);
}

// ---- Inner-product kernel: a 4x5 tile of dot products, 16 lanes of K ----
// Per 16 k: 4 A and 5 B vector loads, 20 FMAs into 20 accumulators (+ 5 + 1
// registers of the 32). Tile rows/columns past m/n re-read the last valid
// row (no bounds tests in the loop) and are not stored.
constexpr int DM = 4, DN = 5;

inline float hsum(__m512 v) {
  // maskz extracts: the plain cast/extract trip GCC 12's false
  // -Wmaybe-uninitialized on their undefined source operand.
  const __m256 a = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xff, v, 0),
                                 _mm512_maskz_extractf32x8_ps(0xff, v, 1));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

void dot_avx512(int K, const float* A, long lda, const float* B, long ldb, float* C, long ldc,
                int m, int n, const Epilogue& ep) {
  const float* a[DM];
  const float* b[DN];
  dot_rows(A, lda, m, a);
  dot_rows(B, ldb, n, b);
  __m512 acc[DM][DN];
#pragma GCC unroll 4
  for (int i = 0; i < DM; ++i)
#pragma GCC unroll 5
    for (int j = 0; j < DN; ++j) acc[i][j] = _mm512_setzero_ps();
  int k = 0;
  auto step = [&](__mmask16 mk) {
    __m512 bv[DN];
#pragma GCC unroll 5
    for (int j = 0; j < DN; ++j) bv[j] = _mm512_maskz_loadu_ps(mk, b[j] + k);
#pragma GCC unroll 4
    for (int i = 0; i < DM; ++i) {
      const __m512 av = _mm512_maskz_loadu_ps(mk, a[i] + k);
#pragma GCC unroll 5
      for (int j = 0; j < DN; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  };
  for (; k + 16 <= K; k += 16) step(__mmask16(0xffff));
  if (k < K) step(__mmask16((1u << (K - k)) - 1u));
  dot_store<DM, DN>(ep, C, ldc, m, n, [&](int i, int j) { return hsum(acc[i][j]); });
}

}  // namespace

// Cache blocks for Zen 4 (L1d 32 KiB, L2 1 MiB per core):
//  KC = 128: the B micro-panel (KC x 32 floats = 16 KiB) is reused by every
//    A micro-panel of the block and should stay in L1 (half of it, leaving
//    room for the streamed A micro-panel, 8 x KC = 4 KiB, and C lines).
//  MC = 1024: the packed A block (MC x KC = 512 KiB) stays in L2, half of it.
//  NC = 4096 (128 x 32): the packed B block (KC x NC = 2 MiB) lives in L3.
const GemmKernel& gemm_kernel_avx512() {
  static const GemmKernel k{"avx512", MR, NR, 16, 1024, 128, 4096, ukr_avx512, DM, DN, dot_avx512};
  return k;
}

}  // namespace cnn::gemm
