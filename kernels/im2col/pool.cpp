// 2x2 max-pool forward and its backward fused with the ReLU mask, one sample
// at a time, so the backend runs them right after the convolution of the
// same sample while its activations are in L1.
//
// On x86 (CNN_X86) both work on four windows at once with SSE2, which every
// x86-64 has (the baseline target: no per-ISA file needed). A pair of image
// rows holds 14 windows; the groups start at px = 0, 4, 8 and 10, the last
// overlapping the previous one (recomputing windows 10 and 11 writes the
// same values). Even/odd shuffles split each row into the windows' left and
// right pixels. The selects are masks, not branches: the winners of ReLU
// outputs are data-dependent and a branch per window mispredicts often.
// Elsewhere plain loops compute the same values, bit for bit (the end of
// this file).
#include <cstdint>
#include <cstring>

#if CNN_X86
#include <emmintrin.h>
#endif

#include "kernels/im2col/im2col.h"

namespace cnn {

#if CNN_X86

namespace {

constexpr int kGroupStart[4] = {0, 4, 8, 10};

inline __m128 select(__m128 mask, __m128 a, __m128 b) {  // mask ? a : b
  return _mm_or_ps(_mm_and_ps(mask, a), _mm_andnot_ps(mask, b));
}
inline __m128i select(__m128i mask, __m128i a, __m128i b) {
  return _mm_or_si128(_mm_and_si128(mask, a), _mm_andnot_si128(mask, b));
}
// Left (even) and right (odd) pixels of the 4 windows starting at row[0].
inline void split_pairs(const float* row, __m128& left, __m128& right) {
  const __m128 a = _mm_loadu_ps(row), b = _mm_loadu_ps(row + 4);
  left = _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  right = _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
}

}  // namespace

void pool_fwd_sample_im2col(const float* act, float* pooled, std::uint8_t* winner) {
  for (int c = 0; c < kConvC; ++c) {
    for (int py = 0; py < kPoolH; ++py) {
      const float* r0 = act + c * kImgPixels + 2 * py * kImgW;
      const float* r1 = r0 + kImgW;
      float* out = pooled + c * kPoolPixels + py * kPoolW;
      std::uint8_t* win = winner + c * kPoolPixels + py * kPoolW;
      for (int px : kGroupStart) {
        __m128 v[4];
        split_pairs(r0 + 2 * px, v[0], v[1]);
        split_pairs(r1 + 2 * px, v[2], v[3]);
        // The reference's scan: start at -inf, replace only when strictly
        // greater, row by row, so the first of equal values wins.
        __m128 best = _mm_set1_ps(-__builtin_inff());
        __m128i arg = _mm_setzero_si128();
        for (int k = 0; k < 4; ++k) {
          const __m128 gt = _mm_cmpgt_ps(v[k], best);
          best = select(gt, v[k], best);
          arg = select(_mm_castps_si128(gt), _mm_set1_epi32(k), arg);
        }
        _mm_storeu_ps(out + px, best);
        const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(arg, arg), arg);
        const int four = _mm_cvtsi128_si32(bytes);
        std::memcpy(win + px, &four, 4);
      }
    }
  }
}

void pool_bwd_sample_im2col(const float* dpooled, const std::uint8_t* winner, const float* act,
                            float* dact) {
  const __m128 zero = _mm_setzero_ps();
  for (int c = 0; c < kConvC; ++c) {
    for (int py = 0; py < kPoolH; ++py) {
      const int o = c * kPoolPixels + py * kPoolW;
      const float* a0 = act + c * kImgPixels + 2 * py * kImgW;
      const float* a1 = a0 + kImgW;
      float* d0 = dact + c * kImgPixels + 2 * py * kImgW;
      float* d1 = d0 + kImgW;
      for (int px : kGroupStart) {
        // 0 + g as the reference (a zeroed gradient plus the pooled one),
        // placed at the winner, then the ReLU mask: zero where act <= 0.
        const __m128 g = _mm_add_ps(zero, _mm_loadu_ps(dpooled + o + px));
        int four;
        std::memcpy(&four, winner + o + px, 4);
        const __m128i w = _mm_unpacklo_epi16(
            _mm_unpacklo_epi8(_mm_cvtsi32_si128(four), _mm_setzero_si128()), _mm_setzero_si128());
        __m128 a[4], d[4];
        split_pairs(a0 + 2 * px, a[0], a[1]);
        split_pairs(a1 + 2 * px, a[2], a[3]);
        for (int k = 0; k < 4; ++k) {
          const __m128 at = _mm_castsi128_ps(_mm_cmpeq_epi32(w, _mm_set1_epi32(k)));
          const __m128 live = _mm_cmpnle_ps(a[k], zero);  // !(act <= 0)
          d[k] = _mm_and_ps(_mm_and_ps(at, live), g);
        }
        // Interleave left/right back into pixel order, row by row.
        _mm_storeu_ps(d0 + 2 * px, _mm_unpacklo_ps(d[0], d[1]));
        _mm_storeu_ps(d0 + 2 * px + 4, _mm_unpackhi_ps(d[0], d[1]));
        _mm_storeu_ps(d1 + 2 * px, _mm_unpacklo_ps(d[2], d[3]));
        _mm_storeu_ps(d1 + 2 * px + 4, _mm_unpackhi_ps(d[2], d[3]));
      }
    }
  }
}

// Window order (kernels/im2col/patches.cpp, conv_fwd_patches_quad_im2col): act
// (8, 4, 196), position q of window w at q*196 + w. 196 = 49 groups of 4
// windows, each a max over four contiguous vectors: no shuffles.
void pool_fwd_quad_sample_im2col(const float* act, float* pooled, std::uint8_t* winner) {
  for (int c = 0; c < kConvC; ++c) {
    const float* a = act + c * kImgPixels;
    float* out = pooled + c * kPoolPixels;
    std::uint8_t* win = winner + c * kPoolPixels;
    for (int w = 0; w < kPoolPixels; w += 4) {
      // maxps(v, best) is exactly "v > best ? v : best" (ties and NaN keep
      // best), the reference's step; and since q only grows, "gt ? q : arg"
      // is max(arg, gt & q). 5 operations per position instead of 8.
      __m128 best = _mm_set1_ps(-__builtin_inff());
      __m128i arg = _mm_setzero_si128();
      for (int q = 0; q < 4; ++q) {  // the reference's scan order dy, dx
        const __m128 v = _mm_loadu_ps(a + q * kPoolPixels + w);
        const __m128 gt = _mm_cmpgt_ps(v, best);
        best = _mm_max_ps(v, best);
        arg = _mm_max_epi16(arg, _mm_and_si128(_mm_castps_si128(gt), _mm_set1_epi32(q)));
      }
      _mm_storeu_ps(out + w, best);
      const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(arg, arg), arg);
      const int four = _mm_cvtsi128_si32(bytes);
      std::memcpy(win + w, &four, 4);
    }
  }
}

void pool_bwd_quad_sample_im2col(const float* dpooled, const std::uint8_t* winner,
                                 const float* pooled, float* dact) {
  const __m128 zero = _mm_setzero_ps();
  for (int c = 0; c < kConvC; ++c) {
    const int o = c * kPoolPixels;
    float* d = dact + c * kImgPixels;
    for (int w = 0; w < kPoolPixels; w += 4) {
      // 0 + g at the winner, masked where the winner's activation (the
      // pooled value) is <= 0.
      const __m128 live = _mm_cmpnle_ps(_mm_loadu_ps(pooled + o + w), zero);
      const __m128 g = _mm_and_ps(live, _mm_add_ps(zero, _mm_loadu_ps(dpooled + o + w)));
      int four;
      std::memcpy(&four, winner + o + w, 4);
      const __m128i win = _mm_unpacklo_epi16(
          _mm_unpacklo_epi8(_mm_cvtsi32_si128(four), _mm_setzero_si128()), _mm_setzero_si128());
      for (int q = 0; q < 4; ++q)
        _mm_storeu_ps(d + q * kPoolPixels + w,
                      _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(win, _mm_set1_epi32(q))), g));
    }
  }
}

#else  // !CNN_X86: plain loops, the same values as the SSE2 code above

namespace {

// The reference's scan of one window's four values, v[q] at q = dy*2 + dx:
// start at -inf and replace only when strictly greater, so the first of
// equal values wins (and NaN never does).
inline void window_max(const float (&v)[4], float* best_out, std::uint8_t* arg_out) {
  float best = -__builtin_inff();
  std::uint8_t arg = 0;
  for (int q = 0; q < 4; ++q)
    if (v[q] > best) {
      best = v[q];
      arg = std::uint8_t(q);
    }
  *best_out = best;
  *arg_out = arg;
}

// The offset of window position q (dy*2 + dx) of window (py, px) in an
// (8,28,28) image-order channel.
inline int image_offset(int py, int px, int q) { return (2 * py + q / 2) * kImgW + 2 * px + q % 2; }

}  // namespace

void pool_fwd_sample_im2col(const float* act, float* pooled, std::uint8_t* winner) {
  for (int c = 0; c < kConvC; ++c)
    for (int py = 0; py < kPoolH; ++py)
      for (int px = 0; px < kPoolW; ++px) {
        const float* a = act + c * kImgPixels;
        const float v[4] = {a[image_offset(py, px, 0)], a[image_offset(py, px, 1)],
                            a[image_offset(py, px, 2)], a[image_offset(py, px, 3)]};
        const int o = c * kPoolPixels + py * kPoolW + px;
        window_max(v, pooled + o, winner + o);
      }
}

void pool_bwd_sample_im2col(const float* dpooled, const std::uint8_t* winner, const float* act,
                            float* dact) {
  for (int c = 0; c < kConvC; ++c)
    for (int py = 0; py < kPoolH; ++py)
      for (int px = 0; px < kPoolW; ++px) {
        const int o = c * kPoolPixels + py * kPoolW + px;
        const float g = 0.0f + dpooled[o];
        for (int q = 0; q < 4; ++q) {
          const int i = c * kImgPixels + image_offset(py, px, q);
          dact[i] = winner[o] == q && !(act[i] <= 0.0f) ? g : 0.0f;
        }
      }
}

void pool_fwd_quad_sample_im2col(const float* act, float* pooled, std::uint8_t* winner) {
  for (int c = 0; c < kConvC; ++c)
    for (int w = 0; w < kPoolPixels; ++w) {
      const float* a = act + c * kImgPixels + w;
      const float v[4] = {a[0], a[kPoolPixels], a[2 * kPoolPixels], a[3 * kPoolPixels]};
      window_max(v, pooled + c * kPoolPixels + w, winner + c * kPoolPixels + w);
    }
}

void pool_bwd_quad_sample_im2col(const float* dpooled, const std::uint8_t* winner,
                                 const float* pooled, float* dact) {
  for (int c = 0; c < kConvC; ++c)
    for (int w = 0; w < kPoolPixels; ++w) {
      const int o = c * kPoolPixels + w;
      const float g = !(pooled[o] <= 0.0f) ? 0.0f + dpooled[o] : 0.0f;
      for (int q = 0; q < 4; ++q)
        dact[c * kImgPixels + q * kPoolPixels + w] = winner[o] == q ? g : 0.0f;
    }
}

#endif

}  // namespace cnn
