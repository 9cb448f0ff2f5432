// Fully connected forward: the AVX-512 path (16 lanes). Compiled with -mavx512f -mavx512dq
// -mavx512bw -mavx512vl -mavx2 -mfma (kernels/CMakeLists.txt); reached only when the run-time probe
// reports AVX-512 with OS support for the ZMM and opmask state. The kernel is written once, in
// fc_fwd_impl.h; see there for how it works.
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/fc_fwd_impl.h"

namespace cnn::simd {

void fc_fwd_avx512(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                   int lg_stride) {
  fc_fwd_impl<Avx512>(nch, pT, w, b, h, lgT, lg_stride);
}

}  // namespace cnn::simd
