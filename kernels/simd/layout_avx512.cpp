// Layout changes between the interface's sample-major buffers and the lane layout: the AVX-512 path
// (16 lanes). Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma
// (kernels/CMakeLists.txt); reached only when the run-time probe reports AVX-512 with OS support
// for the ZMM and opmask state. The kernel is written once, in layout_impl.h; see there for how it
// works.
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/layout_impl.h"

namespace cnn::simd {

void input_to_lanes_avx512(int nv, const float* x, float* xT) {
  input_to_lanes_impl<Avx512>(nv, x, xT);
}
void to_lanes_avx512(int nv, int len, const float* src, float* dstT) {
  to_lanes_impl<Avx512>(nv, len, src, dstT);
}
void from_lanes_avx512(int nv, int len, const float* srcT, float* dst) {
  from_lanes_impl<Avx512>(nv, len, srcT, dst);
}

}  // namespace cnn::simd
