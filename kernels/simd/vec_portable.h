// Vector traits for the portable path: no intrinsics and no target flags.
// With GCC or Clang the vector is a generic vector type (vector_size(16)),
// whose lane-wise operators the compiler maps onto whatever the target has
// (SSE2 on baseline x86-64, NEON on AArch64, scalar code elsewhere); other
// compilers get plain arrays with element-wise loops. (Plain arrays under
// GCC came out ~4x slower: it left the compares and selects scalar.) Four
// lanes: one SSE2/NEON register, so the kernels' register blocking (written
// for 16 or 32 vector registers) still fits.
//
// The contract every traits type (Avx512, Avx2, Portable) implements:
//   L                     lanes per vector
//   V, M                  a vector of L floats, a per-lane predicate
//   zero set1 load store  (unaligned) load/store of L floats
//   loadn storen          only the first n lanes (others read as 0 / untouched)
//   add sub mul div max   lane-wise
//   fma(a,b,c)            a*b + c (fused on the AVX paths, two roundings here)
//   fnma(a,b,c)           c - a*b
//   in_reg(a)             a, which the compiler must hold in a register of its
//                         own (a scheduling hint for the x86 paths: an FMA
//                         may then overwrite it instead of a copy of another
//                         operand; the identity elsewhere)
//   round pow2i           nearest integer; 2^n for integer n in [-126, 127]
//   gt eq                 predicates (ordered: false for NaN)
//   blend(m,a,b)          m ? b : a        maskz(m,a)   m ? a : 0
//   mor mand mandn mnot   predicate logic, mandn(a,b) = ~a & b
//   bor(a,b)              bitwise or of the lanes' bit patterns
//   nonzero(a)            whether any bit of any lane is set (-0.0f counts)
//   bits from_bits        predicate <-> integer with bit l for lane l
//   transpose(V r[L])     in-place L x L transpose (row i lane j -> row j lane i)
#pragma once

#include <cstdint>
#include <cstring>

namespace cnn::simd {

struct Portable {
  static constexpr int L = 4;
#if defined(__GNUC__) && !defined(CNN_PORTABLE_PLAIN_ARRAYS)
  // GCC/Clang generic vectors: lane-wise operators the compiler maps to
  // whatever vector unit the target has (or to scalar code if none).
  typedef float V __attribute__((vector_size(16)));
  typedef std::int32_t M __attribute__((vector_size(16)));  // all ones / zeros

  static V zero() { return V{0.0f, 0.0f, 0.0f, 0.0f}; }
  static V set1(float a) { return V{a, a, a, a}; }
  static V load(const float* p) {
    V r;
    std::memcpy(&r, p, sizeof r);
    return r;
  }
  static V load_u8(const std::uint8_t* p) {
    return V{float(p[0]), float(p[1]), float(p[2]), float(p[3])};
  }
  static void store(float* p, V a) { std::memcpy(p, &a, sizeof a); }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static M gt(V a, V b) { return a > b; }
  static M eq(V a, V b) { return a == b; }
  static V blend(M m, V a, V b) { return (V)((m & (M)b) | (~m & (M)a)); }
  static V maskz(M m, V a) { return (V)(m & (M)a); }
  static M mor(M a, M b) { return a | b; }
  static M mand(M a, M b) { return a & b; }
  static M mandn(M a, M b) { return ~a & b; }
  static M mnot(M a) { return ~a; }
  static V bor(V a, V b) { return (V)((M)a | (M)b); }
  static V pow2i(V n) { return (V)((__builtin_convertvector(n, M) + 127) << 23); }
  static M from_bits(unsigned b) {
    const std::int32_t x = std::int32_t(b);
    return (M{x, x, x, x} & M{1, 2, 4, 8}) != 0;
  }
  static void transpose(V* r) {
#if defined(__clang__)
#define CNN_SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define CNN_SHUF(a, b, i, j, k, l) __builtin_shuffle(a, b, M{i, j, k, l})
#endif
    const V t0 = CNN_SHUF(r[0], r[1], 0, 4, 1, 5), t1 = CNN_SHUF(r[0], r[1], 2, 6, 3, 7);
    const V t2 = CNN_SHUF(r[2], r[3], 0, 4, 1, 5), t3 = CNN_SHUF(r[2], r[3], 2, 6, 3, 7);
    r[0] = CNN_SHUF(t0, t2, 0, 1, 4, 5);
    r[1] = CNN_SHUF(t0, t2, 2, 3, 6, 7);
    r[2] = CNN_SHUF(t1, t3, 0, 1, 4, 5);
    r[3] = CNN_SHUF(t1, t3, 2, 3, 6, 7);
#undef CNN_SHUF
  }
#else
  // Any other compiler (or -DCNN_PORTABLE_PLAIN_ARRAYS, to test this
  // branch): plain arrays and element-wise loops.
  struct V {
    float v[L];
    float& operator[](int i) { return v[i]; }
    float operator[](int i) const { return v[i]; }
  };
  struct M {
    std::int32_t v[L];  // all ones or all zeros, like a vector compare
    std::int32_t& operator[](int i) { return v[i]; }
    std::int32_t operator[](int i) const { return v[i]; }
  };
#define CNN_PORTABLE_LANES(T, expr)          \
  T r;                                       \
  for (int i = 0; i < L; ++i) r[i] = (expr); \
  return r;
  static V zero() { return set1(0.0f); }
  static V set1(float a) { CNN_PORTABLE_LANES(V, a) }
  static V load(const float* p) { CNN_PORTABLE_LANES(V, p[i]) }
  static V load_u8(const std::uint8_t* p) { CNN_PORTABLE_LANES(V, float(p[i])) }
  static void store(float* p, V a) {
    for (int i = 0; i < L; ++i) p[i] = a[i];
  }
  static V add(V a, V b) { CNN_PORTABLE_LANES(V, a[i] + b[i]) }
  static V sub(V a, V b) { CNN_PORTABLE_LANES(V, a[i] - b[i]) }
  static V mul(V a, V b) { CNN_PORTABLE_LANES(V, a[i] * b[i]) }
  static V div(V a, V b) { CNN_PORTABLE_LANES(V, a[i] / b[i]) }
  static M gt(V a, V b) { CNN_PORTABLE_LANES(M, a[i] > b[i] ? -1 : 0) }
  static M eq(V a, V b) { CNN_PORTABLE_LANES(M, a[i] == b[i] ? -1 : 0) }
  static V blend(M m, V a, V b) { CNN_PORTABLE_LANES(V, m[i] ? b[i] : a[i]) }
  static V maskz(M m, V a) { CNN_PORTABLE_LANES(V, m[i] ? a[i] : 0.0f) }
  static M mor(M a, M b) { CNN_PORTABLE_LANES(M, a[i] | b[i]) }
  static M mand(M a, M b) { CNN_PORTABLE_LANES(M, a[i] & b[i]) }
  static M mandn(M a, M b) { CNN_PORTABLE_LANES(M, ~a[i] & b[i]) }
  static M mnot(M a) { CNN_PORTABLE_LANES(M, ~a[i]) }
  static V bor(V a, V b) {
    V r;
    for (int i = 0; i < L; ++i) {
      std::uint32_t x, y;
      std::memcpy(&x, &a[i], 4);
      std::memcpy(&y, &b[i], 4);
      x |= y;
      std::memcpy(&r[i], &x, 4);
    }
    return r;
  }
  static V pow2i(V n) {
    V r;
    for (int i = 0; i < L; ++i) {
      const std::uint32_t b = std::uint32_t(int(n[i]) + 127) << 23;
      std::memcpy(&r[i], &b, 4);
    }
    return r;
  }
  static M from_bits(unsigned b) { CNN_PORTABLE_LANES(M, (b >> i) & 1u ? -1 : 0) }
  static void transpose(V* r) {
    for (int i = 0; i < L; ++i)
      for (int j = i + 1; j < L; ++j) {
        const float t = r[i][j];
        r[i][j] = r[j][i];
        r[j][i] = t;
      }
  }
#undef CNN_PORTABLE_LANES
#endif

  // Common to both representations (lane access by operator[]).
  static V loadn(const float* p, int n) {
    V r = zero();
    for (int i = 0; i < n; ++i) r[i] = p[i];
    return r;
  }
  static void storen(float* p, V a, int n) {
    for (int i = 0; i < n; ++i) p[i] = a[i];
  }
  static V max(V a, V b) { return blend(gt(a, b), b, a); }  // a > b ? a : b
  static V fma(V a, V b, V c) { return add(mul(a, b), c); }
  static V fnma(V a, V b, V c) { return sub(c, mul(a, b)); }
  static V in_reg(V a) { return a; }
  static bool nonzero(V a) {
    std::uint32_t any = 0;
    for (int i = 0; i < L; ++i) {
      std::uint32_t x;
      const float f = a[i];
      std::memcpy(&x, &f, 4);
      any |= x;
    }
    return any != 0;
  }
  // Round to nearest by the 1.5*2^23 trick (exact for |a| < 2^22, the range
  // the exponential uses; not folded away without fast-math flags).
  static V round(V a) { return sub(add(a, set1(12582912.0f)), set1(12582912.0f)); }
  static unsigned bits(M m) {
    unsigned b = 0;
    for (int i = 0; i < L; ++i) b |= unsigned(m[i] & 1) << i;
    return b;
  }
};

}  // namespace cnn::simd
