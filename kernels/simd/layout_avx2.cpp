// Layout changes between the interface's sample-major buffers and the lane layout: the AVX2 + FMA
// path (8 lanes). Compiled with -mavx2 -mfma (kernels/CMakeLists.txt); reached only when the run-
// time probe reports AVX2 + FMA with OS support for the YMM state. The kernel is written once, in
// layout_impl.h; see there for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/layout_impl.h"

namespace cnn::simd {

void input_to_lanes_avx2(int nv, const float* x, float* xT) {
  input_to_lanes_impl<Avx2>(nv, x, xT);
}
void to_lanes_avx2(int nv, int len, const float* src, float* dstT) {
  to_lanes_impl<Avx2>(nv, len, src, dstT);
}
void from_lanes_avx2(int nv, int len, const float* srcT, float* dst) {
  from_lanes_impl<Avx2>(nv, len, srcT, dst);
}

}  // namespace cnn::simd
