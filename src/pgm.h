// PGM (netpbm greyscale) reader for `predict`: P5 (binary) and P2 (ASCII),
// any maxval 1..65535 (two big-endian bytes per sample above 255, as netpbm
// says), '#' comments in the header. The image must have the size the
// caller asks for: a wrong size is an error, never a silent resize.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cnn {

struct PgmImage {
  int width = 0, height = 0, maxval = 0;
  std::vector<std::uint16_t> pixels;  // (height, width), each <= maxval
};

// Throws DataError (src/mnist.h) with a one-line message naming the file
// for anything malformed, truncated or of another size than want_w x want_h.
PgmImage read_pgm(const std::string& path, int want_w, int want_h);

// Pixels scaled to [0, 1] as v / maxval in f32; for maxval 255 this is
// exactly the training input byte / 255.0f.
std::vector<float> pgm_to_input(const PgmImage& img);

}  // namespace cnn
