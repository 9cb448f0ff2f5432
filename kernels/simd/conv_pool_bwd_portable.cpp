// Fused max-pool + ReLU + conv weight-gradient backward (and the conv_bwd and pool_bwd primitives):
// the portable path (4 lanes, no intrinsics). Compiled for the baseline target like the rest of the
// program; the only path on a non-x86 build. The kernel is written once, in conv_pool_bwd_impl.h;
// see there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/conv_pool_bwd_impl.h"

namespace cnn::simd {

void conv_pool_bwd_portable(int nv, const float* xT, int c0, int c1, const float* dpT,
                            const std::uint16_t* win, const std::uint32_t* blocks, float* cpart) {
  conv_pool_bwd_impl<Portable>(nv, xT, c0, c1, dpT, win, blocks, cpart);
}
void conv_bwd_portable(const float* xT, const float* dactT, float* cpart) {
  conv_bwd_impl<Portable>(xT, dactT, cpart);
}
void pool_bwd_portable(const float* dpT, const std::uint16_t* win, const float* actT,
                       float* dactT) {
  pool_bwd_impl<Portable>(dpT, win, actT, dactT);
}

}  // namespace cnn::simd
