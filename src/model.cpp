#include "src/model.h"

#include <cmath>

namespace cnn {

void init_params(Params& p, Rng& rng) {
  const float conv_l = std::sqrt(6.0f / float(kKernelSize + kConvWSize));  // fan 9 + 72
  for (int i = 0; i < kConvWSize; ++i) p.conv_w[i] = rng.uniform(-conv_l, conv_l);
  p.conv_b.zero();
  const float fc_l = std::sqrt(6.0f / float(kFeatures + kClasses));
  for (int i = 0; i < kFcWSize; ++i) p.fc_w[i] = rng.uniform(-fc_l, fc_l);
  p.fc_b.zero();
}

}  // namespace cnn
