// Naive fully connected layer 1568 -> 10 over the [1568][10] weight layout,
// and its backward pass. Sums run in ascending index order as the reference.
// The bias gradient is the one every backend shares (common/fc_bwd_db.h);
// the weight and input gradients are independent of each other, so they run
// one after the other over the batch.
#include "kernels/common/fc_bwd_db.h"
#include "kernels/naive/naive.h"

namespace cnn {

void fc_fwd_naive(int B, const float* in, const float* w, const float* b, float* logits) {
  for (int n = 0; n < B; ++n) {
    const float* x = in + std::size_t(n) * kFeatures;
    float* out = logits + std::size_t(n) * kClasses;
    // Ten running sums walked together over ascending i: each is still
    // b[j] + x[0]*w[j] + x[1]*w[10+j] + ... in the reference's order, but the
    // weights are read contiguously.
    float sum[kClasses];
    for (int j = 0; j < kClasses; ++j) sum[j] = b[j];
    for (int i = 0; i < kFeatures; ++i)
      for (int j = 0; j < kClasses; ++j) sum[j] += x[i] * w[i * kClasses + j];
    for (int j = 0; j < kClasses; ++j) out[j] = sum[j];
  }
}

void fc_bwd_naive(int B, const float* in, const float* w, const float* d, float* dw, float* db,
                  float* din) {
  fc_bwd_db(B, d, db);
  for (int i = 0; i < kFcWSize; ++i) dw[i] = 0.0f;
  for (int n = 0; n < B; ++n) {
    const float* x = in + std::size_t(n) * kFeatures;
    const float* dn = d + std::size_t(n) * kClasses;
    for (int i = 0; i < kFeatures; ++i)
      for (int j = 0; j < kClasses; ++j) dw[i * kClasses + j] += x[i] * dn[j];
  }
  if (din) fc_bwd_din_naive(B, w, d, din);
}

void fc_bwd_din_naive(int B, const float* w, const float* d, float* din) {
  for (int n = 0; n < B; ++n) {
    const float* dn = d + std::size_t(n) * kClasses;
    float* dx = din + std::size_t(n) * kFeatures;
    for (int i = 0; i < kFeatures; ++i) {
      float s = 0.0f;
      for (int j = 0; j < kClasses; ++j) s += dn[j] * w[i * kClasses + j];
      dx[i] = s;
    }
  }
}

}  // namespace cnn
