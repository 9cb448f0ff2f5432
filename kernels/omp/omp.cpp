// The omp backend object. Each primitive is one parallel region; the
// composite steps fuse a whole step into one region (forward: conv, pool and
// fc per sample while its activations are still in cache; backward: fc input
// gradient, pool backward and image padding per sample, plus the fc weight
// rows, one barrier, then the conv filters); the loss and the SGD update are
// serial. A training batch costs two fork/joins and one barrier. See omp.h
// for why the results do not depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>

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
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
#pragma omp for schedule(dynamic)
      for (int n = 0; n < B; ++n)
        conv_fwd_naive(1, x + std::size_t(n) * kImgPixels, w, b, act + std::size_t(n) * kActSize);
    }
  }
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
#pragma omp for schedule(dynamic)
      for (int n = 0; n < B; ++n)
        pool_fwd_naive(1, act + std::size_t(n) * kActSize, pooled + std::size_t(n) * kFeatures,
                       winner + std::size_t(n) * kFeatures);
    }
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) override {
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
#pragma omp for schedule(dynamic)
      for (int n = 0; n < B; ++n)
        fc_fwd_naive(1, in + std::size_t(n) * kFeatures, w, b, logits + std::size_t(n) * kClasses);
    }
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
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
      if (din) {
#pragma omp for schedule(dynamic) nowait
        for (int n = 0; n < B; ++n) fc_bwd_din_omp(n, n + 1, w, d, din);
      }
      fc_rows(B, in, d, dw, db);
    }
  }
  void pool_bwd(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                float* dact) override {
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
#pragma omp for schedule(dynamic)
      for (int n = 0; n < B; ++n)
        pool_bwd_naive(1, dpooled + std::size_t(n) * kFeatures, winner + std::size_t(n) * kFeatures,
                       act + std::size_t(n) * kActSize, dact + std::size_t(n) * kActSize);
    }
  }
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    check_capacity(B);
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
#pragma omp for schedule(dynamic)
      for (int n = 0; n < B; ++n) conv_pad_omp(n, n + 1, x, xpad_.data());
      conv_filters(B, dact, dw, db);
    }
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
      const Range r =
          split_range(int(n), omp_get_thread_num(), omp_get_num_threads(), kLineFloats);
      if (r.size() > 0) sgd_update_naive(lr, p + r.begin, g + r.begin, std::size_t(r.size()));
    }
  }

  // ---- Composite steps: one region each --------------------------------
  void forward_train(int B, const Params& p, Workspace& ws) override {
    OpScope scope(prof_, "fwd[conv+pool+fc]", flops::conv_fwd(B) + flops::pool_fwd(B) + flops::fc_fwd(B));
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
      // Sample by sample: the 25 KB of activations of one sample are pooled
      // while still in L1.
#pragma omp for schedule(dynamic)
      for (int n = 0; n < B; ++n) {
        float* act = ws.act.data() + std::size_t(n) * kActSize;
        float* pooled = ws.pooled.data() + std::size_t(n) * kFeatures;
        conv_fwd_naive(1, ws.x.data() + std::size_t(n) * kImgPixels, p.conv_w.data(),
                       p.conv_b.data(), act);
        pool_fwd_naive(1, act, pooled, ws.winner.data() + std::size_t(n) * kFeatures);
        fc_fwd_naive(1, pooled, p.fc_w.data(), p.fc_b.data(),
                     ws.logits.data() + std::size_t(n) * kClasses);
      }
    }
  }

  void backward(int B, const Params& p, Workspace& ws, Params& g) override {
    OpScope scope(prof_, "bwd[fc+pool+conv]", flops::fc_bwd(B) + flops::pool_bwd(B) + flops::conv_bwd(B));
    check_capacity(B);
#pragma omp parallel num_threads(threads_)
    {
      FtzScope ftz(ftz_);
#pragma omp for schedule(dynamic) nowait
      for (int n = 0; n < B; ++n) {
        fc_bwd_din_omp(n, n + 1, p.fc_w.data(), ws.dlogits.data(), ws.dpooled.data());
        pool_bwd_naive(1, ws.dpooled.data() + std::size_t(n) * kFeatures,
                       ws.winner.data() + std::size_t(n) * kFeatures,
                       ws.act.data() + std::size_t(n) * kActSize,
                       ws.dact.data() + std::size_t(n) * kActSize);
        conv_pad_omp(n, n + 1, ws.x.data(), xpad_.data());
      }
      // The fc weight gradient reads only pooled and dlogits: no barrier
      // before it; its loop ends with one, which the filters need.
      fc_rows(B, ws.pooled.data(), ws.dlogits.data(), g.fc_w.data(), g.fc_b.data());
      conv_filters(B, ws.dact.data(), g.conv_w.data(), g.conv_b.data());
    }
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
  void check_capacity(int B) const {
    if (B > capacity_)
      throw std::logic_error("omp backend: batch " + std::to_string(B) +
                             " is larger than the prepare()d maximum " + std::to_string(capacity_));
  }
  // Work-shared loops, called by every thread of a region. Each ends with
  // the loop's implicit barrier.
  // fc dW in row blocks, plus one unit for db.
  static void fc_rows(int B, const float* in, const float* d, float* dw, float* db) {
#pragma omp for schedule(dynamic)
    for (int u = 0; u <= kRowUnits; ++u) {
      if (u == kRowUnits) {
        fc_bwd_db_omp(B, d, db);
      } else {
        const int i0 = u * kRowsPerUnit, i1 = std::min(kFeatures, i0 + kRowsPerUnit);
        fc_bwd_dw_omp(B, in, d, i0, i1, dw);
      }
    }
  }
  void conv_filters(int B, const float* dact, float* dw, float* db) {
#pragma omp for schedule(dynamic)
    for (int oc = 0; oc < kConvC; ++oc) conv_bwd_omp(B, xpad_.data(), dact, oc, dw, db);
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
