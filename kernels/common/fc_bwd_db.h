// The fc bias gradient, shared by every backend: db[j] = sum over the
// samples, in sample order from 0, of dlogits[n][j] (the reference's order,
// so it is bit-identical everywhere). Ten additions per sample: not worth a
// thread or a vector, and one definition keeps the order in one place.
#pragma once

#include <cstddef>

#include "kernels/shapes.h"

namespace cnn {

// d (B,10) -> db (10) [overwritten]
inline void fc_bwd_db(int B, const float* d, float* db) {
  for (int j = 0; j < kClasses; ++j) db[j] = 0.0f;
  for (int n = 0; n < B; ++n)
    for (int j = 0; j < kClasses; ++j) db[j] += d[std::size_t(n) * kClasses + j];
}

}  // namespace cnn
