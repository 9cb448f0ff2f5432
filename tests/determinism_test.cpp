// Thread-count independence: every registered backend, at every ISA path this
// CPU supports, trains a few hundred batches with 1, 2 and 3 threads, and the
// parameters (and every batch loss) must be identical bit for bit. A backend
// joins by being registered. Also: omp with FTZ off is bit-identical to
// naive, and the threading helpers of kernels/common/parallel.h.
//
// Data: the first images of the MNIST training set when data/ holds it (real
// digits: the values and the denormals training really meets), else
// synthetic digits-like images from a fixed seed, so the test always runs.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/registry.h"
#include "src/mnist.h"
#include "src/model.h"
#include "src/rng.h"
#include "src/trainer.h"

namespace cnn::test {
namespace {

constexpr int kBatch = 32;
// 300 batches, the last one short (27 samples) so the ragged split is tested.
constexpr int kSamples = 300 * kBatch - 5;

// A bright square on a dark background whose position gives the label
// (classes on a 2x5 grid), jittered by a pixel, plus sparse noise:
// learnable in a few hundred batches, with the mostly-zero pixels of MNIST.
Dataset synthetic(int n, std::uint64_t seed) {
  Dataset d;
  d.n = n;
  d.images.assign(std::size_t(n) * kImgPixels, 0);
  d.labels.resize(n);
  std::mt19937_64 g(seed);
  std::uniform_int_distribution<int> lab(0, 9), jit(-1, 1), val(128, 255), noise(0, 49);
  for (int s = 0; s < n; ++s) {
    const int y = lab(g);
    d.labels[s] = std::uint8_t(y);
    std::uint8_t* img = d.images.data() + std::size_t(s) * kImgPixels;
    const int r0 = 3 + (y / 5) * 13 + jit(g), c0 = 1 + (y % 5) * 5 + jit(g);
    for (int r = r0; r < r0 + 6; ++r)
      for (int c = c0; c < c0 + 5; ++c)
        if (r >= 0 && r < kImgH && c >= 0 && c < kImgW) img[r * kImgW + c] = std::uint8_t(val(g));
    for (int p = 0; p < kImgPixels; ++p)
      if (noise(g) == 0) img[p] = std::uint8_t(val(g));
  }
  return d;
}

struct Data {
  Dataset set;
  std::string source;
};

const Data& training_data() {
  static const Data data = [] {
    Data r;
    try {
      Dataset full = load_mnist(std::string(CNN_SOURCE_DIR) + "/data", "train");
      if (full.n >= kSamples) {
        r.set.n = kSamples;
        r.set.images.assign(full.images.begin(),
                            full.images.begin() + std::size_t(kSamples) * kImgPixels);
        r.set.labels.assign(full.labels.begin(), full.labels.begin() + kSamples);
        r.source = "MNIST (first " + std::to_string(kSamples) + " training images)";
        return r;
      }
    } catch (const DataError&) {
    }
    r.set = synthetic(kSamples, 20261124);
    r.source = "synthetic (seed 20261124)";
    return r;
  }();
  return data;
}

struct TrainRun {
  Params p;
  std::vector<float> losses;
  int threads_reported = 0;
};

// Drives the backend exactly as src/trainer.cpp does, for one pass over the
// data: seed-1 initialisation, shuffle, gather, forward, loss, backward, SGD.
TrainRun train_run(const std::string& backend, const std::string& isa, int threads, bool ftz) {
  const Dataset& d = training_data().set;
  BackendOptions opt;
  opt.threads = threads;
  opt.isa = isa;
  opt.ftz = ftz;
  auto be = make_backend(backend, opt);
  TrainRun run;
  run.threads_reported = be->threads();
  Rng rng(1);
  init_params(run.p, rng);
  std::vector<std::uint32_t> idx(d.n);
  std::iota(idx.begin(), idx.end(), 0u);
  rng.shuffle(idx);
  Workspace ws(kBatch);
  be->prepare(kBatch);
  Params g;
  for (int start = 0; start < d.n; start += kBatch) {
    const int B = std::min(kBatch, d.n - start);
    gather_batch(d, idx.data() + start, B, ws.x.data(), ws.labels.data());
    be->forward_train(B, run.p, ws);
    run.losses.push_back(be->loss_grad(B, 1.0f / float(B), ws));
    be->backward(B, run.p, ws, g);
    be->update(0.01f, run.p, g);
  }
  return run;
}

// Index of the first parameter that differs in its bits, or -1.
long first_diff(const Buffer<float>& a, const Buffer<float>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return long(i);
  return -1;
}

// Asserts bit-identical parameters and batch losses, naming what differs.
void expect_same_bits(const TrainRun& want, const TrainRun& got, const std::string& what) {
  const std::pair<const char*, std::pair<const Buffer<float>*, const Buffer<float>*>> tensors[] = {
      {"conv_w", {&want.p.conv_w, &got.p.conv_w}},
      {"conv_b", {&want.p.conv_b, &got.p.conv_b}},
      {"fc_w", {&want.p.fc_w, &got.p.fc_w}},
      {"fc_b", {&want.p.fc_b, &got.p.fc_b}}};
  for (const auto& [name, ab] : tensors) {
    const long i = first_diff(*ab.first, *ab.second);
    EXPECT_EQ(i, -1) << what << ": " << name << "[" << i
                     << "] differs: " << (i >= 0 ? (*ab.first)[i] : 0.f) << " vs "
                     << (i >= 0 ? (*ab.second)[i] : 0.f);
  }
  ASSERT_EQ(want.losses.size(), got.losses.size()) << what;
  for (std::size_t k = 0; k < want.losses.size(); ++k) {
    if (std::memcmp(&want.losses[k], &got.losses[k], sizeof(float)) != 0) {
      ADD_FAILURE() << what << ": loss of batch " << k << " differs: " << want.losses[k] << " vs "
                    << got.losses[k];
      break;
    }
  }
}

struct Case {
  std::string backend, isa;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& info : backend_registry())
    for (const auto& isa : info.isa_paths()) cases.push_back({info.name, isa});
  return cases;
}

class DeterminismTest : public ::testing::TestWithParam<Case> {};

TEST_P(DeterminismTest, SameBitsAtAnyThreadCount) {
  const Case& c = GetParam();
  RecordProperty("data", training_data().source);
  const TrainRun one = train_run(c.backend, c.isa, 1, true);
  // The run trained: finite losses that went down (mean of the last 20
  // batches well below the first 20's), so equal bits are not equal garbage.
  ASSERT_EQ(one.losses.size(), 300u);
  for (float l : one.losses) ASSERT_TRUE(std::isfinite(l));
  const float first = std::accumulate(one.losses.begin(), one.losses.begin() + 20, 0.0f);
  const float last = std::accumulate(one.losses.end() - 21, one.losses.end() - 1, 0.0f);
  EXPECT_LT(last, 0.8f * first) << "training made no progress on " << training_data().source
                                << ": first 20 batches " << first << ", last 20 " << last;
  for (int t : {2, 3}) {
    const TrainRun r = train_run(c.backend, c.isa, t, true);
    EXPECT_TRUE(r.threads_reported == t || r.threads_reported == 1)
        << c.backend << " reports " << r.threads_reported << " threads when asked for " << t;
    expect_same_bits(one, r,
                     c.backend + "/" + c.isa + " threads=1 vs threads=" + std::to_string(t));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DeterminismTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.backend + "_" + info.param.isa;
                         });

// omp computes every element with naive's operations in naive's order (see
// kernels/omp/omp.h); with FTZ off nothing else differs, so the bits match.
const TrainRun& naive_run() {
  static const TrainRun r = train_run("naive", "portable", 1, false);
  return r;
}

TEST(OmpDeterminism, FtzOffMatchesNaiveBitForBit) {
  const TrainRun& naive = naive_run();
  const TrainRun omp = train_run("omp", "portable", 2, false);
  EXPECT_EQ(omp.threads_reported, 2);
  expect_same_bits(naive, omp, "omp (2 threads, ftz off) vs naive");
}

// With FTZ on, results may only differ from naive where a denormal arose;
// the size of any difference is reported, and must stay far below the
// parameters' own scale.
TEST(OmpDeterminism, FtzOnCloseToNaive) {
  const TrainRun& naive = naive_run();
  const TrainRun omp = train_run("omp", "portable", 2, true);
  double max_diff = 0;
  long differing = 0;
  for (std::size_t i = 0; i < naive.p.fc_w.size(); ++i) {
    const double e = std::fabs(double(naive.p.fc_w[i]) - double(omp.p.fc_w[i]));
    if (e != 0) ++differing;
    max_diff = std::max(max_diff, e);
  }
  RecordProperty("fc_w_differing", std::to_string(differing));
  std::printf(
      "omp ftz=on vs naive after 300 batches: %ld of %zu fc_w values differ, max |diff| %.3g\n",
      differing, naive.p.fc_w.size(), max_diff);
  EXPECT_LT(max_diff, 1e-5);
}

// ---- kernels/common/parallel.h ----------------------------------------

TEST(ParallelHelpers, SplitRangeTilesInGranules) {
  for (int n : {0, 1, 7, 32, 67, 1568}) {
    for (int parts : {1, 2, 3, 5, 16}) {
      for (int grain : {1, 8, 16}) {
        int next = 0;
        for (int p = 0; p < parts; ++p) {
          const par::Range r = par::split_range(n, p, parts, grain);
          EXPECT_EQ(r.begin, next) << n << " " << parts << " " << grain;
          EXPECT_LE(r.begin, r.end);
          if (r.begin < n) {
            EXPECT_EQ(r.begin % grain, 0);
          }
          next = r.end;
        }
        EXPECT_EQ(next, n);
      }
    }
  }
}

TEST(ParallelHelpers, OmpRegionRunsEveryThreadInTheRequestedMode) {
  if (!par::ftz_supported()) GTEST_SKIP() << "FTZ/DAZ is x86-only; a no-op on this CPU";
  const bool before = par::ftz_enabled();
  for (bool ftz : {true, false}) {
    std::vector<int> mode(3, -1);
    int team = 0;
    par::omp_region(3, ftz, [&](int t, int nt) {
      mode[t] = par::ftz_enabled();
      if (t == 0) team = nt;
    });
    ASSERT_GE(team, 1);
    for (int t = 0; t < team; ++t) EXPECT_EQ(mode[t], int(ftz)) << "thread " << t << " ftz=" << ftz;
    EXPECT_EQ(par::ftz_enabled(), before) << "the caller's mode leaked out of the region";
  }
}

TEST(ParallelHelpers, FtzScopeFlushesAndRestores) {
  if (!par::ftz_supported()) GTEST_SKIP() << "FTZ/DAZ is x86-only; a no-op on this CPU";
  volatile float tiny = 1e-30f, scale = 1e-10f;  // product 1e-40 is denormal
  const bool before = par::ftz_enabled();
  {
    par::FtzScope off(false);
    EXPECT_NE(tiny * scale, 0.0f);
    {
      par::FtzScope on(true);
      EXPECT_TRUE(par::ftz_enabled());
      EXPECT_EQ(tiny * scale, 0.0f);
    }
    EXPECT_FALSE(par::ftz_enabled());
    EXPECT_NE(tiny * scale, 0.0f);
  }
  EXPECT_EQ(par::ftz_enabled(), before);
}

}  // namespace
}  // namespace cnn::test
