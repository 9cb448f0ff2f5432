// The fully connected layer's three products, each as GEMM calls over a
// slice of its rows, so a thread can do its share on its own pack slot
// without meeting the others: forward and input gradient over samples,
// weight gradient over input features. Each output element is computed by
// one GEMM micro-kernel lane over the same K blocks whatever the slice, so
// the result does not depend on how the rows are split.
#include "kernels/im2col/im2col.h"

namespace cnn {

void fc_fwd_im2col(gemm::Gemm& gemm, int slot, int n0, int n1, const float* in, const float* w,
                   const float* b, float* logits) {
  // logits[n0:n1] (n,10) = in[n0:n1] (n,1568) * W (1568,10) + b (per column).
  gemm::GemmArgs g;
  g.M = n1 - n0;
  g.N = kClasses;
  g.K = kFeatures;
  g.A = in + std::size_t(n0) * kFeatures;
  g.lda = kFeatures;
  g.B = w;
  g.ldb = kClasses;
  g.C = logits + std::size_t(n0) * kClasses;
  g.ldc = kClasses;
  g.col_bias = b;
  gemm.serial(slot, g);
}

void fc_bwd_dw_im2col(gemm::Gemm& gemm, int slot, int B, int m0, int m1, const float* in,
                      const float* d, float* dw) {
  // dW[m0:m1] (m,10) = in^T[m0:m1] (m,B) * d (B,10): a reduction over the
  // batch (K = B), never split.
  gemm::GemmArgs g;
  g.trans_a = true;
  g.M = m1 - m0;
  g.N = kClasses;
  g.K = B;
  g.A = in + m0;
  g.lda = kFeatures;
  g.B = d;
  g.ldb = kClasses;
  g.C = dw + std::size_t(m0) * kClasses;
  g.ldc = kClasses;
  gemm.serial(slot, g);
}

void fc_bwd_din_im2col(gemm::Gemm& gemm, int slot, int n0, int n1, const float* d, const float* w,
                       float* din) {
  // din[n0:n1] (n,1568) = d[n0:n1] (n,10) * W^T (10,1568).
  gemm::GemmArgs g;
  g.trans_b = true;
  g.M = n1 - n0;
  g.N = kFeatures;
  g.K = kClasses;
  g.A = d + std::size_t(n0) * kClasses;
  g.lda = kClasses;
  g.B = w;
  g.ldb = kClasses;
  g.C = din + std::size_t(n0) * kFeatures;
  g.ldc = kFeatures;
  gemm.serial(slot, g);
}

}  // namespace cnn
