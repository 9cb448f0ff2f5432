// Fully connected backward: input gradient per chunk (fc_bwd_din), weight gradient rows over the
// batch (fc_bwd_dw): the AVX2
// + FMA path (8 lanes). Compiled with -mavx2 -mfma (kernels/CMakeLists.txt); reached only when the
// run-time probe reports AVX2 + FMA with OS support for the YMM state. The kernel is written once,
// in fc_bwd_impl.h; see there for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/fc_bwd_impl.h"

namespace cnn::simd {

void fc_bwd_din_avx2(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                     float* dpT, bool relu_mask) {
  fc_bwd_din_impl<Avx2>(nv, pT, w, dT, i0, i1, dpT, relu_mask);
}
void fc_bwd_dw_avx2(int nb, const float* pT, const float* drow, int i0, int i1, float* dw) {
  fc_bwd_dw_impl<Avx2>(nb, pT, drow, i0, i1, dw);
}

}  // namespace cnn::simd
