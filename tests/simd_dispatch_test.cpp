// The simd backend's run-time ISA dispatch: an unknown or unsupported ISA
// request is a clear std::invalid_argument (never an illegal-instruction
// crash), every path this CPU supports can be forced (by BackendOptions::isa
// or by the CNN_ISA environment variable) and then reports itself, the paths
// agree with each other on real data, "auto" picks simd, and backward()
// without its forward_train() is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

#include "kernels/common/cpu.h"
#include "kernels/registry.h"

namespace cnn::test {
namespace {

const char* const kAllPaths[] = {"avx512", "avx2", "neon", "portable"};

bool supported(const std::string& isa) {
  for (const auto& p : supported_isa_paths())
    if (p == isa) return true;
  return false;
}

// Sets CNN_ISA for the scope (nullptr = unset), restoring the old value.
class ScopedIsaEnv {
 public:
  explicit ScopedIsaEnv(const char* value) {
    if (const char* old = std::getenv("CNN_ISA")) saved_ = old;
    if (value)
      setenv("CNN_ISA", value, 1);
    else
      unsetenv("CNN_ISA");
  }
  ~ScopedIsaEnv() {
    if (saved_)
      setenv("CNN_ISA", saved_->c_str(), 1);
    else
      unsetenv("CNN_ISA");
  }

 private:
  std::optional<std::string> saved_;
};

std::unique_ptr<Backend> make_simd(const std::string& isa, int threads = 2) {
  BackendOptions o;
  o.isa = isa;
  o.threads = threads;
  return make_backend("simd", o);
}

TEST(SimdDispatch, AutoPicksSimd) { EXPECT_EQ(find_backend("auto").name, "simd"); }

TEST(SimdDispatch, RegistryListsExactlyTheSupportedPaths) {
  EXPECT_EQ(find_backend("simd").isa_paths(), supported_isa_paths());
  EXPECT_EQ(supported_isa_paths().back(), "portable");
}

TEST(SimdDispatch, UnknownIsaIsAClearError) {
  ScopedIsaEnv env(nullptr);
  for (const char* bad : {"sse9", "AVX2", "avx-512", " portable"}) {
    try {
      make_simd(bad);
      ADD_FAILURE() << "no error for isa '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(bad), std::string::npos) << msg;
      EXPECT_NE(msg.find("portable"), std::string::npos) << "should list the valid paths: " << msg;
    }
  }
}

TEST(SimdDispatch, EveryPathIsForcedOrRefused) {
  ScopedIsaEnv env(nullptr);
  for (const char* isa : kAllPaths) {
    if (supported(isa)) {
      auto be = make_simd(isa);
      EXPECT_EQ(be->name(), "simd");
      EXPECT_EQ(be->isa(), isa);
      EXPECT_EQ(be->threads(), 2);
    } else {
      // A path the CPU (or the OS) lacks must be refused before any of its
      // instructions can run.
      EXPECT_THROW(make_simd(isa), std::invalid_argument) << isa;
    }
  }
  // No request: the best path the CPU has.
  EXPECT_EQ(make_simd("")->isa(), supported_isa_paths().front());
}

TEST(SimdDispatch, EnvironmentVariableLowersThePath) {
  for (const char* isa : kAllPaths) {
    ScopedIsaEnv env(isa);
    if (supported(isa))
      EXPECT_EQ(make_simd("")->isa(), isa);
    else
      EXPECT_THROW(make_simd(""), std::invalid_argument) << isa;
  }
  {
    ScopedIsaEnv env("not-an-isa");
    EXPECT_THROW(make_simd(""), std::invalid_argument);
    // An explicit request takes precedence over the variable.
    EXPECT_EQ(make_simd("portable")->isa(), "portable");
  }
}

// The forced paths compute the same network: logits of a training-like
// batch agree within fp32 rounding across paths (the per-op suite checks
// each path against the reference; this checks the paths really differ in
// code, not in results).
TEST(SimdDispatch, PathsAgreeOnLogits) {
  ScopedIsaEnv env(nullptr);
  constexpr int B = 21;
  std::mt19937 g(7);
  std::uniform_real_distribution<float> px(0.0f, 1.0f), wv(-0.3f, 0.3f), fv(-0.05f, 0.05f);
  Params p;
  for (auto& v : p.conv_w) v = wv(g);
  for (auto& v : p.conv_b) v = 0.1f * wv(g);
  for (auto& v : p.fc_w) v = fv(g);
  for (auto& v : p.fc_b) v = fv(g);
  Workspace ws(B);
  for (auto& v : ws.x) v = g() % 3 == 0 ? px(g) : 0.0f;
  std::vector<float> first;
  std::string first_isa;
  for (const auto& isa : supported_isa_paths()) {
    auto be = make_simd(isa, 3);
    be->prepare(B);
    be->forward_infer(B, p, ws);
    std::vector<float> logits(ws.logits.begin(), ws.logits.begin() + B * kClasses);
    for (float v : logits) ASSERT_TRUE(std::isfinite(v)) << isa;
    if (first.empty()) {
      first = logits;
      first_isa = isa;
      continue;
    }
    for (int i = 0; i < B * kClasses; ++i)
      EXPECT_NEAR(logits[i], first[i], 1e-4f * (1.0f + std::fabs(first[i])))
          << isa << " vs " << first_isa << " at " << i;
  }
}

TEST(SimdDispatch, BackwardNeedsItsForward) {
  ScopedIsaEnv env(nullptr);
  auto be = make_simd("");
  Params p, g;
  Workspace ws(8), other(8);
  be->prepare(8);
  EXPECT_THROW(be->backward(8, p, ws, g), std::logic_error);
  be->forward_train(8, p, ws);
  be->loss_grad(8, 1.0f / 8, ws);
  EXPECT_THROW(be->backward(8, p, other, g), std::logic_error);  // another workspace
  EXPECT_THROW(be->backward(5, p, ws, g), std::logic_error);     // another batch size
  be->forward_infer(8, p, ws);  // reuses the buffers: the training state is gone
  EXPECT_THROW(be->backward(8, p, ws, g), std::logic_error);
  be->forward_train(8, p, ws);
  be->loss_grad(8, 1.0f / 8, ws);
  EXPECT_NO_THROW(be->backward(8, p, ws, g));
}

}  // namespace
}  // namespace cnn::test
