// Threading helpers (see parallel.h): the deterministic split and the
// FTZ/DAZ scope (x86 MXCSR, aarch64 FPCR.FZ).
#include "kernels/common/parallel.h"

#include <algorithm>
#include <cstdint>

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
  const unsigned csr = _mm_getcsr();
  saved_ = csr;
  const unsigned want = on ? (csr | kFtzDaz) : (csr & ~kFtzDaz);
  if (want != csr) {
    _mm_setcsr(want);
    changed_ = true;
  }
}
FtzScope::~FtzScope() {
  if (changed_) _mm_setcsr(unsigned(saved_));
}
#elif CNN_AARCH64
// FPCR bit 24 (FZ): denormal inputs and results of single- and
// double-precision arithmetic (scalar and Advanced SIMD) read and become zero:
// x86's FTZ and DAZ together.
namespace {
constexpr std::uint64_t kFz = std::uint64_t(1) << 24;
std::uint64_t get_fpcr() {
  std::uint64_t v;
  __asm__ volatile("mrs %0, fpcr" : "=r"(v));
  return v;
}
void set_fpcr(std::uint64_t v) { __asm__ volatile("msr fpcr, %0" : : "r"(v)); }
}  // namespace
bool ftz_supported() { return true; }
bool ftz_enabled() { return (get_fpcr() & kFz) != 0; }
FtzScope::FtzScope(bool on) {
  const std::uint64_t fpcr = get_fpcr();
  saved_ = fpcr;
  const std::uint64_t want = on ? (fpcr | kFz) : (fpcr & ~kFz);
  if (want != fpcr) {
    set_fpcr(want);
    changed_ = true;
  }
}
FtzScope::~FtzScope() {
  if (changed_) set_fpcr(saved_);
}
#else
bool ftz_supported() { return false; }
bool ftz_enabled() { return false; }
FtzScope::FtzScope(bool) {}
FtzScope::~FtzScope() {}
#endif

}  // namespace cnn::par
