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
#include "kernels/common/pixels.h"
#include "kernels/common/parallel.h"
#include "kernels/common/team.h"
#include "kernels/flops.h"
#include "kernels/profiler.h"
#include "kernels/simd/kernels.h"

namespace cnn {
namespace simd {

namespace {

int chunks_of(int B) { return (B + S - 1) / S; }
// Chunks go in pairs where one thread handles several: fc_fwd reads each
// weight once for both (kernels/simd/fc_fwd_impl.h). The grouping does not
// change a bit of the result.
constexpr int kPair = 2;
int valid_in(int B, int c) { return std::min(S, B - c * S); }
// The fc rows of channel ch's features: [row0(ch), row0(ch) + kPoolPixels).
int row0(int ch) { return ch * kPoolPixels; }
constexpr int kLg = kClasses * S;        // floats of a chunk's logits in lanes
constexpr int kCSum = kConvC * kCPartK;  // lane sums of one conv part
constexpr int kBlocks = kConvC;          // channel blocks of phase B

class SimdBackend final : public Backend {
 public:
  SimdBackend(const Kernels& k, int threads, bool ftz)
      : k_(k),
        threads_(std::max(1, threads)),
        ftz_(ftz),
        team_(threads_, ftz),
        t_lg_(std::size_t(threads_) * kHalves * kLg),
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
      k_.conv_pool_fwd(nv, nullptr, xT, 0, kConvC, w, b, t_pT_.data() + std::size_t(t) * kPT,
                       nullptr, nullptr, actT);
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
      float* lg = t_lg_.data() + std::size_t(t) * kHalves * kLg;
      k_.to_lanes(nv, kFeatures, in + std::size_t(c) * S * kFeatures, in_t);
      for (int h = 0; h < kHalves; ++h) k_.fc_fwd(1, in_t, w, b, h, lg + h * kLg, 0);
      store_logits(nv, lg, lg + kLg, logits + std::size_t(c) * S * kClasses);
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
    for_chunks(B, [&](int c, int nv, int) {
      k_.to_lanes(nv, kFeatures, in + std::size_t(c) * S * kFeatures, pT(c));
      if (din) {
        k_.to_lanes(nv, kClasses, d + std::size_t(c) * S * kClasses, dT(c));
        k_.fc_bwd_din(nv, pT(c), w, dT(c), 0, kFeatures, dpT(c), false);
        k_.from_lanes(nv, kFeatures, dpT(c), din + std::size_t(c) * S * kFeatures);
      }
    });
    par::FtzScope ftz(ftz_);
    team_.run(kBlocks, [&](int blk, int) { fc_bwd_dw_block(B, blk, dw); });
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
      lane_sums(cpart(c), 0, kConvC, csum(c));
    });
    sum_parts(chunks_of(B), dw, db);
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    par::FtzScope ftz(ftz_);
    k_.sgd_update(lr, p, g, n);
  }

  // ---- composite steps: the fused path ---------------------------------
  void forward_train(int B, const Params& p, Workspace& ws) override {
    reserve(B);
    fwd_ws_ = nullptr;
    par::FtzScope ftz(ftz_);
    if (!prof_) {
      team_.run(kHalves * groups_of(B, kHalves), [&](int task, int) { phase_a(B, task, p, ws); });
    } else {
      {
        OpScope s(prof_, "conv_fwd+pool_fwd", flops::conv_pool_fwd(B));
        team_.run(kHalves * chunks_of(B), [&](int task, int) { conv_half(B, task, p, ws); });
      }
      OpScope s(prof_, "fc_fwd", flops::fc_fwd(B));
      team_.run(kHalves * chunks_of(B), [&](int task, int) { fc_half(B, task, p); });
      combine_logits(B, ws);
      fwd_ws_ = &ws;
      fwd_B_ = B;
      return;
    }
    combine_logits(B, ws);
    fwd_ws_ = &ws;
    fwd_B_ = B;
  }
  // Inference has no backward to keep data local for: one task per chunk
  // (or pair of chunks, see per_group), both halves, with the same
  // arithmetic as training.
  void forward_infer(int B, const Params& p, Workspace& ws) override {
    reserve(B);
    fwd_ws_ = nullptr;  // the chunk buffers now hold this batch, not a training one
    par::FtzScope ftz(ftz_);
    if (prof_) {
      {
        OpScope s(prof_, "conv_fwd+pool_fwd", flops::conv_pool_fwd(B));
        team_.run(chunks_of(B), [&](int c, int) { infer_conv(B, c, p, ws); });
      }
      OpScope s(prof_, "fc_fwd", flops::fc_fwd(B));
      team_.run(chunks_of(B), [&](int c, int) { infer_fc(B, c, c + 1, p, ws); });
      return;
    }
    team_.set_solo(infer_mode_.begin_step());
    const int per = per_group(B, 1);
    team_.run(groups_of(B, 1), [&](int q, int) {
      const int c0 = q * per, c1 = std::min(c0 + per, chunks_of(B));
      for (int c = c0; c < c1; ++c) infer_conv(B, c, p, ws);
      infer_fc(B, c0, c1, p, ws);
    });
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
    const float* dl = ws.dlogits.data();
    prepare_backward(B, dl);
    par::FtzScope ftz(ftz_);
    if (!prof_) {
      team_.run(kBlocks, [&](int blk, int) { phase_b(B, blk, p, g); });
    } else {
      {
        OpScope s(prof_, "fc_bwd", flops::fc_bwd(B));
        team_.run(kBlocks, [&](int blk, int) {
          fc_bwd_din_block(B, blk, p.fc_w.data());
          fc_bwd_dw_block(B, blk, g.fc_w.data());
        });
        cnn::fc_bwd_db(B, dl, g.fc_b.data());
      }
      OpScope s(prof_, "pool_bwd+conv_bwd", flops::conv_pool_bwd(B));
      team_.run(kBlocks, [&](int blk, int) { conv_bwd_block(B, blk); });
      sum_parts(chunks_of(B), g.conv_w.data(), g.conv_b.data());
      return;
    }
    cnn::fc_bwd_db(B, dl, g.fc_b.data());
    sum_parts(chunks_of(B), g.conv_w.data(), g.conv_b.data());
  }
  // Element-wise, so any split gives the same bits: the fc weights in the
  // channel blocks of phase B, the three small tensors serially.
  void update(float lr, Params& p, const Params& g) override {
    OpScope s(prof_, "sgd_update", flops::sgd_update());
    par::FtzScope ftz(ftz_);
    team_.run(kBlocks, [&](int blk, int) { update_block(blk, lr, p, g); });
    update_small(lr, p, g);
  }

  // The whole step, by halves (kernels.h): thread 0 of a team of two keeps
  // channels 0-3 of every image and thread 1 channels 4-7, with the fc rows
  // and their gradient that belong to them (one contiguous block each), so
  // the two cores exchange only logits and their gradient.
  //  Phase A, a task per (half, chunk): the chunk's input to lanes (each
  //    half its own copy), conv + pool of the half's channels, the half's
  //    part of the logits.
  //  Serial: logits = part 0 + part 1, softmax + loss per sample, the
  //    dlogits in lanes and as padded rows.
  //  Phase B, a task per channel: for every chunk the fc input gradient of
  //    the channel's 196 fc rows and the channel's conv gradient; then
  //    those rows' fc dW over the whole batch and at once their SGD update
  //    (still in this core's cache); channel 0's task also fc db and its
  //    update.
  //  Serial: the conv gradient's chunks added in order, the update of conv
  //    w and b, the loss.
  // Each value is computed by the same kernel in the same order as by the
  // four separate composite steps, so the bits are the same. With a profiler
  // attached the four steps run one by one instead, each timed.
  float train_step(int B, float lr, Params& p, Workspace& ws, Params& g) override {
    if (prof_) return Backend::train_step(B, lr, p, ws, g);
    reserve(B);
    fwd_ws_ = nullptr;  // the parameters change below: no backward() may follow
    par::FtzScope ftz(ftz_);
    team_.set_solo(train_mode_.begin_step());
    const int nc = chunks_of(B);
    team_.run(kHalves * groups_of(B, kHalves), [&](int task, int) { phase_a(B, task, p, ws); });
    combine_logits(B, ws);
    const float scale = 1.0f / float(B);
    float* dl = ws.dlogits.data();
    k_.softmax_xent(B, ws.logits.data(), ws.labels.data(), scale, ws.probs.data(), dl,
                    losses_.data());
    prepare_backward(B, dl);
    team_.run(kBlocks, [&](int blk, int) {
      phase_b(B, blk, p, g);
      update_block(blk, lr, p, g);
      if (blk == 0) {  // fc b is read only by phase A: its update may run beside phase B
        cnn::fc_bwd_db(B, dl, g.fc_b.data());
        k_.sgd_update(lr, p.fc_b.data(), g.fc_b.data(), kClasses);
      }
    });
    sum_parts(nc, g.conv_w.data(), g.conv_b.data());
    k_.sgd_update(lr, p.conv_w.data(), g.conv_w.data(), kConvWSize);
    k_.sgd_update(lr, p.conv_b.data(), g.conv_b.data(), kConvC);
    float loss = 0.0f;
    for (int n = 0; n < B; ++n) loss += losses_[n];  // in sample order, as the kernel sums
    train_mode_.end_step(B);
    return loss;
  }

  // On raw bytes: conv_pool_fwd reads the images itself, row by row, each
  // half into its own copy of the input, so nothing is gathered and no
  // core reads input another core wrote. Profiling runs the default (the
  // gather timed on its own, then the four steps).
  float train_step_bytes(int B, const std::uint8_t* const* images, float lr, Params& p,
                         Workspace& ws, Params& g) override {
    if (prof_ || !bytes_exact_) return Backend::train_step_bytes(B, images, lr, p, ws, g);
    ImagesScope in(images_, images);
    return train_step(B, lr, p, ws, g);
  }
  void forward_infer_bytes(int B, const std::uint8_t* const* images, const Params& p,
                           Workspace& ws) override {
    if (prof_ || !bytes_exact_) return Backend::forward_infer_bytes(B, images, p, ws);
    ImagesScope in(images_, images);
    forward_infer(B, p, ws);
  }

  void parallel_for(int n, const std::function<void(int)>& f) override {
    team_.run(n, [&](int i, int) { f(i); });
  }

 private:
  // Runs f(chunk, valid samples, thread) for every chunk of the batch on the
  // team, FTZ set on the caller as on the workers.
  template <class F>
  void for_chunks(int B, F&& f) {
    par::FtzScope ftz(ftz_);
    team_.run(chunks_of(B), [&](int c, int t) { f(c, valid_in(B, c), t); });
  }

  // Sets the step's raw images for its duration (nullptr again after, even
  // on an exception).
  struct ImagesScope {
    const std::uint8_t* const*& slot;
    ImagesScope(const std::uint8_t* const*& s, const std::uint8_t* const* images) : slot(s) {
      slot = images;
    }
    ~ImagesScope() { slot = nullptr; }
  };
  // Chunk c's input into xT and channels [c0,c1) of its conv block: while a
  // *_bytes step runs, the kernel converts the raw images as it goes, else
  // ws.x is laid out first.
  void conv_chunk(int B, int c, const Params& p, const Workspace& ws, float* xT, int c0, int c1,
                  std::uint16_t* w, std::uint32_t* blk) {
    const int nv = valid_in(B, c);
    const std::uint8_t* const* img = images_ ? images_ + std::size_t(c) * S : nullptr;
    if (!img) k_.input_to_lanes(nv, ws.x.data() + std::size_t(c) * S * kImgPixels, xT);
    k_.conv_pool_fwd(nv, img, xT, c0, c1, p.conv_w.data(), p.conv_b.data(), pT(c), w, blk, nullptr);
  }

  // Phase A task = h * groups + q: half h of the chunks of group q (so that
  // with two threads, thread 0 gets half 0 of every chunk).
  void phase_a(int B, int task, const Params& p, const Workspace& ws) {
    const int per = per_group(B, kHalves), ng = groups_of(B, kHalves), h = task / ng,
              c0 = task % ng * per, c1 = std::min(c0 + per, chunks_of(B));
    for (int c = c0; c < c1; ++c)
      conv_chunk(B, c, p, ws, xT(c, h), h * kHalfC, (h + 1) * kHalfC, win(c), blocks(c, h));
    k_.fc_fwd(c1 - c0, pT(c0), p.fc_w.data(), p.fc_b.data(), h, lg(c0, h), kHalves * kLg);
  }
  // The profiled forward_train's tasks, h * chunks + c: half h of chunk c.
  void conv_half(int B, int task, const Params& p, const Workspace& ws) {
    const int nc = chunks_of(B), h = task / nc, c = task % nc;
    conv_chunk(B, c, p, ws, xT(c, h), h * kHalfC, (h + 1) * kHalfC, win(c), blocks(c, h));
  }
  void fc_half(int B, int task, const Params& p) {
    const int nc = chunks_of(B), h = task / nc, c = task % nc;
    k_.fc_fwd(1, pT(c), p.fc_w.data(), p.fc_b.data(), h, lg(c, h), kHalves * kLg);
  }
  // The logits of chunks [c0,c1) (default: every chunk), part 0 + part 1,
  // into ws.logits.
  void combine_logits(int B, Workspace& ws, int c0 = 0, int c1 = -1) {
    for (int c = c0; c < (c1 < 0 ? chunks_of(B) : c1); ++c)
      store_logits(valid_in(B, c), lg(c, 0), lg(c, 1),
                   ws.logits.data() + std::size_t(c) * S * kClasses);
  }
  // part0 + part1 (10,S) -> logits (nv,10)
  void store_logits(int nv, const float* part0, const float* part1, float* logits) {
    alignas(64) float sum[kLg];
    for (int k = 0; k < kLg; ++k) sum[k] = part0[k] + part1[k];
    k_.from_lanes(nv, kClasses, sum, logits);
  }

  // forward_infer's chunk c: both halves of the conv block (no winners) into
  // the chunk's buffers, then the logits.
  void infer_conv(int B, int c, const Params& p, const Workspace& ws) {
    conv_chunk(B, c, p, ws, xT(c, 0), 0, kConvC, nullptr, nullptr);
  }
  // ... and of chunks [c0,c1) together.
  void infer_fc(int B, int c0, int c1, const Params& p, Workspace& ws) {
    for (int h = 0; h < kHalves; ++h)
      k_.fc_fwd(c1 - c0, pT(c0), p.fc_w.data(), p.fc_b.data(), h, lg(c0, h), kHalves * kLg);
    combine_logits(B, ws, c0, c1);
  }

  // dlogits (B,10) -> the padded rows drow_ (fc dW) and each chunk's lanes dT (fc din).
  void prepare_backward(int B, const float* dl) {
    fill_drow(B, dl);
    for (int c = 0; c < chunks_of(B); ++c)
      k_.to_lanes(valid_in(B, c), kClasses, dl + std::size_t(c) * S * kClasses, dT(c));
  }

  // Phase B block ch (thread 0 of two gets channels 0-3): the fc input
  // gradient and the conv gradient of channel ch for every chunk, then the
  // channel's fc dW rows (train_step updates them right after).
  void phase_b(int B, int ch, const Params& p, Params& g) {
    fc_bwd_din_block(B, ch, p.fc_w.data());
    conv_bwd_block(B, ch);
    fc_bwd_dw_block(B, ch, g.fc_w.data());
  }
  void fc_bwd_din_block(int B, int ch, const float* w) {
    for (int c = 0; c < chunks_of(B); ++c)
      k_.fc_bwd_din(valid_in(B, c), pT(c), w, dT(c), row0(ch), row0(ch) + kPoolPixels, dpT(c),
                    true);
  }
  void conv_bwd_block(int B, int ch) {
    for (int c = 0; c < chunks_of(B); ++c) conv_bwd_part(B, c, ch);
  }
  // Channel ch of chunk c's conv gradient (from its half's input copy), and
  // its lane sums.
  void conv_bwd_part(int B, int c, int ch) {
    const int h = ch / kHalfC;
    k_.conv_pool_bwd(valid_in(B, c), xT(c, h), ch, ch + 1, dpT(c), win(c), blocks(c, h), cpart(c));
    lane_sums(cpart(c), ch, ch + 1, csum(c));
  }
  // Rows of channel ch of fc dW, each summed over the whole batch in sample order.
  void fc_bwd_dw_block(int B, int ch, float* dw) {
    k_.fc_bwd_dw(B, pT_.data(), drow_.data(), row0(ch), row0(ch) + kPoolPixels, dw);
  }
  void update_block(int ch, float lr, Params& p, const Params& g) {
    const std::size_t o = std::size_t(row0(ch)) * kClasses;
    k_.sgd_update(lr, p.fc_w.data() + o, g.fc_w.data() + o, std::size_t(kPoolPixels) * kClasses);
  }
  void update_small(float lr, Params& p, const Params& g) {
    k_.sgd_update(lr, p.fc_b.data(), g.fc_b.data(), kClasses);
    k_.sgd_update(lr, p.conv_w.data(), g.conv_w.data(), kConvWSize);
    k_.sgd_update(lr, p.conv_b.data(), g.conv_b.data(), kConvC);
  }

  // dlogits (B,10) -> drow_ (B,16), classes padded with zeros.
  void fill_drow(int B, const float* d) {
    for (int n = 0; n < B; ++n) {
      float* r = drow_.data() + std::size_t(n) * kRow;
      std::copy(d + std::size_t(n) * kClasses, d + std::size_t(n + 1) * kClasses, r);
      std::fill(r + kClasses, r + kRow, 0.0f);
    }
  }

  // Channels [c0,c1) of a conv part (8,10,S) -> its lane sums (80), each the
  // sum over the 16 lanes in lane order.
  static void lane_sums(const float* cp, int c0, int c1, float* out) {
    for (int k = c0 * kCPartK; k < c1 * kCPartK; ++k) {
      float s = cp[k * S];
      for (int l = 1; l < S; ++l) s += cp[k * S + l];
      out[k] = s;
    }
  }
  // The lane sums of chunks 0..n-1, added in that order -> dw (72), db (8).
  void sum_parts(int n, float* dw, float* db) {
    float total[kCSum];
    for (int k = 0; k < kCSum; ++k) total[k] = csum(0)[k];
    for (int q = 1; q < n; ++q)
      for (int k = 0; k < kCSum; ++k) total[k] += csum(q)[k];
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
    xT_.resize(std::size_t(nc) * kHalves * kXT);  // zeroed: the padding border stays 0
    pT_.resize(std::size_t(nc) * kPT);
    dpT_.resize(std::size_t(nc) * kPT);
    lg_.resize(std::size_t(nc) * kHalves * kLg);
    dT_.resize(std::size_t(nc) * kLg);
    cpart_.resize(std::size_t(nc) * kCPart);
    csum_.resize(std::size_t(nc) * kCSum);
    win_.resize(std::size_t(nc) * kFeatures * 2);
    blocks_.resize(std::size_t(nc) * kHalves * kBlockWords);
    drow_.resize(std::size_t(nc) * S * kRow);
    losses_.resize(std::size_t(nc) * S);
    fwd_ws_ = nullptr;
  }

  // Chunks per task when each chunk makes `split` tasks (the halves): a
  // pair while every thread still gets a task, else one; and the groups.
  int per_group(int B, int split) const {
    return split * chunks_of(B) >= kPair * threads_ ? kPair : 1;
  }
  int groups_of(int B, int split) const {
    const int per = per_group(B, split);
    return (chunks_of(B) + per - 1) / per;
  }
  float* xT(int c, int h) { return xT_.data() + (std::size_t(c) * kHalves + h) * kXT; }
  float* pT(int c) { return pT_.data() + std::size_t(c) * kPT; }
  float* dpT(int c) { return dpT_.data() + std::size_t(c) * kPT; }
  float* lg(int c, int h) { return lg_.data() + (std::size_t(c) * kHalves + h) * kLg; }
  float* dT(int c) { return dT_.data() + std::size_t(c) * kLg; }
  std::uint16_t* win(int c) { return win_.data() + std::size_t(c) * kFeatures * 2; }
  std::uint32_t* blocks(int c, int h) {
    return blocks_.data() + (std::size_t(c) * kHalves + h) * kBlockWords;
  }
  float* cpart(int c) { return cpart_.data() + std::size_t(c) * kCPart; }
  float* csum(int q) { return csum_.data() + std::size_t(q) * kCSum; }

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
  // Per chunk (xT: per chunk and half), kept from forward_train to backward.
  int cap_ = 0;
  Buffer<float> xT_, pT_, dpT_, lg_, dT_, cpart_, csum_, drow_, losses_;
  Buffer<std::uint16_t> win_;
  Buffer<std::uint32_t> blocks_;  // per chunk and half: its xT's nonzero-block map
  const Workspace* fwd_ws_ = nullptr;
  int fwd_B_ = 0;
  // The raw images of the *_bytes step in progress (nullptr: read ws.x), and
  // whether the kernels' pixel formula is exact here (kernels/common/pixels.h).
  const std::uint8_t* const* images_ = nullptr;
  const bool bytes_exact_ = pixel_formula_exact();
};

}  // namespace
}  // namespace simd

std::unique_ptr<Backend> make_simd_backend(const BackendOptions& opt) {
  const std::string isa = choose_isa(opt.isa);
  return std::make_unique<simd::SimdBackend>(simd::kernels_for(isa), opt.threads, opt.ftz);
}

}  // namespace cnn
