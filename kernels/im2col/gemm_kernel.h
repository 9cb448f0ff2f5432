// The GEMM micro-kernel interface (internal to kernels/im2col/gemm.cpp and
// the per-ISA kernel files). One micro-kernel call computes an MR x NR tile
// of C from a packed A micro-panel and a packed B micro-panel over one K
// block, then applies the epilogue while the tile is still in registers.
//
// Packed layouts (written by the packing routines in gemm.cpp, zero-padded
// past the valid rows/columns so the kernel never tests edges in its loop):
//   Ap (kc, MR)  Ap[k*MR + r] = op(A)[i0 + r][p0 + k]
//   Bp (kc, NR)  Bp[k*NR + j] = op(B)[p0 + k][j0 + j]
// A panels are padded to all MR rows; B panels only up to the next whole
// vector (vw floats): a kernel given n columns reads ceil(n/vw) vectors.
// Each ISA file fills one GemmKernel with its register tile and the cache
// blocks chosen for it (the reasons are stated next to the numbers).
#pragma once

namespace cnn::gemm {

// What happens to the tile after the K block's products are summed (acc):
//  first K block:  C = alpha*acc [+ beta*C if beta != 0] [+ row_bias[r]] [+ col_bias[j]]
//                  (with beta == 0 C is never read: it may hold garbage)
//  later K blocks: C = C + alpha*acc
//  relu (set only on the last K block): C = max(C, 0)
struct Epilogue {
  float alpha = 1.0f;
  float beta = 0.0f;
  const float* row_bias = nullptr;  // (m) for this tile's rows, or nullptr
  const float* col_bias = nullptr;  // (n) for this tile's columns, or nullptr
  bool first = true;
  bool relu = false;
};

// C (m, n) with row stride ldc, 1 <= m <= MR, 1 <= n <= NR; kc >= 0. B's k
// rows are ldbp floats apart: NR for a packed micro-panel, or the source's
// row stride when the driver lets the kernel read B in place (see gemm.cpp).
using MicroKernel = void (*)(int kc, const float* Ap, const float* Bp, long ldbp, float* C,
                             long ldc, int m, int n, const Epilogue& ep);

// Inner-product kernel, for products whose operands both run along K in
// memory (A (M,K) row-major and B stored as (N,K), i.e. trans_b): one
// dm x dn tile of C over the whole K, each output a dot product kept in a
// vector of partial sums and reduced once at the end. It needs no packing,
// which is what dominates a product with a small C and a long K (the
// convolution's weight gradient: (8,784) x (784,10)). Applies the epilogue
// of a first (and only) K block. C (m, n), 1 <= m <= dm, 1 <= n <= dn.
using DotKernel = void (*)(int K, const float* A, long lda, const float* B, long ldb, float* C,
                           long ldc, int m, int n, const Epilogue& ep);

struct GemmKernel {
  const char* isa;  // "avx512", "avx2", "neon", "portable"
  int mr, nr;       // register tile
  int vw;           // floats per vector column: B panels are zero-padded to a multiple of it
  int mc, kc, nc;   // cache blocks: A block (mc, kc) in L2, B micro-panel (kc, nr) in L1
  MicroKernel ukr;
  int dm, dn;  // inner-product tile
  DotKernel dot;
};

// Each defined in its own translation unit, compiled for its ISA. The AVX
// ones exist only on x86 (CNN_X86), the NEON one only on aarch64
// (CNN_AARCH64), and calling one is only legal when cpu_features() says the
// CPU has it.
#if CNN_X86
const GemmKernel& gemm_kernel_avx512();
const GemmKernel& gemm_kernel_avx2();
#endif
#if CNN_AARCH64
const GemmKernel& gemm_kernel_neon();
#endif
const GemmKernel& gemm_kernel_portable();

}  // namespace cnn::gemm
