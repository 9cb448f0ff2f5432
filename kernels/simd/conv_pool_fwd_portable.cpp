// Fused conv + bias + ReLU + 2x2 max-pool forward (and the pool_fwd primitive): the portable path
// (4 lanes, no intrinsics). Compiled for the baseline target like the rest of the program; the only
// path on a non-x86 build. The kernel is written once, in conv_pool_fwd_impl.h; see there for how
// it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/conv_pool_fwd_impl.h"

namespace cnn::simd {

void conv_pool_fwd_portable(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                            const float* w, const float* b, float* pT, std::uint16_t* win,
                            std::uint32_t* blocks, float* actT) {
  conv_pool_fwd_impl<Portable>(nv, img, xT, c0, c1, w, b, pT, win, blocks, actT);
}
void pool_fwd_portable(const float* actT, float* pT, std::uint16_t* win) {
  pool_fwd_impl<Portable>(actT, pT, win);
}

}  // namespace cnn::simd
