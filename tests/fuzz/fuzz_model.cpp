// libFuzzer target for the model-file and checkpoint loaders. A CRC-32
// guards both formats, so random bytes would almost never get past it; for
// inputs whose first byte is odd the target rewrites the trailing CRC to
// match, letting the fuzzer reach the parsing behind the checksum. The only
// acceptable outcomes are a loaded model or a ModelError.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "src/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/cnn_fuzz_model_" + std::to_string(getpid());
  if (size == 0) return 0;
  std::vector<std::uint8_t> bytes(data + 1, data + size);
  if ((data[0] & 1) && bytes.size() >= 4) {
    const std::size_t n = bytes.size() - 4;
    const std::uint32_t crc = std::uint32_t(crc32(0L, bytes.data(), uInt(n)));
    for (int i = 0; i < 4; ++i) bytes[n + i] = std::uint8_t(crc >> (8 * i));
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  try {
    cnn::load_model(path);
  } catch (const cnn::ModelError&) {
  }
  try {
    cnn::Checkpoint c = cnn::load_checkpoint(path);
    if (c.state.indices.size() * 4 > bytes.size()) __builtin_trap();  // more than the file holds
  } catch (const cnn::ModelError&) {
  }
  return 0;
}
