// Vector traits for the AVX2 + FMA path: 8 fp32 lanes in a ymm register,
// predicates as all-ones / all-zeros lanes of a ymm register (the form
// vblendvps and vcmpps use). Contract: vec_portable.h.
//
// Include only from *_avx2.cpp files (compiled with -mavx2 -mfma); the type
// exists only there, so its inline members never mix with baseline code.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace cnn::simd {

struct Avx2 {
  static constexpr int L = 8;
  using V = __m256;
  using M = __m256;

  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float a) { return _mm256_set1_ps(a); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  // L bytes -> L floats (exact: small whole numbers).
  static V load_u8(const std::uint8_t* p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V loadn(const float* p, int n) { return _mm256_maskload_ps(p, first(n)); }
  static void storen(float* p, V v, int n) { _mm256_maskstore_ps(p, first(n), v); }

  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  // a, as a value of its own in a register (an empty asm hides where it
  // came from): see vec_portable.h.
  static V in_reg(V a) {
    asm("" : "+v"(a));
    return a;
  }
  static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V pow2i(V n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }

  static M gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static V blend(M m, V a, V b) { return _mm256_blendv_ps(a, b, m); }
  static V maskz(M m, V a) { return _mm256_and_ps(m, a); }
  static M mor(M a, M b) { return _mm256_or_ps(a, b); }
  static M mand(M a, M b) { return _mm256_and_ps(a, b); }
  static M mandn(M a, M b) { return _mm256_andnot_ps(a, b); }
  static M mnot(M a) { return _mm256_xor_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(-1))); }
  static V bor(V a, V b) { return _mm256_or_ps(a, b); }
  static bool nonzero(V a) {
    const __m256i i = _mm256_castps_si256(a);
    return !_mm256_testz_si256(i, i);
  }
  static unsigned bits(M m) { return unsigned(_mm256_movemask_ps(m)); }
  static M from_bits(unsigned b) {
    const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i v = _mm256_and_si256(_mm256_set1_epi32(int(b)), lane);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(v, lane));
  }

  // In-register transpose of the 8x8 block r[0..7] (24 shuffles).
  static void transpose(V* r) {
    V t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int k = 0; k < 4; ++k) {
      r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
      r[4 + k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
    }
  }

 private:
  static __m256i first(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};

}  // namespace cnn::simd
