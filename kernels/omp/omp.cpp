// The omp backend object. Each primitive is one parallel region. Without a
// profiler the composite steps fuse a whole step into one region (forward:
// conv, pool and fc per sample while its activations are still in cache;
// backward: fc input gradient, pool backward and image padding per sample,
// plus the fc weight rows, one barrier, then the conv filters), so a
// training batch costs two fork/joins and one barrier; the loss and the SGD
// update are serial. With a profiler attached each step runs as one region
// per layer group instead, so that every group is timed on its own; the
// per-sample and per-unit work is the same either way. See omp.h for why the
// results do not depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/common/fc_bwd_db.h"
#include "kernels/common/parallel.h"
#include "kernels/flops.h"
#include "kernels/naive/naive.h"
#include "kernels/omp/omp.h"
#include "kernels/profiler.h"

namespace cnn {

namespace {

using par::FtzScope;
using par::Range;
using par::split_range;

// fc dW rows per work unit: 32 rows x 10 floats = 1280 bytes = 20 cache
// lines; 49 units. The extra unit kRowUnits sums fc db.
constexpr int kRowsPerUnit = 32;
constexpr int kRowUnits = (kFeatures + kRowsPerUnit - 1) / kRowsPerUnit;
// SGD elements per granule of the split: one cache line.
constexpr int kLineFloats = int(kAlign / sizeof(float));

// Work-shared loops for the threads of a region (orphaned `omp for`): each i
// in [0, count) is handed to whichever thread asks next (schedule(dynamic)).
// each() ends with the loop's barrier, each_nowait() does not.
template <class F>
void each(int count, F&& f) {
#pragma omp for schedule(dynamic)
  for (int i = 0; i < count; ++i) f(i);
}
template <class F>
void each_nowait(int count, F&& f) {
#pragma omp for schedule(dynamic) nowait
  for (int i = 0; i < count; ++i) f(i);
}

// Sample n of a per-sample operation: naive's loop on that sample's slices.
void conv_fwd_sample_omp(int n, const float* x, const float* w, const float* b, float* act) {
  conv_fwd_naive(1, x + std::size_t(n) * kImgPixels, w, b, act + std::size_t(n) * kActSize);
}
void pool_fwd_sample_omp(int n, const float* act, float* pooled, std::uint8_t* winner) {
  pool_fwd_naive(1, act + std::size_t(n) * kActSize, pooled + std::size_t(n) * kFeatures,
                 winner + std::size_t(n) * kFeatures);
}
void fc_fwd_sample_omp(int n, const float* in, const float* w, const float* b, float* logits) {
  fc_fwd_naive(1, in + std::size_t(n) * kFeatures, w, b, logits + std::size_t(n) * kClasses);
}
void fc_bwd_din_sample_omp(int n, const float* w, const float* d, float* din) {
  fc_bwd_din_naive(1, w, d + std::size_t(n) * kClasses, din + std::size_t(n) * kFeatures);
}
void pool_bwd_sample_omp(int n, const float* dpooled, const std::uint8_t* winner, const float* act,
                         float* dact) {
  pool_bwd_naive(1, dpooled + std::size_t(n) * kFeatures, winner + std::size_t(n) * kFeatures,
                 act + std::size_t(n) * kActSize, dact + std::size_t(n) * kActSize);
}
// x (B,784) -> xpad (B,912): frame n
void conv_bwd_pad_sample_omp(int n, const float* x, float* xpad) {
  conv_bwd_pad_naive(x + std::size_t(n) * kImgPixels, xpad + std::size_t(n) * kPadStride);
}

// fc dW in row blocks plus one unit for db, work-shared; ends with a barrier.
void fc_bwd_rows_omp(int B, const float* in, const float* d, float* dw, float* db) {
  each(kRowUnits + 1, [&](int u) {
    if (u == kRowUnits) {
      fc_bwd_db(B, d, db);
      return;
    }
    const int i0 = u * kRowsPerUnit, i1 = std::min(kFeatures, i0 + kRowsPerUnit);
    fc_bwd_dw_omp(B, in, d, i0, i1, dw);
  });
}

// xpad (B,912) dact (B,8,28,28) -> dw (72), db (8), one filter per unit
// [overwritten], work-shared; ends with a barrier.
void conv_bwd_filters_omp(int B, const float* xpad, const float* dact, float* dw, float* db) {
  each(kConvC, [&](int oc) {
    float* dwf = dw + oc * kKernelSize;
    for (int k = 0; k < kKernelSize; ++k) dwf[k] = 0.0f;
    db[oc] = 0.0f;
    conv_bwd_filter_naive(B, xpad, kPadStride, dact + oc * kImgPixels, dwf, db + oc);
  });
}

class OmpBackend final : public Backend {
 public:
  OmpBackend(int threads, bool ftz) : threads_(std::max(1, threads)), ftz_(ftz) {}

  std::string name() const override { return "omp"; }
  int threads() const override { return threads_; }
  void prepare(int max_batch) override {
    // Grows only: a later, smaller prepare keeps the larger buffer.
    if (max_batch > capacity_) {
      xpad_.resize(std::size_t(max_batch) * kPadStride);
      capacity_ = max_batch;
    }
  }

  // ---- Primitives: one region each -----------------------------------
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    for_each_sample(B, [&](int n) { conv_fwd_sample_omp(n, x, w, b, act); });
  }
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
    for_each_sample(B, [&](int n) { pool_fwd_sample_omp(n, act, pooled, winner); });
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) override {
    for_each_sample(B, [&](int n) { fc_fwd_sample_omp(n, in, w, b, logits); });
  }
  float softmax_xent(int B, const float* logits, const std::uint8_t* labels, float scale,
                     float* probs, float* dlogits) override {
    // Serial: the loss is summed in sample order by one thread, and a batch
    // is a few thousand flops, less than a fork/join costs.
    FtzScope ftz(ftz_);
    return softmax_xent_naive(B, logits, labels, scale, probs, dlogits);
  }
  void fc_bwd(int B, const float* in, const float* w, const float* d, float* dw, float* db,
              float* din) override {
    team([&] {
      if (din) each_nowait(B, [&](int n) { fc_bwd_din_sample_omp(n, w, d, din); });
      fc_bwd_rows_omp(B, in, d, dw, db);
    });
  }
  void pool_bwd(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                float* dact) override {
    for_each_sample(B, [&](int n) { pool_bwd_sample_omp(n, dpooled, winner, act, dact); });
  }
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    check_capacity(B);
    float* xpad = xpad_.data();
    team([&] {
      each(B, [&](int n) { conv_bwd_pad_sample_omp(n, x, xpad); });
      conv_bwd_filters_omp(B, xpad, dact, dw, db);
    });
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    team([&] {
      const Range r = split_range(int(n), omp_get_thread_num(), omp_get_num_threads(), kLineFloats);
      if (r.size() > 0) sgd_update_naive(lr, p + r.begin, g + r.begin, std::size_t(r.size()));
    });
  }

  // ---- Composite steps -------------------------------------------------
  void forward_train(int B, const Params& p, Workspace& ws) override {
    float* act = ws.act.data();
    float* pooled = ws.pooled.data();
    // Sample by sample: the 25 KB of activations of one sample are pooled
    // while still in L1.
    auto conv_pool = [&](int n) {
      conv_fwd_sample_omp(n, ws.x.data(), p.conv_w.data(), p.conv_b.data(), act);
      pool_fwd_sample_omp(n, act, pooled, ws.winner.data());
    };
    if (!prof_) {
      for_each_sample(B, [&](int n) {
        conv_pool(n);
        fc_fwd_sample_omp(n, pooled, p.fc_w.data(), p.fc_b.data(), ws.logits.data());
      });
      return;
    }
    {
      OpScope s(prof_, "conv_fwd+pool_fwd", flops::conv_fwd(B) + flops::pool_fwd(B));
      for_each_sample(B, conv_pool);
    }
    OpScope s(prof_, "fc_fwd", flops::fc_fwd(B));
    fc_fwd(B, pooled, p.fc_w.data(), p.fc_b.data(), ws.logits.data());
  }

  void backward(int B, const Params& p, Workspace& ws, Params& g) override {
    check_capacity(B);
    float* xpad = xpad_.data();
    auto pool_pad = [&](int n) {
      pool_bwd_sample_omp(n, ws.dpooled.data(), ws.winner.data(), ws.act.data(), ws.dact.data());
      conv_bwd_pad_sample_omp(n, ws.x.data(), xpad);
    };
    if (!prof_) {
      team([&] {
        each_nowait(B, [&](int n) {
          fc_bwd_din_sample_omp(n, p.fc_w.data(), ws.dlogits.data(), ws.dpooled.data());
          pool_pad(n);
        });
        // The fc weight gradient reads only pooled and dlogits: no barrier
        // before it; its loop ends with one, which the filters need.
        fc_bwd_rows_omp(B, ws.pooled.data(), ws.dlogits.data(), g.fc_w.data(), g.fc_b.data());
        conv_bwd_filters_omp(B, xpad, ws.dact.data(), g.conv_w.data(), g.conv_b.data());
      });
      return;
    }
    {
      OpScope s(prof_, "fc_bwd", flops::fc_bwd(B));
      fc_bwd(B, ws.pooled.data(), p.fc_w.data(), ws.dlogits.data(), g.fc_w.data(), g.fc_b.data(),
             ws.dpooled.data());
    }
    OpScope s(prof_, "pool_bwd+conv_bwd", flops::pool_bwd(B) + flops::conv_bwd(B));
    team([&] {
      each(B, pool_pad);
      conv_bwd_filters_omp(B, xpad, ws.dact.data(), g.conv_w.data(), g.conv_b.data());
    });
  }

  // Serial on purpose: 15,770 multiply-subtracts take a few microseconds,
  // about what a fork/join costs on an idle machine, and every fork/join is
  // a point where a thread descheduled by another process stalls the team.
  void update(float lr, Params& p, const Params& g) override {
    OpScope scope(prof_, "sgd_update", flops::sgd_update());
    FtzScope ftz(ftz_);
    sgd_update_naive(lr, p.fc_w.data(), g.fc_w.data(), kFcWSize);
    sgd_update_naive(lr, p.fc_b.data(), g.fc_b.data(), kClasses);
    sgd_update_naive(lr, p.conv_w.data(), g.conv_w.data(), kConvWSize);
    sgd_update_naive(lr, p.conv_b.data(), g.conv_b.data(), kConvC);
  }

 private:
  // One parallel region of the backend's team, FTZ set in every thread; f()
  // runs on each thread and shares out its loops with each()/each_nowait().
  template <class F>
  void team(F&& f) {
    par::omp_region(threads_, ftz_, [&](int, int) { f(); });
  }
  // A region with one loop over the samples.
  template <class F>
  void for_each_sample(int B, F&& f) {
    team([&] { each(B, f); });
  }
  void check_capacity(int B) const {
    if (B > capacity_)
      throw std::logic_error("omp backend: batch " + std::to_string(B) +
                             " is larger than the prepare()d maximum " + std::to_string(capacity_));
  }

  int threads_;
  bool ftz_;
  int capacity_ = 0;
  Buffer<float> xpad_;  // (capacity, 912) zero-padded images for conv_bwd
};

}  // namespace

std::unique_ptr<Backend> make_omp_backend(int threads, bool ftz) {
  return std::make_unique<OmpBackend>(threads, ftz);
}

}  // namespace cnn
