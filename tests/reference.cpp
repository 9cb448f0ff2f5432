#include "tests/reference.h"

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "kernels/backend.h"

namespace cnn::ref {

namespace {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapC = Eigen::Map<const RowMat>;
using Map = Eigen::Map<RowMat>;

// Patch matrix of one image: row p = output pixel, column = ky*3+kx tap,
// zero where the tap falls outside the image. (784, 9)
RowMat patches(const double* img) {
  RowMat P = RowMat::Zero(kImgPixels, kKernelSize);
  for (int oy = 0; oy < kImgH; ++oy)
    for (int ox = 0; ox < kImgW; ++ox)
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          int iy = oy + ky - 1, ix = ox + kx - 1;
          if (iy >= 0 && iy < kImgH && ix >= 0 && ix < kImgW)
            P(oy * kImgW + ox, ky * 3 + kx) = img[iy * kImgW + ix];
        }
  return P;
}

}  // namespace

Vec conv_pre(int B, const Vec& x, const Vec& w, const Vec& b) {
  Vec out(std::size_t(B) * kActSize);
  MapC W(w.data(), kConvC, kKernelSize);  // (8, 9)
  Eigen::Map<const Eigen::VectorXd> bias(b.data(), kConvC);
  for (int n = 0; n < B; ++n) {
    RowMat P = patches(x.data() + std::size_t(n) * kImgPixels);  // (784, 9)
    Map O(out.data() + std::size_t(n) * kActSize, kConvC, kImgPixels);
    O = W * P.transpose();  // (8, 784)
    O.colwise() += bias;
  }
  return out;
}

Vec conv_fwd(int B, const Vec& x, const Vec& w, const Vec& b) {
  Vec out = conv_pre(B, x, w, b);
  Eigen::Map<Eigen::ArrayXd> a(out.data(), Eigen::Index(out.size()));
  a = a.max(0.0);
  return out;
}

void pool_fwd(int B, const Vec& act, Vec& pooled, std::vector<std::uint8_t>& winner) {
  pooled.assign(std::size_t(B) * kFeatures, 0.0);
  winner.assign(std::size_t(B) * kFeatures, 0);
  for (int n = 0; n < B; ++n)
    for (int c = 0; c < kConvC; ++c) {
      MapC A(act.data() + std::size_t(n) * kActSize + c * kImgPixels, kImgH, kImgW);
      for (int py = 0; py < kPoolH; ++py)
        for (int px = 0; px < kPoolW; ++px) {
          auto win = A.block<2, 2>(2 * py, 2 * px);
          // First maximum in row-major order wins a tie.
          double best = -std::numeric_limits<double>::infinity();
          int arg = 0;
          for (int k = 0; k < 4; ++k)
            if (win(k / 2, k % 2) > best) best = win(k / 2, k % 2), arg = k;
          std::size_t o = std::size_t(n) * kFeatures + c * kPoolPixels + py * kPoolW + px;
          pooled[o] = best;
          winner[o] = std::uint8_t(arg);
        }
    }
}

Vec fc_fwd(int B, const Vec& in, const Vec& w, const Vec& b) {
  Vec out(std::size_t(B) * kClasses);
  MapC X(in.data(), B, kFeatures);
  MapC W(w.data(), kFeatures, kClasses);
  Eigen::Map<const Eigen::RowVectorXd> bias(b.data(), kClasses);
  Map O(out.data(), B, kClasses);
  O = X * W;
  O.rowwise() += bias;
  return out;
}

double softmax_xent(int B, const Vec& logits, const std::vector<std::uint8_t>& labels, double scale,
                    Vec& probs, Vec& dlogits) {
  probs.assign(std::size_t(B) * kClasses, 0.0);
  dlogits.assign(std::size_t(B) * kClasses, 0.0);
  MapC Z(logits.data(), B, kClasses);
  Map P(probs.data(), B, kClasses), D(dlogits.data(), B, kClasses);
  double loss = 0;
  for (int n = 0; n < B; ++n) {
    Eigen::RowVectorXd e = (Z.row(n).array() - Z.row(n).maxCoeff()).exp().matrix();
    P.row(n) = e / e.sum();
    loss += -std::log(std::max(P(n, labels[n]), 1e-9));
    D.row(n) = P.row(n);
    D(n, labels[n]) -= 1.0;
    D.row(n) *= scale;
  }
  return loss;
}

void fc_bwd(int B, const Vec& in, const Vec& w, const Vec& d, Vec& dw, Vec& db, Vec& din) {
  dw.assign(kFcWSize, 0.0);
  db.assign(kClasses, 0.0);
  din.assign(std::size_t(B) * kFeatures, 0.0);
  MapC X(in.data(), B, kFeatures), W(w.data(), kFeatures, kClasses), D(d.data(), B, kClasses);
  Map(dw.data(), kFeatures, kClasses) = X.transpose() * D;
  Eigen::Map<Eigen::RowVectorXd>(db.data(), kClasses) = D.colwise().sum();
  Map(din.data(), B, kFeatures) = D * W.transpose();
}

Vec pool_bwd(int B, const Vec& dpooled, const std::vector<std::uint8_t>& winner, const Vec& act) {
  Vec dact(std::size_t(B) * kActSize, 0.0);
  for (int n = 0; n < B; ++n)
    for (int c = 0; c < kConvC; ++c)
      for (int py = 0; py < kPoolH; ++py)
        for (int px = 0; px < kPoolW; ++px) {
          std::size_t o = std::size_t(n) * kFeatures + c * kPoolPixels + py * kPoolW + px;
          int dy = winner[o] / 2, dx = winner[o] % 2;
          dact[std::size_t(n) * kActSize + c * kImgPixels + (2 * py + dy) * kImgW + 2 * px + dx] +=
              dpooled[o];
        }
  Eigen::Map<Eigen::ArrayXd> g(dact.data(), Eigen::Index(dact.size()));
  Eigen::Map<const Eigen::ArrayXd> a(act.data(), Eigen::Index(act.size()));
  g = (a > 0.0).select(g, 0.0);
  return dact;
}

void conv_bwd(int B, const Vec& x, const Vec& dact, Vec& dw, Vec& db) {
  RowMat dW = RowMat::Zero(kConvC, kKernelSize);
  Eigen::VectorXd dB = Eigen::VectorXd::Zero(kConvC);
  for (int n = 0; n < B; ++n) {
    RowMat P = patches(x.data() + std::size_t(n) * kImgPixels);           // (784, 9)
    MapC G(dact.data() + std::size_t(n) * kActSize, kConvC, kImgPixels);  // (8, 784)
    dW += G * P;
    dB += G.rowwise().sum();
  }
  dw.assign(dW.data(), dW.data() + kConvWSize);
  db.assign(dB.data(), dB.data() + kConvC);
}

Vec sgd_update(double lr, const Vec& p, const Vec& g) {
  Vec out(p.size());
  Eigen::Map<Eigen::ArrayXd>(out.data(), Eigen::Index(out.size())) =
      Eigen::Map<const Eigen::ArrayXd>(p.data(), Eigen::Index(p.size())) -
      lr * Eigen::Map<const Eigen::ArrayXd>(g.data(), Eigen::Index(g.size()));
  return out;
}

StepResult train_step(int B, const Model& m, const Vec& x,
                      const std::vector<std::uint8_t>& labels) {
  StepResult r;
  r.act = conv_fwd(B, x, m.conv_w, m.conv_b);
  pool_fwd(B, r.act, r.pooled, r.winner);
  r.logits = fc_fwd(B, r.pooled, m.fc_w, m.fc_b);
  r.loss = softmax_xent(B, r.logits, labels, 1.0 / B, r.probs, r.dlogits);
  fc_bwd(B, r.pooled, m.fc_w, r.dlogits, r.grad.fc_w, r.grad.fc_b, r.dpooled);
  r.dact = pool_bwd(B, r.dpooled, r.winner, r.act);
  conv_bwd(B, x, r.dact, r.grad.conv_w, r.grad.conv_b);
  return r;
}

double mean_loss(int B, const Model& m, const Vec& x, const std::vector<std::uint8_t>& labels) {
  Vec act = conv_fwd(B, x, m.conv_w, m.conv_b), pooled, probs, d;
  std::vector<std::uint8_t> win;
  pool_fwd(B, act, pooled, win);
  Vec logits = fc_fwd(B, pooled, m.fc_w, m.fc_b);
  return softmax_xent(B, logits, labels, 1.0, probs, d) / B;
}

}  // namespace cnn::ref
