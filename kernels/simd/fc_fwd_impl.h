// Fully connected forward 1568 -> 10 over one chunk of 16 samples in the
// lane layout (kernels/simd/kernels.h), written once for every ISA's traits
// (vec_*.h) and instantiated in fc_fwd_<isa>.cpp as fc_fwd_<isa>.
//
// The FC layer is most of the network's FLOPs, and per sample its weights
// (62.7 KB) do not fit L1: read once per sample they would make it L2-bound.
// With samples in lanes, each weight is broadcast once and multiplies 16 (or
// 8, 4) samples at a time: the ten class sums of a lane group are ten vector
// accumulators in registers, and per feature the kernel does one vector load
// of the features, ten broadcast loads of the weight row and ten independent
// FMAs (latency hidden by the ten chains). Order per sum as the reference:
// bias, then features in ascending order.
#pragma once

#include "kernels/simd/kernels.h"

namespace cnn::simd {

// pT (1568,S) w (1568,10) b (10) -> lgT (10,S)
template <class VT>
void fc_fwd_impl(const float* pT, const float* w, const float* b, float* lgT) {
  using V = typename VT::V;
  constexpr int L = VT::L;
  for (int n0 = 0; n0 < S; n0 += L) {
    V acc[kClasses];
    for (int j = 0; j < kClasses; ++j) acc[j] = VT::set1(b[j]);
    for (int i = 0; i < kFeatures; ++i) {
      const V x = VT::load(pT + i * S + n0);
      const float* wr = w + i * kClasses;
      for (int j = 0; j < kClasses; ++j) acc[j] = VT::fma(x, VT::set1(wr[j]), acc[j]);
    }
    for (int j = 0; j < kClasses; ++j) VT::store(lgT + j * S + n0, acc[j]);
  }
}

}  // namespace cnn::simd
