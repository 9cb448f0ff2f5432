// A single-precision GEMM written for this project (no BLAS):
//
//   C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C  [+ row/column bias] [ReLU]
//
// row-major, op(X) = X or X^T. It follows the Goto/BLIS design: the K
// dimension is cut into blocks of KC, M into blocks of MC, N into blocks of
// NC; each block of B and of A is packed into contiguous, zero-padded
// micro-panels (NR and MR wide), and a register-tiled micro-kernel computes
// one MR x NR tile of C per call from one micro-panel of each. The sizes are
// chosen per ISA (for Zen 4's caches on x86; see the gemm_kernel_*.cpp files).
//
// Products with a small C and a long K whose operands both run along K
// (A (M,K), B stored (N,K): trans_b) skip packing and use an inner-product
// kernel instead (gemm_kernel.h; the condition is use_dot() in gemm.cpp).
//
// ISA paths: "avx512" (8x32 tile), "avx2" (AVX2+FMA, 4x24) on x86, "neon"
// (8x12) on aarch64, "portable" (4x8, generic 4-wide vectors: SSE2 on
// x86-64), each in its own translation unit, chosen at run time
// (kernels/common/cpu.h: choose_isa honours an explicit request, then the
// CNN_ISA environment variable, then the best the CPU has).
//
// Threads: operator() splits each packing step and the grid of C tiles over
// OpenMP threads; every C element is computed by one thread, over the same
// K blocks in the same order whatever the thread count, so the result is
// bit-identical for any number of threads. serial() runs on the calling
// thread with its own pack buffers, for callers that thread over many small
// products themselves (a batch of convolutions).
//
// All pack buffers are allocated when the Gemm object is made; no call
// allocates.
#pragma once

#include <string>

#include "kernels/buffer.h"
#include "kernels/im2col/gemm_kernel.h"

namespace cnn::gemm {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int M = 0, N = 0, K = 0;
  float alpha = 1.0f;
  // A: (M,K) with row stride lda, or (K,M) when trans_a.
  const float* A = nullptr;
  long lda = 0;
  // B: (K,N) with row stride ldb, or (N,K) when trans_b.
  const float* B = nullptr;
  long ldb = 0;
  // beta == 0: C is only written (never read), whatever it holds.
  float beta = 0.0f;
  float* C = nullptr;  // (M,N) with row stride ldc
  long ldc = 0;
  const float* row_bias = nullptr;  // (M) added to every row i, or nullptr
  const float* col_bias = nullptr;  // (N) added to every column j, or nullptr
  bool relu = false;                // clamp the result at 0
};

class Gemm {
 public:
  // isa: "" = choose_isa("") (the best, or CNN_ISA); else a supported path
  // (std::invalid_argument otherwise). threads >= 1: the OpenMP team size of
  // operator() and the number of serial() slots.
  Gemm(const std::string& isa, int threads);

  const std::string& isa() const { return isa_; }
  int threads() const { return threads_; }
  const GemmKernel& kernel() const { return *k_; }

  // Threaded product (opens its own OpenMP team, or runs on the caller when
  // the product is too small to pay for one).
  void operator()(const GemmArgs& g);
  // The same product on the calling thread, using pack slot `slot`
  // (0 <= slot < threads): safe to call concurrently with distinct slots.
  void serial(int slot, const GemmArgs& g);

 private:
  // tid/nt: this thread's index in the team working on the product.
  void run(const GemmArgs& g, float* ap, float* bp, int tid, int nt);

  std::string isa_;
  const GemmKernel* k_;
  int threads_;
  std::size_t a_slot_, b_slot_;  // floats per pack slot
  Buffer<float> a_pack_, b_pack_;
};

}  // namespace cnn::gemm
