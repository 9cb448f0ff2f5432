// Vector traits for the AVX-512 path: 16 fp32 lanes in a zmm register,
// predicates in opmask registers (one bit per lane). Every kernel template
// in this folder is written once against this interface (see vec_portable.h
// for the contract) and instantiated per ISA in its op_direction_isa.cpp.
//
// Include only from *_avx512.cpp files (compiled with the AVX-512 flags in
// kernels/CMakeLists.txt). Everything here is an inline member of a type that
// exists only in those files, so no AVX-512 code can be merged by the linker
// into a function that baseline code calls.
#pragma once

// GCC 12 warns about its own _mm512_undefined_ps() (a self-initialised
// variable) inside the shuffle intrinsics the transpose uses: not our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

namespace cnn::simd {

struct Avx512 {
  static constexpr int L = 16;
  using V = __m512;
  using M = __mmask16;

  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float a) { return _mm512_set1_ps(a); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  // L bytes -> L floats (exact: small whole numbers).
  static V load_u8(const std::uint8_t* p) {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  // The first n (0 <= n <= L) lanes; the others read as / are left untouched.
  static V loadn(const float* p, int n) { return _mm512_maskz_loadu_ps(first(n), p); }
  static void storen(float* p, V v, int n) { _mm512_mask_storeu_ps(p, first(n), v); }

  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }    // a*b + c
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a*b
  // a, as a value of its own in a register (an empty asm hides where it
  // came from): see vec_portable.h.
  static V in_reg(V a) {
    asm("" : "+v"(a));
    return a;
  }
  static V round(V a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integer-valued n in [-126, 127].
  static V pow2i(V n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }

  static M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static V blend(M m, V a, V b) { return _mm512_mask_blend_ps(m, a, b); }  // m ? b : a
  static V maskz(M m, V a) { return _mm512_maskz_mov_ps(m, a); }           // m ? a : 0
  static M mor(M a, M b) { return M(a | b); }
  static M mand(M a, M b) { return M(a & b); }
  static M mandn(M a, M b) { return M(~a & b); }
  static M mnot(M a) { return M(~a); }
  static V bor(V a, V b) {
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
  }
  static bool nonzero(V a) {
    const __m512i i = _mm512_castps_si512(a);
    return _mm512_test_epi32_mask(i, i) != 0;
  }
  static unsigned bits(M m) { return m; }
  static M from_bits(unsigned b) { return M(b); }

  // 16 rows of 16 bytes (row l at p[l] + off) -> r[k] = byte k of every row as
  // floats (exact whole numbers), lane l = row l: load_u8 of each row and
  // transpose() would do the same with 80 shuffle-port operations, this takes
  // 8. Four rows per zmm, one per 128-bit block, chosen so that after the
  // in-block 4x4 dword transposes (unpacks) dword l of w[c] holds bytes
  // 4c..4c+3 of row l; shifts and masks then take each byte out of its dword.
  static void load_u8_transposed(const std::uint8_t* const* p, int off, V* r) {
    auto row = [&](int l) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p[l] + off)); };
    __m512i z[4];
    for (int a = 0; a < 4; ++a) {  // z[a], block b = row 4b + a
      __m512i v = _mm512_castsi128_si512(row(a));
      v = _mm512_inserti32x4(v, row(4 + a), 1);
      v = _mm512_inserti32x4(v, row(8 + a), 2);
      z[a] = _mm512_inserti32x4(v, row(12 + a), 3);
    }
    const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    const __m512i w[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                          _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};
    const __m512i ff = _mm512_set1_epi32(0xFF);
    for (int c = 0; c < 4; ++c) {
      r[4 * c] = _mm512_cvtepi32_ps(_mm512_and_si512(w[c], ff));
      r[4 * c + 1] = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(w[c], 8), ff));
      r[4 * c + 2] = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(w[c], 16), ff));
      r[4 * c + 3] = _mm512_cvtepi32_ps(_mm512_srli_epi32(w[c], 24));
    }
  }

  // In-register transpose of the 16x16 block r[0..15] (row i, lane j) ->
  // r[j] holds former lane j of every row: unpack pairs, 4x4 shuffles inside
  // 128-bit blocks, then two rounds of 128-bit block shuffles (64 shuffles).
  static void transpose(V* r) {
    V t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
      u[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
      u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
      u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    // u[4g + k] holds column k (+4, +8, +12 in its other blocks) of rows 4g..4g+3.
    for (int k = 0; k < 4; ++k) {
      t[k] = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);      // cols k, k+8 of rows 0-7
      t[4 + k] = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);  // cols k+4, k+12 of rows 0-7
      t[8 + k] = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
      t[12 + k] = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
    }
    for (int k = 0; k < 4; ++k) {
      r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
      r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xDD);
      r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88);
      r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xDD);
    }
  }

 private:
  static __mmask16 first(int n) { return __mmask16((1u << n) - 1u); }
};

}  // namespace cnn::simd
