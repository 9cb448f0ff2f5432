// The Eigen reference: every layer operation, forward and backward, in double
// precision, written as matrix expressions (the convolution as a patch matrix
// times the filter matrix), independent of any backend's code. Buffers use
// the layouts of kernels/backend.h. Used by the tests and `validate` only.
#pragma once

#include <cstdint>
#include <vector>

namespace cnn::ref {

using Vec = std::vector<double>;

// x (B,784) w (72) b (8) -> act (B,8,28,28) = ReLU(conv + b)
Vec conv_fwd(int B, const Vec& x, const Vec& w, const Vec& b);
// Same convolution without ReLU: the pre-activation.
Vec conv_pre(int B, const Vec& x, const Vec& w, const Vec& b);
// act (B,6272) -> pooled (B,1568), winner (B,1568) (first maximum wins ties)
void pool_fwd(int B, const Vec& act, Vec& pooled, std::vector<std::uint8_t>& winner);
// in (B,1568) w (1568,10) b (10) -> logits (B,10)
Vec fc_fwd(int B, const Vec& in, const Vec& w, const Vec& b);
// logits (B,10) labels -> probs, dlogits = (probs - onehot) * scale; returns summed loss
double softmax_xent(int B, const Vec& logits, const std::vector<std::uint8_t>& labels, double scale,
                    Vec& probs, Vec& dlogits);
// -> dw (1568,10), db (10), din (B,1568)
void fc_bwd(int B, const Vec& in, const Vec& w, const Vec& d, Vec& dw, Vec& db, Vec& din);
// dpooled (B,1568), winner, act (B,6272) -> dact (B,6272)
Vec pool_bwd(int B, const Vec& dpooled, const std::vector<std::uint8_t>& winner, const Vec& act);
// x (B,784) dact (B,6272) -> dw (72), db (8)
void conv_bwd(int B, const Vec& x, const Vec& dact, Vec& dw, Vec& db);
// p - lr * g
Vec sgd_update(double lr, const Vec& p, const Vec& g);

struct Model {
  Vec conv_w, conv_b, fc_w, fc_b;
};
struct StepResult {
  Vec act, pooled, logits, probs, dlogits, dpooled, dact;
  std::vector<std::uint8_t> winner;
  double loss = 0;  // summed over the batch
  Model grad;
};
// The whole forward + loss + backward chain, scale = 1/B.
StepResult train_step(int B, const Model& m, const Vec& x, const std::vector<std::uint8_t>& labels);
// Mean cross-entropy of the batch (for finite-difference checks).
double mean_loss(int B, const Model& m, const Vec& x, const std::vector<std::uint8_t>& labels);

}  // namespace cnn::ref
