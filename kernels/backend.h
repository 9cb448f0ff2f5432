// The backend interface: every kernel backend implements these operations.
//
// One training iteration is a fixed chain of operations over flat fp32
// buffers. The trainer (src/) only talks to this interface; a backend may
// fuse steps by overriding the composite steps (forward_train, forward_infer,
// loss_grad, backward, update) without the trainer changing, and every
// primitive stays callable on its own so the reference tests can check it.
//
// Buffer layouts (all row-major, contiguous, batch-major; B = batch size).
// Every backend uses exactly these; kernels refer here instead of repeating.
//   x       (B,1,28,28)  input pixels, byte/255.0f
//   act     (B,8,28,28)  conv output after bias and ReLU
//   pooled  (B,8,14,14)  = (B,1568) features, index c*196 + py*14 + px
//   winner  (B,8,14,14)  uint8, position of the max in its 2x2 window, dy*2+dx
//   logits  (B,10)
//   probs   (B,10)       softmax of logits
//   labels  (B)          uint8 in 0..9
//   dlogits (B,10)       (probs - onehot) * scale, scale = 1/B
//   dpooled (B,1568)     gradient w.r.t. pooled
//   dact    (B,8,28,28)  gradient w.r.t. conv pre-activation (ReLU mask applied)
// Parameters (and their gradients, same shapes):
//   conv_w  (8,3,3) = 72   conv_w[oc*9 + ky*3 + kx]
//   conv_b  (8)
//   fc_w    (1568,10)      fc_w[i*10 + j], i = input feature, j = class
//   fc_b    (10)
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kernels/buffer.h"
#include "kernels/shapes.h"

namespace cnn {

// Parameters or gradients: owning, 64-byte aligned.
struct Params {
  Buffer<float> conv_w{kConvWSize}, conv_b{kConvC}, fc_w{kFcWSize}, fc_b{kClasses};
  void zero();
};

// Per-batch activations and their gradients, allocated once for the largest
// batch by the trainer (the training loop allocates nothing).
struct Workspace {
  explicit Workspace(int max_batch);
  int max_batch;
  Buffer<float> x, act, pooled, logits, probs, dlogits, dpooled, dact;
  Buffer<std::uint8_t> winner, labels;
};

// How a backend is made (registry.h's factories take it).
struct BackendOptions {
  int threads = 1;  // worker threads for threaded backends
  std::string isa;  // requested ISA path; empty = best the CPU supports
  bool ftz = true;  // flush-to-zero/denormals-are-zero in optimised backends (not naive)
};

class Profiler;  // kernels/profiler.h

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  // The instruction-set path that actually runs (e.g. "portable", "avx2").
  virtual std::string isa() const { return "portable"; }
  // Threads this backend uses (1 for single-threaded ones).
  virtual int threads() const { return 1; }
  // Called once before training with the largest batch that will be passed;
  // backends allocate their private scratch here, never inside a step.
  virtual void prepare(int max_batch) { (void)max_batch; }
  // Profiling sink (nullptr = off). Composite steps report each operation.
  void set_profiler(Profiler* p) { prof_ = p; }
  Profiler* profiler() const { return prof_; }

  // ---- Primitive operations -------------------------------------------
  // x (B,784) w (72) b (8) -> act (B,8,28,28) = ReLU(conv(x) + b)
  virtual void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) = 0;
  // act (B,8,28,28) -> pooled (B,1568), winner (B,1568)
  virtual void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) = 0;
  // pooled (B,1568) w (1568,10) b (10) -> logits (B,10)
  virtual void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) = 0;
  // logits (B,10) labels (B) -> probs (B,10), dlogits (B,10); returns the
  // batch's summed loss, added in sample order in fp32.
  virtual float softmax_xent(int B, const float* logits, const std::uint8_t* labels, float scale,
                             float* probs, float* dlogits) = 0;
  // in (B,1568) w (1568,10) dlogits (B,10) -> dw (1568,10), db (10) [overwritten],
  // din (B,1568) [overwritten; may be nullptr to skip]
  virtual void fc_bwd(int B, const float* in, const float* w, const float* dlogits, float* dw,
                      float* db, float* din) = 0;
  // dpooled (B,1568) winner (B,1568) act (B,8,28,28) -> dact (B,8,28,28) [overwritten]
  virtual void pool_bwd(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                        float* dact) = 0;
  // x (B,784) dact (B,8,28,28) -> dw (72), db (8) [overwritten]
  virtual void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) = 0;
  // p (n) -= lr * g (n)
  virtual void sgd_update(float lr, float* p, const float* g, std::size_t n) = 0;

  // ---- Composite steps: what the trainer calls --------------------------
  // Defaults chain the primitives above; a backend overrides one to fuse.
  // Reads ws.x; writes everything the backward step needs and ws.logits.
  virtual void forward_train(int B, const Params& p, Workspace& ws);
  // Reads ws.x; only ws.logits is needed afterwards.
  virtual void forward_infer(int B, const Params& p, Workspace& ws);
  // Reads ws.logits, ws.labels; writes ws.probs, ws.dlogits; returns batch loss.
  virtual float loss_grad(int B, float scale, Workspace& ws);
  // Uses the parameters before the update; overwrites every gradient in g.
  // Contract: called right after forward_train (and loss_grad) on the same
  // batch, parameters and workspace. Fused backends keep state from that
  // forward pass (patch matrices, compact winners) and may reject any other
  // order with std::logic_error.
  virtual void backward(int B, const Params& p, Workspace& ws, Params& g);
  // p -= lr * g for every parameter tensor.
  virtual void update(float lr, Params& p, const Params& g);
  // One whole training step, what the trainer calls: forward_train,
  // loss_grad (scale = 1/B), backward and update, in that order; returns
  // the batch loss. Afterwards ws (logits, probs, dlogits) and g hold this
  // step's values and p is updated, exactly as the four calls would leave
  // them. A backend overrides it to run the step as one piece (the simd
  // backend: two parallel phases, the update fused into the weight gradient).
  virtual float train_step(int B, float lr, Params& p, Workspace& ws, Params& g);

  // The same two entry points on raw pixel bytes: images[b] -> the
  // kImgPixels bytes of sample b, each pixel worth byte / 255.0f exactly as
  // image_to_input (kernels/common/pixels.h) converts it; ws.labels holds
  // the labels. ws.x is not read and is left stale. The defaults convert the
  // batch into ws.x on parallel_for (timed as "gather" if profiled) and call
  // the float versions; the simd backend reads the bytes straight into its
  // lane layout. The bits are the same either way. The trainer and the
  // evaluation call these.
  virtual float train_step_bytes(int B, const std::uint8_t* const* images, float lr, Params& p,
                                 Workspace& ws, Params& g);
  virtual void forward_infer_bytes(int B, const std::uint8_t* const* images, const Params& p,
                                   Workspace& ws);

  // Runs f(i) for every i in [0, n), on the backend's threads where it has
  // them, in any order (f must write disjoint data). The trainer gathers a
  // batch with it, so the gather runs on the threads the kernels use.
  virtual void parallel_for(int n, const std::function<void(int)>& f);

 protected:
  // The default conversion of the *_bytes entry points: images -> ws.x.
  void bytes_to_x(int B, const std::uint8_t* const* images, Workspace& ws);
  Profiler* prof_ = nullptr;
};

}  // namespace cnn
