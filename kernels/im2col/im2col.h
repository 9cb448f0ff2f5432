// The im2col backend: every heavy operation is a matrix product computed by
// the project's own GEMM (kernels/im2col/gemm.h).
//  - conv forward: per sample, the patch matrix P^T (9,784) (row t = ky*3+kx
//    holds the input pixel under tap t for every output pixel, 0 outside the
//    image) times the filter matrix: act_n (8,784) = W (8,9) * P^T_n (9,784),
//    with bias and ReLU applied in the GEMM's epilogue. Computing W * P^T
//    instead of P (784,9) * W^T (9,8) writes the (8,28,28) layout of
//    kernels/backend.h directly (no transpose pass), and puts the long
//    dimension (784) on N where the micro-kernel's vectors run: M = 8 fills
//    whole register tiles (2 of 4x24 on AVX2, 1 of 8x32 on AVX-512).
//    With M = 8 <= 2 micro-kernel rows the GEMM reads P^T in place rather
//    than packing it (gemm.cpp).
//  - conv weight gradient: dW_ext,n (8,10) = dact_n (8,784) * [P^T_n; 1]^T,
//    the patch matrix used transposed (trans_b); a 10th patch row of ones
//    makes column 9 the bias gradient in the same product. Both operands run
//    along K = 784, and C is small: the GEMM takes its inner-product path
//    (no packing). The per-sample partials are summed in sample order: the
//    reduction over B*784 rows is split at fixed sample boundaries, so it is
//    the same for any thread count.
//  - FC forward logits = in * W + b (bias in the epilogue); FC weight
//    gradient dW = in^T * d (trans_a); FC input gradient din = d * W^T
//    (trans_b).
//  - FC bias gradient: cnn::fc_bwd_db (kernels/common/fc_bwd_db.h), the one
//    every backend calls.
// Pooling is SSE2 (baseline x86-64) vector code, plain loops elsewhere;
// softmax and SGD are the naive loops. The fused training steps order
// pixels by pooling window (see conv_fwd_patches_quad_im2col and
// im2col.cpp). Buffer layouts: kernels/backend.h. Sub-operations are named
// <op>_<direction>[_<part>]_im2col.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/backend.h"
#include "kernels/im2col/gemm.h"

namespace cnn {

constexpr int kPatchRows = kKernelSize + 1;          // 9 taps + a row of ones
constexpr int kPatchSize = kPatchRows * kImgPixels;  // 7840 floats per sample

// img (784) -> pt (10,784) rows 0..8 (row 9, the ones, is left as it is).
void conv_fwd_patches_im2col(const float* img, float* pt);
// One sample, on the calling thread with GEMM pack slot `slot`:
// pt (10,784) w (72) b (8) -> act (8,784) in pt's pixel order
void conv_fwd_sample_im2col(gemm::Gemm& gemm, int slot, const float* pt, const float* w,
                            const float* b, float* act);
// pt (10,784) dact (8,28,28) -> part (8,10): columns 0..8 dW, column 9 db
void conv_bwd_sample_im2col(gemm::Gemm& gemm, int slot, const float* pt, const float* dact,
                            float* part);
// part (B,8,10) summed in sample order -> dw (72), db (8)
void conv_bwd_reduce_im2col(int B, const float* part, float* dw, float* db);
// Rows n0..n1 of the FC forward, on the calling thread with pack slot `slot`:
// in (B,1568) w (1568,10) b (10) -> logits (B,10)
void fc_fwd_im2col(gemm::Gemm& gemm, int slot, int n0, int n1, const float* in, const float* w,
                   const float* b, float* logits);
// Feature rows m0..m1 of the FC weight gradient: in (B,1568) d (B,10) -> dw (1568,10)
void fc_bwd_dw_im2col(gemm::Gemm& gemm, int slot, int B, int m0, int m1, const float* in,
                      const float* d, float* dw);
// Sample rows n0..n1 of the FC input gradient: d (B,10) w (1568,10) -> din (B,1568)
void fc_bwd_din_im2col(gemm::Gemm& gemm, int slot, int n0, int n1, const float* d, const float* w,
                       float* din);
// One sample: act (8,28,28) -> pooled (1568), winner (1568)
void pool_fwd_sample_im2col(const float* act, float* pooled, std::uint8_t* winner);
// One sample: dpooled (1568) winner (1568) act (8,28,28) -> dact (8,28,28)
void pool_bwd_sample_im2col(const float* dpooled, const std::uint8_t* winner, const float* act,
                            float* dact);

// Window order: the patch matrix with column q*196 + w for pooling window w
// and position q = dy*2 + dx in it (patches.cpp), so the convolution writes
// act in (8, 4, 196) order and pooling reads four contiguous vectors.
void conv_fwd_patches_quad_im2col(const float* img, float* pt);
// One sample in window order: act (8,4,196) -> pooled (1568), winner (1568)
void pool_fwd_quad_sample_im2col(const float* act, float* pooled, std::uint8_t* winner);
// One sample in window order, ReLU mask from the pooled values:
// dpooled (1568) winner (1568) pooled (1568) -> dact (8,4,196)
void pool_bwd_quad_sample_im2col(const float* dpooled, const std::uint8_t* winner,
                                 const float* pooled, float* dact);

// opt.isa: "" = best (or CNN_ISA); opt.threads: OpenMP team size.
std::unique_ptr<Backend> make_im2col_backend(const BackendOptions& opt);

}  // namespace cnn
