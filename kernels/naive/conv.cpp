// Naive 3x3 convolution, stride 1, zero padding 1, one input channel, with
// bias and ReLU; and its weight/bias gradient. Loop order and the separate
// multiply and add (no FMA: -ffp-contract=off) match the reference exactly.
#include "kernels/naive/naive.h"

namespace cnn {

void conv_fwd_naive(int B, const float* x, const float* w, const float* b, float* act) {
  for (int n = 0; n < B; ++n) {
    const float* img = x + std::size_t(n) * kImgPixels;
    float* out = act + std::size_t(n) * kActSize;
    for (int oc = 0; oc < kConvC; ++oc) {
      for (int oy = 0; oy < kImgH; ++oy) {
        for (int ox = 0; ox < kImgW; ++ox) {
          float sum = b[oc];
          for (int ky = 0; ky < kKernel; ++ky) {
            int iy = oy + ky - 1;
            if (iy < 0 || iy >= kImgH) continue;
            for (int kx = 0; kx < kKernel; ++kx) {
              int ix = ox + kx - 1;
              if (ix < 0 || ix >= kImgW) continue;
              sum += img[iy * kImgW + ix] * w[oc * kKernelSize + ky * kKernel + kx];
            }
          }
          out[oc * kImgPixels + oy * kImgW + ox] = sum > 0.0f ? sum : 0.0f;
        }
      }
    }
  }
}

void conv_bwd_naive(int B, const float* x, const float* dact, float* dw, float* db) {
  for (int i = 0; i < kConvWSize; ++i) dw[i] = 0.0f;
  for (int i = 0; i < kConvC; ++i) db[i] = 0.0f;
  for (int n = 0; n < B; ++n) {
    const float* img = x + std::size_t(n) * kImgPixels;
    const float* g = dact + std::size_t(n) * kActSize;
    for (int oc = 0; oc < kConvC; ++oc) {
      for (int oy = 0; oy < kImgH; ++oy) {
        for (int ox = 0; ox < kImgW; ++ox) {
          float go = g[oc * kImgPixels + oy * kImgW + ox];
          db[oc] += go;
          for (int ky = 0; ky < kKernel; ++ky) {
            int iy = oy + ky - 1;
            if (iy < 0 || iy >= kImgH) continue;
            for (int kx = 0; kx < kKernel; ++kx) {
              int ix = ox + kx - 1;
              if (ix < 0 || ix >= kImgW) continue;
              dw[oc * kKernelSize + ky * kKernel + kx] += go * img[iy * kImgW + ix];
            }
          }
        }
      }
    }
  }
}

}  // namespace cnn
