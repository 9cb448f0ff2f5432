// Fully connected forward: the AVX2 + FMA path (8 lanes). Compiled with -mavx2 -mfma
// (kernels/CMakeLists.txt); reached only when the run-time probe reports AVX2 + FMA with OS support
// for the YMM state. The kernel is written once, in fc_fwd_impl.h; see there for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/fc_fwd_impl.h"

namespace cnn::simd {

void fc_fwd_avx2(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                 int lg_stride) {
  fc_fwd_impl<Avx2>(nch, pT, w, b, h, lgT, lg_stride);
}

}  // namespace cnn::simd
