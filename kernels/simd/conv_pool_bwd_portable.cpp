// Fused max-pool + ReLU + conv weight-gradient backward (and the conv_bwd and pool_bwd primitives):
// the portable path (4 lanes, no intrinsics). Compiled for the baseline target like the rest of the
// program; the only path on a non-x86 build. The kernel is written once, in conv_pool_bwd_impl.h;
// see there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/conv_pool_bwd_impl.h"

namespace cnn::simd {

CNN_SIMD_DEFINE_CONV_POOL_BWD(portable, Portable)

}  // namespace cnn::simd
