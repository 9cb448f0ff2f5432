// Fully connected backward: input gradient per chunk (fc_bwd_din), weight gradient rows over the
// batch (fc_bwd_dw): the portable path (4 lanes, no intrinsics). Compiled for the baseline target
// like the rest of the program; the only path on a non-x86 build. The kernel is written once, in
// fc_bwd_impl.h; see there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/fc_bwd_impl.h"

namespace cnn::simd {

void fc_bwd_din_portable(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                         float* dpT, bool relu_mask) {
  fc_bwd_din_impl<Portable>(nv, pT, w, dT, i0, i1, dpT, relu_mask);
}
void fc_bwd_dw_portable(int nb, const float* pT, const float* drow, int i0, int i1, float* dw) {
  fc_bwd_dw_impl<Portable>(nb, pT, drow, i0, i1, dw);
}

}  // namespace cnn::simd
