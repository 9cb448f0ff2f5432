#include "src/mnist.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <sys/stat.h>

#include "kernels/shapes.h"

namespace cnn {

namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzPtr = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

GzPtr open_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw DataError(path + ": file not found");
  if (S_ISDIR(st.st_mode)) throw DataError(path + ": is a directory, not an IDX file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw DataError(path + ": cannot open: " + std::strerror(errno));
  return GzPtr(f);
}

[[noreturn]] void throw_corrupt(gzFile f, const std::string& path) {
  int err = 0;
  const char* msg = gzerror(f, &err);
  throw DataError(path + ": corrupt gzip stream (" + (msg ? msg : "unknown error") + ")");
}

// Reads up to n bytes; returns how many were read. Throws on a corrupt stream.
std::size_t read_some(gzFile f, const std::string& path, std::uint8_t* dst, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 20));
    int r = gzread(f, dst + got, chunk);
    if (r < 0) throw_corrupt(f, path);
    if (r == 0) {
      // gzread returns 0 both at a clean end and at a truncated gzip stream.
      int err = 0;
      gzerror(f, &err);
      if (err != Z_OK && err != Z_STREAM_END) throw_corrupt(f, path);
      break;
    }
    got += static_cast<std::size_t>(r);
  }
  return got;
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}

// Reads the header (the magic and `dims` sizes); checks the magic.
void read_header(gzFile f, const std::string& path, std::uint32_t magic, int dims,
                 std::uint32_t* sizes) {
  std::uint8_t hdr[16];
  std::size_t want = 4 + 4 * std::size_t(dims);
  std::size_t got = read_some(f, path, hdr, want);
  if (got < want)
    throw DataError(path + ": truncated header (" + std::to_string(got) + " of " +
                    std::to_string(want) + " bytes)");
  std::uint32_t m = be32(hdr);
  if (m != magic) {
    char buf[96];
    std::snprintf(buf, sizeof buf, ": wrong magic 0x%08x (expected 0x%08x)", m, magic);
    throw DataError(path + buf);
  }
  for (int i = 0; i < dims; ++i) sizes[i] = be32(hdr + 4 + 4 * i);
}

// Reads exactly `expected` payload bytes, growing the buffer only as bytes
// arrive; then checks that nothing follows.
template <class Bytes>
Bytes read_payload(gzFile f, const std::string& path, std::uint64_t expected,
                   std::uint64_t item_bytes, const char* what) {
  Bytes out;
  const std::size_t chunk = 1 << 20;
  while (out.size() < expected) {
    std::size_t n = std::min<std::uint64_t>(chunk, expected - out.size());
    std::size_t old = out.size();
    out.resize(old + n);
    std::size_t got = read_some(f, path, out.data() + old, n);
    out.resize(old + got);
    if (got < n) break;
  }
  if (out.size() < expected)
    throw DataError(path + ": header says " + std::to_string(expected / item_bytes) + " " + what +
                    " but the file holds only " + std::to_string(out.size() / item_bytes));
  std::uint8_t extra;
  if (read_some(f, path, &extra, 1) != 0)
    throw DataError(path + ": unexpected data after the " + std::to_string(expected / item_bytes) +
                    " " + what + " the header announces");
  return out;
}

}  // namespace

ImageBytes read_idx_images(const std::string& path, int* count) {
  GzPtr f = open_file(path);
  std::uint32_t s[3];
  read_header(f.get(), path, 0x00000803, 3, s);
  if (s[1] != std::uint32_t(kImgH) || s[2] != std::uint32_t(kImgW))
    throw DataError(path + ": images are " + std::to_string(s[1]) + "x" + std::to_string(s[2]) +
                    ", expected " + std::to_string(kImgH) + "x" + std::to_string(kImgW));
  if (s[0] > 0x7fffffffu / kImgPixels)
    throw DataError(path + ": image count " + std::to_string(s[0]) + " is too large");
  auto data = read_payload<ImageBytes>(f.get(), path, std::uint64_t(s[0]) * kImgPixels, kImgPixels,
                                       "images");
  *count = static_cast<int>(s[0]);
  return data;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path) {
  GzPtr f = open_file(path);
  std::uint32_t s[1];
  read_header(f.get(), path, 0x00000801, 1, s);
  if (s[0] > 0x7fffffffu)
    throw DataError(path + ": label count " + std::to_string(s[0]) + " is too large");
  auto data = read_payload<std::vector<std::uint8_t>>(f.get(), path, s[0], 1, "labels");
  for (std::size_t i = 0; i < data.size(); ++i)
    if (data[i] >= kClasses)
      throw DataError(path + ": label " + std::to_string(data[i]) + " at index " +
                      std::to_string(i) + " is outside 0-" + std::to_string(kClasses - 1));
  return data;
}

std::string find_idx_file(const std::string& dir, const std::string& stem,
                          const std::string& kind) {
  const std::string base = dir.empty() ? std::string(".") : dir;
  const std::string names[] = {stem + "-" + kind, stem + "." + kind};
  for (const auto& name : names) {
    for (const char* ext : {"", ".gz"}) {
      std::string p = base + "/" + name + ext;
      struct stat st;
      if (stat(p.c_str(), &st) == 0) return p;
    }
  }
  throw DataError(base + "/" + stem + "-" + kind +
                  ": file not found (also tried '.' spelling and .gz; run tools/fetch_mnist.sh)");
}

Dataset load_mnist(const std::string& dir, const std::string& split) {
  std::string ip = find_idx_file(dir, split + "-images", "idx3-ubyte");
  std::string lp = find_idx_file(dir, split + "-labels", "idx1-ubyte");
  Dataset d;
  d.images = read_idx_images(ip, &d.n);
  d.labels = read_idx_labels(lp);
  if (d.labels.size() != std::size_t(d.n))
    throw DataError(lp + ": holds " + std::to_string(d.labels.size()) + " labels but " + ip +
                    " holds " + std::to_string(d.n) + " images");
  if (d.n == 0) throw DataError(ip + ": holds no images");
  return d;
}

Dataset grouped_by_margins(const Dataset& d) {
  std::vector<std::uint32_t> key(std::size_t(d.n)), order(std::size_t(d.n));
  for (int i = 0; i < d.n; ++i) {
    const std::uint8_t* p = d.images.data() + std::size_t(i) * kImgPixels;
    std::uint8_t cols[kImgW] = {};
    int top = kImgH, bottom = -1;
    for (int y = 0; y < kImgH; ++y) {
      std::uint8_t row = 0;
      for (int x = 0; x < kImgW; ++x) {
        cols[x] |= p[y * kImgW + x];
        row |= p[y * kImgW + x];
      }
      if (row) {
        top = std::min(top, y);
        bottom = y;
      }
    }
    int left = kImgW, right = -1;
    for (int x = 0; x < kImgW; ++x)
      if (cols[x]) {
        left = std::min(left, x);
        right = x;
      }
    // Image column x lies in padded column x + 1, pooling windows start at even ones.
    key[i] = std::uint32_t((left + 1) / 2) << 15 | std::uint32_t((right + 1) / 2) << 10 |
             std::uint32_t(top) << 5 | std::uint32_t(bottom + 1);
  }
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return key[a] < key[b]; });
  Dataset g;
  g.n = d.n;
  g.images.resize(d.images.size());
  g.labels.resize(d.labels.size());
  for (int i = 0; i < d.n; ++i) {
    std::copy_n(d.images.data() + std::size_t(order[i]) * kImgPixels, kImgPixels,
                g.images.data() + std::size_t(i) * kImgPixels);
    g.labels[i] = d.labels[order[i]];
  }
  return g;
}

}  // namespace cnn
