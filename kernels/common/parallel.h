// Threading helpers shared by the multi-threaded backends.
//
// Determinism is the point of every helper here: a result may depend on how
// work is SPLIT into pieces and in what order the pieces are combined, but
// never on how many threads happen to run the pieces.
//  - split_range: a balanced contiguous split of n items among the threads of
//    a team, in whole granules (choose a granule that is a multiple of a
//    cache line so that two threads never write the same line). Use it for
//    work whose result does not depend on the split: per-sample outputs, or
//    parameter gradients computed "owner computes" (the thread owning an
//    element does the whole sum for it, in the serial order).
//  - FtzScope: flush-to-zero / denormals-are-zero on the calling thread for
//    a scope (x86 MXCSR FTZ + DAZ; aarch64 FPCR.FZ, which does both; a no-op
//    elsewhere), restored on exit so the caller's floating-point mode is
//    never leaked.
//  - omp_region: an OpenMP parallel region whose every thread runs under the
//    backend's FtzScope, the way a threaded backend opens each region.
#pragma once

#include <omp.h>

namespace cnn::par {

struct Range {
  int begin = 0, end = 0;
  int size() const { return end - begin; }
};

// Part `part` of `parts` of [0, n) split into granules of `grain` items
// (the last granule may be short); parts get a balanced number of granules
// (they differ by at most one), in order, so the ranges tile [0, n).
Range split_range(int n, int part, int parts, int grain = 1);

// True where FtzScope can change the mode (x86, aarch64); elsewhere it does
// nothing.
bool ftz_supported();
// Whether flush-to-zero and denormals-are-zero are both on in this thread.
bool ftz_enabled();

// Sets (on = true) or clears (on = false) FTZ and DAZ on the calling thread
// for its lifetime; the previous MXCSR (FPCR) is restored on destruction.
// Construct one at the top of every parallel region, in every thread: the
// mode is per thread and pool threads do not inherit the master's.
class FtzScope {
 public:
  explicit FtzScope(bool on);
  ~FtzScope();
  FtzScope(const FtzScope&) = delete;
  FtzScope& operator=(const FtzScope&) = delete;

 private:
  unsigned long long saved_ = 0;  // MXCSR or FPCR
  bool changed_ = false;
};

// Runs f(thread, threads) once on every thread of an OpenMP team of
// `threads` (one parallel region), each thread under FtzScope(ftz).
template <class F>
void omp_region(int threads, bool ftz, F&& f) {
#pragma omp parallel num_threads(threads)
  {
    FtzScope mode(ftz);
    f(omp_get_thread_num(), omp_get_num_threads());
  }
}

}  // namespace cnn::par
