// Optimizers with PyTorch's update rules (torch.optim.SGD / Adam / AdamW, default flags) and LR schedules.
#include "engine/optim.h"

#include <cmath>
#include <cstdlib>

#include "engine/error.h"

namespace lowbit {

void Optimizer::zero_grad() {
  for (Var& p : params_) p.zero_grad();
}

namespace {
// Parses "<prefix><index>" (e.g. "sgd.momentum.3"); returns −1 if the name has another form.
int64_t parse_indexed(const std::string& name, const std::string& prefix) {
  if (name.compare(0, prefix.size(), prefix) != 0 || name.size() == prefix.size()) return -1;
  char* end = nullptr;
  const long long v = std::strtoll(name.c_str() + prefix.size(), &end, 10);
  if (*end != '\0' || v < 0) return -1;
  return v;
}

void check_param_index(int64_t i, size_t n, const std::string& name, const char* who) {
  LOWBIT_CHECK(i >= 0 && static_cast<size_t>(i) < n, "{}::load_state: unexpected entry '{}' ({} parameters)", who,
               name, n);
}
}  // namespace

// ---- SGD ----

Sgd::Sgd(std::vector<Var> params, SgdOptions o) : Optimizer(std::move(params)), o_(o) {
  LOWBIT_CHECK(o.lr >= 0.0f && o.momentum >= 0.0f && o.weight_decay >= 0.0f,
               "Sgd: lr, momentum and weight_decay must be >= 0 (got {}, {}, {})", o.lr, o.momentum,
               o.weight_decay);
  LOWBIT_CHECK(!o.nesterov || o.momentum > 0.0f, "Sgd: nesterov needs momentum > 0");
  lr_ = o.lr;
  momentum_.resize(params_.size());
}

void Sgd::step() {
  const float lr = lr_, mu = o_.momentum, wd = o_.weight_decay;
  for (size_t k = 0; k < params_.size(); ++k) {
    Var& p = params_[k];
    if (!p.has_grad()) continue;
    Tensor& w = p.value();
    const Tensor& grad = static_cast<const Var&>(p).grad();
    float* wp = w.data();
    const float* gp = grad.data();
    const int64_t n = w.numel();
    if (mu == 0.0f) {
      for (int64_t i = 0; i < n; ++i) wp[i] -= lr * (gp[i] + wd * wp[i]);
      continue;
    }
    const bool first = !momentum_[k].defined();
    if (first) momentum_[k] = Tensor::empty(w.shape());
    float* bp = momentum_[k].data();
    for (int64_t i = 0; i < n; ++i) {
      const float g = gp[i] + wd * wp[i];
      const float b = first ? g : mu * bp[i] + g;
      bp[i] = b;
      wp[i] -= lr * (o_.nesterov ? g + mu * b : b);
    }
  }
  started_ = true;
}

std::vector<NamedTensor> Sgd::state() const {
  std::vector<NamedTensor> s;
  for (size_t k = 0; k < momentum_.size(); ++k)
    if (momentum_[k].defined()) s.emplace_back("sgd.momentum." + std::to_string(k), momentum_[k].clone());
  return s;
}

void Sgd::load_state(const std::vector<NamedTensor>& s) {
  std::vector<Tensor> m(params_.size());
  for (const auto& [name, t] : s) {
    const int64_t i = parse_indexed(name, "sgd.momentum.");
    check_param_index(i, params_.size(), name, "Sgd");
    LOWBIT_CHECK(t.shape() == params_[i].shape(), "Sgd::load_state: '{}' has shape {}, parameter has {}", name,
                 t.shape().str(), params_[i].shape().str());
    m[i] = t.clone();
  }
  momentum_ = std::move(m);
  started_ = !s.empty();
}

// ---- Adam / AdamW ----

Adam::Adam(std::vector<Var> params, AdamOptions o) : Optimizer(std::move(params)), o_(o) {
  LOWBIT_CHECK(o.lr >= 0.0f && o.eps >= 0.0f && o.weight_decay >= 0.0f, "Adam: lr, eps, weight_decay must be >= 0");
  LOWBIT_CHECK(o.beta1 >= 0.0f && o.beta1 < 1.0f && o.beta2 >= 0.0f && o.beta2 < 1.0f,
               "Adam: betas must be in [0, 1), got {}, {}", o.beta1, o.beta2);
  lr_ = o.lr;
  m_.resize(params_.size());
  v_.resize(params_.size());
}

void Adam::step() {
  ++t_;
  const float lr = lr_, b1 = o_.beta1, b2 = o_.beta2, wd = o_.weight_decay, eps = o_.eps;
  // As in PyTorch: w -= (lr / bc1) · m / (√v / √bc2 + ε), bias corrections bc = 1 − βᵗ.
  const double bc1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(t_));
  const float step_size = static_cast<float>(lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  for (size_t k = 0; k < params_.size(); ++k) {
    Var& p = params_[k];
    if (!p.has_grad()) continue;
    Tensor& w = p.value();
    const Tensor& grad = static_cast<const Var&>(p).grad();
    if (!m_[k].defined()) {
      m_[k] = Tensor::zeros(w.shape());
      v_[k] = Tensor::zeros(w.shape());
    }
    float* wp = w.data();
    const float* gp = grad.data();
    float* mp = m_[k].data();
    float* vp = v_[k].data();
    const int64_t n = w.numel();
    for (int64_t i = 0; i < n; ++i) {
      float g = gp[i];
      if (o_.decoupled) wp[i] -= lr * wd * wp[i];
      else g += wd * wp[i];
      mp[i] = b1 * mp[i] + (1.0f - b1) * g;
      vp[i] = b2 * vp[i] + (1.0f - b2) * g * g;
      wp[i] -= step_size * mp[i] / (std::sqrt(vp[i]) * inv_sqrt_bc2 + eps);
    }
  }
}

std::vector<NamedTensor> Adam::state() const {
  std::vector<NamedTensor> s;
  // The step count is an integer; split it in two exact float halves (each < 2^24) to survive float storage.
  s.emplace_back("adam.step", Tensor::from(Shape{2}, {static_cast<float>(t_ >> 24), static_cast<float>(t_ & 0xFFFFFF)}));
  for (size_t k = 0; k < m_.size(); ++k) {
    if (!m_[k].defined()) continue;
    s.emplace_back("adam.m." + std::to_string(k), m_[k].clone());
    s.emplace_back("adam.v." + std::to_string(k), v_[k].clone());
  }
  return s;
}

void Adam::load_state(const std::vector<NamedTensor>& s) {
  std::vector<Tensor> m(params_.size()), v(params_.size());
  int64_t t = -1;
  for (const auto& [name, ten] : s) {
    if (name == "adam.step") {
      LOWBIT_CHECK(ten.numel() == 2, "Adam::load_state: 'adam.step' must have 2 elements, got {}", ten.numel());
      t = (static_cast<int64_t>(ten[0]) << 24) + static_cast<int64_t>(ten[1]);
      continue;
    }
    int64_t i = parse_indexed(name, "adam.m.");
    std::vector<Tensor>* dst = &m;
    if (i < 0) {
      i = parse_indexed(name, "adam.v.");
      dst = &v;
    }
    check_param_index(i, params_.size(), name, "Adam");
    LOWBIT_CHECK(ten.shape() == params_[i].shape(), "Adam::load_state: '{}' has shape {}, parameter has {}", name,
                 ten.shape().str(), params_[i].shape().str());
    (*dst)[i] = ten.clone();
  }
  LOWBIT_CHECK(t >= 0, "Adam::load_state: missing 'adam.step'");
  for (size_t k = 0; k < params_.size(); ++k)
    LOWBIT_CHECK(m[k].defined() == v[k].defined(), "Adam::load_state: parameter {} has only one of m and v", k);
  m_ = std::move(m);
  v_ = std::move(v);
  t_ = t;
}

// ---- schedules ----

float LrSchedule::at(float epoch) const {
  if (warmup_epochs > 0.0f && epoch < warmup_epochs) return base_lr * std::max(0.0f, epoch) / warmup_epochs;
  switch (kind) {
    case Kind::constant:
      return base_lr;
    case Kind::step: {
      // Steps count from epoch 0 (not from the end of warm-up), like PyTorch's StepLR.
      LOWBIT_CHECK(step_size > 0.0f, "LrSchedule: step_size must be > 0, got {}", step_size);
      const float k = std::floor(epoch / step_size);
      return base_lr * std::pow(gamma, k);
    }
    case Kind::cosine: {
      // Cosine from base_lr at the end of warm-up down to min_lr at total_epochs, flat afterwards.
      const float span = total_epochs - warmup_epochs;
      float t = span > 0.0f ? (epoch - warmup_epochs) / span : 1.0f;
      t = std::min(1.0f, std::max(0.0f, t));
      return min_lr + (base_lr - min_lr) * 0.5f * (1.0f + std::cos(3.14159265358979f * t));
    }
  }
  return base_lr;
}

}  // namespace lowbit
