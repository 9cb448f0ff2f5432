// Smoke test of the benchmark binary: every registered benchmark runs for a
// minimal time (--benchmark_min_time=0.001: one iteration for anything that
// takes longer than a millisecond) and must finish without an error, so a
// broken benchmark fails CI rather than a user. Benchmarks that read MNIST
// are pointed (CNN_DATA_DIR) at a tiny generated data set. The per-operation suite
// (bench/ops_bench.cpp) must hold every registered backend at every batch
// size, each benchmark with its GFLOP/s and bytes/s counters.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "kernels/registry.h"
#include "tests/json_mini.h"
#include "tests/test_util.h"

namespace cnn {
namespace {

const std::string kBench = std::string(CNN_BINARY_DIR) + "/bench/cnn_bench";
const std::string kBenchCmd =
    test::built_program("bench/cnn_bench");  // behind the emulator, if any

int run(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string slurp(const std::string& path) {
  auto b = test::read_file(path);
  return std::string(b.begin(), b.end());
}

TEST(BenchSmoke, EveryBenchmarkRunsOnceWithoutError) {
  if (!std::filesystem::exists(kBench))
    GTEST_SKIP() << kBench << " not built (configure with -DCNN_BUILD_BENCH=ON)";
  test::TempDir d;
  ASSERT_EQ(run(kBenchCmd + " --benchmark_list_tests > " + d.file("list.txt") + " 2>&1"), 0)
      << slurp(d.file("list.txt"));
  std::set<std::string> listed;
  {
    std::istringstream in(slurp(d.file("list.txt")));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) listed.insert(line);
  }
  ASSERT_FALSE(listed.empty());

  // Benchmarks that read MNIST (CNN_DATA_DIR) get the tiny data set, so they
  // run quickly and without the real files.
  test::write_tiny_mnist(d);
  const std::string cmd = "CNN_DATA_DIR=" + d.str() + " " + kBenchCmd +
                          " --benchmark_min_time=0.001 --benchmark_out=" + d.file("out.json") +
                          " --benchmark_out_format=json > " + d.file("console.txt") + " 2>&1";
  ASSERT_EQ(run(cmd), 0) << slurp(d.file("console.txt"));
  test::Json j = test::parse_json(slurp(d.file("out.json")));
  ASSERT_TRUE(j.has("context"));
  std::set<std::string> ran;
  for (const auto& b : j["benchmarks"].arr) {
    const std::string name = b["name"].str;
    ran.insert(name);
    if (b.has("error_occurred") && b["error_occurred"].b)
      ADD_FAILURE() << name << ": " << (b.has("error_message") ? b["error_message"].str : "");
    EXPECT_GE(b["iterations"].num, 1) << name;
  }
  for (const auto& name : listed) EXPECT_TRUE(ran.count(name)) << "did not run: " << name;

  // The per-operation suite covers every backend x operation x batch size.
  const char* ops[] = {"conv_fwd",  "pool_fwd", "fc_fwd",     "softmax_xent",  "fc_bwd",
                       "pool_bwd",  "conv_bwd", "sgd_update", "forward_train", "forward_infer",
                       "loss_grad", "backward", "update",     "train_step"};
  for (const auto& info : backend_registry())
    for (const char* op : ops)
      for (int B : {1, 32, 256}) {
        const std::string name =
            std::string(op) + "/" + info.name + "/" + std::to_string(B) + "/real_time";
        EXPECT_TRUE(ran.count(name)) << "missing " << name;
      }
  for (const auto& b : j["benchmarks"].arr) {
    const std::string name = b["name"].str;
    if (name.find('/') == std::string::npos) continue;
    bool ours = false;
    for (const char* op : ops) ours = ours || name.rfind(std::string(op) + "/", 0) == 0;
    if (!ours) continue;
    EXPECT_TRUE(b.has("GFLOP/s") && b["GFLOP/s"].num > 0) << name;
    EXPECT_TRUE(b.has("bytes_per_second") && b["bytes_per_second"].num > 0) << name;
    EXPECT_FALSE(b["label"].str.empty()) << name << ": the label names the ISA path and threads";
  }
}

}  // namespace
}  // namespace cnn
