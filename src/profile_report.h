// The per-operation profile of a training run (`mnist_cnn --profile`) as a
// table, CSV and JSON. The rows are whatever operations the backend reported
// (kernels/profiler.h), in first-seen order, so fused operations of a
// backend appear under their own names; then the time outside the layers:
// the trainer's own reported work (gathering batches) and the rest of the
// training time (shuffling, the loss checks, the loop itself), so that the
// shares of the non-nested rows add up to 100% of the training time.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/profiler.h"

namespace cnn {

struct ProfileInfo {
  std::string backend, isa;
  int threads = 1, batch = 0;
  int epochs = 0;            // epochs trained in this run (not resumed ones)
  double train_seconds = 0;  // wall time of the training loop (all epochs)
  std::string cpu_model;     // kernels/common/cpu.h
  int cores = 0;             // logical CPUs the OS reports
};

// Fills the backend and machine fields; the rest come from the run.
ProfileInfo make_profile_info(const Backend& be, int batch, int epochs, double train_seconds);

struct ProfileRow {
  std::string op;
  std::string kind;  // "layer", "nested" (inside another row), "outside"
  long calls = 0;    // 0 for the "bookkeeping" remainder
  double seconds = 0;
  double flops_per_call = 0;  // 0 = not counted
  double gflops = 0;          // flops / seconds / 1e9; 0 when not counted
  double share = 0;           // seconds / training time
};

// The name of the remainder row: training time not inside any reported scope.
inline constexpr const char* kBookkeepingRow = "bookkeeping";

// Layer rows, nested rows, outside rows, then the bookkeeping remainder.
std::vector<ProfileRow> profile_rows(const Profiler& prof, double train_seconds);

void write_profile_table(std::ostream& out, const ProfileInfo& info, const Profiler& prof);
// Header: op,kind,calls,total_ms,us_per_call,flops_per_call,gflops,share
void write_profile_csv(std::ostream& out, const Profiler& prof, double train_seconds);
void write_profile_json(std::ostream& out, const ProfileInfo& info, const Profiler& prof);

// Where `--profile` writes its files: the directory of the training log, or
// "logs" when there is no log.
std::string profile_dir_for_log(const std::string& log_path);

// Prints the table to `out` and writes <dir>/profile_<backend>.csv and .json
// (creating dir); returns the two paths. Throws std::runtime_error naming a
// file that cannot be written.
std::vector<std::string> report_profile(const Profiler& prof, const ProfileInfo& info,
                                        std::ostream& out, const std::string& dir);

}  // namespace cnn
