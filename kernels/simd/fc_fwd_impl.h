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

// The part of the logits from the features of half h, [784h, 784h+784),
// for nch chunks: chunk k's pT (1568,S) at pT + k*kPT, w (1568,10) -> its
// lgT (10,S) at lgT + k*lg_stride, started from b (10) for h = 0 and from
// zero for h = 1; the logits are part 0 + part 1. G lane groups (of one or
// two chunks) go together, so that each weight broadcast feeds G FMAs: with
// G = 1 the kernel issues 11 loads per 10 FMAs, more than the two load ports
// carry per FMA pair; with AVX-512's G = 2 it is 12 loads per 20 FMAs, and
// 20 accumulators still fit the 32 registers. Every lane's sum is the same
// sequence either way.
template <class VT, int G>
inline void fc_fwd_groups(const float* const* x, const float* w, const float* b, int h,
                          float* const* out) {
  using V = typename VT::V;
  V acc[G][kClasses];
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < kClasses; ++j) acc[g][j] = h == 0 ? VT::set1(b[j]) : VT::zero();
  for (int i = h * kHalfFeat; i < (h + 1) * kHalfFeat; ++i) {
    V xv[G];
    for (int g = 0; g < G; ++g) xv[g] = VT::load(x[g] + i * S);
    const float* wr = w + i * kClasses;
    for (int j = 0; j < kClasses; ++j) {
      const V wj = VT::set1(wr[j]);
      for (int g = 0; g < G; ++g) acc[g][j] = VT::fma(xv[g], wj, acc[g][j]);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < kClasses; ++j) VT::store(out[g] + j * S, acc[g][j]);
}

template <class VT>
void fc_fwd_impl(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                 int lg_stride) {
  constexpr int L = VT::L, kGroups = S / L;
  constexpr int G = L >= 16 ? 2 : 1;
  const int n = nch * kGroups;  // lane groups: group q = chunk q / kGroups, lanes (q % kGroups)*L
  const auto x_of = [&](int q) { return pT + std::size_t(q / kGroups) * kPT + (q % kGroups) * L; };
  const auto out_of = [&](int q) {
    return lgT + std::size_t(q / kGroups) * lg_stride + (q % kGroups) * L;
  };
  int q = 0;
  for (; q + G <= n; q += G) {
    const float* x[G];
    float* out[G];
    for (int g = 0; g < G; ++g) x[g] = x_of(q + g), out[g] = out_of(q + g);
    fc_fwd_groups<VT, G>(x, w, b, h, out);
  }
  for (; q < n; ++q) {
    const float* x[1] = {x_of(q)};
    float* out[1] = {out_of(q)};
    fc_fwd_groups<VT, 1>(x, w, b, h, out);
  }
}

}  // namespace cnn::simd
