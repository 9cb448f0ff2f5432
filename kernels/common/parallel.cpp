// Threading helpers (see parallel.h): deterministic splits, per-chunk
// gradient slots with an ordered reduction, and the FTZ/DAZ scope.
#include "kernels/common/parallel.h"

#include <omp.h>

#include <algorithm>
#include <stdexcept>

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

int batch_chunks(int B) { return B < kBatchChunks ? (B > 0 ? B : 0) : kBatchChunks; }

Range batch_chunk(int B, int chunk) { return split_range(B, chunk, batch_chunks(B), 1); }

ChunkSlots::ChunkSlots(int chunks, std::size_t n) : chunks_(chunks), n_(n) {
  if (chunks < 1) throw std::invalid_argument("ChunkSlots: chunks must be >= 1");
  constexpr std::size_t line = kAlign / sizeof(float);  // 16 floats
  stride_ = (n + line - 1) / line * line;
  buf_.resize(stride_ * std::size_t(chunks));
}

void ChunkSlots::reduce_range(int k, float* out, std::size_t begin, std::size_t end) const {
  if (k < 1 || k > chunks_) throw std::out_of_range("ChunkSlots::reduce: bad chunk count");
  if (end > n_) throw std::out_of_range("ChunkSlots::reduce: range past the slot size");
  const float* s0 = slot(0);
  for (std::size_t i = begin; i < end; ++i) out[i] = s0[i];
  for (int c = 1; c < k; ++c) {
    const float* s = slot(c);
    for (std::size_t i = begin; i < end; ++i) out[i] += s[i];
  }
}

void ChunkSlots::reduce(int k, float* out, int threads) const {
  if (k < 1 || k > chunks_) throw std::out_of_range("ChunkSlots::reduce: bad chunk count");
  constexpr int line = int(kAlign / sizeof(float));
  const int n = static_cast<int>(n_);
#pragma omp parallel num_threads(threads)
  {
    const Range r = split_range(n, omp_get_thread_num(), omp_get_num_threads(), line);
    reduce_range(k, out, std::size_t(r.begin), std::size_t(r.end));
  }
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
