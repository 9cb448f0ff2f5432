// Threading helpers (see parallel.h): the deterministic split and the
// FTZ/DAZ scope.
#include "kernels/common/parallel.h"

#include <algorithm>

#if CNN_X86
#include <xmmintrin.h>
#endif

namespace cnn::par {

Range split_range(int n, int part, int parts, int grain) {
  if (n <= 0 || parts <= 0) return {0, 0};
  if (grain < 1) grain = 1;
  const long long granules = (static_cast<long long>(n) + grain - 1) / grain;
  const long long g0 = granules * part / parts, g1 = granules * (part + 1) / parts;
  Range r;
  r.begin = static_cast<int>(std::min<long long>(g0 * grain, n));
  r.end = static_cast<int>(std::min<long long>(g1 * grain, n));
  return r;
}

#if CNN_X86
namespace {
constexpr unsigned kFtzDaz = 0x8040;  // MXCSR bit 15 (FTZ) | bit 6 (DAZ)
}
bool ftz_supported() { return true; }
bool ftz_enabled() { return (_mm_getcsr() & kFtzDaz) == kFtzDaz; }
FtzScope::FtzScope(bool on) {
  saved_ = _mm_getcsr();
  const unsigned want = on ? (saved_ | kFtzDaz) : (saved_ & ~kFtzDaz);
  if (want != saved_) {
    _mm_setcsr(want);
    changed_ = true;
  }
}
FtzScope::~FtzScope() {
  if (changed_) _mm_setcsr(saved_);
}
#else
bool ftz_supported() { return false; }
bool ftz_enabled() { return false; }
FtzScope::FtzScope(bool) {}
FtzScope::~FtzScope() {}
#endif

}  // namespace cnn::par
