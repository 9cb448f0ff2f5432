// A team of persistent worker threads that HELP the calling thread instead
// of being waited for: the threading engine of the simd backend.
//
// Why not one OpenMP parallel region per operation: a region's join waits
// for every thread of the team, including one that had no work (batch 16 is
// one chunk) or that another process has kept off its core. With ~30 µs
// training steps, thousands of fork/joins per epoch each wait for the
// slowest core, and on a busy machine one preempted thread stalls the run
// for a scheduler slice (milliseconds) at every step.
//
// Team::run(n, f) instead publishes n tasks and the caller starts taking
// them at once; workers that are awake take tasks too (atomic claim
// counters: each thread's own range first, then the others'), and the
// caller waits only for tasks that were actually claimed and are still
// running. A worker that wakes late finds nothing left and
// costs nobody anything. Each task runs exactly once, so results depend
// only on how the work is cut into tasks, never on which thread ran which
// one: determinism is the caller's task split, as with split_range.
//
// Workers spin briefly for the next job (training steps follow each other
// within microseconds), then sleep on a condition variable.
//
// ModeChooser adds the graceful degradation: it times whole steps and runs
// them "solo" (the caller alone, workers asleep) when that is measured to be
// faster, e.g. while another process occupies a core, re-trying the team at
// growing intervals. Solo and team runs give the same bits.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace cnn::par {

class Team {
 public:
  // threads >= 1: the calling thread plus threads-1 workers. ftz: workers
  // run tasks with flush-to-zero / denormals-are-zero set (the caller sets
  // its own mode, e.g. with an FtzScope around the step).
  Team(int threads, bool ftz);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  int threads() const { return int(workers_.size()) + 1; }
  // While solo, run() executes every task on the calling thread.
  void set_solo(bool solo) { solo_ = solo; }
  bool solo() const { return solo_; }

  // Calls f(task, slot) once for each task in [0, n) and returns when all
  // have finished. slot in [0, threads()) names the thread running the task
  // (0 = the caller), for per-thread scratch. Not reentrant: f must not call
  // run(). n < 65536.
  template <class F>
  void run(int n, F&& f) {
    if (n <= 0) return;
    if (solo_ || workers_.empty() || n == 1) {
      for (int i = 0; i < n; ++i) f(i, 0);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    run_tasks(n, const_cast<void*>(static_cast<const void*>(&f)),
              [](void* ctx, int task, int slot) { (*static_cast<Fn*>(ctx))(task, slot); });
  }

 private:
  using Call = void (*)(void* ctx, int task, int slot);
  void run_tasks(int n, void* ctx, Call call);
  void worker(int slot);
  // Claims and runs tasks of job `gen` until none is left: its own range
  // first, then the others'.
  void help(std::uint32_t gen, int slot);
  // Runs the tasks of one range while it has any left.
  void drain(std::atomic<std::uint64_t>& w, std::uint32_t gen, int slot);

  // Tasks are dealt out in contiguous ranges, one per thread (split_range),
  // so a thread keeps running the same tasks step after step and finds their
  // data in its own cache; a thread whose range is done takes tasks from the
  // others' ranges. One claim word per thread, on its own cache line: job
  // generation (32 bits) | end of the range (16) | next task (16).
  struct alignas(64) Claim {
    std::atomic<std::uint64_t> word{0};
  };
  std::unique_ptr<Claim[]> claims_;
  std::uint32_t gen_ = 0;
  std::atomic<int> done_{0};
  void* ctx_ = nullptr;  // the current job, valid while one of its tasks is claimed
  Call call_ = nullptr;
  bool ftz_;
  bool solo_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
};

// Chooses, step by step, between running with the team and solo, from the
// measured time per sample of each mode. Starts with the team; probes the
// other mode for a few steps at intervals that double while the current
// mode keeps winning (up to kMaxInterval steps), and switches at once when
// the current mode's running average gets worse than the other's last probe
// (a core taken by another process makes every team step wait).
//
// The environment variable CNN_TEAM_MODE=team or =solo fixes the mode (for
// measurements); unset or "auto" lets the chooser decide.
class ModeChooser {
 public:
  // now: the clock in seconds (tests pass a fake one); default steady_clock.
  explicit ModeChooser(double (*now)() = nullptr);
  // Whether the coming step should run solo; call end_step() after it. A
  // step is timed from the end of the previous one, so work the caller runs
  // between steps on the same team (the trainer's gather) counts too.
  bool begin_step();
  void end_step(int samples);

 private:
  static constexpr int kProbeSteps = 8, kMinProbeSteps = 3, kWarmupSteps = 4;
  static constexpr int kProbeSamples = 256, kWarmupSamples = 128;
  static constexpr int kMinInterval = 32, kMaxInterval = 4096;
  // A probe of the team starts with cold workers (asleep, their caches
  // taken by the caller's solo steps): the team is adopted unless it is
  // measured clearly slower, the solo mode only when clearly faster.
  static constexpr double kTeamBias = 1.15;
  static constexpr double kOutlier = 4.0;
  // Steps of per_step samples that hold `samples`, within [lo, hi]; the
  // warm-up steps (of a team probe, of the run's start) for that batch.
  static int steps_for(int samples, int per_step, int lo, int hi);
  static int warmup_steps(int per_step);
  double seconds() const;
  double (*now_)() = nullptr;
  double t0_ = 0;  // when the previous step ended
  bool started_ = false;
  enum class Fixed { no, team, solo } fixed_ = Fixed::no;
  bool solo_ = false;     // the current mode
  bool probing_ = false;  // this step runs the other mode as a probe
  int until_probe_ = 8;   // steps of the current mode before the next probe
  int interval_ = kMinInterval;
  int probe_left_ = 0;
  int probe_steps_ = kProbeSteps;  // the current probe's counted steps
  int last_samples_ = 0;           // the previous step's batch
  int start_skip_ = -1;            // first steps still to leave uncounted (-1: not yet set)
  double avg_[2] = {0, 0};         // seconds per sample: [0] team, [1] solo
  bool have_[2] = {false, false};
  double probe_[kProbeSteps] = {};  // the probe's seconds per sample, step by step
  int probe_n_ = 0;
};

}  // namespace cnn::par
