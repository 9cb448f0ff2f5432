// The training loop (BASELINE.md, "Training loop"): shuffle, gather a batch,
// forward, loss, backward, SGD update, through the Backend interface only.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/profiler.h"
#include "src/mnist.h"
#include "src/rng.h"

namespace cnn {

struct TrainConfig {
  int epochs = 3;
  int batch = 32;
  float lr = 0.01f;
  std::uint64_t seed = 1;
  std::string log_path;  // CSV epoch,loss,time; empty = no log
};

struct TrainResult {
  std::vector<float> epoch_loss;
  std::vector<double> epoch_seconds;
  double train_seconds = 0;  // sum of epoch times
  float accuracy = 0;        // percent, on the test set
  double test_seconds = 0;
};

// Loss became NaN or infinite.
class DivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Pixel byte -> float, exactly byte / 255.0f.
void gather_batch(const Dataset& d, const std::uint32_t* idx, int B, float* x, std::uint8_t* labels);

// Accuracy in percent, 100.0f * correct / N in f32; prediction = first index
// of the largest logit.
float evaluate(Backend& be, const Params& p, const Dataset& test, Workspace& ws);

// Trains `p` (already initialised from rng) on `train`, prints the baseline's
// lines to `out`, then evaluates on `test`. The rng continues the stream
// after initialisation. `log` is opened by the caller so an unwritable path
// fails before any work.
TrainResult train(Backend& be, Params& p, Rng& rng, const TrainConfig& cfg, const Dataset& train,
                  const Dataset& test, std::ostream& out, std::ostream* log);

}  // namespace cnn
