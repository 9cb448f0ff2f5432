// The reference program's 64-bit xorshift generator (docs/reference.md,
// "Random numbers"), reproduced operation for operation so that
// initialisation and shuffling consume the stream exactly as the reference
// does.
#pragma once

#include <cstdint>
#include <vector>

namespace cnn {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15ULL) {}

  std::uint32_t next_u32() {
    std::uint64_t x = state_;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state_ = x;
    return static_cast<std::uint32_t>(x >> 32);
  }
  // Both operands are converted to f32 first (the divisor becomes 2^32).
  float next_f32() { return static_cast<float>(next_u32()) / static_cast<float>(UINT32_MAX); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * next_f32(); }
  std::uint32_t below(std::uint32_t n) { return next_u32() % n; }

  // Fisher-Yates from the end, as the reference.
  template <typename T>
  void shuffle(std::vector<T>& a) {
    for (std::size_t i = a.size(); i-- > 1;) {
      std::size_t j = below(static_cast<std::uint32_t>(i + 1));
      std::swap(a[i], a[j]);
    }
  }

  std::uint64_t state() const { return state_; }
  void set_state(std::uint64_t s) { state_ = s; }

 private:
  std::uint64_t state_;
};

}  // namespace cnn
