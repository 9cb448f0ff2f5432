// Softmax + cross-entropy + gradient at the logits: the AVX2 + FMA path (8 lanes). Compiled with
// -mavx2 -mfma (kernels/CMakeLists.txt); reached only when the run-time probe reports AVX2 + FMA
// with OS support for the YMM state. The kernel is written once, in softmax_xent_impl.h; see there
// for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/softmax_xent_impl.h"

namespace cnn::simd {

float softmax_xent_avx2(int B, const float* logits, const std::uint8_t* labels, float scale,
                        float* probs, float* dlogits, float* losses) {
  return softmax_xent_impl<Avx2>(B, logits, labels, scale, probs, dlogits, losses);
}

}  // namespace cnn::simd
