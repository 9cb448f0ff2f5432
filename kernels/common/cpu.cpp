#include "kernels/common/cpu.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

#if CNN_X86
#include <cpuid.h>
#endif
#if CNN_AARCH64 && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace cnn {

namespace {

#if CNN_X86
// XGETBV without requiring -mxsave on this (baseline-compiled) file.
std::uint64_t xgetbv0() {
  std::uint32_t lo, hi;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t(hi) << 32) | lo;
}

CpuFeatures probe() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = c & (1u << 12);
  const bool osxsave = c & (1u << 27);
  const bool avx = c & (1u << 28);
  if (!osxsave || !avx) return f;
  const std::uint64_t xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;    // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
  unsigned a7, b7, c7, d7;
  if (!__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7)) return f;
  const bool avx2 = b7 & (1u << 5);
  const bool avx512f = b7 & (1u << 16), avx512dq = b7 & (1u << 17);
  const bool avx512bw = b7 & (1u << 30), avx512vl = b7 & (1u << 31);
  f.avx2_fma = avx2 && fma && os_ymm;
  f.avx512 = f.avx2_fma && avx512f && avx512dq && avx512bw && avx512vl && os_zmm;

  unsigned maxext = __get_cpuid_max(0x80000000u, nullptr);
  if (maxext >= 0x80000004u) {
    char name[49] = {0};
    for (unsigned i = 0; i < 3; ++i) {
      unsigned r[4];
      __get_cpuid(0x80000002u + i, &r[0], &r[1], &r[2], &r[3]);
      std::memcpy(name + 16 * i, r, 16);
    }
    f.model = name;
    while (!f.model.empty() && f.model.back() == ' ') f.model.pop_back();
    while (!f.model.empty() && f.model.front() == ' ') f.model.erase(0, 1);
  }
  if (f.model.empty()) f.model = "unknown";
  return f;
}
#elif CNN_AARCH64
CpuFeatures probe() {
  CpuFeatures f;
#if defined(__linux__)
  f.neon = getauxval(AT_HWCAP) & HWCAP_ASIMD;
#else
  f.neon = true;  // e.g. Apple: Advanced SIMD is baseline aarch64
#endif
  f.model = "aarch64";
  return f;
}
#else
CpuFeatures probe() {
  CpuFeatures f;
  f.model = "unknown";
  return f;
}
#endif

}  // namespace

const CpuFeatures& cpu_features() {
  static std::once_flag once;
  static CpuFeatures f;
  std::call_once(once, [] { f = probe(); });
  return f;
}

std::vector<std::string> built_isa_paths() {
#if CNN_X86
  return {"avx512", "avx2", "portable"};
#elif CNN_AARCH64
  return {"neon", "portable"};
#else
  return {"portable"};
#endif
}

std::vector<std::string> supported_isa_paths() {
  const auto& f = cpu_features();
  std::vector<std::string> p;
  for (const auto& isa : built_isa_paths())
    if ((isa == "avx512" && f.avx512) || (isa == "avx2" && f.avx2_fma) ||
        (isa == "neon" && f.neon) || isa == "portable")
      p.push_back(isa);
  return p;
}

std::string choose_isa(const std::string& requested) {
  const auto paths = supported_isa_paths();
  auto check = [&](const std::string& want, const char* from) {
    for (const auto& p : paths)
      if (p == want) return want;
    std::string avail;
    for (const auto& p : paths) avail += (avail.empty() ? "" : ", ") + p;
    throw std::invalid_argument(std::string(from) + ": ISA path '" + want +
                                "' is not available on this CPU (available: " + avail + ")");
  };
  if (!requested.empty()) return check(requested, "--isa");
  if (const char* env = std::getenv("CNN_ISA"); env && *env) return check(env, "CNN_ISA");
  return paths.front();
}

}  // namespace cnn
