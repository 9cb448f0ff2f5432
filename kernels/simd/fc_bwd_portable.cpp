// Fully connected backward: input gradient per chunk, weight gradient rows over the batch: the
// portable path (4 lanes, no intrinsics). Compiled for the baseline target like the rest of the
// program; the only path on a non-x86 build. The kernel is written once, in fc_bwd_impl.h; see
// there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/fc_bwd_impl.h"

namespace cnn::simd {

CNN_SIMD_DEFINE_FC_BWD(portable, Portable)

}  // namespace cnn::simd
