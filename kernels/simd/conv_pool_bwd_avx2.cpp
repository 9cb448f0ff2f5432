// Fused max-pool + ReLU + conv weight-gradient backward (and the conv_bwd and pool_bwd primitives):
// the AVX2 + FMA path (8 lanes). Compiled with -mavx2 -mfma (kernels/CMakeLists.txt); reached only
// when the run-time probe reports AVX2 + FMA with OS support for the YMM state. The kernel is
// written once, in conv_pool_bwd_impl.h; see there for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/conv_pool_bwd_impl.h"

namespace cnn::simd {

void conv_pool_bwd_avx2(int nv, const float* xT, int c0, int c1, const float* dpT,
                        const std::uint16_t* win, const std::uint32_t* blocks, float* cpart) {
  conv_pool_bwd_impl<Avx2>(nv, xT, c0, c1, dpT, win, blocks, cpart);
}
void conv_bwd_avx2(const float* xT, const float* dactT, float* cpart) {
  conv_bwd_impl<Avx2>(xT, dactT, cpart);
}
void pool_bwd_avx2(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT) {
  pool_bwd_impl<Avx2>(dpT, win, actT, dactT);
}

}  // namespace cnn::simd
