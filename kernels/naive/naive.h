// The naive backend: single-threaded explicit loops that follow
// docs/reference.md step by step, in the reference program's order of
// operations, so a run reproduces its losses and accuracy bit for bit. The
// sources are compiled with -ffp-contract=off (no fused multiply-add).
// Buffer layouts: kernels/backend.h.
//
// Besides the primitives, naive exposes the pieces of its backward loops that
// the omp backend hands out to threads (the fc input gradient of a sample,
// the padding of an image, a filter's gradient over a run of samples): omp
// runs these very functions, so it is bit-identical to naive by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/backend.h"

namespace cnn {

// x (B,784) w (72) b (8) -> act (B,8,28,28)
void conv_fwd_naive(int B, const float* x, const float* w, const float* b, float* act);
// x (B,784) dact (B,8,28,28) -> dw (72), db (8)
void conv_bwd_naive(int B, const float* x, const float* dact, float* dw, float* db);
// img (28,28) -> frame (30,30): the image centred in a zeroed frame, so the
// weight gradient's tap loop needs no bounds tests (see naive/conv.cpp)
void conv_bwd_pad_naive(const float* img, float* frame);
// frames (count, 30,30) padded images, frame_stride floats apart;
// g (count, 28,28) one filter's dact plane of each sample, kActSize floats
// apart -> dw (9), db (1) of that filter, ADDED to: sample by sample, each
// pixel in row-major order adds go to db and go*tap to the nine dw.
void conv_bwd_filter_naive(int count, const float* frames, std::size_t frame_stride, const float* g,
                           float* dw, float* db);
// act (B,8,28,28) -> pooled (B,1568), winner (B,1568)
void pool_fwd_naive(int B, const float* act, float* pooled, std::uint8_t* winner);
// dpooled (B,1568) winner (B,1568) act (B,8,28,28) -> dact (B,8,28,28)
void pool_bwd_naive(int B, const float* dpooled, const std::uint8_t* winner, const float* act,
                    float* dact);
// in (B,1568) w (1568,10) b (10) -> logits (B,10)
void fc_fwd_naive(int B, const float* in, const float* w, const float* b, float* logits);
// in (B,1568) w (1568,10) d (B,10) -> dw (1568,10), db (10), din (B,1568) or nullptr
void fc_bwd_naive(int B, const float* in, const float* w, const float* d, float* dw, float* db,
                  float* din);
// w (1568,10) d (B,10) -> din (B,1568) [overwritten]; din[i] sums over ascending j
void fc_bwd_din_naive(int B, const float* w, const float* d, float* din);
// logits (B,10) labels (B) -> probs (B,10), dlogits (B,10); returns summed loss
float softmax_xent_naive(int B, const float* logits, const std::uint8_t* labels, float scale,
                         float* probs, float* dlogits);
// p (n) -= lr * g (n)
void sgd_update_naive(float lr, float* p, const float* g, std::size_t n);

std::unique_ptr<Backend> make_naive_backend();

}  // namespace cnn
