// Run-time CPU feature probe, done once (std::call_once). On x86 a path is
// usable only when the CPUID bits say the instructions exist AND XGETBV says
// the operating system saves the registers they use (YMM state for AVX2, YMM +
// ZMM + opmask state for AVX-512): a virtual machine can report AVX-512 in
// CPUID and still not enable it. On aarch64 Advanced SIMD (NEON) is part of
// the architecture's baseline; Linux still reports it (HWCAP_ASIMD), and the
// probe asks.
#pragma once

#include <string>
#include <vector>

namespace cnn {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 + FMA + OS YMM support
  bool avx512 = false;    // AVX-512 F/BW/DQ/VL + OS ZMM/opmask support
  bool neon = false;      // AArch64 Advanced SIMD with FMA (aarch64 builds only)
  std::string model;      // CPU model string, for reports
};

const CpuFeatures& cpu_features();

// Every ISA path this build has kernels for, best first, whether or not this
// CPU can run it: avx512, avx2 on x86; neon on aarch64; then "portable".
std::vector<std::string> built_isa_paths();

// Those of built_isa_paths() this CPU can run, best first; always ends with
// "portable".
std::vector<std::string> supported_isa_paths();

// The path to use: `requested` if given (must be one of the supported ones,
// else std::invalid_argument naming the available paths); otherwise the
// environment variable CNN_ISA if set (same rule); otherwise the best one.
// Either can only lower the path, never raise it past what the CPU has.
std::string choose_isa(const std::string& requested);

}  // namespace cnn
