// The profiler's bookkeeping (kernels/profiler.h): scopes opened and closed
// in the trainer's thread, entries merged by operation name in first-seen
// order, misplaced reports (from a parallel region or another thread)
// counted and dropped.
#include "kernels/profiler.h"

#include <omp.h>

#include <thread>

namespace cnn {

bool Profiler::misplaced_call() {
  if (!omp_in_parallel() && std::this_thread::get_id() == owner_) return false;
  misplaced_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Profiler::enter() {
  if (!misplaced_call()) ++depth_;
}

void Profiler::add(const char* op, double seconds, double flops, OpKind kind) {
  // A misplaced report was already counted by the matching enter().
  if (omp_in_parallel() || std::this_thread::get_id() != owner_) return;
  const bool nested = --depth_ > 0;
  for (auto& e : entries_) {
    if (e.op == op) {
      e.calls++;
      e.seconds += seconds;
      e.flops += flops;
      e.nested = e.nested || nested;
      return;
    }
  }
  entries_.push_back({op, kind, nested, 1, seconds, flops});
}

}  // namespace cnn
