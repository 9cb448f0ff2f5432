// Per-operation timing sink. Backends report each operation they run through
// an OpScope; with no profiler attached (the default) an OpScope is a single
// null-pointer test, so profiling costs nothing when it is off.
//
// One vocabulary for every backend, so that profiles of different backends
// have the same rows (src/profile_report.h). An OpScope names either
//  - one layer of the network: conv_fwd, pool_fwd, fc_fwd, softmax_xent,
//    fc_bwd, pool_bwd, conv_bwd, sgd_update; or
//  - the layers of ONE group below joined by '+' in network order, for a
//    kernel that truly fuses them: "conv_fwd+pool_fwd", "pool_bwd+conv_bwd".
// The layer groups, in network order (kLayerGroups):
//    conv+pool fwd  {conv_fwd, pool_fwd}      fc bwd         {fc_bwd}
//    fc fwd         {fc_fwd}                  pool+conv bwd  {pool_bwd, conv_bwd}
//    softmax xent   {softmax_xent}            sgd update     {sgd_update}
// No scope spans two groups: a backend that fuses a whole forward or
// backward step times it, when a profiler is attached, as one scope per
// group. Work of the trainer outside the layers is reported with
// OpKind::outside under a name of kOutsideOps ("gather").
//
// Rules the profiler checks rather than trusts:
//  - Every name is in the vocabulary, and a scope opened inside another one
//    belongs to the same layer group. Anything else is a programming error:
//    debug builds (no NDEBUG) abort on the spot, naming the operation;
//    release builds drop the scope (its time falls to "bookkeeping") and
//    keep the message in errors(), which the report prints and the tests
//    require to be empty for every backend at every ISA path.
//  - OpScope belongs in the calling (trainer) thread, around a call that may
//    open a parallel region, never inside one: the profiler is not
//    thread-safe. A report from inside an OpenMP parallel region or from
//    another thread is dropped and counted in misplaced().
//  - Scopes may nest (a fused scope around the layers it runs); an entry
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

// A group of adjacent layers that a backend may fuse into one kernel.
struct LayerGroup {
  const char* label;      // the profile's row name, e.g. "conv+pool fwd"
  const char* layers[2];  // canonical layer names, network order
  int count;              // how many of layers[] are used
};
inline constexpr LayerGroup kLayerGroups[] = {
    {"conv+pool fwd", {"conv_fwd", "pool_fwd"}, 2}, {"fc fwd", {"fc_fwd", nullptr}, 1},
    {"softmax xent", {"softmax_xent", nullptr}, 1}, {"fc bwd", {"fc_bwd", nullptr}, 1},
    {"pool+conv bwd", {"pool_bwd", "conv_bwd"}, 2}, {"sgd update", {"sgd_update", nullptr}, 1},
};
inline constexpr int kLayerGroupCount = int(sizeof kLayerGroups / sizeof kLayerGroups[0]);
// Names the trainer reports with OpKind::outside.
inline constexpr const char* kOutsideOps[] = {"gather"};

// The index in kLayerGroups of a canonical layer-operation name (one layer,
// or several of one group '+'-joined in network order); -1 for anything else.
int layer_group_of(const std::string& op);
// Whether `op` is in the vocabulary for its kind.
bool canonical_op(const std::string& op, OpKind kind);

class Profiler {
 public:
  struct Entry {
    std::string op;
    OpKind kind = OpKind::layer;
    int group = -1;       // index in kLayerGroups; -1 outside the layers
    bool nested = false;  // recorded inside another open scope
    long calls = 0;
    double seconds = 0;
    double flops = 0;  // summed over calls (kernels/flops.h counts)
  };
  Profiler() : owner_(std::this_thread::get_id()) {}

  // Opens a scope (checking its name); leave() closes the innermost one and
  // records it.
  void enter(const char* op, OpKind kind);
  void leave(double seconds, double flops);

  const std::vector<Entry>& entries() const { return entries_; }
  long misplaced() const { return misplaced_.load(std::memory_order_relaxed); }
  // Vocabulary violations (release builds only; debug builds abort).
  const std::vector<std::string>& errors() const { return errors_; }
  void clear() {
    entries_.clear();
    open_.clear();
    errors_.clear();
    misplaced_ = 0;
  }

 private:
  struct Open {
    const char* op;  // the caller's name (an OpScope's literal outlives it)
    OpKind kind;
    int group;
    bool rejected;  // not recorded when it closes
  };
  std::thread::id owner_;
  std::vector<Open> open_;      // the scopes open now, innermost last
  std::vector<Entry> entries_;  // in first-seen order: the order of a step
  std::vector<std::string> errors_;
  std::atomic<long> misplaced_{0};
  bool misplaced_call() const;  // true for a report from a parallel region or another thread
  // Why a scope may not open here, or "" when it may; `known` = already seen
  // under this name and kind, so in the vocabulary.
  std::string check(const char* op, OpKind kind, int group, bool known) const;
  void reject(const std::string& why);
};

class OpScope {
 public:
  OpScope(Profiler* p, const char* op, double flops, OpKind kind = OpKind::layer)
      : p_(p), flops_(flops) {
    if (p_) {
      p_->enter(op, kind);
      t0_ = std::chrono::steady_clock::now();
    }
  }
  ~OpScope() {
    if (p_)
      p_->leave(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(),
                flops_);
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  Profiler* p_;
  double flops_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace cnn
