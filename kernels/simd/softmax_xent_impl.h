// Softmax + cross-entropy with the gradient at the logits, written once for
// every ISA's traits (vec_*.h) and instantiated in softmax_xent_<isa>.cpp as
// softmax_xent_<isa>.
//
// Softmax runs L samples at a time with samples in lanes: the ten logits of
// L samples are staged into ten vectors (a 10 x L transpose through a small
// stack buffer), so the row max, the exponentials, the sum and the scaling
// are each ten vector operations. The exponential is a vector polynomial
// (Cephes expf: x = n ln2 + r with |r| <= ln2/2, degree-5 minimax on r,
// about 1 ulp), not the C library's scalar expf. Order as the reference:
// max over ascending j, the sum of e_j in ascending j, p_j = e_j * (1/sum).
// The loss of each sample, -log(max(p[label], 1e-9)), is taken with the C
// library's logf and added in sample order (a scalar chain, as specified).
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>

#include "kernels/simd/kernels.h"

namespace cnn::simd {

// e^x for x <= 0 (the softmax's shifted logits). Below -87.3 the result
// would be denormal; it is held at ~1e-38 instead (the reference's value is
// under 1e-38 there too). NaN propagates (max keeps its second operand).
template <class VT>
inline typename VT::V exp_nonpos(typename VT::V x) {
  using V = typename VT::V;
  x = VT::max(VT::set1(-87.3f), x);
  const V n = VT::round(VT::mul(x, VT::set1(1.44269504088896341f)));
  V r = VT::fnma(n, VT::set1(0.693359375f), x);  // x - n*ln2, ln2 in two parts
  r = VT::fnma(n, VT::set1(-2.12194440e-4f), r);
  V y = VT::set1(1.9875691500e-4f);
  y = VT::fma(y, r, VT::set1(1.3981999507e-3f));
  y = VT::fma(y, r, VT::set1(8.3334519073e-3f));
  y = VT::fma(y, r, VT::set1(4.1665795894e-2f));
  y = VT::fma(y, r, VT::set1(1.6666665459e-1f));
  y = VT::fma(y, r, VT::set1(5.0000001201e-1f));
  y = VT::fma(y, VT::mul(r, r), r);
  y = VT::add(y, VT::set1(1.0f));
  return VT::mul(y, VT::pow2i(n));
}

// logits (B,10) labels (B) -> probs (B,10), dlogits (B,10), losses (B) [may be
// nullptr]: each sample's loss; returns their sum in sample order
template <class VT>
float softmax_xent_impl(int B, const float* logits, const std::uint8_t* labels, float scale,
                        float* probs, float* dlogits, float* losses) {
  using V = typename VT::V;
  constexpr int L = VT::L;
  alignas(64) float zs[kClasses * L], ps[kClasses * L], ds[kClasses * L], ys[L];
  float loss = 0.0f;
  for (int n0 = 0; n0 < B; n0 += L) {
    const int nv = B - n0 < L ? B - n0 : L;
    for (int l = 0; l < L; ++l) {
      const float* z = logits + std::size_t(n0 + l) * kClasses;
      for (int j = 0; j < kClasses; ++j) zs[j * L + l] = l < nv ? z[j] : 0.0f;
      ys[l] = l < nv ? float(labels[n0 + l]) : -1.0f;
    }
    V z[kClasses];
    for (int j = 0; j < kClasses; ++j) z[j] = VT::load(zs + j * L);
    V mx = z[0];
    for (int j = 1; j < kClasses; ++j) mx = VT::max(z[j], mx);
    V sum = VT::zero();
    for (int j = 0; j < kClasses; ++j) {
      z[j] = exp_nonpos<VT>(VT::sub(z[j], mx));
      sum = VT::add(sum, z[j]);
    }
    const V inv = VT::div(VT::set1(1.0f), sum);
    const V y = VT::load(ys), sc = VT::set1(scale), one = VT::set1(1.0f);
    for (int j = 0; j < kClasses; ++j) {
      const V p = VT::mul(z[j], inv);
      VT::store(ps + j * L, p);
      const V onehot = VT::maskz(VT::eq(y, VT::set1(float(j))), one);
      VT::store(ds + j * L, VT::mul(VT::sub(p, onehot), sc));
    }
    for (int l = 0; l < nv; ++l) {
      float* p = probs + std::size_t(n0 + l) * kClasses;
      float* d = dlogits + std::size_t(n0 + l) * kClasses;
      for (int j = 0; j < kClasses; ++j) {
        p[j] = ps[j * L + l];
        d[j] = ds[j * L + l];
      }
      const float li = -logf(fmaxf(ps[labels[n0 + l] * L + l], 1e-9f));
      if (losses) losses[n0 + l] = li;
      loss += li;
    }
  }
  return loss;
}

}  // namespace cnn::simd
