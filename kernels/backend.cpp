// Default composite steps: the plain chain of primitives, each reported to
// the profiler under its own name. Backends that fuse override these.
#include "kernels/backend.h"

#include <algorithm>

#include "kernels/common/pixels.h"
#include "kernels/flops.h"
#include "kernels/profiler.h"

namespace cnn {

void Params::zero() {
  conv_w.zero();
  conv_b.zero();
  fc_w.zero();
  fc_b.zero();
}

Workspace::Workspace(int mb)
    : max_batch(mb),
      x(std::size_t(mb) * kImgPixels),
      act(std::size_t(mb) * kActSize),
      pooled(std::size_t(mb) * kFeatures),
      logits(std::size_t(mb) * kClasses),
      probs(std::size_t(mb) * kClasses),
      dlogits(std::size_t(mb) * kClasses),
      dpooled(std::size_t(mb) * kFeatures),
      dact(std::size_t(mb) * kActSize),
      winner(std::size_t(mb) * kFeatures),
      labels(std::size_t(mb)) {}

void Backend::forward_train(int B, const Params& p, Workspace& ws) {
  {
    OpScope s(prof_, "conv_fwd", flops::conv_fwd(B));
    conv_fwd(B, ws.x.data(), p.conv_w.data(), p.conv_b.data(), ws.act.data());
  }
  {
    OpScope s(prof_, "pool_fwd", flops::pool_fwd(B));
    pool_fwd(B, ws.act.data(), ws.pooled.data(), ws.winner.data());
  }
  {
    OpScope s(prof_, "fc_fwd", flops::fc_fwd(B));
    fc_fwd(B, ws.pooled.data(), p.fc_w.data(), p.fc_b.data(), ws.logits.data());
  }
}

void Backend::forward_infer(int B, const Params& p, Workspace& ws) { forward_train(B, p, ws); }

float Backend::loss_grad(int B, float scale, Workspace& ws) {
  OpScope s(prof_, "softmax_xent", flops::softmax_xent(B));
  return softmax_xent(B, ws.logits.data(), ws.labels.data(), scale, ws.probs.data(),
                      ws.dlogits.data());
}

void Backend::backward(int B, const Params& p, Workspace& ws, Params& g) {
  {
    OpScope s(prof_, "fc_bwd", flops::fc_bwd(B));
    fc_bwd(B, ws.pooled.data(), p.fc_w.data(), ws.dlogits.data(), g.fc_w.data(), g.fc_b.data(),
           ws.dpooled.data());
  }
  {
    OpScope s(prof_, "pool_bwd", flops::pool_bwd(B));
    pool_bwd(B, ws.dpooled.data(), ws.winner.data(), ws.act.data(), ws.dact.data());
  }
  {
    OpScope s(prof_, "conv_bwd", flops::conv_bwd(B));
    conv_bwd(B, ws.x.data(), ws.dact.data(), g.conv_w.data(), g.conv_b.data());
  }
}

void Backend::update(float lr, Params& p, const Params& g) {
  OpScope s(prof_, "sgd_update", flops::sgd_update());
  sgd_update(lr, p.fc_w.data(), g.fc_w.data(), kFcWSize);
  sgd_update(lr, p.fc_b.data(), g.fc_b.data(), kClasses);
  sgd_update(lr, p.conv_w.data(), g.conv_w.data(), kConvWSize);
  sgd_update(lr, p.conv_b.data(), g.conv_b.data(), kConvC);
}

float Backend::train_step(int B, float lr, Params& p, Workspace& ws, Params& g) {
  forward_train(B, p, ws);
  const float loss = loss_grad(B, 1.0f / float(B), ws);
  backward(B, p, ws, g);
  update(lr, p, g);
  return loss;
}

// images -> ws.x, in tasks of 8 images on the backend's threads.
void Backend::bytes_to_x(int B, const std::uint8_t* const* images, Workspace& ws) {
  OpScope s(prof_, "gather", 0, OpKind::outside);  // (the trainer gathers itself when profiling)
  constexpr int kPer = 8;
  auto task = [&](int t) {
    for (int b = t * kPer; b < std::min(B, (t + 1) * kPer); ++b)
      image_to_input(images[b], ws.x.data() + std::size_t(b) * kImgPixels);
  };
  parallel_for((B + kPer - 1) / kPer, std::cref(task));  // by reference: no allocation
}

float Backend::train_step_bytes(int B, const std::uint8_t* const* images, float lr, Params& p,
                                Workspace& ws, Params& g) {
  bytes_to_x(B, images, ws);
  return train_step(B, lr, p, ws, g);
}

void Backend::forward_infer_bytes(int B, const std::uint8_t* const* images, const Params& p,
                                  Workspace& ws) {
  bytes_to_x(B, images, ws);
  forward_infer(B, p, ws);
}

void Backend::parallel_for(int n, const std::function<void(int)>& f) {
  const int t = threads();
#pragma omp parallel for schedule(static) num_threads(t) if (t > 1 && n > 1)
  for (int i = 0; i < n; ++i) f(i);
}

}  // namespace cnn
