// Per-operation timing sink. Backends report each operation they run through
// an OpScope; with no profiler attached (the default) an OpScope is a single
// null-pointer test, so profiling costs nothing when it is off.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace cnn {

class Profiler {
 public:
  struct Entry {
    std::string op;
    long calls = 0;
    double seconds = 0;
    double flops = 0;
  };
  void add(const char* op, double seconds, double flops);
  const std::vector<Entry>& entries() const { return entries_; }
  void clear() { entries_.clear(); }

 private:
  std::vector<Entry> entries_;  // in first-seen order: the order of a step
};

class OpScope {
 public:
  OpScope(Profiler* p, const char* op, double flops) : p_(p), op_(op), flops_(flops) {
    if (p_) t0_ = std::chrono::steady_clock::now();
  }
  ~OpScope() {
    if (p_)
      p_->add(op_, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(),
              flops_);
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  Profiler* p_;
  const char* op_;
  double flops_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace cnn
