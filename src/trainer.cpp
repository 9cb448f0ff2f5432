// The training loop and the test evaluation. train() allocates everything,
// then EpochLoop runs the epochs: run_epoch() shuffles and walks the
// batches, step() is one batch through the backend, end_epoch() reports and
// checkpoints. A step hands the backend the batch's images where they lie
// in the dataset (Backend::train_step_bytes); only a profiled run gathers
// them into the float input first, converting pixels without a division
// (kernels/common/pixels.h) and prefetching the next batch's images.
#include "src/trainer.h"

#include <algorithm>
#include <functional>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <ostream>

#include "src/rng.h"

namespace cnn {

namespace {

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

// A batch step stops the run here when its loss or a logit is NaN or
// infinite. The loss clamps p[label] at 1e-9, which hides a NaN softmax
// (fmax drops NaN): non-finite logits are what a diverged run shows.
void check_finite(float batch_loss, const float* logits, int count, int epoch, int batch) {
  bool finite = std::isfinite(batch_loss);
  for (int k = 0; finite && k < count; ++k) finite = std::isfinite(logits[k]);
  if (finite) return;
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "training diverged: the loss became NaN or infinite at epoch %d, batch %d (loss "
                "%f; try a smaller --lr)",
                epoch, batch, double(batch_loss));
  throw DivergedError(buf);
}

// The epochs of one train() call: what a batch step needs, allocated once
// before the loop, and the state a checkpoint saves (st_.indices is the
// order the loop shuffles).
class EpochLoop {
 public:
  EpochLoop(Backend& be, Params& p, Rng& rng, const TrainConfig& cfg, const Dataset& data, int bs,
            std::ostream& out, std::ostream* log)
      : be_(be),
        p_(p),
        rng_(rng),
        cfg_(cfg),
        data_(data),
        n_(data.n),
        bs_(bs),
        batches_((data.n + bs - 1) / bs),
        out_(out),
        log_(log),
        ws_(bs),
        images_(std::size_t(bs)),
        progress_(out, cfg.progress) {}

  // Sets the starting state: the identity order, or the resumed run's state
  // (its order, RNG state and log rows).
  void start() {
    st_.batch = cfg_.batch;
    st_.lr = cfg_.lr;
    st_.seed = cfg_.seed;
    st_.indices.resize(n_);
    std::iota(st_.indices.begin(), st_.indices.end(), 0u);
    if (!cfg_.resume) return;
    check_resume_fits(*cfg_.resume, n_, "the resumed state", "the training set");
    st_.indices = cfg_.resume->indices;
    rng_.set_state(cfg_.resume->rng_state);
    st_.epochs_done = cfg_.resume->epochs_done;
    st_.rows = cfg_.resume->rows;
  }

  // The log header, the rows a resumed run already holds, then the epochs
  // left. False when cfg.stop ended the run.
  bool run(TrainResult& res) {
    if (log_) *log_ << "epoch,loss,time\n" << std::flush;
    for (const EpochRow& r : st_.rows) report_epoch(r, " (from the checkpoint)", out_, log_);
    for (int epoch = st_.epochs_done + 1; epoch <= cfg_.epochs; ++epoch)
      if (!run_epoch(epoch, res)) return false;
    return true;
  }

 private:
  bool run_epoch(int epoch, TrainResult& res) {
    const double t0 = now();
    progress_.start_epoch();
    rng_.shuffle(st_.indices);
    float total = 0.0f;
    for (int start = 0; start < n_; start += bs_) {
      const int B = std::min(bs_, n_ - start);
      total += step(epoch, start, B);
      const int batch = start / bs_ + 1;
      progress_.update(epoch, cfg_.epochs, batch, batches_, start + B, total);
      if (cfg_.stop && *cfg_.stop) {
        interrupted(epoch, batch, res);
        return false;
      }
    }
    end_epoch(epoch, total, now() - t0, res);
    return true;
  }

  // One batch: point at its images, then the backend's step on the raw bytes
  // (Backend::train_step_bytes: forward, loss, backward, update). Profiled, the batch is gathered
  // into ws.x first, timed as a row of its own, and the float step runs. Returns the batch's mean
  // loss.
  float step(int epoch, int start, int B) {
    const std::uint32_t* idx = st_.indices.data() + start;
    // The step updates the parameters before the check: a diverged run
    // stops with exit status 3 and saves nothing, so the last update is moot.
    float batch_loss;
    if (Profiler* prof = be_.profiler()) {  // the gather as a row of its own
      {
        OpScope s(prof, "gather", 0, OpKind::outside);
        const int next_B = std::max(0, std::min(bs_, n_ - start - bs_));
        gather_batch(data_, idx, B, ws_.x.data(), ws_.labels.data(), &be_, idx + B, next_B);
      }
      batch_loss = be_.train_step(B, cfg_.lr, p_, ws_, grads_);
    } else {
      // No prefetch of the next batch from here: the kernel that reads the
      // images prefetches them on the thread that needs them (a prefetch
      // on this thread made the run 6% slower: the other core then fetched
      // the lines from this core's cache).
      point_batch(data_, idx, B, images_.data(), ws_.labels.data());
      batch_loss = be_.train_step_bytes(B, images_.data(), cfg_.lr, p_, ws_, grads_);
    }
    check_finite(batch_loss, ws_.logits.data(), B * kClasses, epoch, start / bs_);
    return batch_loss;
  }

  // The epoch's row on the console and in the log, then the checkpoint.
  void end_epoch(int epoch, float total, double secs, TrainResult& res) {
    progress_.erase();
    const float loss = total / float(n_);
    res.epoch_loss.push_back(loss);
    res.epoch_seconds.push_back(secs);
    res.train_seconds += secs;
    st_.rows.push_back({epoch, loss, secs});
    report_epoch(st_.rows.back(), "", out_, log_);
    st_.epochs_done = epoch;
    st_.rng_state = rng_.state();
    if (cfg_.on_epoch_end) cfg_.on_epoch_end(p_, st_);
  }

  void interrupted(int epoch, int batch, TrainResult& res) {
    progress_.erase();
    res.interrupted = true;
    res.stopped_epoch = epoch;
    res.stopped_batch = batch;
    out_ << "Interrupted: stopped after batch " << batch << " of epoch " << epoch << std::endl;
  }

  Backend& be_;
  Params& p_;
  Rng& rng_;
  const TrainConfig& cfg_;
  const Dataset& data_;
  const int n_, bs_, batches_;
  std::ostream& out_;
  std::ostream* log_;
  Workspace ws_;
  std::vector<const std::uint8_t*> images_;  // the batch's images, in the dataset
  Params grads_;
  TrainState st_;
  ProgressLine progress_;
};

// "Testing..." and the accuracy line. Evaluation is not part of the
// training profile.
void test_after_training(Backend& be, const Params& p, const Dataset& test, Workspace& ws,
                         std::ostream& out, TrainResult& res) {
  out << "Testing..." << std::endl;
  const double t0 = now();
  Profiler* prof = be.profiler();
  be.set_profiler(nullptr);
  res.accuracy = evaluate(be, p, test, ws);
  be.set_profiler(prof);
  res.test_seconds = now() - t0;
  out << accuracy_line(res.accuracy) << std::endl;
}

}  // namespace

void check_resume_fits(const TrainState& s, int n, const std::string& ckpt_name,
                       const std::string& data_name) {
  if (s.indices.size() != std::size_t(n))
    throw DataError(ckpt_name + ": the checkpoint was made on a training set of " +
                    std::to_string(s.indices.size()) + " images; " + data_name + " holds " +
                    std::to_string(n));
}

void print_backend_line(std::ostream& out, const Backend& be) {
  out << "Backend: " << be.name() << " | isa=" << be.isa() << " | threads=" << be.threads()
      << std::endl;
}

void point_batch(const Dataset& d, const std::uint32_t* idx, int B, const std::uint8_t** images,
                 std::uint8_t* labels) {
  for (int b = 0; b < B; ++b) {
    images[b] = d.images.data() + std::size_t(idx[b]) * kImgPixels;
    labels[b] = d.labels[idx[b]];
  }
}

void gather_batch(const Dataset& d, const std::uint32_t* idx, int B, float* x, std::uint8_t* labels,
                  Backend* be, const std::uint32_t* next, int next_B) {
  // Tasks of 8 images (and of the next batch's prefetches): enough to share
  // a batch among the backend's threads, few enough to cost nothing to hand out.
  constexpr int kPer = 8;
  const int tasks = (std::max(B, next_B) + kPer - 1) / kPer;
  auto task = [&](int t) {
    for (int b = t * kPer; b < std::min(B, (t + 1) * kPer); ++b) {
      image_to_input(d.images.data() + std::size_t(idx[b]) * kImgPixels,
                     x + std::size_t(b) * kImgPixels);
      labels[b] = d.labels[idx[b]];
    }
    for (int b = t * kPer; b < std::min(next_B, (t + 1) * kPer); ++b) prefetch_image(d, next[b]);
  };
  if (be) {
    be->parallel_for(tasks, std::cref(task));  // by reference: no allocation per batch
  } else {
    for (int t = 0; t < tasks; ++t) task(t);
  }
}

int predicted_class(const float* logits) {
  int best = 0;
  for (int j = 1; j < kClasses; ++j)
    if (logits[j] > logits[best]) best = j;
  return best;
}

float evaluate(Backend& be, const Params& p, const Dataset& test, Workspace& ws, int* confusion) {
  const int bs = ws.max_batch;
  std::vector<std::uint32_t> idx(bs);
  std::vector<const std::uint8_t*> images(bs);
  int correct = 0;
  for (int start = 0; start < test.n; start += bs) {
    const int B = std::min(bs, test.n - start);
    std::iota(idx.begin(), idx.begin() + B, std::uint32_t(start));
    point_batch(test, idx.data(), B, images.data(), ws.labels.data());
    be.forward_infer_bytes(B, images.data(), p, ws);
    for (int b = 0; b < B; ++b) {
      const int best = predicted_class(ws.logits.data() + std::size_t(b) * kClasses);
      if (best == ws.labels[b]) ++correct;
      if (confusion) ++confusion[ws.labels[b] * kClasses + best];
    }
  }
  return 100.0f * float(correct) / float(test.n);
}

std::string accuracy_line(float accuracy) {
  char line[64];
  std::snprintf(line, sizeof line, "Test Accuracy: %.2f%%", double(accuracy));
  return line;
}

TrainResult train(Backend& be, Params& p, Rng& rng, const TrainConfig& cfg, const Dataset& train,
                  const Dataset& test, std::ostream& out, std::ostream* log) {
  const int bs = std::min(cfg.batch, train.n);
  // Evaluation runs in larger batches. Everything is allocated before the
  // loop.
  const int ebs = std::min(std::max(bs, kEvalBatch), test.n);
  EpochLoop loop(be, p, rng, cfg, train, bs, out, log);
  Workspace tws(ebs);
  be.prepare(std::max(bs, ebs));
  loop.start();
  TrainResult res;
  if (loop.run(res)) test_after_training(be, p, test, tws, out, res);
  return res;
}

}  // namespace cnn
