// Helpers shared by tests: temporary directories, small IDX files written on
// the fly (raw or gzip), running the mnist_cnn binary and capturing output.
#pragma once

#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace cnn::test {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("cnn_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void put_be32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  v.push_back(std::uint8_t(x >> 24));
  v.push_back(std::uint8_t(x >> 16));
  v.push_back(std::uint8_t(x >> 8));
  v.push_back(std::uint8_t(x));
}

// IDX images: header says `header_count` images of rows x cols, then
// `actual_count` images of pixel data (value = (image + pixel) % 256).
inline std::vector<std::uint8_t> idx_images(std::uint32_t header_count, std::uint32_t actual_count,
                                            std::uint32_t rows = 28, std::uint32_t cols = 28,
                                            std::uint32_t magic = 0x803) {
  std::vector<std::uint8_t> v;
  put_be32(v, magic);
  put_be32(v, header_count);
  put_be32(v, rows);
  put_be32(v, cols);
  for (std::uint32_t i = 0; i < actual_count; ++i)
    for (std::uint32_t p = 0; p < rows * cols; ++p) v.push_back(std::uint8_t((i + p) % 256));
  return v;
}

inline std::vector<std::uint8_t> idx_labels(std::uint32_t header_count,
                                            const std::vector<std::uint8_t>& labels,
                                            std::uint32_t magic = 0x801) {
  std::vector<std::uint8_t> v;
  put_be32(v, magic);
  put_be32(v, header_count);
  v.insert(v.end(), labels.begin(), labels.end());
  return v;
}

inline void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline void write_gz(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

inline std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
}

// A tiny, valid data set (train 96 images, test 40) in a temp directory.
inline void write_tiny_mnist(const TempDir& d, int n_train = 96, int n_test = 40) {
  std::mt19937 g(3);
  for (auto [split, n] : {std::pair<std::string, int>{"train", n_train}, {"t10k", n_test}}) {
    std::vector<std::uint8_t> img;
    put_be32(img, 0x803);
    put_be32(img, n);
    put_be32(img, 28);
    put_be32(img, 28);
    std::vector<std::uint8_t> lab(n);
    for (int i = 0; i < n; ++i) {
      lab[i] = std::uint8_t(g() % 10);
      // A bright bar whose position encodes the label, over noise.
      for (int p = 0; p < 784; ++p)
        img.push_back(std::uint8_t((p / 28 == 2 + 2 * lab[i]) ? 250 : g() % 40));
    }
    write_file(d.file(split + "-images-idx3-ubyte"), img);
    write_file(d.file(split + "-labels-idx1-ubyte"), idx_labels(n, lab));
  }
}

struct RunResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// The emulator a cross build runs its programs with (tests/CMakeLists.txt:
// CMAKE_CROSSCOMPILING_EMULATOR, e.g. qemu-aarch64), or "" for a native build.
#ifndef CNN_EMULATOR
#define CNN_EMULATOR ""
#endif

// The shell words that start a program built here (path relative to the
// build directory, e.g. "mnist_cnn" or "bench/cnn_bench"): its path, behind
// the emulator if there is one.
inline std::string built_program(const std::string& rel) {
  const std::string emu = CNN_EMULATOR, path = std::string(CNN_BINARY_DIR) + "/" + rel;
  return emu.empty() ? path : emu + " " + path;
}

// Runs a built program of this project (mnist_cnn, validate) with `args`
// (shell words), capturing all output.
inline RunResult run_tool(const std::string& tool, const std::string& args) {
  std::string cmd = built_program(tool) + " " + args + " 2>&1";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

inline RunResult run_cli(const std::string& args) { return run_tool("mnist_cnn", args); }

}  // namespace cnn::test
