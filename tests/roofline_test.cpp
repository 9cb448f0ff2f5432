// The roofline's inputs and the plot. cnn_bench's JSON must carry what
// tools/roofline.py reads: GB/s and bytes_per_second for the bandwidth
// triads, GFLOP/s for the portable path's peak, and for every per-operation
// benchmark both its FLOP rate and the rate of the minimum bytes it moves.
// `tools/plot roofline` must turn a small saved benchmark JSON
// (tests/data/roofline_bench.json: a few operations of naive and simd, the
// avx512 and portable peaks, the triads) into a PNG and a table of shares of
// the roof, and refuse, with exit status 1 and a reason, a JSON without them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/json_mini.h"
#include "tests/test_util.h"

namespace cnn {
namespace {

const std::string kBench = std::string(CNN_BINARY_DIR) + "/bench/cnn_bench";
const std::string kBenchCmd =
    test::built_program("bench/cnn_bench");  // behind the emulator, if any
const std::string kSource = CNN_SOURCE_DIR;

int sh(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(Roofline, BandwidthPeakAndByteCountersInTheBenchmarkJson) {
  if (!std::filesystem::exists(kBench))
    GTEST_SKIP() << kBench << " not built (configure with -DCNN_BUILD_BENCH=ON)";
  test::TempDir d;
  test::write_tiny_mnist(d);
  const std::string cmd = "CNN_DATA_DIR=" + d.str() + " " + kBenchCmd +
                          " --benchmark_filter='^bandwidth/|^fma_peak/portable/"
                          "|^(conv_fwd|pool_bwd|sgd_update)/naive/1/'"
                          " --benchmark_min_time=0.001 --benchmark_out=" +
                          d.file("out.json") + " --benchmark_out_format=json > " +
                          d.file("console.txt") + " 2>&1";
  ASSERT_EQ(sh(cmd), 0) << slurp(d.file("console.txt"));
  test::Json j = test::parse_json(slurp(d.file("out.json")));
  int triads = 0, peaks = 0, ops = 0;
  for (const auto& b : j["benchmarks"].arr) {
    const std::string name = b["name"].str;
    ASSERT_FALSE(b.has("error_occurred") && b["error_occurred"].b) << name;
    if (name.rfind("bandwidth/triad_", 0) == 0) {
      ++triads;
      EXPECT_TRUE(b.has("GB/s") && b["GB/s"].num > 0) << name;
      EXPECT_TRUE(b.has("bytes_per_second") && b["bytes_per_second"].num > 0) << name;
    } else if (name.rfind("fma_peak/portable/", 0) == 0) {
      ++peaks;
      EXPECT_TRUE(b.has("GFLOP/s") && b["GFLOP/s"].num > 0) << name;
    } else {
      ++ops;
      EXPECT_TRUE(b.has("GFLOP/s") && b["GFLOP/s"].num > 0) << name;
      EXPECT_TRUE(b.has("bytes_per_second") && b["bytes_per_second"].num > 0) << name;
    }
  }
  EXPECT_GE(triads, 2) << "bandwidth/triad_dram and triad_l2, 1 thread (and all threads)";
  EXPECT_GE(peaks, 1);
  EXPECT_EQ(ops, 3);
}

TEST(Roofline, PlotFromASavedBenchmarkJson) {
  test::TempDir d;
  const std::string png = d.file("roofline.png"), out = d.file("out.txt");
  ASSERT_EQ(sh(kSource + "/tools/plot roofline --bench " + kSource +
               "/tests/data/roofline_bench.json --out " + png + " > " + out + " 2>&1"),
            0)
      << slurp(out);
  const std::string img = slurp(png);
  ASSERT_GT(img.size(), 1000u);
  EXPECT_EQ(img.substr(0, 8), "\x89PNG\r\n\x1a\n");
  const std::string table = slurp(out);
  for (const char* row : {"avx512    conv_fwd      simd", "portable  conv_fwd      naive",
                          "portable  sgd_update    naive"})
    EXPECT_NE(table.find(row), std::string::npos) << "no row '" << row << "' in\n" << table;
  EXPECT_NE(table.find("L2 bandwidth"), std::string::npos) << table;

  // Without the roofs there is no roofline: exit status 1 and the reason.
  std::ofstream(d.file("ops_only.json"))
      << R"({"benchmarks": [{"name": "conv_fwd/naive/32/real_time", "run_type": "iteration",)"
      << R"( "real_time": 900, "cpu_time": 900, "time_unit": "us", "GFLOP/s": 4.0,)"
      << R"( "bytes_per_second": 1e9, "label": "portable threads=1"}]})";
  EXPECT_EQ(sh(kSource + "/tools/plot roofline --bench " + d.file("ops_only.json") + " --out " +
               d.file("x.png") + " > " + out + " 2>&1"),
            1);
  EXPECT_NE(slurp(out).find("holds no fma_peak / bandwidth"), std::string::npos) << slurp(out);
}

}  // namespace
}  // namespace cnn
