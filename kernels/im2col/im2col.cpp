// The im2col backend object: owns the GEMM (with one pack slot per thread)
// and the patch matrices of the largest batch, and runs every step as ONE
// OpenMP region in which each thread works through its own share with no
// barrier inside (a 2-core machine shared with other work makes every
// barrier cost up to a scheduler time slice). With a profiler attached, each
// step runs as one region per layer group instead, so that every group is
// timed on its own scope ({conv_fwd, pool_fwd}, {fc_fwd}; {fc_bwd},
// {pool_bwd, conv_bwd}); the per-thread work and the results are the same.
// The fused steps:
//  forward:  for each of the thread's samples: patches -> conv GEMM (+bias,
//            ReLU) -> max-pool, while the sample's 25 KiB of activations are
//            in L1; then the FC GEMM over the same samples' rows.
//  backward: FC weight gradient over the thread's share of the 1568
//            features; FC input gradient over its samples, then for each of
//            them pool backward -> conv weight-gradient GEMM against the
//            patches the forward step built.
// The fused steps order each sample's pixels by pooling window (patches.cpp,
// conv_fwd_patches_quad_im2col): the convolution then writes the four
// pixels of a window 196 floats apart and pooling, forward and backward,
// works on whole vectors; the weight gradient sums over the pixels in that
// order.
// Every output element is computed by one thread, the same way whatever
// the split, and the per-sample partial conv gradients are summed in sample
// order after the region, so results do not depend on the thread count.
// With BackendOptions::ftz (the default) every step runs with flush-to-zero
// and denormals-are-zero, set on each thread of a region.
//
// The fused steps do not fill ws.act and ws.dact: nothing after them reads
// them. The backward step takes the ReLU mask from the pooled value instead
// of the activation: the gradient reaches only the window's winner, whose
// activation IS the pooled value, so "act <= 0 at the winner" is "pooled <=
// 0". The 2 x 25 KiB per sample of act and dact thus never leave the cache.
// The primitives fill every output of kernels/backend.h as usual.
#include "kernels/im2col/im2col.h"

#include <algorithm>

#include "kernels/common/fc_bwd_db.h"
#include "kernels/common/parallel.h"
#include "kernels/flops.h"
#include "kernels/naive/naive.h"
#include "kernels/profiler.h"

namespace cnn {

namespace {

using par::Range;
using par::split_range;

// FC weight-gradient rows per granule: 16 rows of 10 floats are 10 whole
// cache lines, so two threads never write the same line.
constexpr int kFeatureGrain = 16;

class Im2colBackend final : public Backend {
 public:
  explicit Im2colBackend(const BackendOptions& opt)
      : threads_(std::max(1, opt.threads)), ftz_(opt.ftz), gemm_(opt.isa, threads_) {}

  std::string name() const override { return "im2col"; }
  std::string isa() const override { return gemm_.isa(); }
  int threads() const override { return threads_; }

  void prepare(int max_batch) override { reserve(max_batch); }

  // ---- Primitives: each one region, samples (or features) split. ----
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    reserve(B);
    patches_of_ = nullptr;
    each_sample(B, [&](int tid, int n) {
      conv_fwd_patches_im2col(x + std::size_t(n) * kImgPixels, pt(n));
      conv_fwd_sample_im2col(gemm_, tid, pt(n), w, b, act + std::size_t(n) * kActSize);
    });
  }
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
    each_sample(B, [&](int, int n) {
      pool_fwd_sample_im2col(act + std::size_t(n) * kActSize, pooled + std::size_t(n) * kFeatures,
                             winner + std::size_t(n) * kFeatures);
    });
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) override {
    team([&](int tid, int nt) { fc_fwd_share(B, tid, nt, in, w, b, logits); });
  }
  float softmax_xent(int B, const float* logits, const std::uint8_t* labels, float scale,
                     float* probs, float* dlogits) override {
    par::FtzScope mode(ftz_);
    return softmax_xent_naive(B, logits, labels, scale, probs, dlogits);
  }
  void fc_bwd(int B, const float* in, const float* w, const float* d, float* dw, float* db,
              float* din) override {
    team([&](int tid, int nt) { fc_bwd_share(B, tid, nt, in, w, d, dw, din); });
    par::FtzScope mode(ftz_);
    fc_bwd_db(B, d, db);
  }
  void pool_bwd(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                float* dact) override {
    each_sample(B, [&](int, int n) {
      pool_bwd_sample_im2col(dpooled + std::size_t(n) * kFeatures,
                             winner + std::size_t(n) * kFeatures, act + std::size_t(n) * kActSize,
                             dact + std::size_t(n) * kActSize);
    });
  }
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    reserve(B);
    patches_of_ = nullptr;
    each_sample(B, [&](int tid, int n) {
      conv_fwd_patches_im2col(x + std::size_t(n) * kImgPixels, pt(n));
      conv_bwd_sample_im2col(gemm_, tid, pt(n), dact + std::size_t(n) * kActSize, part(n));
    });
    par::FtzScope mode(ftz_);
    conv_bwd_reduce_im2col(B, part_.data(), dw, db);
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    par::FtzScope mode(ftz_);
    sgd_update_naive(lr, p, g, n);
  }

  // ---- Composite steps: one region each (one per layer group when profiled). ----
  void forward_train(int B, const Params& p, Workspace& ws) override {
    forward(B, p, ws);
    // backward() reuses these patches: they are ws.x's, for batch B.
    patches_of_ = ws.x.data();
    patches_batch_ = B;
  }
  void forward_infer(int B, const Params& p, Workspace& ws) override { forward(B, p, ws); }

  void backward(int B, const Params& p, Workspace& ws, Params& g) override {
    reserve(B);
    // The patches are still valid when the last thing run was forward_train
    // on this workspace (the trainer's order); otherwise they are rebuilt.
    const bool reuse = patches_of_ == ws.x.data() && patches_batch_ == B;
    const float* pooled = ws.pooled.data();
    const float* d = ws.dlogits.data();
    if (!prof_) {
      // Each thread's pool/conv samples are the ones whose dpooled rows it
      // has just written: no barrier between the two.
      team([&](int tid, int nt) {
        fc_bwd_share(B, tid, nt, pooled, p.fc_w.data(), d, g.fc_w.data(), ws.dpooled.data());
        pool_conv_bwd_share(B, tid, nt, reuse, ws);
      });
      par::FtzScope mode(ftz_);
      fc_bwd_db(B, d, g.fc_b.data());
      conv_bwd_reduce_im2col(B, part_.data(), g.conv_w.data(), g.conv_b.data());
    } else {
      {
        OpScope s(prof_, "fc_bwd", flops::fc_bwd(B));
        fc_bwd(B, pooled, p.fc_w.data(), d, g.fc_w.data(), g.fc_b.data(), ws.dpooled.data());
      }
      OpScope s(prof_, "pool_bwd+conv_bwd", flops::pool_bwd(B) + flops::conv_bwd(B));
      team([&](int tid, int nt) { pool_conv_bwd_share(B, tid, nt, reuse, ws); });
      par::FtzScope mode(ftz_);
      conv_bwd_reduce_im2col(B, part_.data(), g.conv_w.data(), g.conv_b.data());
    }
    patches_of_ = ws.x.data();
    patches_batch_ = B;
  }

 private:
  // One region of the backend's team: f(tid, nt) on every thread, under FTZ
  // as configured.
  template <class F>
  void team(F&& f) {
    par::omp_region(threads_, ftz_, f);
  }
  // One region; f(tid, n) for every sample n of thread tid's share.
  template <class F>
  void each_sample(int B, F&& f) {
    team([&](int tid, int nt) {
      const Range r = split_range(B, tid, nt);
      for (int n = r.begin; n < r.end; ++n) f(tid, n);
    });
  }

  void forward(int B, const Params& p, Workspace& ws) {
    reserve(B);
    patches_of_ = nullptr;
    const float* pooled = ws.pooled.data();
    if (!prof_) {
      // Each thread's FC rows are the samples it has just pooled: no
      // barrier between the two.
      team([&](int tid, int nt) {
        conv_pool_fwd_share(B, tid, nt, p, ws);
        fc_fwd_share(B, tid, nt, pooled, p.fc_w.data(), p.fc_b.data(), ws.logits.data());
      });
      return;
    }
    {
      OpScope s(prof_, "conv_fwd+pool_fwd", flops::conv_fwd(B) + flops::pool_fwd(B));
      team([&](int tid, int nt) { conv_pool_fwd_share(B, tid, nt, p, ws); });
    }
    OpScope s(prof_, "fc_fwd", flops::fc_fwd(B));
    fc_fwd(B, pooled, p.fc_w.data(), p.fc_b.data(), ws.logits.data());
  }

  // ---- Thread tid's share (of nt) of one layer group ----
  // Its samples: window-order patches -> conv GEMM (+bias, ReLU) -> max-pool,
  // each sample's activations in the thread's scratch, so they stay in L1.
  void conv_pool_fwd_share(int B, int tid, int nt, const Params& p, Workspace& ws) {
    const Range r = split_range(B, tid, nt);
    float* an = scratch(tid);
    for (int n = r.begin; n < r.end; ++n) {
      conv_fwd_patches_quad_im2col(ws.x.data() + std::size_t(n) * kImgPixels, pt(n));
      conv_fwd_sample_im2col(gemm_, tid, pt(n), p.conv_w.data(), p.conv_b.data(), an);
      pool_fwd_quad_sample_im2col(an, ws.pooled.data() + std::size_t(n) * kFeatures,
                                  ws.winner.data() + std::size_t(n) * kFeatures);
    }
  }
  // Its samples' logits.
  void fc_fwd_share(int B, int tid, int nt, const float* in, const float* w, const float* b,
                    float* logits) {
    const Range r = split_range(B, tid, nt);
    if (r.size() > 0) fc_fwd_im2col(gemm_, tid, r.begin, r.end, in, w, b, logits);
  }
  // Its granules of the 1568 weight-gradient rows, and its samples' input
  // gradient (din may be nullptr: skipped). The bias gradient is serial.
  void fc_bwd_share(int B, int tid, int nt, const float* in, const float* w, const float* d,
                    float* dw, float* din) {
    const Range f = split_range(kFeatures, tid, nt, kFeatureGrain);
    if (f.size() > 0) fc_bwd_dw_im2col(gemm_, tid, B, f.begin, f.end, in, d, dw);
    const Range r = split_range(B, tid, nt);
    if (din && r.size() > 0) fc_bwd_din_im2col(gemm_, tid, r.begin, r.end, d, w, din);
  }
  // Its samples: pool backward with the ReLU mask into the thread's scratch
  // (L1), then the conv weight-gradient GEMM against the window-order
  // patches (rebuilt unless `reuse`), into the sample's partial gradient.
  void pool_conv_bwd_share(int B, int tid, int nt, bool reuse, const Workspace& ws) {
    const Range r = split_range(B, tid, nt);
    float* dn = scratch(tid);
    for (int n = r.begin; n < r.end; ++n) {
      const std::size_t f = std::size_t(n) * kFeatures;
      pool_bwd_quad_sample_im2col(ws.dpooled.data() + f, ws.winner.data() + f, ws.pooled.data() + f,
                                  dn);
      if (!reuse) conv_fwd_patches_quad_im2col(ws.x.data() + std::size_t(n) * kImgPixels, pt(n));
      conv_bwd_sample_im2col(gemm_, tid, pt(n), dn, part(n));
    }
  }

  // Sizes the patch and partial-gradient buffers for batch B. prepare()
  // calls it with the largest batch, so inside training it never allocates;
  // a primitive called with a larger batch than prepared grows them once.
  void reserve(int B) {
    if (B <= capacity_) return;
    pt_.resize(std::size_t(B) * kPatchSize);
    part_.resize(std::size_t(B) * kConvC * kPatchRows);
    // Row 9 of every sample's patch matrix: ones, written once (im2col
    // writes only rows 0..8), so column 9 of the weight-gradient product is
    // the bias gradient.
    for (int n = 0; n < B; ++n) std::fill_n(pt(n) + kKernelSize * kImgPixels, kImgPixels, 1.0f);
    if (scratch_.size() == 0) scratch_.resize(std::size_t(threads_) * kActSize);
    capacity_ = B;
    patches_of_ = nullptr;
  }
  float* pt(int n) { return pt_.data() + std::size_t(n) * kPatchSize; }
  float* part(int n) { return part_.data() + std::size_t(n) * kConvC * kPatchRows; }
  float* scratch(int tid) { return scratch_.data() + std::size_t(tid) * kActSize; }
  // pt_ holds window-order patches after the composite steps and image-order
  // patches after the primitives; patches_of_ is only set by the former.

  int threads_;
  bool ftz_;
  gemm::Gemm gemm_;
  int capacity_ = 0;
  Buffer<float> pt_;                   // (capacity, 10, 784) patch matrices P^T plus the ones row
  Buffer<float> part_;                 // (capacity, 8, 10) per-sample conv gradients
  Buffer<float> scratch_;              // (threads, 8, 28, 28) one sample's act or dact per thread
  const float* patches_of_ = nullptr;  // the x whose patches pt_ holds (composite steps)
  int patches_batch_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_im2col_backend(const BackendOptions& opt) {
  return std::make_unique<Im2colBackend>(opt);
}

}  // namespace cnn
