// Backward of the conv + ReLU + max-pool block over one chunk of 16 samples
// in the lane layout (kernels/simd/kernels.h), written once for every ISA's
// traits (vec_*.h) and instantiated in conv_pool_bwd_<isa>.cpp as
// conv_pool_bwd_<isa> (the fused pool_bwd+conv_bwd) and the primitives
// conv_bwd_<isa> and pool_bwd_<isa>.
//
// The fused kernel exploits what max-pool leaves behind: the pooled gradient
// reaches ONE pixel of each 2x2 window (the winner), and the ReLU mask at that
// pixel is "pooled value > 0" (already applied to dpT by fc_bwd). So the
// conv weight gradient needs only the 1568 winner pixels per sample, not
// 6272, and no 8x28x28 gradient is ever written: per window, the 3x3 input
// patch under the winner is picked lane by lane from the 4x4 patch under the
// window with two rounds of blends (columns by dx, then rows by dy), and the
// 9 weight sums and the bias sum take one FMA / add each. A window whose
// gradient is zero in every lane of the group is skipped on the paths of 8
// lanes or fewer and in a chunk with missing samples, and computed in a full
// chunk on AVX-512: with 16 live lanes fewer windows are all zero, and the
// test's data-dependent branch cost more than it saved (3-epoch training on
// the README's Xeon: AVX-512 0.211 s without the skip, 0.220 s with it; AVX2
// 0.444 s without, 0.435 s with; --batch 1, one thread, one epoch: 1.79 s
// without, 1.60 s with). Skipping adds nothing but zeros, so the bits are
// the same either way. The choice is a template parameter, made once per
// call: as a run-time flag tested in the window loop it made the AVX-512
// training 5% slower (0.222-0.227 s against 0.211).
//
// Blank windows (conv_pool_fwd_impl.h): their weight terms are g * +0, which
// leave every sum as it was (a sum that starts at +0 never becomes -0), so
// per pooled row only the windows between the first and the last live one
// are computed; those outside add their gradient to the bias sum in the
// same order as before and fold g * 0 into one extra sum that joins the
// weight sums at the end (+-0, or NaN for a non-finite gradient, as the full
// computation gives). A test per window in the loop cost more than it saved
// on AVX-512 (it breaks the loads GCC carries from one window to the next);
// the span keeps the loop as it was. The block map comes from the forward.
//
// The gradient sums stay per lane (per sample) in registers for a whole
// filter and are stored to cpart; the backend adds the lanes and chunks in a
// fixed order (kernels/simd/simd.cpp), so threads never change the result.
// conv_bwd and pool_bwd are the unfused primitives, for the per-op tests.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/simd/kernels.h"

namespace cnn::simd {

// Channels [c0,c1): xT (30,30,S) dpT (1568,S) win (1568,2) -> their part of
// cpart (8,10,S); kSkip: skip the windows whose gradient is zero in all lanes.
template <class VT, bool kSkip>
void conv_pool_bwd_kernel(const float* xT, int c0, int c1, const float* dpT,
                          const std::uint16_t* win, const std::uint32_t* blocks, float* cpart) {
  using V = typename VT::V;
  using M = typename VT::M;
  constexpr int L = VT::L;
  constexpr unsigned kLanes = (1u << L) - 1u;
  const V zero = VT::zero();
  for (int n0 = 0; n0 < S; n0 += L) {
    // Per pooled row, windows [lo, hi) span the live ones; those outside
    // are blank (without a map, none is).
    const std::uint32_t* set = blocks ? blocks + n0 / L * kBlockRows : nullptr;
    int lo[kPoolW], hi[kPoolW];
    for (int py = 0; py < kPoolW; ++py) {
      // Window px is live when block px or px + 1 of its rows is set: bit px
      // of w. lo = its lowest set bit, hi = one past its highest; both
      // kPoolW when none is set. Bit counts, not loops: two scans with
      // early exits mispredicted where a row's span moved (training 0.8%
      // faster without them on AVX-512, 1.1% on AVX2), and a loop over every
      // window was vectorised by GCC into ~900 instructions per call.
      const std::uint32_t rows = set ? set[py] | set[py + 1] : ~0u;
      const std::uint32_t w = (rows | rows >> 1) & ((1u << kPoolW) - 1u);
      lo[py] = __builtin_ctz(w | 1u << kPoolW);
      hi[py] = std::max(32 - __builtin_clz(w | 1u), lo[py]);
    }
    for (int c = c0; c < c1; ++c) {
      V acc[kCPartK];
      for (int k = 0; k < kCPartK; ++k) acc[k] = zero;
      V blank_sum = zero;  // the weight terms of blank windows: g * +0 each
      for (int py = 0; py < kPoolW; ++py) {
        const auto blank = [&](int px) {
          const V g = VT::load(dpT + (c * kPoolPixels + py * kPoolW + px) * S + n0);
          blank_sum = VT::fma(g, zero, blank_sum);
          acc[kKernelSize] = VT::add(acc[kKernelSize], g);
        };
        for (int px = 0; px < lo[py]; ++px) blank(px);
        for (int px = lo[py]; px < hi[py]; ++px) {
          const int i = c * kPoolPixels + py * kPoolW + px;
          const V g = VT::load(dpT + i * S + n0);
          if (kSkip && VT::bits(VT::eq(g, zero)) == kLanes) continue;
          const M mdy = (VT::from_bits((unsigned(win[2 * i]) >> n0) & kLanes));
          const M mdx = (VT::from_bits((unsigned(win[2 * i + 1]) >> n0) & kLanes));
          const float* p = xT + (2 * py * kPadSide + 2 * px) * S + n0;
          // col[r][kx] = input (row r, column kx + dx) of the 4x4 patch.
          V col[4][3];
          for (int r = 0; r < 4; ++r)
            for (int kx = 0; kx < 3; ++kx)
              col[r][kx] = VT::blend(mdx, VT::load(p + (r * kPadSide + kx) * S),
                                     VT::load(p + (r * kPadSide + kx + 1) * S));
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx)
              acc[ky * 3 + kx] =
                  VT::fma(g, VT::blend(mdy, col[ky][kx], col[ky + 1][kx]), acc[ky * 3 + kx]);
          acc[kKernelSize] = VT::add(acc[kKernelSize], g);
        }
        for (int px = hi[py]; px < kPoolW; ++px) blank(px);
      }
      for (int k = 0; k < kKernelSize; ++k) acc[k] = VT::add(acc[k], blank_sum);
      for (int k = 0; k < kCPartK; ++k) VT::store(cpart + (c * kCPartK + k) * S + n0, acc[k]);
    }
  }
}

// The same for a chunk with nv valid samples, the skip chosen as above.
template <class VT>
void conv_pool_bwd_impl(int nv, const float* xT, int c0, int c1, const float* dpT,
                        const std::uint16_t* win, const std::uint32_t* blocks, float* cpart) {
  if (VT::L <= 8 || nv < S)
    conv_pool_bwd_kernel<VT, true>(xT, c0, c1, dpT, win, blocks, cpart);
  else
    conv_pool_bwd_kernel<VT, false>(xT, c0, c1, dpT, win, blocks, cpart);
}

// xT (30,30,S) dactT (8,784,S) -> cpart (8,10,S): the dense weight gradient
// of an arbitrary dact (the conv_bwd primitive), 9 taps per pixel.
template <class VT>
void conv_bwd_impl(const float* xT, const float* dactT, float* cpart) {
  using V = typename VT::V;
  constexpr int L = VT::L;
  for (int n0 = 0; n0 < S; n0 += L) {
    for (int c = 0; c < kConvC; ++c) {
      V acc[kCPartK];
      for (int k = 0; k < kCPartK; ++k) acc[k] = VT::zero();
      for (int oy = 0; oy < kImgH; ++oy)
        for (int ox = 0; ox < kImgW; ++ox) {
          const V g = VT::load(dactT + (c * kImgPixels + oy * kImgW + ox) * S + n0);
          const float* p = xT + (oy * kPadSide + ox) * S + n0;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx)
              acc[ky * 3 + kx] =
                  VT::fma(g, VT::load(p + (ky * kPadSide + kx) * S), acc[ky * 3 + kx]);
          acc[kKernelSize] = VT::add(acc[kKernelSize], g);
        }
      for (int k = 0; k < kCPartK; ++k) VT::store(cpart + (c * kCPartK + k) * S + n0, acc[k]);
    }
  }
}

// dpT (1568,S) win (1568,2) actT (8,784,S) -> dactT (8,784,S): each pooled
// gradient at its winner where the activation there is > 0, zero elsewhere.
template <class VT>
void pool_bwd_impl(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT) {
  using V = typename VT::V;
  using M = typename VT::M;
  constexpr int L = VT::L;
  constexpr unsigned kLanes = (1u << L) - 1u;
  const V zero = VT::zero();
  for (int n0 = 0; n0 < S; n0 += L)
    for (int c = 0; c < kConvC; ++c)
      for (int py = 0; py < kPoolW; ++py)
        for (int px = 0; px < kPoolW; ++px) {
          const int i = c * kPoolPixels + py * kPoolW + px;
          const V g = VT::load(dpT + i * S + n0);
          const M dy = VT::from_bits((unsigned(win[2 * i]) >> n0) & kLanes);
          const M dx = VT::from_bits((unsigned(win[2 * i + 1]) >> n0) & kLanes);
          const M is[4] = {VT::mand(VT::mnot(dy), VT::mnot(dx)), VT::mandn(dy, dx),
                           VT::mandn(dx, dy), VT::mand(dy, dx)};
          for (int q = 0; q < 4; ++q) {
            const int o =
                (c * kImgPixels + (2 * py + (q >> 1)) * kImgW + 2 * px + (q & 1)) * S + n0;
            const M keep = VT::mand(is[q], VT::gt(VT::load(actT + o), zero));
            VT::store(dactT + o, VT::maskz(keep, g));
          }
        }
}

}  // namespace cnn::simd
