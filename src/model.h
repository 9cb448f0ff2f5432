// Model parameters and their initialisation (docs/reference.md,
// "Initialisation").
#pragma once

#include "kernels/backend.h"
#include "src/rng.h"

namespace cnn {

// conv_w then fc_w, uniform(-L, L) in index order; biases zero. Consumes the
// RNG exactly as the reference does.
void init_params(Params& p, Rng& rng);

}  // namespace cnn
