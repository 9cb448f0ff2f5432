// The simd backend's kernel tables (kernels/simd/kernels.h), one per ISA
// path, filled literally from the per-ISA functions. Baseline code: it only
// takes the functions' addresses.
#include "kernels/simd/kernels.h"

#include <stdexcept>
#include <string>

namespace cnn::simd {

// The tables, filled literally from the functions kernels.h declares; each
// per-ISA one only on the targets that build its files.
#if CNN_X86
const Kernels& kernels_avx512() {
  static const Kernels k{"avx512",          input_to_lanes_avx512, to_lanes_avx512,
                         from_lanes_avx512, conv_pool_fwd_avx512,  pool_fwd_avx512,
                         fc_fwd_avx512,     softmax_xent_avx512,   sgd_update_avx512,
                         fc_bwd_din_avx512, fc_bwd_dw_avx512,      conv_pool_bwd_avx512,
                         conv_bwd_avx512,   pool_bwd_avx512};
  return k;
}
const Kernels& kernels_avx2() {
  static const Kernels k{
      "avx2",         input_to_lanes_avx2, to_lanes_avx2,     from_lanes_avx2, conv_pool_fwd_avx2,
      pool_fwd_avx2,  fc_fwd_avx2,         softmax_xent_avx2, sgd_update_avx2, fc_bwd_din_avx2,
      fc_bwd_dw_avx2, conv_pool_bwd_avx2,  conv_bwd_avx2,     pool_bwd_avx2};
  return k;
}
#endif
#if CNN_AARCH64
const Kernels& kernels_neon() {
  static const Kernels k{
      "neon",         input_to_lanes_neon, to_lanes_neon,     from_lanes_neon, conv_pool_fwd_neon,
      pool_fwd_neon,  fc_fwd_neon,         softmax_xent_neon, sgd_update_neon, fc_bwd_din_neon,
      fc_bwd_dw_neon, conv_pool_bwd_neon,  conv_bwd_neon,     pool_bwd_neon};
  return k;
}
#endif
const Kernels& kernels_portable() {
  static const Kernels k{"portable",          input_to_lanes_portable, to_lanes_portable,
                         from_lanes_portable, conv_pool_fwd_portable,  pool_fwd_portable,
                         fc_fwd_portable,     softmax_xent_portable,   sgd_update_portable,
                         fc_bwd_din_portable, fc_bwd_dw_portable,      conv_pool_bwd_portable,
                         conv_bwd_portable,   pool_bwd_portable};
  return k;
}

// The table for a path choose_isa() accepted (so the CPU can run it).
const Kernels& kernels_for(const std::string& isa) {
#if CNN_X86
  if (isa == "avx512") return kernels_avx512();
  if (isa == "avx2") return kernels_avx2();
#endif
#if CNN_AARCH64
  if (isa == "neon") return kernels_neon();
#endif
  if (isa == "portable") return kernels_portable();
  throw std::invalid_argument("simd: no kernels for ISA path '" + isa + "' in this build");
}

}  // namespace cnn::simd
