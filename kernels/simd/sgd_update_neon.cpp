// SGD update: the NEON path (AArch64 Advanced SIMD, 4 lanes, fused multiply-add). Built on aarch64
// targets only (kernels/CMakeLists.txt), where Advanced SIMD is part of the baseline; chosen when
// the run-time probe reports it. The kernel is written once, in sgd_update_impl.h; see there for
// how it works.
#include "kernels/simd/vec_neon.h"
#include "kernels/simd/sgd_update_impl.h"

namespace cnn::simd {

void sgd_update_neon(float lr, float* p, const float* g, std::size_t n) {
  sgd_update_impl<Neon>(lr, p, g, n);
}

}  // namespace cnn::simd
