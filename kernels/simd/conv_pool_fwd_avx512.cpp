// Fused conv + bias + ReLU + 2x2 max-pool forward (and the pool_fwd primitive): the AVX-512 path
// (16 lanes). Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma
// (kernels/CMakeLists.txt); reached only when the run-time probe reports AVX-512 with OS support
// for the ZMM and opmask state. The kernel is written once, in conv_pool_fwd_impl.h; see there for
// how it works.
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/conv_pool_fwd_impl.h"

namespace cnn::simd {

void conv_pool_fwd_avx512(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                          const float* w, const float* b, float* pT, std::uint16_t* win,
                          std::uint32_t* blocks, float* actT) {
  conv_pool_fwd_impl<Avx512>(nv, img, xT, c0, c1, w, b, pT, win, blocks, actT);
}
void pool_fwd_avx512(const float* actT, float* pT, std::uint16_t* win) {
  pool_fwd_impl<Avx512>(actT, pT, win);
}

}  // namespace cnn::simd
