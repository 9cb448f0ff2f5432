// Softmax + cross-entropy + gradient at the logits: the portable path (4 lanes, no intrinsics).
// Compiled for the baseline target like the rest of the program; the only path on a non-x86 build.
// The kernel is written once, in softmax_xent_impl.h; see there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/softmax_xent_impl.h"

namespace cnn::simd {

float softmax_xent_portable(int B, const float* logits, const std::uint8_t* labels, float scale,
                            float* probs, float* dlogits, float* losses) {
  return softmax_xent_impl<Portable>(B, logits, labels, scale, probs, dlogits, losses);
}

}  // namespace cnn::simd
