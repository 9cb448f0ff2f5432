// Layout changes between the interface's sample-major buffers and the lane
// layout of kernels/simd/kernels.h, written once for every ISA's traits
// (vec_*.h) and instantiated in layout_<isa>.cpp as input_to_lanes_<isa>,
// to_lanes_<isa> and from_lanes_<isa>.
//
// Each moves L x L blocks through an in-register transpose (L loads, the
// traits' transpose, L stores) instead of L*L scalar moves; a row whose
// length is not a multiple of L ends with a block that overlaps the one
// before it (rewriting the same values). Rows shorter than L (the 10
// logits) are moved one scalar at a time.
#pragma once

#include <type_traits>
#include <utility>

#include "kernels/common/pixels.h"
#include "kernels/simd/kernels.h"

namespace cnn::simd {

// x (nv,784) -> xT (30,30,S) interior, lanes >= nv zeroed
template <class VT>
void input_to_lanes_impl(int nv, const float* x, float* xT) {
  using V = typename VT::V;
  constexpr int L = VT::L, W = kImgW;
  for (int n0 = 0; n0 < S; n0 += L) {
    for (int y = 0; y < W; ++y) {
      for (int c0 = 0; c0 < W; c0 += L) {
        const int cc = c0 + L <= W ? c0 : W - L;
        V r[L];
        for (int l = 0; l < L; ++l)
          r[l] = n0 + l < nv ? VT::load(x + std::size_t(n0 + l) * kImgPixels + y * W + cc)
                             : VT::zero();
        VT::transpose(r);
        float* dst = xT + ((y + 1) * kPadSide + cc + 1) * S + n0;
        for (int k = 0; k < L; ++k) VT::store(dst + k * S, r[k]);
      }
    }
  }
}

// The same from raw pixel bytes: img[n] -> sample n's 784 bytes, each
// scaled to byte / 255.0f as kernels/common/pixels.h does (the multiply-add
// there rounds exactly as the scalar formula), lanes >= nv zeroed. The
// samples may lie anywhere (the trainer passes the dataset's own images).
// In pieces, for conv_pool_fwd, which converts row by row a little ahead
// of its windows: lane_images gives lane group n0 its L image pointers (an
// all-zero image for lanes >= nv), bytes_row_to_lanes converts one image
// row of them.
constexpr int kAhead = 6;  // image rows (of 28 bytes) to prefetch ahead
// Whether the traits transpose L rows of L bytes themselves
// (load_u8_transposed; AVX-512 does, with few shuffles).
template <class VT, class = void>
constexpr bool kHasU8Transposed = false;
template <class VT>
constexpr bool kHasU8Transposed<
    VT, std::void_t<decltype(VT::load_u8_transposed(std::declval<const std::uint8_t* const*>(), 0,
                                                    std::declval<typename VT::V*>()))>> = true;
template <class VT>
inline void lane_images(int nv, const std::uint8_t* const* img, int n0, const std::uint8_t** src) {
  static const std::uint8_t blank[kImgPixels] = {};
  for (int l = 0; l < VT::L; ++l) src[l] = n0 + l < nv ? img[n0 + l] : blank;
}
template <class VT>
inline void bytes_row_to_lanes(const std::uint8_t* const* src, int n0, int y, float* xT) {
  using V = typename VT::V;
  constexpr int L = VT::L, W = kImgW;
  const V a = VT::set1(kPixA), bc = VT::set1(kPixBC);
  // The images come from anywhere in the dataset, often from the L3 or
  // memory: ask for each lane's rows a few lines ahead.
  if (y + kAhead < W)
    for (int l = 0; l < L; ++l) __builtin_prefetch(src[l] + (y + kAhead) * W);
  for (int c0 = 0; c0 < W; c0 += L) {
    const int cc = c0 + L <= W ? c0 : W - L, off = y * W + cc;
    V r[L];
    if constexpr (kHasU8Transposed<VT>) {  // transpose the bytes, then convert
      VT::load_u8_transposed(src, off, r);
      for (int k = 0; k < L; ++k) r[k] = VT::fma(r[k], a, VT::mul(r[k], bc));
    } else {  // convert each image's row, then transpose the floats
      for (int l = 0; l < L; ++l) {
        const V f = VT::load_u8(src[l] + off);
        r[l] = VT::fma(f, a, VT::mul(f, bc));
      }
      VT::transpose(r);
    }
    float* dst = xT + ((y + 1) * kPadSide + cc + 1) * S + n0;
    for (int k = 0; k < L; ++k) VT::store(dst + k * S, r[k]);
  }
}

// src (nv,len) -> dstT (len,S), lanes >= nv zeroed
template <class VT>
void to_lanes_impl(int nv, int len, const float* src, float* dstT) {
  using V = typename VT::V;
  constexpr int L = VT::L;
  if (len < L) {
    for (int k = 0; k < len; ++k)
      for (int n = 0; n < S; ++n) dstT[k * S + n] = n < nv ? src[std::size_t(n) * len + k] : 0.0f;
    return;
  }
  for (int n0 = 0; n0 < S; n0 += L) {
    for (int k0 = 0; k0 < len; k0 += L) {
      const int kk = k0 + L <= len ? k0 : len - L;
      V r[L];
      for (int l = 0; l < L; ++l)
        r[l] = n0 + l < nv ? VT::load(src + std::size_t(n0 + l) * len + kk) : VT::zero();
      VT::transpose(r);
      for (int k = 0; k < L; ++k) VT::store(dstT + std::size_t(kk + k) * S + n0, r[k]);
    }
  }
}

// srcT (len,S) -> dst (nv,len)
template <class VT>
void from_lanes_impl(int nv, int len, const float* srcT, float* dst) {
  using V = typename VT::V;
  constexpr int L = VT::L;
  if (len < L) {
    for (int n = 0; n < nv; ++n)
      for (int k = 0; k < len; ++k) dst[std::size_t(n) * len + k] = srcT[k * S + n];
    return;
  }
  for (int n0 = 0; n0 < nv; n0 += L) {
    for (int k0 = 0; k0 < len; k0 += L) {
      const int kk = k0 + L <= len ? k0 : len - L;
      V r[L];
      for (int k = 0; k < L; ++k) r[k] = VT::load(srcT + std::size_t(kk + k) * S + n0);
      VT::transpose(r);
      for (int l = 0; l < L && n0 + l < nv; ++l)
        VT::store(dst + std::size_t(n0 + l) * len + kk, r[l]);
    }
  }
}

}  // namespace cnn::simd
