// The per-operation profile of a training run (`mnist_cnn --profile`) as a
// table, CSV and JSON, with the same rows for every backend, so profiles of
// different backends line up row by row:
//
//   conv+pool fwd   one row per layer group of kernels/profiler.h, in
//   fc fwd          network order: the time of every scope the backend
//   softmax xent    reported in that group (nested scopes counted once).
//   fc bwd          A group reported as one fused scope ("conv_fwd+pool_fwd")
//   pool+conv bwd   is marked fused; a group whose layers were reported
//   sgd update      separately (conv_fwd, pool_fwd) or with scopes nested
//                   inside the fused one lists them as indented sub-rows.
//   gather          outside the layers: the trainer's own reported work
//   bookkeeping     the rest of the training time (shuffling, the loss
//                   checks, the loop itself)
//   training total  the training loop's wall time
//
// The group rows and the outside rows add up to 100% of the training time.
// The CSV and JSON carry every row's group, op, kind and fused flag, so
// tools/plot draws the same segments, in the same colours, for every backend.
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
  std::string group;  // a kLayerGroups label, "outside" or "total"
  // The reported name; on a group row the one scope that made it, or "" when
  // several did (see its sub-rows) or none; "" on the total.
  std::string op;
  // "group"; "layer" or "nested" (a sub-row: one reported scope of the group
  // above it, at the top level or inside another scope); "outside"; "total".
  std::string kind;
  bool fused = false;  // group row: reported as one fused scope; sub-row: a fused name
  long calls = 0;      // 0 for the "bookkeeping" remainder and the total
  double seconds = 0;
  double flops_per_call = 0;  // 0 = not counted
  double gflops = 0;          // flops / seconds / 1e9; 0 when not counted
  double share = 0;           // seconds / training time
};

// The name of the remainder row: training time not inside any reported scope.
inline constexpr const char* kBookkeepingRow = "bookkeeping";

// Group rows (each followed by its sub-rows, if any), the outside rows
// (kOutsideOps, then the bookkeeping remainder), then the total.
std::vector<ProfileRow> profile_rows(const Profiler& prof, double train_seconds);

void write_profile_table(std::ostream& out, const ProfileInfo& info, const Profiler& prof);
// Header: group,op,kind,fused,calls,total_ms,us_per_call,flops_per_call,gflops,share
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
