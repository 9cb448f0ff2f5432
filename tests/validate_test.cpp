// The `validate` driver (tools/validate.h): passes on every registered
// backend through the built binary, and fails (exit 1) naming the operation
// when a kernel is perturbed. The fault lives here, in a test-only backend
// handed to validate's command line as its registry, never in the product.
#include <gtest/gtest.h>

#include <sstream>

#include "kernels/naive/naive.h"
#include "kernels/registry.h"
#include "tests/test_util.h"
#include "tools/validate.h"

namespace cnn::test {
namespace {

TEST(Validate, PassesOnEveryRegisteredBackend) {
  RunResult r = run_tool("validate", "--backend all --threads 3");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("all PASS"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
  for (const auto& info : backend_registry())
    for (const auto& isa : info.isa_paths())
      EXPECT_NE(r.output.find("validate: backend=" + info.name + " isa=" + isa +
                              " threads=3 batches=1,3,32,67"),
                std::string::npos)
          << info.name << " " << isa << "\n"
          << r.output;
  for (const char* op :
       {"conv_fwd[integer]", "conv_fwd[real]", "conv_fwd[relu-edge]", "conv_fwd[denormal]",
        "pool_fwd[integer,ties]", "pool_fwd[near-ties]", "fc_fwd[real]", "softmax_xent[real]",
        "softmax_xent[extreme]", "fc_bwd[real]", "pool_bwd[exact]", "conv_bwd[real]",
        "conv_bwd[dense]", "sgd_update[real]", "train_step[composite]"})
    EXPECT_NE(r.output.find("  " + std::string(op) + " "), std::string::npos) << op;
}

// naive with one conv_fwd output nudged by a few ulp: invisible to a loose
// tolerance, not to the exact integer check.
class NudgedConv : public Backend {
 public:
  std::string name() const override { return "nudged"; }
  void conv_fwd(int B, const float* x, const float* w, const float* b, float* act) override {
    conv_fwd_naive(B, x, w, b, act);
    float& v = act[std::size_t(B) * kActSize / 2 + 29];
    v = v == 0 ? 1e-30f : v * (1 + 4e-7f);
  }
  void pool_fwd(int B, const float* a, float* p, std::uint8_t* win) override {
    pool_fwd_naive(B, a, p, win);
  }
  void fc_fwd(int B, const float* in, const float* w, const float* b, float* z) override {
    fc_fwd_naive(B, in, w, b, z);
  }
  float softmax_xent(int B, const float* z, const std::uint8_t* l, float s, float* p,
                     float* d) override {
    return softmax_xent_naive(B, z, l, s, p, d);
  }
  void fc_bwd(int B, const float* in, const float* w, const float* d, float* dw, float* db,
              float* din) override {
    fc_bwd_naive(B, in, w, d, dw, db, din);
  }
  void pool_bwd(int B, const float* dp, const std::uint8_t* win, const float* a,
                float* da) override {
    pool_bwd_naive(B, dp, win, a, da);
  }
  void conv_bwd(int B, const float* x, const float* da, float* dw, float* db) override {
    conv_bwd_naive(B, x, da, dw, db);
  }
  void sgd_update(float lr, float* p, const float* g, std::size_t n) override {
    sgd_update_naive(lr, p, g, n);
  }
};

std::vector<BackendInfo> registry_with_fault() {
  auto portable = [] { return std::vector<std::string>{"portable"}; };
  return {
      {"naive", "", [](const BackendOptions&) { return make_naive_backend(); }, portable},
      {"nudged", "", [](const BackendOptions&) { return std::unique_ptr<Backend>(new NudgedConv); },
       portable},
  };
}

int run(const std::vector<std::string>& args, std::string* out) {
  std::vector<const char*> argv = {"validate"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream o, e;
  int rc = validate::validate_main(int(argv.size()), argv.data(), registry_with_fault(), o, e);
  *out = o.str() + e.str();
  return rc;
}

std::string row(const std::string& out, const std::string& op) {
  auto pos = out.find("  " + op + " ");
  return pos == std::string::npos ? "" : out.substr(pos, out.find('\n', pos) - pos);
}

TEST(Validate, FailsOnAPerturbedKernel) {
  std::string out;
  EXPECT_EQ(run({"--backend", "nudged", "--threads", "1"}, &out), 1) << out;
  EXPECT_NE(row(out, "conv_fwd[integer]").find("FAIL"), std::string::npos) << out;
  EXPECT_NE(
      out.find(
          "FAIL conv_fwd[integer]: backend=nudged isa=portable threads=1 B=1 seed=1001: act index"),
      std::string::npos)
      << out;
  // Only the perturbed operation and the composite step built on it fail.
  for (const char* op :
       {"pool_fwd[integer,ties]", "fc_fwd[integer]", "fc_bwd[real]", "softmax_xent[real]",
        "pool_bwd[exact]", "conv_bwd[integer]", "sgd_update[real]"})
    EXPECT_NE(row(out, op).find("PASS"), std::string::npos) << op << "\n" << out;
  EXPECT_NE(out.find("FAILED"), std::string::npos) << out;

  // --backend all fails too, while the unperturbed backend passes.
  EXPECT_EQ(run({"--backend", "all", "--threads", "1", "--batches", "3"}, &out), 1) << out;
  const auto split = out.find("validate: backend=nudged");
  ASSERT_NE(split, std::string::npos) << out;
  EXPECT_EQ(out.substr(0, split).find("FAIL"), std::string::npos) << out;
  EXPECT_EQ(run({"--backend", "naive", "--isa", "portable", "--batches", "1,3"}, &out), 0) << out;
  EXPECT_NE(out.find("batches=1,3"), std::string::npos) << out;
}

TEST(Validate, UsageErrors) {
  std::string out;
  EXPECT_EQ(run({"--backend", "bogus"}, &out), 2);
  EXPECT_NE(out.find("unknown backend 'bogus' (valid: all, naive, nudged)"), std::string::npos)
      << out;
  EXPECT_EQ(run({"--backend", "naive", "--isa", "avx9000"}, &out), 2);
  EXPECT_NE(out.find("--isa"), std::string::npos) << out;
  EXPECT_EQ(run({"--isa", "avx9000"}, &out), 2);
  EXPECT_EQ(run({"--batches", "0"}, &out), 2);
  EXPECT_EQ(run({"--threads", "0"}, &out), 2);
  EXPECT_EQ(run({"--nope"}, &out), 2);
  RunResult r = run_tool("validate", "--backend bogus");
  EXPECT_EQ(r.status, 2) << r.output;
  r = run_tool("validate", "--help");
  EXPECT_EQ(r.status, 0);
  for (const char* f : {"--backend", "--isa", "--threads", "--batches", "--seed"})
    EXPECT_NE(r.output.find(f), std::string::npos) << f;
}

}  // namespace
}  // namespace cnn::test
