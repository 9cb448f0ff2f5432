// Fully connected backward: input gradient per chunk, weight gradient rows over the batch: the
// AVX-512 path (16 lanes). Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma
// (kernels/CMakeLists.txt); reached only when the run-time probe reports AVX-512 with OS support
// for the ZMM and opmask state. The kernel is written once, in fc_bwd_impl.h; see there for how it
// works.
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/fc_bwd_impl.h"

namespace cnn::simd {

CNN_SIMD_DEFINE_FC_BWD(avx512, Avx512)

}  // namespace cnn::simd
