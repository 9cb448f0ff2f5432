// PGM reader: a small tokenizer over the whole file (images here are tiny).
#include "src/pgm.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "src/mnist.h"

namespace cnn {

namespace {

class Parser {
 public:
  Parser(std::string path, std::vector<std::uint8_t> bytes)
      : path_(std::move(path)), b_(std::move(bytes)) {}

  [[noreturn]] void fail(const std::string& msg) const { throw DataError(path_ + ": " + msg); }

  // Skips whitespace and '#' comments (to the end of the line).
  void skip_space() {
    while (pos_ < b_.size()) {
      if (b_[pos_] == '#') {
        while (pos_ < b_.size() && b_[pos_] != '\n' && b_[pos_] != '\r') ++pos_;
      } else if (std::isspace(b_[pos_])) {
        ++pos_;
      } else {
        break;
      }
    }
  }
  // A decimal number; `what` names it in errors. Returns -1 at end of file.
  long number(const char* what) {
    skip_space();
    if (pos_ >= b_.size()) return -1;
    if (!std::isdigit(b_[pos_]))
      fail(std::string("malformed PGM: expected a number for the ") + what + ", found '" +
           char(b_[pos_]) + "'");
    long v = 0;
    while (pos_ < b_.size() && std::isdigit(b_[pos_])) {
      v = v * 10 + (b_[pos_++] - '0');
      if (v > 1000000) fail(std::string("malformed PGM: the ") + what + " is too large");
    }
    return v;
  }
  long header_number(const char* what) {
    long v = number(what);
    if (v < 0) fail(std::string("truncated PGM header: no ") + what);
    return v;
  }

  PgmImage parse(int want_w, int want_h) {
    if (b_.size() < 2 || b_[0] != 'P' || (b_[1] != '5' && b_[1] != '2'))
      fail("not a PGM image (expected the magic P5 or P2)");
    const bool binary = b_[1] == '5';
    pos_ = 2;
    if (pos_ < b_.size() && !std::isspace(b_[pos_]) && b_[pos_] != '#')
      fail("not a PGM image (expected the magic P5 or P2)");
    PgmImage img;
    img.width = int(header_number("width"));
    img.height = int(header_number("height"));
    img.maxval = int(header_number("maxval"));
    if (img.maxval < 1 || img.maxval > 65535)
      fail("PGM maxval " + std::to_string(img.maxval) + " is outside 1..65535");
    if (img.width != want_w || img.height != want_h)
      fail("image is " + std::to_string(img.width) + "x" + std::to_string(img.height) +
           "; the model takes " + std::to_string(want_w) + "x" + std::to_string(want_h) +
           " images (no resizing is done)");
    img.pixels.resize(std::size_t(img.width) * std::size_t(img.height));
    if (binary)
      binary_raster(img);
    else
      ascii_raster(img);
    return img;
  }

 private:
  // P5: one or two bytes per pixel after exactly one whitespace byte.
  void binary_raster(PgmImage& img) {
    const std::size_t count = img.pixels.size();
    if (pos_ >= b_.size() || !std::isspace(b_[pos_])) fail("truncated PGM: no pixel data");
    ++pos_;
    const std::size_t bps = img.maxval > 255 ? 2 : 1;
    if (b_.size() - pos_ < count * bps)
      fail("truncated PGM: " + std::to_string((b_.size() - pos_) / bps) + " of " +
           std::to_string(count) + " pixels");
    for (std::size_t i = 0; i < count; ++i) {
      unsigned v = bps == 2 ? (unsigned(b_[pos_]) << 8 | b_[pos_ + 1]) : b_[pos_];
      pos_ += bps;
      check(v, img.maxval);
      img.pixels[i] = std::uint16_t(v);
    }
    // Bytes after the raster (netpbm allows a further image) are ignored.
  }

  // P2: decimal numbers, and nothing but whitespace and comments after them.
  void ascii_raster(PgmImage& img) {
    const std::size_t count = img.pixels.size();
    for (std::size_t i = 0; i < count; ++i) {
      long v = number("pixel");
      if (v < 0)
        fail("truncated PGM: " + std::to_string(i) + " of " + std::to_string(count) + " pixels");
      check(unsigned(v), img.maxval);
      img.pixels[i] = std::uint16_t(v);
    }
    skip_space();
    if (pos_ != b_.size())
      fail("more pixel data than a " + std::to_string(img.width) + "x" +
           std::to_string(img.height) + " image holds");
  }

  void check(unsigned v, int maxval) const {
    if (v > unsigned(maxval))
      fail("pixel value " + std::to_string(v) + " exceeds the maxval " + std::to_string(maxval));
  }

  std::string path_;
  std::vector<std::uint8_t> b_;
  std::size_t pos_ = 0;
};

}  // namespace

PgmImage read_pgm(const std::string& path, int want_w, int want_h) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw DataError(path + ": cannot open: " + std::strerror(errno));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                  std::istreambuf_iterator<char>());
  return Parser(path, std::move(bytes)).parse(want_w, want_h);
}

std::vector<float> pgm_to_input(const PgmImage& img) {
  std::vector<float> x(img.pixels.size());
  const float m = float(img.maxval);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(img.pixels[i]) / m;
  return x;
}

}  // namespace cnn
