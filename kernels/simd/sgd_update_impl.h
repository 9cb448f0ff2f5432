// The SGD update p -= lr * g, written once for every ISA's traits (vec_*.h)
// and instantiated in sgd_update_<isa>.cpp as sgd_update_<isa>.
//
// Element-wise, one fnma per parameter (fused on the AVX paths, two
// roundings on the portable one), so any split of the parameters among
// threads gives the same bits; the tail shorter than a vector goes through
// the traits' masked load and store.
#pragma once

#include <cstddef>

#include "kernels/simd/kernels.h"

namespace cnn::simd {

// p (n) -= lr * g (n), as one FMA per element.
template <class VT>
void sgd_update_impl(float lr, float* p, const float* g, std::size_t n) {
  constexpr int L = VT::L;
  const typename VT::V a = VT::set1(lr);
  std::size_t i = 0;
  for (; i + L <= n; i += L) VT::store(p + i, VT::fnma(a, VT::load(g + i), VT::load(p + i)));
  if (i < n) {
    const int r = int(n - i);
    VT::storen(p + i, VT::fnma(a, VT::loadn(g + i, r), VT::loadn(p + i, r)), r);
  }
}

}  // namespace cnn::simd
