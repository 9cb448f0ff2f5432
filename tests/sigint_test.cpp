// SIGINT during training: the run stops at the end of the current batch,
// keeps the log rows written so far, saves the model so far with --save,
// and exits with status 130.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "src/model_io.h"
#include "tests/test_util.h"

namespace cnn::test {
namespace {

TEST(Sigint, StopsAtBatchEndKeepsLogAndSavesModel) {
  TempDir d;
  write_tiny_mnist(d, 3000, 40);
  const std::string log = d.file("log.csv"), model = d.file("model.bin");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    const std::string bin = std::string(CNN_BINARY_DIR) + "/mnist_cnn", emu = CNN_EMULATOR;
    const std::string dir = d.str();
    // A cross build's binary runs behind its emulator (one word: qemu-aarch64).
    std::vector<const char*> argv;
    if (!emu.empty()) argv.push_back(emu.c_str());
    for (const char* a : {bin.c_str(), "--backend", "naive", "--seed", "1", "--epochs", "1000",
                          "--data-dir", dir.c_str(), "--log", log.c_str(), "--save", model.c_str()})
      argv.push_back(a);
    argv.push_back(nullptr);
    execvp(argv[0], const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  close(fds[1]);
  // Wait for the first epoch line, then interrupt mid-way through a later epoch.
  std::string out;
  char buf[4096];
  bool signalled = false;
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, std::size_t(n));
    if (!signalled && out.find("Epoch 1 |") != std::string::npos) {
      usleep(50 * 1000);
      kill(pid, SIGINT);
      signalled = true;
    }
  }
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(signalled) << out;
  ASSERT_TRUE(WIFEXITED(st)) << out;
  EXPECT_EQ(WEXITSTATUS(st), 130) << out;
  EXPECT_NE(out.find("Interrupted: stopped after batch"), std::string::npos) << out;
  EXPECT_EQ(out.find("Test Accuracy"), std::string::npos) << out;
  auto bytes = read_file(log);
  std::string csv(bytes.begin(), bytes.end());
  EXPECT_EQ(csv.rfind("epoch,loss,time\n1,", 0), 0u) << csv;
  // The model so far was saved and loads.
  EXPECT_NO_THROW(load_model(model)) << out;
}

}  // namespace
}  // namespace cnn::test
