// The im2col backend object: owns the GEMM (with one pack slot per thread)
// and the patch matrices of the largest batch, and runs every step as ONE
// OpenMP region in which each thread works through its own share with no
// barrier inside (a 2-core machine shared with other work makes every
// barrier cost up to a scheduler time slice):
//  forward:  for each of the thread's samples: patches -> conv GEMM (+bias,
//            ReLU) -> max-pool, while the sample's 25 KiB of activations are
//            in L1; then the FC GEMM over the same samples' rows.
//  backward: FC weight gradient over the thread's share of the 1568
//            features; FC input gradient over its samples, then for each of
//            them pool backward -> conv weight-gradient GEMM against the
//            patches the forward step built.
// The fused steps order each sample's pixels by pooling window (patches.cpp,
// im2col_patches_quad): the convolution then writes the four pixels of a
// window 196 floats apart and pooling, forward and backward, works on whole
// vectors; the weight gradient sums over the pixels in that order.
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

#include <omp.h>

#include <algorithm>

#include "kernels/common/parallel.h"
#include "kernels/flops.h"
#include "kernels/naive/naive.h"
#include "kernels/profiler.h"

namespace cnn {

namespace {

// Thread tid's contiguous share [lo, hi) of n items, in whole granules.
inline void share(int n, int tid, int nt, int& lo, int& hi, int grain = 1) {
  const int g = (n + grain - 1) / grain;
  lo = std::min(n, int(long(g) * tid / nt) * grain);
  hi = std::min(n, int(long(g) * (tid + 1) / nt) * grain);
}

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
    team([&](int tid, int nt) {
      int lo, hi;
      share(B, tid, nt, lo, hi);
      for (int n = lo; n < hi; ++n) {
        im2col_patches(x + std::size_t(n) * kImgPixels, pt(n));
        conv_fwd_sample_im2col(gemm_, tid, pt(n), w, b, act + std::size_t(n) * kActSize);
      }
    });
  }
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
    team([&](int tid, int nt) {
      int lo, hi;
      share(B, tid, nt, lo, hi);
      for (int n = lo; n < hi; ++n)
        pool_fwd_sample_im2col(act + std::size_t(n) * kActSize,
                               pooled + std::size_t(n) * kFeatures,
                               winner + std::size_t(n) * kFeatures);
    });
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) override {
    team([&](int tid, int nt) {
      int lo, hi;
      share(B, tid, nt, lo, hi);
      if (lo < hi) fc_fwd_rows_im2col(gemm_, tid, lo, hi, in, w, b, logits);
    });
  }
  float softmax_xent(int B, const float* logits, const std::uint8_t* labels, float scale,
                     float* probs, float* dlogits) override {
    par::FtzScope mode(ftz_);
    return softmax_xent_naive(B, logits, labels, scale, probs, dlogits);
  }
  void fc_bwd(int B, const float* in, const float* w, const float* d, float* dw, float* db,
              float* din) override {
    team([&](int tid, int nt) {
      int lo, hi;
      share(kFeatures, tid, nt, lo, hi, kFeatureGrain);
      if (lo < hi) fc_dw_rows_im2col(gemm_, tid, B, lo, hi, in, d, dw);
      share(B, tid, nt, lo, hi);
      if (din && lo < hi) fc_din_rows_im2col(gemm_, tid, lo, hi, d, w, din);
    });
    par::FtzScope mode(ftz_);
    fc_db_im2col(B, d, db);
  }
  void pool_bwd(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                float* dact) override {
    team([&](int tid, int nt) {
      int lo, hi;
      share(B, tid, nt, lo, hi);
      for (int n = lo; n < hi; ++n)
        pool_bwd_sample_im2col(dpooled + std::size_t(n) * kFeatures,
                               winner + std::size_t(n) * kFeatures,
                               act + std::size_t(n) * kActSize, dact + std::size_t(n) * kActSize);
    });
  }
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    reserve(B);
    patches_of_ = nullptr;
    team([&](int tid, int nt) {
      int lo, hi;
      share(B, tid, nt, lo, hi);
      for (int n = lo; n < hi; ++n) {
        im2col_patches(x + std::size_t(n) * kImgPixels, pt(n));
        conv_bwd_sample_im2col(gemm_, tid, pt(n), dact + std::size_t(n) * kActSize, part(n));
      }
    });
    par::FtzScope mode(ftz_);
    conv_bwd_reduce_im2col(B, part_.data(), dw, db);
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    par::FtzScope mode(ftz_);
    sgd_update_naive(lr, p, g, n);
  }

  // ---- Composite steps: one region each. ----
  void forward_train(int B, const Params& p, Workspace& ws) override {
    forward(B, p, ws);
    // backward() reuses these patches: they are ws.x's, for batch B.
    patches_of_ = ws.x.data();
    patches_batch_ = B;
  }
  void forward_infer(int B, const Params& p, Workspace& ws) override { forward(B, p, ws); }

  void backward(int B, const Params& p, Workspace& ws, Params& g) override {
    OpScope s(prof_, "fc_bwd+pool_bwd+conv_bwd",
              flops::fc_bwd(B) + flops::pool_bwd(B) + flops::conv_bwd(B));
    reserve(B);
    // The patches are still valid when the last thing run was forward_train
    // on this workspace (the trainer's order); otherwise they are rebuilt.
    const bool reuse = patches_of_ == ws.x.data() && patches_batch_ == B;
    const float* x = ws.x.data();
    const float* pooled = ws.pooled.data();
    const float* d = ws.dlogits.data();
    const float* fw = p.fc_w.data();
    const std::uint8_t* win = ws.winner.data();
    float* dpooled = ws.dpooled.data();
    float* fdw = g.fc_w.data();
    team([&](int tid, int nt) {
      int lo, hi;
      share(kFeatures, tid, nt, lo, hi, kFeatureGrain);
      if (lo < hi) fc_dw_rows_im2col(gemm_, tid, B, lo, hi, pooled, d, fdw);
      share(B, tid, nt, lo, hi);
      if (lo < hi) fc_din_rows_im2col(gemm_, tid, lo, hi, d, fw, dpooled);
      float* dn = scratch(tid);  // this sample's dact, (8,28,28), stays in L1
      for (int n = lo; n < hi; ++n) {
        pool_bwd_quad_sample_im2col(dpooled + std::size_t(n) * kFeatures,
                                    win + std::size_t(n) * kFeatures,
                                    pooled + std::size_t(n) * kFeatures, dn);
        if (!reuse) im2col_patches_quad(x + std::size_t(n) * kImgPixels, pt(n));
        conv_bwd_sample_im2col(gemm_, tid, pt(n), dn, part(n));
      }
    });
    par::FtzScope mode(ftz_);
    fc_db_im2col(B, d, g.fc_b.data());
    conv_bwd_reduce_im2col(B, part_.data(), g.conv_w.data(), g.conv_b.data());
    patches_of_ = x;
    patches_batch_ = B;
  }

 private:
  template <class F>
  void team(F&& f) {
#pragma omp parallel num_threads(threads_)
    {
      par::FtzScope mode(ftz_);
      f(omp_get_thread_num(), omp_get_num_threads());
    }
  }

  void forward(int B, const Params& p, Workspace& ws) {
    OpScope s(prof_, "conv_fwd+pool_fwd+fc_fwd",
              flops::conv_fwd(B) + flops::pool_fwd(B) + flops::fc_fwd(B));
    reserve(B);
    patches_of_ = nullptr;
    const float* x = ws.x.data();
    const float* w = p.conv_w.data();
    const float* b = p.conv_b.data();
    float* pooled = ws.pooled.data();
    std::uint8_t* win = ws.winner.data();
    team([&](int tid, int nt) {
      int lo, hi;
      share(B, tid, nt, lo, hi);
      float* an = scratch(tid);  // this sample's activations, stay in L1
      for (int n = lo; n < hi; ++n) {
        im2col_patches_quad(x + std::size_t(n) * kImgPixels, pt(n));
        conv_fwd_sample_im2col(gemm_, tid, pt(n), w, b, an);
        pool_fwd_quad_sample_im2col(an, pooled + std::size_t(n) * kFeatures,
                                    win + std::size_t(n) * kFeatures);
      }
      if (lo < hi) fc_fwd_rows_im2col(gemm_, tid, lo, hi, pooled, p.fc_w.data(), p.fc_b.data(),
                                      ws.logits.data());
    });
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
  Buffer<float> pt_;       // (capacity, 10, 784) patch matrices P^T plus the ones row
  Buffer<float> part_;     // (capacity, 8, 10) per-sample conv gradients
  Buffer<float> scratch_;  // (threads, 8, 28, 28) one sample's act or dact per thread
  const float* patches_of_ = nullptr;  // the x whose patches pt_ holds (composite steps)
  int patches_batch_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_im2col_backend(const BackendOptions& opt) {
  return std::make_unique<Im2colBackend>(opt);
}

}  // namespace cnn
