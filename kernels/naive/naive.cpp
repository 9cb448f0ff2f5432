// The naive backend object: forwards each primitive to its loop kernel and
// keeps the default (unfused) composite steps of the interface.
#include "kernels/naive/naive.h"

namespace cnn {

namespace {

class NaiveBackend final : public Backend {
 public:
  std::string name() const override { return "naive"; }
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    conv_fwd_naive(B, x, w, b, act);
  }
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
    pool_fwd_naive(B, act, pooled, winner);
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) override {
    fc_fwd_naive(B, in, w, b, logits);
  }
  float softmax_xent(int B, const float* logits, const std::uint8_t* labels, float scale,
                     float* probs, float* dlogits) override {
    return softmax_xent_naive(B, logits, labels, scale, probs, dlogits);
  }
  void fc_bwd(int B, const float* in, const float* w, const float* d, float* dw, float* db,
              float* din) override {
    fc_bwd_naive(B, in, w, d, dw, db, din);
  }
  void pool_bwd(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                float* dact) override {
    pool_bwd_naive(B, dpooled, winner, act, dact);
  }
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    conv_bwd_naive(B, x, dact, dw, db);
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    sgd_update_naive(lr, p, g, n);
  }
};

}  // namespace

std::unique_ptr<Backend> make_naive_backend() { return std::make_unique<NaiveBackend>(); }

}  // namespace cnn
