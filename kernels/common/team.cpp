// Team and ModeChooser (kernels/common/team.h).
#include "kernels/common/team.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/common/parallel.h"

#if CNN_X86
#include <immintrin.h>
#endif

namespace cnn::par {
namespace {

inline void cpu_relax() {
#if CNN_X86
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

constexpr std::uint64_t pack(std::uint32_t gen, int end, int next) {
  return (std::uint64_t(gen) << 32) | (std::uint64_t(end) << 16) | std::uint64_t(next);
}
constexpr std::uint32_t gen_of(std::uint64_t c) { return std::uint32_t(c >> 32); }
constexpr int end_of(std::uint64_t c) { return int((c >> 16) & 0xffff); }
constexpr int next_of(std::uint64_t c) { return int(c & 0xffff); }

// How long an idle worker polls for the next job before it sleeps: longer
// than the gap between two steps of a training loop, short enough that an
// idle team gives its cores back at once.
constexpr auto kSpin = std::chrono::microseconds(200);

}  // namespace

Team::Team(int threads, bool ftz) : claims_(new Claim[std::max(1, threads)]), ftz_(ftz) {
  for (int s = 1; s < std::max(1, threads); ++s) workers_.emplace_back([this, s] { worker(s); });
}

Team::~Team() {
  {
    std::lock_guard<std::mutex> lk(m_);
    stop_.store(true);
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void Team::run_tasks(int n, void* ctx, Call call) {
  ctx_ = ctx;
  call_ = call;
  done_.store(0, std::memory_order_relaxed);
  const std::uint32_t gen = ++gen_;
  const int T = threads();
  for (int s = T - 1; s >= 0; --s) {  // publishes ctx_, call_, done_
    const Range r = split_range(n, s, T);
    claims_[s].word.store(pack(gen, r.end, r.begin), std::memory_order_seq_cst);
  }
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lk(m_);
    cv_.notify_all();
  }
  help(gen, 0);
  // Only tasks that were claimed remain: wait for those.
  while (done_.load(std::memory_order_acquire) != n) cpu_relax();
}

void Team::help(std::uint32_t gen, int slot) {
  const int T = threads();
  for (int k = 0; k < T; ++k) drain(claims_[(slot + k) % T].word, gen, slot);
}

void Team::drain(std::atomic<std::uint64_t>& w, std::uint32_t gen, int slot) {
  std::uint64_t c = w.load(std::memory_order_acquire);
  int ran = 0;
  while (gen_of(c) == gen && next_of(c) < end_of(c)) {
    if (!w.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire))
      continue;  // c now holds the current word
    // Claimed task next_of(c) of job gen: the job cannot end before this
    // task is counted done, so ctx_ and call_ are still this job's.
    call_(ctx_, next_of(c), slot);
    ++ran;
    c = w.load(std::memory_order_acquire);
  }
  // Counted once per range, not per task: the caller polls done_, so every
  // count moves its cache line between the cores.
  if (ran) done_.fetch_add(ran, std::memory_order_release);
}

void Team::worker(int slot) {
  FtzScope ftz(ftz_);  // MXCSR is per thread; the mode holds for the worker's life
  std::uint32_t seen = 0;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    std::atomic<std::uint64_t>& own = claims_[slot].word;
    std::uint64_t c = own.load(std::memory_order_acquire);
    for (int i = 0; gen_of(c) == seen && !stop_.load(std::memory_order_relaxed); ++i) {
      cpu_relax();
      if ((i & 255) == 255 && std::chrono::steady_clock::now() - t0 > kSpin) {
        std::unique_lock<std::mutex> lk(m_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lk, [&] {
          return stop_.load() || gen_of(own.load(std::memory_order_seq_cst)) != seen;
        });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      c = own.load(std::memory_order_acquire);
    }
    if (stop_.load()) return;
    seen = gen_of(c);
    help(seen, slot);
  }
}

ModeChooser::ModeChooser(double (*now)()) : now_(now) {
  const char* m = std::getenv("CNN_TEAM_MODE");
  if (m && std::strcmp(m, "team") == 0) fixed_ = Fixed::team;
  if (m && std::strcmp(m, "solo") == 0) fixed_ = Fixed::solo;
}

int ModeChooser::steps_for(int samples, int per_step, int lo, int hi) {
  const int per = std::max(1, per_step);
  return std::clamp((samples + per - 1) / per, lo, hi);
}
int ModeChooser::warmup_steps(int per_step) {
  return steps_for(kWarmupSamples, per_step, 1, kWarmupSteps);
}

double ModeChooser::seconds() const {
  if (now_) return now_();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool ModeChooser::begin_step() {
  if (fixed_ != Fixed::no) return fixed_ == Fixed::solo;
  if (!probing_ && until_probe_ <= 0) {
    // About kProbeSamples samples, in kMinProbeSteps..kProbeSteps steps, so
    // that a probe of large batches (the test-set evaluation) costs no more
    // than one of training batches. A probe of the team starts with a few
    // steps that only wake the workers; a solo probe needs none.
    probing_ = true;
    probe_steps_ = steps_for(kProbeSamples, last_samples_, kMinProbeSteps, kProbeSteps);
    probe_left_ = probe_steps_ + (solo_ ? warmup_steps(last_samples_) : 0);
    probe_n_ = 0;
  }
  if (!started_) {
    t0_ = seconds();
    started_ = true;
  }
  return probing_ ? !solo_ : solo_;
}

void ModeChooser::end_step(int samples) {
  if (fixed_ != Fixed::no) return;
  // The time since the previous step ended: the step and whatever the
  // caller did before it on the same threads (the trainer's gather).
  const double t = seconds();
  const double dt = t - t0_;
  t0_ = t;
  const int cur = solo_ ? 1 : 0, other = 1 - cur;
  last_samples_ = samples;
  if (probing_) {
    if (probe_left_-- > probe_steps_) return;  // a warm-up step: not counted
    probe_[probe_n_++] = dt / std::max(1, samples);
    if (probe_left_ > 0) return;
    probing_ = false;
    // The median step: one step that another process delayed does not
    // decide the mode.
    std::nth_element(probe_, probe_ + probe_n_ / 2, probe_ + probe_n_);
    avg_[other] = probe_[probe_n_ / 2];
    have_[other] = true;
    // other = 0: the team was probed. Adopt the probed mode if it won.
    const double bias = other == 0 ? kTeamBias : 1.0 / kTeamBias;
    if (avg_[other] < bias * avg_[cur]) solo_ = !solo_;
    interval_ = std::min(2 * interval_, kMaxInterval);
    until_probe_ = interval_;
    return;
  }
  // The run's first steps (workers starting, caches and pages cold; the
  // first step measured 3x the steady time) would leave the average, which
  // starts from one step, far too high: they are not counted, as a team
  // probe's warm-up steps.
  if (start_skip_ < 0) start_skip_ = warmup_steps(samples);
  if (start_skip_ > 0) {
    --start_skip_;
    return;
  }
  // Each step counts at most kOutlier times the average: a single delayed
  // step (a preemption, a page fault) moves it less than the switch limit
  // below, a lasting slowdown (a core taken) crosses it within a few steps.
  const double raw = dt / std::max(1, samples);
  const double per = have_[cur] ? std::min(raw, kOutlier * avg_[cur]) : raw;
  avg_[cur] = have_[cur] ? avg_[cur] + (per - avg_[cur]) / 8 : per;
  have_[cur] = true;
  --until_probe_;
  // The current mode got clearly worse than the other's last probe (e.g. a
  // core was taken): switch now rather than at the next probe.
  const double limit = cur == 0 ? 1.25 * kTeamBias : 1.25 / kTeamBias;
  if (have_[other] && avg_[cur] > limit * avg_[other]) {
    solo_ = !solo_;
    interval_ = std::min(2 * interval_, kMaxInterval);
    until_probe_ = interval_;
  }
}

}  // namespace cnn::par
