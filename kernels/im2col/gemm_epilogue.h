// The scalar part of every GEMM micro-kernel's epilogue (kernels/im2col/
// gemm_kernel.h states what the epilogue computes), written once for the
// per-ISA kernel files, which include this header and nothing else does.
// Only the vector epilogues of full tiles are written per ISA.
//
// Everything here is in an unnamed namespace on purpose: each kernel file
// compiles its own copy with its own ISA flags. An ordinary inline function
// defined in several translation units leaves the linker free to keep any
// one copy, e.g. one built with -mavx512f, for the portable path too.
#pragma once

#include "kernels/im2col/gemm_kernel.h"

namespace cnn::gemm {
namespace {

// The epilogue's fields copied into locals once per tile: read through the
// const reference, the compiler would reload them after every store to C (a
// float store may alias them).
struct TileEpilogue {
  float alpha, beta;
  bool first, relu;
  const float *rb, *cb;
  explicit TileEpilogue(const Epilogue& e)
      : alpha(e.alpha),
        beta(e.beta),
        first(e.first),
        relu(e.relu),
        rb(e.row_bias),
        cb(e.col_bias) {}

  // Tile element (r, j), whose products summed to `sum`; c is its place in
  // C (read only where the epilogue reads C). ReLU sends NaN to 0, as the
  // vector forms do.
  float apply(float sum, const float* c, int r, int j) const {
    float x = alpha * sum;
    if (first) {
      if (beta != 0.0f) x += beta * *c;
      if (rb) x += rb[r];
      if (cb) x += cb[j];
    } else {
      x = *c + x;
    }
    if (relu) x = x > 0.0f ? x : 0.0f;
    return x;
  }
};

// The epilogue over the valid m x n part of a register tile of MR rows of NV
// vectors of W floats, acc[r][v]: finish(c, acc, valid, ep, r, col), the
// kernel's vector epilogue, stores one accumulator's first `valid` lanes
// (valid >= W: all of them) at c, column col of the tile. The loops are
// unrolled, so r and v are constants and the accumulators stay in registers.
template <int MR, int NV, int W, class Vec, class Finish>
void store_tile(const Epilogue& epilogue, const Vec (&acc)[MR][NV], float* C, long ldc, int m,
                int n, Finish&& finish) {
  const TileEpilogue ep(epilogue);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    if (r >= m) break;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const int valid = n - W * v;
      if (valid <= 0) break;
      finish(C + r * ldc + W * v, acc[r][v], valid, ep, r, W * v);
    }
  }
}

// The source rows an inner-product kernel reads for a tile of R rows of
// which `valid` are real: rows past them re-read the last valid one, so the
// loop needs no bounds tests (their sums are never stored).
template <int R>
void dot_rows(const float* base, long ld, int valid, const float* (&rows)[R]) {
  for (int i = 0; i < R; ++i) rows[i] = base + (i < valid ? i : valid - 1) * ld;
}

// The epilogue over the valid m x n part of a DM x DN inner-product tile,
// sum(i, j) giving element (i, j)'s dot product. The loops are unrolled, so
// i and j are constants and a kernel's accumulators can stay in registers.
template <int DM, int DN, class Sum>
void dot_store(const Epilogue& epilogue, float* C, long ldc, int m, int n, Sum&& sum) {
  const TileEpilogue ep(epilogue);
#pragma GCC unroll 8
  for (int i = 0; i < DM; ++i) {
    if (i >= m) break;
#pragma GCC unroll 8
    for (int j = 0; j < DN; ++j) {
      if (j >= n) break;
      float* c = C + i * ldc + j;
      *c = ep.apply(sum(i, j), c, i, j);
    }
  }
}

}  // namespace
}  // namespace cnn::gemm
