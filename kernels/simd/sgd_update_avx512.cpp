// SGD update: the AVX-512 path (16 lanes). Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl
// -mavx2 -mfma (kernels/CMakeLists.txt); reached only when the run-time probe reports AVX-512 with
// OS support for the ZMM and opmask state. The kernel is written once, in sgd_update_impl.h; see
// there for how it works.
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/sgd_update_impl.h"

namespace cnn::simd {

void sgd_update_avx512(float lr, float* p, const float* g, std::size_t n) {
  sgd_update_impl<Avx512>(lr, p, g, n);
}

}  // namespace cnn::simd
