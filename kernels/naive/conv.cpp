// Naive 3x3 convolution, stride 1, zero padding 1, one input channel, with
// bias and ReLU; and its weight/bias gradient. Loop order and the separate
// multiply and add (no FMA: -ffp-contract=off) match the reference exactly.
//
// The forward pass is the reference's loop as written: taps outside the
// image are skipped by a bounds test. The weight gradient instead copies each
// image into a zeroed 30x30 frame so its tap loop has no branches: an outside
// tap then adds go*0 = +-0 to a running sum, which leaves a non-zero sum
// unchanged and keeps a zero sum zero (sums start at +0, and +0 + -0 = +0),
// so the gradients are bit-identical to skipping the tap. Its accumulators
// live in locals while one filter is swept: the same sums in the same order.
// With these two choices an epoch takes about as long as the reference's.
// The sweep (conv_bwd_filter_naive) takes a run of samples: naive runs it on
// one sample at a time, the omp backend on the whole batch for the filter a
// thread owns; the terms and their order are the same either way.
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

void conv_bwd_pad_naive(const float* img, float* frame) {
  for (int i = 0; i < kPadPixels; ++i) frame[i] = 0.0f;
  for (int y = 0; y < kImgH; ++y)
    for (int x = 0; x < kImgW; ++x) frame[(y + 1) * kPadSide + x + 1] = img[y * kImgW + x];
}

void conv_bwd_filter_naive(int count, const float* frames, std::size_t frame_stride, const float* g,
                           float* dw, float* db) {
  // Local accumulators: the same sums in the same order, kept in registers
  // over all `count` samples; dw and db are read and written once.
  float acc[kKernelSize];
  for (int k = 0; k < kKernelSize; ++k) acc[k] = dw[k];
  float bacc = *db;
  for (int s = 0; s < count; ++s) {
    const float* frame = frames + std::size_t(s) * frame_stride;
    const float* gs = g + std::size_t(s) * kActSize;
    for (int oy = 0; oy < kImgH; ++oy) {
      for (int ox = 0; ox < kImgW; ++ox) {
        float go = gs[oy * kImgW + ox];
        bacc += go;
        for (int ky = 0; ky < kKernel; ++ky)
          for (int kx = 0; kx < kKernel; ++kx)
            acc[ky * kKernel + kx] += go * frame[(oy + ky) * kPadSide + ox + kx];
      }
    }
  }
  for (int k = 0; k < kKernelSize; ++k) dw[k] = acc[k];
  *db = bacc;
}

void conv_bwd_naive(int B, const float* x, const float* dact, float* dw, float* db) {
  float frame[kPadPixels];
  for (int i = 0; i < kConvWSize; ++i) dw[i] = 0.0f;
  for (int i = 0; i < kConvC; ++i) db[i] = 0.0f;
  for (int n = 0; n < B; ++n) {
    conv_bwd_pad_naive(x + std::size_t(n) * kImgPixels, frame);
    const float* g = dact + std::size_t(n) * kActSize;
    for (int oc = 0; oc < kConvC; ++oc)
      conv_bwd_filter_naive(1, frame, 0, g + oc * kImgPixels, dw + oc * kKernelSize, db + oc);
  }
}

}  // namespace cnn
