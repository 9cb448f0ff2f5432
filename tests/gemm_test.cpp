// The im2col backend's GEMM (kernels/im2col/gemm.h) against Eigen in double
// precision, at every ISA path this CPU has (the others are skipped), for all
// four transpose combinations and a grid of sizes around the register tiles
// and cache blocks, plus random shapes, strides and epilogues.
//
// Two kinds of input, as in tests/op_tester.h:
//  - Integer: non-zero whole numbers in [-4, 4]. Every product and partial sum is an
//    integer of magnitude <= 16*K + |beta*c| + |bias| < 2^24 for K <= 1568,
//    so fp32 is exact in any summation order: the check is equality, which
//    catches indexing and packing bugs a tolerance could hide.
//  - Real: uniform in [-1, 1]. Each output is a fixed-order sum of K
//    products (an FMA, or a multiply and an add: at most 2 roundings per
//    term), plus at most one addition per K block (nkb <= K), the alpha
//    scaling, beta*C and two biases. Higham's bound for a recursive sum of
//    depth n, |fl - exact| <= gamma_n * sum|terms|, gamma_n ~ n*u with
//    u = 2^-24, gives |err| <= (3K + 6) * u * mag with mag = |alpha| *
//    sum_k |a_ik||b_kj| + |beta||c_ij| + |row_bias_i| + |col_bias_j| (the
//    reference evaluated on absolute values, which stays valid under
//    cancellation). ReLU is 1-Lipschitz, so the bound carries over. The
//    tolerance is (3K + 8) * u * mag + FLT_MIN (underflow).
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/im2col/gemm.h"

namespace cnn::test {
namespace {

using gemm::Gemm;
using gemm::GemmArgs;
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
constexpr double kU = 1.0 / 16777216.0;

bool cpu_has(const std::string& isa) {
  for (const auto& p : supported_isa_paths())
    if (p == isa) return true;
  return false;
}

struct Case {
  bool ta = false, tb = false;
  int M = 1, N = 1, K = 1;
  long pad_a = 0, pad_b = 0, pad_c = 0;  // extra row stride beyond the minimum
  float alpha = 1.0f, beta = 0.0f;
  bool row_bias = false, col_bias = false, relu = false;
  bool integer = false;
  std::uint64_t seed = 1;
};

std::string describe(const std::string& isa, const Case& c) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "isa=%s %s%s M=%d N=%d K=%d pads=%ld,%ld,%ld alpha=%g beta=%g bias=%d%d relu=%d "
                "%s seed=%llu",
                isa.c_str(), c.ta ? "T" : "N", c.tb ? "T" : "N", c.M, c.N, c.K, c.pad_a, c.pad_b,
                c.pad_c, double(c.alpha), double(c.beta), c.row_bias, c.col_bias, c.relu,
                c.integer ? "integer" : "real", static_cast<unsigned long long>(c.seed));
  return buf;
}

// Row-major (rows, cols) matrix with row stride ld, as double.
MatD load(const std::vector<float>& v, int rows, int cols, long ld) {
  MatD m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = v[std::size_t(i) * ld + j];
  return m;
}

struct Outcome {
  bool pass = true;
  std::string failure;
  double nonzero_share = 1;
};

// Runs one product with gemm (threaded operator(), or serial slot) and
// checks it against Eigen; the padding columns of C must stay untouched.
Outcome check(Gemm& gm, const std::string& isa, const Case& c, bool use_serial = false,
              std::vector<float>* out = nullptr) {
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  // Integers in [-4, 4] without 0, so a row of A is never all zeros.
  std::uniform_int_distribution<int> whole(0, 7);
  auto gen = [&] {
    if (!c.integer) return real(rng);
    const int v = whole(rng) - 4;
    return float(v >= 0 ? v + 1 : v);
  };

  const int ar = c.ta ? c.K : c.M, ac = c.ta ? c.M : c.K;  // A as stored
  const int br = c.tb ? c.N : c.K, bc = c.tb ? c.K : c.N;  // B as stored
  const long lda = ac + c.pad_a, ldb = bc + c.pad_b, ldc = c.N + c.pad_c;
  std::vector<float> A(std::size_t(ar) * lda), B(std::size_t(br) * ldb), C(std::size_t(c.M) * ldc);
  std::vector<float> rb(c.M), cb(c.N);
  for (auto& v : A) v = gen();
  for (auto& v : B) v = gen();
  for (auto& v : rb) v = gen();
  for (auto& v : cb) v = gen();
  const float sentinel = 12345.0f;
  for (int i = 0; i < c.M; ++i)
    for (long j = 0; j < ldc; ++j)
      C[std::size_t(i) * ldc + j] =
          j >= c.N ? sentinel : (c.beta != 0.0f ? gen() : std::numeric_limits<float>::quiet_NaN());

  MatD opA = load(A, ar, ac, lda), opB = load(B, br, bc, ldb);
  if (c.ta) opA.transposeInPlace();
  if (c.tb) opB.transposeInPlace();
  MatD C0(c.M, c.N);
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < c.N; ++j) C0(i, j) = c.beta != 0.0f ? C[std::size_t(i) * ldc + j] : 0.0;
  MatD ref = double(c.alpha) * (opA * opB) + double(c.beta) * C0;
  MatD mag = std::fabs(double(c.alpha)) * (opA.cwiseAbs() * opB.cwiseAbs()) +
             std::fabs(double(c.beta)) * C0.cwiseAbs();
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < c.N; ++j) {
      if (c.row_bias) ref(i, j) += rb[i], mag(i, j) += std::fabs(rb[i]);
      if (c.col_bias) ref(i, j) += cb[j], mag(i, j) += std::fabs(cb[j]);
      if (c.relu) ref(i, j) = std::max(ref(i, j), 0.0);
    }

  GemmArgs g;
  g.trans_a = c.ta;
  g.trans_b = c.tb;
  g.M = c.M;
  g.N = c.N;
  g.K = c.K;
  g.alpha = c.alpha;
  g.A = A.data();
  g.lda = lda;
  g.B = B.data();
  g.ldb = ldb;
  g.beta = c.beta;
  g.C = C.data();
  g.ldc = ldc;
  g.row_bias = c.row_bias ? rb.data() : nullptr;
  g.col_bias = c.col_bias ? cb.data() : nullptr;
  g.relu = c.relu;
  if (use_serial)
    gm.serial(gm.threads() - 1, g);
  else
    gm(g);

  Outcome o;
  const double rtol = c.integer ? 0.0 : (3.0 * c.K + 8.0) * kU;
  const double atol = c.integer ? 0.0 : double(FLT_MIN);
  std::size_t nonzero = 0;
  for (int i = 0; i < c.M && o.pass; ++i) {
    for (long j = 0; j < ldc; ++j) {
      const float got = C[std::size_t(i) * ldc + j];
      if (j >= c.N) {
        if (got != sentinel) {
          o.pass = false;
          o.failure = describe(isa, c) + ": wrote C(" + std::to_string(i) + "," +
                      std::to_string(j) + ") outside the N columns";
          break;
        }
        continue;
      }
      const double e = ref(i, j), tol = atol + rtol * mag(i, j);
      if (e != 0) ++nonzero;
      if (!(std::fabs(got - e) <= tol)) {
        char buf[200];
        std::snprintf(buf, sizeof buf,
                      ": C(%d,%ld) expected %.9g actual %.9g (|err| %.3g > tol %.3g)", i, j, e,
                      double(got), std::fabs(got - e), tol);
        o.pass = false;
        o.failure = describe(isa, c) + buf;
        break;
      }
    }
  }
  o.nonzero_share = double(nonzero) / (double(c.M) * c.N);
  if (out) {
    out->clear();
    for (int i = 0; i < c.M; ++i)
      out->insert(out->end(), C.begin() + std::size_t(i) * ldc,
                  C.begin() + std::size_t(i) * ldc + c.N);
  }
  return o;
}

class GemmTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!cpu_has(GetParam())) GTEST_SKIP() << "this CPU cannot run the " << GetParam() << " path";
  }
};

// Every transpose combination over sizes 1, 2, 7, 9, 10, 31, 33 (below, at
// and around the tiles 4/8 x 8/24/32) and 784, 1568 (the network's sizes,
// beyond KC and MC). The full 9^3 cube holds products of 1568^3; this takes
// every triple with at most one large size, and the two mixed large pairs
// with a small third size: every tile/block edge is still crossed in every
// dimension, in every role.
TEST_P(GemmTest, GridAllTransposesMatchesEigen) {
  const std::string isa = GetParam();
  Gemm gm(isa, 3);  // an odd team: ragged splits of every tile grid
  ASSERT_EQ(gm.isa(), isa);
  const int small[] = {1, 2, 7, 9, 10, 31, 33};
  const int large[] = {784, 1568};
  std::vector<std::array<int, 3>> shapes;
  for (int m : small)
    for (int n : small)
      for (int k : small) shapes.push_back({m, n, k});
  for (int a : large)
    for (int s1 : small)
      for (int s2 : small) {
        shapes.push_back({a, s1, s2});
        shapes.push_back({s1, a, s2});
        shapes.push_back({s1, s2, a});
      }
  // K past a vector multiple, for the inner-product path's masked tail
  // (A * B^T with a small C and K >= 64). A path the model never takes: its
  // one inner-product GEMM (conv_bwd_sample_im2col) has K = 784, a multiple
  // of every vector width, so only these shapes and DotPathEveryKTail
  // below reach the tail.
  for (int m : small)
    for (int n : small)
      for (int k : {71, 785}) shapes.push_back({m, n, k});
  for (auto [a, b] : {std::array<int, 2>{784, 1568}, {1568, 784}})
    for (int s : {1, 10}) {
      shapes.push_back({a, b, s});
      shapes.push_back({a, s, b});
      shapes.push_back({s, a, b});
    }
  int n = 0;
  for (const auto& s : shapes)
    for (int t = 0; t < 4; ++t) {
      Case c;
      c.ta = t & 1;
      c.tb = t & 2;
      c.M = s[0];
      c.N = s[1];
      c.K = s[2];
      c.integer = (n % 2) == 0;  // alternate exact and real checks
      c.seed = 7000 + n++;
      const Outcome o = check(gm, isa, c);
      ASSERT_TRUE(o.pass) << o.failure;
      // A mostly-zero reference proves nothing (outputs of 20 or more).
      if (c.M * c.N >= 20) {
        ASSERT_GE(o.nonzero_share, c.integer ? 0.5 : 0.99) << describe(isa, c);
      }
    }
}

// The inner-product kernel's K tail at every length modulo the widest
// vector (16), just past its 64 threshold and past the model's K = 784, on
// exact and real inputs. The model never takes this path (see the grid
// above), so no model-level test would notice a lost or doubled tail.
TEST_P(GemmTest, DotPathEveryKTail) {
  const std::string isa = GetParam();
  Gemm gm(isa, 2);
  int n = 0;
  for (int base : {64, 784})
    for (int k = base; k <= base + 16; ++k)
      for (auto [M, N] : {std::array<int, 2>{8, 10}, {3, 1}}) {
        Case c;
        c.tb = true;
        c.M = M;
        c.N = N;
        c.K = k;
        c.integer = (n % 2) == 0;
        c.seed = 5000 + n++;
        const Outcome o = check(gm, isa, c);
        ASSERT_TRUE(o.pass) << o.failure;
      }
}

// Random shapes (including past NC = 4080/4096 columns), padded leading
// dimensions, alpha/beta, biases and ReLU, threaded and on a serial slot.
TEST_P(GemmTest, RandomShapesStridesEpilogues) {
  const std::string isa = GetParam();
  Gemm gm(isa, 2);
  std::mt19937_64 rng(424242);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int n = 0; n < 60; ++n) {
    Case c;
    c.ta = pick(0, 1);
    c.tb = pick(0, 1);
    c.M = pick(1, 300);
    c.N = n < 3 ? pick(4090, 4400) : pick(1, 300);
    c.K = n < 3 ? pick(1, 20) : pick(0, 400);  // K = 0: C = beta*C + biases
    c.pad_a = pick(0, 5);
    c.pad_b = pick(0, 5);
    c.pad_c = pick(0, 5);
    c.integer = n % 3 == 0;
    c.alpha =
        c.integer ? float(pick(-2, 2) | 1) : std::uniform_real_distribution<float>(-2, 2)(rng);
    c.beta = pick(0, 2) == 0 ? 0.0f : (c.integer ? float(pick(-2, 2)) : 0.75f);
    c.row_bias = pick(0, 1);
    c.col_bias = pick(0, 1);
    c.relu = pick(0, 3) == 0;
    if (c.K == 0) c.row_bias = true;  // else the exact result is all zeros
    c.seed = 9000 + n;
    const Outcome o = check(gm, isa, c, /*use_serial=*/n % 2 == 1);
    ASSERT_TRUE(o.pass) << o.failure;
    if (c.M * c.N >= 20) {
      ASSERT_GE(o.nonzero_share, c.relu ? 0.2 : (c.integer ? 0.4 : 0.99)) << describe(isa, c);
    }
  }
}

// The same product gives the same bits with 1, 2, 3 or 4 threads and on a
// serial slot: K is never split between threads.
TEST_P(GemmTest, SameBitsForAnyThreadCount) {
  const std::string isa = GetParam();
  // Shapes through both threaded paths: blocked with a barrier per block,
  // and the small one that packs every K block at once (32x10x1568, 100x50x600).
  for (auto [M, N, K] : {std::array<int, 3>{300, 200, 700},
                         {1568, 10, 67},
                         {33, 1568, 10},
                         {32, 10, 1568},
                         {100, 50, 600}}) {
    for (int t = 0; t < 4; ++t) {
      Case c;
      c.ta = t & 1;
      c.tb = t & 2;
      c.M = M;
      c.N = N;
      c.K = K;
      c.beta = 0.5f;
      c.col_bias = true;
      c.seed = 31337;
      std::vector<float> first, got;
      for (int threads : {1, 2, 3, 4}) {
        Gemm gm(isa, threads);
        for (bool serial : {false, true}) {
          const Outcome o = check(gm, isa, c, serial, &got);
          ASSERT_TRUE(o.pass) << o.failure;
          if (first.empty()) {
            first = got;
          } else {
            for (std::size_t i = 0; i < got.size(); ++i) {
              ASSERT_EQ(got[i], first[i]) << describe(isa, c) << " threads=" << threads
                                          << " serial=" << serial << " index " << i;
            }
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, GemmTest, ::testing::ValuesIn(built_isa_paths()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(GemmDispatch, ChoosesBestUnlessToldAndRejectsUnavailable) {
  const auto paths = supported_isa_paths();
  const char* env = std::getenv("CNN_ISA");
  const std::string saved = env ? env : "";
  unsetenv("CNN_ISA");
  EXPECT_EQ(Gemm("", 1).isa(), paths.front());
  // CNN_ISA lowers the path when nothing is requested explicitly.
  setenv("CNN_ISA", "portable", 1);
  EXPECT_EQ(Gemm("", 1).isa(), "portable");
  EXPECT_EQ(Gemm(paths.front(), 1).isa(), paths.front());
  if (saved.empty())
    unsetenv("CNN_ISA");
  else
    setenv("CNN_ISA", saved.c_str(), 1);
  EXPECT_THROW(Gemm("sse9", 1), std::invalid_argument);
  for (const char* isa : {"avx512", "avx2", "neon"}) {
    if (!cpu_has(isa)) {
      EXPECT_THROW(Gemm(isa, 1), std::invalid_argument) << isa;
    }
  }
  Gemm gm("portable", 2);
  GemmArgs g;
  EXPECT_THROW(gm.serial(2, g), std::out_of_range);
}

}  // namespace
}  // namespace cnn::test
