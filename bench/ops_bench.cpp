// Per-operation benchmarks for every backend in the registry: each primitive,
// each composite step and a whole training step, at batch 1, 32 and 256.
//
// Names are op/backend/batch (`conv_fwd/naive/32`), so
// `--benchmark_filter=conv_fwd/simd` picks one operation of one backend; a
// backend's ISA paths other than its default one run as backend@isa
// (`conv_fwd/simd@avx2/32`). The label says which ISA path and how many
// threads actually ran. Benchmarks are registered at start-up from the
// registry, so a backend added there is measured without touching this file.
//
// Fused operations are measured as what they replace: the composite steps
// (forward_train, forward_infer, loss_grad, backward, update) run through the
// backend's own override, so a backend that fuses conv+pool shows its real
// cost there, next to the unfused primitives.
//
// Counters: GFLOP/s from kernels/flops.h (a composite counts the sum of the
// primitives it replaces), bytes_per_second from the minimal traffic below
// (each input read once, each output written once; composites count the sum
// of their primitives, the traffic an unfused chain would have), and
// items_per_second = images per second. Everything is timed in real time
// (UseRealTime) because the threaded backends run work on other threads.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/flops.h"
#include "kernels/registry.h"
#include "src/mnist.h"
#include "src/model.h"
#include "src/rng.h"
#include "src/trainer.h"

namespace cnn {
namespace {

constexpr double F = sizeof(float);

// Minimal bytes moved per call, per operation (B = batch).
double conv_fwd_bytes(int B) { return B * (kImgPixels + kActSize) * F + (kConvWSize + kConvC) * F; }
double pool_fwd_bytes(int B) { return B * (kActSize * F + kFeatures * (F + 1)); }
double fc_fwd_bytes(int B) { return B * (kFeatures + kClasses) * F + (kFcWSize + kClasses) * F; }
double softmax_bytes(int B) { return B * (3 * kClasses * F + 1); }
double fc_bwd_bytes(int B) {
  return B * (2 * kFeatures + kClasses) * F + (2 * kFcWSize + kClasses) * F;
}
double pool_bwd_bytes(int B) { return B * (kFeatures * (F + 1) + 2 * kActSize * F); }
double conv_bwd_bytes(int B) { return B * (kImgPixels + kActSize) * F + (kConvWSize + kConvC) * F; }
// Read p and g, write p, for every parameter.
double sgd_bytes(int) { return 3.0 * kParamCount * F; }

double fwd_flops(int B) { return flops::conv_fwd(B) + flops::pool_fwd(B) + flops::fc_fwd(B); }
double fwd_bytes(int B) { return conv_fwd_bytes(B) + pool_fwd_bytes(B) + fc_fwd_bytes(B); }
double bwd_flops(int B) { return flops::fc_bwd(B) + flops::pool_bwd(B) + flops::conv_bwd(B); }
double bwd_bytes(int B) { return fc_bwd_bytes(B) + pool_bwd_bytes(B) + conv_bwd_bytes(B); }
double step_flops(int B) {
  return fwd_flops(B) + flops::softmax_xent(B) + bwd_flops(B) + flops::sgd_update();
}
// Gather: read B*784 pixel bytes, write B*784 floats (+ labels).
double step_bytes(int B) {
  return B * (kImgPixels * (1 + F) + 2) + fwd_bytes(B) + softmax_bytes(B) + bwd_bytes(B) +
         sgd_bytes(B);
}

// The images the benchmarks run on. Kernel speed depends on the data (the
// ReLU and max-pool branches are far more predictable on MNIST's mostly
// black images than on uniform noise: naive conv_fwd and pool_bwd run ~2x
// slower on noise), so the benchmarks use the first kMaxImages real training
// images: $CNN_DATA_DIR, else <source>/data. Without the files they fall
// back to MNIST-like synthetic digits (thick random strokes on black), and
// the label says which ("data=mnist" / "data=synthetic").
constexpr int kMaxImages = 2048;

struct Images {
  Dataset set;
  bool real = false;
};

Dataset synthetic_digits(int n) {
  Dataset d;
  d.n = n;
  d.images.assign(std::size_t(n) * kImgPixels, 0);
  d.labels.resize(n);
  std::mt19937 gen(7);
  for (int i = 0; i < n; ++i) {
    d.labels[i] = std::uint8_t(gen() % 10);
    std::uint8_t* img = d.images.data() + std::size_t(i) * kImgPixels;
    // A random walk of a 3x3 brush inside the central 20x20 box.
    int y = 4 + int(gen() % 20), x = 4 + int(gen() % 20);
    for (int step = 0; step < 40; ++step) {
      y = std::clamp(y + int(gen() % 3) - 1, 5, 22);
      x = std::clamp(x + int(gen() % 3) - 1, 5, 22);
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          std::uint8_t& px = img[(y + dy) * kImgW + (x + dx)];
          px = std::max<std::uint8_t>(px, (dy || dx) ? std::uint8_t(128 + gen() % 100) : 255);
        }
    }
  }
  return d;
}

const Images& images() {
  static const Images im = [] {
    Images r;
    const char* env = std::getenv("CNN_DATA_DIR");
    const std::string dir = env && *env ? env : std::string(CNN_SOURCE_DIR) + "/data";
    try {
      Dataset all = load_mnist(dir, "train");
      const int n = std::min(all.n, kMaxImages);
      r.set.n = n;
      r.set.images.assign(all.images.begin(), all.images.begin() + std::size_t(n) * kImgPixels);
      r.set.labels.assign(all.labels.begin(), all.labels.begin() + n);
      r.real = n >= 256;  // a tiny test set cannot fill batch 256
    } catch (const std::exception&) {
    }
    if (!r.real) r.set = synthetic_digits(kMaxImages);
    return r;
  }();
  return im;
}

// Everything one benchmark touches, set up outside the timed loop: the
// parameters as initialised for seed 1 and the first batch of images().
struct Fixture {
  Fixture(const BackendInfo& info, const std::string& isa, int B) : B(B), ws(B) {
    BackendOptions opt;
    opt.threads = std::max(1, int(std::thread::hardware_concurrency()));
    opt.isa = isa;
    be = info.make(opt);
    be->prepare(B);
    Rng rng(1);
    init_params(p, rng);
    // train_step cycles through the images in a fixed shuffled order.
    const Dataset& data = images().set;
    order.resize(data.n);
    for (int i = 0; i < data.n; ++i) order[i] = std::uint32_t(i);
    std::shuffle(order.begin(), order.end(), std::mt19937(7));
    gather_batch(data, order.data(), B, ws.x.data(), ws.labels.data());
  }
  // One full pass, so that every intermediate buffer (winners, dlogits, ...)
  // holds consistent values and a backend that keeps state between steps
  // (simd: backward() must follow forward_train()) is in a valid one.
  void warm_up() {
    be->forward_train(B, p, ws);
    be->loss_grad(B, 1.0f / float(B), ws);
    be->backward(B, p, ws, g);
  }
  int B;
  std::unique_ptr<Backend> be;
  Params p, g;
  Workspace ws;
  std::vector<std::uint32_t> order;
  int next = 0;                   // train_step: start of the next batch in `order`
  const void* last_op = nullptr;  // the operation that ran last on this fixture
};

constexpr float kLr = 0.01f;

struct OpDef {
  const char* name;
  double (*flops)(int B);
  double (*bytes)(int B);
  void (*run)(Fixture& f);
};

void sgd_all(Backend& be, Params& p, const Params& g) {
  be.sgd_update(kLr, p.fc_w.data(), g.fc_w.data(), kFcWSize);
  be.sgd_update(kLr, p.fc_b.data(), g.fc_b.data(), kClasses);
  be.sgd_update(kLr, p.conv_w.data(), g.conv_w.data(), kConvWSize);
  be.sgd_update(kLr, p.conv_b.data(), g.conv_b.data(), kConvC);
}

const OpDef kOps[] = {
    // Primitives.
    {"conv_fwd", flops::conv_fwd, conv_fwd_bytes,
     [](Fixture& f) {
       f.be->conv_fwd(f.B, f.ws.x.data(), f.p.conv_w.data(), f.p.conv_b.data(), f.ws.act.data());
     }},
    {"pool_fwd", flops::pool_fwd, pool_fwd_bytes,
     [](Fixture& f) {
       f.be->pool_fwd(f.B, f.ws.act.data(), f.ws.pooled.data(), f.ws.winner.data());
     }},
    {"fc_fwd", flops::fc_fwd, fc_fwd_bytes,
     [](Fixture& f) {
       f.be->fc_fwd(f.B, f.ws.pooled.data(), f.p.fc_w.data(), f.p.fc_b.data(), f.ws.logits.data());
     }},
    {"softmax_xent", flops::softmax_xent, softmax_bytes,
     [](Fixture& f) {
       float loss = f.be->softmax_xent(f.B, f.ws.logits.data(), f.ws.labels.data(),
                                       1.0f / float(f.B), f.ws.probs.data(), f.ws.dlogits.data());
       benchmark::DoNotOptimize(loss);
     }},
    {"fc_bwd", flops::fc_bwd, fc_bwd_bytes,
     [](Fixture& f) {
       f.be->fc_bwd(f.B, f.ws.pooled.data(), f.p.fc_w.data(), f.ws.dlogits.data(), f.g.fc_w.data(),
                    f.g.fc_b.data(), f.ws.dpooled.data());
     }},
    {"pool_bwd", flops::pool_bwd, pool_bwd_bytes,
     [](Fixture& f) {
       f.be->pool_bwd(f.B, f.ws.dpooled.data(), f.ws.winner.data(), f.ws.act.data(),
                      f.ws.dact.data());
     }},
    {"conv_bwd", flops::conv_bwd, conv_bwd_bytes,
     [](Fixture& f) {
       f.be->conv_bwd(f.B, f.ws.x.data(), f.ws.dact.data(), f.g.conv_w.data(), f.g.conv_b.data());
     }},
    // Every parameter tensor, as one update step calls it.
    {"sgd_update", [](int) { return flops::sgd_update(); }, sgd_bytes,
     [](Fixture& f) { sgd_all(*f.be, f.p, f.g); }},
    // Composite steps, through the backend's own (possibly fused) overrides.
    {"forward_train", fwd_flops, fwd_bytes,
     [](Fixture& f) { f.be->forward_train(f.B, f.p, f.ws); }},
    {"forward_infer", fwd_flops, fwd_bytes,
     [](Fixture& f) { f.be->forward_infer(f.B, f.p, f.ws); }},
    {"loss_grad", flops::softmax_xent, softmax_bytes,
     [](Fixture& f) {
       float loss = f.be->loss_grad(f.B, 1.0f / float(f.B), f.ws);
       benchmark::DoNotOptimize(loss);
     }},
    {"backward", bwd_flops, bwd_bytes, [](Fixture& f) { f.be->backward(f.B, f.p, f.ws, f.g); }},
    {"update", [](int) { return flops::sgd_update(); }, sgd_bytes,
     [](Fixture& f) { f.be->update(kLr, f.p, f.g); }},
    // One whole training step as the trainer runs it, on the next batch.
    {"train_step", step_flops, step_bytes,
     [](Fixture& f) {
       const Dataset& data = images().set;
       if (f.next + f.B > data.n) f.next = 0;
       gather_batch(data, f.order.data() + f.next, f.B, f.ws.x.data(), f.ws.labels.data(),
                    f.be.get());
       f.next += f.B;
       float loss = f.be->train_step(f.B, kLr, f.p, f.ws, f.g);
       benchmark::DoNotOptimize(loss);
     }},
};

// One fixture at a time, kept while consecutive benchmarks share the
// configuration and batch size (they are registered grouped that way), so
// the set-up runs once per group rather than once per benchmark and per
// round of Google Benchmark's iteration-count search. Sharing is harmless:
// each benchmark starts with a warm-up pass that puts the buffers in a
// consistent state, and the drift of the parameters under update steps does
// not change the work.
Fixture& fixture(const BackendInfo& info, const std::string& cfg, const std::string& isa, int B) {
  static std::unique_ptr<Fixture> f;
  static std::string key;
  std::string k = cfg + "/" + std::to_string(B);
  if (!f || key != k) {
    f.reset();  // free the previous one first: at B=256 a fixture is ~20 MB
    f = std::make_unique<Fixture>(info, isa, B);
    key = k;
  }
  return *f;
}

void run_op(benchmark::State& state, const BackendInfo* info, std::string cfg, std::string isa,
            const OpDef* op, int B) {
  Fixture& f = fixture(*info, cfg, isa, B);
  // Google Benchmark calls this several times per benchmark while it picks
  // an iteration count; the state left by `op` is one `op` can run on again.
  if (f.last_op != op) f.warm_up();
  f.last_op = op;
  state.SetLabel(f.be->isa() + " threads=" + std::to_string(f.be->threads()) +
                 (images().real ? " data=mnist" : " data=synthetic"));
  for (auto _ : state) {
    op->run(f);
    benchmark::ClobberMemory();
  }
  const double it = double(state.iterations());
  state.counters["GFLOP/s"] =
      benchmark::Counter(op->flops(B) * it * 1e-9, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(std::int64_t(op->bytes(B) * it));
  state.SetItemsProcessed(std::int64_t(B) * state.iterations());
}

// Registered before main() runs: backend_registry() and the CPU probe are
// function-local statics, safe to use from a static initialiser.
int register_all() {
  for (const auto& info : backend_registry()) {
    // The default path (what `--backend NAME` runs) under the plain name,
    // every other path this CPU supports as NAME@isa.
    const std::string def = info.make(BackendOptions{})->isa();
    std::vector<std::pair<std::string, std::string>> configs = {{info.name, ""}};
    for (const auto& path : info.isa_paths())
      if (path != def) configs.push_back({info.name + "@" + path, path});
    for (const auto& [cfg, isa] : configs)
      for (int B : {1, 32, 256})
        for (const auto& op : kOps)
          benchmark::RegisterBenchmark(
              (std::string(op.name) + "/" + cfg + "/" + std::to_string(B)).c_str(), run_op, &info,
              cfg, isa, &op, B)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
  }
  return 0;
}
const int kRegistered = register_all();

}  // namespace
}  // namespace cnn
