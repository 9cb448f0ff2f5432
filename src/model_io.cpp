// Model files and checkpoints: byte-level encoding (explicitly little-endian,
// so a file moves between hosts), validation with one-line errors, and the
// atomic write. See model_io.h for the layout.
#include "src/model_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

namespace cnn {

namespace {

constexpr char kModelMagic[8] = {'C', 'N', 'N', 'M', 'O', 'D', 'E', 'L'};
constexpr char kCkptMagic[8] = {'C', 'N', 'N', 'C', 'K', 'P', 'T', '\0'};
constexpr std::size_t kHeaderBytes = 8 + 4 + 8;
constexpr std::size_t kCrcBytes = 4;
constexpr int kShapeCount = 7;
// What this program is: img_h, img_w, conv_c, kernel, pool (the window,
// 2), features, classes.
constexpr std::uint32_t kShape[kShapeCount] = {kImgH,          kImgW,     kConvC,  kKernel,
                                               kImgH / kPoolH, kFeatures, kClasses};

enum class Kind { Model, Checkpoint };

// The bits of a float or double as the unsigned integer of its size, and back.
template <typename To, typename From>
To bit_cast(From v) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

class Writer {
 public:
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    buf.insert(buf.end(), b, b + n);
  }
  template <typename U>
  void uint_le(U v) {
    for (std::size_t i = 0; i < sizeof v; ++i) buf.push_back(std::uint8_t(v >> (8 * i)));
  }
  void u32(std::uint32_t v) { uint_le(v); }
  void u64(std::uint64_t v) { uint_le(v); }
  void f32(float v) { u32(bit_cast<std::uint32_t>(v)); }
  void f64(double v) { u64(bit_cast<std::uint64_t>(v)); }
  void f32s(const float* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) f32(p[i]);
  }
  std::vector<std::uint8_t> buf;
};

// Reads the payload; running past its end means the writer and the reader
// disagree on the layout (the CRC already matched), reported as malformed.
class Reader {
 public:
  Reader(const std::string& path, const std::uint8_t* p, std::size_t n)
      : path_(path), p_(p), n_(n) {}
  template <typename U>
  U uint_le() {
    need(sizeof(U));
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) v |= U(p_[pos_ + i]) << (8 * i);
    pos_ += sizeof(U);
    return v;
  }
  std::uint32_t u32() { return uint_le<std::uint32_t>(); }
  std::uint64_t u64() { return uint_le<std::uint64_t>(); }
  float f32() { return bit_cast<float>(u32()); }
  double f64() { return bit_cast<double>(u64()); }
  void f32s(float* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = f32();
  }
  std::size_t left() const { return n_ - pos_; }
  void need(std::size_t k) const {
    if (n_ - pos_ < k)
      throw ModelError(path_ + ": malformed payload (ends " + std::to_string(k - (n_ - pos_)) +
                       " bytes early)");
  }

 private:
  std::string path_;
  const std::uint8_t* p_;
  std::size_t n_, pos_ = 0;
};

std::uint32_t crc_of(const std::uint8_t* p, std::size_t n) {
  return std::uint32_t(crc32_z(crc32_z(0L, Z_NULL, 0), p, n));
}

std::vector<std::uint8_t> frame(Kind kind, const std::vector<std::uint8_t>& payload) {
  Writer w;
  w.bytes(kind == Kind::Model ? kModelMagic : kCkptMagic, 8);
  w.u32(kFormatVersion);
  w.u64(payload.size());
  w.bytes(payload.data(), payload.size());
  w.u32(crc_of(w.buf.data(), w.buf.size()));
  return std::move(w.buf);
}

void put_model(Writer& w, const Params& p) {
  for (std::uint32_t s : kShape) w.u32(s);
  w.f32s(p.conv_w.data(), kConvWSize);
  w.f32s(p.conv_b.data(), kConvC);
  w.f32s(p.fc_w.data(), kFcWSize);
  w.f32s(p.fc_b.data(), kClasses);
}

std::string shape_str(const std::uint32_t* s) {
  return "input " + std::to_string(s[0]) + "x" + std::to_string(s[1]) + ", conv " +
         std::to_string(s[2]) + "x" + std::to_string(s[3]) + "x" + std::to_string(s[3]) +
         ", pool " + std::to_string(s[4]) + ", features " + std::to_string(s[5]) + ", classes " +
         std::to_string(s[6]);
}

void get_model(Reader& r, const std::string& path, Params& p) {
  r.need(kShapeCount * 4);
  std::uint32_t s[kShapeCount];
  bool same = true;
  for (int i = 0; i < kShapeCount; ++i) {
    s[i] = r.u32();
    same &= s[i] == kShape[i];
  }
  if (!same)
    throw ModelError(path + ": architecture mismatch: the file holds " + shape_str(s) +
                     "; this program is " + shape_str(kShape));
  r.need(kParamCount * 4);
  r.f32s(p.conv_w.data(), kConvWSize);
  r.f32s(p.conv_b.data(), kConvC);
  r.f32s(p.fc_w.data(), kFcWSize);
  r.f32s(p.fc_b.data(), kClasses);
}

void put_state(Writer& w, const TrainState& s) {
  w.u32(std::uint32_t(s.epochs_done));
  w.u32(std::uint32_t(s.batch));
  w.f32(s.lr);
  w.u64(s.seed);
  w.u64(s.rng_state);
  w.u32(std::uint32_t(s.indices.size()));
  for (std::uint32_t i : s.indices) w.u32(i);
  w.u32(std::uint32_t(s.rows.size()));
  for (const auto& row : s.rows) {
    w.u32(std::uint32_t(row.epoch));
    w.f32(row.loss);
    w.f64(row.seconds);
  }
}

void get_state(Reader& r, TrainState& s) {
  s.epochs_done = int(r.u32());
  s.batch = int(r.u32());
  s.lr = r.f32();
  s.seed = r.u64();
  s.rng_state = r.u64();
  const std::uint32_t n = r.u32();
  r.need(std::size_t(n) * 4);
  s.indices.resize(n);
  for (auto& i : s.indices) i = r.u32();
  const std::uint32_t rows = r.u32();
  r.need(std::size_t(rows) * 16);
  s.rows.resize(rows);
  for (auto& row : s.rows) {
    row.epoch = int(r.u32());
    row.loss = r.f32();
    row.seconds = r.f64();
  }
}

// The CRC matched, so these only fail for a file written by a buggy writer.
void check_state(const TrainState& s, const std::string& path) {
  std::vector<bool> seen(s.indices.size());
  for (std::uint32_t i : s.indices) {
    if (i >= seen.size() || seen[i])
      throw ModelError(path + ": malformed checkpoint (the index order is not a permutation)");
    seen[i] = true;
  }
  if (s.epochs_done < 1 || int(s.rows.size()) != s.epochs_done || s.batch < 1)
    throw ModelError(path + ": malformed checkpoint (epochs done " + std::to_string(s.epochs_done) +
                     ", " + std::to_string(s.rows.size()) + " log rows, batch " +
                     std::to_string(s.batch) + ")");
}

std::string errno_str() { return std::strerror(errno); }

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ModelError(path + ": is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ModelError(path + ": cannot open: " + errno_str());
  std::vector<std::uint8_t> v((std::istreambuf_iterator<char>(f)),
                              std::istreambuf_iterator<char>());
  if (f.bad()) throw ModelError(path + ": read error");
  return v;
}

const char* kind_name(Kind k) { return k == Kind::Model ? "model file" : "checkpoint"; }

// Validates the container and returns its kind and a reader over the payload.
// `want` restricts the kind (nullptr = either).
Reader open_container(const std::string& path, const std::vector<std::uint8_t>& f, const Kind* want,
                      Kind* kind) {
  const std::size_t n = f.size();
  if (n == 0) throw ModelError(path + ": truncated: the file is empty");
  // A shorter file that starts like a magic is a truncated one.
  const std::size_t m = std::min<std::size_t>(n, 8);
  const bool model = std::memcmp(f.data(), kModelMagic, m) == 0;
  const bool ckpt = std::memcmp(f.data(), kCkptMagic, m) == 0;
  if (!model && !ckpt) throw ModelError(path + ": not a mnist_cnn model or checkpoint (bad magic)");
  if (n < kHeaderBytes)
    throw ModelError(path + ": truncated: " + std::to_string(n) + " bytes, shorter than the " +
                     std::to_string(kHeaderBytes) + "-byte header");
  *kind = model ? Kind::Model : Kind::Checkpoint;
  Reader h(path, f.data() + 8, kHeaderBytes - 8);
  const std::uint32_t version = h.u32();
  if (version != kFormatVersion)
    throw ModelError(path + ": unsupported format version " + std::to_string(version) +
                     " (this program reads version " + std::to_string(kFormatVersion) + ")");
  const std::uint64_t payload = h.u64();
  if (n < kHeaderBytes + kCrcBytes || payload > n - kHeaderBytes - kCrcBytes)
    throw ModelError(path + ": truncated: " + std::to_string(n) + " bytes, the header announces " +
                     std::to_string(kHeaderBytes + payload + kCrcBytes));
  if (n != kHeaderBytes + payload + kCrcBytes)
    throw ModelError(path + ": corrupt: " + std::to_string(n - kHeaderBytes - payload - kCrcBytes) +
                     " unexpected bytes after the checksum");
  Reader t(path, f.data() + n - kCrcBytes, kCrcBytes);
  const std::uint32_t stored = t.u32(), computed = crc_of(f.data(), n - kCrcBytes);
  if (stored != computed) {
    char buf[96];
    std::snprintf(buf, sizeof buf,
                  ": checksum mismatch (stored %08x, computed %08x): the file is corrupt",
                  unsigned(stored), unsigned(computed));
    throw ModelError(path + buf);
  }
  if (want && *want != *kind)
    throw ModelError(path + ": is a " + kind_name(*kind) + ", not a " + kind_name(*want));
  return Reader(path, f.data() + kHeaderBytes, std::size_t(payload));
}

void expect_end(const Reader& r, const std::string& path) {
  if (r.left() != 0)
    throw ModelError(path + ": malformed payload (" + std::to_string(r.left()) +
                     " bytes left over)");
}

std::filesystem::path dir_of(const std::string& path) {
  auto d = std::filesystem::path(path).parent_path();
  return d.empty() ? std::filesystem::path(".") : d;
}

// Creates a new, empty, uniquely named file beside `path`; returns its fd.
int create_temp_beside(const std::string& path, std::string* tmp) {
  const auto dir = dir_of(path);
  const std::string base = std::filesystem::path(path).filename().string();
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    *tmp = (dir / ("." + base + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd())))
               .string();
    int fd = ::open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

}  // namespace

void check_writable(const std::string& path) {
  std::error_code ec;
  if (path.empty()) throw ModelError("empty output path");
  if (std::filesystem::is_directory(path, ec)) throw ModelError(path + ": is a directory");
  const auto dir = dir_of(path);
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir, ec))
    throw ModelError(path + ": cannot create its directory " + dir.string());
  std::string tmp;
  int fd = create_temp_beside(path, &tmp);
  if (fd < 0) throw ModelError(path + ": cannot write in " + dir.string() + ": " + errno_str());
  ::close(fd);
  ::unlink(tmp.c_str());
}

void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::string tmp;
  int fd = create_temp_beside(path, &tmp);
  if (fd < 0) throw ModelError(path + ": cannot create a temporary file beside it: " + errno_str());
  auto fail = [&](const std::string& what) {
    const std::string msg = path + ": " + what + ": " + errno_str();
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw ModelError(msg);
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t k = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) fail("write failed");
    done += std::size_t(k);
  }
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    fd = -1;
    fail("close failed");
  }
  fd = -1;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename failed");
  // Make the rename itself durable.
  int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void save_model(const std::string& path, const Params& p) {
  Writer w;
  put_model(w, p);
  write_file_atomic(path, frame(Kind::Model, w.buf));
}

Params load_model(const std::string& path) {
  const auto f = read_all(path);
  Kind kind;
  Reader r = open_container(path, f, nullptr, &kind);
  Params p;
  get_model(r, path, p);
  if (kind == Kind::Model) expect_end(r, path);
  return p;
}

void save_checkpoint(const std::string& path, const Params& p, const TrainState& s) {
  Writer w;
  put_model(w, p);
  put_state(w, s);
  write_file_atomic(path, frame(Kind::Checkpoint, w.buf));
}

Checkpoint load_checkpoint(const std::string& path) {
  const auto f = read_all(path);
  Kind kind, want = Kind::Checkpoint;
  Reader r = open_container(path, f, &want, &kind);
  Checkpoint c;
  get_model(r, path, c.params);
  get_state(r, c.state);
  expect_end(r, path);
  check_state(c.state, path);
  return c;
}

}  // namespace cnn
