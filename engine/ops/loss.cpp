// Softmax family and losses. Losses are single fused ops (forward value + closed-form gradient) rather than
// compositions, which saves the intermediate graph nodes and is numerically stable (log-sum-exp with max shift).
//   softmax:      y = e^{x−max}/Σ,        dx = y ⊙ (g − Σ g·y)
//   log_softmax:  y = x − lse(x),         dx = g − softmax(x)·Σ g
//   cross_entropy with smoothing ε over C classes: q = (1−ε)·onehot + ε/C,
//                 L = −(1/N) Σ_n Σ_c q_c log p_c,   dL/dz = (p − q)/N
//   KL with temperature T: p_t = softmax(t/T), p_s = softmax(s/T),
//                 L = T²/N Σ_n Σ_c p_t (log p_t − log p_s),   dL/ds = T/N · (p_s − p_t)
#include <cmath>

#include "engine/ops.h"
#include "engine/ops/common.h"

namespace lowbit {
using namespace ops_detail;

namespace {
void check_logits(const Var& z, const char* op) {
  check_defined(z, op, "logits");
  LOWBIT_CHECK(z.shape().rank() == 2 && z.shape()[1] > 0, "{}: logits must be [N, C] with C > 0, got {}", op,
               z.shape().str());
}

// Row-wise log-softmax of z[N, C] (scaled by 1/T) into out (may be used as log-probabilities).
void log_softmax_rows(const float* z, int64_t N, int64_t C, float inv_t, float* out) {
  parallel_for_work(N, N * C * 4, [&](int64_t n) {
    const float* r = z + n * C;
    float* o = out + n * C;
    float mx = r[0] * inv_t;
    for (int64_t c = 1; c < C; ++c) mx = std::max(mx, r[c] * inv_t);
    double s = 0.0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(r[c] * inv_t - mx));
    const float lse = mx + static_cast<float>(std::log(s));
    for (int64_t c = 0; c < C; ++c) o[c] = r[c] * inv_t - lse;
  });
}

Tensor scaled_copy(const Tensor& t, float s) {
  Tensor o = Tensor::empty(t.shape());
  const float* p = t.data();
  float* q = o.data();
  for (int64_t i = 0; i < t.numel(); ++i) q[i] = p[i] * s;
  return o;
}
}  // namespace

Var softmax(const Var& logits) {
  check_logits(logits, "softmax");
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  Tensor Y = Tensor::empty(logits.shape());
  log_softmax_rows(logits.value().data(), N, C, 1.0f, Y.data());
  float* yp = Y.data();
  for (int64_t i = 0; i < N * C; ++i) yp[i] = std::exp(yp[i]);
  return Var::make(Y, {logits}, [Y, N, C](const Tensor& g, std::vector<Var>& in) {
    Tensor dx = Tensor::empty(Y.shape());
    const float* yp = Y.data();
    const float* gp = g.data();
    float* dp = dx.data();
    for (int64_t n = 0; n < N; ++n) {
      double dot = 0.0;
      for (int64_t c = 0; c < C; ++c) dot += gp[n * C + c] * yp[n * C + c];
      for (int64_t c = 0; c < C; ++c) dp[n * C + c] = yp[n * C + c] * (gp[n * C + c] - static_cast<float>(dot));
    }
    in[0].add_grad(dx);
  });
}

Var log_softmax(const Var& logits) {
  check_logits(logits, "log_softmax");
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  Tensor Y = Tensor::empty(logits.shape());
  log_softmax_rows(logits.value().data(), N, C, 1.0f, Y.data());
  return Var::make(Y, {logits}, [Y, N, C](const Tensor& g, std::vector<Var>& in) {
    Tensor dx = Tensor::empty(Y.shape());
    const float* yp = Y.data();
    const float* gp = g.data();
    float* dp = dx.data();
    for (int64_t n = 0; n < N; ++n) {
      double gs = 0.0;
      for (int64_t c = 0; c < C; ++c) gs += gp[n * C + c];
      for (int64_t c = 0; c < C; ++c)
        dp[n * C + c] = gp[n * C + c] - std::exp(yp[n * C + c]) * static_cast<float>(gs);
    }
    in[0].add_grad(dx);
  });
}

Var cross_entropy(const Var& logits, const std::vector<int32_t>& labels, float label_smoothing) {
  check_logits(logits, "cross_entropy");
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  LOWBIT_CHECK(static_cast<int64_t>(labels.size()) == N, "cross_entropy: {} labels for logits {}", labels.size(),
               logits.shape().str());
  LOWBIT_CHECK(label_smoothing >= 0.0f && label_smoothing <= 1.0f,
               "cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing);
  LOWBIT_CHECK(N > 0, "cross_entropy: empty batch");
  for (int64_t n = 0; n < N; ++n)
    LOWBIT_CHECK(labels[n] >= 0 && labels[n] < C, "cross_entropy: label {} at index {} is outside [0, {}) for logits {}",
                 labels[n], n, C, logits.shape().str());
  Tensor L = Tensor::empty(logits.shape());  // log-probabilities
  log_softmax_rows(logits.value().data(), N, C, 1.0f, L.data());
  const float eps = label_smoothing, off = eps / static_cast<float>(C), on = 1.0f - eps + off;
  const float* lp = L.data();
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    double row = -static_cast<double>(lp[n * C + labels[n]]) * (1.0 - eps);
    if (eps > 0.0f) {
      double s = 0.0;
      for (int64_t c = 0; c < C; ++c) s += lp[n * C + c];
      row -= s * off;
    }
    total += row;
  }
  Tensor out = Tensor::scalar(static_cast<float>(total / static_cast<double>(N)));
  auto lab = std::make_shared<std::vector<int32_t>>(labels);
  return Var::make(out, {logits}, [L, lab, N, C, on, off](const Tensor& g, std::vector<Var>& in) {
    Tensor dx = Tensor::empty(L.shape());
    const float scale = g[0] / static_cast<float>(N);
    const float* lp = L.data();
    float* dp = dx.data();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const float q = c == (*lab)[n] ? on : off;
        dp[n * C + c] = (std::exp(lp[n * C + c]) - q) * scale;
      }
    in[0].add_grad(dx);
  });
}

Var kl_div_with_temperature(const Var& student_logits, const Var& teacher_logits, float temperature) {
  check_logits(student_logits, "kl_div_with_temperature");
  check_logits(teacher_logits, "kl_div_with_temperature");
  LOWBIT_CHECK(student_logits.shape() == teacher_logits.shape(),
               "kl_div_with_temperature: student logits {} and teacher logits {} differ",
               student_logits.shape().str(), teacher_logits.shape().str());
  LOWBIT_CHECK(temperature > 0.0f, "kl_div_with_temperature: temperature must be > 0, got {}", temperature);
  const int64_t N = student_logits.shape()[0], C = student_logits.shape()[1];
  const float T = temperature, inv_t = 1.0f / T;
  Tensor LS = Tensor::empty(student_logits.shape()), LT = Tensor::empty(student_logits.shape());
  log_softmax_rows(student_logits.value().data(), N, C, inv_t, LS.data());
  log_softmax_rows(teacher_logits.value().data(), N, C, inv_t, LT.data());
  const float* ls = LS.data();
  const float* lt = LT.data();
  double total = 0.0;
  for (int64_t i = 0; i < N * C; ++i) total += std::exp(static_cast<double>(lt[i])) * (lt[i] - ls[i]);
  Tensor out = Tensor::scalar(static_cast<float>(total * T * T / static_cast<double>(N)));
  // The teacher is not an input of the node: it receives no gradient by construction.
  return Var::make(out, {student_logits}, [LS, LT, N, C, T](const Tensor& g, std::vector<Var>& in) {
    Tensor dx = Tensor::empty(LS.shape());
    const float scale = g[0] * T / static_cast<float>(N);
    const float* ls = LS.data();
    const float* lt = LT.data();
    float* dp = dx.data();
    for (int64_t i = 0; i < N * C; ++i) dp[i] = (std::exp(ls[i]) - std::exp(lt[i])) * scale;
    in[0].add_grad(dx);
  });
}

namespace {
// mean over elements of f(a − b), with derivative df(d) w.r.t. d.
template <class F, class D>
Var pair_loss(const char* op, const Var& a, const Var& b, F f, D df) {
  check_defined(a, op, "a");
  check_defined(b, op, "b");
  LOWBIT_CHECK(a.shape() == b.shape(), "{}: shapes {} and {} differ", op, a.shape().str(), b.shape().str());
  const int64_t n = a.value().numel();
  LOWBIT_CHECK(n > 0, "{}: empty inputs", op);
  Tensor A = a.value(), B = b.value();
  const float* ap = A.data();
  const float* bp = B.data();
  const double s = det_sum(n, [&](int64_t i) { return f(ap[i] - bp[i]); });
  Tensor out = Tensor::scalar(static_cast<float>(s / static_cast<double>(n)));
  return Var::make(out, {a, b}, [A, B, n, df](const Tensor& g, std::vector<Var>& in) {
    Tensor da = Tensor::empty(A.shape());
    const float scale = g[0] / static_cast<float>(n);
    const float* ap = A.data();
    const float* bp = B.data();
    float* dp = da.data();
    parallel_for(n, [&](int64_t i) { dp[i] = df(ap[i] - bp[i]) * scale; });
    if (in[1].requires_grad()) in[1].add_grad(scaled_copy(da, -1.0f));
    if (in[0].requires_grad()) in[0].add_grad(da);
  });
}
}  // namespace

Var mse_loss(const Var& a, const Var& b) {
  return pair_loss("mse_loss", a, b, [](float d) { return d * d; }, [](float d) { return 2.0f * d; });
}

Var l1_loss(const Var& a, const Var& b) {
  return pair_loss(
      "l1_loss", a, b, [](float d) { return std::fabs(d); },
      [](float d) { return d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f); });
}

Var huber_loss(const Var& a, const Var& b, float delta) {
  LOWBIT_CHECK(delta > 0.0f, "huber_loss: delta must be > 0, got {}", delta);
  return pair_loss(
      "huber_loss", a, b,
      [delta](float d) {
        const float ad = std::fabs(d);
        return ad <= delta ? 0.5f * d * d : delta * (ad - 0.5f * delta);
      },
      [delta](float d) { return d > delta ? delta : (d < -delta ? -delta : d); });
}

}  // namespace lowbit
