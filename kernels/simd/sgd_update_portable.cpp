// SGD update: the portable path (4 lanes, no intrinsics). Compiled for the baseline target like the
// rest of the program; the only path on a non-x86 build. The kernel is written once, in
// sgd_update_impl.h; see there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/sgd_update_impl.h"

namespace cnn::simd {

void sgd_update_portable(float lr, float* p, const float* g, std::size_t n) {
  sgd_update_impl<Portable>(lr, p, g, n);
}

}  // namespace cnn::simd
