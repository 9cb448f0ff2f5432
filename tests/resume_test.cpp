// --checkpoint / --resume through the built binary, on a tiny data set: a
// run of 3 epochs interrupted after epoch 1 (or after every epoch) and
// resumed ends bit-identical to the uninterrupted run (same model file
// bytes, same printed losses and accuracy, the CSV log holding every epoch)
// for naive and for the fastest registered backend ("auto"). Conflicting
// options on resume are rejected.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "src/model_io.h"
#include "tests/test_util.h"

namespace cnn::test {
namespace {

// Loss strings by epoch, from "Epoch N | loss=X" lines.
std::map<int, std::string> printed_losses(const std::string& out) {
  std::map<int, std::string> m;
  std::regex re("Epoch (\\d+) \\| loss=([0-9.]+)");
  for (std::sregex_iterator it(out.begin(), out.end(), re), end; it != end; ++it)
    m[std::stoi((*it)[1])] = (*it)[2];
  return m;
}

std::string accuracy_line(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex("Test Accuracy: [0-9.]+%")) ? m.str() : "";
}

// CSV rows (epoch -> loss) of a log.
std::map<int, std::string> logged_losses(const std::string& path) {
  auto b = read_file(path);
  std::string csv(b.begin(), b.end());
  std::map<int, std::string> m;
  std::regex re("(\\d+),([0-9.]+),[0-9.]+\n");
  for (std::sregex_iterator it(csv.begin(), csv.end(), re), end; it != end; ++it)
    m[std::stoi((*it)[1])] = (*it)[2];
  EXPECT_EQ(csv.rfind("epoch,loss,time\n", 0), 0u) << csv;
  return m;
}

class Resume : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { write_tiny_mnist(d_); }
  // Training options shared by every run; batch 10 leaves a short last batch.
  std::string common() const {
    return "--backend " + GetParam() + " --threads 2 --batch 10 --lr 0.05 --data-dir " + d_.str();
  }
  TempDir d_;
};

TEST_P(Resume, InterruptedAfterEpoch1EqualsUninterrupted) {
  RunResult full =
      run_cli(common() + " --seed 11 --epochs 3 --log " + d_.file("full.csv") + " --save " +
              d_.file("full.bin") + " --checkpoint " + d_.file("full.ckpt"));
  ASSERT_EQ(full.status, 0) << full.output;
  RunResult first = run_cli(common() + " --seed 11 --epochs 1 --log " + d_.file("part.csv") +
                            " --checkpoint " + d_.file("part.ckpt"));
  ASSERT_EQ(first.status, 0) << first.output;
  // --epochs is the total; seed, batch and lr come from the checkpoint.
  RunResult rest =
      run_cli("--backend " + GetParam() + " --threads 2 --data-dir " + d_.str() +
              " --epochs 3 --resume " + d_.file("part.ckpt") + " --log " + d_.file("part.csv") +
              " --save " + d_.file("part.bin") + " --checkpoint " + d_.file("part.ckpt"));
  ASSERT_EQ(rest.status, 0) << rest.output;
  EXPECT_NE(rest.output.find("Resuming from " + d_.file("part.ckpt") + " after epoch 1"),
            std::string::npos)
      << rest.output;
  EXPECT_NE(rest.output.find("Training CNN: epochs=3 batch=10 lr=0.05"), std::string::npos)
      << rest.output;

  // Bit-identical parameters: the model files are equal byte for byte.
  EXPECT_EQ(read_file(d_.file("full.bin")), read_file(d_.file("part.bin")));
  // So are the final checkpoints, apart from the epoch times.
  Checkpoint a = load_checkpoint(d_.file("full.ckpt")), b = load_checkpoint(d_.file("part.ckpt"));
  EXPECT_EQ(a.state.epochs_done, 3);
  EXPECT_EQ(b.state.epochs_done, 3);
  EXPECT_EQ(a.state.rng_state, b.state.rng_state);
  EXPECT_EQ(a.state.indices, b.state.indices);
  ASSERT_EQ(b.state.rows.size(), 3u);
  for (int e = 0; e < 3; ++e) EXPECT_EQ(a.state.rows[e].loss, b.state.rows[e].loss) << e;

  // The same printed losses and accuracy.
  const auto lf = printed_losses(full.output), l1 = printed_losses(first.output),
             lr = printed_losses(rest.output);
  ASSERT_EQ(lf.size(), 3u) << full.output;
  EXPECT_EQ(l1.at(1), lf.at(1));
  ASSERT_EQ(lr.size(), 3u) << rest.output;  // epoch 1 shown again, from the checkpoint
  EXPECT_EQ(lr, lf);
  EXPECT_NE(rest.output.find("(from the checkpoint)"), std::string::npos) << rest.output;
  EXPECT_FALSE(accuracy_line(full.output).empty()) << full.output;
  EXPECT_EQ(accuracy_line(rest.output), accuracy_line(full.output));
  // The log holds the earlier rows, then the new ones.
  EXPECT_EQ(logged_losses(d_.file("part.csv")), lf);
  EXPECT_EQ(logged_losses(d_.file("full.csv")), lf);
}

TEST_P(Resume, ResumedAfterEveryEpochEqualsUninterrupted) {
  RunResult full = run_cli(common() + " --seed 3 --epochs 3 --log " + d_.file("full.csv") +
                           " --save " + d_.file("full.bin"));
  ASSERT_EQ(full.status, 0) << full.output;
  const std::string ck = d_.file("c.ckpt");
  RunResult r =
      run_cli(common() + " --seed 3 --epochs 1 --log " + d_.file("l.csv") + " --checkpoint " + ck);
  ASSERT_EQ(r.status, 0) << r.output;
  for (int e = 2; e <= 3; ++e) {
    r = run_cli(common() + " --epochs " + std::to_string(e) + " --resume " + ck + " --checkpoint " +
                ck + " --log " + d_.file("l.csv") +
                (e == 3 ? " --save " + d_.file("part.bin") : ""));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  EXPECT_EQ(read_file(d_.file("full.bin")), read_file(d_.file("part.bin")));
  EXPECT_EQ(printed_losses(r.output), printed_losses(full.output));
  EXPECT_EQ(logged_losses(d_.file("l.csv")), printed_losses(full.output));
}

INSTANTIATE_TEST_SUITE_P(Backends, Resume, ::testing::Values("naive", "auto"));

TEST(ResumeErrors, ConflictsAndBadCheckpointsAreRejected) {
  TempDir d;
  write_tiny_mnist(d);
  const std::string ck = d.file("c.ckpt"),
                    base = "--backend naive --data-dir " + d.str() + " --log " + d.file("l.csv");
  ASSERT_EQ(run_cli(base + " --seed 5 --batch 10 --epochs 2 --checkpoint " + ck + " --save " +
                    d.file("m.bin"))
                .status,
            0);
  struct Case {
    std::string args, what;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"--epochs 2 --resume " + ck, "already holds 2 epoch(s); --epochs is the total", 2},
           {"--epochs 1 --resume " + ck, "already holds 2 epoch(s)", 2},
           {"--epochs 3 --seed 6 --resume " + ck, "--seed 6 differs from the checkpoint's 5", 2},
           {"--epochs 3 --batch 32 --resume " + ck, "--batch 32 differs from the checkpoint's 10",
            2},
           {"--epochs 3 --lr 0.5 --resume " + ck, "--lr 0.500000 differs", 2},
           {"--epochs 3 --resume " + d.file("m.bin"), "is a model file, not a checkpoint", 1},
           {"--epochs 3 --resume " + d.file("none.ckpt"), "none.ckpt: cannot open", 1},
       }) {
    RunResult r = run_cli(base + " " + c.args);
    EXPECT_EQ(r.status, c.status) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.what), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output.find("Loading"), std::string::npos) << c.args << "\n" << r.output;
  }
  // The same seed, batch and lr given explicitly are fine.
  RunResult r = run_cli(base + " --epochs 3 --seed 5 --batch 10 --lr 0.01 --resume " + ck);
  EXPECT_EQ(r.status, 0) << r.output;
  // A checkpoint of another training set size.
  TempDir other;
  write_file(other.file("train-images-idx3-ubyte"), idx_images(50, 50));
  write_file(other.file("train-labels-idx1-ubyte"),
             idx_labels(50, std::vector<std::uint8_t>(50, 1)));
  write_file(other.file("t10k-images-idx3-ubyte"), idx_images(5, 5));
  write_file(other.file("t10k-labels-idx1-ubyte"), idx_labels(5, std::vector<std::uint8_t>(5, 1)));
  r = run_cli("--backend naive --data-dir " + other.str() + " --log " + d.file("l2.csv") +
              " --epochs 3 --resume " + ck);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(
      r.output.find("error: " + ck + ": the checkpoint was made on a training set of 96 images"),
      std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace cnn::test
