// `mnist_cnn eval` and `predict` through the built binary: eval of a saved
// model prints exactly the accuracy the training run that saved it printed,
// with a consistent confusion matrix; predict on an MNIST test image written
// as PGM (P5, P2, 16-bit) gives the digit and probabilities of the model's
// forward pass on the IDX data.
#include <gtest/gtest.h>

#include <numeric>
#include <regex>
#include <set>
#include <sstream>

#include "kernels/registry.h"
#include "src/infer.h"
#include "src/mnist.h"
#include "src/model_io.h"
#include "src/trainer.h"
#include "tests/test_util.h"

namespace cnn::test {
namespace {

std::string accuracy_line(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex("Test Accuracy: [0-9.]+%")) ? m.str() : "";
}

class Eval : public ::testing::TestWithParam<std::string> {};

TEST_P(Eval, SavedModelGivesTheTrainingRunsAccuracy) {
  TempDir d;
  write_tiny_mnist(d);
  RunResult train =
      run_cli("--backend " + GetParam() + " --seed 2 --epochs 2 --batch 10 --lr 0.05 --data-dir " +
              d.str() + " --log " + d.file("l.csv") + " --save " + d.file("m.bin"));
  ASSERT_EQ(train.status, 0) << train.output;
  EXPECT_NE(train.output.find("Saved model to " + d.file("m.bin")), std::string::npos)
      << train.output;
  const std::string acc = accuracy_line(train.output);
  ASSERT_FALSE(acc.empty()) << train.output;

  for (const std::string& be : {GetParam(), std::string("naive")}) {
    RunResult ev =
        run_cli("eval --model " + d.file("m.bin") + " --data-dir " + d.str() + " --backend " + be);
    ASSERT_EQ(ev.status, 0) << ev.output;
    EXPECT_EQ(accuracy_line(ev.output), acc) << be << "\n" << ev.output;
    // Confusion matrix: 10 rows of 10 counts summing to the 40 test images,
    // the diagonal agreeing with the per-class lines and the accuracy.
    auto pos = ev.output.find("Confusion matrix");
    ASSERT_NE(pos, std::string::npos) << ev.output;
    std::istringstream in(ev.output.substr(pos));
    std::string line;
    std::getline(in, line);
    std::getline(in, line);  // column header
    int total = 0, diag = 0;
    std::vector<int> row_sum(10), row_diag(10);
    for (int i = 0; i < 10; ++i) {
      std::getline(in, line);
      std::istringstream ls(line);
      int label;
      ls >> label;
      EXPECT_EQ(label, i) << line;
      for (int j = 0; j < 10; ++j) {
        int v = -1;
        ls >> v;
        ASSERT_GE(v, 0) << line;
        row_sum[i] += v;
        if (i == j) row_diag[i] = v;
      }
      total += row_sum[i];
      diag += row_diag[i];
    }
    EXPECT_EQ(total, 40);
    char want[64];
    std::snprintf(want, sizeof want, "Test Accuracy: %.2f%%", double(100.0f * float(diag) / 40.0f));
    EXPECT_EQ(acc, want);
    std::getline(in, line);
    EXPECT_EQ(line, "Per-class accuracy:");
    for (int i = 0; i < 10; ++i) {
      std::getline(in, line);
      if (row_sum[i] == 0) {
        EXPECT_NE(line.find("n/a"), std::string::npos) << line;
      } else {
        EXPECT_NE(
            line.find("(" + std::to_string(row_diag[i]) + "/" + std::to_string(row_sum[i]) + ")"),
            std::string::npos)
            << line;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Eval, ::testing::Values("naive", "auto"));

TEST(EvalCli, UsageErrors) {
  TempDir d;
  RunResult r = run_cli("eval --data-dir " + d.str());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--model"), std::string::npos) << r.output;
  r = run_cli("eval --model m --epochs 5");
  EXPECT_EQ(r.status, 2) << r.output;
  r = run_cli("--epochs 5 eval --model m");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--epochs is a training option; eval does not take it"),
            std::string::npos)
      << r.output;
  r = run_cli("eval --model m --backend bogus");
  EXPECT_EQ(r.status, 2) << r.output;
  r = run_cli("predict --model m");
  EXPECT_EQ(r.status, 2) << r.output;
  r = run_cli("eval --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("--model"), std::string::npos) << r.output;
  r = run_cli("--help");
  EXPECT_NE(r.output.find("eval"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("predict"), std::string::npos) << r.output;
  for (const char* f : {"--save", "--checkpoint", "--resume"})
    EXPECT_NE(r.output.find(f), std::string::npos) << f;
}

// PGM bytes of one 28x28 image.
std::vector<std::uint8_t> pgm(const std::uint8_t* px, bool binary, int maxval) {
  std::string h = std::string(binary ? "P5" : "P2") + "\n# written by infer_test\n28 28\n" +
                  std::to_string(maxval) + "\n";
  std::vector<std::uint8_t> v(h.begin(), h.end());
  for (int k = 0; k < kImgPixels; ++k) {
    // Scaled so that v / maxval == byte / 255 exactly (maxval = 255 * m).
    const unsigned s = px[k] * unsigned(maxval / 255);
    if (!binary) {
      std::string t = std::to_string(s) + (k % 28 == 27 ? "\n" : " ");
      v.insert(v.end(), t.begin(), t.end());
    } else if (maxval > 255) {
      v.push_back(std::uint8_t(s >> 8));
      v.push_back(std::uint8_t(s));
    } else {
      v.push_back(std::uint8_t(s));
    }
  }
  return v;
}

TEST(Predict, PgmOfATestImageMatchesTheForwardPassOnIdx) {
  TempDir d;
  write_tiny_mnist(d);
  ASSERT_EQ(run_cli("--backend naive --seed 4 --epochs 3 --batch 8 --lr 0.05 --data-dir " +
                    d.str() + " --log " + d.file("l.csv") + " --save " + d.file("m.bin"))
                .status,
            0);
  // Real MNIST test images when data/ has them, else the tiny set's.
  std::string images;
  try {
    images = find_idx_file(std::string(CNN_SOURCE_DIR) + "/data", "t10k-images", "idx3-ubyte");
  } catch (const DataError&) {
    images = d.file("t10k-images-idx3-ubyte");
  }
  int count = 0;
  const auto pixels = read_idx_images(images, &count);
  ASSERT_GE(count, 12);

  // The model's forward pass on the IDX data, in process.
  const Params p = load_model(d.file("m.bin"));
  auto be = make_backend("naive");
  be->prepare(12);
  Dataset set;
  set.n = 12;
  set.images.assign(pixels.begin(), pixels.begin() + 12 * kImgPixels);
  set.labels.assign(12, 0);
  Workspace ws(12);
  std::vector<std::uint32_t> idx(12);
  std::iota(idx.begin(), idx.end(), 0u);
  gather_batch(set, idx.data(), 12, ws.x.data(), ws.labels.data());
  be->forward_infer(12, p, ws);

  std::string args = "predict --backend naive --model " + d.file("m.bin");
  for (int i = 0; i < 12; ++i) {
    const std::uint8_t* px = pixels.data() + std::size_t(i) * kImgPixels;
    const std::string s = std::to_string(i);
    write_file(d.file(s + "_p5.pgm"), pgm(px, true, 255));
    write_file(d.file(s + "_p2.pgm"), pgm(px, false, 255));
    write_file(d.file(s + "_p5_16.pgm"), pgm(px, true, 65535));
    args += " " + d.file(s + "_p5.pgm") + " " + d.file(s + "_p2.pgm") + " " +
            d.file(s + "_p5_16.pgm") + " " + images + ":" + s;
  }
  RunResult r = run_cli(args);
  ASSERT_EQ(r.status, 0) << r.output;
  std::set<int> digits;
  for (int i = 0; i < 12; ++i) {
    const float* z = ws.logits.data() + i * kClasses;
    int want = 0;
    for (int j = 1; j < kClasses; ++j)
      if (z[j] > z[want]) want = j;
    digits.insert(want);
    const std::string s = std::to_string(i);
    // The IDX line gives the digit; every PGM spelling the very same line.
    const std::string pre = images + ":" + s + ": ";
    const auto pos = r.output.find(pre);
    ASSERT_NE(pos, std::string::npos) << r.output;
    const auto start = pos + pre.size();
    const std::string tail = r.output.substr(start, r.output.find('\n', start) - start);
    EXPECT_EQ(tail.substr(0, 2), std::to_string(want) + " ") << "image " << i << ": " << tail;
    for (const char* kind : {"_p5.pgm", "_p2.pgm", "_p5_16.pgm"})
      EXPECT_NE(r.output.find(d.file(s + kind) + ": " + tail + "\n"), std::string::npos)
          << kind << " " << i << "\n"
          << r.output;
  }
  // The check means something only if the model tells images apart.
  EXPECT_GE(digits.size(), 2u);
}

TEST(Predict, BadImagesAreOneLineErrorsAndTheOthersStillRun) {
  TempDir d;
  write_tiny_mnist(d);
  Params p;
  save_model(d.file("m.bin"), p);
  std::string bad = "P5\n27 28\n255\n" + std::string(27 * 28, '\0');
  write_file(d.file("small.pgm"), std::vector<std::uint8_t>(bad.begin(), bad.end()));
  RunResult r = run_cli("predict --model " + d.file("m.bin") + " " + d.file("small.pgm") + " " +
                        d.file("t10k-images-idx3-ubyte") + ":39 " +
                        d.file("t10k-images-idx3-ubyte") + ":40 " + d.file("missing.pgm"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("error: " + d.file("small.pgm") +
                          ": image is 27x28; the model takes 28x28 images (no resizing is done)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(d.file("t10k-images-idx3-ubyte") + ":39: "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("image index 40 is out of range (the file holds 40 images"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("error: " + d.file("missing.pgm") + ": cannot open"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace cnn::test
