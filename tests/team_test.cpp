// The simd backend's threading engine (kernels/common/team.h): par::Team
// runs every task of a job exactly once, on any thread count, solo or not,
// also after its workers fell asleep; par::ModeChooser, driven by a fake
// clock (no wall-clock timing here), keeps the faster mode, probes the other
// one for about 256 samples, and obeys CNN_TEAM_MODE.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "kernels/common/team.h"

namespace cnn::test {
namespace {

// Runs one job of n tasks and checks that each ran once, on a valid slot.
void expect_each_task_once(par::Team& team, int n) {
  std::vector<std::atomic<int>> runs(n);
  std::atomic<int> bad_slot{0};
  team.run(n, [&](int task, int slot) {
    runs[task].fetch_add(1, std::memory_order_relaxed);
    if (slot < 0 || slot >= team.threads()) bad_slot.fetch_add(1);
  });
  for (int i = 0; i < n; ++i) ASSERT_EQ(runs[i].load(), 1) << "task " << i << " of " << n;
  EXPECT_EQ(bad_slot.load(), 0);
}

TEST(Team, RunsEveryTaskExactlyOnce) {
  for (int threads : {1, 2, 3, 4}) {
    par::Team team(threads, true);
    EXPECT_EQ(team.threads(), threads);
    for (int n : {1, 2, 3, 7, 64, 1000, 65535}) expect_each_task_once(team, n);
  }
}

TEST(Team, ManyJobsInARowLoseNothing) {
  par::Team team(3, true);
  long long total = 0;
  for (int job = 0; job < 5000; ++job) {
    const int n = 1 + job % 9;
    std::atomic<long long> sum{0};
    team.run(n, [&](int task, int) { sum.fetch_add(task + 1, std::memory_order_relaxed); });
    ASSERT_EQ(sum.load(), n * (n + 1) / 2) << "job " << job;
    total += sum.load();
  }
  EXPECT_GT(total, 0);
}

TEST(Team, SoloRunsEveryTaskOnTheCaller) {
  par::Team team(3, true);
  team.set_solo(true);
  EXPECT_TRUE(team.solo());
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<int> order;
  team.run(50, [&](int task, int slot) {
    EXPECT_EQ(slot, 0);
    EXPECT_EQ(std::this_thread::get_id(), caller);
    order.push_back(task);  // one thread: no race
  });
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
  team.set_solo(false);
  expect_each_task_once(team, 50);
}

// Workers sleep after ~200 µs without a job; a job after that must still
// finish (whether or not they wake in time to help) and count every task.
TEST(Team, JobsAfterTheWorkersSleptStillFinish) {
  par::Team team(2, true);
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    expect_each_task_once(team, 40);
  }
}

// A fake clock the tests advance by hand.
double g_now = 0;
double fake_now() { return g_now; }

// Unsets CNN_TEAM_MODE for the test's duration (and restores it).
struct NoModeEnv {
  std::string saved;
  bool had;
  NoModeEnv() {
    const char* v = std::getenv("CNN_TEAM_MODE");
    had = v != nullptr;
    if (had) saved = v;
    unsetenv("CNN_TEAM_MODE");
  }
  ~NoModeEnv() {
    if (had) setenv("CNN_TEAM_MODE", saved.c_str(), 1);
  }
};

// Steps of `samples` each, where a team step costs team_s and a solo step
// solo_s seconds per sample; returns the mode of every step (true = solo).
std::vector<bool> drive(par::ModeChooser& mc, int steps, int samples, double team_s,
                        double solo_s) {
  std::vector<bool> solo;
  for (int i = 0; i < steps; ++i) {
    const bool s = mc.begin_step();
    solo.push_back(s);
    g_now += samples * (s ? solo_s : team_s);
    mc.end_step(samples);
  }
  return solo;
}

// The lengths of the runs of consecutive steps in mode `mode`.
std::vector<int> runs_of(const std::vector<bool>& solo, bool mode) {
  std::vector<int> runs;
  for (std::size_t i = 0; i < solo.size(); ++i) {
    if (solo[i] != mode) continue;
    if (i == 0 || solo[i - 1] != mode) runs.push_back(0);
    ++runs.back();
  }
  return runs;
}

TEST(ModeChooser, KeepsTheTeamWhileItIsFasterWithSparseProbes) {
  NoModeEnv env;
  g_now = 0;
  par::ModeChooser mc(fake_now);
  const std::vector<bool> solo = drive(mc, 2000, 32, 1e-6, 1.8e-6);
  EXPECT_FALSE(solo.front());  // starts with the team
  EXPECT_FALSE(solo.back());
  // Every solo run is a probe of 8 steps of 32 samples (no warm-up: solo
  // needs no workers), and the intervals between probes double.
  const std::vector<int> probes = runs_of(solo, true);
  ASSERT_GE(probes.size(), 3u);
  for (int len : probes) EXPECT_EQ(len, 8);
  EXPECT_LE(probes.size(), 8u);  // 32, 64, 128, ... steps apart
}

TEST(ModeChooser, GoesSoloUnderLoadAndBackWhenTheTeamRecovers) {
  NoModeEnv env;
  g_now = 0;
  par::ModeChooser mc(fake_now);
  // A core taken by another process: team steps three times slower.
  std::vector<bool> solo = drive(mc, 300, 32, 3e-6, 1e-6);
  int solo_steps = 0;
  for (std::size_t i = 100; i < solo.size(); ++i) solo_steps += solo[i];
  EXPECT_GE(solo_steps, 180);  // solo but for the probes of the team
  // The core is free again: the next probe of the team wins.
  solo = drive(mc, 3000, 32, 0.5e-6, 1e-6);
  EXPECT_FALSE(solo.back());
  int team_tail = 0;
  for (std::size_t i = solo.size() - 500; i < solo.size(); ++i) team_tail += !solo[i];
  EXPECT_GE(team_tail, 480);
}

TEST(ModeChooser, ProbesOfLargeBatchesAreShort) {
  NoModeEnv env;
  g_now = 0;
  par::ModeChooser mc(fake_now);
  // Evaluation batches of 256: a solo probe is 3 steps, not 8.
  std::vector<bool> solo = drive(mc, 200, 256, 1e-6, 1.8e-6);
  std::vector<int> probes = runs_of(solo, true);
  ASSERT_GE(probes.size(), 2u);
  for (int len : probes) EXPECT_EQ(len, 3);
  // Once solo (team slow), a probe of the team is 1 warm-up step + 3.
  g_now = 0;
  par::ModeChooser slow(fake_now);
  solo = drive(slow, 400, 256, 3e-6, 1e-6);
  std::vector<int> team_runs = runs_of(solo, false);
  ASSERT_GE(team_runs.size(), 3u);  // the start, then probes
  for (std::size_t k = 1; k < team_runs.size(); ++k) EXPECT_EQ(team_runs[k], 4) << "probe " << k;
}

TEST(ModeChooser, OneDelayedStepDoesNotFlipTheMode) {
  NoModeEnv env;
  g_now = 0;
  par::ModeChooser mc(fake_now);
  drive(mc, 100, 32, 1e-6, 1.8e-6);  // settled on the team, solo probed
  // One preempted team step, 50 times its usual time.
  ASSERT_FALSE(mc.begin_step());
  g_now += 32 * 50e-6;
  mc.end_step(32);
  const std::vector<bool> next = drive(mc, 10, 32, 1e-6, 1.8e-6);
  for (bool s : next) EXPECT_FALSE(s);
}

// The run's first steps are slow (workers starting, caches and pages cold):
// measured, the first one took 3x the steady time. Counted, they made the
// team look slower than the first solo probe, and the run went solo for
// ~70 steps.
TEST(ModeChooser, CostlyFirstStepsDoNotSendTheRunSolo) {
  NoModeEnv env;
  g_now = 0;
  par::ModeChooser mc(fake_now);
  const double team_s = 1e-6, solo_s = 1.7e-6;
  const double first[4] = {3.5, 1.8, 1.4, 1.3};  // times the steady team time
  for (double f : first) {
    ASSERT_FALSE(mc.begin_step());
    g_now += 32 * f * team_s;
    mc.end_step(32);
  }
  const std::vector<bool> solo = drive(mc, 300, 32, team_s, solo_s);
  int solo_steps = 0;
  for (bool s : solo) solo_steps += s;
  EXPECT_EQ(solo_steps, 3 * 8);  // the three solo probes of these 300 steps, nothing else
  EXPECT_EQ(runs_of(solo, true).size(), 3u);
}

TEST(ModeChooser, EnvironmentFixesTheMode) {
  NoModeEnv env;
  for (const char* mode : {"solo", "team"}) {
    setenv("CNN_TEAM_MODE", mode, 1);
    g_now = 0;
    par::ModeChooser mc(fake_now);
    // Whatever the timings say, the mode stays.
    const bool want_solo = std::string(mode) == "solo";
    const std::vector<bool> solo =
        drive(mc, 500, 32, want_solo ? 1e-6 : 9e-6, want_solo ? 9e-6 : 1e-6);
    for (bool s : solo) ASSERT_EQ(s, want_solo) << mode;
  }
}

}  // namespace
}  // namespace cnn::test
