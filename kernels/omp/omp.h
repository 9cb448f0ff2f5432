// The omp backend: the naive backend's explicit loops, run by a team of
// OpenMP threads (`num_threads(threads)`, from --threads). Buffer layouts:
// kernels/backend.h. Sources are compiled with -ffp-contract=off, like naive.
//
// Why a run gives the same bits with any number of threads
// ---------------------------------------------------------
// Every output element is written by exactly one thread, which computes it
// with the same operations in the same order as the naive backend; nothing
// is ever summed across threads. The thread count only decides WHICH thread
// computes an element, never HOW:
//  - Per-sample work (conv, pool and fc forward, the fc input gradient, pool
//    backward, padding the image for the conv gradient) is handed out one
//    sample at a time; a sample's outputs depend on that sample alone, and
//    the naive per-sample functions are called on it.
//  - Parameter gradients are "owner computes": fc dW is handed out in blocks
//    of 32 input-feature rows, conv dW and db one filter at a time. The owner
//    of an element sums its terms over the whole batch in sample order (then
//    pixel order), from +0, exactly as naive does: a filter's sums are
//    naive's own conv_bwd_filter_naive run over the whole batch. fc db (10
//    values) is one more unit, the shared fc_bwd_db (sample order).
//  - The loss is summed by one thread in sample order (softmax_xent is a few
//    thousand flops: threads would cost more than they save).
//  - The SGD update is element-wise (and serial in the composite step).
// Units go to threads with schedule(dynamic): on a machine shared with other
// processes a thread that is descheduled does not hold up the rest of the
// batch, and since a unit's result does not depend on who computes it, this
// costs no determinism.
// So the parameters after any number of steps are bit-identical for every
// thread count, and with FTZ off (BackendOptions::ftz = false) bit-identical
// to the naive backend's. With FTZ/DAZ on (the default) every thread,
// including the master, runs each step with the same MXCSR mode, so the
// thread count still cannot matter; the results differ from naive only if a
// denormal number arises (then it is flushed to zero).
// tests/determinism_test.cpp checks both claims.
//
// Scratch and false sharing: the only scratch is the zero-padded images for
// the conv gradient, (max_batch, 912) floats allocated once in prepare(), one
// whole number of cache lines per sample. fc dW blocks are 20 cache lines and
// start on line boundaries; running sums stay in registers and each
// gradient element is stored once per step. Per-sample outputs in the
// trainer's workspace start on line boundaries for act, pooled, dpooled and
// dact; logits (40 bytes per sample), winner (1568) and the conv gradient
// (36 bytes per filter) can share a boundary line between two threads, each
// written once per step, which costs a few coherence misses per batch.
// The conv gradient has 8 units, so it uses at most 8 threads.

#pragma once

#include <memory>

#include "kernels/backend.h"

namespace cnn {

// Floats between the padded frames (kPadPixels each) of the conv gradient's
// scratch: 900 rounded up to whole cache lines (3648 bytes), so threads
// padding different samples never write the same line.
constexpr int kPadStride = (kPadPixels + 15) / 16 * 16;  // 912

// Owner-computes fc weight gradient: one call computes a block of rows of
// the gradient over the whole batch, in the naive summation order.
// in (B,1568) d (B,10) -> dw rows [i0,i1) of (1568,10) [overwritten]
void fc_bwd_dw_omp(int B, const float* in, const float* d, int i0, int i1, float* dw);

// threads >= 1; ftz: flush-to-zero / denormals-are-zero in every step.
std::unique_ptr<Backend> make_omp_backend(int threads, bool ftz);

}  // namespace cnn
