// Fully connected backward: input gradient per chunk, weight gradient rows over the batch: the AVX2
// + FMA path (8 lanes). Compiled with -mavx2 -mfma (kernels/CMakeLists.txt); reached only when the
// run-time probe reports AVX2 + FMA with OS support for the YMM state. The kernel is written once,
// in fc_bwd_impl.h; see there for how it works.
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/fc_bwd_impl.h"

namespace cnn::simd {

CNN_SIMD_DEFINE_FC_BWD(avx2, Avx2)

}  // namespace cnn::simd
