// Writes the seed corpora for the fuzz targets into the directories given on
// the command line: small valid and slightly broken IDX files, raw and gzip.
// Usage: make_corpus TARGET DIR   (TARGET: idx)
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

void be32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(std::uint8_t(x >> s));
}

void put(const std::string& path, const std::vector<std::uint8_t>& b, bool gz) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb9");
    gzwrite(f, b.data(), unsigned(b.size()));
    gzclose(f);
  } else {
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(b.data(), 1, b.size(), f);
    std::fclose(f);
  }
}

std::vector<std::uint8_t> images(std::uint32_t hdr, std::uint32_t n, std::uint32_t rows = 28) {
  std::vector<std::uint8_t> v;
  be32(v, 0x803);
  be32(v, hdr);
  be32(v, rows);
  be32(v, 28);
  for (std::uint32_t i = 0; i < n * rows * 28; ++i) v.push_back(std::uint8_t(i * 7));
  return v;
}

std::vector<std::uint8_t> labels(std::uint32_t hdr, std::uint32_t n, std::uint8_t bad = 0) {
  std::vector<std::uint8_t> v;
  be32(v, 0x801);
  be32(v, hdr);
  for (std::uint32_t i = 0; i < n; ++i) v.push_back(std::uint8_t(i % 10));
  if (bad && n) v.back() = bad;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TARGET DIR\n", argv[0]);
    return 2;
  }
  const std::string target = argv[1], d = argv[2];
  if (target != "idx") {
    std::fprintf(stderr, "make_corpus: unknown target '%s'\n", target.c_str());
    return 2;
  }
  int k = 0;
  for (bool gz : {false, true}) {
    const std::string ext = gz ? ".gz" : "";
    put(d + "/img_ok" + std::to_string(k) + ext, images(2, 2), gz);
    put(d + "/img_short" + std::to_string(k) + ext, images(5, 2), gz);
    put(d + "/img_dims" + std::to_string(k) + ext, images(1, 1, 27), gz);
    put(d + "/img_huge" + std::to_string(k) + ext, images(0x7fffffffu, 1), gz);
    put(d + "/lab_ok" + std::to_string(k) + ext, labels(20, 20), gz);
    put(d + "/lab_bad" + std::to_string(k) + ext, labels(3, 3, 200), gz);
    put(d + "/lab_short" + std::to_string(k) + ext, labels(30, 3), gz);
    ++k;
  }
  return 0;
}
