// The fc weight gradient, owner computes: one call sums a block of rows of
// dW over the whole batch, so threads never sum across each other. Every
// element sees naive's terms in naive's order (kernels/naive/fc.cpp):
// dw[i*10+j] from +0 over ascending samples. The input gradient (per sample)
// and the bias gradient (one unit) are naive's and the shared fc_bwd_db.
#include "kernels/omp/omp.h"

namespace cnn {

void fc_bwd_dw_omp(int B, const float* in, const float* d, int i0, int i1, float* dw) {
  // One row of ten sums at a time, kept in locals over the whole batch: the
  // row is stored once instead of being re-read for every sample.
  for (int i = i0; i < i1; ++i) {
    float acc[kClasses];
    for (int j = 0; j < kClasses; ++j) acc[j] = 0.0f;
    for (int n = 0; n < B; ++n) {
      const float xi = in[std::size_t(n) * kFeatures + i];
      const float* dn = d + std::size_t(n) * kClasses;
      for (int j = 0; j < kClasses; ++j) acc[j] += xi * dn[j];
    }
    for (int j = 0; j < kClasses; ++j) dw[i * kClasses + j] = acc[j];
  }
}

}  // namespace cnn
