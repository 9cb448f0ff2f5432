// Fully connected backward pieces, split so that threads never sum across
// each other: the weight gradient by input-feature rows (owner computes over
// the whole batch), the input gradient by samples. Every element sees naive's
// terms in naive's order (kernels/naive/fc.cpp): dw[i*10+j] and db[j] from +0
// over ascending samples, din[i] from 0 over ascending j.
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

void fc_bwd_db_omp(int B, const float* d, float* db) {
  for (int j = 0; j < kClasses; ++j) db[j] = 0.0f;
  for (int n = 0; n < B; ++n)
    for (int j = 0; j < kClasses; ++j) db[j] += d[std::size_t(n) * kClasses + j];
}

void fc_bwd_din_omp(int n0, int n1, const float* w, const float* d, float* din) {
  for (int n = n0; n < n1; ++n) {
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
