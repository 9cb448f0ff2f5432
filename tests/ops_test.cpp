// Every backend in the registry, at every ISA path it has kernels for, each
// operation at each batch size, checked against the Eigen reference
// (tests/op_tester.h). A backend joins this suite by being registered.
//
// One test per backend x ISA path x operation x batch size, named after the
// benchmark it mirrors (bench/ops_bench.cpp): the benchmark conv_bwd/simd@avx2/32
// is the test Ops/OpsTest.MatchesReference/conv_bwd_simd_avx2_32 (the ISA
// path is always in the name, the default one too), so
//   cnn_tests --gtest_filter='*conv_bwd_simd_avx2_*'
// runs one operation of one path at every batch size, and
//   --gtest_filter='*conv_bwd_simd_avx2_17' one case. The operations are the
// eight primitives and train_step (every composite step, chained as the
// trainer chains them).
//
// A path the backend has kernels for but this CPU cannot run is a case too,
// reported as skipped with the reason (never silently left out).
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "kernels/common/cpu.h"
#include "kernels/registry.h"
#include "tests/op_tester.h"

namespace cnn::test {
namespace {

// Why this CPU cannot run `isa` (from the run-time probe, kernels/common/cpu.h).
std::string why_unsupported(const std::string& isa) {
  const std::string cpu = "this CPU (" + cpu_features().model + ")";
  if (isa == "avx512") return cpu + " lacks AVX-512 F/BW/DQ/VL, or the OS does not save ZMM state";
  if (isa == "avx2") return cpu + " lacks AVX2+FMA, or the OS does not save YMM state";
  if (isa == "neon") return cpu + " does not report Advanced SIMD (HWCAP_ASIMD)";
  return cpu + " cannot run ISA path " + isa;
}

// The paths `info` has kernels for: those the CPU runs (isa_paths()), and
// those the backend refuses here with std::invalid_argument when asked for
// them (a backend without ISA-specific code ignores the request instead and
// runs its one path, so it has no case for the others).
struct PathCase {
  std::string isa;
  std::string skip;  // empty: runs here
};
std::vector<PathCase> known_paths(const BackendInfo& info) {
  const auto runnable = info.isa_paths();
  std::vector<PathCase> out;
  for (const std::string& isa : built_isa_paths()) {  // every path this build has kernels for
    if (std::find(runnable.begin(), runnable.end(), isa) != runnable.end()) {
      out.push_back({isa, ""});
      continue;
    }
    BackendOptions opt;
    opt.isa = isa;
    try {
      info.make(opt);
    } catch (const std::invalid_argument&) {
      out.push_back({isa, why_unsupported(isa)});
    }
  }
  return out;
}

struct OpsCase {
  OpCase c;
  std::string op;
  std::string skip;
};
// What --gtest_list_tests prints for a case.
void PrintTo(const OpsCase& t, std::ostream* os) {
  *os << t.op << " " << describe(t.c) << (t.skip.empty() ? "" : " [skipped: " + t.skip + "]");
}

std::vector<OpsCase> all_cases() {
  std::vector<OpsCase> cases;
  for (const auto& info : backend_registry())
    for (const auto& path : known_paths(info))
      for (const auto& op : op_names())
        // Batch 1, an odd and a prime size, the baseline batch, one above
        // twice any thread count we use with a ragged split, and the sizes
        // around the simd backend's 16-sample chunk (15, 16, 17; 31, 33).
        for (int b : {1, 3, 15, 16, 17, 31, 32, 33, 67}) {
          OpsCase t;
          t.c.backend = info.name;
          t.c.isa = path.isa;
          t.c.threads = 3;  // an odd count: uneven splits of every batch
          t.c.batch = b;
          t.c.seed = 1000 + b;
          t.op = op;
          t.skip = path.skip;
          cases.push_back(t);
        }
  return cases;
}

class OpsTest : public ::testing::TestWithParam<OpsCase> {};

TEST_P(OpsTest, MatchesReference) {
  const OpsCase& t = GetParam();
  if (!t.skip.empty()) GTEST_SKIP() << t.c.backend << " " << t.c.isa << ": " << t.skip;
  BackendOptions opt;
  opt.threads = t.c.threads;
  opt.isa = t.c.isa;
  auto be = make_backend(t.c.backend, opt);
  ASSERT_EQ(be->isa(), t.c.isa);
  const auto results = check_op(*be, t.c, t.op);
  ASSERT_FALSE(results.empty());
  for (const auto& r : results) {
    EXPECT_TRUE(r.pass) << r.op << ": " << r.failure;
    EXPECT_GE(r.nonzero_share, r.min_nonzero) << r.op;
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpsTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<OpsCase>& info) {
                           const auto& t = info.param;
                           return t.op + "_" + t.c.backend + "_" + t.c.isa + "_" +
                                  std::to_string(t.c.batch);
                         });

// The skip path, on a CPU that has every path: a backend that lists only
// "portable" as runnable but refuses the build's best path (avx512 on x86,
// neon on aarch64) has a case for it, skipped with the probe's reason; paths
// it accepts without listing them (it ignores the request) have none.
TEST(OpsCases, APathTheCpuLacksIsSkippedNotDropped) {
  const std::string lacked = built_isa_paths().front();
  if (lacked == "portable") GTEST_SKIP() << "this build has no ISA-specific path";
  BackendInfo refuses{"fake", "",
                      [lacked](const BackendOptions& o) -> std::unique_ptr<Backend> {
                        if (o.isa == lacked) throw std::invalid_argument("no " + lacked + " here");
                        return make_backend("naive");
                      },
                      [] { return std::vector<std::string>{"portable"}; }};
  const auto paths = known_paths(refuses);
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0].isa, lacked);
  EXPECT_FALSE(paths[0].skip.empty());
  EXPECT_EQ(paths[0].skip, why_unsupported(lacked));
  EXPECT_EQ(paths[1].isa, "portable");
  EXPECT_TRUE(paths[1].skip.empty());
  for (const auto& info : backend_registry())
    for (const auto& p : known_paths(info))
      if (p.skip.empty()) {
        EXPECT_EQ(info.make(BackendOptions{1, p.isa})->isa(), p.isa) << info.name;
      }
}

}  // namespace
}  // namespace cnn::test
