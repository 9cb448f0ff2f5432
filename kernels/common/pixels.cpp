// The pixel conversion of kernels/common/pixels.h.
#include "kernels/common/pixels.h"

#include "kernels/shapes.h"

namespace cnn {

namespace {

struct PixelTable {
  float v[256];
  bool formula_exact = true;  // pixel_value(i) == i / 255.0f for every i
  PixelTable() {
    for (int i = 0; i < 256; ++i) {
      v[i] = float(i) / 255.0f;
      formula_exact = formula_exact && pixel_value(std::uint8_t(i)) == v[i];
    }
  }
};

const PixelTable& pixels() {
  static const PixelTable t;
  return t;
}

}  // namespace

bool pixel_formula_exact() { return pixels().formula_exact; }

void image_to_input(const std::uint8_t* src, float* dst) {
  const PixelTable& t = pixels();
  if (t.formula_exact)
    for (int k = 0; k < kImgPixels; ++k) dst[k] = pixel_value(src[k]);
  else
    for (int k = 0; k < kImgPixels; ++k) dst[k] = t.v[src[k]];
}

}  // namespace cnn
