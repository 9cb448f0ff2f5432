#include "src/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <ostream>

#include "src/rng.h"

namespace cnn {

namespace {

// Pixel byte -> float, exactly byte / 255.0f, without a division or a table
// lookup per pixel (the gather runs between the backend's steps, so it must
// keep pace with the threaded kernels). With m = 257*i, i/255 = m/65535 =
// m*2^-16 * (1 + 2^-16 + 2^-32 + ...), so i/255 ~ i*kPixA + i*kPixBC with
// kPixA = 257*2^-16 (the product is exact) and kPixBC = fl(257*2^-32 +
// 257*2^-48); the one rounding of the sum gives exactly i / 255.0f for every
// i in 0..255. That is checked for all 256 values at start-up (PixelTable);
// were it ever false on some target, the gather falls back to the table, so
// the result is byte/255.0f either way. The loop is two multiplies and one
// add per pixel on whole vectors of the baseline target.
constexpr float kPixA = 257.0f / 65536.0f;
constexpr float kPixBC = kPixA / 65536.0f + kPixA / 65536.0f / 65536.0f;
inline float pixel_value(std::uint8_t v) {
  const float f = float(v);
  return f * kPixA + f * kPixBC;
}

struct PixelTable {
  float v[256];
  bool formula_exact = true;  // pixel_value(i) == i / 255.0f for every i
  PixelTable() {
    for (int i = 0; i < 256; ++i) {
      v[i] = float(i) / 255.0f;
      formula_exact = formula_exact && pixel_value(std::uint8_t(i)) == v[i];
    }
  }
};
const PixelTable kPixels;

// Hints the cache to start loading an image of the next batch, so the
// random reads of the next gather overlap this step's compute.
void prefetch_image(const Dataset& d, std::uint32_t i) {
  const char* src = reinterpret_cast<const char*>(d.images.data()) + std::size_t(i) * kImgPixels;
  for (int k = 0; k < kImgPixels; k += 64) __builtin_prefetch(src + k);
  __builtin_prefetch(src + kImgPixels - 1);
  __builtin_prefetch(d.labels.data() + i);
}

// One epoch's console line and CSV row (flushed, so a stop keeps it).
void report_epoch(const EpochRow& r, const char* note, std::ostream& out, std::ostream* log) {
  char line[160];
  std::snprintf(line, sizeof line, "Epoch %d | loss=%.6f | time=%.3fs%s", r.epoch, double(r.loss),
                r.seconds, note);
  out << line << std::endl;
  if (log) {
    std::snprintf(line, sizeof line, "%d,%.6f,%.3f", r.epoch, double(r.loss), r.seconds);
    *log << line << "\n" << std::flush;
  }
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The terminal progress line: redrawn in place at most every 0.1 s and on an
// epoch's last batch, erased before the epoch's summary line.
class ProgressLine {
 public:
  ProgressLine(std::ostream& out, bool on) : out_(out), on_(on) {}
  void start_epoch() { t0_ = last_ = now(); }
  void update(int epoch, int epochs, int batch, int batches, long images, float loss_sum) {
    if (!on_) return;
    double t = now();
    if (batch < batches && t - last_ < 0.1) return;
    last_ = t;
    char buf[160];
    std::snprintf(buf, sizeof buf, "\r\033[Kepoch %d/%d | batch %d/%d | loss %.6f | %.0f img/s",
                  epoch, epochs, batch, batches, double(loss_sum / float(images)),
                  t > t0_ ? double(images) / (t - t0_) : 0.0);
    out_ << buf << std::flush;
  }
  void erase() {
    if (on_) out_ << "\r\033[K";
  }

 private:
  std::ostream& out_;
  bool on_;
  double t0_ = 0, last_ = 0;
};

}  // namespace

void gather_batch(const Dataset& d, const std::uint32_t* idx, int B, float* x, std::uint8_t* labels,
                  int threads, const std::uint32_t* next, int next_B) {
  if (B < 16) threads = 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
#pragma omp for schedule(static) nowait
    for (int b = 0; b < B; ++b) {
      const std::uint8_t* src = d.images.data() + std::size_t(idx[b]) * kImgPixels;
      float* dst = x + std::size_t(b) * kImgPixels;
      if (kPixels.formula_exact)
        for (int k = 0; k < kImgPixels; ++k) dst[k] = pixel_value(src[k]);
      else
        for (int k = 0; k < kImgPixels; ++k) dst[k] = kPixels.v[src[k]];
      labels[b] = d.labels[idx[b]];
    }
#pragma omp for schedule(static) nowait
    for (int b = 0; b < next_B; ++b) prefetch_image(d, next[b]);
  }
}

float evaluate(Backend& be, const Params& p, const Dataset& test, Workspace& ws, int* confusion) {
  const int bs = ws.max_batch;
  std::vector<std::uint32_t> idx(bs);
  int correct = 0;
  for (int start = 0; start < test.n; start += bs) {
    int B = std::min(bs, test.n - start);
    std::iota(idx.begin(), idx.begin() + B, std::uint32_t(start));
    gather_batch(test, idx.data(), B, ws.x.data(), ws.labels.data(), be.threads());
    be.forward_infer(B, p, ws);
    for (int b = 0; b < B; ++b) {
      const float* z = ws.logits.data() + std::size_t(b) * kClasses;
      int best = 0;
      for (int j = 1; j < kClasses; ++j)
        if (z[j] > z[best]) best = j;
      if (best == ws.labels[b]) ++correct;
      if (confusion) ++confusion[ws.labels[b] * kClasses + best];
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
  // The running state a checkpoint saves; the loop shuffles st.indices.
  TrainState st;
  st.batch = cfg.batch;
  st.lr = cfg.lr;
  st.seed = cfg.seed;
  std::vector<std::uint32_t>& indices = st.indices;
  indices.resize(N);
  std::iota(indices.begin(), indices.end(), 0u);
  int first_epoch = 1;
  if (cfg.resume) {
    if (cfg.resume->indices.size() != indices.size())
      throw std::invalid_argument("the checkpoint's index order is for a training set of " +
                                  std::to_string(cfg.resume->indices.size()) + " images, not " +
                                  std::to_string(N));
    indices = cfg.resume->indices;
    rng.set_state(cfg.resume->rng_state);
    first_epoch = cfg.resume->epochs_done + 1;
    st.rows = cfg.resume->rows;
  }

  if (log) *log << "epoch,loss,time\n" << std::flush;
  for (const EpochRow& r : st.rows) report_epoch(r, " (from the checkpoint)", out, log);
  ProgressLine progress(out, cfg.progress);
  const int batches = (N + bs - 1) / bs;
  for (int epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
    double t0 = now();
    progress.start_epoch();
    rng.shuffle(indices);
    float total = 0.0f;
    for (int start = 0; start < N; start += bs) {
      const int B = std::min(bs, N - start);
      const float scale = 1.0f / float(B);
      {
        OpScope s(be.profiler(), "gather", 0, OpKind::outside);
        const int next_B = std::max(0, std::min(bs, N - start - bs));
        gather_batch(train, indices.data() + start, B, ws.x.data(), ws.labels.data(),
                     be.threads(), indices.data() + start + B, next_B);
      }
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
      progress.update(epoch, cfg.epochs, start / bs + 1, batches, start + B, total);
      if (cfg.stop && *cfg.stop) {
        progress.erase();
        res.interrupted = true;
        res.stopped_epoch = epoch;
        res.stopped_batch = start / bs + 1;
        out << "Interrupted: stopped after batch " << res.stopped_batch << " of epoch " << epoch
            << std::endl;
        return res;
      }
    }
    double secs = now() - t0;
    progress.erase();
    float loss = total / float(N);
    res.epoch_loss.push_back(loss);
    res.epoch_seconds.push_back(secs);
    res.train_seconds += secs;
    st.rows.push_back({epoch, loss, secs});
    report_epoch(st.rows.back(), "", out, log);
    st.epochs_done = epoch;
    st.rng_state = rng.state();
    if (cfg.on_epoch_end) cfg.on_epoch_end(p, st);
  }

  out << "Testing..." << std::endl;
  double t0 = now();
  // Evaluation is not part of the training profile.
  Profiler* prof = be.profiler();
  be.set_profiler(nullptr);
  res.accuracy = evaluate(be, p, test, tws);
  be.set_profiler(prof);
  res.test_seconds = now() - t0;
  char line[64];
  std::snprintf(line, sizeof line, "Test Accuracy: %.2f%%", double(res.accuracy));
  out << line << std::endl;
  return res;
}

}  // namespace cnn
