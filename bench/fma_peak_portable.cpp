// The compute roof of the portable ISA path (tools/roofline.py): the
// multiply-add rate of baseline code, the flags every non-ISA file of the
// project is built with. peak_bench.cpp measures the FMA peak of each vector
// ISA from files built with that ISA's flags; this is the same measurement
// for code built without them: on x86 that is SSE2, 4 lanes, a multiply and
// an add per element (no FMA), on AArch64 the compiler's fused NEON form.
//   cnn_bench --benchmark_filter=fma_peak/portable
// peak_bench.cpp registers it beside the vector ISAs' loops, as
// fma_peak/portable/threads:<n>, counter GFLOP/s.

namespace cnn::bench {
namespace {

// 12 independent accumulators of 4 lanes: as many 128-bit registers as SSE2
// has to spare (16 minus the two constants), enough to cover the
// multiply-then-add latency on two pipes.
constexpr int kAcc = 48;

__attribute__((noinline)) double mul_add_loop(long iters) {
  float acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = 0.001f * float(i);
  const float a = 0.999f, b = 0.001f;
  for (long it = 0; it < iters; ++it) {
#pragma omp simd
    for (int i = 0; i < kAcc; ++i) acc[i] = acc[i] * a + b;
  }
  float s = 0;
  for (int i = 0; i < kAcc; ++i) s += acc[i];
  return double(s);
}

}  // namespace

double fma_peak_portable(long iters) { return mul_add_loop(iters); }
double fma_peak_portable_flops_per_iter() { return 2.0 * kAcc; }

}  // namespace cnn::bench
