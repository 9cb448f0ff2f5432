// Softmax + cross-entropy + gradient at the logits: the NEON path (AArch64 Advanced SIMD, 4 lanes,
// fused multiply-add). Built on aarch64 targets only (kernels/CMakeLists.txt), where Advanced SIMD
// is part of the baseline; chosen when the run-time probe reports it. The kernel is written once,
// in softmax_xent_impl.h; see there for how it works.
#include "kernels/simd/vec_neon.h"
#include "kernels/simd/softmax_xent_impl.h"

namespace cnn::simd {

float softmax_xent_neon(int B, const float* logits, const std::uint8_t* labels, float scale,
                        float* probs, float* dlogits, float* losses) {
  return softmax_xent_impl<Neon>(B, logits, labels, scale, probs, dlogits, losses);
}

}  // namespace cnn::simd
