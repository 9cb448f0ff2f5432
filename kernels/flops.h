// Floating-point operation counts per operation, for GFLOP/s figures.
// Dense counts: a multiply-add is 2 FLOPs; comparisons, exp and log count 1.
// Border taps of the padded convolution are counted as if present (the dense
// convention used for the whole-run figure of 57.6 GFLOP for 3 epochs).
#pragma once

#include "kernels/shapes.h"

namespace cnn::flops {

// act = ReLU(conv(x) + b): 8*784 outputs x 9 taps x 2, + bias + ReLU.
constexpr double conv_fwd(int B) { return double(B) * 8 * 784 * (9 * 2 + 2); }
// 2x2 max: 3 comparisons per pooled output.
constexpr double pool_fwd(int B) { return double(B) * 1568 * 3; }
// logits = in * W + b: 1568*10 multiply-adds per sample.
constexpr double fc_fwd(int B) { return double(B) * 10 * (1568 * 2 + 1); }
// max, subtract, exp, sum, scale, log and gradient per class.
constexpr double softmax_xent(int B) { return double(B) * 10 * 6; }
// dW += in^T d (2*1568*10), db += d (10), din = d W^T (2*1568*10).
constexpr double fc_bwd(int B) { return double(B) * (4.0 * 1568 * 10 + 10); }
// One scatter and one mask test per activation.
constexpr double pool_bwd(int B) { return double(B) * 6272; }
// dW += dact * x over 9 taps (2 each) plus db.
constexpr double conv_bwd(int B) { return double(B) * 8 * 784 * (9 * 2 + 1); }
// p -= lr * g over all 15,770 parameters.
constexpr double sgd_update() { return double(kParamCount) * 2; }

// Fused operations (kernels/simd): what they compute, counted as above.
// conv + bias + ReLU + 2x2 max-pool in one pass.
constexpr double conv_pool_fwd(int B) { return conv_fwd(B) + pool_fwd(B); }
// Pool backward + ReLU mask + conv weight/bias gradient from the winner pixels
// only: 1568 pixels x (9 taps x 2 + bias), the work actually done (the other
// 4704 pixels of dact are zero after max-pool and add nothing).
constexpr double conv_pool_bwd(int B) { return double(B) * 1568 * (9 * 2 + 1); }

}  // namespace cnn::flops
