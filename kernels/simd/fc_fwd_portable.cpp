// Fully connected forward: the portable path (4 lanes, no intrinsics). Compiled for the baseline
// target like the rest of the program; the only path on a non-x86 build. The kernel is written
// once, in fc_fwd_impl.h; see there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/fc_fwd_impl.h"

namespace cnn::simd {

void fc_fwd_portable(const float* pT, const float* w, const float* b, int h, float* lgT) {
  fc_fwd_impl<Portable>(pT, w, b, h, lgT);
}

}  // namespace cnn::simd
