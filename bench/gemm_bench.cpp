// The im2col backend's GEMM (kernels/im2col/gemm.h), per ISA path the CPU
// has: the square 256x256x256 product on one core (the target: at
// least half of the FMA peak measured by bench/peak_bench.cpp on the AVX2
// path), the same on all cores, and the network's own products at batch 32.
//   cnn_bench --benchmark_filter='gemm/'
// Names: gemm/<isa>/<MxNxK>[T..]/threads:<n>; GFLOP/s counts 2*M*N*K.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/im2col/gemm.h"

namespace cnn::bench {
namespace {

struct Shape {
  const char* what;
  bool ta, tb;
  int M, N, K;
};

// 256^3, then the products one training step of batch 32 runs on one thread
// (kernels/im2col/im2col.h; with more threads the FC ones are split by rows).
// conv_fwd reads B in place, conv_bwd takes the inner-product path.
const Shape kShapes[] = {
    {"square", false, false, 256, 256, 256},
    {"conv_fwd", false, false, 8, 784, 9},      // W (8,9) * P^T (9,784), per sample
    {"conv_bwd", false, true, 8, 10, 784},      // dact (8,784) * [P^T;1]^T, per sample
    {"fc_fwd", false, false, 32, 10, 1568},     // in (32,1568) * W (1568,10)
    {"fc_bwd_dw", true, false, 1568, 10, 32},   // in^T * d
    {"fc_bwd_din", false, true, 32, 1568, 10},  // d * W^T
};

void run_gemm(benchmark::State& state, std::string isa, Shape s, int threads) {
  gemm::Gemm gm(isa, threads);
  const int ar = s.ta ? s.K : s.M, ac = s.ta ? s.M : s.K;
  const int br = s.tb ? s.N : s.K, bc = s.tb ? s.K : s.N;
  std::vector<float> A(std::size_t(ar) * ac), B(std::size_t(br) * bc), C(std::size_t(s.M) * s.N);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (auto& v : A) v = d(rng);
  for (auto& v : B) v = d(rng);
  gemm::GemmArgs g;
  g.trans_a = s.ta;
  g.trans_b = s.tb;
  g.M = s.M;
  g.N = s.N;
  g.K = s.K;
  g.A = A.data();
  g.lda = ac;
  g.B = B.data();
  g.ldb = bc;
  g.C = C.data();
  g.ldc = s.N;
  state.SetLabel(gm.isa() + " " + s.what);
  for (auto _ : state) {
    gm(g);
    benchmark::ClobberMemory();
  }
  const double it = double(state.iterations());
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * s.M * s.N * s.K * it * 1e-9, benchmark::Counter::kIsRate);
  state.SetBytesProcessed(
      std::int64_t(4.0 * (double(s.M) * s.K + double(s.K) * s.N + double(s.M) * s.N) * it));
}

int register_all() {
  const int all = omp_get_num_procs();
  for (const auto& isa : supported_isa_paths())
    for (const auto& s : kShapes)
      for (int t : {1, all}) {
        if (t == all && (all == 1 || s.M * s.N < 4096)) continue;  // too small to thread
        std::string name = "gemm/" + isa + "/" + std::to_string(s.M) + "x" + std::to_string(s.N) +
                           "x" + std::to_string(s.K) + (s.ta ? "Ta" : "") + (s.tb ? "Tb" : "") +
                           "/threads:" + std::to_string(t);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), run_gemm, isa, s, t)
                      ->Unit(benchmark::kMicrosecond);
        if (t > 1) b->UseRealTime();
      }
  return 0;
}
const int kRegistered = register_all();

}  // namespace
}  // namespace cnn::bench
