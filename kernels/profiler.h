// Per-operation timing sink. Backends report each operation they run through
// an OpScope; with no profiler attached (the default) an OpScope is a single
// null-pointer test, so profiling costs nothing when it is off.
//
// The sink, not a decorator Backend, is the "profiling wrapper": a backend
// that fuses operations (overriding a composite step) reports its fused
// operation under its own name with its combined FLOP count, and the profile
// shows whatever was reported, in first-seen order.
//
// Rules the profiler checks rather than trusts:
//  - OpScope belongs in the calling (trainer) thread, around a call that may
//    open a parallel region, never inside one: the profiler is not
//    thread-safe. A report from inside an OpenMP parallel region or from
//    another thread is dropped and counted in misplaced().
//  - Scopes may nest (a composite scope around primitive scopes); an entry
//    recorded while another scope was open is marked nested, so the time of
//    the whole step is counted once when shares are computed.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace cnn {

// A layer operation of the network, or work of the trainer outside the
// layers (gathering a batch) that the profile reports separately.
enum class OpKind { layer, outside };

class Profiler {
 public:
  struct Entry {
    std::string op;
    OpKind kind = OpKind::layer;
    bool nested = false;  // recorded inside another open scope
    long calls = 0;
    double seconds = 0;
    double flops = 0;  // summed over calls (kernels/flops.h counts)
  };
  Profiler() : owner_(std::this_thread::get_id()) {}

  // Opens a scope; add() closes the innermost one and records it.
  void enter();
  void add(const char* op, double seconds, double flops, OpKind kind = OpKind::layer);

  const std::vector<Entry>& entries() const { return entries_; }
  long misplaced() const { return misplaced_.load(std::memory_order_relaxed); }
  void clear() {
    entries_.clear();
    depth_ = 0;
    misplaced_ = 0;
  }

 private:
  std::thread::id owner_;
  int depth_ = 0;
  std::vector<Entry> entries_;  // in first-seen order: the order of a step
  std::atomic<long> misplaced_{0};
  bool misplaced_call();  // counts and returns true for a misplaced report
};

class OpScope {
 public:
  OpScope(Profiler* p, const char* op, double flops, OpKind kind = OpKind::layer)
      : p_(p), op_(op), flops_(flops), kind_(kind) {
    if (p_) {
      p_->enter();
      t0_ = std::chrono::steady_clock::now();
    }
  }
  ~OpScope() {
    if (p_)
      p_->add(op_, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(),
              flops_, kind_);
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  Profiler* p_;
  const char* op_;
  double flops_;
  OpKind kind_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace cnn
