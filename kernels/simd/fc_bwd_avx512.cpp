// Fully connected backward: input gradient per chunk (fc_bwd_din), weight gradient rows over the
// batch (fc_bwd_dw): the AVX-512 path (16 lanes). Compiled with -mavx512f -mavx512dq -mavx512bw
// -mavx512vl -mavx2 -mfma (kernels/CMakeLists.txt); reached only when the run-time probe reports
// AVX-512 with OS support for the ZMM and opmask state. The kernel is written once, in
// fc_bwd_impl.h; see there for how it works.
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/fc_bwd_impl.h"

namespace cnn::simd {

void fc_bwd_din_avx512(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                       float* dpT, bool relu_mask) {
  fc_bwd_din_impl<Avx512>(nv, pT, w, dT, i0, i1, dpT, relu_mask);
}
void fc_bwd_dw_avx512(int nb, const float* pT, const float* drow, int i0, int i1, float* dw) {
  fc_bwd_dw_impl<Avx512>(nb, pT, drow, i0, i1, dw);
}

}  // namespace cnn::simd
