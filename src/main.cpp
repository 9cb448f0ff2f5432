// mnist_cnn: trains the MNIST CNN with a kernel backend chosen at run time.
// Command-line parsing is CLI11; every bad value is rejected with a one-line
// message and exit status 2 before any work starts.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "kernels/registry.h"
#include "src/mnist.h"
#include "src/model.h"
#include "src/trainer.h"
#include "src/version.h"

namespace {

int usage_error(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cnn;
  CLI::App app{"Train a small CNN on MNIST with interchangeable CPU kernel backends."};
  app.set_version_flag("--version", std::string("mnist_cnn ") + CNN_MNIST_VERSION);

  std::string backend = "auto";
  std::string isa;
  int epochs = 3, batch = 32, threads = 0;
  float lr = 0.01f;
  std::uint64_t seed = 0;
  std::string data_dir = "data";
  std::string log_path = "logs/training_loss_cnn.txt";
  bool list = false;

  app.add_option("--backend", backend, "kernel backend (see --list-backends); auto = fastest")
      ->capture_default_str();
  app.add_flag("--list-backends", list, "print the backends and exit");
  app.add_option("--isa", isa,
                 "lower the instruction-set path of backends that have several "
                 "(avx512, avx2, portable); default: the best the CPU supports");
  app.add_option("--epochs", epochs, "training epochs (>= 1)")->capture_default_str();
  app.add_option("--batch", batch, "mini-batch size (>= 1)")->capture_default_str();
  app.add_option("--lr", lr, "SGD learning rate (finite, > 0)")->capture_default_str();
  auto* seed_opt = app.add_option("--seed", seed, "RNG seed (default: from the clock; printed)");
  auto* threads_opt = app.add_option(
      "--threads", threads, "worker threads for threaded backends (default: OMP_NUM_THREADS or all cores)");
  app.add_option("--data-dir", data_dir, "directory holding the MNIST IDX files")
      ->capture_default_str();
  app.add_option("--log", log_path, "CSV log of epoch,loss,time")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }

  if (list) {
    for (const auto& b : backend_registry()) std::cout << b.name << "  " << b.description << "\n";
    return 0;
  }
  if (epochs < 1) return usage_error("--epochs must be >= 1 (got " + std::to_string(epochs) + ")");
  if (batch < 1) return usage_error("--batch must be >= 1 (got " + std::to_string(batch) + ")");
  if (!std::isfinite(lr) || lr <= 0.0f)
    return usage_error("--lr must be a finite number > 0 (got " + std::to_string(lr) + ")");
  if (*threads_opt && threads < 1)
    return usage_error("--threads must be >= 1 (got " + std::to_string(threads) + ")");
  if (!*threads_opt) threads = omp_get_max_threads();
  omp_set_num_threads(threads);

  const BackendInfo* info = nullptr;
  try {
    info = &find_backend(backend);
  } catch (const UnknownBackend& e) {
    return usage_error(std::string("--backend: ") + e.what());
  }
  if (!isa.empty()) {
    auto paths = info->isa_paths();
    if (std::find(paths.begin(), paths.end(), isa) == paths.end()) {
      std::string avail;
      for (const auto& p : paths) avail += (avail.empty() ? "" : ", ") + p;
      return usage_error("--isa: backend " + info->name + " cannot run path '" + isa +
                         "' on this CPU (available: " + avail + ")");
    }
  }
  if (!*seed_opt)
    seed = static_cast<std::uint64_t>(
        std::chrono::system_clock::now().time_since_epoch().count());

  // Open the log before any work, so an unwritable path fails fast.
  std::ofstream log;
  if (!log_path.empty()) {
    std::error_code ec;
    auto parent = std::filesystem::path(log_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    log.open(log_path);
    if (!log) {
      std::cerr << "error: " << log_path << ": cannot open the log for writing\n";
      return 1;
    }
  }

  try {
    std::cout << "Loading MNIST..." << std::endl;
    Dataset train_set = load_mnist(data_dir, "train");
    Dataset test_set = load_mnist(data_dir, "t10k");
    std::cout << "Train: " << train_set.n << " | Test: " << test_set.n << std::endl;

    BackendOptions bopt;
    bopt.threads = threads;
    bopt.isa = isa;
    auto be = info->make(bopt);
    std::cout << "Backend: " << be->name() << " | isa=" << be->isa()
              << " | threads=" << be->threads() << std::endl;
    std::cout << "Seed: " << seed << std::endl;

    Rng rng(seed);
    Params params;
    init_params(params, rng);
    TrainConfig cfg;
    cfg.epochs = epochs;
    cfg.batch = batch;
    cfg.lr = lr;
    cfg.seed = seed;
    std::cout << "Training CNN: epochs=" << epochs << " batch=" << batch << " lr=" << lr
              << std::endl;
    train(*be, params, rng, cfg, train_set, test_set, std::cout, log_path.empty() ? nullptr : &log);
  } catch (const DataError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const DivergedError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
