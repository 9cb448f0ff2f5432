// The PGM reader (src/pgm.h): P5 and P2, comments, 8- and 16-bit samples,
// any maxval; wrong sizes, truncation, bad magic and out-of-range samples
// are one-line errors naming the file.
#include <gtest/gtest.h>

#include "src/mnist.h"
#include "src/pgm.h"
#include "tests/test_util.h"

namespace cnn::test {
namespace {

std::string write(const TempDir& d, const std::string& name, const std::string& bytes) {
  write_file(d.file(name), std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
  return d.file(name);
}

void expect_error(const std::string& path, const std::string& what, int w = 28, int h = 28) {
  try {
    read_pgm(path, w, h);
    ADD_FAILURE() << path << " was accepted; expected: " << what;
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "expected '" << what << "' in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Pgm, ReadsP5AndP2WithComments) {
  TempDir d;
  std::string raster;
  for (int i = 0; i < 6; ++i) raster.push_back(char(i * 50));
  auto img = read_pgm(write(d, "a.pgm", "P5 # c\n#x\n3\t2 # c2\n255\n" + raster), 3, 2);
  EXPECT_EQ(img.width, 3);
  EXPECT_EQ(img.height, 2);
  EXPECT_EQ(img.maxval, 255);
  EXPECT_EQ(img.pixels, (std::vector<std::uint16_t>{0, 50, 100, 150, 200, 250}));
  // The single whitespace byte after maxval may itself be a pixel-like byte.
  auto img2 = read_pgm(write(d, "b.pgm", "P2\n# comment\n3 2\n7\n0 1 2\n# mid\n3 4 7\n"), 3, 2);
  EXPECT_EQ(img2.maxval, 7);
  EXPECT_EQ(img2.pixels, (std::vector<std::uint16_t>{0, 1, 2, 3, 4, 7}));
  auto x = pgm_to_input(img2);
  EXPECT_EQ(x[6 - 1], 1.0f);
  EXPECT_EQ(x[2], 2.0f / 7.0f);
}

TEST(Pgm, SixteenBitSamplesAreBigEndian) {
  TempDir d;
  const std::string raster = {'\x01', '\x02', '\xff', '\xff'};
  auto img = read_pgm(write(d, "a.pgm", "P5\n2 1\n65535\n" + raster), 2, 1);
  EXPECT_EQ(img.pixels, (std::vector<std::uint16_t>{0x0102, 0xffff}));
}

TEST(Pgm, MaxvalScalingMatchesTheTrainingConversion) {
  // v * 257 / 65535 and v / 255 are the same real number, each rounded
  // once: the 16-bit spelling of an image gives the identical input.
  PgmImage a, b;
  a.maxval = 255;
  b.maxval = 65535;
  for (unsigned v = 0; v < 256; ++v) {
    a.pixels.push_back(std::uint16_t(v));
    b.pixels.push_back(std::uint16_t(v * 257));
  }
  auto xa = pgm_to_input(a), xb = pgm_to_input(b);
  for (unsigned v = 0; v < 256; ++v) {
    EXPECT_EQ(xa[v], float(v) / 255.0f);
    EXPECT_EQ(xb[v], xa[v]) << v;
  }
}

TEST(Pgm, RejectsMalformedFiles) {
  TempDir d;
  const std::string full(784, '\x10');
  expect_error(write(d, "size.pgm", "P5\n32 32\n255\n" + std::string(1024, '\0')),
               "image is 32x32; the model takes 28x28 images (no resizing is done)");
  expect_error(write(d, "ppm.pgm", "P6\n28 28\n255\n" + full + full + full),
               "not a PGM image (expected the magic P5 or P2)");
  expect_error(write(d, "empty.pgm", ""), "not a PGM image");
  expect_error(write(d, "p55.pgm", "P55\n28 28\n255\n" + full), "not a PGM image");
  expect_error(write(d, "short.pgm", "P5\n28 28\n255\n" + full.substr(0, 700)),
               "truncated PGM: 700 of 784 pixels");
  expect_error(write(d, "short16.pgm", "P5\n28 28\n65535\n" + full),
               "truncated PGM: 392 of 784 pixels");
  expect_error(write(d, "noraster.pgm", "P5\n28 28\n255"), "truncated PGM: no pixel data");
  expect_error(write(d, "header.pgm", "P5\n28 28\n"), "truncated PGM header: no maxval");
  expect_error(write(d, "maxval0.pgm", "P5\n28 28\n0\n" + full), "maxval 0 is outside 1..65535");
  expect_error(write(d, "maxvalbig.pgm", "P5\n28 28\n70000\n" + full),
               "maxval 70000 is outside 1..65535");
  expect_error(write(d, "over.pgm", "P5\n28 28\n15\n" + full),
               "pixel value 16 exceeds the maxval 15");
  expect_error(write(d, "letters.pgm", "P2\n28 x\n255\n"), "expected a number for the height");
  std::string p2 = "P2\n28 28\n255\n";
  for (int i = 0; i < 700; ++i) p2 += "1 ";
  expect_error(write(d, "p2short.pgm", p2), "truncated PGM: 700 of 784 pixels");
  for (int i = 0; i < 85; ++i) p2 += "1 ";
  expect_error(write(d, "p2long.pgm", p2), "more pixel data than a 28x28 image holds");
  expect_error(d.file("missing.pgm"), "cannot open");
}

}  // namespace
}  // namespace cnn::test
