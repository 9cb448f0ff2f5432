// Fully connected forward: the portable path (4 lanes, no intrinsics). Compiled for the baseline
// target like the rest of the program; the only path on a non-x86 build. The kernel is written
// once, in fc_fwd_impl.h; see there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/fc_fwd_impl.h"

namespace cnn::simd {

void fc_fwd_portable(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                     int lg_stride) {
  fc_fwd_impl<Portable>(nch, pT, w, b, h, lgT, lg_stride);
}

}  // namespace cnn::simd
