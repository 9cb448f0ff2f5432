// The simd backend: the fastest path. Fused, hand-vectorised kernels with
// run-time ISA dispatch (AVX-512, AVX2+FMA, NEON, portable) over chunks of 16
// samples, run by a par::Team (kernels/common/team.h): persistent workers
// that help the calling thread, so no step waits for a thread that has no
// work or that another process keeps off its core. Buffer layouts of the
// interface: kernels/backend.h; the lane layout the kernels use inside:
// kernels/simd/kernels.h.
//
// The training step (train_step; the trainer calls train_step_bytes, whose
// input stage reads the batch's raw image bytes straight into the lane
// layout) is split by channel halves (kernels/simd/kernels.h): with two
// threads, thread 0 keeps channels 0-3 of every image and thread 1 channels
// 4-7, each with its channels' pooled features and fc weight rows (one
// contiguous block each), so the cores exchange only logits and their
// gradient. By kernel-table member (the function of ISA X is member_X, e.g.
// conv_pool_fwd_avx2):
//  phase A, one task per (half, pair of chunks): conv_pool_fwd of the
//           half's channels (the raw image bytes converted into the lane
//           layout row by row as the windows need them, each half its own
//           copy, or input_to_lanes from ws.x first; conv by Winograd
//           F(2x2,3x3) + bias + ReLU + 2x2 max-pool in one pass, keeping the
//           pooled features and 2 bits of winner per pooled output, no
//           8x28x28 activation); fc_fwd of the half's 784 features for both
//           chunks at once (one part of the logits).
//  serial:  logits = part 0 + part 1; softmax_xent per chunk (each sample's
//           loss kept); the dlogits in lanes and as padded rows.
//  phase B, one task per channel: for every chunk fc_bwd_din of the
//           channel's 196 fc rows with the ReLU mask at the pooled value
//           fused in, and conv_pool_bwd of the channel (pool backward + conv
//           weight/bias gradient from the winner pixels); then fc_bwd_dw of
//           those rows over the whole batch and at once their sgd_update
//           (the gradient still in this core's cache); channel 0's task also
//           fc db (the shared cnn::fc_bwd_db) and its update.
//  serial:  the chunks' conv gradients added in order, the update of conv w
//           and b, the loss summed in sample order.
// The composite steps forward_train, loss_grad, backward and update run the
// same kernels one step at a time (tests and benchmarks call them; the
// tester checks that train_step gives their bits exactly). With a profiler
// attached, train_step runs them one by one, each layer group timed on its
// own under the canonical names: the fused conv block as
// "conv_fwd+pool_fwd" and "pool_bwd+conv_bwd", the rest as fc_fwd,
// softmax_xent, fc_bwd, sgd_update.
//
// Team or solo: a par::ModeChooser times the steps and runs them on the
// calling thread alone while that is measured to be faster (one core taken
// by another process), re-trying the team at growing intervals; the results
// are the same bits either way. CNN_TEAM_MODE=team|solo fixes the mode.
//
// Determinism: the batch is cut into chunks of 16 consecutive samples and
// the channels into two fixed halves, functions of the batch size only. The
// logits are part 0 + part 1 whoever computed the parts; the conv gradient
// of a channel is summed per chunk (per lane, in window order) into the
// chunk's slot, and the slots are added in chunk order; each fc dW row is
// summed by one thread over all samples in order; fc db, the loss and the
// update are serial or element-wise. So the same seed gives the same bits at any thread count, per
// ISA path; tests/determinism_test.cpp checks it. FTZ/DAZ (BackendOptions::ftz) is set in every
// thread of every step.
//
// ISA paths: each kernel is one template (kernels/simd/*_impl.h) over a
// vector-traits type (vec_avx512.h, vec_avx2.h, vec_portable.h), compiled
// once per ISA in op_direction_isa.cpp files that alone carry ISA flags and
// define op_direction[_part]_isa as a one-line call of the template. The
// path is chosen once, when the backend is made: choose_isa() (BackendOptions
// ::isa, else the CNN_ISA environment variable, else the best the CPU and OS
// support), and an unsupported request is std::invalid_argument. All three
// paths use the same chunking and summation order; they differ in rounding
// only where the portable path (no FMA instruction on baseline x86-64)
// multiplies and adds separately.
//
// State between steps: backward() uses what forward_train() kept in the
// backend (the lane-layout input, pooled features and winners of each
// chunk), so it must follow forward_train() of the same batch and workspace;
// it throws std::logic_error otherwise. Nothing is allocated per step: the
// chunk buffers are sized by prepare(max_batch).
#pragma once

#include <memory>

#include "kernels/backend.h"

namespace cnn {

// Throws std::invalid_argument (from choose_isa) when opt.isa, or the
// CNN_ISA environment variable, names a path this CPU cannot run.
std::unique_ptr<Backend> make_simd_backend(const BackendOptions& opt);

}  // namespace cnn
