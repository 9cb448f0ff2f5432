// grouped_by_margins (src/mnist.h): the test set the trainer and `eval`
// evaluate is reordered so that images with similar empty margins share a
// batch. It must be a permutation that keeps every label with its image,
// ordered by the bounding-box key with ties in file order, and evaluating it
// must give the accuracy and confusion matrix of the file order, on every
// backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "kernels/registry.h"
#include "src/mnist.h"
#include "src/model.h"
#include "src/rng.h"
#include "src/trainer.h"

namespace cnn::test {
namespace {

// n images, each a random blob in its own box (some blank, some touching an
// edge), labelled by a hash of the box so that labels carry information.
Dataset boxes(int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Dataset d;
  d.n = n;
  d.images.assign(std::size_t(n) * kImgPixels, 0);
  d.labels.resize(n);
  for (int i = 0; i < n; ++i) {
    std::uint8_t* p = d.images.data() + std::size_t(i) * kImgPixels;
    d.labels[i] = std::uint8_t(rng() % kClasses);
    if (i % 17 == 0) continue;  // blank
    const int l = int(rng() % 20), t = int(rng() % 20);
    const int r = std::min(kImgW - 1, l + 2 + int(rng() % 12)),
              b = std::min(kImgH - 1, t + 2 + int(rng() % 12));
    for (int y = t; y <= b; ++y)
      for (int x = l; x <= r; ++x)
        if (rng() % 2) p[y * kImgW + x] = std::uint8_t(1 + rng() % 255);
    p[t * kImgW + l] = 255;  // the box's corners are set
    p[b * kImgW + r] = 255;
  }
  return d;
}

// The grouping key, spelled out independently of src/mnist.cpp.
std::array<int, 4> key_of(const std::uint8_t* p) {
  int l = kImgW, r = -1, t = kImgH, b = -1;
  for (int y = 0; y < kImgH; ++y)
    for (int x = 0; x < kImgW; ++x)
      if (p[y * kImgW + x]) {
        l = std::min(l, x), r = std::max(r, x), t = std::min(t, y), b = std::max(b, y);
      }
  return {(l + 1) / 2, (r + 1) / 2, t, b};
}

TEST(MarginOrder, IsAPermutationSortedByTheBoxWithLabelsAttached) {
  const Dataset d = boxes(500, 3);
  const Dataset g = grouped_by_margins(d);
  ASSERT_EQ(g.n, d.n);
  ASSERT_EQ(g.images.size(), d.images.size());
  ASSERT_EQ(g.labels.size(), d.labels.size());
  // Every image of d appears once in g, with its label; equal images are
  // matched in file order (the sort is stable).
  std::map<std::vector<std::uint8_t>, std::vector<int>> where;
  for (int i = 0; i < d.n; ++i) {
    const auto* p = d.images.data() + std::size_t(i) * kImgPixels;
    where[std::vector<std::uint8_t>(p, p + kImgPixels)].push_back(i);
  }
  std::map<std::vector<std::uint8_t>, std::size_t> used;
  std::array<int, 4> prev{-1, -1, -1, -1};
  int prev_src = -1;
  for (int i = 0; i < g.n; ++i) {
    const auto* p = g.images.data() + std::size_t(i) * kImgPixels;
    const std::vector<std::uint8_t> img(p, p + kImgPixels);
    auto it = where.find(img);
    ASSERT_NE(it, where.end()) << "image " << i << " is not one of the input's";
    const std::size_t k = used[img]++;
    ASSERT_LT(k, it->second.size()) << "image " << i << " appears too often";
    const int src = it->second[k];
    EXPECT_EQ(g.labels[i], d.labels[src]) << "image " << i;
    const auto key = key_of(p);
    EXPECT_TRUE(prev < key || (prev == key && prev_src < src))
        << "image " << i << " (file index " << src << ") is out of order";
    prev = key;
    prev_src = src;
  }
}

TEST(MarginOrder, EvaluationGivesTheFileOrdersResults) {
  const Dataset d = boxes(300, 4);  // one batch of 256 and a partial one
  const Dataset g = grouped_by_margins(d);
  Params p;
  Rng rng(9);
  init_params(p, rng);
  for (const char* name : {"naive", "omp", "im2col", "simd"}) {
    BackendOptions o;
    o.threads = 2;
    auto be = make_backend(name, o);
    Workspace ws(kEvalBatch);
    be->prepare(kEvalBatch);
    std::vector<int> cd(kClasses * kClasses, 0), cg(kClasses * kClasses, 0);
    const float ad = evaluate(*be, p, d, ws, cd.data());
    const float ag = evaluate(*be, p, g, ws, cg.data());
    EXPECT_EQ(ad, ag) << name;
    EXPECT_EQ(cd, cg) << name;
  }
}

TEST(MarginOrder, EmptyAndSingleSets) {
  Dataset e;
  EXPECT_EQ(grouped_by_margins(e).n, 0);
  const Dataset one = boxes(1, 5);
  const Dataset g = grouped_by_margins(one);
  EXPECT_EQ(g.images, one.images);
  EXPECT_EQ(g.labels, one.labels);
}

}  // namespace
}  // namespace cnn::test
