// Fused max-pool + ReLU + conv weight-gradient backward (and the conv_bwd and pool_bwd primitives):
// the AVX-512 path (16 lanes). Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2
// -mfma (kernels/CMakeLists.txt); reached only when the run-time probe reports AVX-512 with OS
// support for the ZMM and opmask state. The kernel is written once, in conv_pool_bwd_impl.h; see
// there for how it works.
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/conv_pool_bwd_impl.h"

namespace cnn::simd {

void conv_pool_bwd_avx512(int nv, const float* xT, int c0, int c1, const float* dpT,
                          const std::uint16_t* win, const std::uint32_t* blocks, float* cpart) {
  conv_pool_bwd_impl<Avx512>(nv, xT, c0, c1, dpT, win, blocks, cpart);
}
void conv_bwd_avx512(const float* xT, const float* dactT, float* cpart) {
  conv_bwd_impl<Avx512>(xT, dactT, cpart);
}
void pool_bwd_avx512(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT) {
  pool_bwd_impl<Avx512>(dpT, win, actT, dactT);
}

}  // namespace cnn::simd
