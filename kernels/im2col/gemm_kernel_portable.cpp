// Portable GEMM micro-kernel: a 4x8 tile, built for the baseline x86-64
// target (SSE2) and written with GCC/Clang vector types: each row of 8
// accumulators is two 4-wide vectors, 8 accumulator registers of the 16.
// No FMA here (the baseline has none): each step is a multiply and an add.
// Edges: the packed panels are zero-padded; a full tile goes through the
// epilogue as vectors, a partial one element by element.
#include <cstring>

#include "kernels/im2col/gemm_epilogue.h"

namespace cnn::gemm {

namespace {

constexpr int MR = 4, NR = 8;
typedef float v4 __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

inline v4 load4(const float* p) {
  v4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }

void ukr_portable(int kc, const float* A, const float* B, long ldb, float* C, long ldc, int m,
                  int n, const Epilogue& epilogue) {
  v4 acc[MR][2] = {};
  for (int k = 0; k < kc; ++k) {
    const v4 b0 = load4(B), b1 = load4(B + 4);
    for (int r = 0; r < MR; ++r) {
      const v4 a = {A[r], A[r], A[r], A[r]};
      acc[r][0] += a * b0;
      acc[r][1] += a * b1;
    }
    A += MR;
    B += ldb;
  }
  const TileEpilogue ep(epilogue);
  if (m == MR && n == NR) {
    for (int r = 0; r < MR; ++r) {
      for (int h = 0; h < 2; ++h) {
        float* c = C + r * ldc + 4 * h;
        v4 x = acc[r][h] * ep.alpha;
        if (ep.first) {
          if (ep.beta != 0.0f) x += ep.beta * load4(c);
          if (ep.rb) x += ep.rb[r];
          if (ep.cb) x += load4(ep.cb + 4 * h);
        } else {
          x = load4(c) + x;
        }
        if (ep.relu) x = (v4)((v4i)x & (x > 0.0f));  // x > 0 ? x : 0 (NaN -> 0)
        store4(c, x);
      }
    }
    return;
  }
  float t[MR][NR];
  std::memcpy(t, acc, sizeof t);
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) C[r * ldc + j] = ep.apply(t[r][j], C + r * ldc + j, r, j);
}

// Inner-product kernel: a 2x2 tile of dot products, each kept as 8 partial
// sums over k mod 8, in GCC/Clang vector types (two 4-wide SSE2 vectors on
// x86-64; the plain-array form of this loop is not vectorised by GCC 12).
constexpr int DM = 2, DN = 2, L = 8;

void dot_portable(int K, const float* A, long lda, const float* B, long ldb, float* C, long ldc,
                  int m, int n, const Epilogue& ep) {
  const float* a[DM];
  const float* b[DN];
  dot_rows(A, lda, m, a);
  dot_rows(B, ldb, n, b);
  v4 acc[DM][DN][2] = {};
  int k = 0;
  for (; k + L <= K; k += L) {
    const v4 b00 = load4(b[0] + k), b01 = load4(b[0] + k + 4);
    const v4 b10 = load4(b[1] + k), b11 = load4(b[1] + k + 4);
    for (int i = 0; i < DM; ++i) {
      const v4 a0 = load4(a[i] + k), a1 = load4(a[i] + k + 4);
      acc[i][0][0] += a0 * b00;
      acc[i][0][1] += a1 * b01;
      acc[i][1][0] += a0 * b10;
      acc[i][1][1] += a1 * b11;
    }
  }
  float part[DM][DN][L];
  std::memcpy(part, acc, sizeof part);
  for (int l = 0; k < K; ++k, ++l)
    for (int i = 0; i < DM; ++i)
      for (int j = 0; j < DN; ++j) part[i][j][l] += a[i][k] * b[j][k];
  dot_store<DM, DN>(ep, C, ldc, m, n, [&](int i, int j) {
    const float* s = part[i][j];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
  });
}

}  // namespace

// Cache blocks, same reasoning as the AVX ones: the B micro-panel
// (KC x 8 = 8 KiB at KC = 256) in L1, the A block (MC x KC = 512 KiB) in L2,
// the B block (KC x NC = 4 MiB) in L3.
const GemmKernel& gemm_kernel_portable() {
  static const GemmKernel k{"portable", MR,           NR, NR, 512,         256,
                            4096,       ukr_portable, DM, DN, dot_portable};
  return k;
}

}  // namespace cnn::gemm
