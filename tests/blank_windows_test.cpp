// The simd kernels' blank-window shortcut, on every ISA path this CPU runs:
// a pooling window whose 4x4 input is +0 in every lane of a lane group costs
// a few operations instead of the Winograd tile (forward: its outputs are
// the bias; backward: its weight terms are g * +0), and must give exactly
// the bits of the full computation.
//
// The oracle needs no second implementation: lanes are independent, so a
// lane's results must not depend on what the other lanes of its group hold.
// Chunk A has images with blank margins in all 16 lanes (its margin windows
// take the shortcut); chunk B is A with lanes 3, 7, 11 and 15 (one in each
// lane group of 4, 8 or 16) replaced by images without a zero pixel, so no
// window of B is blank. Every other lane must come out bit for bit the same
// from A and from B: pooled features, winners and the per-lane weight and
// bias sums of the backward.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/simd/kernels.h"

namespace cnn::test {
namespace {

using simd::kBlockRows;
using simd::kBlockWords;
using simd::kPT;
using simd::kXT;
using simd::S;

constexpr int kCPartK = simd::kCPartK;
constexpr std::uint8_t kFull = 255;

bool is_probe_lane(int lane) { return lane % 4 == 3; }

// 16 images: digit-like blobs inside [lo, hi) x [lo, hi), with holes; lane 5
// blank everywhere, lane 9 with one pixel near the left edge.
std::vector<std::uint8_t> margin_images(std::uint32_t seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> img(std::size_t(S) * kImgPixels, 0);
  for (int n = 0; n < S; ++n) {
    if (n == 5) continue;
    std::uint8_t* p = img.data() + std::size_t(n) * kImgPixels;
    for (int y = lo; y < hi; ++y)
      for (int x = lo; x < hi; ++x)
        if (rng() % 3 != 0) p[y * kImgW + x] = std::uint8_t(1 + rng() % 255);
  }
  img[std::size_t(9) * kImgPixels + 14 * kImgW + 1] = 200;
  return img;
}

// A with the probe lanes made free of zero pixels.
std::vector<std::uint8_t> probed(const std::vector<std::uint8_t>& a) {
  std::vector<std::uint8_t> b = a;
  for (int n = 0; n < S; ++n)
    if (is_probe_lane(n)) std::memset(b.data() + std::size_t(n) * kImgPixels, kFull, kImgPixels);
  return b;
}

struct Fwd {
  std::vector<float> xT, pT;
  std::vector<std::uint16_t> win;
  std::vector<std::uint32_t> blocks;
};

// One chunk through conv_pool_fwd, channels [c0,c1), from the raw bytes
// (bytes = true) or from floats laid out by input_to_lanes.
Fwd forward(const simd::Kernels& k, int nv, const std::vector<std::uint8_t>& images, bool bytes,
            int c0, int c1, bool winners, const std::vector<float>& w,
            const std::vector<float>& b) {
  Fwd f;
  f.xT.assign(kXT, 0.0f);
  f.pT.assign(kPT, -1.0f);
  f.win.assign(kFeatures * 2, 0xdead);
  f.blocks.assign(kBlockWords, 0xdeadbeef);
  const std::uint8_t* ptr[S];
  for (int n = 0; n < S; ++n) ptr[n] = images.data() + std::size_t(n) * kImgPixels;
  if (!bytes) {
    std::vector<float> x(std::size_t(nv) * kImgPixels);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(images[i]) / 255.0f;
    k.input_to_lanes(nv, x.data(), f.xT.data());
  }
  k.conv_pool_fwd(nv, bytes ? ptr : nullptr, f.xT.data(), c0, c1, w.data(), b.data(), f.pT.data(),
                  winners ? f.win.data() : nullptr, f.blocks.data(), nullptr);
  return f;
}

unsigned bits_of(float v) {
  unsigned u;
  std::memcpy(&u, &v, 4);
  return u;
}

// Pooled features and winner bits of channels [c0,c1) agree in every lane
// but the probe lanes (and the lanes >= nv, which the kernels zero).
void expect_same_fwd(const Fwd& a, const Fwd& b, int nv, int c0, int c1, bool winners,
                     const std::string& what) {
  int diffs = 0;
  for (int i = c0 * kPoolPixels; i < c1 * kPoolPixels; ++i)
    for (int n = 0; n < nv; ++n) {
      if (is_probe_lane(n)) continue;
      const unsigned dwin =
          unsigned(a.win[2 * i] ^ b.win[2 * i]) | unsigned(a.win[2 * i + 1] ^ b.win[2 * i + 1]);
      const bool same = bits_of(a.pT[i * S + n]) == bits_of(b.pT[i * S + n]) &&
                        (!winners || ((dwin >> n) & 1u) == 0);
      if (!same && ++diffs <= 3)
        ADD_FAILURE() << what << ": feature " << i << " lane " << n << ": " << a.pT[i * S + n]
                      << " with blank windows, " << b.pT[i * S + n] << " without";
    }
  EXPECT_EQ(diffs, 0) << what;
}

// How many windows of lane group 0 (L lanes) the block map marks blank.
int blank_windows(const std::vector<std::uint32_t>& blocks) {
  int n = 0;
  for (int py = 0; py < kPoolW; ++py)
    for (int px = 0; px < kPoolW; ++px) n += (((blocks[py] | blocks[py + 1]) >> px) & 3u) == 0;
  return n;
}

std::vector<float> conv_weights(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.4f);
  std::vector<float> w(kConvC * kKernelSize);
  for (auto& v : w) v = nd(rng);
  return w;
}

// Biases of both signs and both zeros.
std::vector<float> conv_biases() { return {0.1f, -0.2f, 0.0f, -0.0f, 0.05f, -0.01f, 0.3f, 1e-3f}; }

class BlankWindows : public ::testing::TestWithParam<std::string> {
 protected:
  const simd::Kernels& k() const { return simd::kernels_for(GetParam()); }
};

TEST_P(BlankWindows, ForwardGivesTheFullComputationsBits) {
  const auto w = conv_weights(11);
  const auto b = conv_biases();
  for (const int nv : {16, 13}) {
    for (const bool bytes : {true, false}) {
      const auto a_img = margin_images(7 + nv, 6, 22);
      const auto b_img = probed(a_img);
      const std::string what =
          GetParam() + (bytes ? " bytes" : " floats") + " nv=" + std::to_string(nv);
      // Training (winners, one half of the channels per call) and inference.
      for (const int h : {0, 1}) {
        const Fwd fa = forward(k(), nv, a_img, bytes, 4 * h, 4 * h + 4, true, w, b);
        const Fwd fb = forward(k(), nv, b_img, bytes, 4 * h, 4 * h + 4, true, w, b);
        expect_same_fwd(fa, fb, nv, 4 * h, 4 * h + 4, true, what + " half " + std::to_string(h));
        EXPECT_GT(blank_windows(fa.blocks), 40) << what << ": the test must exercise the shortcut";
        EXPECT_EQ(blank_windows(fb.blocks), 0) << what;
      }
      const Fwd fa = forward(k(), nv, a_img, bytes, 0, kConvC, false, w, b);
      const Fwd fb = forward(k(), nv, b_img, bytes, 0, kConvC, false, w, b);
      expect_same_fwd(fa, fb, nv, 0, kConvC, false, what + " inference");
      // A blank window's pooled value is ReLU(bias), +0 for a zero bias.
      for (int c = 0; c < kConvC; ++c)
        EXPECT_EQ(bits_of(fa.pT[(c * kPoolPixels) * S]), bits_of(b[c] > 0 ? b[c] : 0.0f))
            << what << " channel " << c;
    }
  }
}

TEST_P(BlankWindows, NonFiniteFiltersTakeNoShortcut) {
  auto w = conv_weights(12);
  w[4] = std::numeric_limits<float>::infinity();
  const auto b = conv_biases();
  const auto a_img = margin_images(3, 6, 22);
  const Fwd fa = forward(k(), S, a_img, true, 0, 4, true, w, b);
  const Fwd fb = forward(k(), S, probed(a_img), true, 0, 4, true, w, b);
  for (int r = 0; r < kBlockRows; ++r) EXPECT_EQ(fa.blocks[r], ~0u) << "row " << r;
  expect_same_fwd(fa, fb, S, 0, 4, true, GetParam() + " inf filter");
  // inf * 0 is NaN: the margin's outputs are what the tile computes, not the bias.
  EXPECT_NE(bits_of(fa.pT[0]), bits_of(b[0]));
}

TEST_P(BlankWindows, BackwardGivesTheFullComputationsBits) {
  const auto w = conv_weights(13);
  const auto b = conv_biases();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> ud(-1.0f, 1.0f);
  for (const int nv : {16, 11}) {
    const auto a_img = margin_images(21 + nv, 5, 23);
    const auto b_img = probed(a_img);
    std::vector<float> dpT(kPT);
    for (std::size_t i = 0; i < dpT.size(); ++i) dpT[i] = rng() % 4 == 0 ? 0.0f : ud(rng);
    for (const int h : {0, 1}) {
      const Fwd fa = forward(k(), nv, a_img, true, 4 * h, 4 * h + 4, true, w, b);
      const Fwd fb = forward(k(), nv, b_img, true, 4 * h, 4 * h + 4, true, w, b);
      std::vector<float> ca(simd::kCPart, -1.0f), ca_own(simd::kCPart, -1.0f),
          cb(simd::kCPart, -1.0f);
      // A's winners in A's and B's runs agree (forward test); each backward
      // takes its own forward's winners and block map, or no map (then it
      // computes every window: the full computation itself).
      k().conv_pool_bwd(nv, fa.xT.data(), 4 * h, 4 * h + 4, dpT.data(), fa.win.data(),
                        fa.blocks.data(), ca.data());
      k().conv_pool_bwd(nv, fa.xT.data(), 4 * h, 4 * h + 4, dpT.data(), fa.win.data(), nullptr,
                        ca_own.data());
      k().conv_pool_bwd(nv, fb.xT.data(), 4 * h, 4 * h + 4, dpT.data(), fb.win.data(),
                        fb.blocks.data(), cb.data());
      int diffs = 0;
      for (int c = 4 * h; c < 4 * h + 4; ++c)
        for (int q = 0; q < kCPartK; ++q)
          for (int n = 0; n < nv; ++n) {
            if (is_probe_lane(n)) continue;
            const std::size_t i = std::size_t(c * kCPartK + q) * S + n;
            if ((bits_of(ca[i]) != bits_of(cb[i]) || bits_of(ca_own[i]) != bits_of(cb[i])) &&
                ++diffs <= 3)
              ADD_FAILURE() << GetParam() << " nv=" << nv << " channel " << c << " sum " << q
                            << " lane " << n << ": " << ca[i] << " / " << ca_own[i]
                            << " with blank windows, " << cb[i] << " without";
          }
      EXPECT_EQ(diffs, 0) << GetParam() << " nv=" << nv << " half " << h;
    }
  }
}

std::vector<std::string> paths() {
  std::vector<std::string> p;
  for (const auto& isa : supported_isa_paths()) p.push_back(isa);
  return p;
}

INSTANTIATE_TEST_SUITE_P(Isa, BlankWindows, ::testing::ValuesIn(paths()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cnn::test
