// The `eval` and `predict` subcommands: a saved model (src/model_io.h) run
// forward through a backend. eval reuses the trainer's evaluate(), so it
// prints exactly the accuracy the training run that saved the model printed.
#pragma once

#include <array>
#include <iosfwd>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/registry.h"

namespace cnn {

struct InferOptions {
  std::string model_path;
  std::string data_dir = "data";
  const BackendInfo* backend = nullptr;
  BackendOptions backend_opts;
};

// Confusion counts, [true_label * 10 + predicted].
using Confusion = std::array<int, kClasses * kClasses>;

// "Test Accuracy: NN.NN%", the 10x10 confusion matrix and per-class accuracy.
void print_eval_report(std::ostream& out, float accuracy, const Confusion& confusion);

// One predict input as the network's 784 floats: a PGM file (P5 or P2,
// 28x28, any maxval) or IDX_FILE:INDEX (an image of an IDX image file,
// raw or gzip, 0-based). An existing file is always read as PGM, so PGM
// names may contain ':'. Throws DataError naming the file.
std::vector<float> load_image_arg(const std::string& arg);

struct Prediction {
  int digit = 0;                        // first index of the largest logit
  std::array<float, kClasses> probs{};  // the backend's softmax
};

Prediction predict_image(Backend& be, const Params& p, const float* x /* (784) */);

// Both return the process exit status: 0, or 1 after printing one-line
// errors to err (predict goes on with the other files and fails at the end).
int eval_command(const InferOptions& o, std::ostream& out, std::ostream& err);
int predict_command(const InferOptions& o, const std::vector<std::string>& files, std::ostream& out,
                    std::ostream& err);

}  // namespace cnn
