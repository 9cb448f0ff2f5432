// Fully connected forward: the NEON path (AArch64 Advanced SIMD, 4 lanes, fused multiply-add).
// Built on aarch64 targets only (kernels/CMakeLists.txt), where Advanced SIMD is part of the
// baseline; chosen when the run-time probe reports it. The kernel is written once, in
// fc_fwd_impl.h; see there for how it works.
#include "kernels/simd/vec_neon.h"
#include "kernels/simd/fc_fwd_impl.h"

namespace cnn::simd {

void fc_fwd_neon(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                 int lg_stride) {
  fc_fwd_impl<Neon>(nch, pT, w, b, h, lgT, lg_stride);
}

}  // namespace cnn::simd
