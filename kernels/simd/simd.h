// The simd backend: the fastest path. Fused, hand-vectorised kernels with
// run-time ISA dispatch (AVX-512, AVX2+FMA, portable), OpenMP over chunks of
// 16 samples. Buffer layouts of the interface: kernels/backend.h; the lane
// layout the kernels use inside: kernels/simd/kernels.h.
//
// What runs per training step (one parallel region per composite step),
// by kernel-table member (kernels/simd/kernels.h; the function of ISA X is
// member_X, e.g. conv_pool_fwd_avx2):
//  forward_train  conv_pool_fwd: per chunk, the chunk's images are transposed
//                 to the lane layout, then conv (Winograd F(2x2,3x3)) + bias +
//                 ReLU + 2x2 max-pool in one pass, keeping the pooled
//                 features and 2 bits of winner per pooled output (no
//                 8x28x28 activation); fc_fwd: the logits of the chunk.
//  loss_grad      softmax_xent, vectorised across samples (one thread: a few
//                 hundred FLOPs).
//  backward       fc_bwd_din: per chunk the input gradient with the ReLU mask
//                 at the pooled value fused in; conv_pool_bwd: pool backward
//                 + conv weight/bias gradient from the 1568 winner pixels per
//                 sample; and, without waiting for those, fc_bwd_dw: fc dW
//                 rows split among the threads, each row summed over the
//                 whole batch; fc db is the shared cnn::fc_bwd_db.
//  update         sgd_update, one multiply-subtract per parameter.
// With a profiler attached, each layer group is timed on its own (the fused
// steps are then split into one parallel region per group), under the
// canonical names: the fused conv block as "conv_fwd+pool_fwd" and
// "pool_bwd+conv_bwd", the rest as fc_fwd, softmax_xent, fc_bwd, sgd_update.
//
// Determinism: the batch is cut into chunks of 16 consecutive samples, a
// function of the batch size only. The conv gradient is summed per chunk
// (per lane, in window order) by whoever runs the chunk, into the chunk's own
// slot, and the slots are added in chunk order; each fc dW row is summed by
// one thread over all samples in order; fc db, the loss and the update are
// serial. So the same seed gives the same bits at any thread count, per ISA
// path; tests/determinism_test.cpp checks it. FTZ/DAZ (BackendOptions::ftz)
// is set in every thread of every step.
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
