// The network's shapes, stated once. Everything that needs a size (the
// interface, every backend, per-ISA kernel files, the model file, FLOP
// counts, benchmarks) takes it from here; this header includes nothing, so
// per-ISA translation units may include it freely.
#pragma once

#include <cstddef>

namespace cnn {

constexpr int kImgH = 28, kImgW = 28, kImgPixels = kImgH * kImgW;      // 784
constexpr int kPadSide = kImgW + 2, kPadPixels = kPadSide * kPadSide;  // 30, 900: zero-padded input
constexpr int kConvC = 8, kKernel = 3, kKernelSize = kKernel * kKernel;
constexpr int kActSize = kConvC * kImgPixels;                           // 6272
constexpr int kPoolH = 14, kPoolW = 14, kPoolPixels = kPoolH * kPoolW;  // 196
constexpr int kFeatures = kConvC * kPoolPixels;                         // 1568
constexpr int kClasses = 10;
constexpr int kConvWSize = kConvC * kKernelSize;  // 72
constexpr int kFcWSize = kFeatures * kClasses;    // 15680
// conv_w + conv_b + fc_w + fc_b
constexpr std::size_t kParamCount = kConvWSize + kConvC + kFcWSize + kClasses;  // 15770
static_assert(kParamCount == 15770, "the reference network has 15,770 parameters");

}  // namespace cnn
