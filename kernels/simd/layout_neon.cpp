// Layout changes between the interface's sample-major buffers and the lane layout: the NEON path
// (AArch64 Advanced SIMD, 4 lanes, fused multiply-add). Built on aarch64 targets only
// (kernels/CMakeLists.txt), where Advanced SIMD is part of the baseline; chosen when the run-time
// probe reports it. The kernel is written once, in layout_impl.h; see there for how it works.
#include "kernels/simd/vec_neon.h"
#include "kernels/simd/layout_impl.h"

namespace cnn::simd {

void input_to_lanes_neon(int nv, const float* x, float* xT) {
  input_to_lanes_impl<Neon>(nv, x, xT);
}
void to_lanes_neon(int nv, int len, const float* src, float* dstT) {
  to_lanes_impl<Neon>(nv, len, src, dstT);
}
void from_lanes_neon(int nv, int len, const float* srcT, float* dst) {
  from_lanes_impl<Neon>(nv, len, srcT, dst);
}

}  // namespace cnn::simd
