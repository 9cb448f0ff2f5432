// Writes the seed corpora for the fuzz targets into the directories given on
// the command line: small valid and slightly broken IDX files, raw and gzip.
// Usage: make_corpus TARGET DIR   (TARGET: idx or model)
#include <zlib.h>

#include <fstream>
#include <iterator>
#include <numeric>

#include "src/model.h"
#include "src/model_io.h"

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

std::vector<std::uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
}

// fuzz_model inputs are one flag byte (odd: fix the CRC up) then the file.
void put_flagged(const std::string& path, std::uint8_t flag, std::vector<std::uint8_t> file) {
  file.insert(file.begin(), flag);
  put(path, file, false);
}

int model_corpus(const std::string& d) {
  cnn::Rng rng(1);
  cnn::Params p;
  cnn::init_params(p, rng);
  const std::string m = d + "/model.bin", c = d + "/ckpt.bin";
  cnn::save_model(m, p);
  cnn::TrainState s;
  s.epochs_done = 1;
  s.batch = 32;
  s.lr = 0.01f;
  s.seed = 1;
  s.rng_state = rng.state();
  s.indices.resize(16);
  std::iota(s.indices.begin(), s.indices.end(), 0u);
  s.rows.push_back({1, 0.5f, 1.0});
  cnn::save_checkpoint(c, p, s);
  auto mb = slurp(m), cb = slurp(c);
  std::remove(m.c_str());
  std::remove(c.c_str());
  put_flagged(d + "/model_ok", 0, mb);
  put_flagged(d + "/model_fixcrc", 1, mb);
  put_flagged(d + "/ckpt_ok", 0, cb);
  put_flagged(d + "/ckpt_fixcrc", 1, cb);
  auto cut = cb;
  cut.resize(cut.size() / 2);
  put_flagged(d + "/ckpt_truncated", 1, cut);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TARGET DIR\n", argv[0]);
    return 2;
  }
  const std::string target = argv[1], d = argv[2];
  if (target == "model") return model_corpus(d);
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
