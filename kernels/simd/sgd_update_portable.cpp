// SGD update: the portable path (4 lanes, no intrinsics). Compiled for the baseline target like the
// rest of the program; the only path on a non-x86 build. The kernel is written once, in
// softmax_xent_impl.h; see there for how it works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/softmax_xent_impl.h"

namespace cnn::simd {

CNN_SIMD_DEFINE_SGD_UPDATE(portable, Portable)

}  // namespace cnn::simd
