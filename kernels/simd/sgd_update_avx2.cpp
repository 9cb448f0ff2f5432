// SGD update: the AVX2 + FMA path (8 lanes). Compiled with -mavx2 -mfma (kernels/CMakeLists.txt);
// reached only when the run-time probe reports AVX2 + FMA with OS support for the YMM state. The
// kernel is written once, in sgd_update_impl.h; see there for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/sgd_update_impl.h"

namespace cnn::simd {

void sgd_update_avx2(float lr, float* p, const float* g, std::size_t n) {
  sgd_update_impl<Avx2>(lr, p, g, n);
}

}  // namespace cnn::simd
