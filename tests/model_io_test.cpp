// Model files and checkpoints (src/model_io.h): a save/load round trip is
// bit-exact, every corrupt-file case is rejected with a one-line message
// naming the file (in the library and through `mnist_cnn eval`), writes are
// atomic and leave no temporary files, and --save / --checkpoint paths are
// checked before any work without touching an existing file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <filesystem>
#include <random>

#include "src/model.h"
#include "src/model_io.h"
#include "tests/test_util.h"

namespace cnn::test {
namespace {

Params random_params(std::uint64_t seed) {
  Rng rng(seed);
  Params p;
  init_params(p, rng);
  for (int i = 0; i < kConvC; ++i) p.conv_b[i] = rng.uniform(-1, 1);
  for (int i = 0; i < kClasses; ++i) p.fc_b[i] = rng.uniform(-1, 1);
  // Values whose bits a sloppy encoding would lose.
  p.conv_w[0] = -0.0f;
  p.conv_w[1] = 1e-42f;  // denormal
  p.fc_w[7] = std::numeric_limits<float>::max();
  p.fc_b[9] = -std::numeric_limits<float>::infinity();
  return p;
}

bool same_bits(const Buffer<float>& a, const Buffer<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void expect_same_params(const Params& a, const Params& b) {
  EXPECT_TRUE(same_bits(a.conv_w, b.conv_w));
  EXPECT_TRUE(same_bits(a.conv_b, b.conv_b));
  EXPECT_TRUE(same_bits(a.fc_w, b.fc_w));
  EXPECT_TRUE(same_bits(a.fc_b, b.fc_b));
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

void put_le32(std::vector<std::uint8_t>& f, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + i] = std::uint8_t(v >> (8 * i));
}
// Recomputes the trailing CRC, as a well-formed file from elsewhere would have.
void reseal(std::vector<std::uint8_t>& f) {
  const std::size_t n = f.size() - 4;
  put_le32(f, n, std::uint32_t(crc32_z(crc32_z(0L, Z_NULL, 0), f.data(), n)));
}

// Throws ModelError whose message names the file, holds `what`, is one line.
template <typename F>
void expect_rejected(F&& load, const std::string& path, const std::string& what) {
  try {
    load(path);
    ADD_FAILURE() << path << " was accepted; expected: " << what;
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "expected '" << what << "' in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(ModelIo, RoundTripIsBitExact) {
  TempDir d;
  const Params p = random_params(5);
  save_model(d.file("m.bin"), p);
  expect_same_params(load_model(d.file("m.bin")), p);
  // Header 20 + shape 28 + 15770 floats + CRC 4.
  EXPECT_EQ(std::filesystem::file_size(d.file("m.bin")), 20u + 28u + 15770u * 4u + 4u);
  // Deterministic bytes: the same parameters give the same file.
  save_model(d.file("m2.bin"), p);
  EXPECT_EQ(read_file(d.file("m.bin")), read_file(d.file("m2.bin")));
  // Little-endian on disk: conv_w[0] = -0.0f is 00 00 00 80 after magic,
  // version, length and shape.
  auto f = read_file(d.file("m.bin"));
  EXPECT_EQ(std::memcmp(f.data(), "CNNMODEL", 8), 0);
  EXPECT_EQ(f[8], 1);
  EXPECT_EQ(f[48 + 3], 0x80);
}

TEST(ModelIo, CheckpointRoundTripKeepsEveryField) {
  TempDir d;
  const Params p = random_params(9);
  TrainState s;
  s.epochs_done = 2;
  s.batch = 32;
  s.lr = 0.01f;
  s.seed = 0xfedcba9876543210ULL;
  s.rng_state = 0x0123456789abcdefULL;
  s.indices.resize(1000);
  std::iota(s.indices.begin(), s.indices.end(), 0u);
  Rng(3).shuffle(s.indices);
  s.rows = {{1, 0.591689f, 4.5}, {2, 0.309309f, 4.25}};
  save_checkpoint(d.file("c.ckpt"), p, s);
  Checkpoint c = load_checkpoint(d.file("c.ckpt"));
  expect_same_params(c.params, p);
  EXPECT_EQ(c.state.epochs_done, 2);
  EXPECT_EQ(c.state.batch, 32);
  EXPECT_EQ(c.state.lr, 0.01f);
  EXPECT_EQ(c.state.seed, s.seed);
  EXPECT_EQ(c.state.rng_state, s.rng_state);
  EXPECT_EQ(c.state.indices, s.indices);
  ASSERT_EQ(c.state.rows.size(), 2u);
  EXPECT_EQ(c.state.rows[1].epoch, 2);
  EXPECT_EQ(c.state.rows[1].loss, 0.309309f);
  EXPECT_EQ(c.state.rows[1].seconds, 4.25);
  // A checkpoint holds a model: load_model takes its parameters.
  expect_same_params(load_model(d.file("c.ckpt")), p);
  // But a model is not a checkpoint.
  save_model(d.file("m.bin"), p);
  expect_rejected(load_checkpoint, d.file("m.bin"), "is a model file, not a checkpoint");
}

// Every corruption of a valid model file, as (name, bytes, expected message).
struct Corrupt {
  std::string name;
  std::vector<std::uint8_t> bytes;
  std::string what;
};

std::vector<Corrupt> corruptions(const std::vector<std::uint8_t>& good) {
  std::vector<Corrupt> v;
  auto f = good;
  f[0] = 'X';
  v.push_back({"magic", f, "bad magic"});
  v.push_back({"idx", idx_images(1, 1), "bad magic"});
  f = good;
  put_le32(f, 8, 2);
  reseal(f);
  v.push_back({"version", f, "unsupported format version 2 (this program reads version 1)"});
  f = good;
  put_le32(f, 20 + 8, 16);  // conv_c 8 -> 16, with a valid CRC
  reseal(f);
  v.push_back({"shape", f, "architecture mismatch: the file holds input 28x28, conv 16x3x3"});
  for (std::size_t len : {std::size_t(0), std::size_t(5), std::size_t(15), std::size_t(23),
                          std::size_t(300), good.size() - 1}) {
    v.push_back({"truncated" + std::to_string(len),
                 std::vector<std::uint8_t>(good.begin(), good.begin() + long(len)), "truncated"});
  }
  f = good;
  f[1000] ^= 0x10;  // one bit of one parameter
  v.push_back({"bitflip", f, "checksum mismatch"});
  f = good;
  f[f.size() - 1] ^= 0xff;  // the stored CRC itself
  v.push_back({"crc", f, "checksum mismatch"});
  f = good;
  f.push_back(0);
  v.push_back({"trailing", f, "unexpected bytes after the checksum"});
  return v;
}

TEST(ModelIo, RejectsEveryCorruptFile) {
  TempDir d;
  save_model(d.file("good.bin"), random_params(1));
  for (const auto& c : corruptions(read_file(d.file("good.bin")))) {
    SCOPED_TRACE(c.name);
    const std::string path = d.file(c.name + ".bin");
    write_file(path, c.bytes);
    expect_rejected(load_model, path, c.what);
    // The kind is checked after the CRC, before the shape.
    expect_rejected(load_checkpoint, path,
                    c.name == "shape" ? "is a model file, not a checkpoint" : c.what);
  }
  expect_rejected(load_model, d.file("missing.bin"), "cannot open");
  expect_rejected(load_model, d.str(), "is a directory");
}

TEST(ModelIo, EvalRejectsEveryCorruptFileWithOneLine) {
  TempDir d;
  write_tiny_mnist(d);
  save_model(d.file("good.bin"), random_params(1));
  ASSERT_EQ(run_cli("eval --backend naive --model " + d.file("good.bin") + " --data-dir " + d.str())
                .status,
            0);
  for (const auto& c : corruptions(read_file(d.file("good.bin")))) {
    const std::string path = d.file(c.name + ".bin");
    write_file(path, c.bytes);
    for (const std::string& args :
         {"eval --data-dir " + d.str() + " --model " + path,
          "predict --model " + path + " " + d.file("t10k-images-idx3-ubyte") + ":0"}) {
      RunResult r = run_cli(args);
      EXPECT_EQ(r.status, 1) << c.name << "\n" << r.output;
      EXPECT_NE(r.output.find("error: " + path + ": "), std::string::npos) << r.output;
      EXPECT_NE(r.output.find(c.what), std::string::npos) << c.name << "\n" << r.output;
      std::size_t errors = 0;
      for (std::size_t pos = 0; (pos = r.output.find("error:", pos)) != std::string::npos; ++pos)
        ++errors;
      EXPECT_EQ(errors, 1u) << r.output;
      EXPECT_EQ(r.output.find("Test Accuracy"), std::string::npos) << r.output;
    }
  }
}

TEST(ModelIo, AtomicWriteReplacesAndLeavesNoTemporaryFiles) {
  TempDir d;
  const std::string path = d.file("m.bin");
  write_file(path, {1, 2, 3});
  const Params p = random_params(2);
  save_model(path, p);
  expect_same_params(load_model(path), p);
  EXPECT_EQ(dir_entries(d.str()), std::vector<std::string>{"m.bin"});
  // A failed write (no such directory) throws and creates nothing.
  EXPECT_THROW(save_model(d.file("no/such/dir/m.bin"), p), ModelError);
  EXPECT_EQ(dir_entries(d.str()), std::vector<std::string>{"m.bin"});
}

TEST(ModelIo, CheckWritableLeavesAnExistingFileAlone) {
  TempDir d;
  const std::string path = d.file("m.bin");
  write_file(path, {9, 8, 7});
  const auto before = std::filesystem::last_write_time(path);
  check_writable(path);
  EXPECT_EQ(read_file(path), (std::vector<std::uint8_t>{9, 8, 7}));
  EXPECT_EQ(std::filesystem::last_write_time(path), before);
  EXPECT_EQ(dir_entries(d.str()), std::vector<std::string>{"m.bin"});
  // Missing directories are created, as for --log.
  EXPECT_NO_THROW(check_writable(d.file("sub/dir/m.bin")));
  EXPECT_TRUE(std::filesystem::is_directory(d.file("sub/dir")));
  expect_rejected(check_writable, d.str(), "is a directory");
  expect_rejected(check_writable, d.file("m.bin/x.bin"), "cannot create its directory");
}

TEST(ModelIo, UnwritableSaveOrCheckpointFailsBeforeTraining) {
  TempDir d;
  write_tiny_mnist(d);
  write_file(d.file("afile"), {1});
  for (const char* flag : {"--save", "--checkpoint"}) {
    RunResult r = run_cli(std::string("--backend naive --data-dir ") + d.str() + " --log " +
                          d.file("l.csv") + " " + flag + " " + d.file("afile/m.bin"));
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("error: " + d.file("afile/m.bin") + ": "), std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find("Loading"), std::string::npos) << r.output;
  }
  RunResult r =
      run_cli("--data-dir " + d.str() + " --save " + d.file("x") + " --checkpoint " + d.file("x"));
  EXPECT_EQ(r.status, 2) << r.output;
}

TEST(ModelIo, FailedRunKeepsTheExistingModel) {
  // The path check must not truncate an existing model: a run that then
  // fails (here: no data) leaves it byte for byte.
  TempDir d;
  save_model(d.file("m.bin"), random_params(4));
  const auto before = read_file(d.file("m.bin"));
  RunResult r =
      run_cli("--backend naive --data-dir " + d.file("nodata") + " --log " + d.file("l.csv") +
              " --save " + d.file("m.bin") + " --checkpoint " + d.file("m.ckpt"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(read_file(d.file("m.bin")), before);
  EXPECT_FALSE(std::filesystem::exists(d.file("m.ckpt")));
  EXPECT_EQ(dir_entries(d.str()), (std::vector<std::string>{"l.csv", "m.bin"}));
}

}  // namespace
}  // namespace cnn::test
