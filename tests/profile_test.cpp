// The training profile (`--profile`, kernels/profiler.h, src/profile_report.h)
// and the terminal progress line:
//  - one vocabulary: every registered backend at every ISA path reports only
//    canonical names, at least one top-level scope in every layer group, in
//    training and inference; a name outside the vocabulary, or a scope that
//    spans two groups, is rejected (aborts in debug builds);
//  - the report has the same rows for every backend: one per layer group in
//    network order (split layers as sub-rows, fused groups marked), gather,
//    bookkeeping, the total;
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
void profiled_run(ProfiledRun& r, const std::string& backend, int epochs, int threads = 3,
                  const std::string& isa = "") {
  BackendOptions opt;
  opt.threads = threads;
  opt.isa = isa;
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
  EXPECT_TRUE(r.prof.errors().empty()) << r.prof.errors().front();
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

// ---- One vocabulary ------------------------------------------------------

TEST(ProfileVocabulary, CanonicalNamesAndTheirGroups) {
  const std::map<std::string, int> want = {
      {"conv_fwd", 0},          {"pool_fwd", 0},   {"conv_fwd+pool_fwd", 0}, {"fc_fwd", 1},
      {"softmax_xent", 2},      {"fc_bwd", 3},     {"pool_bwd", 4},          {"conv_bwd", 4},
      {"pool_bwd+conv_bwd", 4}, {"sgd_update", 5},
  };
  for (const auto& [op, g] : want) {
    EXPECT_EQ(layer_group_of(op), g) << op;
    EXPECT_TRUE(canonical_op(op, OpKind::layer)) << op;
    EXPECT_FALSE(canonical_op(op, OpKind::outside)) << op;
  }
  // Old per-backend names, wrong order, spanning two groups, malformed.
  for (const char* op :
       {"conv_pool_fwd", "conv_pool_bwd", "fwd[conv+pool+fc]", "conv_fwd+pool_fwd+fc_fwd",
        "fc_bwd+pool_bwd+conv_bwd", "pool_fwd+conv_fwd", "conv_bwd+pool_bwd", "conv_fwd+conv_fwd",
        "conv_fwd+", "+conv_fwd", "", "gather", "bookkeeping", "CONV_FWD", "fc_bwd_din"}) {
    EXPECT_EQ(layer_group_of(op), -1) << op;
    EXPECT_FALSE(canonical_op(op, OpKind::layer)) << op;
  }
  EXPECT_TRUE(canonical_op("gather", OpKind::outside));
  EXPECT_FALSE(canonical_op("shuffle", OpKind::outside));
  EXPECT_EQ(kLayerGroupCount, 6);
  EXPECT_STREQ(kLayerGroups[0].label, "conv+pool fwd");
  EXPECT_STREQ(kLayerGroups[4].label, "pool+conv bwd");
}

// A vocabulary violation: debug builds abort naming it; release builds drop
// the scope and keep the message (the report prints it).
void expect_rejected(void (*report)(Profiler&), const std::string& needle) {
#ifdef NDEBUG
  Profiler prof;
  report(prof);
  ASSERT_EQ(prof.errors().size(), 1u);
  EXPECT_NE(prof.errors()[0].find(needle), std::string::npos) << prof.errors()[0];
  std::ostringstream table;
  ProfileInfo info;
  info.train_seconds = 1;
  write_profile_table(table, info, prof);
  EXPECT_NE(table.str().find("error: profiler vocabulary: "), std::string::npos) << table.str();
  EXPECT_NE(table.str().find(needle), std::string::npos) << table.str();
  { OpScope ok(&prof, "fc_fwd", 1); }  // the scope stack stayed balanced
  for (const auto& e : prof.entries()) EXPECT_TRUE(canonical_op(e.op, e.kind)) << e.op;
  EXPECT_FALSE(prof.entries().back().nested);
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Profiler prof;
        report(prof);
      },
      needle);
#endif
}

TEST(ProfileVocabulary, NonCanonicalNameIsRejected) {
  expect_rejected([](Profiler& p) { OpScope s(&p, "conv_pool_fwd", 1); }, "'conv_pool_fwd'");
  expect_rejected([](Profiler& p) { OpScope s(&p, "fwd[conv+pool+fc]", 1); }, "not a canonical");
  expect_rejected([](Profiler& p) { OpScope s(&p, "conv_fwd", 0, OpKind::outside); },
                  "not a canonical outside");
  expect_rejected([](Profiler& p) { OpScope s(&p, "shuffle", 0, OpKind::outside); }, "'shuffle'");
}

TEST(ProfileVocabulary, ScopeSpanningTwoGroupsIsRejected) {
  expect_rejected(
      [](Profiler& p) {
        OpScope fwd(&p, "conv_fwd+pool_fwd", 1);
        OpScope fc(&p, "fc_fwd", 1);
      },
      "'fc_fwd' is reported inside 'conv_fwd");  // (a regex in debug builds: no '+')
  expect_rejected(
      [](Profiler& p) {
        OpScope gather(&p, "gather", 0, OpKind::outside);
        OpScope layer(&p, "fc_fwd", 1);
      },
      "inside 'gather'");
}

struct IsaCase {
  std::string backend, isa;
};

void PrintTo(const IsaCase& c, std::ostream* os) { *os << c.backend << "@" << c.isa; }

std::vector<IsaCase> isa_cases() {
  std::vector<IsaCase> v;
  for (const auto& info : backend_registry())
    for (const auto& isa : info.isa_paths()) v.push_back({info.name, isa});
  return v;
}

class ProfileVocabularyIsa : public ::testing::TestWithParam<IsaCase> {};

// Every entry canonical; every group has a top-level scope called once per
// batch (so no scope hid another group's layers).
void expect_every_group(const Profiler& prof, long calls, const std::string& what) {
  EXPECT_TRUE(prof.errors().empty()) << what << ": " << prof.errors().front();
  EXPECT_EQ(prof.misplaced(), 0) << what;
  std::vector<int> top_calls(kLayerGroupCount, 0);
  for (const auto& e : prof.entries()) {
    EXPECT_TRUE(canonical_op(e.op, e.kind)) << what << ": " << e.op;
    if (e.kind == OpKind::layer && !e.nested) top_calls.at(e.group) = int(e.calls);
  }
  for (int g = 0; g < kLayerGroupCount; ++g)
    EXPECT_EQ(top_calls[g], calls) << what << ": group " << kLayerGroups[g].label;
}

TEST_P(ProfileVocabularyIsa, TrainingReportsOnlyCanonicalNamesInEveryGroup) {
  const IsaCase& c = GetParam();
  ProfiledRun r;
  profiled_run(r, c.backend, 1, 3, c.isa);  // 3 batches
  ASSERT_EQ(r.be->isa(), c.isa);
  expect_every_group(r.prof, 3, c.backend + "@" + c.isa + " training");
  // Inference (forward_infer) reports from the same vocabulary.
  Profiler infer;
  Workspace ws(32);
  Params p;
  p.zero();
  r.be->prepare(32);
  r.be->set_profiler(&infer);
  r.be->forward_infer(32, p, ws);
  r.be->set_profiler(nullptr);
  EXPECT_TRUE(infer.errors().empty())
      << c.backend << "@" << c.isa << " inference: " << infer.errors().front();
  for (const auto& e : infer.entries()) {
    EXPECT_TRUE(canonical_op(e.op, e.kind)) << e.op;
    EXPECT_LE(e.group, 1) << "inference reported a backward op: " << e.op;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, ProfileVocabularyIsa, ::testing::ValuesIn(isa_cases()),
                         [](const ::testing::TestParamInfo<IsaCase>& info) {
                           return info.param.backend + "_" + info.param.isa;
                         });

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
  // The table's rows carry the same per-call count: naive's split groups as
  // sub-rows (their group row sums them), the other groups on their row.
  int named = 0;
  for (const auto& row : profile_rows(r.prof, r.res.train_seconds)) {
    if ((row.kind != "layer" && row.kind != "group") || row.op.empty()) continue;
    named++;
    EXPECT_EQ(row.flops_per_call, want.at(row.op)) << row.op;
    EXPECT_FALSE(row.fused) << row.op;
  }
  EXPECT_EQ(named, 8);
}

// The rows that every backend's report has, in order: group rows, outside
// rows, the total (sub-rows left out).
std::vector<std::string> fixed_rows(const std::vector<ProfileRow>& rows) {
  std::vector<std::string> v;
  for (const auto& r : rows)
    if (r.kind == "group" || r.kind == "outside" || r.kind == "total")
      v.push_back(r.group + "/" + (r.kind == "group" ? "" : r.op));
  return v;
}

const std::vector<std::string> kFixedRows = {
    "conv+pool fwd/", "fc fwd/",        "softmax xent/",       "fc bwd/", "pool+conv bwd/",
    "sgd update/",    "outside/gather", "outside/bookkeeping", "total/"};

// The group rows and the outside rows add up to the training time.
void expect_shares_add_up(const std::vector<ProfileRow>& rows, double train_seconds) {
  double share = 0, seconds = 0;
  for (const auto& row : rows)
    if (row.kind == "group" || row.kind == "outside") {
      share += row.share;
      seconds += row.seconds;
    }
  EXPECT_NEAR(share, 1.0, 1e-9);
  EXPECT_NEAR(seconds, train_seconds, 1e-9);
  EXPECT_EQ(rows.back().kind, "total");
  EXPECT_EQ(rows.back().seconds, train_seconds);
}

TEST(ProfileReport, SharesAddUpToTheTrainingTime) {
  for (const auto& name : backend_names()) {
    SCOPED_TRACE(name);
    ProfiledRun r;
    profiled_run(r, name, 1);
    const auto rows = profile_rows(r.prof, r.res.train_seconds);
    EXPECT_EQ(fixed_rows(rows), kFixedRows);
    expect_shares_add_up(rows, r.res.train_seconds);
    // Every scope runs inside the timed epoch loop: the remainder is not negative.
    EXPECT_EQ(rows[rows.size() - 2].op, kBookkeepingRow);
    EXPECT_GE(rows[rows.size() - 2].seconds, 0.0);
  }
}

// Records one scope with a chosen time (what OpScope does, without a clock).
void record(Profiler& p, const char* op, double seconds, double flops = 1,
            OpKind kind = OpKind::layer) {
  p.enter(op, kind);
  p.leave(seconds, flops);
}

TEST(ProfileReport, SplitLayersAreSubRowsFusedGroupsAreMarked) {
  Profiler split, fused;
  for (int step = 0; step < 2; ++step) {
    record(split, "gather", 0.01, 0, OpKind::outside);
    record(split, "conv_fwd", 0.3, 30);
    record(split, "pool_fwd", 0.1, 10);
    record(split, "fc_fwd", 0.05);
    record(fused, "conv_fwd+pool_fwd", 0.2, 35);
    record(fused, "fc_fwd", 0.05);
    record(fused, "pool_bwd+conv_bwd", 0.25, 40);
  }
  const auto s = profile_rows(split, 2.0), f = profile_rows(fused, 2.0);
  // The same fixed rows, whatever was reported (absent groups are zero rows).
  EXPECT_EQ(fixed_rows(s), kFixedRows);
  EXPECT_EQ(fixed_rows(f), kFixedRows);
  expect_shares_add_up(s, 2.0);
  expect_shares_add_up(f, 2.0);
  // split: conv+pool fwd sums its two layers, listed under it.
  ASSERT_GE(s.size(), 4u);
  EXPECT_EQ(s[0].kind, "group");
  EXPECT_EQ(s[0].op, "");
  EXPECT_FALSE(s[0].fused);
  EXPECT_EQ(s[0].calls, 2);
  EXPECT_NEAR(s[0].seconds, 0.8, 1e-12);
  EXPECT_EQ(s[0].flops_per_call, 40);
  EXPECT_EQ(s[1].kind, "layer");
  EXPECT_EQ(s[1].op, "conv_fwd");
  EXPECT_EQ(s[1].group, "conv+pool fwd");
  EXPECT_NEAR(s[1].seconds, 0.6, 1e-12);
  EXPECT_EQ(s[2].op, "pool_fwd");
  EXPECT_EQ(s[3].group, "fc fwd");
  EXPECT_EQ(s[3].op, "fc_fwd");
  // fused: one row per group, marked, holding the fused scope.
  EXPECT_EQ(f[0].op, "conv_fwd+pool_fwd");
  EXPECT_TRUE(f[0].fused);
  EXPECT_NEAR(f[0].seconds, 0.4, 1e-12);
  EXPECT_EQ(f[1].group, "fc fwd");
  EXPECT_FALSE(f[1].fused);
  EXPECT_EQ(f[4].group, "pool+conv bwd");
  EXPECT_TRUE(f[4].fused);
  EXPECT_EQ(f[5].group, "sgd update");
  EXPECT_EQ(f[5].calls, 0);  // not reported: a zero row, not a missing one
  // The table: sub-rows indented under their group, the fused marker.
  std::ostringstream ts, tf;
  ProfileInfo info;
  info.train_seconds = 2.0;
  write_profile_table(ts, info, split);
  write_profile_table(tf, info, fused);
  EXPECT_NE(ts.str().find("\nconv+pool fwd "), std::string::npos) << ts.str();
  EXPECT_NE(ts.str().find("\n    conv_fwd "), std::string::npos) << ts.str();
  EXPECT_NE(ts.str().find("\n    pool_fwd "), std::string::npos) << ts.str();
  EXPECT_EQ(ts.str().find("[fused]"), std::string::npos) << ts.str();
  EXPECT_NE(tf.str().find("\nconv+pool fwd [fused] "), std::string::npos) << tf.str();
  EXPECT_NE(tf.str().find("\npool+conv bwd [fused] "), std::string::npos) << tf.str();
  EXPECT_EQ(tf.str().find("\n    conv_fwd"), std::string::npos) << tf.str();
}

TEST(ProfileReport, NestedScopesAreMarkedAndCountedOnce) {
  Profiler prof;
  {
    OpScope step(&prof, "conv_fwd+pool_fwd", 100);
    OpScope inner(&prof, "conv_fwd", 60);
  }
  { OpScope plain(&prof, "fc_fwd", 40); }
  EXPECT_TRUE(prof.errors().empty());
  ASSERT_EQ(prof.entries().size(), 3u);
  std::map<std::string, Profiler::Entry> by;
  for (const auto& e : prof.entries()) by[e.op] = e;
  EXPECT_TRUE(by["conv_fwd"].nested);
  EXPECT_FALSE(by["conv_fwd+pool_fwd"].nested);
  EXPECT_FALSE(by["fc_fwd"].nested);
  const double total = by["conv_fwd+pool_fwd"].seconds + by["fc_fwd"].seconds + 1.0;
  const auto rows = profile_rows(prof, total);
  // The group row counts the fused scope only; both are its sub-rows.
  EXPECT_EQ(rows[0].seconds, by["conv_fwd+pool_fwd"].seconds);
  EXPECT_EQ(rows[0].op, "conv_fwd+pool_fwd");
  EXPECT_TRUE(rows[0].fused);
  EXPECT_EQ(rows[1].kind, "layer");
  EXPECT_EQ(rows[2].kind, "nested");
  EXPECT_EQ(rows[2].op, "conv_fwd");
  EXPECT_NEAR(rows[rows.size() - 2].seconds, 1.0, 1e-9);  // the nested row is not subtracted twice
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
  { OpScope s(&prof, "fc_fwd", 1); }  // the scope depth stayed balanced
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

std::string row_key(const std::string& group, const std::string& op, const std::string& kind) {
  return group + "/" + op + "/" + kind;
}

// Checks the CSV against the report's rows; returns its rows' keys.
std::vector<std::string> check_csv(const std::string& text, const std::vector<ProfileRow>& want) {
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "group,op,kind,fused,calls,total_ms,us_per_call,flops_per_call,gflops,share");
  std::vector<std::string> keys;
  double share = 0;
  while (std::getline(in, line)) {
    auto f = csv_fields(line);
    EXPECT_EQ(f.size(), 10u) << line;
    if (f.size() != 10 || keys.size() >= want.size()) continue;
    const ProfileRow& r = want[keys.size()];
    keys.push_back(row_key(f[0], f[1], f[2]));
    EXPECT_EQ(keys.back(), row_key(r.group, r.op, r.kind)) << line;
    for (int k = 3; k < 10; ++k) parse_number(f[k]);
    EXPECT_EQ(parse_number(f[3]), r.fused) << line;
    EXPECT_EQ(parse_number(f[4]), r.calls) << line;
    EXPECT_NEAR(parse_number(f[7]), r.flops_per_call, 1e-6 * r.flops_per_call) << line;
    if (f[2] == "group" || f[2] == "outside") share += parse_number(f[9]);
  }
  EXPECT_NEAR(share, 1.0, 1e-6);
  return keys;
}

// Checks the JSON against the run and the report's rows; returns its rows' keys.
std::vector<std::string> check_json(const std::string& text, const std::vector<ProfileRow>& want,
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
  EXPECT_EQ(j["errors"].type, Json::array);
  EXPECT_TRUE(j["errors"].arr.empty());
  std::vector<std::string> keys;
  for (const auto& o : j["rows"].arr) {
    if (keys.size() >= want.size()) break;
    const ProfileRow& r = want[keys.size()];
    keys.push_back(row_key(o["group"].str, o["op"].str, o["kind"].str));
    EXPECT_EQ(keys.back(), row_key(r.group, r.op, r.kind));
    EXPECT_EQ(o["fused"].type, Json::boolean);
    EXPECT_EQ(o["fused"].b, r.fused) << keys.back();
    for (const char* k : {"calls", "total_ms", "us_per_call", "flops_per_call", "gflops", "share"})
      EXPECT_EQ(o[k].type, Json::number) << keys.back() << "." << k;
    EXPECT_EQ(o["calls"].num, r.calls) << keys.back();
  }
  return keys;
}

TEST(ProfileReport, CsvAndJsonParseAndHoldEveryRow) {
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
    const auto rows = profile_rows(r.prof, r.res.train_seconds);
    const auto csv_keys = check_csv(read(paths[0]), rows);
    const auto json_keys = check_json(read(paths[1]), rows, name);
    EXPECT_EQ(csv_keys.size(), rows.size());
    EXPECT_EQ(csv_keys, json_keys);
    // The table has every group and every sub-row.
    for (const auto& g : kLayerGroups)
      EXPECT_NE(table.str().find(std::string("\n") + g.label), std::string::npos) << g.label;
    for (const auto& row : rows)
      if (row.kind == "layer" || row.kind == "nested") {
        EXPECT_NE(table.str().find(" " + row.op + " "), std::string::npos) << row.op;
      }
  }
}

TEST(ProfileReport, JsonEscapesStrings) {
  Profiler prof;
  { OpScope s(&prof, "fc_fwd", 1); }
  ProfileInfo info;
  info.backend = "x\\y";
  info.isa = "y";
  info.cpu_model = "CPU \"quoted\"\twith tab";
  info.train_seconds = 1;
  std::ostringstream out;
  write_profile_json(out, info, prof);
  Json j = parse_json(out.str());
  EXPECT_EQ(j["machine"]["cpu"].str, info.cpu_model);
  EXPECT_EQ(j["backend"].str, info.backend);
  EXPECT_EQ(j["rows"].arr.at(1)["op"].str, "fc_fwd");
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
  for (const char* s :
       {"Profile: backend=naive isa=portable threads=1 batch=32 epochs=2", "\nlayer ",
        "\nconv+pool fwd ", "\n    conv_fwd ", "\n    pool_fwd ", "\nfc fwd ", "\nsoftmax xent ",
        "\nfc bwd ", "\npool+conv bwd ", "\n    pool_bwd ", "\n    conv_bwd ", "\nsgd update ",
        "-- outside the layers --", "\ngather ", "\nbookkeeping ", "\ntraining total ", "100.0%",
        "Test Accuracy"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output;
  // The profile comes after the test accuracy, and there is no progress line in a pipe.
  EXPECT_LT(r.output.find("Test Accuracy"), r.output.find("Profile: "));
  EXPECT_EQ(r.output.find('\r'), std::string::npos);
  auto b = test::read_file(d.file("run/profile_naive.json"));
  Json j = parse_json(std::string(b.begin(), b.end()));
  EXPECT_EQ(j["epochs"].num, 2);
  for (const auto& o : j["rows"].arr)
    if (o["op"].str != kBookkeepingRow && o["kind"].str != "total") {
      EXPECT_EQ(o["calls"].num, 6) << o["group"].str << " " << o["op"].str;
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
