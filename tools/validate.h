// validate: the per-operation correctness driver as a command. It runs the
// shared OpTester (tests/op_tester.h: the same inputs and tolerances as the
// GoogleTest suite) on one backend or all, at several batch sizes, and
// prints per operation the largest absolute and relative error, the
// tolerance and PASS/FAIL. Built next to the Eigen reference in tests/;
// the trainer never links it.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "kernels/registry.h"
#include "tests/op_tester.h"

namespace cnn::validate {

// One operation's checks over every batch size, merged.
struct OpRow {
  std::string op;
  double max_abs_err = 0, max_rel_err = 0, tol = 0;  // tol 0 = exact
  bool pass = true;
  std::vector<std::string> failures;  // first failure of each failing batch size
};

// Checks `info`'s backend (made afresh per batch size with `threads` and
// `isa`) at every batch size; batch b uses seed base_seed + b.
std::vector<OpRow> check_path(const BackendInfo& info, const std::string& isa, int threads,
                              const std::vector<int>& batches, std::uint64_t base_seed);

void print_rows(std::ostream& out, const std::vector<OpRow>& rows);

// The command line (validate --help); `registry` is the backend table to
// choose from (backend_registry() in the product; tests pass their own).
// Returns 0 when everything passes, 1 on any failure, 2 on a usage error.
int validate_main(int argc, const char* const* argv, const std::vector<BackendInfo>& registry,
                  std::ostream& out, std::ostream& err);

}  // namespace cnn::validate
