// Naive 2x2 max-pool, stride 2, remembering the winner of each window, and
// its backward pass fused with the ReLU mask (the reference zeroes the
// gradient wherever the forward activation is <= 0).
#include <limits>

#include "kernels/naive/naive.h"

namespace cnn {

void pool_fwd_naive(int B, const float* act, float* pooled, std::uint8_t* winner) {
  for (int n = 0; n < B; ++n) {
    const float* a = act + std::size_t(n) * kActSize;
    float* out = pooled + std::size_t(n) * kFeatures;
    std::uint8_t* win = winner + std::size_t(n) * kFeatures;
    for (int c = 0; c < kConvC; ++c) {
      for (int py = 0; py < kPoolH; ++py) {
        for (int px = 0; px < kPoolW; ++px) {
          // Start from -inf and replace only when strictly greater: the first
          // of equal values (row by row) wins a tie.
          float best = -std::numeric_limits<float>::infinity();
          int arg = 0;
          for (int dy = 0; dy < 2; ++dy) {
            for (int dx = 0; dx < 2; ++dx) {
              float v = a[c * kImgPixels + (py * 2 + dy) * kImgW + px * 2 + dx];
              if (v > best) {
                best = v;
                arg = dy * 2 + dx;
              }
            }
          }
          int o = c * kPoolPixels + py * kPoolW + px;
          out[o] = best;
          win[o] = static_cast<std::uint8_t>(arg);
        }
      }
    }
  }
}

void pool_bwd_naive(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                    float* dact) {
  for (std::size_t i = 0; i < std::size_t(B) * kActSize; ++i) dact[i] = 0.0f;
  for (int n = 0; n < B; ++n) {
    const float* dp = dpooled + std::size_t(n) * kFeatures;
    const std::uint8_t* win = winner + std::size_t(n) * kFeatures;
    float* d = dact + std::size_t(n) * kActSize;
    for (int c = 0; c < kConvC; ++c) {
      for (int py = 0; py < kPoolH; ++py) {
        for (int px = 0; px < kPoolW; ++px) {
          int o = c * kPoolPixels + py * kPoolW + px;
          int dy = win[o] >> 1, dx = win[o] & 1;
          d[c * kImgPixels + (py * 2 + dy) * kImgW + px * 2 + dx] += dp[o];
        }
      }
    }
    const float* a = act + std::size_t(n) * kActSize;
    for (int i = 0; i < kActSize; ++i)
      if (a[i] <= 0.0f) d[i] = 0.0f;
  }
}

}  // namespace cnn
