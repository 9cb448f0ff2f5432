#include "tests/op_tester.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <stdexcept>

#include "kernels/registry.h"
#include "tests/reference.h"

namespace cnn::test {

namespace {

using ref::Vec;
constexpr double kU = 1.0 / 16777216.0;  // unit roundoff of fp32, 2^-24
constexpr double kAtol = 1e-7;

// Higham's gamma for a K-term dot product plus the products' and the bias's
// own rounding (see the header).
double dot_rtol(double K) { return 2.0 * (K + 2.0) * kU; }

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : g_(seed) {}
  Buffer<float> ints(std::size_t n, int lo, int hi) {
    Buffer<float> b(n);
    std::uniform_int_distribution<int> d(lo, hi);
    for (auto& v : b) v = float(d(g_));
    return b;
  }
  Buffer<float> reals(std::size_t n, float lo, float hi) {
    Buffer<float> b(n);
    std::uniform_real_distribution<float> d(lo, hi);
    for (auto& v : b) v = d(g_);
    return b;
  }
  Buffer<std::uint8_t> bytes(std::size_t n, int hi) {
    Buffer<std::uint8_t> b(n);
    std::uniform_int_distribution<int> d(0, hi);
    for (auto& v : b) v = std::uint8_t(d(g_));
    return b;
  }

 private:
  std::mt19937_64 g_;
};

Vec to_d(const Buffer<float>& b) { return Vec(b.begin(), b.end()); }
Vec abs_d(const Buffer<float>& b) {
  Vec v(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) v[i] = std::fabs(b[i]);
  return v;
}
Vec abs_d(const Vec& b) {
  Vec v(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) v[i] = std::fabs(b[i]);
  return v;
}
std::vector<std::uint8_t> to_u8(const Buffer<std::uint8_t>& b) {
  return std::vector<std::uint8_t>(b.begin(), b.end());
}

// Compares got against ref: exactly when mag is empty, else within
// atol + rtol * mag_i. Records the first failure with full context.
void compare(CheckResult& r, const std::string& what, const OpCase& c, const float* got,
             const Vec& ref, const Vec* mag, double rtol, double atol, double min_nonzero) {
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double e = ref[i], a = got[i];
    if (e != 0) ++nonzero;
    const double err = std::fabs(a - e);
    const double tol = mag ? atol + rtol * (*mag)[i] : 0.0;
    r.max_abs_err = std::max(r.max_abs_err, err);
    if (e != 0) r.max_rel_err = std::max(r.max_rel_err, err / std::fabs(e));
    r.tol_note = std::max(r.tol_note, tol);
    if (!(err <= tol) && r.pass) {
      r.pass = false;
      char buf[320];
      std::snprintf(buf, sizeof buf, "%s: %s index %zu expected %.9g actual %.9g (|err| %.3g > tol %.3g)",
                    describe(c).c_str(), what.c_str(), i, e, a, err, tol);
      r.failure = buf;
    }
  }
  const double share = ref.empty() ? 1.0 : double(nonzero) / double(ref.size());
  r.nonzero_share = std::min(r.nonzero_share, share);
  r.min_nonzero = std::max(r.min_nonzero, min_nonzero);
  if (share < min_nonzero && r.pass) {
    r.pass = false;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: %s reference is %.0f%% non-zero, below the %.0f%% needed to trust it",
                  describe(c).c_str(), what.c_str(), 100 * share, 100 * min_nonzero);
    r.failure = buf;
  }
}

void compare_u8(CheckResult& r, const std::string& what, const OpCase& c, const std::uint8_t* got,
                const std::vector<std::uint8_t>& ref) {
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (got[i] != ref[i] && r.pass) {
      r.pass = false;
      r.failure = describe(c) + ": " + what + " index " + std::to_string(i) + " expected " +
                  std::to_string(ref[i]) + " actual " + std::to_string(got[i]);
      return;
    }
}

CheckResult check_conv_fwd(Backend& be, const OpCase& c, InputKind kind, Gen& g) {
  const int B = c.batch;
  const bool exact = kind == InputKind::Integer;
  CheckResult r;
  r.op = exact ? "conv_fwd[integer]" : "conv_fwd[real]";
  auto x = exact ? g.ints(std::size_t(B) * kImgPixels, 0, 8) : g.reals(std::size_t(B) * kImgPixels, 0, 1);
  auto w = exact ? g.ints(kConvWSize, -8, 8) : g.reals(kConvWSize, -1, 1);
  auto b = exact ? g.ints(kConvC, -8, 8) : g.reals(kConvC, -1, 1);
  Buffer<float> act(std::size_t(B) * kActSize);
  be.conv_fwd(B, x.data(), w.data(), b.data(), act.data());
  Vec ref = ref::conv_fwd(B, to_d(x), to_d(w), to_d(b));
  Vec mag = ref::conv_pre(B, abs_d(x), abs_d(w), abs_d(b));
  // With only 8 random filters the ReLU share varies a lot from seed to
  // seed (a filter with mostly negative weights is mostly zero): 15% is the
  // floor below which the comparison would prove little.
  compare(r, "act", c, act.data(), ref, exact ? nullptr : &mag, dot_rtol(9), kAtol, 0.15);
  return r;
}

CheckResult check_pool_fwd(Backend& be, const OpCase& c, InputKind kind, Gen& g) {
  const int B = c.batch;
  const bool exact = kind == InputKind::Integer;
  CheckResult r;
  // Integers in a narrow range make many ties: the first maximum (row by
  // row) must win, as in the reference. Negative values check the -inf start.
  r.op = exact ? "pool_fwd[integer,ties]" : "pool_fwd[real]";
  auto act = exact ? g.ints(std::size_t(B) * kActSize, -2, 3) : g.reals(std::size_t(B) * kActSize, -1, 1);
  Buffer<float> pooled(std::size_t(B) * kFeatures);
  Buffer<std::uint8_t> win(std::size_t(B) * kFeatures);
  be.pool_fwd(B, act.data(), pooled.data(), win.data());
  Vec rp;
  std::vector<std::uint8_t> rw;
  ref::pool_fwd(B, to_d(act), rp, rw);
  compare(r, "pooled", c, pooled.data(), rp, nullptr, 0, 0, 0.5);
  compare_u8(r, "winner", c, win.data(), rw);
  if (exact) {
    // The case must actually contain ties for the check to mean anything.
    std::size_t ties = 0;
    for (std::size_t i = 0; i < rp.size(); ++i) {
      const std::size_t n = i / kFeatures, f = i % kFeatures, ch = f / kPoolPixels;
      const int py = int(f % kPoolPixels) / kPoolW, px = int(f % kPoolPixels) % kPoolW;
      int eq = 0;
      for (int k = 0; k < 4; ++k)
        eq += act[n * kActSize + ch * kImgPixels + (2 * py + k / 2) * kImgW + 2 * px + k % 2] == float(rp[i]);
      ties += eq > 1;
    }
    if (ties * 10 < rp.size() && r.pass) {
      r.pass = false;
      r.failure = describe(c) + ": pool tie case holds too few ties";
    }
  }
  return r;
}

CheckResult check_fc_fwd(Backend& be, const OpCase& c, InputKind kind, Gen& g) {
  const int B = c.batch;
  const bool exact = kind == InputKind::Integer;
  CheckResult r;
  r.op = exact ? "fc_fwd[integer]" : "fc_fwd[real]";
  auto in = exact ? g.ints(std::size_t(B) * kFeatures, 0, 8) : g.reals(std::size_t(B) * kFeatures, 0, 1);
  auto w = exact ? g.ints(kFcWSize, -8, 8) : g.reals(kFcWSize, -1, 1);
  auto b = exact ? g.ints(kClasses, -8, 8) : g.reals(kClasses, -1, 1);
  Buffer<float> out(std::size_t(B) * kClasses);
  be.fc_fwd(B, in.data(), w.data(), b.data(), out.data());
  Vec ref = ref::fc_fwd(B, to_d(in), to_d(w), to_d(b));
  Vec mag = ref::fc_fwd(B, abs_d(in), abs_d(w), abs_d(b));
  compare(r, "logits", c, out.data(), ref, exact ? nullptr : &mag, dot_rtol(kFeatures), kAtol, 0.5);
  return r;
}

CheckResult check_softmax(Backend& be, const OpCase& c, Gen& g) {
  const int B = c.batch;
  CheckResult r;
  r.op = "softmax_xent[real]";
  auto z = g.reals(std::size_t(B) * kClasses, -5, 5);
  auto lab = g.bytes(B, 9);
  const float scale = 1.0f / float(B);
  Buffer<float> p(std::size_t(B) * kClasses), d(std::size_t(B) * kClasses);
  float loss = be.softmax_xent(B, z.data(), lab.data(), scale, p.data(), d.data());
  Vec rp, rd;
  double rl = ref::softmax_xent(B, to_d(z), to_u8(lab), double(scale), rp, rd);
  // expf/logf (or a vector approximation of them) are accurate to a few ulp;
  // normalising adds a 10-term sum: 1e-5 relative is ~80 ulp of room, and
  // 2e-6 absolute covers probabilities near zero.
  Vec ones(rp.size(), 1.0);
  compare(r, "probs", c, p.data(), rp, &ones, 0, 2e-6, 0.5);
  Vec dmag(rd.size(), double(scale));
  compare(r, "dlogits", c, d.data(), rd, &dmag, 2e-6, 1e-9, 0.5);
  Vec lv{rl}, lmag{std::fabs(rl)};
  // Each sample's loss has a relative error of ~1e-6 from logf and the
  // softmax; the B-term fp32 sum adds gamma_B.
  compare(r, "loss", c, &loss, lv, &lmag, 1e-5 + dot_rtol(B), 1e-6, 0.0);
  return r;
}

CheckResult check_fc_bwd(Backend& be, const OpCase& c, InputKind kind, Gen& g) {
  const int B = c.batch;
  const bool exact = kind == InputKind::Integer;
  CheckResult r;
  r.op = exact ? "fc_bwd[integer]" : "fc_bwd[real]";
  auto in = exact ? g.ints(std::size_t(B) * kFeatures, 0, 8) : g.reals(std::size_t(B) * kFeatures, 0, 1);
  auto w = exact ? g.ints(kFcWSize, -8, 8) : g.reals(kFcWSize, -1, 1);
  auto d = exact ? g.ints(std::size_t(B) * kClasses, -8, 8) : g.reals(std::size_t(B) * kClasses, -1, 1);
  Buffer<float> dw(kFcWSize), db(kClasses), din(std::size_t(B) * kFeatures);
  // Poison the outputs: the operation must overwrite, not accumulate.
  for (auto& v : dw) v = 1e30f;
  for (auto& v : db) v = 1e30f;
  for (auto& v : din) v = 1e30f;
  be.fc_bwd(B, in.data(), w.data(), d.data(), dw.data(), db.data(), din.data());
  Vec rdw, rdb, rdin, mdw, mdb, mdin;
  ref::fc_bwd(B, to_d(in), to_d(w), to_d(d), rdw, rdb, rdin);
  ref::fc_bwd(B, abs_d(in), abs_d(w), abs_d(d), mdw, mdb, mdin);
  compare(r, "dw", c, dw.data(), rdw, exact ? nullptr : &mdw, dot_rtol(B), kAtol, 0.5);
  compare(r, "db", c, db.data(), rdb, exact ? nullptr : &mdb, dot_rtol(B), kAtol, 0.5);
  compare(r, "din", c, din.data(), rdin, exact ? nullptr : &mdin, dot_rtol(kClasses), kAtol, 0.5);
  return r;
}

CheckResult check_pool_bwd(Backend& be, const OpCase& c, Gen& g) {
  const int B = c.batch;
  CheckResult r;
  // No arithmetic beyond placing one value per window: exact for any input.
  r.op = "pool_bwd[exact]";
  auto dp = g.reals(std::size_t(B) * kFeatures, -1, 1);
  auto win = g.bytes(std::size_t(B) * kFeatures, 3);
  // Activations consistent with the winners (the fused kernels may rely on
  // the winner holding the window's value): the winner gets a value in
  // {-1, 0, 1, 2, 3} (so the ReLU mask is exercised), the others less.
  auto act = g.ints(std::size_t(B) * kActSize, -8, -2);
  auto wv = g.ints(std::size_t(B) * kFeatures, -1, 3);
  for (std::size_t o = 0; o < std::size_t(B) * kFeatures; ++o) {
    const std::size_t n = o / kFeatures, f = o % kFeatures, ch = f / kPoolPixels;
    const int py = int(f % kPoolPixels) / kPoolW, px = int(f % kPoolPixels) % kPoolW;
    act[n * kActSize + ch * kImgPixels + (2 * py + win[o] / 2) * kImgW + 2 * px + win[o] % 2] = wv[o];
  }
  Buffer<float> dact(std::size_t(B) * kActSize);
  for (auto& v : dact) v = 1e30f;
  be.pool_bwd(B, dp.data(), win.data(), act.data(), dact.data());
  Vec ref = ref::pool_bwd(B, to_d(dp), to_u8(win), to_d(act));
  compare(r, "dact", c, dact.data(), ref, nullptr, 0, 0, 0.08);
  return r;
}

CheckResult check_conv_bwd(Backend& be, const OpCase& c, InputKind kind, Gen& g) {
  const int B = c.batch;
  const bool exact = kind == InputKind::Integer;
  CheckResult r;
  r.op = exact ? "conv_bwd[integer]" : "conv_bwd[real]";
  auto x = exact ? g.ints(std::size_t(B) * kImgPixels, 0, 8) : g.reals(std::size_t(B) * kImgPixels, 0, 1);
  // Gradients as the pool/ReLU backward leaves them: mostly zero, one
  // pixel per 2x2 window at most.
  Buffer<float> dact(std::size_t(B) * kActSize);
  auto vals = exact ? g.ints(std::size_t(B) * kFeatures, -8, 8) : g.reals(std::size_t(B) * kFeatures, -1, 1);
  auto win = g.bytes(std::size_t(B) * kFeatures, 3);
  for (std::size_t o = 0; o < std::size_t(B) * kFeatures; ++o) {
    const std::size_t n = o / kFeatures, f = o % kFeatures, ch = f / kPoolPixels;
    const int py = int(f % kPoolPixels) / kPoolW, px = int(f % kPoolPixels) % kPoolW;
    dact[n * kActSize + ch * kImgPixels + (2 * py + win[o] / 2) * kImgW + 2 * px + win[o] % 2] = vals[o];
  }
  Buffer<float> dw(kConvWSize), db(kConvC);
  for (auto& v : dw) v = 1e30f;
  for (auto& v : db) v = 1e30f;
  be.conv_bwd(B, x.data(), dact.data(), dw.data(), db.data());
  Vec rdw, rdb, mdw, mdb;
  ref::conv_bwd(B, to_d(x), to_d(dact), rdw, rdb);
  ref::conv_bwd(B, abs_d(x), abs_d(dact), mdw, mdb);
  const double K = double(B) * kImgPixels;
  compare(r, "dw", c, dw.data(), rdw, exact ? nullptr : &mdw, dot_rtol(K), kAtol, 0.5);
  compare(r, "db", c, db.data(), rdb, exact ? nullptr : &mdb, dot_rtol(K), kAtol, 0.5);
  return r;
}

CheckResult check_sgd(Backend& be, const OpCase& c, Gen& g) {
  CheckResult r;
  r.op = "sgd_update[real]";
  for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(17), std::size_t(kFcWSize + 3)}) {
    auto p = g.reals(n, -1, 1), gr = g.reals(n, -1, 1);
    const float lr = 0.01f;
    Vec ref = ref::sgd_update(lr, to_d(p), to_d(gr));
    Vec mag(n);
    for (std::size_t i = 0; i < n; ++i) mag[i] = std::fabs(p[i]) + std::fabs(lr * gr[i]);
    be.sgd_update(lr, p.data(), gr.data(), n);
    // One multiply and one subtraction (or one FMA): 2 roundings.
    compare(r, "p[n=" + std::to_string(n) + "]", c, p.data(), ref, &mag, 3 * kU, 0, 0.5);
  }
  return r;
}

// The composite steps as the trainer calls them (where fused backends differ
// from the primitives). Integer images and conv weights make the
// convolution, ReLU and pooling exact, so every max-pool winner and ReLU
// mask is the reference's; the FC weights are small reals so the softmax is
// not saturated. The logits carry at most gamma_1568 ~ 2e-4 of their
// magnitude; through the softmax and the backward reductions that stays
// below 1e-3 of each output's magnitude, the tolerance used here.
CheckResult check_step(Backend& be, const OpCase& c, Gen& g) {
  const int B = c.batch;
  CheckResult r;
  r.op = "train_step[composite]";
  Params p;
  auto cw = g.ints(kConvWSize, -4, 4), cb = g.ints(kConvC, -2, 2);
  auto fw = g.reals(kFcWSize, -1e-3f, 1e-3f), fb = g.reals(kClasses, -0.1f, 0.1f);
  std::copy(cw.begin(), cw.end(), p.conv_w.begin());
  std::copy(cb.begin(), cb.end(), p.conv_b.begin());
  std::copy(fw.begin(), fw.end(), p.fc_w.begin());
  std::copy(fb.begin(), fb.end(), p.fc_b.begin());
  auto x = g.ints(std::size_t(B) * kImgPixels, 0, 8);
  auto lab = g.bytes(B, 9);

  Workspace ws(B);
  std::copy(x.begin(), x.end(), ws.x.begin());
  std::copy(lab.begin(), lab.end(), ws.labels.begin());
  be.prepare(B);
  Params grads;
  be.forward_train(B, p, ws);
  float loss = be.loss_grad(B, 1.0f / float(B), ws);
  Buffer<float> logits(std::size_t(B) * kClasses);
  std::copy(ws.logits.begin(), ws.logits.end(), logits.begin());
  be.backward(B, p, ws, grads);

  ref::Model m{to_d(p.conv_w), to_d(p.conv_b), to_d(p.fc_w), to_d(p.fc_b)};
  ref::StepResult s = ref::train_step(B, m, to_d(x), to_u8(lab));
  ref::Model am{abs_d(p.conv_w), abs_d(p.conv_b), abs_d(p.fc_w), abs_d(p.fc_b)};
  Vec mlog = ref::fc_fwd(B, abs_d(s.pooled), am.fc_w, am.fc_b);
  Vec mfw, mfb, mdin, mcw, mcb;
  Vec ad = abs_d(s.dlogits);
  ref::fc_bwd(B, s.pooled, am.fc_w, ad, mfw, mfb, mdin);
  ref::conv_bwd(B, abs_d(to_d(x)), abs_d(s.dact), mcw, mcb);
  const double rt = 1e-3;
  compare(r, "logits", c, logits.data(), s.logits, &mlog, rt, kAtol, 0.5);
  Vec lv{s.loss}, lm{std::fabs(s.loss)};
  compare(r, "loss", c, &loss, lv, &lm, rt, 1e-6, 0.0);
  compare(r, "grad fc_w", c, grads.fc_w.data(), s.grad.fc_w, &mfw, rt, kAtol, 0.3);
  compare(r, "grad fc_b", c, grads.fc_b.data(), s.grad.fc_b, &mfb, rt, kAtol, 0.5);
  compare(r, "grad conv_w", c, grads.conv_w.data(), s.grad.conv_w, &mcw, rt, kAtol, 0.5);
  compare(r, "grad conv_b", c, grads.conv_b.data(), s.grad.conv_b, &mcb, rt, kAtol, 0.5);

  // Inference path on the same input must give the same logits.
  Workspace iws(B);
  std::copy(x.begin(), x.end(), iws.x.begin());
  be.forward_infer(B, p, iws);
  compare(r, "infer logits", c, iws.logits.data(), s.logits, &mlog, rt, kAtol, 0.5);

  // The SGD step as the trainer calls it.
  Params before = p;
  be.update(0.01f, p, grads);
  Vec upd = ref::sgd_update(0.01, to_d(before.fc_w), to_d(grads.fc_w));
  Vec umag(upd.size());
  for (std::size_t i = 0; i < upd.size(); ++i) umag[i] = std::fabs(before.fc_w[i]) + std::fabs(0.01 * grads.fc_w[i]);
  compare(r, "updated fc_w", c, p.fc_w.data(), upd, &umag, 3 * kU, 0, 0.5);
  return r;
}

}  // namespace

std::string describe(const OpCase& c) {
  return "backend=" + c.backend + " isa=" + c.isa + " threads=" + std::to_string(c.threads) +
         " B=" + std::to_string(c.batch) + " seed=" + std::to_string(c.seed);
}

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = {"conv_fwd", "pool_fwd", "fc_fwd",   "softmax_xent", "fc_bwd",
                                                 "pool_bwd", "conv_bwd", "sgd_update", "train_step"};
  return names;
}

std::vector<CheckResult> check_op(Backend& be, const OpCase& c, const std::string& op) {
  // Each operation draws its own inputs from the case's seed, so a case
  // filtered down to one operation sees the inputs it sees in a full run.
  Gen g(c.seed);
  be.prepare(c.batch);
  std::vector<CheckResult> out;
  const auto both = [&](auto check) {
    for (InputKind k : {InputKind::Integer, InputKind::Real}) out.push_back(check(be, c, k, g));
  };
  if (op == "conv_fwd")
    both(check_conv_fwd);
  else if (op == "pool_fwd")
    both(check_pool_fwd);
  else if (op == "fc_fwd")
    both(check_fc_fwd);
  else if (op == "softmax_xent")
    out.push_back(check_softmax(be, c, g));
  else if (op == "fc_bwd")
    both(check_fc_bwd);
  else if (op == "pool_bwd")
    out.push_back(check_pool_bwd(be, c, g));
  else if (op == "conv_bwd")
    both(check_conv_bwd);
  else if (op == "sgd_update")
    out.push_back(check_sgd(be, c, g));
  else if (op == "train_step")
    out.push_back(check_step(be, c, g));
  else
    throw std::invalid_argument("op_tester: no operation '" + op + "'");
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
