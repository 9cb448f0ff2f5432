// OpTester: checks one backend (at one ISA path, thread count and batch size)
// against the Eigen reference, operation by operation, and the composite
// (possibly fused) training step as a whole. Shared by the GoogleTest suite
// and the `validate` driver, so both apply the same inputs and tolerances.
//
// Two kinds of input:
//  - Integer: small whole numbers (pixels 0..8, weights -8..8, ...). Every
//    product and partial sum is an integer below 2^24, so fp32 arithmetic is
//    exact in any order and the check demands equality (tolerance 0).
//  - Real: uniform reals. The tolerance is Higham's bound for a K-term fp32
//    dot product, |fl(s) - s| <= gamma_K * sum|t_i| with gamma_K ~ K*u,
//    u = 2^-24: tol_i = atol + rtol * mag_i, where mag_i = sum of |terms| of
//    output i (the reference evaluated on absolute values, >= |ref_i|; using
//    it instead of |ref_i| keeps the bound valid under cancellation) and
//    rtol = 2*(K+2)*u covers the K additions, the rounding of each product
//    and of the bias. atol = 1e-7 absorbs denormal flushing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/backend.h"

namespace cnn::test {

enum class InputKind { Integer, Real };

struct OpCase {
  std::string backend;
  std::string isa;
  int threads = 1;
  int batch = 1;
  std::uint64_t seed = 1234;
};

struct CheckResult {
  std::string op;            // e.g. "conv_fwd[integer]"
  bool pass = true;
  double max_abs_err = 0;    // over all compared outputs
  double max_rel_err = 0;    // |got-ref| / |ref| where ref != 0
  double tol_note = 0;       // largest tolerance applied (0 = exact)
  double nonzero_share = 1;  // share of non-zero reference outputs
  double min_nonzero = 0;    // required share
  std::string failure;       // first failure: index, expected, actual, context
};

std::string describe(const OpCase& c);

// The operations checked, named as the benchmarks name them
// (bench/ops_bench.cpp): the eight primitives, then "train_step", which runs
// every composite step (forward_train, loss_grad, backward, forward_infer,
// update) as the trainer chains them.
const std::vector<std::string>& op_names();

// Runs the checks of one operation (a name from op_names(); anything else is
// std::invalid_argument) on `be`; returns one result per input kind.
std::vector<CheckResult> check_op(Backend& be, const OpCase& c, const std::string& op);
// Every operation's checks on a freshly made backend.
std::vector<CheckResult> check_backend(const OpCase& c);
// The same, on a backend object the caller made (lets tests inject faults).
std::vector<CheckResult> check_backend(Backend& be, const OpCase& c);

}  // namespace cnn::test
