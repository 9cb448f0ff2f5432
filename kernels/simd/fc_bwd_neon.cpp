// Fully connected backward: input gradient per chunk (fc_bwd_din), weight gradient rows over the
// batch (fc_bwd_dw): the NEON path (AArch64 Advanced SIMD, 4 lanes, fused multiply-add). Built on
// aarch64 targets only (kernels/CMakeLists.txt), where Advanced SIMD is part of the baseline;
// chosen when the run-time probe reports it. The kernel is written once, in fc_bwd_impl.h; see
// there for how it works.
#include "kernels/simd/vec_neon.h"
#include "kernels/simd/fc_bwd_impl.h"

namespace cnn::simd {

void fc_bwd_din_neon(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                     float* dpT, bool relu_mask) {
  fc_bwd_din_impl<Neon>(nv, pT, w, dT, i0, i1, dpT, relu_mask);
}
void fc_bwd_dw_neon(int nb, const float* pT, const float* drow, int i0, int i1, float* dw) {
  fc_bwd_dw_impl<Neon>(nb, pT, drow, i0, i1, dw);
}

}  // namespace cnn::simd
