// Fused conv + bias + ReLU + 2x2 max-pool forward (and the pool_fwd primitive): the AVX2 + FMA path
// (8 lanes). Compiled with -mavx2 -mfma (kernels/CMakeLists.txt); reached only when the run-time
// probe reports AVX2 + FMA with OS support for the YMM state. The kernel is written once, in
// conv_pool_fwd_impl.h; see there for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/conv_pool_fwd_impl.h"

namespace cnn::simd {

void conv_pool_fwd_avx2(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                        const float* w, const float* b, float* pT, std::uint16_t* win,
                        std::uint32_t* blocks, float* actT) {
  conv_pool_fwd_impl<Avx2>(nv, img, xT, c0, c1, w, b, pT, win, blocks, actT);
}
void pool_fwd_avx2(const float* actT, float* pT, std::uint16_t* win) {
  pool_fwd_impl<Avx2>(actT, pT, win);
}

}  // namespace cnn::simd
