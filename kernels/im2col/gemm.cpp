// The GEMM driver: ISA dispatch, packing and the blocked loop nest around the
// micro-kernel (kernels/im2col/gemm.h). Built for the baseline target; the
// only ISA-specific code is the micro-kernel behind a function pointer.
//
// Loop nest (Goto/BLIS order), for each thread's share:
//   jc over N in steps of NC         B block (KC, NC) -> L3
//     kb over K in KC-sized blocks   (balanced: ceil(K/KC) blocks of ~equal size)
//       pack B (kc, nc) into NR-wide micro-panels       [split over threads]
//       ic over M in steps of MC
//         pack A (mc, kc) into MR-wide micro-panels     [split over threads]
//         barrier
//         tiles (jr, ir) of the (mc, nc) block          [split over threads]
//           micro-kernel: C tile (MR, NR) (+)= Ap(ir) * Bp(jr)
//         barrier
// Tiles are numbered jr-major and split into contiguous ranges, so a thread
// keeps one B micro-panel in L1 while it sweeps the A micro-panels. K is
// never split between threads: each C element is summed by one thread over
// the same blocks in the same order, whatever the thread count.
// Three shortcuts, each chosen from the shape alone (never from the thread
// count), see run():
//  - a small threaded product packs all its K blocks at once and meets at
//    one barrier instead of two per block (the same arithmetic);
//  - B is read in place, unpacked, when packing would only copy it;
//  - A * B^T with a small C and a long K uses the inner-product kernel.
#include "kernels/im2col/gemm.h"

#if CNN_X86
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <stdexcept>

#include "kernels/common/cpu.h"
#include "kernels/common/parallel.h"

namespace cnn::gemm {

namespace {

// Products below this many FLOPs run on the calling thread: a fork/join and
// the barriers of one K block cost a few microseconds, as much as the
// product itself at a few GFLOP.
constexpr double kParallelMinFlops = 1 << 19;

const GemmKernel& kernel_for(const std::string& isa) {
#if CNN_X86
  if (isa == "avx512") return gemm_kernel_avx512();
  if (isa == "avx2") return gemm_kernel_avx2();
#endif
#if CNN_AARCH64
  if (isa == "neon") return gemm_kernel_neon();
#endif
  if (isa == "portable") return gemm_kernel_portable();
  throw std::invalid_argument("gemm: no micro-kernel for the ISA path '" + isa + "' in this build");
}

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// The longest K block of any kernel (the transposing pack's zero row).
constexpr int kMaxKc = 256;

#if CNN_X86
alignas(64) const float kZeros[kMaxKc] = {};

// pack_panel's transpose, for panel rows i contiguous over k in the source
// (sp == 1, kc <= kMaxKc): 4x4 blocks with SSE (baseline x86-64): 4 row
// loads, 4 shuffles into columns, 4 stores of 4 consecutive i at stride R.
// Rows past iv (up to the padded width ip, a multiple of 4) read a zero row
// instead.
template <int R>
void pack_panel_transpose(const float* src, long si, int iv, int ip, int kc, float* dst) {
  for (int i = 0; i < ip; i += 4) {
    const float* s[4];
    for (int q = 0; q < 4; ++q) s[q] = i + q < iv ? src + (i + q) * si : kZeros;
    float* d = dst + i;
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 r0 = _mm_loadu_ps(s[0] + k), r1 = _mm_loadu_ps(s[1] + k);
      __m128 r2 = _mm_loadu_ps(s[2] + k), r3 = _mm_loadu_ps(s[3] + k);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(d + (k + 0) * R, r0);
      _mm_storeu_ps(d + (k + 1) * R, r1);
      _mm_storeu_ps(d + (k + 2) * R, r2);
      _mm_storeu_ps(d + (k + 3) * R, r3);
    }
    for (; k < kc; ++k)
      for (int q = 0; q < 4; ++q) d[k * R + q] = s[q][k];
  }
}
#endif

// Packs an R-wide micro-panel: dst (kc, R), dst[k*R + i] = src[i*si + k*sp]
// for i < iv, zero for iv <= i < ip (the padded width, <= R); columns past
// ip are never read.
template <int R>
void pack_panel(const float* src, long si, long sp, int iv, int ip, int kc, float* dst) {
  if (si == 1) {
    // Panel rows are contiguous in the source: straight copies (a fixed
    // R-float copy for full panels, which the compiler vectorises).
    for (int k = 0; k < kc; ++k) {
      const float* s = src + k * sp;
      float* d = dst + k * R;
      if (iv == R) {
        for (int i = 0; i < R; ++i) d[i] = s[i];
      } else {
        int i = 0;
        for (; i < iv; ++i) d[i] = s[i];
        for (; i < ip; ++i) d[i] = 0.0f;
      }
    }
    return;
  }
#if CNN_X86
  if (sp == 1 && kc <= kMaxKc) return pack_panel_transpose<R>(src, si, iv, ip, kc, dst);
#endif
  for (int i = 0; i < iv; ++i)
    for (int k = 0; k < kc; ++k) dst[k * R + i] = src[i * si + k * sp];
  for (int i = iv; i < ip; ++i)
    for (int k = 0; k < kc; ++k) dst[k * R + i] = 0.0f;
}

void pack(int R, const float* src, long si, long sp, int iv, int ip, int kc, float* dst) {
  switch (R) {
    case 4:
      return pack_panel<4>(src, si, sp, iv, ip, kc, dst);
    case 8:
      return pack_panel<8>(src, si, sp, iv, ip, kc, dst);
    case 12:
      return pack_panel<12>(src, si, sp, iv, ip, kc, dst);
    case 24:
      return pack_panel<24>(src, si, sp, iv, ip, kc, dst);
    case 32:
      return pack_panel<32>(src, si, sp, iv, ip, kc, dst);
    default:
      throw std::logic_error("gemm: no packing routine for panel width " + std::to_string(R));
  }
}

// The inner-product path: A (M,K) and B stored (N,K), both read along K;
// taken when K is long enough to amortise each output's final reduction
// (K >= 64) and C small enough (M*N <= 4096) that packing the operands would
// cost more than the products (a packed GEMM re-reads each operand only
// ceil(M/MR) or ceil(N/NR) times).
inline bool use_dot(const GemmArgs& g) {
  return !g.trans_a && g.trans_b && g.K >= 64 && double(g.M) * g.N <= 4096.0;
}

// One K block: rows [p0, p0 + kc) of op(B), columns of op(A); kb counts
// from 0.
struct KBlock {
  int kb, p0, kc;
};

// One product as the loop nests see it: both operands as strides, its K
// blocks, and the packing of one micro-panel and the computing of one C
// tile in those terms. Made once per call; every loop nest below is a
// different order of the same pack_a/pack_b/tile steps.
struct Product {
  Product(const GemmArgs& args, const GemmKernel& kernel)
      : g(args),
        kr(kernel),
        MR(kr.mr),
        NR(kr.nr),
        M(g.M),
        N(g.N),
        K(std::max(g.K, 0)),
        a_i(g.trans_a ? 1 : g.lda),
        a_p(g.trans_a ? g.lda : 1),
        b_j(g.trans_b ? g.ldb : 1),
        b_p(g.trans_b ? 1 : g.ldb),
        nkb(std::max(1, ceil_div(K, kr.kc))),
        direct_b(!g.trans_b && N % kr.vw == 0 && ceil_div(M, MR) <= 2) {}

  const GemmArgs& g;
  const GemmKernel& kr;
  const int MR, NR, M, N, K;
  // op(A)(i, p) = A[i*a_i + p*a_p]; op(B)(p, j) = B[p*b_p + j*b_j].
  const long a_i, a_p, b_j, b_p;
  // K is cut into nkb balanced blocks of at most KC: ceil(K/KC) blocks of
  // about equal size.
  const int nkb;
  // B read in place instead of packed: when it is stored row-major (no
  // transpose) and every panel holds whole vectors (N a multiple of the
  // vector width, so no read runs past a row), and at most two rows of A
  // panels use each B panel. Packing then only copies what the kernel would
  // read once or twice anyway: the convolution's (8,9) x (9,784) product.
  const bool direct_b;

  KBlock kblock(int kb) const {
    const int p0 = int(long(K) * kb / nkb), p1 = int(long(K) * (kb + 1) / nkb);
    return {kb, p0, p1 - p0};
  }
  // Micro-panel jp of B's nc columns from j0, over K block k.
  void pack_b(int j0, int nc, int jp, const KBlock& k, float* dst) const {
    const int nv = std::min(NR, nc - jp * NR);
    pack(NR, g.B + k.p0 * b_p + (j0 + jp * NR) * b_j, b_j, b_p, nv,
         std::min(NR, ceil_div(nv, kr.vw) * kr.vw), k.kc, dst);
  }
  // Micro-panel ip of A's mc rows from i0, over K block k.
  void pack_a(int i0, int mc, int ip, const KBlock& k, float* dst) const {
    pack(MR, g.A + (i0 + ip * MR) * a_i + k.p0 * a_p, a_i, a_p, std::min(MR, mc - ip * MR), MR,
         k.kc, dst);
  }
  // C tile at (i0, j0) (+)= K block k of the product; bpan is a packed panel
  // (row stride NR), ignored when B is read in place.
  void tile(const KBlock& k, const float* apan, const float* bpan, int i0, int j0) const {
    Epilogue ep;
    ep.alpha = g.alpha;
    ep.beta = g.beta;
    ep.first = k.kb == 0;
    ep.relu = g.relu && k.kb == nkb - 1;
    ep.row_bias = g.row_bias && ep.first ? g.row_bias + i0 : nullptr;
    ep.col_bias = g.col_bias && ep.first ? g.col_bias + j0 : nullptr;
    const long ldbp = direct_b ? g.ldb : NR;
    if (direct_b) bpan = g.B + k.p0 * g.ldb + j0;
    kr.ukr(k.kc, apan, bpan, ldbp, g.C + i0 * g.ldc + j0, g.ldc, std::min(MR, M - i0),
           std::min(NR, N - j0), ep);
  }
};

// Both operands contiguous along a long K and a small C: inner products
// straight from the source rows, no packing (see gemm_kernel.h). Tiles are
// independent: no barrier.
void run_dot(const Product& p, int tid, int nt) {
  const GemmArgs& g = p.g;
  const GemmKernel& kr = p.kr;
  const int tm = ceil_div(p.M, kr.dm), tn = ceil_div(p.N, kr.dn);
  const par::Range share = par::split_range(tm * tn, tid, nt);
  for (int t = share.begin; t < share.end; ++t) {
    const int i0 = (t / tn) * kr.dm, j0 = (t % tn) * kr.dn;
    Epilogue ep;
    ep.alpha = g.alpha;
    ep.beta = g.beta;
    ep.relu = g.relu;
    ep.row_bias = g.row_bias ? g.row_bias + i0 : nullptr;
    ep.col_bias = g.col_bias ? g.col_bias + j0 : nullptr;
    kr.dot(p.K, g.A + i0 * g.lda, g.lda, g.B + j0 * g.ldb, g.ldb, g.C + i0 * g.ldc + j0, g.ldc,
           std::min(kr.dm, p.M - i0), std::min(kr.dn, p.N - j0), ep);
  }
}

// Whether one block covers the whole product and every K block of A and B
// fits the pack buffers (a_slot, b_slot floats) at once.
bool fits_at_once(const Product& p, std::size_t a_slot, std::size_t b_slot) {
  return p.M <= p.kr.mc && p.N <= p.kr.nc &&
         std::size_t(ceil_div(p.M, p.MR)) * p.MR * p.K <= a_slot &&
         std::size_t(ceil_div(p.N, p.NR)) * p.NR * p.K <= b_slot;
}

// Small threaded product (fits_at_once): pack every K block of A and B in
// one pass and meet at a single barrier, instead of two barriers per K block
// (a 32x10x1568 product would otherwise wait at 26). Each tile then runs its
// K blocks in the usual order with the usual block sizes: the same bits as
// run_blocked. Block kb's panels start at (panel count) * width * p0.
void run_at_once(const Product& p, float* ap, float* bp, int tid, int nt) {
  const int MR = p.MR, NR = p.NR, mp = ceil_div(p.M, MR), np = ceil_div(p.N, NR);
  auto a_panel = [&](const KBlock& k, int ip) {
    return ap + std::size_t(mp) * MR * k.p0 + std::size_t(ip) * MR * k.kc;
  };
  auto b_panel = [&](const KBlock& k, int jp) {
    return bp + std::size_t(np) * NR * k.p0 + std::size_t(jp) * NR * k.kc;
  };
  const par::Range packs = par::split_range(p.nkb * (np + mp), tid, nt);
  for (int w = packs.begin; w < packs.end; ++w) {
    const KBlock k = p.kblock(w / (np + mp));
    const int r = w % (np + mp);
    if (r < np) {
      if (!p.direct_b) p.pack_b(0, p.N, r, k, b_panel(k, r));
    } else {
      p.pack_a(0, p.M, r - np, k, a_panel(k, r - np));
    }
  }
#pragma omp barrier
  const par::Range tiles = par::split_range(np * mp, tid, nt);
  for (int t = tiles.begin; t < tiles.end; ++t) {
    const int jp = t / mp, ip = t % mp;
    for (int kb = 0; kb < p.nkb; ++kb) {
      const KBlock k = p.kblock(kb);
      p.tile(k, a_panel(k, ip), b_panel(k, jp), ip * MR, jp * NR);
    }
  }
}

// The (mc, kc) block of A at rows ic times the packed (kc, nc) block of B at
// columns jc, over K block k: pack the A block, then every tile of the
// (mc, nc) block, numbered jr-major so a thread keeps one B micro-panel in
// L1 while it sweeps the A micro-panels.
void multiply_block(const Product& p, const KBlock& k, int ic, int jc, int nc, float* ap,
                    const float* bp, int tid, int nt) {
  const int MR = p.MR, NR = p.NR;
  const int mc = std::min(p.kr.mc, p.M - ic), mp = ceil_div(mc, MR), np = ceil_div(nc, NR);
  const par::Range packs = par::split_range(mp, tid, nt);
  for (int ip = packs.begin; ip < packs.end; ++ip)
    p.pack_a(ic, mc, ip, k, ap + std::size_t(ip) * MR * k.kc);
  if (nt > 1) {
#pragma omp barrier
  }
  const par::Range tiles = par::split_range(np * mp, tid, nt);
  for (int t = tiles.begin; t < tiles.end; ++t) {
    const int jp = t / mp, ip = t % mp;
    p.tile(k, ap + std::size_t(ip) * MR * k.kc, bp + std::size_t(jp) * NR * k.kc, ic + ip * MR,
           jc + jp * NR);
  }
  if (nt > 1) {
#pragma omp barrier
  }
}

// The Goto/BLIS loop nest (see the top of this file): N in blocks of NC,
// K in blocks, B packed once per (jc, K block), then M in blocks of MC.
void run_blocked(const Product& p, float* ap, float* bp, int tid, int nt) {
  const int NR = p.NR;
  for (int jc = 0; jc < p.N; jc += p.kr.nc) {
    const int nc = std::min(p.kr.nc, p.N - jc), np = ceil_div(nc, NR);
    for (int kb = 0; kb < p.nkb; ++kb) {
      const KBlock k = p.kblock(kb);
      const par::Range packs = par::split_range(np, tid, nt);
      if (!p.direct_b)
        for (int jp = packs.begin; jp < packs.end; ++jp)
          p.pack_b(jc, nc, jp, k, bp + std::size_t(jp) * NR * k.kc);
      for (int ic = 0; ic < p.M; ic += p.kr.mc) multiply_block(p, k, ic, jc, nc, ap, bp, tid, nt);
    }
  }
}

}  // namespace

Gemm::Gemm(const std::string& isa, int threads)
    : isa_(choose_isa(isa)), k_(&kernel_for(isa_)), threads_(std::max(1, threads)) {
  if (k_->kc > kMaxKc) throw std::logic_error("gemm: KC above kMaxKc (the zero row)");
  a_slot_ = std::size_t(ceil_div(k_->mc, k_->mr)) * k_->mr * k_->kc;
  b_slot_ = std::size_t(ceil_div(k_->nc, k_->nr)) * k_->nr * k_->kc;
  a_pack_.resize(a_slot_ * threads_);
  b_pack_.resize(b_slot_ * threads_);
}

void Gemm::operator()(const GemmArgs& g) {
  if (g.M <= 0 || g.N <= 0) return;
  const double flops = 2.0 * g.M * g.N * std::max(g.K, 1);
  const int tiles = ceil_div(g.M, k_->mr) * ceil_div(std::min(g.N, k_->nc), k_->nr);
  if (threads_ == 1 || flops < kParallelMinFlops || tiles < 2) {
    run(g, a_pack_.data(), b_pack_.data(), 0, 1);
    return;
  }
  // The team runs in the caller's floating-point mode (flush-to-zero or
  // not): MXCSR is per thread and pool threads do not inherit it.
  par::omp_region(threads_, par::ftz_enabled(),
                  [&](int tid, int nt) { run(g, a_pack_.data(), b_pack_.data(), tid, nt); });
}

void Gemm::serial(int slot, const GemmArgs& g) {
  if (slot < 0 || slot >= threads_)
    throw std::out_of_range("gemm: serial slot " + std::to_string(slot) + " outside 0.." +
                            std::to_string(threads_ - 1));
  if (g.M <= 0 || g.N <= 0) return;
  run(g, a_pack_.data() + slot * a_slot_, b_pack_.data() + slot * b_slot_, 0, 1);
}

// The three shortcuts of the top of this file are chosen here, from the
// shape alone (the thread count only decides whether to meet at barriers).
void Gemm::run(const GemmArgs& g, float* ap, float* bp, int tid, int nt) {
  const Product p(g, *k_);
  if (use_dot(g))
    run_dot(p, tid, nt);
  else if (nt > 1 && fits_at_once(p, a_slot_, b_slot_))
    run_at_once(p, ap, bp, tid, nt);
  else
    run_blocked(p, ap, bp, tid, nt);
}

}  // namespace cnn::gemm
