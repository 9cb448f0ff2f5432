// The training loop (docs/reference.md, "Training loop"): shuffle,
// gather a batch, forward, loss, backward, SGD update, through the Backend
// interface only; then the test-set evaluation. The pieces eval and predict
// share with it (the input conversion, the prediction rule, the accuracy
// line) are declared here too, so both print exactly what training prints.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/common/pixels.h"
#include "kernels/profiler.h"
#include "src/mnist.h"
#include "src/rng.h"

namespace cnn {

// One epoch's summary, as printed and logged.
struct EpochRow {
  int epoch = 0;
  float loss = 0;
  double seconds = 0;
};

// What a checkpoint holds besides the parameters: everything needed to
// continue after `epochs_done` epochs and end bit-identical to a run that
// never stopped (src/model_io.h writes and reads it).
struct TrainState {
  int epochs_done = 0;
  int batch = 0;
  float lr = 0;
  std::uint64_t seed = 0;
  std::uint64_t rng_state = 0;         // after the last epoch's shuffle
  std::vector<std::uint32_t> indices;  // the order as shuffled in that epoch
  std::vector<EpochRow> rows;          // every epoch so far
};

struct TrainConfig {
  int epochs = 3;
  int batch = 32;
  float lr = 0.01f;
  std::uint64_t seed = 1;
  // A \r-updated line (batches done, loss so far, images/s) on `out` during
  // each epoch; the caller turns it on only when stdout is a terminal.
  bool progress = false;
  // Continue from this state (the caller loads the parameters) instead of
  // starting at epoch 1; its rows are printed and logged again first.
  const TrainState* resume = nullptr;
  // Called after every epoch (after its log row) with the parameters and the
  // state a checkpoint needs.
  std::function<void(const Params&, const TrainState&)> on_epoch_end;
  // Polled after every batch; when it reads true the run stops there (the
  // SIGINT handler sets it). The epochs completed are already logged.
  const volatile std::sig_atomic_t* stop = nullptr;
};

// Covers the epochs run by this call (not those before a resume).
struct TrainResult {
  std::vector<float> epoch_loss;
  std::vector<double> epoch_seconds;
  double train_seconds = 0;  // sum of epoch times
  float accuracy = 0;        // percent, on the test set
  double test_seconds = 0;
  // Stopped by cfg.stop: at this epoch and batch (1-based), no evaluation.
  bool interrupted = false;
  int stopped_epoch = 0, stopped_batch = 0;
};

// Loss became NaN or infinite.
class DivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws DataError unless the checkpoint state `s` can continue on a
// training set of `n` images (its index order must be a permutation of them).
// The message names the checkpoint as `ckpt_name` and the data as `data_name`.
void check_resume_fits(const TrainState& s, int n, const std::string& ckpt_name,
                       const std::string& data_name);

// "Backend: <name> | isa=<path> | threads=<n>": every training and eval run
// prints the implementation that actually runs.
void print_backend_line(std::ostream& out, const Backend& be);

// image_to_input (one image's bytes -> the network's input, exactly
// byte / 255.0f) is in kernels/common/pixels.h, included above.

// image_to_input for a whole batch. With a backend (train() and evaluate()
// pass theirs) the batch is shared among the backend's own threads through
// Backend::parallel_for, in tasks of 8 images; without one it runs serially.
// `next` (next_B indices, may be nullptr): the following batch, whose images
// are prefetched into the cache meanwhile.
// The batch's images where they lie in the dataset instead of a copy:
// images[b] -> the bytes of image idx[b], labels[b] its label (what
// Backend::train_step_bytes and forward_infer_bytes take).
void point_batch(const Dataset& d, const std::uint32_t* idx, int B, const std::uint8_t** images,
                 std::uint8_t* labels);

void gather_batch(const Dataset& d, const std::uint32_t* idx, int B, float* x, std::uint8_t* labels,
                  Backend* be = nullptr, const std::uint32_t* next = nullptr, int next_B = 0);

// The predicted digit: the first index of the largest of kClasses logits.
int predicted_class(const float* logits);

// Evaluation batch size (at least; training uses its batch if larger).
// Forward only, so per-sample results do not depend on it.
constexpr int kEvalBatch = 256;

// Accuracy in percent, 100.0f * correct / N in f32; prediction as
// predicted_class(). When `confusion` is given, it must hold 10x10 zeros
// and receives the counts, confusion[true_label * 10 + predicted].
float evaluate(Backend& be, const Params& p, const Dataset& test, Workspace& ws,
               int* confusion = nullptr);

// "Test Accuracy: NN.NN%" (two decimals), without a newline.
std::string accuracy_line(float accuracy);

// Trains `p` (already initialised from rng) on `train`, prints the reference
// program's lines to `out` (docs/reference.md, "Output and log"), then
// evaluates on `test`. The rng continues the stream after initialisation.
// `log` is opened by the caller so an unwritable path fails before any work.
TrainResult train(Backend& be, Params& p, Rng& rng, const TrainConfig& cfg, const Dataset& train,
                  const Dataset& test, std::ostream& out, std::ostream* log);

}  // namespace cnn
