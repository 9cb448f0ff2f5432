// Pixel byte -> network input: exactly byte / 255.0f (docs/reference.md,
// "Pixel scaling"), without a division or a table lookup per pixel, so that
// the conversion keeps pace with the kernels. With m = 257*i, i/255 =
// m/65535 = m*2^-16 * (1 + 2^-16 + 2^-32 + ...), so i/255 ~ i*kPixA +
// i*kPixBC with kPixA = 257*2^-16 (the product is exact) and kPixBC =
// fl(257*2^-32 + 257*2^-48); the one rounding of the sum gives exactly
// i / 255.0f for every i in 0..255. Because i*kPixA is exact, a fused
// multiply-add fma(i, kPixA, i*kPixBC) rounds the same way, so vector code
// may use either. pixel_formula_exact() checks all 256 values; were it ever
// false on some target, image_to_input falls back to a table and the simd
// backend stops reading raw bytes, so the input is byte / 255.0f either way.
// Dependency-free, so that per-ISA kernel files can include it.
#pragma once

#include <cstdint>

namespace cnn {

constexpr float kPixA = 257.0f / 65536.0f;
constexpr float kPixBC = kPixA / 65536.0f + kPixA / 65536.0f / 65536.0f;
inline float pixel_value(std::uint8_t v) {
  const float f = float(v);
  return f * kPixA + f * kPixBC;
}

// Whether pixel_value(i) == i / 255.0f for every byte i (computed once).
bool pixel_formula_exact();

// One image's kImgPixels bytes -> the network's input, exactly byte / 255.0f
// for every pixel (training, eval and predict all convert through this).
void image_to_input(const std::uint8_t* src, float* dst);

}  // namespace cnn
