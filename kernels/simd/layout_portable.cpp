// Layout changes between the interface's sample-major buffers and the lane layout: the portable
// path (4 lanes, no intrinsics). Compiled for the baseline target like the rest of the program; the
// only path on a non-x86 build. The kernel is written once, in layout_impl.h; see there for how it
// works.
#include "kernels/simd/vec_portable.h"
#include "kernels/simd/layout_impl.h"

namespace cnn::simd {

CNN_SIMD_DEFINE_LAYOUT(portable, Portable)

}  // namespace cnn::simd
