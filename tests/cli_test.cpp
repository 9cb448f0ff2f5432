// The command line, end to end through the built binary: every out-of-range
// value is rejected with exit status 2 before any work, bad data gives a
// one-line error naming the file, and a small run prints the baseline's lines
// and writes the CSV log.
#include <gtest/gtest.h>

#include "src/version.h"
#include "tests/test_util.h"

namespace cnn::test {
namespace {

void expect_usage_error(const std::string& args, const std::string& what) {
  TempDir d;  // no data: the check must come before any loading
  RunResult r = run_cli(args + " --data-dir " + d.str() + " --log " + d.file("log.txt"));
  EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(what), std::string::npos) << args << "\n" << r.output;
  EXPECT_EQ(r.output.find("Loading"), std::string::npos) << args << "\n" << r.output;
}

TEST(Cli, RejectsOutOfRangeValues) {
  expect_usage_error("--epochs 0", "--epochs");
  expect_usage_error("--epochs -3", "--epochs");
  expect_usage_error("--batch 0", "--batch");
  expect_usage_error("--lr 0", "--lr");
  expect_usage_error("--lr -0.5", "--lr");
  expect_usage_error("--lr nan", "--lr");
  expect_usage_error("--lr inf", "--lr");
  expect_usage_error("--threads 0", "--threads");
  expect_usage_error("--epochs abc", "--epochs");
  expect_usage_error("--no-such-flag", "no-such-flag");
}

TEST(Cli, UnknownBackendListsTheValidOnes) {
  expect_usage_error("--backend bogus", "unknown backend 'bogus' (valid: auto, ");
  RunResult r = run_cli("--backend bogus");
  EXPECT_NE(r.output.find("naive"), std::string::npos) << r.output;
}

TEST(Cli, UnsupportedIsaIsAUsageError) {
  expect_usage_error("--backend naive --isa avx9000", "--isa");
}

TEST(Cli, ListsBackendsVersionAndHelp) {
  RunResult r = run_cli("--list-backends");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("naive"), std::string::npos) << r.output;
  r = run_cli("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find(CNN_MNIST_VERSION), std::string::npos) << r.output;
  r = run_cli("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--backend", "--epochs", "--batch", "--lr", "--seed", "--threads",
                           "--data-dir", "--log", "--list-backends", "--version"})
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
}

TEST(Cli, MissingDataSaysHowToFetch) {
  TempDir d;
  RunResult r = run_cli("--data-dir " + d.str() + "/nope --log " + d.file("log.txt"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("not found"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fetch_mnist.sh"), std::string::npos) << r.output;
}

TEST(Cli, MalformedDataIsOneLineNamingTheFile) {
  TempDir d;
  write_tiny_mnist(d);
  write_file(d.file("t10k-labels-idx1-ubyte"), idx_labels(40, std::vector<std::uint8_t>(40, 11)));
  RunResult r = run_cli("--data-dir " + d.str() + " --log " + d.file("log.txt"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("error: " + d.file("t10k-labels-idx1-ubyte") + ": label 11"),
            std::string::npos)
      << r.output;
}

TEST(Cli, SmallRunPrintsBaselineLinesAndWritesTheLog) {
  TempDir d;
  write_tiny_mnist(d);
  const std::string log = d.file("sub/dir/loss.csv");
  RunResult r = run_cli("--backend naive --seed 7 --epochs 2 --batch 10 --lr 0.05 --data-dir " +
                        d.str() + " --log " + log);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* line : {"Loading MNIST...", "Train: 96 | Test: 40", "Backend: naive", "Seed: 7",
                           "Training CNN: epochs=2 batch=10 lr=0.05",
                           "Epoch 1 | loss=", "Epoch 2 | loss=", "Testing...", "Test Accuracy: "})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  auto bytes = read_file(log);
  std::string csv(bytes.begin(), bytes.end());
  EXPECT_EQ(csv.rfind("epoch,loss,time\n1,", 0), 0u) << csv;
  EXPECT_NE(csv.find("\n2,"), std::string::npos) << csv;
}

TEST(Cli, SeedFromTheClockIsPrinted) {
  TempDir d;
  write_tiny_mnist(d);
  RunResult r =
      run_cli("--backend naive --epochs 1 --data-dir " + d.str() + " --log " + d.file("l"));
  ASSERT_EQ(r.status, 0) << r.output;
  auto pos = r.output.find("Seed: ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(r.output[pos + 6]))) << r.output;
}

TEST(Cli, DivergingRunStopsWithAClearMessage) {
  TempDir d;
  write_tiny_mnist(d);
  RunResult r = run_cli("--backend naive --seed 1 --epochs 3 --lr 1e30 --data-dir " + d.str() +
                        " --log " + d.file("l"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("diverged"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Test Accuracy"), std::string::npos) << r.output;
}

TEST(Cli, UnwritableLogFailsBeforeTraining) {
  TempDir d;
  write_tiny_mnist(d);
  write_file(d.file("afile"), {1});
  RunResult r =
      run_cli("--backend naive --data-dir " + d.str() + " --log " + d.file("afile/log.txt"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("afile/log.txt"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Loading"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cnn::test
