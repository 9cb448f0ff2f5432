// Softmax + cross-entropy + gradient at the logits: the AVX-512 path (16 lanes). Compiled with
// -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma (kernels/CMakeLists.txt); reached only
// when the run-time probe reports AVX-512 with OS support for the ZMM and opmask state. The kernel
// is written once, in softmax_xent_impl.h; see there for how it works.
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/softmax_xent_impl.h"

namespace cnn::simd {

float softmax_xent_avx512(int B, const float* logits, const std::uint8_t* labels, float scale,
                          float* probs, float* dlogits, float* losses) {
  return softmax_xent_impl<Avx512>(B, logits, labels, scale, probs, dlogits, losses);
}

}  // namespace cnn::simd
