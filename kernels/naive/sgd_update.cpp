// Naive SGD update: one multiply and one subtract per parameter, no FMA
// (-ffp-contract=off), as in the reference.
#include "kernels/naive/naive.h"

namespace cnn {

void sgd_update_naive(float lr, float* p, const float* g, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) p[i] -= lr * g[i];
}

}  // namespace cnn
