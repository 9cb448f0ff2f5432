// The IDX reader on small generated files: good raw and gzip files under both
// spellings, and every malformed case the loader must reject with a one-line
// message naming the file.
#include <gtest/gtest.h>

#include "src/mnist.h"
#include "tests/test_util.h"

namespace cnn::test {
namespace {

std::vector<std::uint8_t> labels_of(int n) {
  std::vector<std::uint8_t> l(n);
  for (int i = 0; i < n; ++i) l[i] = std::uint8_t(i % 10);
  return l;
}

void write_split(const TempDir& d, const std::string& split, int n, bool gz, bool dotted) {
  const std::string sep = dotted ? "." : "-";
  auto img = idx_images(n, n), lab = idx_labels(n, labels_of(n));
  std::string ip = d.file(split + "-images" + sep + "idx3-ubyte" + (gz ? ".gz" : ""));
  std::string lp = d.file(split + "-labels" + sep + "idx1-ubyte" + (gz ? ".gz" : ""));
  if (gz) {
    write_gz(ip, img);
    write_gz(lp, lab);
  } else {
    write_file(ip, img);
    write_file(lp, lab);
  }
}

// Expects load_mnist to throw a DataError whose message names `file` and
// contains `what`, on one line.
void expect_error(const TempDir& d, const std::string& file, const std::string& what) {
  try {
    load_mnist(d.str(), "train");
    FAIL() << "no error; expected one about " << what;
  } catch (const DataError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(file), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Idx, ReadsRawGzipAndBothSpellings) {
  for (bool gz : {false, true})
    for (bool dotted : {false, true}) {
      TempDir d;
      write_split(d, "train", 5, gz, dotted);
      Dataset ds = load_mnist(d.str(), "train");
      ASSERT_EQ(ds.n, 5);
      ASSERT_EQ(ds.images.size(), 5u * 784);
      EXPECT_EQ(ds.images[0], 0);
      EXPECT_EQ(ds.images[784 * 2 + 3], 5);  // (image 2 + pixel 3) % 256
      EXPECT_EQ(ds.labels[4], 4);
    }
}

// A set of more than 2 MiB (the training set is 47 MB) grows through the
// reader's 1 MiB chunks from ordinary into large-page memory: it must end
// 2 MiB-aligned (the alignment madvise needs for huge pages) with every byte
// where it was read.
TEST(Idx, LargeSetEndsOnLargePageAlignedMemory) {
  TempDir d;
  const int n = 3000;  // 2.35 MB of pixels
  write_file(d.file("train-images-idx3-ubyte"), idx_images(n, n));
  write_file(d.file("train-labels-idx1-ubyte"), idx_labels(n, labels_of(n)));
  Dataset ds = load_mnist(d.str(), "train");
  ASSERT_EQ(ds.images.size(), std::size_t(n) * 784);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ds.images.data()) % kLargePage, 0u);
  std::size_t wrong = 0;
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < 784; ++p)
      wrong += ds.images[std::size_t(i) * 784 + p] != std::uint8_t((i + p) % 256);
  EXPECT_EQ(wrong, 0u);
  // The margin-grouped copy (the test set's) allocates the same way.
  Dataset g = grouped_by_margins(ds);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(g.images.data()) % kLargePage, 0u);
  // Below 2 MiB the allocator takes ordinary memory.
  ImageBytes small(784, 7);
  EXPECT_EQ(small[783], 7);
}

TEST(Idx, MissingFile) {
  TempDir d;
  expect_error(d, d.file("train-images-idx3-ubyte"), "not found");
}

TEST(Idx, WrongMagic) {
  TempDir d;
  write_split(d, "train", 3, false, false);
  write_file(d.file("train-images-idx3-ubyte"), idx_images(3, 3, 28, 28, 0x801));
  expect_error(d, "train-images-idx3-ubyte", "wrong magic");
  TempDir d2;
  write_split(d2, "train", 3, false, false);
  write_file(d2.file("train-labels-idx1-ubyte"), idx_labels(3, labels_of(3), 0x803));
  expect_error(d2, "train-labels-idx1-ubyte", "wrong magic");
}

TEST(Idx, WrongDimensions) {
  TempDir d;
  write_split(d, "train", 3, false, false);
  write_file(d.file("train-images-idx3-ubyte"), idx_images(3, 3, 32, 32));
  expect_error(d, "train-images-idx3-ubyte", "32x32, expected 28x28");
}

TEST(Idx, HeaderCountLargerThanData) {
  TempDir d;
  write_split(d, "train", 3, false, false);
  write_file(d.file("train-images-idx3-ubyte"), idx_images(10, 3));
  expect_error(d, "train-images-idx3-ubyte", "header says 10 images but the file holds only 3");
  TempDir d2;
  write_split(d2, "train", 3, false, false);
  write_file(d2.file("train-labels-idx1-ubyte"), idx_labels(7, labels_of(3)));
  expect_error(d2, "train-labels-idx1-ubyte", "header says 7 labels but the file holds only 3");
}

TEST(Idx, HugeHeaderCountDoesNotAllocateIt) {
  // 2^31/784 images would be 2 GB: the reader must fail on the bytes present
  // (a few KB), not try to allocate what the header claims.
  TempDir d;
  write_split(d, "train", 3, false, false);
  write_file(d.file("train-images-idx3-ubyte"), idx_images(2739000, 3));
  expect_error(d, "train-images-idx3-ubyte", "but the file holds only 3");
  TempDir d2;
  write_split(d2, "train", 3, false, false);
  write_file(d2.file("train-images-idx3-ubyte"), idx_images(0xffffffffu, 3));
  expect_error(d2, "train-images-idx3-ubyte", "too large");
}

TEST(Idx, TruncatedHeader) {
  TempDir d;
  write_split(d, "train", 3, false, false);
  auto img = idx_images(3, 3);
  img.resize(10);
  write_file(d.file("train-images-idx3-ubyte"), img);
  expect_error(d, "train-images-idx3-ubyte", "truncated header");
}

TEST(Idx, CountsDisagree) {
  TempDir d;
  write_file(d.file("train-images-idx3-ubyte"), idx_images(4, 4));
  write_file(d.file("train-labels-idx1-ubyte"), idx_labels(3, labels_of(3)));
  expect_error(d, "train-labels-idx1-ubyte", "holds 3 labels but");
}

TEST(Idx, LabelOutOfRange) {
  TempDir d;
  write_file(d.file("train-images-idx3-ubyte"), idx_images(3, 3));
  write_file(d.file("train-labels-idx1-ubyte"), idx_labels(3, {1, 12, 3}));
  expect_error(d, "train-labels-idx1-ubyte", "label 12 at index 1 is outside 0-9");
}

TEST(Idx, TrailingData) {
  TempDir d;
  write_split(d, "train", 3, false, false);
  auto img = idx_images(3, 4);  // one image more than the header says
  write_file(d.file("train-images-idx3-ubyte"), img);
  expect_error(d, "train-images-idx3-ubyte", "unexpected data after");
}

TEST(Idx, CorruptGzipStream) {
  TempDir d;
  write_split(d, "train", 3, true, false);
  const std::string p = d.file("train-images-idx3-ubyte.gz");
  auto bytes = read_file(p);
  ASSERT_GT(bytes.size(), 40u);
  for (std::size_t i = 20; i < bytes.size() - 8; i += 3)
    bytes[i] ^= 0x5a;  // mangle the deflate data
  write_file(p, bytes);
  expect_error(d, "train-images-idx3-ubyte.gz", "corrupt gzip stream");
}

TEST(Idx, TruncatedGzipStream) {
  TempDir d;
  write_split(d, "train", 50, true, false);
  const std::string p = d.file("train-images-idx3-ubyte.gz");
  auto bytes = read_file(p);
  bytes.resize(bytes.size() / 2);
  write_file(p, bytes);
  try {
    load_mnist(d.str(), "train");
    FAIL() << "truncated gzip accepted";
  } catch (const DataError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("train-images-idx3-ubyte.gz"), std::string::npos) << msg;
    // Either the stream error or the short count is a correct diagnosis.
    EXPECT_TRUE(msg.find("corrupt gzip") != std::string::npos ||
                msg.find("holds only") != std::string::npos)
        << msg;
  }
}

TEST(Idx, DirectoryInsteadOfFile) {
  TempDir d;
  std::filesystem::create_directories(d.file("train-images-idx3-ubyte"));
  write_file(d.file("train-labels-idx1-ubyte"), idx_labels(3, labels_of(3)));
  expect_error(d, "train-images-idx3-ubyte", "is a directory");
}

}  // namespace
}  // namespace cnn::test
