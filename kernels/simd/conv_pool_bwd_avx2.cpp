// Fused max-pool + ReLU + conv weight-gradient backward (and the conv_bwd and pool_bwd primitives):
// the AVX2 + FMA path (8 lanes). Compiled with -mavx2 -mfma (kernels/CMakeLists.txt); reached only
// when the run-time probe reports AVX2 + FMA with OS support for the YMM state. The kernel is
// written once, in conv_pool_bwd_impl.h; see there for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/conv_pool_bwd_impl.h"

namespace cnn::simd {

CNN_SIMD_DEFINE_CONV_POOL_BWD(avx2, Avx2)

}  // namespace cnn::simd
