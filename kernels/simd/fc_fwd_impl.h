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
// FMAs (latency hidden by the ten chains). Each logit is the sum of two
// parts, one per half of the channels (kernels.h): the bias and features
// 0..783 in ascending order, plus features 784..1567 in ascending order, so
// that the two halves can be computed on different threads with the same
// result.
#pragma once

#include "kernels/simd/kernels.h"

namespace cnn::simd {

// The part of the logits from the features of half h, [784h, 784h+784): pT
// (1568,S) w (1568,10) -> lgT (10,S), started from b (10) for h = 0 and from
// zero for h = 1; the logits are part 0 + part 1.
template <class VT>
void fc_fwd_impl(const float* pT, const float* w, const float* b, int h, float* lgT) {
  using V = typename VT::V;
  constexpr int L = VT::L;
  for (int n0 = 0; n0 < S; n0 += L) {
    V acc[kClasses];
    for (int j = 0; j < kClasses; ++j) acc[j] = h == 0 ? VT::set1(b[j]) : VT::zero();
    for (int i = h * kHalfFeat; i < (h + 1) * kHalfFeat; ++i) {
      const V x = VT::load(pT + i * S + n0);
      const float* wr = w + i * kClasses;
      for (int j = 0; j < kClasses; ++j) acc[j] = VT::fma(x, VT::set1(wr[j]), acc[j]);
    }
    for (int j = 0; j < kClasses; ++j) VT::store(lgT + j * S + n0, acc[j]);
  }
}

}  // namespace cnn::simd
