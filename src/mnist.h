// MNIST IDX reader: images (magic 0x00000803, N x 28 x 28 bytes) and labels
// (magic 0x00000801, N bytes), raw or gzip-compressed. zlib's gzread reads
// both transparently. Data are read in chunks and the buffer grows only with
// bytes actually delivered, so a header that lies about its count cannot make
// the reader allocate more than the file holds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/large_pages.h"

namespace cnn {

// Every malformed-input error: a one-line message naming the file.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Dataset {
  int n = 0;
  ImageBytes images;                 // (n, kImgPixels), on huge pages where the system has them
  std::vector<std::uint8_t> labels;  // (n), each 0..kClasses-1
};

// d's images and labels reordered so that images with similar empty margins
// are next to each other: sorted by the bounding box of their nonzero pixels
// (left and right edge in steps of the 2-pixel pooling grid, then top and
// bottom), ties in file order. For a set that is only evaluated (the test
// set): a batch of such images has more windows that are blank in every
// lane, which the simd kernels skip (kernels/simd/conv_pool_fwd_impl.h),
// and each image's result does not depend on its place, so accuracy and
// confusion matrix are those of the file order.
Dataset grouped_by_margins(const Dataset& d);

ImageBytes read_idx_images(const std::string& path, int* count);
std::vector<std::uint8_t> read_idx_labels(const std::string& path);

// Finds `<dir>/<stem>-<kind>` under the usual spellings: "train-images-idx3-ubyte",
// "train-images.idx3-ubyte", each optionally with ".gz". Throws DataError
// naming what was looked for when none exists.
std::string find_idx_file(const std::string& dir, const std::string& stem, const std::string& kind);

// Loads "train" or "t10k" images and labels from dir and checks they agree.
Dataset load_mnist(const std::string& dir, const std::string& split);

}  // namespace cnn
