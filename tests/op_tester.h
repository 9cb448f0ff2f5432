// OpTester: checks one backend (at one ISA path, thread count and batch size)
// against the Eigen reference, operation by operation, and the composite
// (possibly fused) training step as a whole. Shared by the GoogleTest suite
// and the `validate` driver, so both apply the same inputs and tolerances.
//
// Kinds of input (the part in brackets of a result's name):
//  - integer: small whole numbers (pixels 0..8, weights -8..8, ...). Every
//    product and partial sum is an integer below 2^24, so fp32 arithmetic is
//    exact in any order and the check demands equality (tolerance 0).
//  - real: uniform reals. The tolerance is Higham's bound for a K-term fp32
//    dot product, |fl(s) - s| <= gamma_K * sum|t_i| with gamma_K ~ K*u,
//    u = 2^-24: tol_i = atol + rtol * mag_i, where mag_i = sum of |terms| of
//    output i (the reference evaluated on absolute values, >= |ref_i|; using
//    it instead of |ref_i| keeps the bound valid under cancellation) and
//    rtol = 2*(K+2)*u covers the K additions, the rounding of each product
//    and of the bias. atol = 1e-7 absorbs denormal flushing.
//  - edge cases where careless kernels break: pre-activations at and one
//    step either side of the ReLU's 0 (relu-edge), max-pool windows with
//    exact ties, signed-zero ties, one-ulp winners and all-negative windows
//    (near-ties), logits shifted by +-1000, one dominant logit, equal
//    logits and losses either side of the 1e-9 clamp (extreme), sums of
//    denormal products (denormal), dense conv gradients (dense).
//
// Every check runs three times on the same backend object, which was
// prepare()d for a batch kBigger samples larger than the case's (as the
// trainer prepares for its largest batch):
//  1. at the case's batch size, compared with the reference;
//  2. at the larger batch size on garbage inputs (NaN and +-3e38), not
//     compared: it fills whatever private scratch the backend keeps (chunk
//     lanes, packed panels, per-thread rows) with values that must not leak;
//  3. at the case's batch size again, on the inputs of run 1: every output
//     must equal run 1's bit for bit (a backend is deterministic for a given
//     batch size and thread count; stale data from run 2 shows up here).
// Outputs are filled with NaN before each call (a kernel must write, not
// accumulate into, every element) and followed by a guard region that must
// stay untouched (no write past the batch or the tensor). The composite
// check poisons every workspace buffer the trainer does not fill itself,
// and the gradients, before each run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/backend.h"

namespace cnn::test {

struct OpCase {
  std::string backend;
  std::string isa;
  int threads = 1;
  int batch = 1;
  std::uint64_t seed = 1234;
};

// How much larger the batch of each check's garbage run is: more than one
// simd chunk (16 samples), so the case's short last chunk has lanes that the
// garbage run filled.
constexpr int kBigger = 17;

struct CheckResult {
  std::string op;  // e.g. "conv_fwd[integer]"
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
