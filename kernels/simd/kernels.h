// The simd backend's kernel table: one set of function pointers per ISA path
// (avx512, avx2 on x86; neon on aarch64; portable everywhere), filled from
// the per-ISA files and chosen once at run time (simd.cpp). A member
// op_direction[_part] holds the function op_direction[_part]_<isa> (e.g.
// fc_bwd_din -> fc_bwd_din_avx2), declared literally below, one block per
// ISA. This header is included by baseline and per-ISA code alike, so it
// declares only plain functions over raw pointers and includes nothing but
// kernels/shapes.h.
//
// The lane layout. The kernels work on a CHUNK of S = 16 samples at a time,
// stored sample-minor: element k of sample n of the chunk is at [k*S + n].
// A vector of the chunk's samples is then one aligned 64-byte line, every
// conv tap and every pooling window is a plain vector operation with all
// lanes busy (no 28-wide rows to pad, no horizontal sums), and the FC weights
// are read once per 16 samples instead of once per sample. The AVX2 path
// processes a chunk as two 8-lane groups, the NEON and portable paths as four
// 4-lane groups; the layout is the same for all of them. The missing samples
// of a short last chunk are zero input lanes with zero gradient lanes, so they
// add exactly nothing to any parameter gradient.
//   xT    (30,30,S)   zero-padded input, pixel (y,x) at [((y+1)*30 + x+1)*S]
//   pT    (1568,S)    pooled features, feature i = c*196 + py*14 + px
//   win   (1568,2)    uint16 lane bits: [2i] = dy of the 2x2 winner, [2i+1] = dx
//   actT  (8,784,S)   conv output after ReLU (primitives only)
//   lgT   (10,S)      logits or dlogits of the chunk
//   drow  (B,16)      dlogits rows, sample-major, classes padded to 16 with 0
//   cpart (8,10,S)    one chunk's conv gradient per lane: [c][k] k<9 = dw, k=9 = db
// The conv gradient is summed per chunk and the chunks added in chunk order;
// fc dW rows are each summed over the whole batch by one thread. Either way
// a result never depends on which thread ran what (kernels/simd/simd.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/shapes.h"

namespace cnn::simd {

// The network's shapes come from kernels/shapes.h (kFeatures, kClasses,
// kConvC, kImgPixels, kPoolW, kPadSide, ...); these are the lane layout's own.
constexpr int S = 16;                         // samples per chunk (lane stride)
constexpr int kXT = kPadPixels * S;           // floats of one chunk's padded input
constexpr int kPT = kFeatures * S;            // floats of one chunk's pooled features
constexpr int kActT = kActSize * S;           // floats of one chunk's activations
constexpr int kRow = 16;                      // padded class row
constexpr int kCPartK = kKernelSize + 1;      // per filter: 9 weight sums, then the bias sum
constexpr int kCPart = kConvC * kCPartK * S;  // floats of one chunk's conv partial
// The nonzero-block map of a chunk's input (conv_pool_fwd -> conv_pool_bwd):
// per lane group of L lanes (group n0 / L), one word per pair of padded
// rows, bit k set when the 2x2 block of padded rows 2r, 2r+1 and columns 2k,
// 2k+1 holds a bit that is set in some lane of the group. A window whose 4
// blocks are all clear reads only +0 (a blank window: the image's margin).
constexpr int kBlockRows = kPadSide / 2;  // 15 words per lane group
// Room for lane groups of 4, rounded up to whole cache lines (the two
// halves' maps of a chunk are written by different threads).
constexpr int kBlockWords = (kBlockRows * (S / 4) + 15) / 16 * 16;

// The halves. The training step splits the 8 channels into two halves,
// 0-3 and 4-7, so that two threads can share even one chunk and each keeps
// what it computes: its channels' pooled features (feature i = c*196 + ...,
// so half h is the 784 consecutive features [784h, 784h+784)), their fc
// weight rows and the gradient of those, each one contiguous block of
// memory. The halves are part of the arithmetic, not of the threading: the
// logits are always summed as part 0 + part 1, however many threads there are.
constexpr int kHalves = 2;
constexpr int kHalfC = kConvC / kHalves;         // 4 channels
constexpr int kHalfFeat = kHalfC * kPoolPixels;  // 784 features
static_assert(kHalves * kHalfC == kConvC, "halves");

struct Kernels {
  const char* isa;
  // ---- layout --------------------------------------------------------
  // x (nv,784) -> xT interior [lanes >= nv zeroed]; the border is left alone
  // (the caller keeps it zero).
  void (*input_to_lanes)(int nv, const float* x, float* xT);
  // src (nv,len) -> dstT (len,S) [lanes >= nv zeroed]
  void (*to_lanes)(int nv, int len, const float* src, float* dstT);
  // srcT (len,S) -> dst (nv,len)
  void (*from_lanes)(int nv, int len, const float* srcT, float* dst);
  // ---- forward ---------------------------------------------------------
  // Fused conv + bias + ReLU + 2x2 max-pool of channels [c0,c1). xT, w (72),
  // b (8) -> those channels' rows of pT, and win (may be nullptr), act (may
  // be nullptr: the primitive conv_fwd only). With img (not nullptr), the
  // kernel first converts the raw pixel bytes of the nv images img[n] (784
  // each) into xT's interior, each exactly byte / 255.0f
  // (kernels/common/pixels.h), lanes >= nv zeroed, a few rows ahead of the
  // windows that read them, so the conversion overlaps the arithmetic; xT
  // then holds the input, for the backward pass. With img nullptr, xT must
  // already hold it (input_to_lanes). blocks (may be nullptr; kBlockWords)
  // receives the input's nonzero-block map, for conv_pool_bwd. Blank windows
  // cost a few operations instead of the tile's: their outputs are the bias.
  void (*conv_pool_fwd)(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                        const float* w, const float* b, float* pT, std::uint16_t* win,
                        std::uint32_t* blocks, float* actT);
  // actT -> pT, win: max-pool of given activations (the primitive).
  void (*pool_fwd)(const float* actT, float* pT, std::uint16_t* win);
  // Part h of the logits: pT, w (1568,10) -> lgT, from the features of half h
  // only, started from b (10) when h = 0, from zero when h = 1. The logits
  // are part 0 + part 1.
  // nch chunks at once: chunk k's pT at pT + k*kPT, its part at lgT + k*lg_stride.
  void (*fc_fwd)(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                 int lg_stride);
  // ---- loss and update (sample-major, like the interface) ----------------
  float (*softmax_xent)(int B, const float* logits, const std::uint8_t* labels, float scale,
                        float* probs, float* dlogits, float* losses);
  void (*sgd_update)(float lr, float* p, const float* g, std::size_t n);
  // ---- backward --------------------------------------------------------
  // The input gradient, rows [i0,i1): pT, w, dT = dlogits (10,S) -> dpT (1568,S), zeroed where
  // pT <= 0 when relu_mask (the ReLU of the pooled value = the ReLU at the pooling winner).
  void (*fc_bwd_din)(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                     float* dpT, bool relu_mask);
  // Rows [i0,i1) of dw (1568,10), summed over all nb samples in order: pT of
  // chunk c at pT + c*kPT, drow (nb,16) padded dlogits rows.
  void (*fc_bwd_dw)(int nb, const float* pT, const float* drow, int i0, int i1, float* dw);
  // (fc db has no entry: every backend calls cnn::fc_bwd_db, kernels/common/fc_bwd_db.h.)
  // Fused pool backward + ReLU mask + conv weight/bias gradient, from the
  // winner pixels only, of channels [c0,c1) of a chunk with nv valid
  // samples: xT, dpT (already masked), win -> channels [c0,c1) of cpart.
  // blocks: xT's nonzero-block map from conv_pool_fwd, or nullptr (then
  // every window is computed, blank or not).
  void (*conv_pool_bwd)(int nv, const float* xT, int c0, int c1, const float* dpT,
                        const std::uint16_t* win, const std::uint32_t* blocks, float* cpart);
  // Dense conv weight gradient from a full dact (the primitive): xT, dactT -> cpart.
  void (*conv_bwd)(const float* xT, const float* dactT, float* cpart);
  // dpT, win, actT -> dactT: the pooled gradient at each winner, where act > 0.
  void (*pool_bwd)(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT);
};

// Each table is defined in tables.cpp from the functions of its ISA's files;
// the AVX ones exist only on x86 (CNN_X86), the NEON one only on aarch64
// (CNN_AARCH64). Calling one is legal only where cpu_features() reports the ISA.
const Kernels& kernels_avx512();
const Kernels& kernels_avx2();
const Kernels& kernels_neon();
const Kernels& kernels_portable();
// The table of a path choose_isa() accepted; std::invalid_argument for a
// path this build has no kernels for.
const Kernels& kernels_for(const std::string& isa);

// The per-ISA functions that fill the tables, op_direction[_part]_isa, each
// defined in op_direction_isa.cpp from the template in op_direction_impl.h.

// ---- AVX-512 (kernels/simd/*_avx512.cpp) ----
void input_to_lanes_avx512(int nv, const float* x, float* xT);
void to_lanes_avx512(int nv, int len, const float* src, float* dstT);
void from_lanes_avx512(int nv, int len, const float* srcT, float* dst);
void conv_pool_fwd_avx512(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                          const float* w, const float* b, float* pT, std::uint16_t* win,
                          std::uint32_t* blocks, float* actT);
void pool_fwd_avx512(const float* actT, float* pT, std::uint16_t* win);
void fc_fwd_avx512(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                   int lg_stride);
float softmax_xent_avx512(int B, const float* logits, const std::uint8_t* labels, float scale,
                          float* probs, float* dlogits, float* losses);
void sgd_update_avx512(float lr, float* p, const float* g, std::size_t n);
void fc_bwd_din_avx512(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                       float* dpT, bool relu_mask);
void fc_bwd_dw_avx512(int nb, const float* pT, const float* drow, int i0, int i1, float* dw);
void conv_pool_bwd_avx512(int nv, const float* xT, int c0, int c1, const float* dpT,
                          const std::uint16_t* win, const std::uint32_t* blocks, float* cpart);
void conv_bwd_avx512(const float* xT, const float* dactT, float* cpart);
void pool_bwd_avx512(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT);

// ---- AVX2 + FMA (kernels/simd/*_avx2.cpp) ----
void input_to_lanes_avx2(int nv, const float* x, float* xT);
void to_lanes_avx2(int nv, int len, const float* src, float* dstT);
void from_lanes_avx2(int nv, int len, const float* srcT, float* dst);
void conv_pool_fwd_avx2(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                        const float* w, const float* b, float* pT, std::uint16_t* win,
                        std::uint32_t* blocks, float* actT);
void pool_fwd_avx2(const float* actT, float* pT, std::uint16_t* win);
void fc_fwd_avx2(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                 int lg_stride);
float softmax_xent_avx2(int B, const float* logits, const std::uint8_t* labels, float scale,
                        float* probs, float* dlogits, float* losses);
void sgd_update_avx2(float lr, float* p, const float* g, std::size_t n);
void fc_bwd_din_avx2(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                     float* dpT, bool relu_mask);
void fc_bwd_dw_avx2(int nb, const float* pT, const float* drow, int i0, int i1, float* dw);
void conv_pool_bwd_avx2(int nv, const float* xT, int c0, int c1, const float* dpT,
                        const std::uint16_t* win, const std::uint32_t* blocks, float* cpart);
void conv_bwd_avx2(const float* xT, const float* dactT, float* cpart);
void pool_bwd_avx2(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT);

// ---- NEON, AArch64 Advanced SIMD (kernels/simd/*_neon.cpp) ----
void input_to_lanes_neon(int nv, const float* x, float* xT);
void to_lanes_neon(int nv, int len, const float* src, float* dstT);
void from_lanes_neon(int nv, int len, const float* srcT, float* dst);
void conv_pool_fwd_neon(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                        const float* w, const float* b, float* pT, std::uint16_t* win,
                        std::uint32_t* blocks, float* actT);
void pool_fwd_neon(const float* actT, float* pT, std::uint16_t* win);
void fc_fwd_neon(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                 int lg_stride);
float softmax_xent_neon(int B, const float* logits, const std::uint8_t* labels, float scale,
                        float* probs, float* dlogits, float* losses);
void sgd_update_neon(float lr, float* p, const float* g, std::size_t n);
void fc_bwd_din_neon(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                     float* dpT, bool relu_mask);
void fc_bwd_dw_neon(int nb, const float* pT, const float* drow, int i0, int i1, float* dw);
void conv_pool_bwd_neon(int nv, const float* xT, int c0, int c1, const float* dpT,
                        const std::uint16_t* win, const std::uint32_t* blocks, float* cpart);
void conv_bwd_neon(const float* xT, const float* dactT, float* cpart);
void pool_bwd_neon(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT);

// ---- portable (kernels/simd/*_portable.cpp) ----
void input_to_lanes_portable(int nv, const float* x, float* xT);
void to_lanes_portable(int nv, int len, const float* src, float* dstT);
void from_lanes_portable(int nv, int len, const float* srcT, float* dst);
void conv_pool_fwd_portable(int nv, const std::uint8_t* const* img, float* xT, int c0, int c1,
                            const float* w, const float* b, float* pT, std::uint16_t* win,
                            std::uint32_t* blocks, float* actT);
void pool_fwd_portable(const float* actT, float* pT, std::uint16_t* win);
void fc_fwd_portable(int nch, const float* pT, const float* w, const float* b, int h, float* lgT,
                     int lg_stride);
float softmax_xent_portable(int B, const float* logits, const std::uint8_t* labels, float scale,
                            float* probs, float* dlogits, float* losses);
void sgd_update_portable(float lr, float* p, const float* g, std::size_t n);
void fc_bwd_din_portable(int nv, const float* pT, const float* w, const float* dT, int i0, int i1,
                         float* dpT, bool relu_mask);
void fc_bwd_dw_portable(int nb, const float* pT, const float* drow, int i0, int i1, float* dw);
void conv_pool_bwd_portable(int nv, const float* xT, int c0, int c1, const float* dpT,
                            const std::uint16_t* win, const std::uint32_t* blocks, float* cpart);
void conv_bwd_portable(const float* xT, const float* dactT, float* cpart);
void pool_bwd_portable(const float* dpT, const std::uint16_t* win, const float* actT, float* dactT);

}  // namespace cnn::simd
