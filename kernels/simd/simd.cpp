// The simd backend object (see simd.h): fills the three kernel tables from
// the per-ISA functions (kernels/simd/kernels.h), picks the table of the ISA
// path once, owns the chunk buffers, and runs the kernels over 16-sample
// chunks with OpenMP. Baseline code: it only calls through the table; the
// AVX tables exist only where CNN_X86 is set (x86 builds).
#include "kernels/simd/simd.h"

#include <algorithm>
#include <stdexcept>

#include "kernels/common/cpu.h"
#include "kernels/common/fc_bwd_db.h"
#include "kernels/common/parallel.h"
#include "kernels/common/team.h"
#include "kernels/flops.h"
#include "kernels/profiler.h"
#include "kernels/simd/kernels.h"

namespace cnn {
namespace simd {

namespace {

int chunks_of(int B) { return (B + S - 1) / S; }
int valid_in(int B, int c) { return std::min(S, B - c * S); }

class SimdBackend final : public Backend {
 public:
  SimdBackend(const Kernels& k, int threads, bool ftz)
      : k_(k),
        threads_(std::max(1, threads)),
        ftz_(ftz),
        team_(threads_, ftz),
        t_lg_(std::size_t(threads_) * kClasses * S),
        t_xT_(std::size_t(threads_) * kXT),
        t_pT_(std::size_t(threads_) * kPT),
        t_dpT_(std::size_t(threads_) * kPT),
        t_win_(std::size_t(threads_) * kFeatures * 2),
        t_actT_(std::size_t(threads_) * kActT),
        t_dactT_(std::size_t(threads_) * kActT) {}

  std::string name() const override { return "simd"; }
  std::string isa() const override { return k_.isa; }
  int threads() const override { return threads_; }
  void prepare(int max_batch) override { reserve(max_batch); }

  // ---- primitives: the same kernels, with layout changes around them ----
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    for_chunks(B, [&](int c, int nv, int t) {
      float* xT = t_xT_.data() + std::size_t(t) * kXT;
      float* actT = t_actT_.data() + std::size_t(t) * kActT;
      k_.input_to_lanes(nv, x + std::size_t(c) * S * kImgPixels, xT);
      k_.conv_pool_fwd(xT, w, b, t_pT_.data() + std::size_t(t) * kPT, nullptr, actT);
      k_.from_lanes(nv, kActSize, actT, act + std::size_t(c) * S * kActSize);
    });
  }
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
    for_chunks(B, [&](int c, int nv, int t) {
      float* actT = t_actT_.data() + std::size_t(t) * kActT;
      float* p_t = t_pT_.data() + std::size_t(t) * kPT;
      std::uint16_t* win_t = t_win_.data() + std::size_t(t) * kFeatures * 2;
      k_.to_lanes(nv, kActSize, act + std::size_t(c) * S * kActSize, actT);
      k_.pool_fwd(actT, p_t, win_t);
      k_.from_lanes(nv, kFeatures, p_t, pooled + std::size_t(c) * S * kFeatures);
      std::uint8_t* wo = winner + std::size_t(c) * S * kFeatures;
      for (int n = 0; n < nv; ++n)
        for (int i = 0; i < kFeatures; ++i)
          wo[std::size_t(n) * kFeatures + i] =
              std::uint8_t(((win_t[2 * i] >> n) & 1u) * 2 + ((win_t[2 * i + 1] >> n) & 1u));
    });
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) override {
    for_chunks(B, [&](int c, int nv, int t) {
      float* in_t = t_pT_.data() + std::size_t(t) * kPT;
      float* lg = t_lg_.data() + std::size_t(t) * kClasses * S;
      k_.to_lanes(nv, kFeatures, in + std::size_t(c) * S * kFeatures, in_t);
      k_.fc_fwd(in_t, w, b, lg);
      k_.from_lanes(nv, kClasses, lg, logits + std::size_t(c) * S * kClasses);
    });
  }
  float softmax_xent(int B, const float* logits, const std::uint8_t* labels, float scale,
                     float* probs, float* dlogits) override {
    par::FtzScope ftz(ftz_);
    return k_.softmax_xent(B, logits, labels, scale, probs, dlogits, nullptr);
  }
  void fc_bwd(int B, const float* in, const float* w, const float* d, float* dw, float* db,
              float* din) override {
    reserve(B);
    fwd_ws_ = nullptr;  // pT_ is about to hold `in`, not the forward's features
    fill_drow(B, d);
    for_chunks(B, [&](int c, int nv, int t) {
      k_.to_lanes(nv, kFeatures, in + std::size_t(c) * S * kFeatures, pT(c));
      if (din) {
        fc_bwd_din_chunk(B, c, t, w, d, false);
        k_.from_lanes(nv, kFeatures, dpT(c), din + std::size_t(c) * S * kFeatures);
      }
    });
    par::FtzScope ftz(ftz_);
    team_.run(kRowBlocks, [&](int r, int) { fc_bwd_dw_block(B, r, dw); });
    cnn::fc_bwd_db(B, d, db);
  }
  void pool_bwd(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                float* dact) override {
    for_chunks(B, [&](int c, int nv, int t) {
      float* dp_t = t_dpT_.data() + std::size_t(t) * kPT;
      float* actT = t_actT_.data() + std::size_t(t) * kActT;
      float* dactT = t_dactT_.data() + std::size_t(t) * kActT;
      std::uint16_t* win_t = t_win_.data() + std::size_t(t) * kFeatures * 2;
      k_.to_lanes(nv, kFeatures, dpooled + std::size_t(c) * S * kFeatures, dp_t);
      k_.to_lanes(nv, kActSize, act + std::size_t(c) * S * kActSize, actT);
      const std::uint8_t* wi = winner + std::size_t(c) * S * kFeatures;
      for (int i = 0; i < kFeatures; ++i) {
        unsigned dy = 0, dx = 0;
        for (int n = 0; n < nv; ++n) {
          const unsigned v = wi[std::size_t(n) * kFeatures + i];
          dy |= ((v >> 1) & 1u) << n;
          dx |= (v & 1u) << n;
        }
        win_t[2 * i] = std::uint16_t(dy);
        win_t[2 * i + 1] = std::uint16_t(dx);
      }
      k_.pool_bwd(dp_t, win_t, actT, dactT);
      k_.from_lanes(nv, kActSize, dactT, dact + std::size_t(c) * S * kActSize);
    });
  }
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    reserve(B);
    for_chunks(B, [&](int c, int nv, int t) {
      float* xT = t_xT_.data() + std::size_t(t) * kXT;
      float* dactT = t_dactT_.data() + std::size_t(t) * kActT;
      k_.input_to_lanes(nv, x + std::size_t(c) * S * kImgPixels, xT);
      k_.to_lanes(nv, kActSize, dact + std::size_t(c) * S * kActSize, dactT);
      k_.conv_bwd(xT, dactT, cpart(c));
    });
    reduce_conv(chunks_of(B), dw, db);
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    par::FtzScope ftz(ftz_);
    k_.sgd_update(lr, p, g, n);
  }

  // ---- composite steps: the fused path ---------------------------------
  void forward_train(int B, const Params& p, Workspace& ws) override {
    reserve(B);
    fwd_ws_ = nullptr;
    forward(B, p, ws, true);
    fwd_ws_ = &ws;
    fwd_B_ = B;
  }
  void forward_infer(int B, const Params& p, Workspace& ws) override {
    reserve(B);
    fwd_ws_ = nullptr;  // the chunk buffers now hold this batch, not a training one
    if (prof_) return forward(B, p, ws, false);
    team_.set_solo(infer_mode_.begin_step());
    for_chunks(B, [&](int c, int nv, int t) { forward_chunk(c, nv, t, p, ws, false); });
    infer_mode_.end_step(B);
  }
  float loss_grad(int B, float scale, Workspace& ws) override {
    OpScope s(prof_, "softmax_xent", flops::softmax_xent(B));
    return softmax_xent(B, ws.logits.data(), ws.labels.data(), scale, ws.probs.data(),
                        ws.dlogits.data());
  }
  void backward(int B, const Params& p, Workspace& ws, Params& g) override {
    if (fwd_ws_ != &ws || fwd_B_ != B)
      throw std::logic_error(
          "simd: backward() must follow forward_train() on the same batch and workspace");
    const int nc = chunks_of(B);
    const float* dl = ws.dlogits.data();
    const float* w = p.fc_w.data();
    fill_drow(B, dl);
    par::FtzScope ftz(ftz_);
    if (!prof_) {
      // One phase: the chunks' input gradient and conv block, and the fc dW
      // row blocks, which read only what forward_train and loss_grad wrote.
      team_.run(nc + kRowBlocks, [&](int task, int t) {
        if (task >= kRowBlocks) return backward_chunk(B, task - kRowBlocks, t, w, dl);
        fc_bwd_dw_block(B, task, g.fc_w.data());
      });
    } else {
      {
        OpScope s(prof_, "fc_bwd", flops::fc_bwd(B));
        team_.run(nc + kRowBlocks, [&](int task, int t) {
          if (task >= kRowBlocks) return fc_bwd_din_chunk(B, task - kRowBlocks, t, w, dl, true);
          fc_bwd_dw_block(B, task, g.fc_w.data());
        });
        cnn::fc_bwd_db(B, dl, g.fc_b.data());
      }
      OpScope s(prof_, "pool_bwd+conv_bwd", flops::conv_pool_bwd(B));
      team_.run(nc, [&](int c, int) { k_.conv_pool_bwd(xT(c), dpT(c), win(c), cpart(c)); });
      reduce_conv(nc, g.conv_w.data(), g.conv_b.data());
      return;
    }
    cnn::fc_bwd_db(B, dl, g.fc_b.data());
    reduce_conv(nc, g.conv_w.data(), g.conv_b.data());
  }
  // Element-wise, so any split gives the same bits: the fc weights in the
  // row blocks of fc_bwd_dw_block, the three small tensors as one task.
  void update(float lr, Params& p, const Params& g) override {
    OpScope s(prof_, "sgd_update", flops::sgd_update());
    par::FtzScope ftz(ftz_);
    team_.run(kRowBlocks + 1, [&](int task, int) {
      if (task == 0) return update_small(lr, p, g);
      update_block(task - 1, lr, p, g);
    });
  }

  // The whole step in two phases. Phase 1, one task per 16-sample chunk:
  // forward, softmax + loss per sample, fc input gradient and the conv
  // block's gradient, all from the chunk's own data. Phase 2, after every
  // chunk has read the fc weights: per block of fc rows the weight gradient
  // over the whole batch and, while it is still in this core's cache, the
  // SGD update of those rows; one more task sums fc db, the conv gradient and
  // the loss in their fixed orders and updates the small tensors. Each value
  // is computed by the same kernel in the same order as by the four separate
  // composite steps, so the bits are the same. With a profiler attached the
  // four steps run one by one instead, each timed.
  float train_step(int B, float lr, Params& p, Workspace& ws, Params& g) override {
    if (prof_) return Backend::train_step(B, lr, p, ws, g);
    reserve(B);
    fwd_ws_ = nullptr;  // the parameters change below: no backward() may follow
    par::FtzScope ftz(ftz_);
    team_.set_solo(train_mode_.begin_step());
    const float scale = 1.0f / float(B);
    team_.run(chunks_of(B), [&](int c, int t) { train_chunk(B, c, t, scale, p, ws); });
    float loss = 0.0f;
    team_.run(kRowBlocks + 1, [&](int task, int) {
      if (task == 0) {
        finish_small(B, ws, g);
        update_small(lr, p, g);
        for (int n = 0; n < B; ++n) loss += losses_[n];  // in sample order, as the kernel sums
        return;
      }
      fc_bwd_dw_block(B, task - 1, g.fc_w.data());
      update_block(task - 1, lr, p, g);
    });
    train_mode_.end_step(B);
    return loss;
  }

  void parallel_for(int n, const std::function<void(int)>& f) override {
    team_.run(n, [&](int i, int) { f(i); });
  }

 private:
  // fc rows in blocks of 112 (14 blocks; a multiple of the dW kernel's
  // 4-row step): few enough tasks to hand out cheaply, enough to balance.
  static constexpr int kRowBlock = 112, kRowBlocks = kFeatures / kRowBlock;
  static_assert(kRowBlocks * kRowBlock == kFeatures && kRowBlock % 4 == 0, "row blocks");

  // Runs f(chunk, valid samples, thread) for every chunk of the batch on the
  // team, FTZ set on the caller as on the workers.
  template <class F>
  void for_chunks(int B, F&& f) {
    par::FtzScope ftz(ftz_);
    team_.run(chunks_of(B), [&](int c, int t) { f(c, valid_in(B, c), t); });
  }

  // Chunk c: input to lanes, conv + pool (+ winners when training); then
  // its logits. The profiled path runs the two halves as separate groups.
  void forward_chunk(int c, int nv, int t, const Params& p, Workspace& ws, bool train) {
    conv_pool_chunk(c, nv, p, ws, train);
    fc_fwd_chunk(c, nv, t, p, ws);
  }
  void conv_pool_chunk(int c, int nv, const Params& p, const Workspace& ws, bool train) {
    k_.input_to_lanes(nv, ws.x.data() + std::size_t(c) * S * kImgPixels, xT(c));
    k_.conv_pool_fwd(xT(c), p.conv_w.data(), p.conv_b.data(), pT(c), train ? win(c) : nullptr,
                     nullptr);
  }
  void fc_fwd_chunk(int c, int nv, int t, const Params& p, Workspace& ws) {
    float* lg = t_lg_.data() + std::size_t(t) * kClasses * S;
    k_.fc_fwd(pT(c), p.fc_w.data(), p.fc_b.data(), lg);
    k_.from_lanes(nv, kClasses, lg, ws.logits.data() + std::size_t(c) * S * kClasses);
  }

  // Chunk c's part of backward(): fc input gradient (ReLU-masked), conv block.
  void backward_chunk(int B, int c, int t, const float* w, const float* dl) {
    fc_bwd_din_chunk(B, c, t, w, dl, true);
    k_.conv_pool_bwd(xT(c), dpT(c), win(c), cpart(c));
  }

  // Phase 1 of train_step for chunk c.
  void train_chunk(int B, int c, int t, float scale, const Params& p, Workspace& ws) {
    const int nv = valid_in(B, c);
    const std::size_t r0 = std::size_t(c) * S;
    forward_chunk(c, nv, t, p, ws, true);
    float* dl = ws.dlogits.data();
    k_.softmax_xent(nv, ws.logits.data() + r0 * kClasses, ws.labels.data() + r0, scale,
                    ws.probs.data() + r0 * kClasses, dl + r0 * kClasses, losses_.data() + r0);
    fill_drow_rows(int(r0), int(r0) + nv, dl);
    backward_chunk(B, c, t, p.fc_w.data(), dl);
  }

  // fc db, and the conv gradient from the chunks' slots.
  void finish_small(int B, const Workspace& ws, Params& g) {
    cnn::fc_bwd_db(B, ws.dlogits.data(), g.fc_b.data());
    reduce_conv(chunks_of(B), g.conv_w.data(), g.conv_b.data());
  }
  void update_small(float lr, Params& p, const Params& g) {
    k_.sgd_update(lr, p.fc_b.data(), g.fc_b.data(), kClasses);
    k_.sgd_update(lr, p.conv_w.data(), g.conv_w.data(), kConvWSize);
    k_.sgd_update(lr, p.conv_b.data(), g.conv_b.data(), kConvC);
  }
  void update_block(int r, float lr, Params& p, const Params& g) {
    const std::size_t o = std::size_t(r) * kRowBlock * kClasses;
    k_.sgd_update(lr, p.fc_w.data() + o, g.fc_w.data() + o, std::size_t(kRowBlock) * kClasses);
  }

  void forward(int B, const Params& p, Workspace& ws, bool train) {
    if (!prof_) {
      for_chunks(B, [&](int c, int nv, int t) { forward_chunk(c, nv, t, p, ws, train); });
      return;
    }
    {
      OpScope s(prof_, "conv_fwd+pool_fwd", flops::conv_pool_fwd(B));
      for_chunks(B, [&](int c, int nv, int) { conv_pool_chunk(c, nv, p, ws, train); });
    }
    OpScope s(prof_, "fc_fwd", flops::fc_fwd(B));
    for_chunks(B, [&](int c, int nv, int t) { fc_fwd_chunk(c, nv, t, p, ws); });
  }

  // dlogits of chunk c -> dT (10,S) in thread t's scratch, then the
  // chunk's input gradient dpT(c) from its features pT(c).
  void fc_bwd_din_chunk(int B, int c, int t, const float* w, const float* d, bool relu_mask) {
    float* dT = t_lg_.data() + std::size_t(t) * kClasses * S;
    k_.to_lanes(valid_in(B, c), kClasses, d + std::size_t(c) * S * kClasses, dT);
    k_.fc_bwd_din(valid_in(B, c), pT(c), w, dT, dpT(c), relu_mask);
  }

  // Rows of block r of fc dW, each summed over the whole batch in sample order.
  void fc_bwd_dw_block(int B, int r, float* dw) {
    k_.fc_bwd_dw(B, pT_.data(), drow_.data(), r * kRowBlock, (r + 1) * kRowBlock, dw);
  }

  // dlogits (B,10) -> drow_ (B,16), classes padded with zeros: rows [n0,n1).
  void fill_drow_rows(int n0, int n1, const float* d) {
    float* r = drow_.data();
    for (int n = n0; n < n1; ++n)
      for (int j = 0; j < kRow; ++j)
        r[std::size_t(n) * kRow + j] = j < kClasses ? d[std::size_t(n) * kClasses + j] : 0.0f;
  }
  void fill_drow(int B, const float* d) { fill_drow_rows(0, B, d); }

  // cpart slots -> dw (72), db (8): each value is the sum over the 16 lanes
  // of a slot in lane order, added over the slots in chunk order.
  void reduce_conv(int nc, float* dw, float* db) {
    constexpr int K = kConvC * kCPartK;
    float total[K];
    for (int k = 0; k < K; ++k) total[k] = 0.0f;
    for (int c = 0; c < nc; ++c) {
      const float* cp = cpart(c);
      float sum[K];
      for (int k = 0; k < K; ++k) sum[k] = cp[k * S];
      for (int l = 1; l < S; ++l)
        for (int k = 0; k < K; ++k) sum[k] += cp[k * S + l];
      for (int k = 0; k < K; ++k) total[k] = c == 0 ? sum[k] : total[k] + sum[k];
    }
    for (int ch = 0; ch < kConvC; ++ch) {
      for (int k = 0; k < kKernelSize; ++k) dw[ch * kKernelSize + k] = total[ch * kCPartK + k];
      db[ch] = total[ch * kCPartK + kKernelSize];
    }
  }

  // Grows the per-chunk buffers to B samples; prepare() calls it once, so a
  // training step never allocates.
  void reserve(int B) {
    const int nc = chunks_of(std::max(B, 1));
    if (nc <= cap_) return;
    cap_ = nc;
    xT_.resize(std::size_t(nc) * kXT);  // zeroed: the padding border stays 0
    pT_.resize(std::size_t(nc) * kPT);
    dpT_.resize(std::size_t(nc) * kPT);
    cpart_.resize(std::size_t(nc) * kCPart);
    win_.resize(std::size_t(nc) * kFeatures * 2);
    drow_.resize(std::size_t(nc) * S * kRow);
    losses_.resize(std::size_t(nc) * S);
    fwd_ws_ = nullptr;
  }

  float* xT(int c) { return xT_.data() + std::size_t(c) * kXT; }
  float* pT(int c) { return pT_.data() + std::size_t(c) * kPT; }
  float* dpT(int c) { return dpT_.data() + std::size_t(c) * kPT; }
  std::uint16_t* win(int c) { return win_.data() + std::size_t(c) * kFeatures * 2; }
  float* cpart(int c) { return cpart_.data() + std::size_t(c) * kCPart; }

  const Kernels& k_;
  int threads_;
  bool ftz_;
  par::Team team_;
  // Team or solo, chosen per step from measured step times (team.h).
  par::ModeChooser train_mode_, infer_mode_;
  // Per thread (primitives' layout scratch, logits of the chunk in hand).
  Buffer<float> t_lg_, t_xT_, t_pT_, t_dpT_;
  Buffer<std::uint16_t> t_win_;
  Buffer<float> t_actT_, t_dactT_;
  // Per chunk, kept from forward_train to backward.
  int cap_ = 0;
  Buffer<float> xT_, pT_, dpT_, cpart_, drow_, losses_;
  Buffer<std::uint16_t> win_;
  const Workspace* fwd_ws_ = nullptr;
  int fwd_B_ = 0;
};

}  // namespace
}  // namespace simd

std::unique_ptr<Backend> make_simd_backend(const BackendOptions& opt) {
  const std::string isa = choose_isa(opt.isa);
  return std::make_unique<simd::SimdBackend>(simd::kernels_for(isa), opt.threads, opt.ftz);
}

}  // namespace cnn
