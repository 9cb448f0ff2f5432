// The RNG, initialisation and shuffle against docs/reference.md ("Random
// numbers", "Initialisation") and its seed-1 figures ("Reference figures").
#include <gtest/gtest.h>

#include <numeric>

#include "src/model.h"
#include "src/rng.h"

namespace cnn {
namespace {

TEST(Rng, SeedZeroUsesTheGoldenRatioConstant) {
  Rng a(0), b(0x9e3779b97f4a7c15ULL);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
}

TEST(Rng, XorshiftStep) {
  // x=1: x ^= x<<13 -> 0x2001; x ^= x>>7 -> 0x2041; x ^= x<<17 -> 0x40822041.
  Rng r(1);
  EXPECT_EQ(r.next_u32(), 0u);  // upper 32 bits of 0x40822041
  EXPECT_EQ(r.state(), 0x40822041ULL);
}

TEST(Rng, NextF32DividesByTwoToThe32) {
  // UINT32_MAX converted to f32 is 2^32, so next_f32 is in [0, 1].
  EXPECT_EQ(static_cast<float>(UINT32_MAX), 4294967296.0f);
  Rng r(5);
  for (int i = 0; i < 1000; ++i) {
    float f = r.next_f32();
    EXPECT_GE(f, 0.0f);
    EXPECT_LE(f, 1.0f);
  }
}

TEST(Init, Seed1MatchesBaseline) {
  Rng rng(1);
  Params p;
  init_params(p, rng);
  EXPECT_EQ(p.conv_w[0], -0.27216554f);
  EXPECT_EQ(p.conv_w[1], -0.23814273f);
  EXPECT_EQ(p.conv_w[2], 0.05766338f);
  EXPECT_EQ(p.conv_w[3], 0.24948198f);
  EXPECT_EQ(p.conv_w[71], -0.011463702f);
  EXPECT_EQ(p.fc_w[0], -0.05707171f);
  EXPECT_EQ(p.fc_w[1], 0.018444743f);
  EXPECT_EQ(p.fc_w[2], 0.036541443f);
  EXPECT_EQ(p.fc_w[3], 0.04383098f);
  EXPECT_EQ(p.fc_w[15679], -0.041434303f);
  for (int i = 0; i < kConvC; ++i) EXPECT_EQ(p.conv_b[i], 0.0f);
  for (int i = 0; i < kClasses; ++i) EXPECT_EQ(p.fc_b[i], 0.0f);

  // The first epoch's shuffle continues the stream after initialisation.
  std::vector<std::uint32_t> idx(60000);
  std::iota(idx.begin(), idx.end(), 0u);
  rng.shuffle(idx);
  const std::uint32_t first[] = {46916, 55867, 14756, 6035, 58069, 15262};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(idx[i], first[i]) << "index " << i;
  EXPECT_EQ(idx.back(), 43688u);
  // Still a permutation.
  std::vector<std::uint32_t> sorted = idx;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint32_t i = 0; i < 60000; ++i) ASSERT_EQ(sorted[i], i);
}

}  // namespace
}  // namespace cnn
