// The tester must catch what it claims to catch: a backend with one wrong
// output element in any operation fails that operation's check; each class
// of bug the tester's newer checks exist for (state left over between calls,
// extreme values, composite outputs beyond fc_w) is caught in a deliberately
// broken backend that passed the checks without them; and the reference's
// backward pass agrees with finite differences of its forward. Every broken
// backend lives here, wrapping a real one; the product has none.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
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

// ---- Bug classes ------------------------------------------------------------
// Forwards every primitive to naive; the composite steps are the interface's
// defaults, so a faulty primitive reaches them as it would in a backend.
class Wrapped : public Backend {
 public:
  Wrapped() : in_(make_naive_backend()) {}
  std::string name() const override { return "faulty"; }
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    in_->conv_fwd(B, x, w, b, act);
  }
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
    in_->pool_fwd(B, act, pooled, winner);
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* logits) override {
    in_->fc_fwd(B, in, w, b, logits);
  }
  float softmax_xent(int B, const float* z, const std::uint8_t* l, float s, float* p,
                     float* d) override {
    return in_->softmax_xent(B, z, l, s, p, d);
  }
  void fc_bwd(int B, const float* in, const float* w, const float* d, float* dw, float* db,
              float* din) override {
    in_->fc_bwd(B, in, w, d, dw, db, din);
  }
  void pool_bwd(int B, const float* dp, const std::uint8_t* win, const float* act,
                float* dact) override {
    in_->pool_bwd(B, dp, win, act, dact);
  }
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    in_->conv_bwd(B, x, dact, dw, db);
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    in_->sgd_update(lr, p, g, n);
  }

 protected:
  std::unique_ptr<Backend> in_;
};

// 1. State left over between calls. conv_bwd as a 16-lane kernel runs it:
// the batch is copied into private chunk buffers that grow but are never
// cleared, and the gradient is summed over whole chunks. Fresh buffers are
// zero, so the lanes past the batch add nothing; after a larger batch they
// hold its samples.
class StaleLanes : public Wrapped {
 public:
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    const int padded = (B + 15) / 16 * 16;
    if (xs_.size() < std::size_t(padded) * kImgPixels) {
      xs_.resize(std::size_t(padded) * kImgPixels);
      ds_.resize(std::size_t(padded) * kActSize);
    }
    std::copy(x, x + std::size_t(B) * kImgPixels, xs_.data());
    std::copy(dact, dact + std::size_t(B) * kActSize, ds_.data());
    in_->conv_bwd(padded, xs_.data(), ds_.data(), dw, db);
  }

 private:
  Buffer<float> xs_, ds_;
};

// 1. (scratch the test can reach) A fused backward that sums fc db over the
// workspace's dlogits rows up to the chunk end, taking the rows past the
// batch for zero, as they are in a freshly allocated workspace of that size.
class WorkspaceTail : public Wrapped {
 public:
  void backward(int B, const Params& p, Workspace& ws, Params& g) override {
    Backend::backward(B, p, ws, g);
    const int rows = std::min((B + 15) / 16 * 16, ws.max_batch);
    for (int j = 0; j < kClasses; ++j) {
      g.fc_b[j] = 0;
      for (int n = 0; n < rows; ++n) g.fc_b[j] += ws.dlogits[std::size_t(n) * kClasses + j];
    }
  }
};

// 2. Extreme values: softmax without subtracting the row's maximum (exact
// enough for logits in [-5, 5], NaN for large ones).
class NoMaxSubtraction : public Wrapped {
 public:
  float softmax_xent(int B, const float* z, const std::uint8_t* l, float s, float* p,
                     float* d) override {
    float loss = 0;
    for (int n = 0; n < B; ++n) {
      float sum = 0;
      for (int j = 0; j < kClasses; ++j) sum += p[n * kClasses + j] = std::exp(z[n * kClasses + j]);
      for (int j = 0; j < kClasses; ++j) {
        p[n * kClasses + j] /= sum;
        d[n * kClasses + j] = (p[n * kClasses + j] - (j == l[n] ? 1.0f : 0.0f)) * s;
      }
      loss += -std::log(std::fmax(p[n * kClasses + l[n]], 1e-9f));
    }
    return loss;
  }
};

// 2. The loss without the specified 1e-9 clamp: right until the label's
// probability falls below 1e-9.
class UnclampedLoss : public Wrapped {
 public:
  float softmax_xent(int B, const float* z, const std::uint8_t* l, float s, float* p,
                     float* d) override {
    in_->softmax_xent(B, z, l, s, p, d);
    float loss = 0;
    for (int n = 0; n < B; ++n) {
      const float* r = z + std::size_t(n) * kClasses;
      const float mx = *std::max_element(r, r + kClasses);
      float sum = 0;
      for (int j = 0; j < kClasses; ++j) sum += std::exp(r[j] - mx);
      loss += std::log(sum) - (r[l[n]] - mx);
    }
    return loss;
  }
};

// 2. Max-pool whose running maximum starts at a "very negative" constant
// instead of the window's first value: right unless a window lies below it.
class PoolStartsAtMinus1e30 : public Wrapped {
 public:
  void pool_fwd(int B, const float* act, float* pooled, std::uint8_t* winner) override {
    in_->pool_fwd(B, act, pooled, winner);
    for (std::size_t o = 0; o < std::size_t(B) * kFeatures; ++o)
      if (pooled[o] < -1e30f) pooled[o] = -1e30f, winner[o] = 0;
  }
};

// 2. ReLU with a small threshold instead of 0: right for every value that
// is not within 1e-6 of the decision point.
class ReluEpsilon : public Wrapped {
 public:
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    in_->conv_fwd(B, x, w, b, act);
    for (std::size_t i = 0; i < std::size_t(B) * kActSize; ++i)
      if (act[i] < 1e-6f) act[i] = 0;
  }
};

// 3. Composite outputs beyond fc_w: an update that moves conv_b the wrong
// way, and a fused loss step that writes dlogits but leaves ws.probs alone.
class UpdateConvBWrongWay : public Wrapped {
 public:
  void update(float lr, Params& p, const Params& g) override {
    Backend::update(lr, p, g);
    for (int c = 0; c < kConvC; ++c) p.conv_b[c] += 2 * lr * g.conv_b[c];
  }
};
class ProbsNotWritten : public Wrapped {
 public:
  float loss_grad(int B, float scale, Workspace& ws) override {
    std::vector<float> probs(std::size_t(B) * kClasses);
    return in_->softmax_xent(B, ws.logits.data(), ws.labels.data(), scale, probs.data(),
                             ws.dlogits.data());
  }
};

// Further classes, each caught by a check added for it.
// Writes a whole 16-sample chunk of output for a short last chunk (caught by
// the guard after every output).
class WritesPastBatch : public Wrapped {
 public:
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    in_->conv_fwd(B, x, w, b, act);
    if (B % 16)
      std::fill(act + std::size_t(B) * kActSize, act + std::size_t(B + 1) * kActSize, 0.0f);
  }
};
// Scales dlogits by 1/B instead of the scale passed (the trainer's scale, so
// only a check with another scale sees it).
class IgnoresScale : public Wrapped {
 public:
  float softmax_xent(int B, const float* z, const std::uint8_t* l, float, float* p,
                     float* d) override {
    return in_->softmax_xent(B, z, l, 1.0f / float(B), p, d);
  }
};
// The trainer's learning rate written into the kernel.
class BakedLearningRate : public Wrapped {
 public:
  void sgd_update(float, float* p, const float* g, std::size_t n) override {
    in_->sgd_update(0.01f, p, g, n);
  }
};
// conv_bwd that trusts the model's sparsity: only the first non-zero
// gradient of each 2x2 window counts (what the pool backward leaves).
class SparseConvBwd : public Wrapped {
 public:
  void conv_bwd(int B, const float* x, const float* dact, float* dw, float* db) override {
    std::vector<float> d(dact, dact + std::size_t(B) * kActSize);
    for (std::size_t plane = 0; plane < std::size_t(B) * kConvC; ++plane)
      for (int py = 0; py < kPoolH; ++py)
        for (int px = 0; px < kPoolW; ++px) {
          const std::size_t at = plane * kImgPixels + std::size_t(2 * py) * kImgW + 2 * px;
          bool seen = false;
          for (std::size_t k : {at, at + 1, at + kImgW, at + kImgW + 1}) {
            if (seen) d[k] = 0;
            seen |= d[k] != 0;
          }
        }
    in_->conv_bwd(B, x, d.data(), dw, db);
  }
};

struct ClassCase {
  const char* name;
  std::function<std::unique_ptr<Backend>()> make;
  const char* must_fail;              // the result that must fail
  const char* message;                // ... with this in its failure message
  std::vector<const char*> may_fail;  // other results allowed to fail
};

template <class T>
std::function<std::unique_ptr<Backend>()> maker() {
  return [] { return std::unique_ptr<Backend>(new T); };
}

const ClassCase kClassCases[] = {
    {"StaleLanes",
     maker<StaleLanes>(),
     "conv_bwd[integer]",
     "differs from the same call before the garbage run",
     {"conv_bwd[real]", "conv_bwd[dense]", "train_step[composite]"}},
    {"WorkspaceTail", maker<WorkspaceTail>(), "train_step[composite]", "grad fc_b", {}},
    {"NoMaxSubtraction", maker<NoMaxSubtraction>(), "softmax_xent[extreme]", "probs", {}},
    {"UnclampedLoss", maker<UnclampedLoss>(), "softmax_xent[extreme]", "loss", {}},
    {"PoolStartsAtMinus1e30", maker<PoolStartsAtMinus1e30>(), "pool_fwd[near-ties]", "pooled", {}},
    {"ReluEpsilon", maker<ReluEpsilon>(), "conv_fwd[relu-edge]", "act", {"conv_fwd[denormal]"}},
    {"UpdateConvBWrongWay",
     maker<UpdateConvBWrongWay>(),
     "train_step[composite]",
     "updated conv_b",
     {}},
    {"ProbsNotWritten", maker<ProbsNotWritten>(), "train_step[composite]", "probs", {}},
    {"WritesPastBatch",
     maker<WritesPastBatch>(),
     "conv_fwd[integer]",
     "written past its end",
     {"conv_fwd[real]", "conv_fwd[relu-edge]", "conv_fwd[denormal]"}},
    {"IgnoresScale", maker<IgnoresScale>(), "softmax_xent[extreme]", "dlogits", {}},
    {"BakedLearningRate",
     maker<BakedLearningRate>(),
     "sgd_update[real]",
     "p (call 1",
     {"train_step[composite]"}},
    {"SparseConvBwd", maker<SparseConvBwd>(), "conv_bwd[dense]", "dw", {}},
};

void PrintTo(const ClassCase& k, std::ostream* os) { *os << k.name << " -> " << k.must_fail; }

class BugClasses : public ::testing::TestWithParam<ClassCase> {};

// Each fault fails its check, with the expected message, and nothing else
// (so the check that catches it is the newer one: the older checks of the
// same operation, on moderate values and a fresh backend, still pass).
TEST_P(BugClasses, OnlyTheCheckForTheClassFails) {
  const ClassCase& k = GetParam();
  auto be = k.make();
  OpCase c;
  c.backend = std::string("faulty(") + k.name + ")";
  c.isa = "portable";
  c.batch = 17;  // a short second chunk; every extreme-logit row kind
  bool caught = false;
  for (const auto& r : check_backend(*be, c)) {
    if (r.op == k.must_fail) {
      caught = !r.pass;
      EXPECT_NE(r.failure.find(k.message), std::string::npos) << r.failure;
    } else if (std::find(k.may_fail.begin(), k.may_fail.end(), r.op) == k.may_fail.end()) {
      EXPECT_TRUE(r.pass) << r.op << ": " << r.failure;
    }
  }
  EXPECT_TRUE(caught) << k.name << " went unnoticed by " << k.must_fail;
}

INSTANTIATE_TEST_SUITE_P(Faults, BugClasses, ::testing::ValuesIn(kClassCases),
                         [](const ::testing::TestParamInfo<ClassCase>& i) {
                           return std::string(i.param.name);
                         });

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
