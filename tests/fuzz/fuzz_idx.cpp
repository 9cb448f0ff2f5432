// libFuzzer target for the IDX reader: the input bytes are written to a file
// and read back as an image file and as a label file, both as they are
// (raw) and through zlib (gzread handles raw and gzip alike, so gzip inputs
// in the corpus exercise the inflate path). The only acceptable outcomes are
// data or a DataError; anything else (a crash, a sanitizer report, another
// exception, an allocation larger than libFuzzer's -malloc_limit_mb) fails.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "src/mnist.h"

namespace {

std::string temp_path() {
  static const std::string p = "/tmp/cnn_fuzz_idx_" + std::to_string(getpid());
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = temp_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    int n = 0;
    auto img = cnn::read_idx_images(path, &n);
    if (img.size() != std::size_t(n) * 784) __builtin_trap();  // reader broke its contract
  } catch (const cnn::DataError&) {
  }
  try {
    auto lab = cnn::read_idx_labels(path);
    for (auto v : lab)
      if (v > 9) __builtin_trap();
  } catch (const cnn::DataError&) {
  }
  return 0;
}
