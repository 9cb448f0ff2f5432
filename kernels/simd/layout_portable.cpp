// Layout changes between the interface's sample-major buffers and the lane layout: the portable
// path (4 lanes, no intrinsics). Compiled for the baseline target like the rest of the program; the
// only path on a non-x86 build. The kernel is written once, in layout_impl.h; see there for how it
// works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/layout_impl.h"

namespace cnn::simd {

void input_to_lanes_portable(int nv, const float* x, float* xT) {
  input_to_lanes_impl<Portable>(nv, x, xT);
}
void to_lanes_portable(int nv, int len, const float* src, float* dstT) {
  to_lanes_impl<Portable>(nv, len, src, dstT);
}
void from_lanes_portable(int nv, int len, const float* srcT, float* dst) {
  from_lanes_impl<Portable>(nv, len, srcT, dst);
}

}  // namespace cnn::simd
