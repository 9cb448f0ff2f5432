// Whole-run benchmarks over the backend registry, on the real MNIST files:
//   epoch/<backend>/threads:<n>          one training epoch (60,000 images,
//                                        batch 32, shuffle included, as the
//                                        trainer times it); n = 1, 2 for
//                                        threaded backends, 1 otherwise
//   epoch/<backend>/threads:1/ftz:off    the same with flush-to-zero and
//                                        denormals-are-zero off (every
//                                        backend but naive, which never sets it)
//   eval/<backend>/threads:<n>           forward_infer over the 10,000 test
//                                        images in batches of 256, as evaluate()
//   denormal/<backend>/ftz:on|off        worst case: one training step on a
//                                        batch whose activations and
//                                        gradients are all denormal, to show
//                                        what FTZ/DAZ protects against
// Timed in real time (threads). Counters: images/s and GFLOP/s from the dense
// per-operation counts of kernels/flops.h (the machine's measured fp32 peak is
// ~116 GFLOP/s per core). Data: $CNN_DATA_DIR, else <source>/data; without
// the files every benchmark here is skipped with an error saying so.
//
//   build/bench/cnn_bench --benchmark_filter='epoch/' --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/flops.h"
#include "kernels/registry.h"
#include "src/mnist.h"
#include "src/model.h"
#include "src/rng.h"
#include "src/trainer.h"

namespace cnn {
namespace {

constexpr int kBatch = 32;
constexpr int kEvalBatch = 256;

std::string data_dir() {
  if (const char* d = std::getenv("CNN_DATA_DIR"); d && *d) return d;
  return std::string(CNN_SOURCE_DIR) + "/data";
}

struct Mnist {
  Dataset train, test;
  std::string error;  // non-empty: the data could not be loaded
};

const Mnist& mnist() {
  static const Mnist m = [] {
    Mnist r;
    try {
      r.train = load_mnist(data_dir(), "train");
      r.test = grouped_by_margins(load_mnist(data_dir(), "t10k"));  // as the trainer's
    } catch (const std::exception& e) {
      r.error = std::string("MNIST not found (set CNN_DATA_DIR or put the files in ") + data_dir() +
                "): " + e.what();
    }
    return r;
  }();
  return m;
}

double forward_flops(int B) { return flops::conv_fwd(B) + flops::pool_fwd(B) + flops::fc_fwd(B); }
double step_flops(int B) {
  return forward_flops(B) + flops::softmax_xent(B) + flops::fc_bwd(B) + flops::pool_bwd(B) +
         flops::conv_bwd(B) + flops::sgd_update();
}
double epoch_flops(int N) {
  double f = 0;
  for (int s = 0; s < N; s += kBatch) f += step_flops(std::min(kBatch, N - s));
  return f;
}

std::unique_ptr<Backend> make(const std::string& name, int threads, bool ftz) {
  BackendOptions o;
  o.threads = threads;
  o.ftz = ftz;
  return make_backend(name, o);
}

void BM_epoch(benchmark::State& state, const std::string& name, int threads, bool ftz) {
  const Mnist& m = mnist();
  if (!m.error.empty()) {
    state.SkipWithError(m.error.c_str());
    return;
  }
  auto be = make(name, threads, ftz);
  const int N = m.train.n;
  Workspace ws(kBatch);
  be->prepare(kBatch);
  Params p, g;
  std::vector<std::uint32_t> idx(N);
  std::vector<const std::uint8_t*> images(kBatch);
  float loss = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Rng rng(1);
    init_params(p, rng);
    std::iota(idx.begin(), idx.end(), 0u);
    state.ResumeTiming();
    rng.shuffle(idx);
    float total = 0.0f;
    for (int s = 0; s < N; s += kBatch) {
      const int B = std::min(kBatch, N - s);
      // As the trainer runs a step: the batch's images where they lie, then
      // the whole step on the raw bytes (fused where the backend fuses it).
      point_batch(m.train, idx.data() + s, B, images.data(), ws.labels.data());
      total += be->train_step_bytes(B, images.data(), 0.01f, p, ws, g);
    }
    loss = total / float(N);
    benchmark::DoNotOptimize(loss);
  }
  state.counters["images/s"] = benchmark::Counter(N, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(epoch_flops(N) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["loss"] = loss;  // seed 1, first epoch: 0.591689 for naive and omp
  state.SetLabel(be->isa() + " threads=" + std::to_string(be->threads()) + (ftz ? "" : " ftz=off"));
}

void BM_eval(benchmark::State& state, const std::string& name, int threads) {
  const Mnist& m = mnist();
  if (!m.error.empty()) {
    state.SkipWithError(m.error.c_str());
    return;
  }
  auto be = make(name, threads, true);
  Workspace ws(kEvalBatch);
  be->prepare(kEvalBatch);
  Params p;
  Rng rng(1);
  init_params(p, rng);
  float acc = 0;
  for (auto _ : state) {
    acc = evaluate(*be, p, m.test, ws);
    benchmark::DoNotOptimize(acc);
  }
  double f = 0;
  for (int s = 0; s < m.test.n; s += kEvalBatch)
    f += forward_flops(std::min(kEvalBatch, m.test.n - s));
  state.counters["images/s"] =
      benchmark::Counter(m.test.n, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(f * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(be->isa() + " threads=" + std::to_string(be->threads()));
}

// One training step where everything is denormal: pixels of 2^-130 (below
// FLT_MIN = 2^-126) and ordinary weights make every conv product, activation,
// pooled value and logit denormal or zero, and so every gradient product.
// With FTZ/DAZ those read and write as zero; without, each costs the CPU's
// denormal penalty. Not a situation training meets (see the report on
// whether it does), but the bound on what FTZ/DAZ can save.
void BM_denormal(benchmark::State& state, const std::string& name, bool ftz) {
  auto be = make(name, 1, ftz);
  Workspace ws(kBatch);
  be->prepare(kBatch);
  Params p, g;
  Rng rng(1);
  init_params(p, rng);
  const float tiny = 0x1p-130f;
  for (std::size_t i = 0; i < ws.x.size(); ++i) ws.x[i] = (i % 3 ? 1.0f : 0.5f) * tiny;
  for (int b = 0; b < kBatch; ++b) ws.labels[b] = std::uint8_t(b % 10);
  for (auto _ : state) {
    be->forward_train(kBatch, p, ws);
    float l = be->loss_grad(kBatch, 1.0f / kBatch, ws);
    be->backward(kBatch, p, ws, g);
    benchmark::DoNotOptimize(l);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter((step_flops(kBatch) - flops::sgd_update()) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string("ftz=") + (ftz ? "on" : "off"));
}

// Registration over the registry. A backend is threaded if it reports more
// than one thread when asked for two.
const bool registered = [] {
  for (const auto& info : backend_registry()) {
    const std::string& n = info.name;
    const bool threaded = make(n, 2, true)->threads() > 1;
    std::vector<int> counts = threaded ? std::vector<int>{1, 2} : std::vector<int>{1};
    for (int t : counts)
      benchmark::RegisterBenchmark(("epoch/" + n + "/threads:" + std::to_string(t)).c_str(),
                                   BM_epoch, n, t, true)
          ->UseRealTime()
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    if (n != "naive")
      benchmark::RegisterBenchmark(("epoch/" + n + "/threads:1/ftz:off").c_str(), BM_epoch, n, 1,
                                   false)
          ->UseRealTime()
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    for (int t : counts)
      benchmark::RegisterBenchmark(("eval/" + n + "/threads:" + std::to_string(t)).c_str(), BM_eval,
                                   n, t)
          ->UseRealTime()
          ->MinTime(0.5)
          ->Unit(benchmark::kMillisecond);
    for (bool ftz : {true, false}) {
      if (n == "naive" && ftz) continue;  // naive never sets FTZ
      benchmark::RegisterBenchmark(("denormal/" + n + (ftz ? "/ftz:on" : "/ftz:off")).c_str(),
                                   BM_denormal, n, ftz)
          ->UseRealTime()
          ->MinTime(0.2)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace cnn
