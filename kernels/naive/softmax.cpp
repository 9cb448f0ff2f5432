// Naive softmax + cross-entropy with the gradient at the logits. expf/logf
// are the C library's, as in the reference.
#include <cmath>

#include "kernels/naive/naive.h"

namespace cnn {

float softmax_xent_naive(int B, const float* logits, const std::uint8_t* labels, float scale,
                         float* probs, float* dlogits) {
  float loss = 0.0f;
  for (int n = 0; n < B; ++n) {
    const float* z = logits + std::size_t(n) * kClasses;
    float* p = probs + std::size_t(n) * kClasses;
    float mx = z[0];
    for (int j = 1; j < kClasses; ++j) mx = z[j] > mx ? z[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < kClasses; ++j) {
      p[j] = std::exp(z[j] - mx);
      sum += p[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < kClasses; ++j) p[j] *= inv;
    int y = labels[n];
    loss += -std::log(std::fmax(p[y], 1e-9f));
    float* d = dlogits + std::size_t(n) * kClasses;
    for (int j = 0; j < kClasses; ++j) d[j] = (p[j] - (j == y ? 1.0f : 0.0f)) * scale;
  }
  return loss;
}

}  // namespace cnn
