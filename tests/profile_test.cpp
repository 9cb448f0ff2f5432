// The training profile (`--profile`, kernels/profiler.h, src/profile_report.h)
// and the terminal progress line:
//  - for every registered backend (threaded ones with 3 threads), each
//    reported layer operation is counted once per training batch: evaluation
//    is not counted, and no report comes from inside a parallel region;
//  - the FLOP counts per call equal hand-computed values at batch 32, and a
//    backend that fuses operations reports no more than the dense total;
//  - the shares add up to the training time, nested scopes count once, and
//    reports from a parallel region or another thread are dropped;
//  - the CSV and JSON parse and hold every operation; the CLI prints the
//    table and writes the files next to the log;
//  - the progress line appears only when asked for (never in a pipe).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "kernels/flops.h"
#include "kernels/registry.h"
#include "src/model.h"
#include "src/profile_report.h"
#include "src/trainer.h"
#include "tests/json_mini.h"
#include "tests/test_util.h"

namespace cnn {
namespace {

using test::Json;
using test::parse_json;

// 96 training images (3 batches of 32) and 40 test images: random pixels
// with a bright row whose position encodes the label, so training is real.
Dataset synthetic(int n, unsigned seed) {
  Dataset d;
  d.n = n;
  d.images.resize(std::size_t(n) * kImgPixels);
  d.labels.resize(n);
  std::mt19937 g(seed);
  for (int i = 0; i < n; ++i) {
    d.labels[i] = std::uint8_t(g() % 10);
    for (int p = 0; p < kImgPixels; ++p)
      d.images[std::size_t(i) * kImgPixels + p] =
          std::uint8_t(p / 28 == 2 + 2 * d.labels[i] ? 250 : g() % 40);
  }
  return d;
}

struct ProfiledRun {
  std::unique_ptr<Backend> be;
  Profiler prof;
  TrainResult res;
};

// Trains with the profiler attached, as `mnist_cnn --profile` does.
void profiled_run(ProfiledRun& r, const std::string& backend, int epochs, int threads = 3) {
  BackendOptions opt;
  opt.threads = threads;
  r.be = make_backend(backend, opt);
  r.be->set_profiler(&r.prof);
  Rng rng(1);
  Params p;
  init_params(p, rng);
  TrainConfig cfg;
  cfg.epochs = epochs;
  cfg.batch = 32;
  std::ostringstream out;
  static const Dataset train_set = synthetic(96, 1), test_set = synthetic(40, 2);
  r.res = train(*r.be, p, rng, cfg, train_set, test_set, out, nullptr);
}

// Per-batch FLOPs of one training step at batch B, whatever the fusion.
double step_flops(int B) {
  return flops::conv_fwd(B) + flops::pool_fwd(B) + flops::fc_fwd(B) + flops::softmax_xent(B) +
         flops::fc_bwd(B) + flops::pool_bwd(B) + flops::conv_bwd(B) + flops::sgd_update();
}

class ProfileBackends : public ::testing::TestWithParam<std::string> {};

TEST_P(ProfileBackends, EveryOperationCountedOncePerTrainingBatch) {
  ProfiledRun r;
  profiled_run(r, GetParam(), 2);  // 2 epochs x 3 batches
  const long batches = 6;
  EXPECT_EQ(r.prof.misplaced(), 0) << "OpScope used inside a parallel region";
  ASSERT_FALSE(r.prof.entries().empty());
  EXPECT_EQ(r.be->profiler(), &r.prof) << "the trainer must reattach the profiler after evaluation";
  double layer_flops = 0;
  bool gather = false;
  for (const auto& e : r.prof.entries()) {
    // Evaluation (40 test images: one more forward call) must not count.
    EXPECT_EQ(e.calls, batches) << e.op;
    EXPECT_GT(e.seconds, 0) << e.op;
    if (e.kind == OpKind::layer && !e.nested) {
      EXPECT_GT(e.flops, 0) << e.op;
      layer_flops += e.flops;
    }
    if (e.op == "gather") gather = e.kind == OpKind::outside;
  }
  EXPECT_TRUE(gather) << "the trainer reports gathering as outside the layers";
  // A fused operation reports at most the dense counts of what it replaces
  // (kernels/flops.h: it may count only the work it really does).
  EXPECT_GT(layer_flops, 0);
  EXPECT_LE(layer_flops, batches * step_flops(32) * (1 + 1e-12));
  if (GetParam() == "naive") {
    EXPECT_EQ(layer_flops, batches * step_flops(32));
  }
}

std::vector<std::string> backend_names() {
  std::vector<std::string> v;
  for (const auto& b : backend_registry()) v.push_back(b.name);
  return v;
}
INSTANTIATE_TEST_SUITE_P(Registry, ProfileBackends, ::testing::ValuesIn(backend_names()),
                         [](const auto& info) { return info.param; });

TEST(Profile, FlopCountsMatchHandComputedValuesAtBatch32) {
  // Dense counts (kernels/flops.h), computed by hand for B = 32:
  const std::map<std::string, double> want = {
      {"conv_fwd", 32.0 * 8 * 784 * (9 * 2 + 2)},  // 4,014,080
      {"pool_fwd", 32.0 * 1568 * 3},               // 150,528
      {"fc_fwd", 32.0 * 10 * (1568 * 2 + 1)},      // 1,003,840
      {"softmax_xent", 32.0 * 10 * 6},             // 1,920
      {"fc_bwd", 32.0 * (4 * 15680 + 10)},         // 2,007,360
      {"pool_bwd", 32.0 * 6272},                   // 200,704
      {"conv_bwd", 32.0 * 8 * 784 * (9 * 2 + 1)},  // 3,813,376
      {"sgd_update", 2.0 * 15770},                 // 31,540
  };
  EXPECT_EQ(want.at("conv_fwd"), 4014080);
  EXPECT_EQ(want.at("fc_bwd"), 2007360);
  EXPECT_EQ(want.at("conv_bwd"), 3813376);
  // The naive backend runs the unfused chain: one entry per primitive.
  ProfiledRun r;
  profiled_run(r, "naive", 1);
  std::set<std::string> seen;
  for (const auto& e : r.prof.entries()) {
    if (e.kind != OpKind::layer) continue;
    seen.insert(e.op);
    ASSERT_TRUE(want.count(e.op)) << "unexpected op " << e.op;
    EXPECT_EQ(e.flops / double(e.calls), want.at(e.op)) << e.op;
  }
  EXPECT_EQ(seen.size(), want.size());
  // The table's rows carry the same per-call count.
  for (const auto& row : profile_rows(r.prof, r.res.train_seconds))
    if (row.kind == "layer") {
      EXPECT_EQ(row.flops_per_call, want.at(row.op)) << row.op;
    }
}

TEST(ProfileReport, SharesAddUpToTheTrainingTime) {
  ProfiledRun r;
  profiled_run(r, "naive", 1);
  const auto rows = profile_rows(r.prof, r.res.train_seconds);
  ASSERT_GE(rows.size(), 3u);
  EXPECT_EQ(rows.back().op, kBookkeepingRow);
  double share = 0, seconds = 0;
  for (const auto& row : rows)
    if (row.kind != "nested") {
      share += row.share;
      seconds += row.seconds;
    }
  EXPECT_NEAR(share, 1.0, 1e-9);
  EXPECT_NEAR(seconds, r.res.train_seconds, 1e-9);
  // Every scope runs inside the timed epoch loop: the remainder is not negative.
  EXPECT_GE(rows.back().seconds, 0.0);
}

TEST(ProfileReport, NestedScopesAreMarkedAndCountedOnce) {
  Profiler prof;
  {
    OpScope step(&prof, "fused_step", 100);
    OpScope inner(&prof, "conv_fwd", 60);
  }
  { OpScope plain(&prof, "fc_fwd", 40); }
  ASSERT_EQ(prof.entries().size(), 3u);
  std::map<std::string, Profiler::Entry> by;
  for (const auto& e : prof.entries()) by[e.op] = e;
  EXPECT_TRUE(by["conv_fwd"].nested);
  EXPECT_FALSE(by["fused_step"].nested);
  EXPECT_FALSE(by["fc_fwd"].nested);
  const double total = by["fused_step"].seconds + by["fc_fwd"].seconds + 1.0;
  const auto rows = profile_rows(prof, total);
  EXPECT_NEAR(rows.back().seconds, 1.0, 1e-9);  // the nested row is not subtracted twice
}

TEST(ProfileReport, ReportsFromParallelRegionsOrOtherThreadsAreDropped) {
  Profiler prof;
  int team = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    team = omp_get_num_threads();
    OpScope s(&prof, "inside_parallel", 1);
  }
  if (team < 2) GTEST_SKIP() << "OpenMP gave a team of 1 thread (not a parallel region)";
  std::thread t([&] { OpScope s(&prof, "other_thread", 1); });
  t.join();
  EXPECT_TRUE(prof.entries().empty());
  EXPECT_EQ(prof.misplaced(), 3);
  { OpScope s(&prof, "ok", 1); }  // the scope depth stayed balanced
  ASSERT_EQ(prof.entries().size(), 1u);
  EXPECT_FALSE(prof.entries()[0].nested);
  std::ostringstream table;
  write_profile_table(table, ProfileInfo{}, prof);
  EXPECT_NE(table.str().find("warning: 3"), std::string::npos) << table.str();
}

TEST(ProfileReport, OffByDefaultAndCostsOnlyAPointerTest) {
  auto be = make_backend("naive");
  EXPECT_EQ(be->profiler(), nullptr);
  OpScope s(nullptr, "nothing", 1);  // must not touch anything
}

// Splits one CSV line (the profile writes no quoted fields).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  std::string x;
  while (std::getline(ss, x, ',')) f.push_back(x);
  if (!line.empty() && line.back() == ',') f.push_back("");
  return f;
}

double parse_number(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  EXPECT_TRUE(!s.empty() && *end == '\0') << "not a number: '" << s << "'";
  return v;
}

// Checks the CSV against the profiler; returns its rows' op names.
std::vector<std::string> check_csv(const std::string& text, const Profiler& prof) {
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "op,kind,calls,total_ms,us_per_call,flops_per_call,gflops,share");
  std::vector<std::string> ops;
  double share = 0;
  while (std::getline(in, line)) {
    auto f = csv_fields(line);
    EXPECT_EQ(f.size(), 8u) << line;
    if (f.size() != 8) continue;
    ops.push_back(f[0]);
    for (int k = 2; k < 8; ++k) parse_number(f[k]);
    if (f[1] != "nested") share += parse_number(f[7]);
    for (const auto& e : prof.entries())
      if (e.op == f[0]) {
        EXPECT_EQ(parse_number(f[2]), e.calls) << line;
        EXPECT_NEAR(parse_number(f[5]), e.flops / e.calls, 1e-6 * e.flops / e.calls) << line;
      }
  }
  EXPECT_NEAR(share, 1.0, 1e-6);
  return ops;
}

// Checks the JSON against the profiler and the run; returns its op names.
std::vector<std::string> check_json(const std::string& text, const Profiler& prof,
                                    const std::string& backend) {
  Json j;
  try {
    j = parse_json(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << text;
    return {};
  }
  EXPECT_EQ(j["backend"].str, backend);
  EXPECT_EQ(j["isa"].type, Json::string);
  EXPECT_FALSE(j["isa"].str.empty());
  EXPECT_GE(j["threads"].num, 1);
  EXPECT_EQ(j["batch"].num, 32);
  EXPECT_GT(j["train_seconds"].num, 0);
  EXPECT_FALSE(j["machine"]["cpu"].str.empty());
  EXPECT_GE(j["machine"]["cores"].num, 1);
  EXPECT_EQ(j["misplaced_reports"].num, 0);
  std::vector<std::string> ops;
  for (const auto& o : j["ops"].arr) {
    ops.push_back(o["op"].str);
    for (const char* k : {"calls", "total_ms", "us_per_call", "flops_per_call", "gflops", "share"})
      EXPECT_EQ(o[k].type, Json::number) << o["op"].str << "." << k;
    for (const auto& e : prof.entries())
      if (e.op == o["op"].str) {
        EXPECT_EQ(o["calls"].num, e.calls) << e.op;
      }
  }
  return ops;
}

void expect_every_op(const std::vector<std::string>& ops, const Profiler& prof) {
  for (const auto& e : prof.entries())
    EXPECT_NE(std::find(ops.begin(), ops.end(), e.op), ops.end()) << "missing " << e.op;
  EXPECT_NE(std::find(ops.begin(), ops.end(), kBookkeepingRow), ops.end());
}

TEST(ProfileReport, CsvAndJsonParseAndHoldEveryOperation) {
  for (const auto& name : backend_names()) {
    SCOPED_TRACE(name);
    ProfiledRun r;
    profiled_run(r, name, 1);
    test::TempDir d;
    std::ostringstream table;
    auto paths = report_profile(r.prof, make_profile_info(*r.be, 32, 1, r.res.train_seconds), table,
                                d.file("sub"));
    ASSERT_EQ(paths.size(), 2u);
    EXPECT_EQ(paths[0], d.file("sub") + "/profile_" + name + ".csv");
    EXPECT_EQ(paths[1], d.file("sub") + "/profile_" + name + ".json");
    auto read = [](const std::string& p) {
      auto b = test::read_file(p);
      return std::string(b.begin(), b.end());
    };
    auto csv_ops = check_csv(read(paths[0]), r.prof);
    auto json_ops = check_json(read(paths[1]), r.prof, name);
    expect_every_op(csv_ops, r.prof);
    expect_every_op(json_ops, r.prof);
    EXPECT_EQ(csv_ops, json_ops);
    // The table lists every operation too.
    for (const auto& e : r.prof.entries()) EXPECT_NE(table.str().find(e.op), std::string::npos);
  }
}

TEST(ProfileReport, JsonEscapesStrings) {
  Profiler prof;
  { OpScope s(&prof, "a\"b\\c", 1); }
  ProfileInfo info;
  info.backend = "x";
  info.isa = "y";
  info.cpu_model = "CPU \"quoted\"\twith tab";
  info.train_seconds = 1;
  std::ostringstream out;
  write_profile_json(out, info, prof);
  Json j = parse_json(out.str());
  EXPECT_EQ(j["machine"]["cpu"].str, info.cpu_model);
  EXPECT_EQ(j["ops"].arr.at(0)["op"].str, "a\"b\\c");
}

TEST(ProfileReport, FilesGoNextToTheLog) {
  EXPECT_EQ(profile_dir_for_log("logs/loss_naive.csv"), "logs");
  EXPECT_EQ(profile_dir_for_log("/tmp/x/log.txt"), "/tmp/x");
  EXPECT_EQ(profile_dir_for_log("log.txt"), ".");
  EXPECT_EQ(profile_dir_for_log(""), "logs");
}

TEST(ProfileCli, PrintsTheTableAndWritesFilesNextToTheLog) {
  test::TempDir d;
  test::write_tiny_mnist(d);  // 96 training images: 3 batches
  auto r = test::run_cli("--backend naive --seed 1 --epochs 2 --profile --data-dir " + d.str() +
                         " --log " + d.file("run/loss_naive.csv"));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* s : {"Profile: backend=naive isa=portable threads=1 batch=32 epochs=2",
                        "operation", "conv_fwd", "-- outside the layers --", "gather",
                        "bookkeeping", "training total", "100.0%", "Test Accuracy"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
  // The profile comes after the test accuracy, and there is no progress line in a pipe.
  EXPECT_LT(r.output.find("Test Accuracy"), r.output.find("Profile: "));
  EXPECT_EQ(r.output.find('\r'), std::string::npos);
  auto b = test::read_file(d.file("run/profile_naive.json"));
  Json j = parse_json(std::string(b.begin(), b.end()));
  EXPECT_EQ(j["epochs"].num, 2);
  for (const auto& o : j["ops"].arr)
    if (o["op"].str != kBookkeepingRow) {
      EXPECT_EQ(o["calls"].num, 6) << o["op"].str;
    }
  EXPECT_FALSE(test::read_file(d.file("run/profile_naive.csv")).empty());
}

TEST(ProfileCli, NothingWithoutTheFlag) {
  test::TempDir d;
  test::write_tiny_mnist(d);  // 96 training images: 3 batches
  auto r = test::run_cli("--backend naive --seed 1 --epochs 1 --data-dir " + d.str() + " --log " +
                         d.file("loss.csv"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("Profile"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(d.file("profile_naive.json")));
  EXPECT_EQ(r.output.find('\r'), std::string::npos);
}

TEST(TrainProgress, ShownOnlyWhenAsked) {
  const Dataset tr = synthetic(96, 1), te = synthetic(40, 2);
  for (bool on : {false, true}) {
    auto be = make_backend("naive");
    Rng rng(1);
    Params p;
    init_params(p, rng);
    TrainConfig cfg;
    cfg.epochs = 2;
    cfg.progress = on;
    std::ostringstream out;
    auto res = train(*be, p, rng, cfg, tr, te, out, nullptr);
    const std::string s = out.str();
    if (!on) {
      EXPECT_EQ(s.find('\r'), std::string::npos) << s;
      EXPECT_EQ(s.find("img/s"), std::string::npos) << s;
      continue;
    }
    // The last batch of every epoch is always drawn, with the epoch's loss.
    for (int e = 1; e <= 2; ++e) {
      char want[96];
      std::snprintf(want, sizeof want, "epoch %d/2 | batch 3/3 | loss %.6f | ", e,
                    double(res.epoch_loss[e - 1]));
      EXPECT_NE(s.find(want), std::string::npos) << want << "\n" << s;
    }
    EXPECT_NE(s.find("img/s"), std::string::npos);
    // Erased before each summary line, so the "Epoch" lines stay clean.
    EXPECT_NE(s.find("\r\033[KEpoch 1 | loss="), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace cnn
