// Fully connected backward over the lane layout (kernels/simd/kernels.h),
// written once for every ISA's traits (vec_*.h) and instantiated in
// fc_bwd_<isa>.cpp as fc_bwd_din_<isa> and fc_bwd_dw_<isa>. The bias
// gradient is the one every backend shares (kernels/common/fc_bwd_db.h).
//
// Input gradient (fc_bwd_din), per chunk: dpT[i] = sum_j w[i][j] * d[j] with the ten
// class gradients d[j] of a lane group held in registers; per feature ten
// broadcast-weight FMAs, in ascending j from 0 as the reference. Fused here:
// the ReLU mask of the conv block (pooled > 0), so conv_pool_bwd reads a
// ready gradient.
//
// Weight gradient (fc_bwd_dw), "owner computes": the calling thread computes whole rows
// dW[i][0..9] = sum_n x[n][i] * d[n][0..9] over EVERY sample of the batch, in
// sample order (the reference's order), with the classes in lanes (rows
// padded to 16) and each feature value broadcast from the lane layout. No
// per-chunk partials, no reduction pass and no barrier before it: the rows
// are split among the threads, and a row's sum never depends on the split.
// Several rows at a time give independent accumulation chains and reuse
// each dlogits row from registers.
#pragma once

#include <cstddef>

#include "kernels/simd/kernels.h"

namespace cnn::simd {

// Rows [i0,i1): pT (1568,S) w (1568,10) dT (10,S) -> dpT (1568,S)
template <class VT>
void fc_bwd_din_impl(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                     float* dpT, bool relu_mask) {
  using V = typename VT::V;
  constexpr int L = VT::L;
  const V zero = VT::zero();
  for (int n0 = 0; n0 < S && n0 < nv; n0 += L) {
    V d[kClasses];
    for (int j = 0; j < kClasses; ++j) d[j] = VT::load(dT + j * S + n0);
    for (int i = i0; i < i1; ++i) {
      const float* wr = w + i * kClasses;
      V s = VT::mul(VT::set1(wr[0]), d[0]);
      for (int j = 1; j < kClasses; ++j) s = VT::fma(VT::set1(wr[j]), d[j], s);
      if (relu_mask) s = VT::maskz(VT::gt(VT::load(pT + i * S + n0), zero), s);
      VT::store(dpT + i * S + n0, s);
    }
  }
  // Lane groups wholly past the batch: zero (they must add nothing later).
  for (int n0 = ((nv + L - 1) / L) * L; n0 < S; n0 += L)
    for (int i = i0; i < i1; ++i) VT::store(dpT + i * S + n0, zero);
}

// The first 10 lanes of the RC vectors of a padded class row -> dst (10).
template <class VT>
inline void store_classes(float* dst, const typename VT::V* v) {
  constexpr int L = VT::L;
  if constexpr (L >= kClasses) {
    VT::storen(dst, v[0], kClasses);
  } else {
    constexpr int RC = (kClasses + L - 1) / L;
    for (int r = 0; r < RC; ++r) {
      if ((r + 1) * L <= kClasses) {
        VT::store(dst + r * L, v[r]);
      } else {  // via the stack: AVX2's masked store is slow on AMD cores
        alignas(64) float tmp[L];
        VT::store(tmp, v[r]);
        for (int k = 0; r * L + k < kClasses; ++k) dst[r * L + k] = tmp[k];
      }
    }
  }
}

// Rows [i, i+U) of dw over all nb samples (see fc_bwd_dw_impl).
template <class VT, int U>
inline void fc_bwd_dw_rows(int nb, const float* pT, const float* drow, int i, float* dw) {
  using V = typename VT::V;
  constexpr int L = VT::L;
  constexpr int RC = (kClasses + L - 1) / L;  // vectors per padded class row
  V acc[U][RC];
  for (int u = 0; u < U; ++u)
    for (int r = 0; r < RC; ++r) acc[u][r] = VT::zero();
  for (int c = 0; c * S < nb; ++c) {
    const float* pc = pT + std::size_t(c) * kPT + i * S;
    const float* dc = drow + std::size_t(c) * S * kRow;
    const int nv = nb - c * S < S ? nb - c * S : S;
    for (int n = 0; n < nv; ++n) {
      V d[RC];
      for (int r = 0; r < RC; ++r) d[r] = VT::load(dc + n * kRow + r * L);
      for (int u = 0; u < U; ++u) {
        const V xb = VT::set1(pc[u * S + n]);
        for (int r = 0; r < RC; ++r) acc[u][r] = VT::fma(xb, d[r], acc[u][r]);
      }
    }
  }
  for (int u = 0; u < U; ++u) store_classes<VT>(dw + (i + u) * kClasses, acc[u]);
}

// pT: the lane layout of all chunks, chunk c at pT + c*kPT; drow (nb,16):
// the batch's dlogits rows padded with zeros -> dw rows [i0,i1) of (1568,10).
// Rows go U at a time, U*RC >= 8 independent accumulation chains (two FMA
// pipes of four cycles' latency; with one vector per row, 16 rows measured
// 13% faster than 8 on the AVX-512 path), the last few 4 or 1 at a time.
template <class VT>
void fc_bwd_dw_impl(int nb, const float* pT, const float* drow, int i0, int i1, float* dw) {
  constexpr int RC = (kClasses + VT::L - 1) / VT::L;
  constexpr int U = RC >= 2 ? 4 : 16;
  int i = i0;
  for (; i + U <= i1; i += U) fc_bwd_dw_rows<VT, U>(nb, pT, drow, i, dw);
  for (; i + 4 <= i1; i += 4) fc_bwd_dw_rows<VT, 4>(nb, pT, drow, i, dw);
  for (; i < i1; ++i) fc_bwd_dw_rows<VT, 1>(nb, pT, drow, i, dw);
}

}  // namespace cnn::simd
