// Fused convolution + bias + ReLU + 2x2 max-pool over one chunk of 16
// samples in the lane layout (kernels/simd/kernels.h), written once for every
// ISA's traits (vec_*.h) and instantiated in conv_pool_fwd_<isa>.cpp as
// conv_pool_fwd_<isa> and pool_fwd_<isa> (the pooling primitive).
//
// The idea: a vector holds one pixel of 16 samples, so every step below is a
// plain vector operation with all lanes busy, and the four outputs of a
// pooling window are four vectors: max-pool is three compares and blends in
// registers. The 8x28x28 activation is never written: per window we keep the
// pooled value (pT) and the winner as two bits per sample (dy, dx lane masks
// in `win`), which is all the backward pass needs.
//
// The convolution is Winograd's F(2x2, 3x3): a 2x2 pooling window is exactly
// one output tile, computed from the 4x4 input patch d under it as
// Y = A^T [U (.) (B^T d B)] A, U = G g G^T the filter in the Winograd domain
// (4x4, computed per call). The input transform (32 adds) is shared by the
// filters of the call; per filter the tile costs 4 products, 16 FMAs and 8
// adds instead of the direct form's 36 FMAs: each column of A^T M is built
// as M[1][c] then two FMA chains (rows 0+1+2 and 1-2-3), M[2][c] formed
// inside both. (An earlier version folded only two columns, to balance
// Zen 4's FMA and add pipes; Intel cores run both on the same two ports,
// where the fold saves 6 of ~40 vector ops per filter; measured on a Xeon
// with AVX-512: 23.0k -> 22.6k TSC ticks per 16-sample chunk and 8 filters.)
// M[2][c]'s filter value goes through VT::in_reg, so that GCC 12 loads it
// into a register of its own, which the first chain's FMA overwrites, rather
// than copying the other operands: about as many instructions either way,
// but measured 4-5% fewer ticks per chunk on this Xeon (AVX-512 and AVX2,
// training and inference; bit for bit the same results).
// The bias rides on M[1][1], which each output of the tile sums exactly once.
// Rounding differs from the reference's sum order by a few ulp of the terms'
// magnitudes; with small whole numbers (the exact tests) it is exact, since
// U then holds halves and every intermediate is a short dyadic number.
//
// Pooling keeps the first maximum, as the reference: within a row the
// right output wins only if strictly greater, and the second row only if its
// larger output is strictly greater than the first row's. Each row's two
// outputs share a term (r[1] below), so the kernel compares the rest before
// adding it; rounding is monotonic, so the pooled value is the largest of
// the outputs as computed, and a winner differs from a comparison of the
// rounded outputs only where rounding makes two of them equal. Without
// winners to keep (inference) it takes maxima instead of compares and
// blends: for finite values the same pooled value, and after the ReLU the
// same bits (a tie of -0 and +0 becomes +0 either way). The fused kernel
// pools the pre-activations and applies ReLU to the winner: max(ReLU(a)) =
// ReLU(max(a)), and the winner differs from the reference's only when the
// whole window is <= 0, where the pooled value is 0 and the ReLU mask zeroes
// the gradient anyway. (The exact tests use small whole numbers, where
// nothing rounds.)
//
// Blank windows: MNIST digits leave a margin, so ~28% of the windows of a
// 16-image chunk read only +0 in every lane (counted on the training and
// test sets). There every product is a filter value times +0, so each
// output of the tile is the bias plus signed zeros, exactly the bias, the
// first output wins every comparison, and the pooled value is ReLU(b): the
// kernel stores that and winner 0 instead of computing the tile, the same
// bits for finite filters (a non-finite one turns the products into NaN,
// so then nothing is skipped). A window is blank when its four 2x2 blocks
// of input are; each window tests the one block it adds to the row below
// (three ors and a test), and the rows' block bits go to `blocks` for the
// backward. Measured on this project's Xeon, one chunk in an A/B harness:
// MNIST test images 15-29% faster (inference and training, AVX-512 and
// AVX2); images without a zero pixel 0-3% slower.
//
// Loop order: pooled row, window (its 16 input vectors and their transform
// stay in registers), then the 8 filters. Given the raw images, the kernel
// converts the input rows into xT just before the first pooled row that
// reads them (layout_impl.h's bytes_row_to_lanes): the conversion's shuffles
// and stores, and the images' cache misses, then overlap the Winograd
// arithmetic instead of running as a pass of their own, and the rows are
// still in L1 when the windows read them.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/simd/kernels.h"
#include "kernels/simd/layout_impl.h"

namespace cnn::simd {

// First maximum of a[0..3] (window order dy*2+dx): the value, and the
// winner as dy and dx predicates.
template <class VT>
inline typename VT::V pool4(const typename VT::V* a, typename VT::M& dy, typename VT::M& dx) {
  using V = typename VT::V;
  using M = typename VT::M;
  const M k1 = VT::gt(a[1], a[0]);
  V best = VT::blend(k1, a[0], a[1]);
  const M k2 = VT::gt(a[2], best);
  best = VT::blend(k2, best, a[2]);
  const M k3 = VT::gt(a[3], best);
  best = VT::blend(k3, best, a[3]);
  dy = VT::mor(k2, k3);                 // winner 2 or 3
  dx = VT::mor(k3, VT::mandn(k2, k1));  // winner 3, or 1 (k1 and not k2)
  return best;
}

// Stores the L winner bits of lane group n0 (the first group overwrites).
template <class VT>
inline void store_win(std::uint16_t* win, int i, int n0, typename VT::M dy, typename VT::M dx) {
  const unsigned by = VT::bits(dy) << n0, bx = VT::bits(dx) << n0;
  if (n0 == 0) {
    win[2 * i] = std::uint16_t(by);
    win[2 * i + 1] = std::uint16_t(bx);
  } else {
    win[2 * i] = std::uint16_t(win[2 * i] | by);
    win[2 * i + 1] = std::uint16_t(win[2 * i + 1] | bx);
  }
}

// The filters in the Winograd domain: U = G g G^T (4x4) per filter, with
// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], in double, rounded once.
// (A template only so that each ISA file gets its own copy.)
template <class VT>
void winograd_filters(const float* w, float* U) {
  for (int c = 0; c < kConvC; ++c) {
    const float* g = w + c * kKernelSize;
    double t[4][3];  // G g
    for (int k = 0; k < 3; ++k) {
      const double a = g[k], b = g[3 + k], e = g[6 + k];
      t[0][k] = a;
      t[1][k] = 0.5 * (a + b + e);
      t[2][k] = 0.5 * (a - b + e);
      t[3][k] = e;
    }
    for (int r = 0; r < 4; ++r) {
      const double a = t[r][0], b = t[r][1], e = t[r][2];
      float* u = U + c * 16 + r * 4;
      u[0] = float(a);
      u[1] = float(0.5 * (a + b + e));
      u[2] = float(0.5 * (a - b + e));
      u[3] = float(e);
    }
  }
}

// Channels [c0,c1): [img (nv images) ->] xT (30,30,S), w (72), b (8) ->
// their rows of pT (1568,S) [+ win (1568,2)] [+ actT (8,784,S)]
template <class VT, bool kWin, bool kAct>
void conv_pool_fwd_kernel(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                          const float* w, const float* b, float* pT, std::uint16_t* win,
                          std::uint32_t* blocks, float* actT) {
  using V = typename VT::V;
  using M = typename VT::M;
  constexpr int L = VT::L;
  alignas(64) float U[kConvC * 16];
  winograd_filters<VT>(w, U);
  // Pre-broadcast, so each product takes its filter value as a memory
  // operand (AVX2 has no embedded broadcast; AVX-512 loses nothing), column
  // 3 negated: its chains then give -r0[3] and -r1[3], bit for bit.
  V Uv[kConvC * 16], Bv[kConvC];
  for (int k = 0; k < kConvC * 16; ++k) Uv[k] = VT::set1(k % 4 == 3 ? -U[k] : U[k]);
  for (int ch = 0; ch < kConvC; ++ch) Bv[ch] = VT::set1(b[ch]);
  const V zero = VT::zero();
  // Blank windows (see the header): what every output of the tile comes to
  // when its input is all +0, and whether the filters allow the shortcut.
  bool blank_ok = !kAct;
  for (int k = c0 * 16; k < c1 * 16; ++k) blank_ok = blank_ok && std::isfinite(U[k]);
  V blank_p[kConvC];
  for (int ch = 0; ch < kConvC; ++ch) blank_p[ch] = VT::max(Bv[ch], zero);
  const M none = VT::from_bits(0);
  for (int n0 = 0; n0 < S; n0 += L) {
    int rows = 0;  // image rows converted so far (with img)
    // Bit k: the 2x2 block of padded columns 2k, 2k+1 in padded rows 2py,
    // 2py+1 (above) and 2py+2, 2py+3 (below) holds a bit that is set.
    std::uint32_t above = 0, below = 0;
    const std::uint8_t* src[L] = {};
    if (img) lane_images<VT>(nv, img, n0, src);
    for (int py = 0; py < kPoolW; ++py) {
      // Pooled row py reads padded rows 2py..2py+3 = image rows 2py-1..2py+2.
      if (img)
        for (const int need = 2 * py + 3 < kImgH ? 2 * py + 3 : kImgH; rows < need; ++rows)
          bytes_row_to_lanes<VT>(src, n0, rows, xT);
      for (int px = 0; px < kPoolW; ++px) {
        const float* p = xT + (2 * py * kPadSide + 2 * px) * S + n0;
        V d[4][4];
        for (int r = 0; r < 4; ++r)
          for (int c = 0; c < 4; ++c) d[r][c] = VT::load(p + (r * kPadSide + c) * S);
        if (blank_ok) {
          const auto set = [&](int r, int c) {
            return std::uint32_t(VT::nonzero(
                VT::bor(VT::bor(d[r][c], d[r][c + 1]), VT::bor(d[r + 1][c], d[r + 1][c + 1]))));
          };
          if (px == 0) {
            below = set(2, 0);
            if (py == 0) above = set(0, 0);
          }
          below |= set(2, 2) << (px + 1);
          if (py == 0) above |= set(0, 2) << (px + 1);
          if (((above | below) >> px & 3u) == 0) {
            for (int ch = c0; ch < c1; ++ch) {
              const int i = ch * kPoolPixels + py * kPoolW + px;
              VT::store(pT + i * S + n0, blank_p[ch]);
              if (kWin) store_win<VT>(win, i, n0, none, none);
            }
            continue;
          }
        }
        V t[4][4];  // B^T d
        for (int c = 0; c < 4; ++c) {
          t[0][c] = VT::sub(d[0][c], d[2][c]);
          t[1][c] = VT::add(d[1][c], d[2][c]);
          t[2][c] = VT::sub(d[2][c], d[1][c]);
          t[3][c] = VT::sub(d[1][c], d[3][c]);
        }
        V v[4][4];  // (B^T d) B
        for (int r = 0; r < 4; ++r) {
          v[r][0] = VT::sub(t[r][0], t[r][2]);
          v[r][1] = VT::add(t[r][1], t[r][2]);
          v[r][2] = VT::sub(t[r][2], t[r][1]);
          v[r][3] = VT::sub(t[r][1], t[r][3]);
        }
        for (int ch = c0; ch < c1; ++ch) {
          const V* u = Uv + ch * 16;
          auto uu = [&](int r, int c) { return u[r * 4 + c]; };
          // r0 = rows 0+1+2 of M, r1 = rows 1-2-3, per column: one product
          // and four FMAs (M[2][c] is formed twice, inside the FMAs).
          V r0[4], r1[4];
          for (int c = 0; c < 4; ++c) {
            const V m1 = c == 1 ? VT::fma(uu(1, 1), v[1][1], Bv[ch]) : VT::mul(uu(1, c), v[1][c]);
            const V u2 = VT::in_reg(uu(2, c));  // see the header comment
            r0[c] = VT::fma(uu(0, c), v[0][c], VT::fma(u2, v[2][c], m1));
            r1[c] = VT::fnma(uu(3, c), v[3][c], VT::fnma(u2, v[2][c], m1));
          }
          // Column 3 came out negated (its filter values are), so the four
          // outputs are a0 = r0[1] + x0, a1 = r0[1] + y0, a2 = r1[1] + x1,
          // a3 = r1[1] + y1, and a row's larger output is r[1] + max(x, y):
          // pooling compares x with y before the shared term is added
          // (rounding is monotonic, so the pooled value is the largest a).
          const V x0 = VT::add(r0[0], r0[2]), y0 = VT::sub(r0[3], r0[2]);
          const V x1 = VT::add(r1[0], r1[2]), y1 = VT::sub(r1[3], r1[2]);
          const int i = ch * kPoolPixels + py * kPoolW + px;
          if (kAct) {  // the primitive: every output, then the window pooled from them
            V a[4];
            a[0] = VT::add(r0[1], x0);
            a[1] = VT::add(r0[1], y0);
            a[2] = VT::add(r1[1], x1);
            a[3] = VT::add(r1[1], y1);
            M mdy, mdx;
            const V best = pool4<VT>(a, mdy, mdx);
            VT::store(pT + i * S + n0, VT::max(best, zero));
            if (kWin) store_win<VT>(win, i, n0, mdy, mdx);
            for (int q = 0; q < 4; ++q) {
              const int oy = 2 * py + (q >> 1), ox = 2 * px + (q & 1);
              VT::store(actT + (ch * kImgPixels + oy * kImgW + ox) * S + n0, VT::max(a[q], zero));
            }
          } else if (kWin) {  // training: the first maximum and its place
            const M k1 = VT::gt(y0, x0), k3 = VT::gt(y1, x1);
            const V b0 = VT::add(r0[1], VT::max(x0, y0)), b1 = VT::add(r1[1], VT::max(x1, y1));
            const M mdy = VT::gt(b1, b0);
            const M mdx = VT::mor(VT::mand(mdy, k3), VT::mandn(mdy, k1));
            VT::store(pT + i * S + n0, VT::max(VT::blend(mdy, b0, b1), zero));
            store_win<VT>(win, i, n0, mdy, mdx);
          } else {  // inference: the value only
            const V best =
                VT::max(VT::add(r0[1], VT::max(x0, y0)), VT::add(r1[1], VT::max(x1, y1)));
            VT::store(pT + i * S + n0, VT::max(best, zero));
          }
        }
      }
      if (blocks) {
        std::uint32_t* out = blocks + n0 / L * kBlockRows;
        if (py == 0) out[0] = blank_ok ? above : ~0u;
        out[py + 1] = blank_ok ? below : ~0u;
      }
      above = below;
    }
  }
}

// The same, with the optional outputs chosen once per call: win and actT
// may each be nullptr, and the kernel instance that skips them runs.
template <class VT>
void conv_pool_fwd_impl(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                        const float* w, const float* b, float* pT, std::uint16_t* win,
                        std::uint32_t* blocks, float* actT) {
  if (actT && win)
    conv_pool_fwd_kernel<VT, true, true>(nv, img, xT, c0, c1, w, b, pT, win, blocks, actT);
  else if (actT)
    conv_pool_fwd_kernel<VT, false, true>(nv, img, xT, c0, c1, w, b, pT, win, blocks, actT);
  else if (win)
    conv_pool_fwd_kernel<VT, true, false>(nv, img, xT, c0, c1, w, b, pT, win, blocks, actT);
  else
    conv_pool_fwd_kernel<VT, false, false>(nv, img, xT, c0, c1, w, b, pT, win, blocks, actT);
}

// actT (8,784,S) -> pT (1568,S), win (1568,2): the pooling alone, on given
// activations (no ReLU: the input may hold anything, as the primitive's).
template <class VT>
void pool_fwd_impl(const float* actT, float* pT, std::uint16_t* win) {
  using V = typename VT::V;
  using M = typename VT::M;
  constexpr int L = VT::L;
  for (int n0 = 0; n0 < S; n0 += L)
    for (int c = 0; c < kConvC; ++c)
      for (int py = 0; py < kPoolW; ++py)
        for (int px = 0; px < kPoolW; ++px) {
          V a[4];
          for (int q = 0; q < 4; ++q) {
            const int oy = 2 * py + (q >> 1), ox = 2 * px + (q & 1);
            a[q] = VT::load(actT + (c * kImgPixels + oy * kImgW + ox) * S + n0);
          }
          M mdy, mdx;
          const V best = pool4<VT>(a, mdy, mdx);
          const int i = c * kPoolPixels + py * kPoolW + px;
          VT::store(pT + i * S + n0, best);
          store_win<VT>(win, i, n0, mdy, mdx);
        }
}

}  // namespace cnn::simd
