// Fused max-pool + ReLU + conv weight-gradient backward (and the conv_bwd and pool_bwd primitives):
// the NEON path (AArch64 Advanced SIMD, 4 lanes, fused multiply-add). Built on aarch64 targets only
// (kernels/CMakeLists.txt), where Advanced SIMD is part of the baseline; chosen when the run-time
// probe reports it. The kernel is written once, in conv_pool_bwd_impl.h; see there for how it
// works.
#include "kernels/simd/vec_neon.h"
#include "kernels/simd/conv_pool_bwd_impl.h"

namespace cnn::simd {

void conv_pool_bwd_neon(int nv, const float* xT, int c0, int c1, const float* dpT,
                        const std::uint16_t* win, const std::uint32_t* blocks, float* cpart) {
  conv_pool_bwd_impl<Neon>(nv, xT, c0, c1, dpT, win, blocks, cpart);
}
void conv_bwd_neon(const float* xT, const float* dactT, float* cpart) {
  conv_bwd_impl<Neon>(xT, dactT, cpart);
}
void pool_bwd_neon(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT) {
  pool_bwd_impl<Neon>(dpT, win, actT, dactT);
}

}  // namespace cnn::simd
