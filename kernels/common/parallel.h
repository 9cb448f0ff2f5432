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
//  - batch_chunk / ChunkSlots: a split of a batch into a FIXED set of chunks
//    (a function of the batch size only) with one gradient slot per chunk,
//    padded to whole cache lines, and a reduction that adds the slots in
//    chunk order. Threads may take any chunks; the sums are the same.
//  - FtzScope: flush-to-zero / denormals-are-zero on the calling thread for
//    a scope (x86 MXCSR; a no-op elsewhere), restored on exit so the caller's
//    floating-point mode is never leaked.
#pragma once

#include <cstddef>

#include "kernels/buffer.h"

namespace cnn::par {

struct Range {
  int begin = 0, end = 0;
  int size() const { return end - begin; }
};

// Part `part` of `parts` of [0, n) split into granules of `grain` items
// (the last granule may be short); parts get a balanced number of granules
// (they differ by at most one), in order, so the ranges tile [0, n).
Range split_range(int n, int part, int parts, int grain = 1);

// The batch is split into min(B, kBatchChunks) chunks of balanced contiguous
// sample ranges. The split depends on B only, never on the thread count.
constexpr int kBatchChunks = 16;
int batch_chunks(int B);
Range batch_chunk(int B, int chunk);

// One gradient slot of n floats per chunk, each starting on its own cache
// line (the stride is rounded up to 64 bytes), allocated once.
class ChunkSlots {
 public:
  ChunkSlots() = default;
  ChunkSlots(int chunks, std::size_t n);
  int chunks() const { return chunks_; }
  std::size_t size() const { return n_; }
  std::size_t stride() const { return stride_; }  // floats between slots
  float* slot(int c) { return buf_.data() + std::size_t(c) * stride_; }
  const float* slot(int c) const { return buf_.data() + std::size_t(c) * stride_; }

  // out[i] = ((slot0[i] + slot1[i]) + slot2[i]) + ... over the first k slots,
  // for i in [begin, end): the chunk order is fixed, so any split of the
  // index range among threads gives the same bits. 1 <= k <= chunks() and
  // end <= size(), else std::out_of_range.
  void reduce_range(int k, float* out, std::size_t begin, std::size_t end) const;
  // The same over [0, n), split among `threads` OpenMP threads (a parallel
  // region of its own; call it outside one). Split on cache-line granules.
  void reduce(int k, float* out, int threads) const;

 private:
  int chunks_ = 0;
  std::size_t n_ = 0, stride_ = 0;
  Buffer<float> buf_;
};

// True where FtzScope can change the mode (x86); elsewhere it does nothing.
bool ftz_supported();
// Whether flush-to-zero and denormals-are-zero are both on in this thread.
bool ftz_enabled();

// Sets (on = true) or clears (on = false) FTZ and DAZ on the calling thread
// for its lifetime; the previous MXCSR is restored on destruction. Construct
// one at the top of every parallel region, in every thread: MXCSR is per
// thread and pool threads do not inherit the master's.
class FtzScope {
 public:
  explicit FtzScope(bool on);
  ~FtzScope();
  FtzScope(const FtzScope&) = delete;
  FtzScope& operator=(const FtzScope&) = delete;

 private:
  unsigned saved_ = 0;
  bool changed_ = false;
};

}  // namespace cnn::par
