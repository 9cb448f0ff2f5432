#include "src/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <ostream>

#include "src/rng.h"

namespace cnn {

namespace {

struct PixelTable {
  float v[256];
  PixelTable() {
    for (int i = 0; i < 256; ++i) v[i] = float(i) / 255.0f;
  }
};
const PixelTable kPixels;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void gather_batch(const Dataset& d, const std::uint32_t* idx, int B, float* x, std::uint8_t* labels) {
  for (int b = 0; b < B; ++b) {
    const std::uint8_t* src = d.images.data() + std::size_t(idx[b]) * kImgPixels;
    float* dst = x + std::size_t(b) * kImgPixels;
    for (int k = 0; k < kImgPixels; ++k) dst[k] = kPixels.v[src[k]];
    labels[b] = d.labels[idx[b]];
  }
}

float evaluate(Backend& be, const Params& p, const Dataset& test, Workspace& ws) {
  const int bs = ws.max_batch;
  std::vector<std::uint32_t> idx(bs);
  int correct = 0;
  for (int start = 0; start < test.n; start += bs) {
    int B = std::min(bs, test.n - start);
    std::iota(idx.begin(), idx.begin() + B, std::uint32_t(start));
    gather_batch(test, idx.data(), B, ws.x.data(), ws.labels.data());
    be.forward_infer(B, p, ws);
    for (int b = 0; b < B; ++b) {
      const float* z = ws.logits.data() + std::size_t(b) * kClasses;
      int best = 0;
      for (int j = 1; j < kClasses; ++j)
        if (z[j] > z[best]) best = j;
      if (best == ws.labels[b]) ++correct;
    }
  }
  return 100.0f * float(correct) / float(test.n);
}

TrainResult train(Backend& be, Params& p, Rng& rng, const TrainConfig& cfg, const Dataset& train,
                  const Dataset& test, std::ostream& out, std::ostream* log) {
  TrainResult res;
  const int N = train.n;
  const int bs = std::min(cfg.batch, N);
  // Evaluation runs in larger batches (forward only: per-sample results do
  // not depend on the batch size). Everything is allocated before the loop.
  const int ebs = std::min(std::max(bs, 256), test.n);
  Workspace ws(bs);
  Workspace tws(ebs);
  be.prepare(std::max(bs, ebs));
  Params grads;
  std::vector<std::uint32_t> indices(N);
  std::iota(indices.begin(), indices.end(), 0u);

  if (log) *log << "epoch,loss,time\n" << std::flush;
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    double t0 = now();
    rng.shuffle(indices);
    float total = 0.0f;
    for (int start = 0; start < N; start += bs) {
      const int B = std::min(bs, N - start);
      const float scale = 1.0f / float(B);
      gather_batch(train, indices.data() + start, B, ws.x.data(), ws.labels.data());
      be.forward_train(B, p, ws);
      float batch_loss = be.loss_grad(B, scale, ws);
      // The loss clamps p[label] at 1e-9, which hides a NaN softmax (fmax
      // drops NaN): non-finite logits are what a diverged run shows.
      bool finite = std::isfinite(batch_loss);
      for (int k = 0; finite && k < B * kClasses; ++k) finite = std::isfinite(ws.logits[k]);
      if (!finite) {
        char buf[160];
        std::snprintf(buf, sizeof buf,
                      "training diverged: the loss became NaN or infinite at epoch %d, batch %d (loss %f; try a smaller --lr)",
                      epoch, start / bs, double(batch_loss));
        throw DivergedError(buf);
      }
      be.backward(B, p, ws, grads);
      be.update(cfg.lr, p, grads);
      total += batch_loss;
    }
    double secs = now() - t0;
    float loss = total / float(N);
    res.epoch_loss.push_back(loss);
    res.epoch_seconds.push_back(secs);
    res.train_seconds += secs;
    char line[128];
    std::snprintf(line, sizeof line, "Epoch %d | loss=%.6f | time=%.3fs", epoch, double(loss), secs);
    out << line << std::endl;
    if (log) {
      std::snprintf(line, sizeof line, "%d,%.6f,%.3f", epoch, double(loss), secs);
      *log << line << "\n" << std::flush;
    }
  }

  out << "Testing..." << std::endl;
  double t0 = now();
  res.accuracy = evaluate(be, p, test, tws);
  res.test_seconds = now() - t0;
  char line[64];
  std::snprintf(line, sizeof line, "Test Accuracy: %.2f%%", double(res.accuracy));
  out << line << std::endl;
  return res;
}

}  // namespace cnn
