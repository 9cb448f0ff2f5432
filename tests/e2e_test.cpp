// End to end on the real MNIST files against the figures of
// docs/reference.md ("Reference figures"): the naive backend must reproduce
// the reference program's seed-1 and seed-42 figures exactly; every other
// registered backend must land within 1% of each seed-1 epoch loss and 0.5
// points of the accuracy. When data/ lacks the files the test fetches them
// with tools/fetch_mnist.sh, or is reported as skipped with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <numeric>
#include <sstream>

#include "kernels/registry.h"
#include "src/model.h"
#include "src/trainer.h"

namespace cnn {
namespace {

const std::string kDataDir = std::string(CNN_SOURCE_DIR) + "/data";

// Loads MNIST once per process, fetching it first when it is missing.
const std::pair<Dataset, Dataset>* mnist(std::string* why) {
  static std::pair<Dataset, Dataset> sets;
  static std::string error;
  static bool tried = false, ok = false;
  if (!tried) {
    tried = true;
    try {
      find_idx_file(kDataDir, "train-images", "idx3-ubyte");
    } catch (const DataError&) {
      std::string cmd = std::string(CNN_SOURCE_DIR) + "/tools/fetch_mnist.sh >/dev/null";
      if (std::system(cmd.c_str()) != 0) error = "MNIST missing and tools/fetch_mnist.sh failed";
    }
    if (error.empty()) {
      try {
        sets = {load_mnist(kDataDir, "train"), load_mnist(kDataDir, "t10k")};
        ok = true;
      } catch (const DataError& e) {
        error = e.what();
      }
    }
  }
  if (why) *why = error;
  return ok ? &sets : nullptr;
}

#define REQUIRE_MNIST(var)        \
  std::string why_;               \
  const auto* var = mnist(&why_); \
  if (!var) GTEST_SKIP() << "real MNIST unavailable: " << why_

std::string fmt6(float v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6f", double(v));
  return b;
}

TrainResult run(const std::string& backend, int epochs, const Dataset& tr, const Dataset& te,
                int threads = 2) {
  BackendOptions opt;
  opt.threads = threads;
  auto be = make_backend(backend, opt);
  Rng rng(1);
  Params p;
  init_params(p, rng);
  TrainConfig cfg;
  cfg.epochs = epochs;
  std::ostringstream out;
  return train(*be, p, rng, cfg, tr, te, out, nullptr);
}

TEST(E2E, FirstBatchLossesMatchBaseline) {
  REQUIRE_MNIST(d);
  const Dataset& tr = d->first;
  auto be = make_backend("naive");
  Rng rng(1);
  Params p, g;
  init_params(p, rng);
  std::vector<std::uint32_t> idx(tr.n);
  std::iota(idx.begin(), idx.end(), 0u);
  rng.shuffle(idx);
  Workspace ws(32);
  float losses[2];
  for (int b = 0; b < 2; ++b) {
    gather_batch(tr, idx.data() + 32 * b, 32, ws.x.data(), ws.labels.data());
    be->forward_train(32, p, ws);
    losses[b] = be->loss_grad(32, 1.0f / 32, ws);
    be->backward(32, p, ws, g);
    be->update(0.01f, p, g);
  }
  EXPECT_EQ(losses[0], 73.6843338f);
  EXPECT_EQ(losses[1], 74.9317703f);
}

TEST(E2E, NaiveEpoch1MatchesBaseline) {
  REQUIRE_MNIST(d);
  TrainResult r = run("naive", 1, d->first, d->second);
  ASSERT_EQ(r.epoch_loss.size(), 1u);
  EXPECT_EQ(fmt6(r.epoch_loss[0]), "0.591689");
}

// All three epochs and the accuracy, for every backend: labelled slow.
class E2ESlow : public ::testing::TestWithParam<std::string> {};

TEST_P(E2ESlow, ThreeEpochsSeed1) {
  REQUIRE_MNIST(d);
  const std::string backend = GetParam();
  TrainResult r = run(backend, 3, d->first, d->second);
  const float want[3] = {0.591689f, 0.309309f, 0.272540f};
  ASSERT_EQ(r.epoch_loss.size(), 3u);
  if (backend == "naive") {
    for (int e = 0; e < 3; ++e)
      EXPECT_EQ(fmt6(r.epoch_loss[e]), fmt6(want[e])) << "epoch " << e + 1;
    char acc[16];
    std::snprintf(acc, sizeof acc, "%.2f", double(r.accuracy));
    EXPECT_STREQ(acc, "93.11");
  } else {
    for (int e = 0; e < 3; ++e)
      EXPECT_LE(std::fabs(r.epoch_loss[e] - want[e]), 0.01f * want[e])
          << backend << " epoch " << e + 1 << " loss " << r.epoch_loss[e];
    EXPECT_LE(std::fabs(r.accuracy - 93.11f), 0.5f) << backend << " accuracy " << r.accuracy;
  }
}

TEST(E2ESlow, NaiveSeed42MatchesBaseline) {
  REQUIRE_MNIST(d);
  BackendOptions opt;
  auto be = make_backend("naive", opt);
  Rng rng(42);
  Params p;
  init_params(p, rng);
  TrainConfig cfg;
  std::ostringstream out;
  TrainResult r = train(*be, p, rng, cfg, d->first, d->second, out, nullptr);
  ASSERT_EQ(r.epoch_loss.size(), 3u);
  EXPECT_EQ(fmt6(r.epoch_loss[0]), "0.601773");
  EXPECT_EQ(fmt6(r.epoch_loss[1]), "0.311093");
  EXPECT_EQ(fmt6(r.epoch_loss[2]), "0.274596");
  char acc[16];
  std::snprintf(acc, sizeof acc, "%.2f", double(r.accuracy));
  EXPECT_STREQ(acc, "92.60");
}

std::vector<std::string> backend_names() {
  std::vector<std::string> v;
  for (const auto& b : backend_registry()) v.push_back(b.name);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Backends, E2ESlow, ::testing::ValuesIn(backend_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cnn
