// Convolution weight/bias gradient, owner computes: one call sums the
// gradient of one filter over the whole batch. The forward pass needs nothing
// new: each thread runs conv_fwd_naive on its samples.
//
// The loop is naive's (kernels/naive/conv.cpp): each image is first copied
// into a zeroed 30x30 frame so the tap loop has no branches (conv_pad_omp,
// run per sample in parallel before the filters), and the nine tap sums and
// the bias sum of a filter run over the pixels in row-major order, sample
// after sample, in locals. Each sum therefore sees the same terms in the same
// order as naive's, whichever thread owns the filter.
#include "kernels/omp/omp.h"

namespace cnn {

void conv_pad_omp(int n0, int n1, const float* x, float* xpad) {
  for (int n = n0; n < n1; ++n) {
    const float* img = x + std::size_t(n) * kImgPixels;
    float* frame = xpad + std::size_t(n) * kPadStride;
    for (int i = 0; i < kPadPixels; ++i) frame[i] = 0.0f;
    for (int y = 0; y < kImgH; ++y)
      for (int xx = 0; xx < kImgW; ++xx) frame[(y + 1) * kPadW + xx + 1] = img[y * kImgW + xx];
  }
}

void conv_bwd_omp(int B, const float* xpad, const float* dact, int oc, float* dw, float* db) {
  // The running sums stay in registers over the whole batch; the shared
  // gradient is written once, at the end.
  float acc[kKernelSize];
  for (int k = 0; k < kKernelSize; ++k) acc[k] = 0.0f;
  float bacc = 0.0f;
  for (int n = 0; n < B; ++n) {
    const float* frame = xpad + std::size_t(n) * kPadStride;
    const float* g = dact + std::size_t(n) * kActSize + oc * kImgPixels;
    for (int oy = 0; oy < kImgH; ++oy) {
      for (int ox = 0; ox < kImgW; ++ox) {
        float go = g[oy * kImgW + ox];
        bacc += go;
        for (int ky = 0; ky < kKernel; ++ky)
          for (int kx = 0; kx < kKernel; ++kx)
            acc[ky * kKernel + kx] += go * frame[(oy + ky) * kPadW + ox + kx];
      }
    }
  }
  for (int k = 0; k < kKernelSize; ++k) dw[oc * kKernelSize + k] = acc[k];
  db[oc] = bacc;
}

}  // namespace cnn
