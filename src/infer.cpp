// eval and predict. Both load the model before anything else, so a bad model
// file fails at once with the loader's one-line message.
#include "src/infer.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>

#include "src/mnist.h"
#include "src/model_io.h"
#include "src/pgm.h"
#include "src/trainer.h"

namespace cnn {

namespace {

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

void print_eval_report(std::ostream& out, float accuracy, const Confusion& cm) {
  char line[160];
  out << accuracy_line(accuracy) << "\n";
  out << "Confusion matrix (rows: true digit, columns: predicted digit):\n";
  out << "     ";
  for (int j = 0; j < kClasses; ++j) {
    std::snprintf(line, sizeof line, "%6d", j);
    out << line;
  }
  out << "\n";
  for (int i = 0; i < kClasses; ++i) {
    std::snprintf(line, sizeof line, "%5d", i);
    out << line;
    for (int j = 0; j < kClasses; ++j) {
      std::snprintf(line, sizeof line, "%6d", cm[i * kClasses + j]);
      out << line;
    }
    out << "\n";
  }
  out << "Per-class accuracy:\n";
  for (int i = 0; i < kClasses; ++i) {
    int n = 0;
    for (int j = 0; j < kClasses; ++j) n += cm[i * kClasses + j];
    const int ok = cm[i * kClasses + i];
    if (n == 0)
      std::snprintf(line, sizeof line, "  %d: n/a (no test images)", i);
    else
      std::snprintf(line, sizeof line, "  %d: %6.2f%% (%d/%d)", i,
                    double(100.0f * float(ok) / float(n)), ok, n);
    out << line << "\n";
  }
  out << std::flush;
}

std::vector<float> load_image_arg(const std::string& arg) {
  std::error_code ec;
  const auto colon = arg.rfind(':');
  if (!std::filesystem::exists(arg, ec) && colon != std::string::npos &&
      all_digits(arg.substr(colon + 1))) {
    const std::string path = arg.substr(0, colon);
    const std::string idx_str = arg.substr(colon + 1);
    // Decoding an IDX file is the costly part: keep the last few.
    static std::map<std::string, std::pair<int, ImageBytes>> cache;
    auto it = cache.find(path);
    if (it == cache.end()) {
      if (cache.size() >= 4) cache.clear();
      int count = 0;
      auto images = read_idx_images(path, &count);
      it = cache.emplace(path, std::make_pair(count, std::move(images))).first;
    }
    const int count = it->second.first;
    if (idx_str.size() > 9 || std::stol(idx_str) >= count)
      throw DataError(path + ": image index " + idx_str + " is out of range (the file holds " +
                      std::to_string(count) + " images, 0-based)");
    const std::uint8_t* src =
        it->second.second.data() + std::size_t(std::stol(idx_str)) * kImgPixels;
    std::vector<float> x(kImgPixels);
    image_to_input(src, x.data());  // exactly the training conversion
    return x;
  }
  return pgm_to_input(read_pgm(arg, kImgW, kImgH));
}

Prediction predict_image(Backend& be, const Params& p, const float* x) {
  Workspace ws(1);
  std::copy(x, x + kImgPixels, ws.x.data());
  ws.labels[0] = 0;
  be.forward_infer(1, p, ws);
  Prediction r;
  const float* z = ws.logits.data();
  r.digit = predicted_class(z);
  // The label only affects dlogits and the loss, both discarded.
  be.softmax_xent(1, z, ws.labels.data(), 1.0f, ws.probs.data(), ws.dlogits.data());
  std::copy(ws.probs.data(), ws.probs.data() + kClasses, r.probs.begin());
  return r;
}

int eval_command(const InferOptions& o, std::ostream& out, std::ostream& err) {
  try {
    out << "Loading model " << o.model_path << "..." << std::endl;
    Params p = load_model(o.model_path);
    out << "Loading MNIST..." << std::endl;
    const Dataset test = grouped_by_margins(load_mnist(o.data_dir, "t10k"));
    out << "Test: " << test.n << std::endl;
    auto be = o.backend->make(o.backend_opts);
    print_backend_line(out, *be);
    const int ebs = std::min(kEvalBatch, test.n);
    be->prepare(ebs);
    Workspace ws(ebs);
    Confusion cm{};
    out << "Testing..." << std::endl;
    const float acc = evaluate(*be, p, test, ws, cm.data());
    print_eval_report(out, acc, cm);
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

int predict_command(const InferOptions& o, const std::vector<std::string>& files, std::ostream& out,
                    std::ostream& err) {
  Params p;
  std::unique_ptr<Backend> be;
  try {
    p = load_model(o.model_path);
    be = o.backend->make(o.backend_opts);
    be->prepare(1);
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
  int status = 0;
  for (const auto& f : files) {
    try {
      const auto x = load_image_arg(f);
      const Prediction r = predict_image(*be, p, x.data());
      std::string line = f + ": " + std::to_string(r.digit) + " |";
      char buf[32];
      for (int j = 0; j < kClasses; ++j) {
        std::snprintf(buf, sizeof buf, " %d:%.6f", j, double(r.probs[j]));
        line += buf;
      }
      out << line << std::endl;
    } catch (const std::exception& e) {
      err << "error: " << e.what() << "\n";
      status = 1;
    }
  }
  return status;
}

}  // namespace cnn
