// Vector traits for the NEON path: AArch64 Advanced SIMD, 4 fp32 lanes in a
// q register, predicates as all-ones / all-zeros lanes of a uint32x4 (the
// form the compares return and vbslq takes). Contract: vec_portable.h.
//
// The same four lanes as the portable path, but with the fused
// multiply-add (fmla/fmls, one rounding, like the AVX paths), a round
// instruction, and max/blend/bits/transposes in one or two instructions.
// max keeps the x86 semantics of the other paths (a > b ? a : b, so NaN in
// either gives b), not fmax's. 32 q registers: the kernels' blocking, written
// for 16, has room to spare.
//
// Include only from *_neon.cpp files (built on aarch64 targets only).
#pragma once

#include <arm_neon.h>

#include <cstdint>

namespace cnn::simd {

struct Neon {
  static constexpr int L = 4;
  using V = float32x4_t;
  using M = uint32x4_t;

  static V zero() { return vdupq_n_f32(0.0f); }
  static V set1(float a) { return vdupq_n_f32(a); }
  static V load(const float* p) { return vld1q_f32(p); }
  // L bytes -> L floats (exact: small whole numbers).
  static V load_u8(const std::uint8_t* p) {
    const float32x4_t r = {float(p[0]), float(p[1]), float(p[2]), float(p[3])};
    return r;
  }
  static void store(float* p, V v) { vst1q_f32(p, v); }
  static V loadn(const float* p, int n) {
    float t[L] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return vld1q_f32(t);
  }
  static void storen(float* p, V v, int n) {
    float t[L];
    vst1q_f32(t, v);
    for (int i = 0; i < n; ++i) p[i] = t[i];
  }

  static V add(V a, V b) { return vaddq_f32(a, b); }
  static V sub(V a, V b) { return vsubq_f32(a, b); }
  static V mul(V a, V b) { return vmulq_f32(a, b); }
  static V div(V a, V b) { return vdivq_f32(a, b); }
  static V max(V a, V b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  static V fnma(V a, V b, V c) { return vfmsq_f32(c, a, b); }
  static V in_reg(V a) { return a; }
  static V round(V a) { return vrndnq_f32(a); }  // to nearest, ties to even (as AVX)
  static V pow2i(V n) {
    const int32x4_t e = vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(e, 23));
  }

  static M gt(V a, V b) { return vcgtq_f32(a, b); }
  static M eq(V a, V b) { return vceqq_f32(a, b); }
  static V blend(M m, V a, V b) { return vbslq_f32(m, b, a); }
  static V maskz(M m, V a) { return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(a))); }
  static M mor(M a, M b) { return vorrq_u32(a, b); }
  static M mand(M a, M b) { return vandq_u32(a, b); }
  static M mandn(M a, M b) { return vbicq_u32(b, a); }  // ~a & b
  static M mnot(M a) { return vmvnq_u32(a); }
  static V bor(V a, V b) {
    return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
  }
  static bool nonzero(V a) { return vmaxvq_u32(vreinterpretq_u32_f32(a)) != 0; }
  static unsigned bits(M m) { return vaddvq_u32(vandq_u32(m, lane_bits())); }
  static M from_bits(unsigned b) { return vtstq_u32(vdupq_n_u32(b), lane_bits()); }

  // In-register transpose of the 4x4 block r[0..3]: 32-bit then 64-bit
  // interleaves (8 instructions).
  static void transpose(V* r) {
    const V t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
    const V t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
    r[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
    r[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
  }

 private:
  static M lane_bits() {
    static const std::uint32_t b[L] = {1, 2, 4, 8};
    return vld1q_u32(b);
  }
};

}  // namespace cnn::simd
