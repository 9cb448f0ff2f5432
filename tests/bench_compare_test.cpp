// tools/bench_compare.sh against a tiny temporary git repository laid out
// like this one (a top-level CMakeLists.txt, bench/cnn_bench), whose one
// benchmark reports a manual time of COST µs with ±1% random jitter: quick
// to build, and its timings do not depend on the load of the machine, so
// the verdicts are certain. Revision 1: COST 100; revision 2: COST 150 (50%
// slower); revision 3: does not compile. The script must
//   - find nothing significant comparing a revision with itself,
//   - flag revision 2 as significantly slower and, with --fail-above 20,
//     exit 1 (but 0 with --fail-above 60),
//   - stop with one line and exit 2 on a bad revision name, a revision that
//     does not build, a filter that matches nothing and a missing compare.py.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/test_util.h"

namespace cnn {
namespace {

const std::string kScript = std::string(CNN_SOURCE_DIR) + "/tools/bench_compare.sh";

struct Result {
  int rc;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

int sh(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void put(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string bench_source(const std::string& cost) {
  return R"(#include <benchmark/benchmark.h>
#include <random>
static void op(benchmark::State& s) {
  std::random_device rd;
  std::uniform_real_distribution<double> jitter(0.99, 1.01);
  for (auto _ : s) s.SetIterationTime()" +
         cost + R"(e-6 * jitter(rd));
}
BENCHMARK(op)->Name("conv_fwd/tiny/32")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
)";
}

class BenchCompare : public ::testing::Test {
 protected:
  void SetUp() override {
    repo = d.file("repo");
    const std::string git = "git -C " + repo + " -c user.name=t -c user.email=t@example.com ";
    ASSERT_EQ(sh("mkdir -p " + repo + "/bench && git init -q " + repo), 0);
    put(repo + "/CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.16)\nproject(tiny CXX)\n"
        "option(CNN_BUILD_TESTS \"\" ON)\noption(CNN_BUILD_BENCH \"\" "
        "ON)\nadd_subdirectory(bench)\n");
    put(repo + "/bench/CMakeLists.txt",
        "find_package(benchmark REQUIRED)\nadd_executable(cnn_bench b.cpp)\n"
        "target_link_libraries(cnn_bench PRIVATE benchmark::benchmark)\n");
    const char* costs[] = {"100", "150", "100 +"};  // the last one does not compile
    for (int i = 0; i < 3; ++i) {
      put(repo + "/bench/b.cpp", bench_source(costs[i]));
      ASSERT_EQ(sh(git + "add -A && " + git + "commit -q -m r" + std::to_string(i + 1)), 0);
      ASSERT_EQ(sh(git + "tag r" + std::to_string(i + 1)), 0);
    }
  }

  Result compare(const std::string& args, const std::string& env = "") {
    const std::string out = d.file("out.txt"), err = d.file("err.txt");
    const int rc = sh("cd " + repo + " && " + env + " BENCH_COMPARE_DIR=" + d.file("work") + " " +
                      kScript + " --reps 5 " + args + " >" + out + " 2>" + err);
    return {rc, slurp(out), slurp(err)};
  }

  test::TempDir d;
  std::string repo;
};

// The table row of the one benchmark.
std::string row(const Result& r) {
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("conv_fwd/tiny/32", 0) == 0) return line;
  return "";
}

TEST_F(BenchCompare, RevisionAgainstItselfAndAgainstASlowerOne) {
  Result same = compare("r1 r1 --filter conv_fwd");
  ASSERT_EQ(same.rc, 0) << same.err << same.out;
  const std::string s = row(same);
  ASSERT_FALSE(s.empty()) << same.out;
  EXPECT_EQ(s.find("SLOWER"), std::string::npos) << s;
  EXPECT_EQ(s.find("faster"), std::string::npos) << s;

  Result slower = compare("r1 r2 --fail-above 20");
  EXPECT_EQ(slower.rc, 1) << slower.err << slower.out;
  EXPECT_NE(row(slower).find("SLOWER"), std::string::npos) << slower.out;
  // The costs differ by 50%, each with +-1% random jitter: the change column
  // reads about +50% (49.x or 50.x), not exactly "+50".
  const std::string r = row(slower);
  const std::size_t plus = r.find('+');
  ASSERT_NE(plus, std::string::npos) << r;
  const double change = std::stod(r.substr(plus + 1));
  EXPECT_GT(change, 45.0) << r;
  EXPECT_LT(change, 55.0) << r;
  EXPECT_NE(slower.err.find("significantly slower by more than 20%"), std::string::npos)
      << slower.err;

  Result tolerated = compare("r1 r2 --fail-above 60");
  EXPECT_EQ(tolerated.rc, 0) << tolerated.err << tolerated.out;
  // Reversed, the same change is an improvement.
  Result faster = compare("r2 r1 --fail-above 20");
  EXPECT_EQ(faster.rc, 0) << faster.err;
  EXPECT_NE(row(faster).find("faster"), std::string::npos) << faster.out;
}

// Every failure is exit status 2 and one line on stderr naming the cause.
TEST_F(BenchCompare, OneLineErrors) {
  auto one_line = [](const Result& r, const std::string& what) {
    EXPECT_EQ(r.rc, 2) << r.err;
    std::string last = r.err;
    while (!last.empty() && last.back() == '\n') last.pop_back();
    last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
    EXPECT_NE(last.find(what), std::string::npos) << r.err;
  };
  one_line(compare("no-such-rev r1"), "'no-such-rev' is not a revision");
  one_line(compare("r1 r3"), "r3 (");
  one_line(compare("r1 r3"), "does not build");
  one_line(compare("r1 r1 --filter nothing_matches"), "matches no benchmark");
  one_line(compare("r1 r1", "BENCH_COMPARE_PY=/nonexistent/compare.py"), "compare.py not found");
}

}  // namespace
}  // namespace cnn
