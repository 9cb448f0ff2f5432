// Every backend in the registry, at every ISA path this CPU supports, checked
// operation by operation against the Eigen reference (tests/op_tester.h).
// A backend joins this suite by being registered.
#include <gtest/gtest.h>

#include "kernels/registry.h"
#include "tests/op_tester.h"

namespace cnn::test {
namespace {

std::vector<OpCase> all_cases() {
  std::vector<OpCase> cases;
  for (const auto& info : backend_registry())
    for (const auto& isa : info.isa_paths())
      // Batch 1, an odd and a prime size, the baseline batch, and one above
      // twice any thread count we use, with a ragged split.
      for (int b : {1, 3, 32, 67}) {
        OpCase c;
        c.backend = info.name;
        c.isa = isa;
        c.threads = 3;  // an odd count: uneven splits of every batch
        c.batch = b;
        c.seed = 1000 + b;
        cases.push_back(c);
      }
  return cases;
}

class OpsTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpsTest, MatchesReference) {
  const auto results = check_backend(GetParam());
  ASSERT_GE(results.size(), 13u);
  for (const auto& r : results) {
    EXPECT_TRUE(r.pass) << r.op << ": " << r.failure;
    EXPECT_GE(r.nonzero_share, r.min_nonzero) << r.op;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, OpsTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) {
                           return info.param.backend + "_" + info.param.isa + "_B" +
                                  std::to_string(info.param.batch);
                         });

}  // namespace
}  // namespace cnn::test
