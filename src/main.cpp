// mnist_cnn: trains the MNIST CNN with a kernel backend chosen at run time;
// the eval and predict subcommands apply a saved model instead.
// Command-line parsing is CLI11; every bad value is rejected with a one-line
// message and exit status 2 before any work starts.
//
// Exit status: 0 done; 1 a file that cannot be read or written (data, model,
// checkpoint, log); 2 a bad command line; 3 training diverged (the loss
// became NaN or infinite); 130 training stopped by SIGINT.
//
// main() is its steps: define the options, parse, check what every command
// shares, then run eval/predict or training. A check that fails throws
// UsageError (status 2); main() turns every error into its one line.
#include <omp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
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

using namespace cnn;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_sigint(int) { g_stop = 1; }

// A bad command line: "error: <what>" and exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

int print_error(const std::exception& e, int status) {
  std::cerr << "error: " << e.what() << "\n";
  return status;
}

// Every value the command line sets, with its default.
struct Options {
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
};

// What the checks ask the parser after parsing: was an option given, which
// subcommand ran.
struct Cli {
  CLI::Option* seed = nullptr;
  CLI::Option* batch = nullptr;
  CLI::Option* lr = nullptr;
  CLI::Option* resume = nullptr;
  std::vector<CLI::Option*> threads;  // the top level's, then each subcommand's
  CLI::App* eval = nullptr;
  CLI::App* predict = nullptr;
};

// --------------------------------------------------------------- define ---

void add_training_options(CLI::App& app, Options& o, Cli& cli) {
  app.add_option("--backend", o.backend, "kernel backend (see --list-backends); auto = fastest")
      ->capture_default_str();
  app.add_flag("--list-backends", o.list, "print the backends and exit");
  app.add_option("--isa", o.isa,
                 "lower the instruction-set path of backends that have several "
                 "(avx512, avx2 or neon, portable); default: the best the CPU supports");
  app.add_option("--epochs", o.epochs, "training epochs (>= 1)")->capture_default_str();
  cli.batch = app.add_option("--batch", o.batch, "mini-batch size (>= 1)")->capture_default_str();
  cli.lr = app.add_option("--lr", o.lr, "SGD learning rate (finite, > 0)")->capture_default_str();
  cli.seed = app.add_option("--seed", o.seed, "RNG seed (default: from the clock; printed)");
  cli.threads.push_back(app.add_option(
      "--threads", o.threads,
      "worker threads for threaded backends (default: OMP_NUM_THREADS or all cores)"));
  app.add_option("--data-dir", o.data_dir, "directory holding the MNIST IDX files")
      ->capture_default_str();
  app.add_option("--log", o.log_path, "CSV log of epoch,loss,time")->capture_default_str();
  app.add_flag("--profile", o.profile,
               "time every backend operation; after training print a table and write "
               "profile_<backend>.csv/.json next to the log");
  app.add_option("--save", o.save_path,
                 "after training, write the model to this file (atomically)");
  app.add_option("--checkpoint", o.checkpoint_path,
                 "after every epoch, write the full training state to this file (atomically)");
  cli.resume = app.add_option(
      "--resume", o.resume_path,
      "continue from a --checkpoint file with its seed, batch and lr; --epochs is the total");
}

// Without a subcommand, mnist_cnn trains. The backend options are accepted
// after the subcommand's name too (bound to the same variables).
void add_subcommands(CLI::App& app, Options& o, Cli& cli) {
  cli.eval = app.add_subcommand(
      "eval", "test accuracy, confusion matrix and per-class accuracy of a saved model");
  cli.predict = app.add_subcommand(
      "predict", "classify 28x28 images (PGM P5/P2, or IDX_FILE:INDEX) with a saved model");
  for (auto* sub : {cli.eval, cli.predict}) {
    sub->add_option("--model", o.model_path, "model file written by --save (or a checkpoint)")
        ->required();
    sub->add_option("--backend", o.backend, "kernel backend; auto = fastest")
        ->capture_default_str();
    sub->add_option("--isa", o.isa, "instruction-set path (as for training)");
    cli.threads.push_back(sub->add_option("--threads", o.threads, "worker threads"));
  }
  cli.eval->add_option("--data-dir", o.data_dir, "directory holding the MNIST test files")
      ->capture_default_str();
  cli.predict->add_option("files", o.predict_files, "FILE.pgm or IDX_FILE:INDEX, one or more")
      ->required();
  app.require_subcommand(0, 1);
}

// ---------------------------------------------------------------- check ---

void require_at_least_1(const char* option, int value) {
  if (value < 1)
    throw UsageError(std::string(option) + " must be >= 1 (got " + std::to_string(value) + ")");
}

const BackendInfo& checked_backend(const Options& o) {
  const BackendInfo* info = nullptr;
  try {
    info = &find_backend(o.backend);
  } catch (const UnknownBackend& e) {
    throw UsageError(std::string("--backend: ") + e.what());
  }
  if (o.isa.empty()) return *info;
  const auto paths = info->isa_paths();
  if (std::find(paths.begin(), paths.end(), o.isa) == paths.end()) {
    std::string avail;
    for (const auto& p : paths) avail += (avail.empty() ? "" : ", ") + p;
    throw UsageError("--isa: backend " + info->name + " cannot run path '" + o.isa +
                     "' on this CPU (available: " + avail + ")");
  }
  return *info;
}

// The values every command shares (training's too, even for eval: their
// defaults are valid). Settles the thread count and tells OpenMP.
const BackendInfo& check_common(Options& o, const Cli& cli) {
  require_at_least_1("--epochs", o.epochs);
  require_at_least_1("--batch", o.batch);
  if (!std::isfinite(o.lr) || o.lr <= 0.0f)
    throw UsageError("--lr must be a finite number > 0 (got " + std::to_string(o.lr) + ")");
  bool threads_given = false;
  for (const CLI::Option* t : cli.threads) threads_given |= t->count() > 0;
  if (threads_given)
    require_at_least_1("--threads", o.threads);
  else
    o.threads = omp_get_max_threads();
  omp_set_num_threads(o.threads);
  return checked_backend(o);
}

// Given explicitly and different from the checkpoint's value: an error,
// never silently ignored.
template <typename T>
void require_same_as_checkpoint(const CLI::Option* given, T value, T saved) {
  if (*given && value != saved)
    throw UsageError(given->get_name() + " " + std::to_string(value) +
                     " differs from the checkpoint's " + std::to_string(saved));
}

// --resume: the checkpoint fixes the seed, batch and learning rate.
Checkpoint load_resume(Options& o, const Cli& cli) {
  Checkpoint ckpt = load_checkpoint(o.resume_path);
  const TrainState& s = ckpt.state;
  require_same_as_checkpoint(cli.seed, o.seed, s.seed);
  require_same_as_checkpoint(cli.batch, o.batch, s.batch);
  require_same_as_checkpoint(cli.lr, o.lr, s.lr);
  if (o.epochs <= s.epochs_done)
    throw UsageError("--epochs " + std::to_string(o.epochs) + ": " + o.resume_path +
                     " already holds " + std::to_string(s.epochs_done) +
                     " epoch(s); --epochs is the total");
  o.seed = s.seed;
  o.batch = s.batch;
  o.lr = s.lr;
  return ckpt;
}

// Before any work, without touching an existing file at either path.
void check_outputs(const Options& o) {
  if (!o.save_path.empty() && o.save_path == o.checkpoint_path)
    throw UsageError("--save and --checkpoint must name different files");
  for (const std::string* path : {&o.save_path, &o.checkpoint_path})
    if (!path->empty()) check_writable(*path);
}

// Opened before any work, so an unwritable path fails fast.
void open_log(const std::string& path, std::ofstream& log) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  log.open(path);
  if (!log) throw std::runtime_error(path + ": cannot open the log for writing");
}

// ------------------------------------------------------------------ run ---

int list_backends() {
  for (const auto& b : backend_registry()) std::cout << b.name << "  " << b.description << "\n";
  return 0;
}

BackendOptions backend_options(const Options& o) {
  BackendOptions bopt;
  bopt.threads = o.threads;
  bopt.isa = o.isa;
  return bopt;
}

// eval or predict. An option before the subcommand's name is the top
// level's; of those, only the ones the subcommands share are accepted.
int run_inference(const CLI::App& app, const Options& o, const Cli& cli, const BackendInfo& info) {
  const std::string cmd = cli.eval->parsed() ? "eval" : "predict";
  for (const CLI::Option* opt : app.get_options()) {
    const bool shared = opt->check_lname("backend") || opt->check_lname("isa") ||
                        opt->check_lname("threads") || opt->check_lname("data-dir");
    if (opt->count() > 0 && !shared)
      throw UsageError(opt->get_name() + " is a training option; " + cmd + " does not take it");
  }
  InferOptions io;
  io.model_path = o.model_path;
  io.data_dir = o.data_dir;
  io.backend = &info;
  io.backend_opts = backend_options(o);
  return cli.eval->parsed() ? eval_command(io, std::cout, std::cerr)
                            : predict_command(io, o.predict_files, std::cout, std::cerr);
}

TrainConfig train_config(const Options& o) {
  TrainConfig cfg;
  if (!o.checkpoint_path.empty())
    cfg.on_epoch_end = [path = o.checkpoint_path](const Params& p, const TrainState& s) {
      save_checkpoint(path, p, s);
    };
  cfg.epochs = o.epochs;
  cfg.batch = o.batch;
  cfg.lr = o.lr;
  cfg.seed = o.seed;
  cfg.progress = isatty(STDOUT_FILENO);
  return cfg;
}

// SIGINT stops at the end of the current batch (the handler only sets a
// flag); a second SIGINT gets the default action and ends the process.
void stop_on_sigint(TrainConfig& cfg) {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  cfg.stop = &g_stop;
}

// After train(): --save, the --profile report, and the exit status.
int finish_training(const Options& o, const Backend& be, const Params& params, const Profiler& prof,
                    const TrainResult& res) {
  if (!o.save_path.empty()) {
    save_model(o.save_path, params);
    std::cout << "Saved model to " << o.save_path << std::endl;
  }
  if (o.profile)
    report_profile(prof,
                   make_profile_info(be, o.batch, int(res.epoch_seconds.size()), res.train_seconds),
                   std::cout, profile_dir_for_log(o.log_path));
  return res.interrupted ? 130 : 0;
}

// What can fail before any work, in this order: the checkpoint to resume,
// the output paths, the log. Settles the seed (the clock's when not given).
Checkpoint prepare_training(Options& o, const Cli& cli, std::ofstream& log) {
  Checkpoint ckpt;
  if (*cli.resume) ckpt = load_resume(o, cli);
  check_outputs(o);
  if (!*cli.seed && !*cli.resume)
    o.seed =
        static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  if (!o.log_path.empty()) open_log(o.log_path, log);
  return ckpt;
}

int run_training(Options& o, const Cli& cli, const BackendInfo& info) {
  std::ofstream log;
  const Checkpoint ckpt = prepare_training(o, cli, log);
  std::cout << "Loading MNIST..." << std::endl;
  const Dataset train_set = load_mnist(o.data_dir, "train");
  // Only evaluated: grouped by margins, for the kernels' blank windows.
  const Dataset test_set = grouped_by_margins(load_mnist(o.data_dir, "t10k"));
  std::cout << "Train: " << train_set.n << " | Test: " << test_set.n << std::endl;
  auto be = info.make(backend_options(o));
  print_backend_line(std::cout, *be);
  std::cout << "Seed: " << o.seed << std::endl;

  Rng rng(o.seed);
  Params params;
  init_params(params, rng);
  TrainConfig cfg = train_config(o);
  if (*cli.resume) {
    check_resume_fits(ckpt.state, train_set.n, o.resume_path, o.data_dir);
    params = ckpt.params;  // the trainer restores the RNG and the index order
    cfg.resume = &ckpt.state;
    std::cout << "Resuming from " << o.resume_path << " after epoch " << ckpt.state.epochs_done
              << std::endl;
  }
  std::cout << "Training CNN: epochs=" << o.epochs << " batch=" << o.batch << " lr=" << o.lr
            << std::endl;
  Profiler prof;
  if (o.profile) be->set_profiler(&prof);
  stop_on_sigint(cfg);
  const TrainResult res = train(*be, params, rng, cfg, train_set, test_set, std::cout,
                                o.log_path.empty() ? nullptr : &log);
  return finish_training(o, *be, params, prof, res);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  Cli cli;
  CLI::App app{"Train a small CNN on MNIST with interchangeable CPU kernel backends."};
  app.set_version_flag("--version", std::string("mnist_cnn ") + CNN_MNIST_VERSION);
  add_training_options(app, o, cli);
  add_subcommands(app, o, cli);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return print_error(e, 2);
  }
  if (o.list) return list_backends();

  try {
    const BackendInfo& info = check_common(o, cli);
    if (cli.eval->parsed() || cli.predict->parsed()) return run_inference(app, o, cli, info);
    return run_training(o, cli, info);
  } catch (const UsageError& e) {
    return print_error(e, 2);
  } catch (const DivergedError& e) {
    return print_error(e, 3);
  } catch (const std::exception& e) {  // DataError, ModelError, a log that cannot be opened
    return print_error(e, 1);
  }
}
