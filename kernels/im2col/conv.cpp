// Convolution forward and weight gradient as GEMMs over the patch matrix
// (kernels/im2col/im2col.h explains the shapes). Both work in whatever pixel
// order the patch matrix has (image or window order): the forward product
// writes act in that order, the gradient sums over pixels in it.
#include "kernels/im2col/im2col.h"

namespace cnn {

void conv_fwd_sample_im2col(gemm::Gemm& gemm, int slot, const float* pt, const float* w,
                            const float* b, float* act) {
  // act (8,784) = ReLU(W (8,9) * P^T (9,784) + b), bias per row (filter).
  gemm::GemmArgs g;
  g.M = kConvC;
  g.N = kImgPixels;
  g.K = kKernelSize;
  g.A = w;
  g.lda = kKernelSize;
  g.B = pt;
  g.ldb = kImgPixels;
  g.C = act;
  g.ldc = kImgPixels;
  g.row_bias = b;
  g.relu = true;
  gemm.serial(slot, g);
}

void conv_bwd_sample_im2col(gemm::Gemm& gemm, int slot, const float* pt, const float* dact,
                            float* part) {
  // part (8,10) = dact (8,784) * [P^T; 1]^T (784,10): column t < 9 is the
  // tap's weight gradient, column 9 (the row of ones) the bias gradient.
  gemm::GemmArgs g;
  g.trans_b = true;
  g.M = kConvC;
  g.N = kPatchRows;
  g.K = kImgPixels;
  g.A = dact;
  g.lda = kImgPixels;
  g.B = pt;
  g.ldb = kImgPixels;
  g.C = part;
  g.ldc = kPatchRows;
  gemm.serial(slot, g);
}

void conv_bwd_reduce_im2col(int B, const float* part, float* dw, float* db) {
  float acc[kConvC * kPatchRows] = {};
  for (int n = 0; n < B; ++n)
    for (int i = 0; i < kConvC * kPatchRows; ++i)
      acc[i] += part[std::size_t(n) * kConvC * kPatchRows + i];
  for (int oc = 0; oc < kConvC; ++oc) {
    for (int t = 0; t < kKernelSize; ++t) dw[oc * kKernelSize + t] = acc[oc * kPatchRows + t];
    db[oc] = acc[oc * kPatchRows + kKernelSize];
  }
}

}  // namespace cnn
