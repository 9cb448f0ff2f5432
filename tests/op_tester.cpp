#include "tests/op_tester.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <type_traits>

#include "kernels/common/pixels.h"
#include "kernels/registry.h"
#include "tests/reference.h"

namespace cnn::test {

namespace {

using ref::Vec;
constexpr double kU = 1.0 / 16777216.0;  // unit roundoff of fp32, 2^-24
constexpr double kAtol = 1e-7;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// The learning rate of the update checks. Not the trainer's default (0.01),
// so a kernel with the rate written into it fails.
constexpr float kLr = 0.0371f;

// Higham's gamma for a K-term dot product plus the products' and the bias's
// own rounding (see the header).
double dot_rtol(double K) { return 2.0 * (K + 2.0) * kU; }

// Garbage for the garbage run: NaN, +3e38, -3e38 in turn (products
// overflow, sums cancel to NaN: nothing of it is usable).
void fill_garbage(Buffer<float>& b) {
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = i % 3 == 0 ? kNaN : (i % 3 == 1 ? 3e38f : -3e38f);
}

// The inputs of a check. A garbage generator gives garbage for every float
// it is asked for (without drawing); bytes (labels, winners) and picks stay
// valid, as the interface requires.
class Gen {
 public:
  Gen(std::uint64_t seed, bool garbage) : g_(seed), garbage_(garbage) {}
  // Whole numbers in [lo, hi], times `scale` (a power of two keeps them exact).
  Buffer<float> ints(std::size_t n, int lo, int hi, float scale = 1.0f) {
    Buffer<float> b(n);
    if (garbage_) return fill_garbage(b), b;
    std::uniform_int_distribution<int> d(lo, hi);
    for (auto& v : b) v = float(d(g_)) * scale;
    return b;
  }
  Buffer<float> reals(std::size_t n, float lo, float hi) {
    Buffer<float> b(n);
    if (garbage_) return fill_garbage(b), b;
    std::uniform_real_distribution<float> d(lo, hi);
    for (auto& v : b) v = d(g_);
    return b;
  }
  // Whole numbers in [lo, hi] for an exact check, else reals in [rlo, rhi].
  Buffer<float> draw(bool exact, std::size_t n, int lo, int hi, float rlo, float rhi) {
    return exact ? ints(n, lo, hi) : reals(n, rlo, rhi);
  }
  Buffer<std::uint8_t> bytes(std::size_t n, int hi) {
    Buffer<std::uint8_t> b(n);
    std::uniform_int_distribution<int> d(0, hi);
    for (auto& v : b) v = std::uint8_t(d(g_));
    return b;
  }
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g_); }
  float real(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g_); }

 private:
  std::mt19937_64 g_;
  bool garbage_;
};

Vec to_d(const float* p, std::size_t n) { return Vec(p, p + n); }
Vec to_d(const Buffer<float>& b) { return to_d(b.data(), b.size()); }
Vec abs_d(const Vec& b) {
  Vec v(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) v[i] = std::fabs(b[i]);
  return v;
}
Vec abs_d(const Buffer<float>& b) { return abs_d(to_d(b)); }
std::vector<std::uint8_t> to_u8(const Buffer<std::uint8_t>& b) {
  return std::vector<std::uint8_t>(b.begin(), b.end());
}
// Index in act (B,8,28,28) of pixel k (dy*2+dx) of pooled output o's window.
std::size_t window_pixel(std::size_t o, int k) {
  const std::size_t n = o / kFeatures, f = o % kFeatures, ch = f / kPoolPixels;
  const int py = int(f % kPoolPixels) / kPoolW, px = int(f % kPoolPixels) % kPoolW;
  return n * kActSize + ch * kImgPixels + std::size_t(2 * py + k / 2) * kImgW + 2 * px + k % 2;
}

// An output of n elements filled with `fill` (NaN for floats: a kernel that
// accumulates instead of writing, or skips an element, leaves a NaN),
// followed by `guard_n` elements of a fixed pattern that must survive.
template <class T>
class Out {
 public:
  Out(std::size_t n, std::size_t guard_n, T fill) : n_(n), b_(n + guard_n) {
    std::fill(b_.begin(), b_.begin() + n, fill);
    std::fill(b_.begin() + n, b_.end(), guard());
  }
  T* data() { return b_.data(); }
  const T* data() const { return b_.data(); }
  std::size_t size() const { return n_; }
  // Index of the first guard element overwritten, or -1.
  long guard_broken() const {
    const T g = guard();
    for (std::size_t i = n_; i < b_.size(); ++i)
      if (std::memcmp(&b_[i], &g, sizeof(T)) != 0) return long(i - n_);
    return -1;
  }

 private:
  static T guard() { return T(std::is_same<T, float>::value ? -7.25e33 : 0xA5); }
  std::size_t n_;
  Buffer<T> b_;
};

// The three runs of a check (see the header).
enum class Phase { Fresh, Garbage, Reused };

// One check's state across its runs.
struct Ctx {
  const OpCase& c;
  CheckResult& r;
  Phase phase = Phase::Fresh;
  int B = 0;  // this run's batch size
  // Bits of every output of the fresh run, by name.
  std::map<std::string, std::vector<std::uint32_t>> fresh;

  bool garbage() const { return phase == Phase::Garbage; }
  // Replaces inputs built from valid values by garbage in the garbage run.
  void inputs(std::initializer_list<Buffer<float>*> bufs) const {
    if (garbage())
      for (auto* b : bufs) fill_garbage(*b);
  }
  std::string where() const {
    const std::string d = describe(c);
    if (phase == Phase::Fresh) return d;
    return d + " (on a backend that ran B=" + std::to_string(c.batch + kBigger) +
           " on garbage inputs first" + (phase == Phase::Garbage ? ", in that run" : "") + ")";
  }
  void fail(const std::string& msg) {
    if (!r.pass) return;
    r.pass = false;
    r.failure = where() + ": " + msg;
  }
  template <class T>
  void guard(const std::string& what, const Out<T>& o) {
    const long i = o.guard_broken();
    if (i >= 0) fail(what + " written past its end (element " + std::to_string(i) + " after it)");
  }
  // An output of this run, by name: floats, or bytes (winners).
  struct Got {
    Got(std::string name, const float* p, std::size_t n) : name(std::move(name)), f(p), n(n) {}
    Got(std::string name, const std::uint8_t* p, std::size_t n)
        : name(std::move(name)), u(p), n(n) {}
    std::string name;
    const float* f = nullptr;
    const std::uint8_t* u = nullptr;
    std::size_t n;
    std::uint32_t bits(std::size_t i) const {
      std::uint32_t b = 0;
      if (f)
        std::memcpy(&b, &f[i], sizeof(float));
      else
        b = u[i];
      return b;
    }
  };
  // The fresh run remembers the outputs' bits and returns true: compare
  // them with the reference now. The reused run demands the same bits; the
  // garbage run checks nothing. Both return false.
  bool results(std::initializer_list<Got> outs) {
    if (phase == Phase::Garbage) return false;
    for (const Got& o : outs) {
      std::vector<std::uint32_t>& f = fresh[o.name];
      if (phase == Phase::Fresh) {
        f.resize(o.n);
        for (std::size_t i = 0; i < o.n; ++i) f[i] = o.bits(i);
        continue;
      }
      for (std::size_t i = 0; i < o.n; ++i)
        if (i >= f.size() || o.bits(i) != f[i]) {
          char buf[200];
          std::snprintf(
              buf, sizeof buf,
              "%s index %zu differs from the same call before the garbage run: %.9g, was %.9g",
              o.name.c_str(), i, o.f ? double(o.f[i]) : double(o.u[i]),
              i >= f.size() ? 0.0
              : o.f         ? double(as_float(f[i]))
                            : double(f[i]));
          fail(buf);
          break;
        }
    }
    return phase == Phase::Fresh;
  }
  static float as_float(std::uint32_t bits) {
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
};

// Compares got against ref within atol + rtol * mag_i (mag == nullptr: mag_i
// = 0; rtol = atol = 0: exactly). Records the first failure with its context.
void compare(Ctx& x, const std::string& what, const float* got, const Vec& ref, const Vec* mag,
             double rtol, double atol, double min_nonzero) {
  CheckResult& r = x.r;
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double e = ref[i], a = got[i];
    if (e != 0) ++nonzero;
    const double err = std::fabs(a - e);
    const double tol = atol + (mag ? rtol * (*mag)[i] : 0.0);
    r.max_abs_err = std::max(r.max_abs_err, err);
    if (e != 0) r.max_rel_err = std::max(r.max_rel_err, err / std::fabs(e));
    r.tol_note = std::max(r.tol_note, tol);
    if (!(err <= tol) && r.pass) {
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "%s index %zu expected %.9g actual %.9g (|err| %.3g > tol %.3g)", what.c_str(),
                    i, e, a, err, tol);
      x.fail(buf);
    }
  }
  const double share = ref.empty() ? 1.0 : double(nonzero) / double(ref.size());
  r.nonzero_share = std::min(r.nonzero_share, share);
  r.min_nonzero = std::max(r.min_nonzero, min_nonzero);
  if (share < min_nonzero) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "%s reference is %.0f%% non-zero, below the %.0f%% needed to trust it",
                  what.c_str(), 100 * share, 100 * min_nonzero);
    x.fail(buf);
  }
}

void exact(Ctx& x, const std::string& what, const float* got, const Vec& ref, double min_nonzero) {
  compare(x, what, got, ref, nullptr, 0, 0, min_nonzero);
}

void compare_u8(Ctx& x, const std::string& what, const std::uint8_t* got,
                const std::vector<std::uint8_t>& ref) {
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (got[i] != ref[i]) {
      x.fail(what + " index " + std::to_string(i) + " expected " + std::to_string(ref[i]) +
             " actual " + std::to_string(got[i]));
      return;
    }
}

// Two outputs that must be the same bits (the same result by two routes).
void same_bits(Ctx& x, const std::string& what, const float* got, const float* want,
               std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s index %zu: %.9g, want %.9g", what.c_str(), i,
                    double(got[i]), double(want[i]));
      x.fail(buf);
      return;
    }
}

// ---- Input kinds ---------------------------------------------------------
enum class Kind { Integer, Real, Edge, Denormal, Dense };

// ---- conv_fwd --------------------------------------------------------------
// relu-edge: x in {0,1,2} 2^-10, w in {-1,0,1} 2^-10, b in {-2..2} 2^-20:
// every pre-activation is a small multiple of 2^-20 (exact in fp32), many
// exactly 0 or one step either side, where ReLU decides.
//
// denormal: x and w are whole numbers times 2^-64, b times 2^-128, so the
// products and the bias are whole multiples of 2^-128, below FLT_MIN
// (2^-126) for most. In IEEE arithmetic (naive; the others with
// BackendOptions::ftz off) the result is exact. The optimised backends run
// with FTZ/DAZ by default (BackendOptions::ftz): a denormal input (the bias)
// reads as 0 and a denormal product or partial sum is written as 0, each
// loss smaller than FLT_MIN except the bias's (|b| <= 2 FLT_MIN). Both are
// correct; the tolerance admits one FLT_MIN for each of the at most 16
// terms of an output (9 products, or Winograd's 16 transformed ones) plus
// the bias, 32 FLT_MIN, about a fifth of the largest output. What it
// rejects is what careless code does near underflow: NaN, infinity, a
// wrong sign of a normal-sized result, garbage.
void conv_fwd_check(Backend& be, Ctx& x, Gen& g, Kind k) {
  const int B = x.B;
  const std::size_t nx = std::size_t(B) * kImgPixels;
  Buffer<float> in, w, b;
  if (k == Kind::Integer) {
    in = g.ints(nx, 0, 8);
    w = g.ints(kConvWSize, -8, 8);
    b = g.ints(kConvC, -8, 8);
  } else if (k == Kind::Real) {
    in = g.reals(nx, -0.5f, 1);
    w = g.reals(kConvWSize, -1, 1);
    b = g.reals(kConvC, -1, 1);
  } else if (k == Kind::Edge) {
    in = g.ints(nx, 0, 2, 0x1p-10f);
    w = g.ints(kConvWSize, -1, 1, 0x1p-10f);
    b = g.ints(kConvC, -2, 2, 0x1p-20f);
  } else {
    in = g.ints(nx, 0, 8, 0x1p-64f);
    w = g.ints(kConvWSize, -8, 8, 0x1p-64f);
    b = g.ints(kConvC, -8, 8, 0x1p-128f);
  }
  Out<float> act(std::size_t(B) * kActSize, kActSize, kNaN);
  be.conv_fwd(B, in.data(), w.data(), b.data(), act.data());
  x.guard("act", act);
  if (!x.results({{"act", act.data(), act.size()}})) return;
  const Vec ref = ref::conv_fwd(B, to_d(in), to_d(w), to_d(b));
  // With only 8 random filters the ReLU share varies a lot from seed to
  // seed (a filter with mostly negative weights is mostly zero): 15% is the
  // floor below which the comparison would prove little.
  if (k == Kind::Real) {
    const Vec mag = ref::conv_pre(B, abs_d(in), abs_d(w), abs_d(b));
    compare(x, "act", act.data(), ref, &mag, dot_rtol(kKernelSize), kAtol, 0.15);
  } else if (k == Kind::Denormal) {
    compare(x, "act", act.data(), ref, nullptr, 0, 32 * double(FLT_MIN), 0.15);
  } else {
    exact(x, "act", act.data(), ref, 0.15);
  }
}

// ---- pool_fwd --------------------------------------------------------------
// near-ties: each window one of: four equal values (the first wins); one
// value a single ulp above the rest (it must win); one a ulp below (the
// first of the others wins); signed zeros (+0 == -0: the first wins);
// all near -3e38 (the running maximum must start at the window, not at 0 or
// at a "very negative" constant).
Buffer<float> near_tie_acts(Gen& g, int B) {
  Buffer<float> a(std::size_t(B) * kActSize);
  for (std::size_t o = 0; o < std::size_t(B) * kFeatures; ++o) {
    const int pattern = g.pick(0, 4), odd = g.pick(0, 3);
    const float v = pattern == 4 ? -3e38f : g.real(-4, 4);
    for (int k = 0; k < 4; ++k) {
      float& e = a[window_pixel(o, k)];
      e = v;
      if (pattern == 1 && k == odd) e = std::nextafter(v, INFINITY);
      if (pattern == 2 && k == odd) e = std::nextafter(v, -INFINITY);
      if (pattern == 3) e = g.pick(0, 1) ? 0.0f : -0.0f;
      if (pattern == 4 && k == odd) e = std::nextafter(v, INFINITY);
    }
  }
  return a;
}

// Share of windows holding a tie for their maximum.
double tie_share(const Buffer<float>& act, const Vec& pooled) {
  std::size_t ties = 0;
  for (std::size_t o = 0; o < pooled.size(); ++o) {
    int eq = 0;
    for (int k = 0; k < 4; ++k) eq += act[window_pixel(o, k)] == float(pooled[o]);
    ties += eq > 1;
  }
  return pooled.empty() ? 1.0 : double(ties) / double(pooled.size());
}

void pool_fwd_check(Backend& be, Ctx& x, Gen& g, Kind k) {
  const int B = x.B;
  const std::size_t n = std::size_t(B) * kActSize;
  // Integers in a narrow range make many ties: the first maximum (row by
  // row) must win, as in the reference. Negative values check the start.
  Buffer<float> act = k == Kind::Integer ? g.ints(n, -2, 3)
                      : k == Kind::Real  ? g.reals(n, -1, 1)
                                         : near_tie_acts(g, B);
  x.inputs({&act});
  Out<float> pooled(std::size_t(B) * kFeatures, kFeatures, kNaN);
  Out<std::uint8_t> win(std::size_t(B) * kFeatures, kFeatures, 0xEE);
  be.pool_fwd(B, act.data(), pooled.data(), win.data());
  x.guard("pooled", pooled);
  x.guard("winner", win);
  if (!x.results({{"pooled", pooled.data(), pooled.size()}, {"winner", win.data(), win.size()}}))
    return;
  Vec rp;
  std::vector<std::uint8_t> rw;
  ref::pool_fwd(B, to_d(act), rp, rw);
  exact(x, "pooled", pooled.data(), rp, 0.5);
  compare_u8(x, "winner", win.data(), rw);
  // The case must actually contain ties for the check to mean anything.
  if (k != Kind::Real && tie_share(act, rp) < 0.1) x.fail("pool tie case holds too few ties");
}

// ---- fc_fwd ----------------------------------------------------------------
void fc_fwd_check(Backend& be, Ctx& x, Gen& g, Kind k) {
  const int B = x.B;
  const bool ex = k == Kind::Integer;
  const std::size_t n = std::size_t(B) * kFeatures;
  auto in = g.draw(ex, n, 0, 8, -0.5f, 1);
  auto w = g.draw(ex, kFcWSize, -8, 8, -1, 1);
  auto b = g.draw(ex, kClasses, -8, 8, -1, 1);
  Out<float> out(std::size_t(B) * kClasses, kClasses, kNaN);
  be.fc_fwd(B, in.data(), w.data(), b.data(), out.data());
  x.guard("logits", out);
  if (!x.results({{"logits", out.data(), out.size()}})) return;
  const Vec ref = ref::fc_fwd(B, to_d(in), to_d(w), to_d(b));
  const Vec mag = ref::fc_fwd(B, abs_d(in), abs_d(w), abs_d(b));
  compare(x, "logits", out.data(), ref, ex ? nullptr : &mag, dot_rtol(kFeatures), ex ? 0 : kAtol,
          0.5);
}

// ---- softmax_xent ----------------------------------------------------------
// extreme: row n is, by n % 6: dyadic logits in [-5, 5] (multiples of
// 1/256) shifted by +1000, by -1000 and by +90 (each shift exact in fp32, so
// the reference of the row is softmax of the unshifted logits: a kernel
// without the max subtraction overflows or underflows to NaN); one logit
// dominating the others by 10, 20.5, 21 or 100 (the label's probability
// then sits either side of the loss's 1e-9 clamp, or far below FLT_MIN);
// ten equal logits (-1e4, 0 or 1e4: every probability 0.1); logits spread
// over [-100, 100], most of their exponentials underflowing.
Buffer<float> extreme_logits(Gen& g, int B) {
  Buffer<float> z(std::size_t(B) * kClasses);
  for (int n = 0; n < B; ++n) {
    float* r = z.data() + std::size_t(n) * kClasses;
    const int s = n % 6, variant = n / 6;
    const float shift[] = {1000.0f, -1000.0f, 90.0f};
    const float gap[] = {10.0f, 20.5f, 21.0f, 100.0f}, level[] = {-1e4f, 0.0f, 1e4f};
    const int dom = g.pick(0, kClasses - 1);
    for (int j = 0; j < kClasses; ++j) {
      if (s < 3) r[j] = float(g.pick(-1280, 1280)) / 256.0f + shift[s];
      if (s == 3) r[j] = j == dom ? gap[variant % 4] : 0.0f;
      if (s == 4) r[j] = level[variant % 3];
      if (s == 5) r[j] = float(g.pick(-6400, 6400)) / 64.0f;
    }
  }
  return z;
}

void softmax_check(Backend& be, Ctx& x, Gen& g, Kind k) {
  const int B = x.B;
  const bool extreme = k == Kind::Edge;
  auto z = extreme ? extreme_logits(g, B) : g.reals(std::size_t(B) * kClasses, -5, 5);
  auto lab = g.bytes(B, 9);
  x.inputs({&z});
  // The trainer passes 1/B; another scale shows a kernel that ignores it.
  const float scale = (extreme ? 0.75f : 1.0f) / float(B);
  Out<float> p(std::size_t(B) * kClasses, kClasses, kNaN),
      d(std::size_t(B) * kClasses, kClasses, kNaN);
  const float loss = be.softmax_xent(B, z.data(), lab.data(), scale, p.data(), d.data());
  x.guard("probs", p);
  x.guard("dlogits", d);
  if (!x.results(
          {{"probs", p.data(), p.size()}, {"dlogits", d.data(), d.size()}, {"loss", &loss, 1}}))
    return;
  Vec rp, rd;
  const double rl = ref::softmax_xent(B, to_d(z), to_u8(lab), double(scale), rp, rd);
  // expf/logf (or a vector approximation of them) are accurate to a few ulp;
  // normalising adds a 10-term sum: 1e-5 relative is ~80 ulp of room, so a
  // probability flushed to 0, or NaN, fails unless the reference is below
  // 1e-37 (an exponential past fp32's range, which FTZ may flush).
  Vec dmag(rd.size());
  for (std::size_t i = 0; i < rd.size(); ++i)
    dmag[i] = double(scale) * (rp[i] + (lab[i / kClasses] == i % kClasses ? 1.0 : 0.0));
  compare(x, "probs", p.data(), rp, &rp, 1e-5, 1e-37, 0.5);
  compare(x, "dlogits", d.data(), rd, &dmag, 1e-5, 1e-37, 0.5);
  // Each sample's loss has a relative error of ~1e-6 from logf and the
  // softmax; the B-term fp32 sum adds gamma_B.
  const Vec lv{rl}, lmag{std::fabs(rl)};
  compare(x, "loss", &loss, lv, &lmag, 1e-5 + dot_rtol(B), 1e-6, 0.0);
}

// ---- fc_bwd ----------------------------------------------------------------
// Also called with din == nullptr (the interface lets a caller skip the
// input gradient): dw and db must not change.
void fc_bwd_check(Backend& be, Ctx& x, Gen& g, Kind k) {
  const int B = x.B;
  const bool ex = k == Kind::Integer;
  const std::size_t n = std::size_t(B) * kFeatures;
  auto in = g.draw(ex, n, 0, 8, -0.5f, 1);
  auto w = g.draw(ex, kFcWSize, -8, 8, -1, 1);
  auto d = g.draw(ex, std::size_t(B) * kClasses, -8, 8, -1, 1);
  Out<float> dw(kFcWSize, 16, kNaN), db(kClasses, 16, kNaN), din(n, kFeatures, kNaN);
  be.fc_bwd(B, in.data(), w.data(), d.data(), dw.data(), db.data(), din.data());
  Out<float> dw2(kFcWSize, 16, kNaN), db2(kClasses, 16, kNaN);
  be.fc_bwd(B, in.data(), w.data(), d.data(), dw2.data(), db2.data(), nullptr);
  x.guard("dw", dw);
  x.guard("db", db);
  x.guard("din", din);
  x.guard("dw (din == nullptr)", dw2);
  x.guard("db (din == nullptr)", db2);
  if (!x.results({{"dw", dw.data(), dw.size()},
                  {"db", db.data(), db.size()},
                  {"din", din.data(), din.size()}}))
    return;
  same_bits(x, "dw with din == nullptr", dw2.data(), dw.data(), kFcWSize);
  same_bits(x, "db with din == nullptr", db2.data(), db.data(), kClasses);
  Vec rdw, rdb, rdin, mdw, mdb, mdin;
  ref::fc_bwd(B, to_d(in), to_d(w), to_d(d), rdw, rdb, rdin);
  ref::fc_bwd(B, abs_d(in), abs_d(w), abs_d(d), mdw, mdb, mdin);
  const double at = ex ? 0 : kAtol;
  compare(x, "dw", dw.data(), rdw, ex ? nullptr : &mdw, dot_rtol(B), at, 0.5);
  compare(x, "db", db.data(), rdb, ex ? nullptr : &mdb, dot_rtol(B), at, 0.5);
  compare(x, "din", din.data(), rdin, ex ? nullptr : &mdin, dot_rtol(kClasses), at, 0.5);
}

// ---- pool_bwd --------------------------------------------------------------
// No arithmetic beyond placing one value per window: exact for any input.
void pool_bwd_check(Backend& be, Ctx& x, Gen& g, Kind) {
  const int B = x.B;
  const std::size_t n = std::size_t(B) * kFeatures;
  auto dp = g.reals(n, -1, 1);
  auto win = g.bytes(n, 3);
  // Activations consistent with the winners (the fused kernels may rely on
  // the winner holding the window's value): the winner gets a value in
  // {-1, 0, 1, 2, 3} (so the ReLU mask is exercised at and either side of
  // its decision point 0), the others less.
  auto act = g.ints(std::size_t(B) * kActSize, -8, -2);
  auto wv = g.ints(n, -1, 3);
  for (std::size_t o = 0; o < n; ++o) act[window_pixel(o, win[o])] = wv[o];
  x.inputs({&dp, &act});
  Out<float> dact(std::size_t(B) * kActSize, kActSize, kNaN);
  be.pool_bwd(B, dp.data(), win.data(), act.data(), dact.data());
  x.guard("dact", dact);
  if (!x.results({{"dact", dact.data(), dact.size()}})) return;
  exact(x, "dact", dact.data(), ref::pool_bwd(B, to_d(dp), to_u8(win), to_d(act)), 0.08);
}

// ---- conv_bwd --------------------------------------------------------------
// integer, real: gradients as the pool/ReLU backward leaves them, one
// non-zero pixel per 2x2 window at most. dense: every pixel non-zero (the
// primitive takes any dact; a kernel that assumes the model's sparsity
// fails), whole numbers: |sum| <= 64 * 784 * B < 2^24 for B <= 334.
void conv_bwd_check(Backend& be, Ctx& x, Gen& g, Kind k) {
  const int B = x.B;
  const bool ex = k != Kind::Real;
  const std::size_t n = std::size_t(B) * kFeatures;
  auto in = g.draw(ex, std::size_t(B) * kImgPixels, 0, 8, -0.5f, 1);
  Buffer<float> dact(std::size_t(B) * kActSize);
  if (k == Kind::Dense) {
    dact = g.ints(dact.size(), -8, 8);
  } else {
    auto vals = g.draw(ex, n, -8, 8, -1, 1);
    auto win = g.bytes(n, 3);
    for (std::size_t o = 0; o < n; ++o) dact[window_pixel(o, win[o])] = vals[o];
  }
  x.inputs({&dact});
  Out<float> dw(kConvWSize, 16, kNaN), db(kConvC, 16, kNaN);
  be.conv_bwd(B, in.data(), dact.data(), dw.data(), db.data());
  x.guard("dw", dw);
  x.guard("db", db);
  if (!x.results({{"dw", dw.data(), dw.size()}, {"db", db.data(), db.size()}})) return;
  Vec rdw, rdb, mdw, mdb;
  ref::conv_bwd(B, to_d(in), to_d(dact), rdw, rdb);
  ref::conv_bwd(B, abs_d(in), abs_d(dact), mdw, mdb);
  const double K = double(B) * kImgPixels;
  compare(x, "dw", dw.data(), rdw, ex ? nullptr : &mdw, dot_rtol(K), ex ? 0 : kAtol, 0.5);
  compare(x, "db", db.data(), rdb, ex ? nullptr : &mdb, dot_rtol(K), ex ? 0 : kAtol, 0.5);
}

// ---- sgd_update ------------------------------------------------------------
// Lengths 1, 7, 17, B, 16B + 3 and 15680 + B (vector tails of every size
// over the batch sizes of the suite), every other one at an odd offset from
// the buffer's alignment.
void sgd_check(Backend& be, Ctx& x, Gen& g, Kind) {
  const int B = x.B;
  const std::size_t lens[] = {
      1, 7, 17, std::size_t(B), 16 * std::size_t(B) + 3, std::size_t(kFcWSize + B)};
  for (std::size_t li = 0; li < 6; ++li) {
    const std::size_t n = lens[li], off = li % 2;
    auto p = g.reals(n + off, -1, 1), gr = g.reals(n + off, -1, 1);
    Out<float> pg(n + off, 16, 0.0f);  // p, then a guard
    std::copy(p.begin(), p.end(), pg.data());
    be.sgd_update(kLr, pg.data() + off, gr.data() + off, n);
    const std::string what = "p (call " + std::to_string(li + 1) + ", n=" + std::to_string(n) + ")";
    x.guard(what, pg);
    if (!x.results({{what, pg.data() + off, n}})) continue;
    const Vec pv = to_d(p.data() + off, n), gv = to_d(gr.data() + off, n);
    const Vec ref = ref::sgd_update(kLr, pv, gv);
    Vec mag(n);
    for (std::size_t i = 0; i < n; ++i) mag[i] = std::fabs(pv[i]) + std::fabs(kLr * gv[i]);
    // One multiply and one subtraction (or one FMA): 2 roundings.
    compare(x, what, pg.data() + off, ref, &mag, 3 * kU, 0, 0.5);
  }
}

// ---- train_step: the composite steps ---------------------------------------
// As the trainer calls them (where fused backends differ from the
// primitives). Integer images and conv weights make the convolution, ReLU
// and pooling exact, so every max-pool winner and ReLU mask is the
// reference's; the FC weights are small reals so the softmax is not
// saturated. The logits carry at most gamma_1568 ~ 2e-4 of their magnitude;
// through the softmax and the backward reductions that stays below 1e-3 of
// each output's magnitude, the tolerance used here. Every output is
// compared: logits, probabilities, dlogits, loss, the four gradients, the
// inference logits and the four updated parameter tensors.

// Every buffer of ws the trainer does not fill itself (all but x and
// labels) and every gradient: NaN, winners an arbitrary valid pattern.
void poison(Workspace& ws) {
  for (Buffer<float>* b :
       {&ws.act, &ws.pooled, &ws.logits, &ws.probs, &ws.dlogits, &ws.dpooled, &ws.dact})
    std::fill(b->begin(), b->end(), kNaN);
  for (std::size_t i = 0; i < ws.winner.size(); ++i) ws.winner[i] = std::uint8_t((i * 7 + 3) % 4);
}
void poison(Params& grads) {
  for (Buffer<float>* b : {&grads.conv_w, &grads.conv_b, &grads.fc_w, &grads.fc_b})
    std::fill(b->begin(), b->end(), kNaN);
}

struct StepOut {
  Buffer<float> logits, probs, dlogits, infer;
  float loss = 0;
  Params grads, after;  // after: the parameters after update()
};

StepOut run_step(Backend& be, int B, int cap, const Params& p, const Buffer<float>& img,
                 const Buffer<std::uint8_t>& lab) {
  StepOut o;
  Workspace ws(cap), iws(cap);
  poison(ws);
  poison(iws);
  poison(o.grads);
  std::copy(img.begin(), img.end(), ws.x.begin());
  std::copy(lab.begin(), lab.end(), ws.labels.begin());
  std::copy(img.begin(), img.end(), iws.x.begin());
  const auto keep = [&](const Buffer<float>& b) {
    Buffer<float> k(std::size_t(B) * kClasses);
    std::copy(b.begin(), b.begin() + k.size(), k.begin());
    return k;
  };
  be.forward_train(B, p, ws);
  o.logits = keep(ws.logits);
  o.loss = be.loss_grad(B, 1.0f / float(B), ws);
  o.probs = keep(ws.probs);
  o.dlogits = keep(ws.dlogits);
  be.backward(B, p, ws, o.grads);
  be.forward_infer(B, p, iws);
  o.infer = keep(iws.logits);
  o.after = p;
  be.update(kLr, o.after, o.grads);
  return o;
}

// The updated tensors against before - lr * (the backend's own gradient):
// one multiply and one subtraction, 2 roundings.
void compare_update(Ctx& x, const std::string& what, const Buffer<float>& before,
                    const Buffer<float>& g, const Buffer<float>& after) {
  Vec ref = ref::sgd_update(kLr, to_d(before), to_d(g)), mag(ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i)
    mag[i] = std::fabs(before[i]) + std::fabs(kLr * g[i]);
  compare(x, "updated " + what, after.data(), ref, &mag, 3 * kU, 0, 0.5);
}

// The trainer calls Backend::train_step(), which a backend may fuse (simd
// runs it in two phases with the update inside): it must leave exactly the
// bits that the four chained composite steps of run_step() left.
void check_fused_step(Backend& be, Ctx& x, const StepOut& o, const Params& p,
                      const Buffer<float>& img, const Buffer<std::uint8_t>& lab) {
  const int B = x.B;
  Workspace ws(x.c.batch + kBigger + 1);
  Params g, after = p;
  poison(ws);
  poison(g);
  std::copy(img.begin(), img.end(), ws.x.begin());
  std::copy(lab.begin(), lab.end(), ws.labels.begin());
  const float loss = be.train_step(B, kLr, after, ws, g);
  const std::size_t n = std::size_t(B) * kClasses;
  same_bits(x, "train_step loss", &loss, &o.loss, 1);
  same_bits(x, "train_step logits", ws.logits.data(), o.logits.data(), n);
  same_bits(x, "train_step probs", ws.probs.data(), o.probs.data(), n);
  same_bits(x, "train_step dlogits", ws.dlogits.data(), o.dlogits.data(), n);
  same_bits(x, "train_step grad conv_w", g.conv_w.data(), o.grads.conv_w.data(), kConvWSize);
  same_bits(x, "train_step grad conv_b", g.conv_b.data(), o.grads.conv_b.data(), kConvC);
  same_bits(x, "train_step grad fc_w", g.fc_w.data(), o.grads.fc_w.data(), kFcWSize);
  same_bits(x, "train_step grad fc_b", g.fc_b.data(), o.grads.fc_b.data(), kClasses);
  same_bits(x, "train_step updated conv_w", after.conv_w.data(), o.after.conv_w.data(), kConvWSize);
  same_bits(x, "train_step updated conv_b", after.conv_b.data(), o.after.conv_b.data(), kConvC);
  same_bits(x, "train_step updated fc_w", after.fc_w.data(), o.after.fc_w.data(), kFcWSize);
  same_bits(x, "train_step updated fc_b", after.fc_b.data(), o.after.fc_b.data(), kClasses);
}

// The raw-byte entry points (train_step_bytes, forward_infer_bytes) against
// the float ones on the same images converted by image_to_input: the same
// bits in every output. The images lie scattered in a larger buffer, in
// reverse order, as a shuffled batch lies in the dataset.
void check_bytes_entry(Backend& be, Ctx& x, Gen& gen, const Params& p,
                       const Buffer<std::uint8_t>& lab) {
  const int B = x.B;
  const auto pool = gen.bytes(std::size_t(2 * B + 1) * kImgPixels, 255);
  std::vector<const std::uint8_t*> images(B);
  for (int b = 0; b < B; ++b) images[b] = pool.data() + std::size_t(2 * (B - b)) * kImgPixels;
  Workspace wf(x.c.batch + kBigger + 1), wb(x.c.batch + kBigger + 1);
  poison(wf);
  poison(wb);
  for (int b = 0; b < B; ++b) image_to_input(images[b], wf.x.data() + std::size_t(b) * kImgPixels);
  std::copy(lab.begin(), lab.end(), wf.labels.begin());
  std::copy(lab.begin(), lab.end(), wb.labels.begin());
  Params gf, gb, pf = p, pb = p;
  poison(gf);
  poison(gb);
  const float lf = be.train_step(B, kLr, pf, wf, gf);
  const float lb = be.train_step_bytes(B, images.data(), kLr, pb, wb, gb);
  const std::size_t n = std::size_t(B) * kClasses;
  same_bits(x, "train_step_bytes loss", &lb, &lf, 1);
  same_bits(x, "train_step_bytes logits", wb.logits.data(), wf.logits.data(), n);
  same_bits(x, "train_step_bytes dlogits", wb.dlogits.data(), wf.dlogits.data(), n);
  same_bits(x, "train_step_bytes grad conv_w", gb.conv_w.data(), gf.conv_w.data(), kConvWSize);
  same_bits(x, "train_step_bytes grad conv_b", gb.conv_b.data(), gf.conv_b.data(), kConvC);
  same_bits(x, "train_step_bytes grad fc_w", gb.fc_w.data(), gf.fc_w.data(), kFcWSize);
  same_bits(x, "train_step_bytes updated conv_w", pb.conv_w.data(), pf.conv_w.data(), kConvWSize);
  same_bits(x, "train_step_bytes updated fc_w", pb.fc_w.data(), pf.fc_w.data(), kFcWSize);
  be.forward_infer(B, p, wf);
  be.forward_infer_bytes(B, images.data(), p, wb);
  same_bits(x, "forward_infer_bytes logits", wb.logits.data(), wf.logits.data(), n);
}

void step_check(Backend& be, Ctx& x, Gen& g, Kind) {
  const int B = x.B;
  Params p;
  p.conv_w = g.ints(kConvWSize, -4, 4), p.conv_b = g.ints(kConvC, -2, 2);
  p.fc_w = g.reals(kFcWSize, -1e-3f, 1e-3f), p.fc_b = g.reals(kClasses, -0.1f, 0.1f);
  auto img = g.ints(std::size_t(B) * kImgPixels, 0, 8);
  auto lab = g.bytes(B, 9);
  // Workspaces hold one sample more than the largest batch: a kernel that
  // writes a sample past the batch (which the primitives' guards catch)
  // then fails here instead of corrupting the heap.
  const StepOut o = run_step(be, B, x.c.batch + kBigger + 1, p, img, lab);
  check_fused_step(be, x, o, p, img, lab);
  check_bytes_entry(be, x, g, p, lab);
  if (!x.results({{"logits", o.logits.data(), o.logits.size()},
                  {"probs", o.probs.data(), o.probs.size()},
                  {"dlogits", o.dlogits.data(), o.dlogits.size()},
                  {"loss", &o.loss, 1},
                  {"grad conv_w", o.grads.conv_w.data(), kConvWSize},
                  {"grad conv_b", o.grads.conv_b.data(), kConvC},
                  {"grad fc_w", o.grads.fc_w.data(), kFcWSize},
                  {"grad fc_b", o.grads.fc_b.data(), kClasses},
                  {"infer logits", o.infer.data(), o.infer.size()},
                  {"updated conv_w", o.after.conv_w.data(), kConvWSize},
                  {"updated conv_b", o.after.conv_b.data(), kConvC},
                  {"updated fc_w", o.after.fc_w.data(), kFcWSize},
                  {"updated fc_b", o.after.fc_b.data(), kClasses}}))
    return;

  const ref::Model m{to_d(p.conv_w), to_d(p.conv_b), to_d(p.fc_w), to_d(p.fc_b)};
  const ref::StepResult s = ref::train_step(B, m, to_d(img), to_u8(lab));
  const ref::Model am{abs_d(p.conv_w), abs_d(p.conv_b), abs_d(p.fc_w), abs_d(p.fc_b)};
  const Vec mlog = ref::fc_fwd(B, abs_d(s.pooled), am.fc_w, am.fc_b);
  Vec mfw, mfb, mdin, mcw, mcb;
  ref::fc_bwd(B, s.pooled, am.fc_w, abs_d(s.dlogits), mfw, mfb, mdin);
  ref::conv_bwd(B, abs_d(to_d(img)), abs_d(s.dact), mcw, mcb);
  // A softmax input error dz moves p_i by at most 2 p_i max|dz|; the
  // logits' bound is rt * mlog.
  Vec mp(s.probs.size()), md(s.probs.size());
  for (std::size_t i = 0; i < mp.size(); ++i) {
    const std::size_t row = i / kClasses * kClasses;
    mp[i] = 2 * s.probs[i] * *std::max_element(mlog.begin() + row, mlog.begin() + row + kClasses);
    md[i] = mp[i] / B;
  }
  const double rt = 1e-3;
  compare(x, "logits", o.logits.data(), s.logits, &mlog, rt, kAtol, 0.5);
  compare(x, "probs", o.probs.data(), s.probs, &mp, rt, kAtol, 0.5);
  compare(x, "dlogits", o.dlogits.data(), s.dlogits, &md, rt, kAtol, 0.5);
  const Vec lv{s.loss}, lm{std::fabs(s.loss)};
  compare(x, "loss", &o.loss, lv, &lm, rt, 1e-6, 0.0);
  compare(x, "grad fc_w", o.grads.fc_w.data(), s.grad.fc_w, &mfw, rt, kAtol, 0.3);
  compare(x, "grad fc_b", o.grads.fc_b.data(), s.grad.fc_b, &mfb, rt, kAtol, 0.5);
  compare(x, "grad conv_w", o.grads.conv_w.data(), s.grad.conv_w, &mcw, rt, kAtol, 0.5);
  compare(x, "grad conv_b", o.grads.conv_b.data(), s.grad.conv_b, &mcb, rt, kAtol, 0.5);
  // The inference path on the same input must give the same logits.
  compare(x, "infer logits", o.infer.data(), s.logits, &mlog, rt, kAtol, 0.5);
  compare_update(x, "conv_w", p.conv_w, o.grads.conv_w, o.after.conv_w);
  compare_update(x, "conv_b", p.conv_b, o.grads.conv_b, o.after.conv_b);
  compare_update(x, "fc_w", p.fc_w, o.grads.fc_w, o.after.fc_w);
  compare_update(x, "fc_b", p.fc_b, o.grads.fc_b, o.after.fc_b);
}

// ---- Running the checks ----------------------------------------------------
using CheckFn = void (*)(Backend&, Ctx&, Gen&, Kind);

struct CheckDef {
  const char* op;    // operation, as in op_names()
  const char* name;  // the result's name
  Kind kind;
  CheckFn fn;
};

const CheckDef kChecks[] = {
    {"conv_fwd", "conv_fwd[integer]", Kind::Integer, conv_fwd_check},
    {"conv_fwd", "conv_fwd[real]", Kind::Real, conv_fwd_check},
    {"conv_fwd", "conv_fwd[relu-edge]", Kind::Edge, conv_fwd_check},
    {"conv_fwd", "conv_fwd[denormal]", Kind::Denormal, conv_fwd_check},
    {"pool_fwd", "pool_fwd[integer,ties]", Kind::Integer, pool_fwd_check},
    {"pool_fwd", "pool_fwd[real]", Kind::Real, pool_fwd_check},
    {"pool_fwd", "pool_fwd[near-ties]", Kind::Edge, pool_fwd_check},
    {"fc_fwd", "fc_fwd[integer]", Kind::Integer, fc_fwd_check},
    {"fc_fwd", "fc_fwd[real]", Kind::Real, fc_fwd_check},
    {"softmax_xent", "softmax_xent[real]", Kind::Real, softmax_check},
    {"softmax_xent", "softmax_xent[extreme]", Kind::Edge, softmax_check},
    {"fc_bwd", "fc_bwd[integer]", Kind::Integer, fc_bwd_check},
    {"fc_bwd", "fc_bwd[real]", Kind::Real, fc_bwd_check},
    {"pool_bwd", "pool_bwd[exact]", Kind::Integer, pool_bwd_check},
    {"conv_bwd", "conv_bwd[integer]", Kind::Integer, conv_bwd_check},
    {"conv_bwd", "conv_bwd[real]", Kind::Real, conv_bwd_check},
    {"conv_bwd", "conv_bwd[dense]", Kind::Dense, conv_bwd_check},
    {"sgd_update", "sgd_update[real]", Kind::Real, sgd_check},
    {"train_step", "train_step[composite]", Kind::Integer, step_check},
};

// A stable hash of the check's name (FNV-1a), so each check draws its own
// inputs from the case's seed, the same in a full run and a filtered one.
std::uint64_t salt(const char* s) {
  std::uint64_t h = 1469598103934665603ull;
  for (; *s; ++s) h = (h ^ std::uint8_t(*s)) * 1099511628211ull;
  return h;
}

// The three runs of one check (see the header).
CheckResult run_check(Backend& be, const OpCase& c, const CheckDef& def) {
  CheckResult r;
  r.op = def.name;
  Ctx x{c, r, Phase::Fresh, c.batch, {}};
  for (Phase ph : {Phase::Fresh, Phase::Garbage, Phase::Reused}) {
    x.phase = ph;
    x.B = ph == Phase::Garbage ? c.batch + kBigger : c.batch;
    Gen g((ph == Phase::Garbage ? ~c.seed : c.seed) ^ salt(def.name), ph == Phase::Garbage);
    def.fn(be, x, g, def.kind);
  }
  return r;
}

}  // namespace

std::string describe(const OpCase& c) {
  return "backend=" + c.backend + " isa=" + c.isa + " threads=" + std::to_string(c.threads) +
         " B=" + std::to_string(c.batch) + " seed=" + std::to_string(c.seed);
}

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = {"conv_fwd",     "pool_fwd",   "fc_fwd",
                                                 "softmax_xent", "fc_bwd",     "pool_bwd",
                                                 "conv_bwd",     "sgd_update", "train_step"};
  return names;
}

std::vector<CheckResult> check_op(Backend& be, const OpCase& c, const std::string& op) {
  if (std::find(op_names().begin(), op_names().end(), op) == op_names().end())
    throw std::invalid_argument("op_tester: no operation '" + op + "'");
  // Prepared once for the largest batch that will be passed, as the trainer
  // does: the garbage run's.
  be.prepare(c.batch + kBigger);
  std::vector<CheckResult> out;
  for (const auto& def : kChecks)
    if (op == def.op) out.push_back(run_check(be, c, def));
  return out;
}

std::vector<CheckResult> check_backend(Backend& be, const OpCase& c) {
  std::vector<CheckResult> out;
  for (const auto& op : op_names())
    for (auto& r : check_op(be, c, op)) out.push_back(std::move(r));
  return out;
}

std::vector<CheckResult> check_backend(const OpCase& c) {
  BackendOptions opt;
  opt.threads = c.threads;
  opt.isa = c.isa;
  auto be = make_backend(c.backend, opt);
  return check_backend(*be, c);
}

}  // namespace cnn::test
