// The profiler's bookkeeping (kernels/profiler.h): the vocabulary check,
// scopes opened and closed in the trainer's thread, entries merged by
// operation name in first-seen order, misplaced reports (from a parallel
// region or another thread) counted and dropped.
#include "kernels/profiler.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace cnn {

int layer_group_of(const std::string& op) {
  for (int g = 0; g < kLayerGroupCount; ++g) {
    // op must be layers[first..last] of this group joined by '+', for some
    // first <= last: a fused name keeps the network order and skips nothing.
    const LayerGroup& lg = kLayerGroups[g];
    for (int first = 0; first < lg.count; ++first) {
      std::string joined;
      for (int last = first; last < lg.count; ++last) {
        joined += (last > first ? "+" : "") + std::string(lg.layers[last]);
        if (joined == op) return g;
      }
    }
  }
  return -1;
}

bool canonical_op(const std::string& op, OpKind kind) {
  if (kind == OpKind::layer) return layer_group_of(op) >= 0;
  for (const char* name : kOutsideOps)
    if (op == name) return true;
  return false;
}

bool Profiler::misplaced_call() const {
  return omp_in_parallel() || std::this_thread::get_id() != owner_;
}

std::string Profiler::check(const char* op, OpKind kind, int group, bool known) const {
  if (!known && !canonical_op(op, kind))
    return "'" + std::string(op) + "' is not a canonical " +
           (kind == OpKind::layer ? "layer operation" : "outside-the-layers operation") +
           " name (kernels/profiler.h lists the vocabulary)";
  // The innermost recorded scope decides what may nest in it.
  for (auto it = open_.rbegin(); it != open_.rend(); ++it) {
    if (it->rejected) continue;
    if (kind != OpKind::layer || it->kind != OpKind::layer || it->group != group)
      return "'" + std::string(op) + "' is reported inside '" + it->op +
             "': a scope may only nest in a scope of its own layer group";
    break;
  }
  return "";
}

void Profiler::reject(const std::string& why) {
#ifndef NDEBUG
  std::fprintf(stderr, "profiler: %s\n", why.c_str());
  std::abort();
#endif
  for (const auto& e : errors_)
    if (e == why) return;
  errors_.push_back(why);
}

void Profiler::enter(const char* op, OpKind kind) {
  if (misplaced_call()) {
    misplaced_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The entry already seen under this name knows its group: the common
  // case costs a few short string compares, no allocation.
  const Entry* seen = nullptr;
  for (const auto& e : entries_)
    if (e.kind == kind && std::strcmp(e.op.c_str(), op) == 0) seen = &e;
  const int group = seen ? seen->group : kind == OpKind::layer ? layer_group_of(op) : -1;
  const std::string why = check(op, kind, group, seen != nullptr);
  if (!why.empty()) reject(why);
  open_.push_back({op, kind, group, !why.empty()});
}

void Profiler::leave(double seconds, double flops) {
  // A misplaced report was already counted by the matching enter().
  if (misplaced_call() || open_.empty()) return;
  const Open o = open_.back();
  open_.pop_back();
  if (o.rejected) return;
  bool nested = false;
  for (const auto& outer : open_) nested = nested || !outer.rejected;
  for (auto& e : entries_) {
    if (e.kind == o.kind && std::strcmp(e.op.c_str(), o.op) == 0) {
      e.calls++;
      e.seconds += seconds;
      e.flops += flops;
      e.nested = e.nested || nested;
      return;
    }
  }
  entries_.push_back({o.op, o.kind, o.group, nested, 1, seconds, flops});
}

}  // namespace cnn
