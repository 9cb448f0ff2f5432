// mnist_cnn: trains the MNIST CNN with a kernel backend chosen at run time.
// Command-line parsing is CLI11; every bad value is rejected with a one-line
// message and exit status 2 before any work starts.
#include <omp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <signal.h>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "kernels/registry.h"
#include "src/mnist.h"
#include "src/infer.h"
#include "src/model.h"
#include "src/model_io.h"
#include "src/profile_report.h"
#include "src/trainer.h"
#include "src/version.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_sigint(int) { g_stop = 1; }

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
  bool profile = false;
  std::string save_path, checkpoint_path, resume_path;  // src/model_io.h
  std::string model_path;                               // eval, predict
  std::vector<std::string> predict_files;

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
  app.add_flag("--profile", profile,
               "time every backend operation; after training print a table and write "
               "profile_<backend>.csv/.json next to the log");
  app.add_option("--save", save_path, "after training, write the model to this file (atomically)");
  app.add_option("--checkpoint", checkpoint_path,
                 "after every epoch, write the full training state to this file (atomically)");
  auto* resume_opt = app.add_option(
      "--resume", resume_path,
      "continue from a --checkpoint file with its seed, batch and lr; --epochs is the total");
  // Subcommands; without one, mnist_cnn trains. The backend options are
  // accepted after the subcommand's name too (bound to the same variables).
  auto* eval_cmd = app.add_subcommand(
      "eval", "test accuracy, confusion matrix and per-class accuracy of a saved model");
  auto* predict_cmd = app.add_subcommand(
      "predict", "classify 28x28 images (PGM P5/P2, or IDX_FILE:INDEX) with a saved model");
  std::vector<CLI::Option*> threads_opts;
  for (auto* sub : {eval_cmd, predict_cmd}) {
    sub->add_option("--model", model_path, "model file written by --save (or a checkpoint)")
        ->required();
    sub->add_option("--backend", backend, "kernel backend; auto = fastest")->capture_default_str();
    sub->add_option("--isa", isa, "instruction-set path (as for training)");
    threads_opts.push_back(sub->add_option("--threads", threads, "worker threads"));
  }
  eval_cmd->add_option("--data-dir", data_dir, "directory holding the MNIST test files")
      ->capture_default_str();
  predict_cmd->add_option("files", predict_files, "FILE.pgm or IDX_FILE:INDEX, one or more")
      ->required();
  app.require_subcommand(0, 1);

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
  bool threads_given = threads_opt->count() > 0;
  for (auto* o : threads_opts) threads_given |= o->count() > 0;
  if (threads_given && threads < 1)
    return usage_error("--threads must be >= 1 (got " + std::to_string(threads) + ")");
  if (!threads_given) threads = omp_get_max_threads();
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
  if (eval_cmd->parsed() || predict_cmd->parsed()) {
    const std::string cmd = eval_cmd->parsed() ? "eval" : "predict";
    for (const CLI::Option* o : app.get_options()) {
      const bool shared = o->check_lname("backend") || o->check_lname("isa") ||
                          o->check_lname("threads") || o->check_lname("data-dir");
      if (o->count() > 0 && !shared)
        return usage_error(o->get_name() + " is a training option; " + cmd + " does not take it");
    }
    InferOptions io;
    io.model_path = model_path;
    io.data_dir = data_dir;
    io.backend = info;
    io.backend_opts.threads = threads;
    io.backend_opts.isa = isa;
    return eval_cmd->parsed() ? eval_command(io, std::cout, std::cerr)
                              : predict_command(io, predict_files, std::cout, std::cerr);
  }

  // --resume: the checkpoint fixes the seed, batch and learning rate; an
  // explicit different value is an error, never silently ignored.
  Checkpoint ckpt;
  if (*resume_opt) {
    try {
      ckpt = load_checkpoint(resume_path);
    } catch (const ModelError& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
    const TrainState& s = ckpt.state;
    const std::string from = " differs from the checkpoint's ";
    if (*seed_opt && seed != s.seed)
      return usage_error("--seed " + std::to_string(seed) + from + std::to_string(s.seed));
    if (app.get_option("--batch")->count() && batch != s.batch)
      return usage_error("--batch " + std::to_string(batch) + from + std::to_string(s.batch));
    if (app.get_option("--lr")->count() && lr != s.lr)
      return usage_error("--lr " + std::to_string(lr) + from + std::to_string(s.lr));
    if (epochs <= s.epochs_done)
      return usage_error("--epochs " + std::to_string(epochs) + ": " + resume_path + " already holds " +
                         std::to_string(s.epochs_done) + " epoch(s); --epochs is the total");
    seed = s.seed;
    batch = s.batch;
    lr = s.lr;
  }
  if (!save_path.empty() && save_path == checkpoint_path)
    return usage_error("--save and --checkpoint must name different files");
  // Before any work, without touching an existing file at either path.
  for (const std::string* path : {&save_path, &checkpoint_path}) {
    if (path->empty()) continue;
    try {
      check_writable(*path);
    } catch (const ModelError& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }

  if (!*seed_opt && !*resume_opt)
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
    if (*resume_opt) {
      if (ckpt.state.indices.size() != std::size_t(train_set.n))
        throw DataError(resume_path + ": the checkpoint was made on a training set of " +
                        std::to_string(ckpt.state.indices.size()) + " images; " + data_dir +
                        " holds " + std::to_string(train_set.n));
      params = ckpt.params;  // the trainer restores the RNG and the index order
      cfg.resume = &ckpt.state;
      std::cout << "Resuming from " << resume_path << " after epoch " << ckpt.state.epochs_done
                << std::endl;
    }
    if (!checkpoint_path.empty())
      cfg.on_epoch_end = [&](const Params& p, const TrainState& s) {
        save_checkpoint(checkpoint_path, p, s);
      };
    cfg.epochs = epochs;
    cfg.batch = batch;
    cfg.lr = lr;
    cfg.seed = seed;
    cfg.progress = isatty(STDOUT_FILENO);
    std::cout << "Training CNN: epochs=" << epochs << " batch=" << batch << " lr=" << lr
              << std::endl;
    Profiler prof;
    if (profile) be->set_profiler(&prof);
    // SIGINT stops at the end of the current batch (the handler only sets a
    // flag); a second SIGINT gets the default action and ends the process.
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    cfg.stop = &g_stop;
    TrainResult res =
        train(*be, params, rng, cfg, train_set, test_set, std::cout, log_path.empty() ? nullptr : &log);
    if (!save_path.empty()) {
      save_model(save_path, params);
      std::cout << "Saved model to " << save_path << std::endl;
    }
    if (profile)
      report_profile(prof,
                     make_profile_info(*be, batch, int(res.epoch_seconds.size()), res.train_seconds),
                     std::cout, profile_dir_for_log(log_path));
    if (res.interrupted) return 130;
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
