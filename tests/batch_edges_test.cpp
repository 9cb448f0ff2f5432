// Every backend trains through every batch-size edge without reading or
// writing past a buffer (run under the sanitizer build: ASan turns an
// overrun into a failure): batch 1, batch sizes that leave a short final
// batch, the whole set as one batch, and a batch larger than the set.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>

#include "kernels/registry.h"
#include "src/model.h"
#include "src/trainer.h"

namespace cnn {
namespace {

Dataset synthetic(int n, std::uint32_t seed) {
  Dataset d;
  d.n = n;
  d.images.resize(std::size_t(n) * kImgPixels);
  d.labels.resize(n);
  std::mt19937 g(seed);
  for (auto& p : d.images) p = std::uint8_t(g() % 256);
  for (auto& l : d.labels) l = std::uint8_t(g() % 10);
  return d;
}

struct EdgeCase {
  std::string backend;
  int batch;
};

class BatchEdges : public ::testing::TestWithParam<EdgeCase> {};

TEST_P(BatchEdges, TrainsAndEvaluatesWithinBounds) {
  const auto& c = GetParam();
  const Dataset train_set = synthetic(97, 1), test_set = synthetic(23, 2);
  BackendOptions opt;
  opt.threads = 2;
  auto be = make_backend(c.backend, opt);
  Rng rng(5);
  Params p;
  init_params(p, rng);
  TrainConfig cfg;
  cfg.epochs = 1;
  cfg.batch = c.batch;
  std::ostringstream out;
  TrainResult r = train(*be, p, rng, cfg, train_set, test_set, out, nullptr);
  ASSERT_EQ(r.epoch_loss.size(), 1u);
  EXPECT_TRUE(std::isfinite(r.epoch_loss[0]));
  EXPECT_GT(r.epoch_loss[0], 0.0f);
  EXPECT_GE(r.accuracy, 0.0f);
  EXPECT_LE(r.accuracy, 100.0f);
  for (std::size_t i = 0; i < p.fc_w.size(); ++i) ASSERT_TRUE(std::isfinite(p.fc_w[i])) << i;
}

std::vector<EdgeCase> cases() {
  std::vector<EdgeCase> v;
  for (const auto& b : backend_registry())
    // 97 images: 7 and 32 leave short final batches (6 and 1), 96 leaves
    // one, 97 is the whole set, 500 is larger than the set.
    for (int batch : {1, 7, 32, 96, 97, 500}) v.push_back({b.name, batch});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Backends, BatchEdges, ::testing::ValuesIn(cases()), [](const auto& info) {
  return info.param.backend + "_batch" + std::to_string(info.param.batch);
});

}  // namespace
}  // namespace cnn
