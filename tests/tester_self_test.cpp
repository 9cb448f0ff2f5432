// The tester must catch what it claims to catch: a backend with one wrong
// output element in any operation fails that operation's check, and the
// reference's backward pass agrees with finite differences of its forward.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/naive/naive.h"
#include "tests/op_tester.h"
#include "tests/reference.h"

namespace cnn::test {
namespace {

// Delegates to naive, then corrupts one element of the chosen operation.
class FaultyBackend : public Backend {
 public:
  explicit FaultyBackend(std::string op) : op_(std::move(op)) {}
  std::string name() const override { return "faulty"; }
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    conv_fwd_naive(B, x, w, b, act);
    if (op_ == "conv_fwd") act[B * kActSize / 2 + 1] += 1.0f;
  }
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
    pool_fwd_naive(B, act, pooled, winner);
    if (op_ == "pool_fwd") winner[B * kFeatures - 1] ^= 1;
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) override {
    fc_fwd_naive(B, in, w, b, logits);
    if (op_ == "fc_fwd") logits[B * kClasses - 1] *= 1.001f;
  }
  float softmax_xent(int B, const float* z, const std::uint8_t* l, float s, float* p,
                     float* d) override {
    float loss = softmax_xent_naive(B, z, l, s, p, d);
    if (op_ == "softmax_xent") d[0] += 1e-4f;
    return loss;
  }
  void fc_bwd(int B, const float* in, const float* w, const float* d, float* dw, float* db,
              float* din) override {
    fc_bwd_naive(B, in, w, d, dw, db, din);
    if (op_ == "fc_bwd") dw[kFcWSize / 3] += 0.5f;
  }
  void pool_bwd(int B, const float* dp, const std::uint8_t* win, const float* act,
                float* dact) override {
    pool_bwd_naive(B, dp, win, act, dact);
    // Drop the ReLU mask on one element.
    if (op_ == "pool_bwd") {
      for (int i = 0; i < B * kActSize; ++i) {
        if (act[i] <= 0 && dact[i] == 0) {
          dact[i] = 1.0f;
          break;
        }
      }
    }
  }
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    conv_bwd_naive(B, x, dact, dw, db);
    if (op_ == "conv_bwd") db[kConvC - 1] += 1.0f;
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    sgd_update_naive(lr, p, g, n);
    if (op_ == "sgd_update") p[n - 1] += 1e-3f;
  }

 private:
  std::string op_;
};

class FaultInjection : public ::testing::TestWithParam<std::string> {};

TEST_P(FaultInjection, TesterReportsTheFaultyOperation) {
  const std::string op = GetParam();
  FaultyBackend be(op);
  OpCase c;
  c.backend = "faulty(" + op + ")";
  c.isa = "portable";
  c.batch = 3;
  bool op_failed = false;
  for (const auto& r : check_backend(be, c)) {
    const bool is_op = r.op.rfind(op + "[", 0) == 0;
    if (is_op) op_failed |= !r.pass;
    // Checks of other primitives must stay green (the composite step may
    // see the fault too, as it chains the primitives).
    if (!is_op && r.op != "train_step[composite]") {
      EXPECT_TRUE(r.pass) << r.op << ": " << r.failure;
    }
  }
  EXPECT_TRUE(op_failed) << "a fault in " << op << " went unnoticed";
}

INSTANTIATE_TEST_SUITE_P(Ops, FaultInjection,
                         ::testing::Values("conv_fwd", "pool_fwd", "fc_fwd", "softmax_xent",
                                           "fc_bwd", "pool_bwd", "conv_bwd", "sgd_update"));

TEST(ReferenceGradient, MatchesFiniteDifferences) {
  // Central differences in double on a batch of 3 real-valued images.
  const int B = 3;
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> u(-1, 1), pix(0, 1);
  ref::Model m;
  m.conv_w.resize(kConvWSize);
  m.conv_b.resize(kConvC);
  m.fc_w.resize(kFcWSize);
  m.fc_b.resize(kClasses);
  for (auto& v : m.conv_w) v = 0.4 * u(g);
  for (auto& v : m.conv_b) v = 0.1 * u(g);
  for (auto& v : m.fc_w) v = 0.05 * u(g);
  for (auto& v : m.fc_b) v = 0.1 * u(g);
  ref::Vec x(B * kImgPixels);
  for (auto& v : x) v = pix(g);
  std::vector<std::uint8_t> lab = {3, 7, 1};

  ref::StepResult s = ref::train_step(B, m, x, lab);
  // train_step's gradients are of the batch-mean loss (scale 1/B).
  const double h = 1e-6;
  int checked = 0;
  auto check = [&](ref::Vec& param, const ref::Vec& grad, std::size_t i, const char* name) {
    const double keep = param[i];
    param[i] = keep + h;
    const double lp = ref::mean_loss(B, m, x, lab);
    param[i] = keep - h;
    const double lm = ref::mean_loss(B, m, x, lab);
    param[i] = keep;
    const double fd = (lp - lm) / (2 * h);
    // Central differences: truncation O(h^2) and cancellation ~1e-16/h;
    // 1e-6 absolute plus 1e-4 relative is far above both, far below a bug.
    EXPECT_NEAR(grad[i], fd, 1e-6 + 1e-4 * std::fabs(fd)) << name << "[" << i << "]";
    ++checked;
  };
  for (std::size_t i = 0; i < kConvWSize; i += 5) check(m.conv_w, s.grad.conv_w, i, "conv_w");
  for (std::size_t i = 0; i < kConvC; ++i) check(m.conv_b, s.grad.conv_b, i, "conv_b");
  for (std::size_t i = 0; i < kFcWSize; i += 997) check(m.fc_w, s.grad.fc_w, i, "fc_w");
  for (std::size_t i = 0; i < kClasses; ++i) check(m.fc_b, s.grad.fc_b, i, "fc_b");
  EXPECT_GT(checked, 40);
  // The gradients must not be trivially zero.
  double gnorm = 0;
  for (double v : s.grad.conv_w) gnorm += v * v;
  EXPECT_GT(gnorm, 1e-8);
}

}  // namespace
}  // namespace cnn::test
