#include "kernels/registry.h"

#include "kernels/common/cpu.h"
#include "kernels/im2col/im2col.h"
#include "kernels/naive/naive.h"
#include "kernels/omp/omp.h"
#include "kernels/simd/simd.h"

namespace cnn {

namespace {
std::vector<std::string> portable_only() { return {"portable"}; }
}  // namespace

const std::vector<BackendInfo>& backend_registry() {
  // Fastest first: "auto" takes the first entry.
  static const std::vector<BackendInfo> table = {
      {"simd",
       "fused, hand-vectorised kernels (AVX-512 / AVX2+FMA / NEON / portable, chosen at run "
       "time), a thread team over 16-sample chunks",
       [](const BackendOptions& o) { return make_simd_backend(o); }, supported_isa_paths},
      {"im2col", "every heavy operation a GEMM on the project's own packed, cache-blocked kernel",
       [](const BackendOptions& o) { return make_im2col_backend(o); }, supported_isa_paths},
      {"omp", "naive loops split across the batch with OpenMP; bit-identical at any thread count",
       [](const BackendOptions& o) { return make_omp_backend(o.threads, o.ftz); }, portable_only},
      {"naive", "explicit single-threaded loops, bit-exact with the reference program",
       [](const BackendOptions&) { return make_naive_backend(); }, portable_only},
  };
  return table;
}

const BackendInfo& find_backend(const std::string& name) {
  const auto& t = backend_registry();
  if (name == "auto") return t.front();
  for (const auto& b : t)
    if (b.name == name) return b;
  std::string valid = "auto";
  for (const auto& b : t) valid += ", " + b.name;
  throw UnknownBackend("unknown backend '" + name + "' (valid: " + valid + ")");
}

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opt) {
  return find_backend(name).make(opt);
}

}  // namespace cnn
