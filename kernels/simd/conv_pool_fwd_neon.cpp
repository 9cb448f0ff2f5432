// Fused conv + bias + ReLU + 2x2 max-pool forward (and the pool_fwd primitive): the NEON path
// (AArch64 Advanced SIMD, 4 lanes, fused multiply-add). Built on aarch64 targets only
// (kernels/CMakeLists.txt), where Advanced SIMD is part of the baseline; chosen when the run-time
// probe reports it. The kernel is written once, in conv_pool_fwd_impl.h; see there for how it
// works.
#include "kernels/simd/vec_neon.h"
#include "kernels/simd/conv_pool_fwd_impl.h"

namespace cnn::simd {

void conv_pool_fwd_neon(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                        const float* w, const float* b, float* pT, std::uint16_t* win,
                        std::uint32_t* blocks, float* actT) {
  conv_pool_fwd_impl<Neon>(nv, img, xT, c0, c1, w, b, pT, win, blocks, actT);
}
void pool_fwd_neon(const float* actT, float* pT, std::uint16_t* win) {
  pool_fwd_impl<Neon>(actT, pT, win);
}

}  // namespace cnn::simd
